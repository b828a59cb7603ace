// The compiled part of the `hkam` Python package (python/hkam/__init__.py wraps it): graphs,
// model parameters, the batched Hopfield–Kuramoto model (energy, right-hand side, VJP), batched
// solves with their energies and audit, and reverse-mode gradients through a solve.
//
// Arrays: states are float64 numpy arrays of shape (dim,) for one trajectory or (B, dim) for a
// batch, row b = [x (N); σ_0 … σ_{M−1} (M·D)]; they are copied into the library's column-major
// batch layout (one copy per call). Errors: std::invalid_argument → ValueError (pybind11's
// translation), with the library's messages.

#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "hkam/integrate/batch_solve.hpp"
#include "hkam/models/batch.hpp"
#include "hkam/models/hopfield.hpp"
#include "hkam/models/hopfield_kuramoto.hpp"
#include "hkam/models/kuramoto.hpp"
#include "hkam/models/params.hpp"
#include "hkam/observe/energy_audit.hpp"
#include "hkam/version.hpp"

namespace py = pybind11;
using hkam::Index;

namespace {

using Batch = hkam::BatchMatrix<double>;
using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;

std::string shape_text(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t k = 0; k < a.ndim(); ++k) s += (k ? ", " : "") + std::to_string(a.shape(k));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

/// (dim,) → 1 × dim, (B, dim) → B × dim; `single` says which it was.
Batch to_batch(const py::handle& obj, Index dim, const char* what, bool& single) {
  const Array a = Array::ensure(obj);
  if (!a) throw py::value_error(std::string(what) + ": expected an array of numbers");
  if (a.ndim() == 1 && a.shape(0) == dim) {
    single = true;
    return Eigen::Map<const Eigen::RowVectorXd>(a.data(), dim);
  }
  if (a.ndim() == 2 && a.shape(1) == dim && a.shape(0) > 0) {
    single = false;
    return Eigen::Map<const RowMajor>(a.data(), a.shape(0), dim);
  }
  throw py::value_error(std::string(what) + ": expected shape (" + std::to_string(dim) +
                        ",) or (B, " + std::to_string(dim) + ") with B >= 1, got " + shape_text(a));
}

py::array_t<double> from_batch(const Batch& z, bool single) {
  if (single) {
    py::array_t<double> out(z.cols());
    Eigen::Map<Eigen::RowVectorXd>(out.mutable_data(), z.cols()) = z.row(0);
    return out;
  }
  py::array_t<double> out({z.rows(), z.cols()});
  Eigen::Map<RowMajor>(out.mutable_data(), z.rows(), z.cols()) = z;
  return out;
}

void require_finite(const Batch& z, const char* what) {
  if (!z.allFinite()) throw py::value_error(std::string(what) + ": contains NaN or infinity");
}

/// The gradient's fields as a dict named like the parameters ("hopfield.w", …).
py::dict gradient_dict(const hkam::HkGradient& g, const hkam::HopfieldKuramotoParams& p) {
  py::dict d;
  if (p.hopfield.units() > 0) {
    if (g.hopfield.w.size()) d["hopfield.w"] = g.hopfield.w;
    if (g.hopfield.b.size()) d["hopfield.b"] = g.hopfield.b;
  }
  if (p.kuramoto.n_osc > 0) {
    if (g.kuramoto.a.size()) d["kuramoto.a"] = g.kuramoto.a;
    if (g.kuramoto.b.size()) d["kuramoto.b"] = g.kuramoto.b;
    if (g.kuramoto.omega.size()) d["kuramoto.omega"] = g.kuramoto.omega;
  }
  if (p.coupling.present()) {
    if (p.coupling.kind != hkam::HkCouplingKind::General) d["coupling.alpha"] = g.coupling.alpha;
    if (g.coupling.weights.size()) d["coupling.weights"] = g.coupling.weights;
  }
  return d;
}

/// The single-trajectory model `hkam run` builds for these parameters: Hopfield without
/// oscillators, Kuramoto without units, else Hopfield–Kuramoto.
using Single = std::variant<hkam::Hopfield, hkam::Kuramoto, hkam::HopfieldKuramoto>;

Single single_model(const hkam::HopfieldKuramotoParams& p) {
  if (p.kuramoto.n_osc == 0) return hkam::Hopfield(p.hopfield);
  if (p.hopfield.units() == 0) return hkam::Kuramoto(p.kuramoto);
  return hkam::HopfieldKuramoto(p);
}

/// A model with its batched evaluator and the single-trajectory one (one state's energy, parts,
/// right-hand side and guarantee). Not thread-safe (one workspace), as Python objects usually
/// are not.
class Model {
 public:
  explicit Model(hkam::HopfieldKuramotoParams p)
      : p_(std::move(p)), batch_(p_), single_(single_model(p_)) {}

