#pragma once
// `hkam.load_config` underneath: an experiment read from a TOML config exactly as `hkam run` reads
// it (same keys, defaults, errors and --set overrides), with its model as a python::Model, its
// initial state and integrator settings as the keyword arguments of hkam.simulate, and `run`,
// which writes the trace `hkam run` would.

#include <pybind11/pybind11.h>

#include <optional>
#include <string>
#include <vector>

#include "config/reader.hpp"
#include "python/model.hpp"
#include "run/experiment.hpp"

namespace hkam::python {

class ConfigExperiment {
 public:
  /// Reads `path` with the "dotted.key=value" overrides `sets` (as `hkam run --set`), without its
  /// [sweep] table when `ignore_sweep` (`--ignore-sweep`); throws config::ConfigError with every
  /// bad key and its line.
  ConfigExperiment(const std::string& path, const std::vector<std::string>& sets,
                   bool ignore_sweep);
  /// From a document already read (not a [network] one).
  explicit ConfigExperiment(config::Document doc);

  const run::Experiment& experiment() const { return *exp_; }
  Model& model() { return model_; }
  /// simulate()'s options for this experiment (stepper, times, tolerances, sampling, stops, audit).
  py::dict options() const;
  /// Runs it and writes the trace (to `output`, or the config's own); the report as a dict.
  py::dict run(const std::string& output, bool force);

 private:
  std::optional<run::Experiment> exp_;
  Model model_;
};

/// A [network] config (an AKOrN network of the reference, docs/akorn.md), validated as `hkam run`
/// validates it; `run` runs it as `hkam run` does and writes its output file.
class NetworkConfig {
 public:
  /// Throws config::ConfigError with every bad key and its line.
  explicit NetworkConfig(config::Document doc);
  const std::string& resolved_config() const { return resolved_; }
  const std::string& output() const { return output_; }
  /// Runs the network and writes its output (to `output`, or the config's own): the exit status
  /// `hkam run` would give (0 success, 1 non-finite values, 2 a failure, printed on stderr).
  int run(const std::string& output, bool force) const;
  /// The forward pass in memory (run::forward_network) on the config's inputs, or on `inputs`:
  /// images (B, 3, S, S) for the object and CIFAR networks, boards (B, 81) for Sudoku. A dict of
  /// numpy arrays (float64): energy and proxy_energy (lists, per block (chains, T + 1)), x and
  /// stimulus (chains, C, h, w), features, head.
  py::dict forward(const py::handle& inputs) const;

 private:
  config::Document doc_;  // as read, with the overrides: run_network validates its own copy
  std::string resolved_, output_;
};

/// Reads `path` with its overrides (as ConfigExperiment) and returns a ConfigExperiment, or a
/// NetworkConfig for a [network] config, as a Python object.
py::object load_config(const std::string& path, const std::vector<std::string>& sets,
                       bool ignore_sweep);

}  // namespace hkam::python
