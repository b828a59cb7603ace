#pragma once
// HDF5 trace of one run (layout in docs/trace-format.md). Internal to hkam.

#include <chrono>
#include <limits>
#include <string>
#include <vector>

#include "analysis/segmentation.hpp"
#include "hkam/core.hpp"
#include "hkam/integrate/simulate.hpp"
#include "hkam/models/akorn_conv.hpp"
#include "hkam/models/akorn_kuramoto.hpp"
#include "hkam/models/hopfield_kuramoto.hpp"
#include "hkam/observe/energy_audit.hpp"
#include "io/h5.hpp"

namespace hkam::io {

/// One recorded observable: a scalar (width 0) or a vector of `width` values along dimension `dim`.
struct ObservableSpec {
  std::string name;
  hsize_t width = 0;
  std::string dim;
};

/// What continues a run exactly: the integrator loop's state, x and f(x), the audit, the
/// experiment's own carried values, and how many rows of /trace and /audit/energy belong to the
/// run up to this point. Stored as group /checkpoint (docs/trace-format.md).
struct Checkpoint {
  IntegratorState integrator;
  Eigen::VectorXd x, derivative;
  EnergyAudit::State audit;
  double drift_since_sample = 0.0;
  std::vector<double> window;  ///< energy-plateau window, (t, E) pairs
  hsize_t rows = 0, audit_rows = 0;
};

/// Opens `path` for continuing: tag type of the TraceWriter constructor below.
struct ContinueFrom {
  std::string path;
  /// The most rows this run can have recorded (states and per-step audit energies), from its
  /// config: a checkpoint claiming more was edited, and copying "its" rows from a dataset that
  /// merely declares them would fill the disk with fill values.
  double max_rows = std::numeric_limits<double>::infinity();
  double max_audit_rows = std::numeric_limits<double>::infinity();
};

class TraceWriter {
 public:
  /// Starts the trace `path`, which must not exist unless `replace` (an existing file is only
  /// replaced, atomically, at publish()). `parts` are the energy-part names in model order.
  /// With `store_states` false, /trace/x and /trace/sigma are not written.
  TraceWriter(const std::string& path, const StateLayout& layout, std::vector<std::string> parts,
              std::vector<ObservableSpec> observables, double flush_seconds = 2.0,
              bool store_states = true, bool replace = false);
  /// Continues the trace `from.path` at its checkpoint (read into `checkpoint`): its attributes,
  /// /model, /checkpoint and every row up to the checkpoint are copied into a new staging file,
  /// which then replaces the original (renamed over it); recording goes on from there. The
  /// original is only read. Throws H5Error when it has no complete checkpoint or does not match
  /// `layout`.
  TraceWriter(const ContinueFrom& from, const StateLayout& layout, std::vector<std::string> parts,
              std::vector<ObservableSpec> observables, double flush_seconds, bool store_states,
              Checkpoint& checkpoint);
  /// Removes the unpublished file when the writer dies before publish().
  ~TraceWriter();
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;
  hid_t file() const { return file_.get(); }
  /// The file is written as `path.partial-PID` until this call, which flushes it and renames it
  /// to `path` (replacing an existing file only when `replace`; otherwise throws if one appeared).
  /// Called once the root attributes and /model are written, so a file under the final name is
  /// always a readable trace. finish() publishes if it has not happened yet.
  void publish();

  /// A state at a recorded time, with its energy, parts (same order as at construction) and
  /// observables (all values concatenated in the order of the specs). Buffered; written at the
  /// next flush.
  void record(double t, const Eigen::VectorXd& z, double energy, const EnergyParts& parts,
              const double* observables);
  double last_time() const { return last_time_; }
  /// (t, E) after one accepted step, for /audit/energy. Buffered.
  void audit_step(double t, double energy);
  /// Writes every buffer and flushes the file to disk.
  void flush();
  /// Flushes, then writes `c` (with its row counts set to the rows now on disk) as /checkpoint,
  /// overwriting the previous one; marked valid only once complete.
  void checkpoint(Checkpoint& c);
  /// Final flush plus the /audit/energy and /summary attributes; `results` (name, value) become
  /// further /summary attributes.
  void finish(const AuditResult& audit, double relative_tolerance, const Guarantee& guarantee,
              const Summary& summary, const SimulateOptions& options,
              const std::vector<std::pair<std::string, double>>& results = {});