  const hkam::HopfieldKuramotoParams& params() const { return p_; }
  const hkam::BatchModel<double>& batch() const { return batch_; }
  Index dim() const { return p_.dim(); }

  // One state goes through the single-trajectory model `hkam run` uses (bit-identical to a
  // trace's energies and right-hand side); a batch through the batched model.
  py::object energy(const py::handle& z) {
    bool single = false;
    const Batch zb = to_batch(z, dim(), "energy: z", single);
    if (single) {
      const Eigen::VectorXd z1 = zb.row(0).transpose();
      return py::float_(std::visit([&](const auto& m) { return m.energy(z1); }, single_));
    }
    Eigen::VectorXd e;
    batch_.energy(zb, e, ws_);
    return py::array_t<double>(e.size(), e.data());
  }

  py::dict energy_parts(const Eigen::VectorXd& z) const {
    if (z.size() != dim())
      throw py::value_error("energy_parts: z: expected shape (" + std::to_string(dim()) +
                            ",), got (" + std::to_string(z.size()) + ",)");
    py::dict d;
    const auto parts = std::visit([&](const auto& m) { return m.energy_parts(z); }, single_);
    for (const auto& part : parts) d[py::str(part.name)] = part.value;
    return d;
  }

  py::array_t<double> rhs(const py::handle& z) {
    bool single = false;
    const Batch zb = to_batch(z, dim(), "rhs: z", single);
    Batch dz;
    if (single) {
      Eigen::VectorXd f(dim());
      const Eigen::VectorXd z1 = zb.row(0).transpose();
      std::visit([&](const auto& m) { m(z1, f, 0.0); }, single_);
      dz = f.transpose();
    } else {
      batch_.rhs(zb, dz, ws_);
    }
    return from_batch(dz, single);
  }

  py::tuple vjp(const py::handle& z, const py::handle& v) {
    bool single = false, single_v = false;
    const Batch zb = to_batch(z, dim(), "vjp: z", single);
    const Batch vb = to_batch(v, dim(), "vjp: v", single_v);
    if (vb.rows() != zb.rows()) throw py::value_error("vjp: z and v must have the same shape");
    auto grad = hkam::HkGradient::zeros_like(p_);
    Batch zbar;
    batch_.vjp(zb, vb, zbar, ws_, &grad);
    return py::make_tuple(from_batch(zbar, single), gradient_dict(grad, p_));
  }

  py::tuple lyapunov() const {
    const hkam::Guarantee g = std::visit([](const auto& m) { return m.lyapunov(); }, single_);
    return py::make_tuple(g.guaranteed, g.reason, g.warnings);
  }

