#pragma once
// `hkam.load_config` underneath: an experiment read from a TOML config exactly as `hkam run` reads
// it (same keys, defaults, errors and --set overrides), with its model as a python::Model, its
// initial state and integrator settings as the keyword arguments of hkam.simulate, and `run`,
// which writes the trace `hkam run` would.

#include <pybind11/pybind11.h>

#include <optional>
#include <string>
#include <vector>

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

  const run::Experiment& experiment() const { return *exp_; }
  Model& model() { return model_; }
  /// simulate()'s options for this experiment (stepper, times, tolerances, sampling, stops, audit).
  py::dict options() const;
  /// Runs it and writes the trace (to `output`, or the config's own); the report as a dict.
  py::dict run(const std::string& output, bool force);

 private:
  static run::Experiment read(const std::string& path, const std::vector<std::string>& sets,
                              bool ignore_sweep);
  std::optional<run::Experiment> exp_;
  Model model_;
};

}  // namespace hkam::python
