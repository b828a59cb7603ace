// libFuzzer harness (c): the text files a config can name -> their readers.
//
// The bytes are written to a temporary file and read as a weight / pattern matrix
// (hkam::run::read_text_matrix) and as an edge list with value columns (hkam::read_edge_list,
// with the node count taken from the file and with a fixed one). hkam has no IDX reader yet (it
// arrives with `hkam train`); its harness belongs with it. A clean refusal is a std::exception;
// anything else is a finding. Every value that comes back must be finite.

#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "hkam/models/graph.hpp"
#include "run/experiment.hpp"

namespace {
std::string temp_path() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir ? dir : "/tmp") + "/hkam_fuzz_files_" + std::to_string(getpid()) +
           ".txt";
  }();
  return path;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 256 * 1024) return -1;
  const std::string path = temp_path();
  if (FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(data, 1, size, f);
    std::fclose(f);
  } else {
    std::abort();
  }
  try {
    const Eigen::MatrixXd m = hkam::run::read_text_matrix(path);
    if (!m.allFinite()) std::abort();  // the reader promises finite values
  } catch (const std::exception&) {
  }
  for (const hkam::Index n : {hkam::Index{-1}, hkam::Index{16}}) {
    try {
      const hkam::EdgeListFile e = hkam::read_edge_list(path, n);
      for (const auto& column : e.columns)
        for (double v : column)
          if (!std::isfinite(v)) std::abort();
      if (n >= 0 && e.graph.num_nodes() != n) std::abort();
    } catch (const std::exception&) {
    }
  }
  std::remove(path.c_str());
  return 0;
}
