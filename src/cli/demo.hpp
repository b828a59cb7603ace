#pragma once
#include <string>

namespace hkam::cli {

struct DemoOptions {
  std::string out_dir = "out/demo";
  bool force = false;
  bool quiet = false;
  unsigned long long seed = 1;
  std::string command_line;
};

/// The default experiment: Hebbian Hopfield–Kuramoto retrieval from a corrupted cue with the
/// energy checked after every accepted step. Returns the process exit status.
int run_demo(const DemoOptions& options);

/// `hkam check-energy TRACE`: 0 when the recorded energy is monotone within tolerance, 1 when it
/// is not, 2 when the file is not a readable hkam trace.
int run_check_energy(const std::string& path);

}  // namespace hkam::cli
