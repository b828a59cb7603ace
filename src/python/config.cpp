// `_hkam.Experiment`: an experiment read from a TOML config, as `hkam run` reads it
// (src/python/config.hpp).

#include "python/config.hpp"

#include <pybind11/eigen.h>
#include <pybind11/stl.h>

#include <cmath>
#include <type_traits>

#include "config/reader.hpp"
#include "run/network_run.hpp"

namespace hkam::python {

static_assert(std::is_same_v<AnyModel, run::AnyModel>,
              "the module's model variant must be the one configs build");

namespace {

config::Document read_document(const std::string& path, const std::vector<std::string>& sets,
                               bool ignore_sweep) {
  config::Document doc = config::Document::from_file(path);
  for (const auto& s : sets) doc.set(s);
  if (ignore_sweep) doc.erase("sweep");
  return doc;
}

}  // namespace

ConfigExperiment::ConfigExperiment(const std::string& path, const std::vector<std::string>& sets,
                                   bool ignore_sweep)
    : ConfigExperiment(read_document(path, sets, ignore_sweep)) {}

ConfigExperiment::ConfigExperiment(config::Document doc)
    : exp_(run::Experiment(std::move(doc))), model_(exp_->model(), exp_->kind()) {}

NetworkConfig::NetworkConfig(config::Document doc) : doc_(doc) {
  run::validate_network(doc);  // a copy: fills its resolved tree, throws ConfigError
  resolved_ = doc.resolved_text();
  const auto* out = doc.resolved().get("output");
  output_ = out && out->is_string() ? out->as_string()->get() : std::string();
}

int NetworkConfig::run(const std::string& output, bool force) const {
  run::RunOptions opt;
  opt.output = output;
  opt.force = force;
  opt.quiet = true;
  opt.command_line = "python: hkam.load_config(\"" + doc_.name() + "\").run()";
  const py::gil_scoped_release nogil;
  return run::run_network(doc_, opt, "python");
}

py::object load_config(const std::string& path, const std::vector<std::string>& sets,
                       bool ignore_sweep) {
  config::Document doc = read_document(path, sets, ignore_sweep);
  if (run::is_network_config(doc)) return py::cast(NetworkConfig(std::move(doc)));
  return py::cast(ConfigExperiment(std::move(doc)));
}

py::dict ConfigExperiment::options() const {
  const SimulateOptions& so = exp_->simulate_options();
  const run::Experiment::Settings st = exp_->settings();
  py::dict o;
  o["t0"] = so.t0;
  o["t_end"] = so.t_end;
  o["stepper"] = std::string(stepper_name(so.stepper));
  o["dt"] = so.dt;
  if (is_adaptive(so.stepper)) {
    o["rtol"] = so.rtol;
    o["atol"] = so.atol;
    o["dt_min"] = so.dt_min;
    if (std::isfinite(so.dt_max)) o["dt_max"] = so.dt_max;
  }
  o["max_steps"] = so.max_steps;
  o["sample_every"] = so.sample_interval;
  o["converged"] = so.converged_tol;
  o["plateau_window"] = st.plateau_window;
  o["plateau_tol"] = st.plateau_tol;
  o["order_parameter"] = st.order_parameter;
  o["audit_rtol"] = st.audit_rtol;
  o["audit_factor"] = st.audit_factor;
  return o;
}

py::dict ConfigExperiment::run(const std::string& output, bool force) {
  run::RunOptions opt;
  opt.output = output;
  opt.force = force;
  opt.quiet = true;
  opt.command_line = "python: hkam.load_config(\"" + exp_->document().name() + "\").run()";
  run::RunReport r;
  {
    const py::gil_scoped_release nogil;
    r = exp_->run(opt);
  }
  py::dict d;
  d["output"] = r.output;
  d["end_reason"] = std::string(end_reason_name(r.summary.end_reason));
  d["steps"] = r.summary.steps;
  d["rejected"] = r.summary.rejected;
  d["evaluations"] = r.summary.rhs_evaluations;
  d["wall_seconds"] = r.summary.wall_seconds;
  d["energy_first"] = r.energy_first;
  d["energy_last"] = r.energy_last;
  d["records"] = r.records;
  d["monotone"] = r.audit.monotone();
  d["violations"] = r.audit.violations;
  d["checked"] = r.audit.checked;
  d["max_increase"] = r.audit.max_increase;
  d["relative_tolerance"] = r.tolerance;
  d["guaranteed"] = r.guarantee.guaranteed;
  d["reason"] = r.guarantee.reason;
  d["signal"] = r.signal;
  d["exit_status"] = run::exit_status(r);
  return d;
}

}  // namespace hkam::python
