#pragma once
// The subcommands of the `hkam` program.

#include <string>
#include <vector>

#include "run/sweep.hpp"

namespace hkam::cli {

struct RunArgs {
  std::string config;
  std::string output;
  std::vector<std::string> sets;
  bool force = false, quiet = false, verbose = false;
  bool ignore_sweep = false;  ///< drop a [sweep] table and run the base config
  int threads = 0;            ///< OpenMP threads (0: OMP_NUM_THREADS, else one per core)
  std::string command_line;
};

/// `hkam run`: 0 success, 1 failed run / energy violation of a guaranteed model, 2 bad input,
/// 128 + signal when interrupted.
int run(const RunArgs& args);
/// `hkam train`: 0 done, 1 failed training, 2 bad input, 128 + signal when interrupted.
int train(const RunArgs& args);
/// `hkam resume`: continues the run in the trace `args.config` from its checkpoint (exit status as
/// `run`; 2 when the trace has no checkpoint or has finished).
int resume(const RunArgs& args);
/// `hkam demo`: `run` on the built-in copy of experiments/demo.toml.
int demo(const RunArgs& args);
/// `hkam check-energy`: 0 monotone, 1 not, 2 unreadable.
int check_energy(const std::string& path);
/// `hkam info`: 0, or 2 when the file is not a readable hkam trace.
int info(const std::string& path);
/// `hkam plot`: runs the hkam package's analysis (python/hkam/analysis.py, through
/// hkam/__main__.py) with Debian's python3; 2 with the exact apt-get line when python3 or a module
/// is missing.
int plot(const std::string& trace, const std::string& out);
/// Runs `python3 -m hkam ARGS...`, hkam.analysis's command line (Debian's python3; 2 with the
/// exact apt-get line when python3 or a module is missing). `who` names the command in messages.
int python_analysis(const std::string& who, std::vector<std::string> script_args);

/// `hkam sweep --mpi` (src/cli/mpi_sweep.cpp): runs spread over MPI ranks; 2 with what to
/// install when hkam was built without MPI.
int mpi_sweep(const run::SweepArgs& args);
bool built_with_mpi();

}  // namespace hkam::cli