 private:
  TraceWriter(std::string path, Id file, const StateLayout& layout, std::vector<std::string> parts,
              std::vector<ObservableSpec> observables, double flush_seconds, bool store_states);
  void maybe_flush();
  void create_layout();  ///< /trace and /audit datasets with their dimension scales

  std::string path_, staging_path_;
  bool published_ = false, replace_ = false;
  Id file_, trace_, audit_, parts_group_, obs_group_;
  StateLayout layout_;
  bool store_states_;
  double last_time_ = -std::numeric_limits<double>::infinity();
  std::vector<std::string> part_names_;
  std::vector<ObservableSpec> obs_specs_;
  Growable time_, energy_, x_, sigma_, audit_te_;
  std::vector<Growable> parts_, obs_;
  std::vector<double> buf_time_, buf_energy_, buf_x_, buf_sigma_, buf_audit_;
  std::vector<std::vector<double>> buf_parts_, buf_obs_;
  double flush_seconds_;
  std::chrono::steady_clock::time_point last_flush_;
};

/// Write every parameter needed to recompute the energy from a stored state into group /model
/// (layout in docs/trace-format.md); `patterns` (P×N, may be empty) go to /model/patterns.
void write_model(hid_t file, const Hopfield& model, const Eigen::MatrixXd& patterns);
void write_model(hid_t file, const Kuramoto& model, const Eigen::MatrixXd& patterns);
void write_model(hid_t file, const AkornKuramoto& model, const Eigen::MatrixXd& patterns);
void write_model(hid_t file, const HopfieldKuramoto& model, const Eigen::MatrixXd& patterns);
void write_model(hid_t file, const ConvAkorn& model, const Eigen::MatrixXd& patterns);
/// A synthetic scene (/model/scene: rgb H×W×3, mask H×W).
void write_scene(hid_t file, const analysis::Scene& scene);

/// Result of checking the recorded energies of a trace.
struct EnergyCheck {
  AuditResult audit;
  double relative_tolerance = 0;
  bool guaranteed_known = false;
  bool guaranteed = false;
  std::string reason;
  std::string source;  ///< dataset the energies came from
  long samples = 0;
};

/// Re-audits the energies recorded in a trace (per-step /audit/energy when present, else
/// /trace/energy) with the tolerance stored in the trace (or `default_rtol`). Throws H5Error when
/// the file is not a readable hkam trace.
EnergyCheck check_trace_energy(const std::string& path, double default_rtol = 1e-8);

/// What `hkam info` shows: labelled lines, in order.
struct TraceInfo {
  std::vector<std::pair<std::string, std::string>> lines;
};
/// Reads the description of a trace. Throws H5Error when the file is not a readable hkam trace.
TraceInfo read_trace_info(const std::string& path);

/// How a run stored in a trace ended, for sweeps (resume decisions and the manifest).
struct RunRecord {
  bool finished = false;   ///< has /summary and did not end `interrupted`
  std::string end_reason;  ///< "" when there is no /summary
  std::string config_resolved;
  std::string config_file;      ///< where the config came from (relative paths in it start there)
  bool has_checkpoint = false;  ///< a complete /checkpoint: `hkam resume` can continue it
  /// Numeric /summary attributes (t, steps, energy_final, overlaps, ...) and the audit's
  /// monotone / violations / guaranteed, in file order.
  std::vector<std::pair<std::string, double>> numbers;
};
/// Throws H5Error when the file is not a readable hkam trace.
RunRecord read_run_record(const std::string& path);

/// The checkpoint slot ("a" or "b") of an open trace that a run can continue from; throws
/// H5Error when there is none or it is incomplete (the run was killed while writing it).
std::string checkpoint_slot(hid_t f, const std::string& path);

}  // namespace hkam::io
