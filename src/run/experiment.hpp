#pragma once
// An experiment read from a TOML config: model, initial state, integrator, stop conditions and
// recording (keys in docs/config.md). Internal to hkam; used by the `hkam run` command.

#include <Eigen/Core>
#include <memory>
#include <string>

#include "config/reader.hpp"
#include "hkam/integrate/simulate.hpp"
#include "hkam/observe/energy_audit.hpp"
#include "io/h5.hpp"
#include "run/model_config.hpp"

namespace hkam::run {

struct RunOptions {
  std::string output;  ///< overrides the config's `output` when not empty
  bool force = false;
  bool quiet = false;
  bool verbose = false;
  bool progress = false;  ///< live progress line on stderr
  std::string command_line;
};

/// How a run went (what `hkam run` prints and its exit status is made from).
struct RunReport {
  std::string output;
  Summary summary;
  AuditResult audit;
  double tolerance = 0;
  Guarantee guarantee;
  double energy_first = 0, energy_last = 0;
  long records = 0;
  std::vector<std::pair<std::string, double>> final_observables;  // scalar summaries
  std::vector<std::pair<std::string, double>> first_observables;
  int signal = 0;  ///< the signal that interrupted the run, 0 if none
};

class Experiment {
 public:
  /// Validates the whole configuration and builds the model; throws config::ConfigError on any
  /// bad key or value. Writes nothing.
  explicit Experiment(config::Document doc);
  ~Experiment();
  Experiment(Experiment&&) noexcept;

  const std::string& output() const;
  std::string title() const;
  std::string description() const;  ///< one line: model kind and sizes
  const config::Document& document() const;

  /// What a run of this experiment is made of (the Python module's `load_config` exposes it):
  /// model.kind, the model, the initial state (before its oscillators are renormalised), the
  /// integrator's options, the audit's rtol and factor, the stop conditions ([stop]; 0: off) and
  /// the [patterns] (P×N, empty without).
  struct Settings {
    double audit_rtol = 0, audit_factor = 0;
    double plateau_window = 0, plateau_tol = 0, order_parameter = 0;
  };
  const std::string& kind() const;
  const AnyModel& model() const;
  const Eigen::VectorXd& initial_state() const;
  const SimulateOptions& simulate_options() const;
  Settings settings() const;
  const Eigen::MatrixXd& patterns() const;

  /// Runs and writes the trace to `output()` (or options.output). Throws std::runtime_error when
  /// the output exists (and !force) or cannot be written.
  RunReport run(const RunOptions& options);
  /// Continues the run stored in `trace` from its checkpoint, appending to that file (see
  /// docs/trace-format.md): the result is bit-identical to the run never interrupted. The
  /// experiment must be built from the trace's own resolved config.
  RunReport resume(const std::string& trace, const RunOptions& options);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Throws std::runtime_error when `output` is the same file as one of the run's inputs.
void refuse_overwriting_input(const config::Document& doc, const std::string& output);

/// The current time as YYYY-MM-DDTHH:MM:SSZ (UTC), for the traces' created/resumed attributes.
std::string utc_now();

/// The provenance attributes every new trace carries at its root (docs/trace-format.md): program
/// version and revision, start time, command line, seed, title, the config as given and as
/// resolved, and `git_revision_history` = "REVISION@0".
void write_run_attributes(hid_t file, const config::Document& doc, const std::string& command_line,
                          std::uint64_t seed, const std::string& title);

/// `git_revision_history` ("REVISION@FIRST_STEP" separated by spaces) with " revision@at"
/// appended unless `revision` is its last entry: how a resume records the binary that continues a
/// trace or a training file at step (or update) `at`.
std::string append_revision(const std::string& history, const std::string& revision,
                            const std::string& at);

/// Exit status of `hkam run` for a report: 0 success, 1 a failed run or an energy violation of a
/// guaranteed model, 128 + signal when interrupted.
int exit_status(const RunReport& report);

/// Whether a run that ended with `reason` counts as failed (exit status 1): it did not finish its
/// integration (max_steps, step_collapse, non_finite), or its energy rose although guaranteed not
/// to. Shared by `hkam run` and the sweep manifest.
bool run_failed(EndReason reason, bool guaranteed, bool monotone);

}  // namespace hkam::run