 private:
  hkam::HopfieldKuramotoParams p_;
  hkam::BatchModel<double> batch_;
  Single single_;
  hkam::BatchWorkspace<double> ws_;
};

hkam::BatchSolveOptions solve_options(const std::string& stepper, double t0, double t_end,
                                      double dt, double rtol, double atol, long max_steps,
                                      bool normalize) {
  hkam::BatchSolveOptions o;
  o.stepper = hkam::stepper_from_name(stepper);
  o.t0 = t0;
  o.t_end = t_end;
  o.dt = dt;
  o.rtol = rtol;
  o.atol = atol;
  o.max_steps = max_steps;
  o.normalize = normalize;
  if (const std::string why = o.validate(); !why.empty()) throw py::value_error(why);
  return o;
}

/// Integrates z0 and records every `record_every`-th accepted step (and the last) with its
/// energies; audits each trajectory's energy. Ctrl-C stops the solve at the next step: the
/// result then ends with "interrupted" and `keyboard_interrupt` is set (the Python wrapper
/// raises KeyboardInterrupt with the partial result attached).
py::dict simulate(Model& m, const py::handle& z0, double t_end, const std::string& stepper,
                  double rtol, double atol, double dt, long max_steps, bool normalize,
                  long record_every, double audit_factor, double t0) {
  bool single = false;
  Batch z = to_batch(z0, m.dim(), "simulate: z0", single);
  require_finite(z, "simulate: z0");
  if (record_every < 1) throw py::value_error("simulate: record_every must be >= 1");
  const auto opt = solve_options(stepper, t0, t_end, dt, rtol, atol, max_steps, normalize);
  // The audit's tolerance, checked (a loose one could hide a rise) before the solve, not after.
  const bool adaptive = hkam::is_adaptive(opt.stepper);
  const double rel = hkam::EnergyAudit(adaptive ? rtol : 1e-10, adaptive ? audit_factor : 1.0)
                         .relative_tolerance();
  const Index B = z.rows();
  hkam::BatchSolveWorkspace<double> ws;
  hkam::BatchWorkspace<double> ews;
  std::vector<double> times;
  std::vector<RowMajor> states;
  std::vector<Eigen::VectorXd> energies;
  long step = 0;
  bool interrupted = false;
  const auto record = [&](double t, const Batch& zs) {
    times.push_back(t);
    states.emplace_back(zs);
    Eigen::VectorXd e;
    m.batch().energy(zs, e, ews);
    energies.push_back(e);
  };
  hkam::BatchObserver<double> observe = [&](double t, const Batch& zs) -> hkam::Action {
    if (step++ % record_every == 0) record(t, zs);
    const py::gil_scoped_acquire gil;  // the solve runs without it: other threads go on
    if (PyErr_CheckSignals() != 0) {
      interrupted = true;
      PyErr_Clear();
      return hkam::Action::stop_with(hkam::EndReason::Interrupted);
    }
    return hkam::Action::proceed();
  };
  hkam::BatchSolveSummary summary;
  {
    const py::gil_scoped_release nogil;
    summary =
        hkam::solve(m.batch(), z, opt, ws, static_cast<hkam::BatchTape<double>*>(nullptr), observe);
  }
  if (times.empty() || times.back() != summary.t) record(summary.t, z);

  const auto T = static_cast<py::ssize_t>(times.size());
  py::array_t<double> t_out(T, times.data());
  py::array_t<double> z_out({T, static_cast<py::ssize_t>(B), static_cast<py::ssize_t>(m.dim())});
  py::array_t<double> e_out({T, static_cast<py::ssize_t>(B)});
  double* zo = z_out.mutable_data();
  double* eo = e_out.mutable_data();
  for (py::ssize_t k = 0; k < T; ++k) {
    std::copy(states[k].data(), states[k].data() + states[k].size(), zo + k * B * m.dim());
    std::copy(energies[k].data(), energies[k].data() + B, eo + k * B);
  }
  // The audit of each trajectory over the recorded steps (every accepted step by default).
  Eigen::MatrixXd rows(B, T);
  for (py::ssize_t k = 0; k < T; ++k) rows.col(k) = energies[k];
  const hkam::AuditResult a = hkam::audit_rows(rows, rel);
  py::dict audit;
  audit["monotone"] = a.monotone();
  audit["violations"] = a.violations;
  audit["checked"] = a.checked;
  audit["max_increase"] = a.max_increase;
  audit["relative_tolerance"] = rel;
  audit["text"] = hkam::largest_change_text(a.max_increase);

  py::dict r;
  r["t"] = t_out;
  r["z"] = z_out;
  r["energy"] = e_out;
  r["audit"] = audit;
  r["end_reason"] = std::string(hkam::end_reason_name(summary.end_reason));
  r["steps"] = summary.steps;
  r["rejected"] = summary.rejected;
  r["evaluations"] = summary.evaluations;
  r["single"] = single;
  r["keyboard_interrupt"] = interrupted;
  return r;
}

/// ∂L/∂z0 and ∂L/∂θ of a loss L(z(t_end)) given dL/dz(t_end) (same shape as z0).
py::tuple gradient(Model& m, const py::handle& z0, const py::handle& dloss, double t_end,
                   const std::string& stepper, double rtol, double atol, double dt, long max_steps,
                   bool normalize, double t0) {
  bool single = false, single_l = false;
  Batch z = to_batch(z0, m.dim(), "gradient: z0", single);
  require_finite(z, "gradient: z0");
  Batch lambda = to_batch(dloss, m.dim(), "gradient: dloss", single_l);
  require_finite(lambda, "gradient: dloss");
  if (lambda.rows() != z.rows()) throw py::value_error("gradient: z0 and dloss differ in shape");
  const auto opt = solve_options(stepper, t0, t_end, dt, rtol, atol, max_steps, normalize);
  hkam::BatchSolveWorkspace<double> ws;
  hkam::BatchTape<double> tape;
  hkam::BatchSolveSummary summary;
  auto grad = hkam::HkGradient::zeros_like(m.params());
  {
    const py::gil_scoped_release nogil;
    summary = hkam::solve(m.batch(), z, opt, ws, &tape);
    if (summary.end_reason == hkam::EndReason::TEnd)
      hkam::solve_backward(m.batch(), tape, opt, lambda, ws, grad);
  }
  if (summary.end_reason != hkam::EndReason::TEnd)
    throw std::runtime_error("gradient: the solve ended with " +
                             std::string(hkam::end_reason_name(summary.end_reason)) +
                             " before t_end");
  return py::make_tuple(from_batch(z, single), from_batch(lambda, single),
                        gradient_dict(grad, m.params()));
}

Eigen::MatrixXi edges_array(const hkam::Graph& g) {
  const hkam::Graph e = g.is_complete() ? g.materialized() : g;
  Eigen::MatrixXi out(static_cast<Index>(e.edges().size()), 2);
  for (std::size_t k = 0; k < e.edges().size(); ++k) {
    out(static_cast<Index>(k), 0) = e.edges()[k].i;
    out(static_cast<Index>(k), 1) = e.edges()[k].j;
  }
  return out;
}

hkam::Graph graph_from_edges(
    Index n, const Eigen::Matrix<std::int64_t, Eigen::Dynamic, Eigen::Dynamic>& edges) {
  if (edges.size() > 0 && edges.cols() != 2)
    throw py::value_error("Graph.from_edges: expected an (E, 2) array of node pairs");
  std::vector<hkam::Edge> list;
  for (Index k = 0; k < edges.rows(); ++k) {
    const auto i = edges(k, 0), j = edges(k, 1);
    if (i < 0 || j < 0 || i >= n || j >= n)
      throw py::value_error("Graph.from_edges: edge " + std::to_string(k) + " (" +
                            std::to_string(i) + ", " + std::to_string(j) +
                            ") has a node outside [0, " + std::to_string(n) + ")");
    list.push_back({static_cast<std::int32_t>(i), static_cast<std::int32_t>(j)});
  }
  return hkam::Graph::from_edges(n, std::move(list));
}

}  // namespace

