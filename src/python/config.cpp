// `_hkam.Experiment`: an experiment read from a TOML config, as `hkam run` reads it
// (src/python/config.hpp).

#include "python/config.hpp"

#include <pybind11/eigen.h>
#include <pybind11/stl.h>

#include <cmath>
#include <stdexcept>
#include <type_traits>

#include "config/reader.hpp"
#include "python/arrays.hpp"
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

py::dict NetworkConfig::forward(const py::handle& inputs) const {
  std::optional<Eigen::MatrixXd> images;
  std::optional<Eigen::MatrixXi> boards;
  Index side = 0;
  if (!inputs.is_none()) {
    const py::array a = py::array::ensure(inputs);
    if (!a) throw py::value_error("forward: inputs: expected an array");
    if (a.dtype().kind() == 'i' || a.dtype().kind() == 'u') {  // Sudoku boards (B, 81)
      const auto b = py::array_t<int, py::array::c_style | py::array::forcecast>::ensure(a);
      const bool grid = b.ndim() == 3 && b.shape(1) == 9 && b.shape(2) == 9;
      if (b.ndim() != 2 && !grid)
        throw py::value_error("forward: boards: expected shape (B, 81) or (B, 9, 9), got " +
                              shape_text(b));
      boards =
          Eigen::Map<const Eigen::Matrix<int, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
              b.data(), b.shape(0), grid ? 81 : b.shape(1));
    } else {  // images (B, 3, S, S) → 3 × B·S² (pixel-major within an image)
      const Array<double> f = numbers<double>(a, "forward: images");
      if (f.ndim() != 4 || f.shape(1) != 3 || f.shape(2) != f.shape(3))
        throw py::value_error("forward: images: expected shape (B, 3, S, S), got " + shape_text(f));
      side = f.shape(2);
      const Index B = f.shape(0), P = side * side;
      images.emplace(3, B * P);
      for (Index b = 0; b < B; ++b)
        for (Index c = 0; c < 3; ++c)
          for (Index p = 0; p < P; ++p) (*images)(c, b * P + p) = f.data()[(b * 3 + c) * P + p];
    }
  }
  run::NetworkForward r;
  {
    const py::gil_scoped_release nogil;
    try {
      r = run::forward_network(doc_, images ? &*images : nullptr, boards ? &*boards : nullptr);
    } catch (const std::invalid_argument& e) {
      throw py::value_error("forward: " + std::string(e.what()) +
                            (images ? " (the images given are " + std::to_string(side) + " x " +
                                          std::to_string(side) + ")"
                                    : std::string()));
    }
  }
  // chains × (rows·h·w) as (chains, rows, h, w); anything else per chain (chains, values)
  const auto grid = [&](const Eigen::MatrixXd& m, Index rows) -> py::array {
    std::vector<py::ssize_t> shape{m.rows(), m.cols()};
    if (m.cols() == rows * r.height * r.width) shape = {m.rows(), rows, r.height, r.width};
    py::array_t<double> out(shape);
    Eigen::Map<RowMajor<double>>(out.mutable_data(), m.rows(), m.cols()) = m;
    return out;
  };
  py::list energy, proxy;
  for (const auto& e : r.energies) {
    energy.append(py::array(py::cast(Eigen::MatrixXd(e.energy.transpose()))));  // chains × (T+1)
    proxy.append(py::array(py::cast(Eigen::MatrixXd(e.proxy.transpose()))));
  }
  py::dict d;
  d["precision"] = r.precision;
  d["batch"] = r.batch;
  d["chains"] = r.chains;
  d["energy"] = energy;
  d["proxy_energy"] = proxy;
  d["x"] = grid(r.x, r.channels);
  if (r.stimulus.size()) d["stimulus"] = grid(r.stimulus, r.channels);
  if (r.features.size()) d["features"] = grid(r.features, r.feature_rows);
  if (r.head.size()) d["head"] = r.head;
  return d;
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
