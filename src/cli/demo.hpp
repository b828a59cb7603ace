#pragma once
#include <string>

namespace hkam::cli {

struct DemoOptions {
  std::string out_dir = "out/demo";
  bool force = false;
  bool quiet = false;
  unsigned long long seed = 1;
};

/// The default experiment: Hebbian Hopfield–Kuramoto retrieval from a corrupted cue with the
/// energy checked after every accepted step. Returns the process exit status.
int run_demo(const DemoOptions& options);

}  // namespace hkam::cli
