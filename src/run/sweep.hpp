#pragma once
// Sweeps: a config's [sweep] table expanded into runs, run in parallel processes, resumable, with
// a manifest (keys and behaviour in docs/sweeps.md). Internal to hkam; used by `hkam sweep`.

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/reader.hpp"

namespace hkam::run {

/// One run of a sweep.
struct SweepPoint {
  std::size_t index = 0;
  std::string name;  ///< built from the swept values; file stem of its trace
  /// (dotted key, value as TOML text) for every swept key, in column order.
  std::vector<std::pair<std::string, std::string>> values;
  long replicate = -1;  ///< -1 when the sweep has no `replicates`
  std::uint64_t seed = 0;
  std::vector<std::string> sets;     ///< "key=value" overrides that make this run's config
  std::vector<std::string> origins;  ///< where each override came from (for error messages)
};

struct SweepPlan {
  std::vector<std::string> columns;  ///< swept keys, in order (outermost first)
  bool has_replicates = false;
  std::vector<SweepPoint> points;
};

/// Reads and removes the [sweep] table of `doc` (ConfigError on any bad key, with file:line) and
/// expands it. Run k's seed is the swept `seed` when `seed` is swept, otherwise
/// `sweep_seed(master, k)` with master the config's `seed` (default 1).
SweepPlan expand_sweep(config::Document& doc);

/// Seed of run `index` derived from the master seed (documented in docs/sweeps.md).
std::uint64_t sweep_seed(std::uint64_t master, std::uint64_t index);

/// TOML text of a value, keeping floats floats ("1.0", not "1"): how swept values are passed on
/// to each run as `--set key=text`.
std::string toml_text(const toml::node& n);

struct SweepArgs {
  std::string config;
  std::string out_dir;  ///< default out/<config stem>/
  std::vector<std::string> sets;
  int jobs = 1;
  int threads = 0;  ///< OpenMP threads per run; 0: 1 when jobs > 1, else the default
  bool force = false, quiet = false, list = false;
  std::string hkam_exe;  ///< the program that runs one point (`hkam run ... --ignore-sweep`)
};

/// One sweep folder being worked on: the runs to do, how to start one, and the manifest. The
/// local `hkam sweep` loop and the MPI one (src/cli/mpi_sweep.cpp) both drive it.
class SweepSession {
 public:
  /// Reads and expands the config. The coordinator also validates every run, checks the folder
  /// against the config (resume, --force), writes sweep.toml and the first manifest; a worker
  /// (an MPI rank other than 0) only learns how to start runs. Errors are printed here.
  SweepSession(const SweepArgs& args, bool coordinator);
  ~SweepSession();
  /// -1 to go on, else the exit status to stop with (bad input, --list done, changed config).
  int early_exit() const;
  /// Indices of the runs still to do, in order (coordinator).
  const std::vector<std::size_t>& pending() const;
  /// Whether run k continues its trace's checkpoint (`hkam resume`) rather than starting anew.
  bool continues(std::size_t k) const;
  void set_continues(std::size_t k, bool yes);
  /// Starts run k as a child process (output to runs/NAME.log); returns its pid.
  pid_t start(std::size_t k);
  /// Coordinator: run k ended with `exit_code` (negative: killed by that signal): reads its
  /// trace, rewrites the manifest, prints a line.
  void finished(std::size_t k, int exit_code);
  /// Coordinator: final manifest and summary line; the exit status of `hkam sweep`.
  int finish(int signal);
  static int exit_code_of(int wait_status);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// `hkam sweep`: 0 when every run finished with status 0, 1 when a run failed, 2 on bad input or
/// a changed config without --force, 128 + signal when interrupted.
int sweep(const SweepArgs& args);

}  // namespace hkam::run
