// The umbrella header pulls in every public header; this file fails to compile if one of them
// is not self-contained or leaks a non-public dependency (HDF5, toml++, fmt).
#include <gtest/gtest.h>

#include "hkam/hkam.hpp"

TEST(PublicHeaders, CompileTogetherAndReportAVersion) {
  EXPECT_FALSE(hkam::version().empty());
  EXPECT_FALSE(hkam::git_revision().empty());
}