PYBIND11_MODULE(_hkam, mod) {
  mod.doc() = "hkam's compiled core (use the `hkam` package, which wraps it).";
  mod.attr("__version__") = std::string(hkam::version());

  py::class_<hkam::Graph>(mod, "Graph",
                          "An undirected simple graph on n nodes (edges i < j, stored once).")
      .def_static("complete", &hkam::Graph::complete, py::arg("n"), "All n(n-1)/2 pairs.")
      .def_static("ring", &hkam::Graph::ring, py::arg("n"), py::arg("k"),
                  "Ring lattice: each node linked to its k/2 nearest neighbours on each side.")
      .def_static("watts_strogatz", &hkam::Graph::watts_strogatz, py::arg("n"), py::arg("k"),
                  py::arg("p"), py::arg("seed"),
                  "Watts-Strogatz small world (ring(n, k), each edge rewired with probability p); "
                  "always connected; the same seed gives the same graph as hkam run.")
      .def_static("from_edges", &graph_from_edges, py::arg("n"), py::arg("edges"),
                  "From an (E, 2) integer array of node pairs (0-based).")
      .def_property_readonly("num_nodes", &hkam::Graph::num_nodes)
      .def_property_readonly("num_edges", &hkam::Graph::num_edges)
      .def_property_readonly("is_complete", &hkam::Graph::is_complete)
      .def_property_readonly("edges", &edges_array,
                             "The (E, 2) array of edges i < j (a complete graph lists all pairs).")
      .def("__repr__", [](const hkam::Graph& g) {
        return "<hkam.Graph " + std::to_string(g.num_nodes()) + " nodes, " +
               std::to_string(g.num_edges()) + " edges" + (g.is_complete() ? ", complete>" : ">");
      });

  py::class_<hkam::HopfieldKuramotoParams>(mod, "Params",
                                           "The parameters of a Hopfield-Kuramoto model.")
      .def(py::init<>())
      .def("set_hopfield",
           [](hkam::HopfieldKuramotoParams& p, const Eigen::MatrixXd& w, const Eigen::VectorXd& b,
              const std::string& lagrangian, double beta) {
             p.hopfield.w = w;
             p.hopfield.b = b;
             p.hopfield.lagrangian = hkam::Lagrangian::from_name(lagrangian, beta);
           })
      .def("set_kuramoto",
           [](hkam::HopfieldKuramotoParams& p, Index n, Index dim, const hkam::Graph& g,
              const std::string& potential, const Eigen::VectorXd& a, const Eigen::VectorXd& b,
              const Eigen::MatrixXd& omega) {
             p.kuramoto.n_osc = n;
             p.kuramoto.osc_dim = dim;
             p.kuramoto.graph = g;
             p.kuramoto.potential = hkam::pair_potential_from_name(potential);
             p.kuramoto.a = a;
             p.kuramoto.b = b;
             p.kuramoto.omega = omega;
           })
      .def("set_coupling",
           [](hkam::HopfieldKuramotoParams& p, const std::string& kind, const hkam::Graph& g,
              double alpha, const Eigen::VectorXd& weights) {
             p.coupling.kind = hkam::hk_coupling_from_name(kind);
             p.coupling.graph = g;
             p.coupling.alpha = alpha;
             p.coupling.weights = weights;
           })
      .def_readwrite("kappa_h", &hkam::HopfieldKuramotoParams::kappa_h)
      .def_readwrite("kappa_k", &hkam::HopfieldKuramotoParams::kappa_k)
      .def("validate", &hkam::HopfieldKuramotoParams::validate,
           "Empty when valid, else every problem separated by '; '.");

  py::class_<Model>(mod, "Model")
      .def(py::init<hkam::HopfieldKuramotoParams>())
      .def_property_readonly("dim", &Model::dim)
      .def_property_readonly("units", [](const Model& m) { return m.params().hopfield.units(); })
      .def_property_readonly("oscillators",
                             [](const Model& m) { return m.params().kuramoto.n_osc; })
      .def_property_readonly("osc_dim", [](const Model& m) { return m.params().kuramoto.osc_dim; })
      .def("energy", &Model::energy, py::arg("z"))
      .def("energy_parts", &Model::energy_parts, py::arg("z"))
      .def("rhs", &Model::rhs, py::arg("z"))
      .def("vjp", &Model::vjp, py::arg("z"), py::arg("v"))
      .def("lyapunov", &Model::lyapunov);

  mod.def("simulate", &simulate, py::arg("model"), py::arg("z0"), py::arg("t_end"),
          py::arg("stepper"), py::arg("rtol"), py::arg("atol"), py::arg("dt"), py::arg("max_steps"),
          py::arg("normalize"), py::arg("record_every"), py::arg("audit_factor"), py::arg("t0"));
  mod.def("gradient", &gradient, py::arg("model"), py::arg("z0"), py::arg("dloss"),
          py::arg("t_end"), py::arg("stepper"), py::arg("rtol"), py::arg("atol"), py::arg("dt"),
          py::arg("max_steps"), py::arg("normalize"), py::arg("t0"));
}
