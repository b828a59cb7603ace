// `_hkam.simulate` and `_hkam.gradient` (src/python/simulate.hpp).

#include "python/simulate.hpp"

#include <pybind11/eigen.h>
#include <pybind11/stl.h>

#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>
#include <vector>

#include "python/arrays.hpp"

namespace hkam::python {

namespace {

double number(const py::dict& o, const char* key) {
  return o.contains(key) && !o[key].is_none() ? o[key].cast<double>()
                                              : std::numeric_limits<double>::quiet_NaN();
}

/// The relative tolerance of the audit, as `hkam run` sets it: audit_rtol (default: rtol for
/// the adaptive steppers, 1e-10 for the fixed ones) times audit_factor; throws ValueError
/// (through EnergyAudit's std::invalid_argument) for a tolerance that could hide a rise.
EnergyAudit make_audit(const py::dict& o, StepperKind stepper) {
  double rtol = number(o, "audit_rtol");
  const bool defaulted = std::isnan(rtol);
  if (defaulted) rtol = is_adaptive(stepper) ? number(o, "rtol") : 1e-10;
  try {
    return EnergyAudit(rtol, number(o, "audit_factor"));
  } catch (const std::invalid_argument& e) {
    throw py::value_error(std::string(e.what()) +
                          (defaulted ? "; audit_rtol defaults to rtol: for a loose integrator "
                                       "pass audit_rtol (e.g. audit_rtol=1e-4)"
                                     : ""));
  }
}

py::dict audit_dict(const AuditResult& a, double relative_tolerance) {
  py::dict d;
  d["monotone"] = a.monotone();
  d["violations"] = a.violations;
  d["checked"] = a.checked;
  d["max_increase"] = a.max_increase;
  d["max_increase_t"] = a.max_increase_t;
  d["first_violation_step"] = a.first_violation_step;
  d["relative_tolerance"] = relative_tolerance;
  d["text"] = largest_change_text(a.max_increase);
  return d;
}

/// Checks for Ctrl-C (the solve runs without the GIL): true when Python has a pending
/// KeyboardInterrupt, which is then cleared (the wrapper raises hkam.Interrupted instead).
bool interrupted_by_user() {
  const py::gil_scoped_acquire gil;
  if (PyErr_CheckSignals() == 0) return false;
  PyErr_Clear();
  return true;
}

/// The recorded steps: times, states (flattened, `width` per record) and energies.
template <class T>
struct Records {
  Index width = 0;
  std::vector<double> t;
  std::vector<T> z;
  std::vector<double> e;
  void add(double time, const T* state, Index count, const double* energy, Index n_energy) {
    t.push_back(time);
    z.insert(z.end(), state, state + count);
    e.insert(e.end(), energy, energy + n_energy);
  }
  /// Arrays (T,), (T, [B,] dim) and (T[, B]).
  void put(py::dict& r, Index batch, Index dim, bool single) const {
    const auto n = static_cast<py::ssize_t>(t.size());
    r["t"] = py::array_t<double>(n, t.data());
    std::vector<py::ssize_t> zs{n}, es{n};
    if (!single) {
      zs.push_back(batch);
      es.push_back(batch);
    }
    zs.push_back(dim);
    r["z"] = py::array_t<T>(zs, z.data());
    r["energy"] = py::array_t<double>(es, e.data());
  }
};

SimulateOptions single_options(const py::dict& o) {
  SimulateOptions so;
  so.stepper = stepper_from_name(o["stepper"].cast<std::string>());
  so.t0 = number(o, "t0");
  so.t_end = number(o, "t_end");
  const double dt = number(o, "dt");
  so.dt = std::isnan(dt) ? 1e-2 : dt;  // `hkam run`'s default (first step of dopri5, rkf78)
  so.rtol = number(o, "rtol");
  so.atol = number(o, "atol");
  so.dt_min = number(o, "dt_min");
  if (const double m = number(o, "dt_max"); !std::isnan(m)) so.dt_max = m;
  so.max_steps = o["max_steps"].cast<long>();
  so.converged_tol = number(o, "converged");
  so.sample_interval = number(o, "sample_every");
  if (const std::string why = so.validate(); !why.empty()) throw py::value_error(why);
  return so;
}

/// One trajectory through hkam::simulate (Boost.Odeint), as `hkam run` integrates it: the same
/// steps, samples, audit and stop conditions, so a config's run is reproduced bit for bit.
py::dict simulate_single(const Model& m, Eigen::VectorXd z, const py::dict& o) {
  const SimulateOptions so = single_options(o);
  EnergyAudit audit = make_audit(o, so.stepper);
  const StateLayout lay = m.layout();
  std::optional<EnergyPlateau> plateau;
  if (const double w = number(o, "plateau_window"); w > 0)
    plateau.emplace(w, number(o, "plateau_tol"));
  std::optional<OrderParameterAbove> synced;
  if (const double r = number(o, "order_parameter"); r > 0) {
    if (lay.n_osc == 0)
      throw py::value_error("simulate: order_parameter: the model has no oscillators");
    synced.emplace(lay, r);
  }
  const long record_every = o["record_every"].cast<long>();
  const bool sampling = so.sample_interval > 0;
  renormalize(lay, z);

  Records<double> rec;
  double sample_t = std::numeric_limits<double>::quiet_NaN(), sample_e = 0;
  bool user_stop = false;
  const auto energy_of = [&](const Eigen::VectorXd& s) {
    return std::visit([&](const auto& mm) { return mm.energy(s); }, m.single());
  };
  // As `hkam run`'s trace: a sample's energy is the sum of its parts.
  const auto parts_sum = [&](const Eigen::VectorXd& s) {
    const EnergyParts parts =
        std::visit([&](const auto& mm) { return mm.energy_parts(s); }, m.single());
    double e = 0;
    for (const auto& p : parts) e += p.value;
    return e;
  };
  const auto record = [&](double t, const Eigen::VectorXd& s, double e) {
    rec.add(t, s.data(), s.size(), &e, 1);
  };
  const Observer observer = [&](double t, const Eigen::VectorXd& s, const StepInfo& info) {
    if (info.repeat) return Action::stop_with(EndReason::Interrupted);
    const double e = t == sample_t ? sample_e : energy_of(s);
    if (!std::isfinite(e)) return Action::stop_with(EndReason::NonFinite);
    audit.add(info.step, t, e);
    if (!sampling && info.step % record_every == 0) record(t, s, e);
    if ((info.step & 63) == 0 && interrupted_by_user()) {
      user_stop = true;
      return Action::stop_with(EndReason::Interrupted);
    }
    if (plateau)
      if (const Action a = plateau->add(t, e); a.stop) return a;
    if (synced)
      if (const Action a = synced->check(s); a.stop) return a;
    return Action::proceed();
  };
  long samples = 0;
  const Sampler sampler = [&](double t, const Eigen::VectorXd& s) {
    if ((++samples & 63) == 0 && interrupted_by_user()) {
      user_stop = true;
      return false;
    }
    sample_t = t;
    sample_e = parts_sum(s);
    record(t, s, sample_e);
    return true;
  };
  Summary sum;
  {
    const py::gil_scoped_release nogil;
    sum = std::visit(
        [&](const auto& mm) {
          return sampling ? simulate(mm, z, so, observer, sampler) : simulate(mm, z, so, observer);
        },
        m.single());
  }
  if (rec.t.empty() || rec.t.back() < sum.t - 1e-12 * std::max(1.0, std::abs(sum.t)))
    record(sum.t, z, sampling ? parts_sum(z) : energy_of(z));  // the final state, as hkam run

  py::dict r;
  rec.put(r, 1, m.dim(), true);
  r["audit"] = audit_dict(audit.result(), audit.relative_tolerance());
  r["end_reason"] = std::string(end_reason_name(sum.end_reason));
  r["steps"] = sum.steps;
  r["rejected"] = sum.rejected;
  r["evaluations"] = sum.rhs_evaluations;
  r["wall_seconds"] = sum.wall_seconds;
  r["single"] = true;
  r["keyboard_interrupt"] = user_stop;
  return r;
}

BatchSolveOptions batch_options(const py::dict& o) {
  BatchSolveOptions b;
  b.stepper = stepper_from_name(o["stepper"].cast<std::string>());
  b.t0 = number(o, "t0");
  b.t_end = number(o, "t_end");
  const double dt = number(o, "dt");
  b.dt = !std::isnan(dt) ? dt : is_adaptive(b.stepper) ? 0.0 : 1e-2;
  b.rtol = number(o, "rtol");
  b.atol = number(o, "atol");
  b.dt_min = number(o, "dt_min");
  b.max_steps = o["max_steps"].cast<long>();
  b.normalize = o["normalize"].cast<bool>();
  if (const std::string why = b.validate(); !why.empty()) throw py::value_error(why);
  return b;
}

/// A batch (or a float32 state, or one state with normalize=False) through the batched solver:
/// one step size for all trajectories; every accepted step's energies are audited, every
/// record_every-th step recorded.
template <class T>
py::dict simulate_batch(const Model& m, Batch<T> z, const py::dict& o, bool single) {
  const BatchSolveOptions opt = batch_options(o);
  for (const char* k : {"sample_every", "converged", "plateau_window", "order_parameter", "dt_max"})
    if (number(o, k) > 0)
      throw py::value_error(std::string("simulate: ") + k +
                            " is for one float64 trajectory (z0 of shape (dim,)); a batch "
                            "records every record_every-th accepted step");
  const double rel = make_audit(o, opt.stepper).relative_tolerance();
  const long record_every = o["record_every"].cast<long>();
  const BatchModel<T>& bm = m.batch(T{});
  const Index B = z.rows(), dim = m.dim();
  BatchSolveWorkspace<T> ws;
  BatchWorkspace<T> ews;
  Records<T> rec;
  std::vector<double> all_e;  // every accepted step's energies, for the audit
  Eigen::Matrix<T, Eigen::Dynamic, 1> e;
  Eigen::VectorXd ed(B);
  RowMajor<T> row_major;
  long step = 0;
  bool user_stop = false;
  const auto record = [&](double t, const Batch<T>& zs) {
    row_major = zs;
    rec.add(t, row_major.data(), row_major.size(), ed.data(), B);
  };
  double last_t = std::numeric_limits<double>::quiet_NaN();
  const BatchObserver<T> observe = [&](double t, const Batch<T>& zs) -> Action {
    bm.energy(zs, e, ews);
    ed = e.template cast<double>();
    all_e.insert(all_e.end(), ed.data(), ed.data() + B);
    last_t = t;
    if (step++ % record_every == 0) record(t, zs);
    if (!ed.allFinite()) return Action::stop_with(EndReason::NonFinite);
    if (interrupted_by_user()) {
      user_stop = true;
      return Action::stop_with(EndReason::Interrupted);
    }
    return Action::proceed();
  };
  BatchSolveSummary sum;
  {
    const py::gil_scoped_release nogil;
    sum = solve(bm, z, opt, ws, static_cast<BatchTape<T>*>(nullptr), observe);
  }
  if (rec.t.empty() || rec.t.back() != sum.t) {
    if (last_t != sum.t) {  // the solve ended without showing its last state
      bm.energy(z, e, ews);
      ed = e.template cast<double>();
    }
    record(sum.t, z);
  }
  const auto steps = static_cast<Index>(all_e.size()) / B;
  const Eigen::MatrixXd rows = Eigen::Map<const Eigen::MatrixXd>(all_e.data(), B, steps);
  const AuditResult a = audit_rows(rows, rel);

  py::dict r;
  rec.put(r, B, dim, single);
  r["audit"] = audit_dict(a, rel);
  r["end_reason"] = std::string(end_reason_name(sum.end_reason));
  r["steps"] = sum.steps;
  r["rejected"] = sum.rejected;
  r["evaluations"] = sum.evaluations;
  r["single"] = single;
  r["keyboard_interrupt"] = user_stop;
  return r;
}

template <class T>
py::tuple gradient_impl(const Model& m, const py::handle& z0, const py::handle& dloss,
                        const py::dict& o) {
  bool single = false, single_l = false;
  Batch<T> z = to_batch<T>(z0, m.dim(), "gradient: z0", single);
  require_finite(z, "gradient: z0");
  Batch<T> lambda = to_batch<T>(dloss, m.dim(), "gradient: dloss", single_l);
  require_finite(lambda, "gradient: dloss");
  if (lambda.rows() != z.rows() || single != single_l)
    throw py::value_error("gradient: z0 and dloss differ in shape");
  const BatchSolveOptions opt = batch_options(o);
  const BatchModel<T>& bm = m.batch(T{});
  BatchSolveWorkspace<T> ws;
  BatchTape<T> tape;
  BatchSolveSummary sum;
  auto grad = HkGradient::zeros_like(m.params("gradient"));
  {
    const py::gil_scoped_release nogil;
    sum = solve(bm, z, opt, ws, &tape);
    if (sum.end_reason == EndReason::TEnd) solve_backward(bm, tape, opt, lambda, ws, grad);
  }
  if (sum.end_reason != EndReason::TEnd)
    throw std::runtime_error("gradient: the solve ended with " +
                             std::string(end_reason_name(sum.end_reason)) + " before t_end");
  return py::make_tuple(from_batch(z, single), from_batch(lambda, single),
                        gradient_dict(grad, m.params()));
}

}  // namespace

py::dict simulate(const Model& m, const py::handle& z0, const py::dict& options) {
  if (options["record_every"].cast<long>() < 1)
    throw py::value_error("simulate: record_every must be >= 1");
  bool single = false;
  if (is_float32(z0)) {
    Batch<float> z = to_batch<float>(z0, m.dim(), "simulate: z0", single);
    require_finite(z, "simulate: z0");
    return simulate_batch(m, std::move(z), options, single);
  }
  Batch<double> z = to_batch<double>(z0, m.dim(), "simulate: z0", single);
  require_finite(z, "simulate: z0");
  if (single && options["normalize"].cast<bool>())
    return simulate_single(m, z.row(0).transpose(), options);
  return simulate_batch(m, std::move(z), options, single);
}

py::tuple gradient(const Model& m, const py::handle& z0, const py::handle& dloss,
                   const py::dict& options) {
  return is_float32(z0) ? gradient_impl<float>(m, z0, dloss, options)
                        : gradient_impl<double>(m, z0, dloss, options);
}

}  // namespace hkam::python
