#include "hkam/integrate/batch_solve.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "problems.hpp"

namespace hkam {
namespace {

// An explicit Runge–Kutta tableau: a (lower triangular, row s holds a_s0 … a_s,s−1), b, and for
// embedded pairs the error weights e = b − b̂ over s + 1 stages (the last is f at the new state).
struct Tableau {
  int stages = 1;
  double a[7][7] = {};
  double b[7] = {};
  double e[7] = {};
  bool embedded = false;
};

Tableau tableau(StepperKind kind) {
  Tableau t;
  switch (kind) {
    case StepperKind::Euler:
    case StepperKind::Akorn:
      t.stages = 1;
      t.b[0] = 1;
      return t;
    case StepperKind::Rk4:
      t.stages = 4;
      t.a[1][0] = 0.5;
      t.a[2][1] = 0.5;
      t.a[3][2] = 1.0;
      t.b[0] = t.b[3] = 1.0 / 6;
      t.b[1] = t.b[2] = 1.0 / 3;
      return t;
    case StepperKind::Dopri5:
    default: {
      // Dormand & Prince (1980), 5th-order solution with a 4th-order embedded estimate.
      t.stages = 6;
      t.embedded = true;
      const double a[6][5] = {
          {0, 0, 0, 0, 0},
          {1.0 / 5, 0, 0, 0, 0},
          {3.0 / 40, 9.0 / 40, 0, 0, 0},
          {44.0 / 45, -56.0 / 15, 32.0 / 9, 0, 0},
          {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729, 0},
          {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656}};
      for (int s = 0; s < 6; ++s)
        for (int r = 0; r < 5; ++r) t.a[s][r] = a[s][r];
      const double b[6] = {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84};
      const double e[7] = {71.0 / 57600,      0,          -71.0 / 16695, 71.0 / 1920,
                           -17253.0 / 339200, 22.0 / 525, -1.0 / 40};
      for (int s = 0; s < 6; ++s) t.b[s] = b[s];
      for (int s = 0; s < 7; ++s) t.e[s] = e[s];
      return t;
    }
  }
}

bool normalizes(const BatchSolveOptions& o) {
  return o.normalize || o.stepper == StepperKind::Akorn;
}

// σ_i ← σ_i / ‖σ_i‖ for every oscillator of every row.
template <class T>
void normalize_rows(const StateLayout& l, BatchMatrix<T>& z) {
  const Index B = z.rows(), D = l.osc_dim;
  for (Index i = 0; i < l.n_osc; ++i) {
    T* s = z.data() + (l.n_units + i * D) * B;
    for (Index b = 0; b < B; ++b) {
      T n2 = 0;
      for (Index d = 0; d < D; ++d) n2 += s[d * B + b] * s[d * B + b];
      const T inv = T(1) / std::sqrt(n2);
      for (Index d = 0; d < D; ++d) s[d * B + b] *= inv;
    }
  }
}

// λ ← J_Nᵀ λ at the unnormalised state zt: (I − σ̂σ̂ᵀ) λ_i / ‖σ̃_i‖ per oscillator.
template <class T>
void normalize_vjp(const StateLayout& l, const BatchMatrix<T>& zt, BatchMatrix<T>& lambda) {
  const Index B = zt.rows(), D = l.osc_dim;
  for (Index i = 0; i < l.n_osc; ++i) {
    const T* s = zt.data() + (l.n_units + i * D) * B;
    T* v = lambda.data() + (l.n_units + i * D) * B;
    for (Index b = 0; b < B; ++b) {
      T n2 = 0, dot = 0;
      for (Index d = 0; d < D; ++d) {
        n2 += s[d * B + b] * s[d * B + b];
        dot += s[d * B + b] * v[d * B + b];
      }
      const T r = std::sqrt(n2);
      for (Index d = 0; d < D; ++d) v[d * B + b] = (v[d * B + b] - dot / n2 * s[d * B + b]) / r;
    }
  }
}

// The largest over the rows of each row's RMS of v / (atol + rtol·max(|y|, |y2|)).
template <class T>
double batch_error_norm(const BatchMatrix<T>& v, const BatchMatrix<T>& y, const BatchMatrix<T>& y2,
                        double atol, double rtol) {
  double worst = 0;
  for (Index b = 0; b < v.rows(); ++b) {
    double sum = 0;
    for (Index c = 0; c < v.cols(); ++c) {
      const double sc =
          atol + rtol * std::max(std::abs(double(y(b, c))), std::abs(double(y2(b, c))));
      const double q = double(v(b, c)) / sc;
      sum += q * q;
    }
    const double rms = std::sqrt(sum / double(std::max<Index>(v.cols(), 1)));
    if (!(rms <= worst)) worst = rms;  // NaN propagates
  }
  return worst;
}

// Sizes the stage buffers for s stages and a rows×cols batch (no-op when they already fit).
template <class T>
void size_stages(BatchSolveWorkspace<T>& w, int s, Index rows, Index cols) {
  auto fit = [&](std::vector<BatchMatrix<T>>& v, int count) {
    v.resize(std::size_t(count));
    for (auto& m : v) m.resize(rows, cols);
  };
  fit(w.k, s + 1);
  fit(w.zs, s);
  fit(w.zbar, s);
  w.radial.resize(std::size_t(s + 1));
  w.znew.resize(rows, cols);
  w.err.resize(rows, cols);
  w.kbar.resize(rows, cols);
  w.stage.resize(std::size_t(s));
}

// Stage point s of a step from z of size h, from the derivatives of the stages before it.
template <class T>
void stage_point(const Tableau& tb, int s, const BatchMatrix<T>& z, double h,
                 const std::vector<BatchMatrix<T>>& k, BatchMatrix<T>& zs) {
  zs = z;
  for (int r = 0; r < s; ++r)
    if (tb.a[s][r] != 0.0) zs += T(h * tb.a[s][r]) * k[std::size_t(r)];
}

// The step's result from its stage derivatives.
template <class T>
void step_result(const Tableau& tb, const BatchMatrix<T>& z, double h,
                 const std::vector<BatchMatrix<T>>& k, BatchMatrix<T>& znew) {
  znew = z;
  for (int s = 0; s < tb.stages; ++s)
    if (tb.b[s] != 0.0) znew += T(h * tb.b[s]) * k[std::size_t(s)];
}

// One explicit RK step from z with size h: stage points zs, derivatives k (k[0] must hold f(z)),
// the new state in st.znew (not normalised). Returns the evaluations spent.
// With `stage_ws`, stage s is evaluated in stage_ws[s] (which then holds its forward quantities
// for the VJP); otherwise every stage uses ws. With `radial`, st.radial[s] gets each stage's
// σ_i·y_i (for a tape that keeps its stages).
template <class T>
int rk_step(const BatchModel<T>& model, const Tableau& tb, const BatchMatrix<T>& z, double h,
            BatchSolveWorkspace<T>& st, BatchWorkspace<T>& ws,
            BatchWorkspace<T>* stage_ws = nullptr, bool radial = false) {
  int evals = 0;
  st.zs[0] = z;
  for (int s = 1; s < tb.stages; ++s) {
    stage_point(tb, s, z, h, st.k, st.zs[std::size_t(s)]);
    BatchWorkspace<T>& w = stage_ws ? stage_ws[s] : ws;
    model.rhs(st.zs[std::size_t(s)], st.k[std::size_t(s)], w);
    if (radial) model.radial(st.zs[std::size_t(s)], w, st.radial[std::size_t(s)]);
    ++evals;
  }
  step_result(tb, z, h, st.k, st.znew);
  return evals;
}

// Records an accepted step on the tape: its start and size, and with keep_stages its stages.
template <class T>
void push_step(BatchTape<T>& tape, double h, const BatchMatrix<T>& z,
               const BatchSolveWorkspace<T>& st, int stages) {
  const std::size_t q = std::size_t(tape.steps());
  tape.push(h, z);
  if (!tape.keep_stages) return;
  if (tape.k.size() <= q) {
    tape.k.emplace_back();
    tape.radial.emplace_back();
  }
  tape.k[q].resize(std::size_t(stages));
  tape.radial[q].resize(std::size_t(stages));
  for (std::size_t s = 0; s < std::size_t(stages); ++s) {
    tape.k[q][s] = st.k[s];
    tape.radial[q][s] = st.radial[s];
  }
}

// SciPy's select_initial_step (Hairer, Nørsett & Wanner, II.4), rows combined by their maximum.
template <class T>
double initial_step(const BatchModel<T>& model, const BatchMatrix<T>& z, const BatchMatrix<T>& f0,
                    const BatchSolveOptions& o, BatchSolveWorkspace<T>& st, BatchWorkspace<T>& ws) {
  BatchMatrix<T>& zero = st.kbar;  // free during the forward solve
  zero.setZero();
  const double d0 = batch_error_norm<T>(z, z, zero, o.atol, o.rtol);
  const double d1 = batch_error_norm<T>(f0, z, zero, o.atol, o.rtol);
  const double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
  st.znew = z + T(h0) * f0;
  model.rhs(st.znew, st.err, ws);
  st.err -= f0;
  const double d2 = batch_error_norm<T>(st.err, z, zero, o.atol, o.rtol) / h0;
  const double h1 = (d1 <= 1e-15 && d2 <= 1e-15) ? std::max(1e-6, h0 * 1e-3)
                                                 : std::pow(0.01 / std::max(d1, d2), 1.0 / 5);
  return std::min(100 * h0, h1);
}

}  // namespace

std::string BatchSolveOptions::validate() const {
  detail::Problems p;
  if (stepper == StepperKind::Rkf78)
    p.add("stepper rkf78 is not available for batches (euler, rk4, akorn or dopri5)");
  if (!std::isfinite(t0) || !std::isfinite(t_end) || !(t_end > t0))
    p.add("t_end = {} must be finite and after t0 = {}", t_end, t0);
  const bool fixed = stepper != StepperKind::Dopri5;
  if (steps.empty()) {
    if (fixed && (!(dt > 0) || !std::isfinite(dt)))
      p.add("dt = {} must be a finite step > 0 for a fixed-step stepper", dt);
    if (!fixed && (!(dt >= 0) || !std::isfinite(dt)))
      p.add("dt = {} must be >= 0 (0: automatic first step)", dt);
    if (std::isfinite(t_end - t0) && fixed && dt > 0 && (t_end - t0) / dt > double(max_steps))
      p.add("(t_end - t0)/dt = {:.4g} steps exceed max_steps = {}", (t_end - t0) / dt, max_steps);
  }
  for (double h : steps)
    if (!(h > 0) || !std::isfinite(h)) {
      p.add("steps holds {}; every step must be finite and > 0", h);
      break;
    }
  if (!fixed && (!(rtol > 0) || !std::isfinite(rtol) || !(atol > 0) || !std::isfinite(atol)))
    p.add("rtol = {} and atol = {} must be finite and > 0", rtol, atol);
  if (!(dt_min >= 0) || !std::isfinite(dt_min)) p.add("dt_min = {} must be >= 0", dt_min);
  if (max_steps < 1) p.add("max_steps = {} must be >= 1", max_steps);
  return p.str();
}

template <class T>
BatchSolveSummary solve(const BatchModel<T>& model, BatchMatrix<T>& z, const BatchSolveOptions& o,
                        BatchSolveWorkspace<T>& st, BatchTape<T>* tape,
                        const BatchObserver<T>& observer) {
  if (const std::string why = o.validate(); !why.empty())
    throw std::invalid_argument("invalid solve options: " + why);
  if (z.cols() != model.dim() || z.rows() < 1)
    throw std::invalid_argument(
        fmt::format("solve: the state is {}x{}; expected B x {}", z.rows(), z.cols(), model.dim()));
  const Tableau tb = tableau(o.stepper);
  const StateLayout lay = model.layout();
  const bool norm = normalizes(o);
  size_stages(st, tb.stages, z.rows(), z.cols());
  BatchWorkspace<T>& ws = st.model;
  if (tape) tape->clear();
  BatchSolveSummary sum;
  sum.t = o.t0;
  if (const Action a = observer ? observer(sum.t, z) : Action::proceed(); a.stop) {
    sum.end_reason = a.reason;
    if (tape) tape->end = z;
    return sum;
  }
  const bool replay = !o.steps.empty();
  const bool adaptive = !replay && o.stepper == StepperKind::Dopri5;
  const bool keep = tape && tape->keep_stages;
  model.rhs(z, st.k[0], ws);
  if (keep) model.radial(z, ws, st.radial[0]);
  ++sum.evaluations;
  double h = replay ? o.steps[0] : o.dt;
  if (adaptive && h == 0) {
    h = initial_step(model, z, st.k[0], o, st, ws);
    ++sum.evaluations;
  }
  const double span = o.t_end - o.t0;
  const long fixed_n = (replay || adaptive) ? 0 : long(std::ceil(span / o.dt * (1 - 1e-12)));
  bool just_rejected = false;
  while (true) {
    if (replay ? sum.steps >= long(o.steps.size()) : o.t_end - sum.t <= 1e-14 * std::abs(span))
      break;
    if (sum.steps >= o.max_steps) {
      sum.end_reason = EndReason::MaxSteps;
      break;
    }
    if (replay)
      h = o.steps[std::size_t(sum.steps)];
    else if (!adaptive)
      h = sum.steps + 1 >= fixed_n ? o.t_end - sum.t : o.dt;
    else
      h = std::min(h, o.t_end - sum.t);
    sum.evaluations += rk_step<T>(model, tb, z, h, st, ws, nullptr, keep);
    if (adaptive) {
      model.rhs(st.znew, st.k[std::size_t(tb.stages)], ws);
      if (keep && !norm) model.radial(st.znew, ws, st.radial[std::size_t(tb.stages)]);
      ++sum.evaluations;
      st.err.setZero();
      for (int s = 0; s <= tb.stages; ++s)
        if (tb.e[s] != 0.0) st.err += T(h * tb.e[s]) * st.k[std::size_t(s)];
      const double en = batch_error_norm<T>(st.err, z, st.znew, o.atol, o.rtol);
      if (!(en <= 1.0)) {  // reject (NaN included)
        ++sum.rejected;
        h *= std::isfinite(en) ? std::max(0.2, 0.9 * std::pow(en, -0.2)) : 0.2;
        just_rejected = true;
        if (h < o.dt_min) {
          sum.end_reason = EndReason::StepCollapse;
          break;
        }
        continue;
      }
      if (tape) push_step(*tape, h, z, st, tb.stages);
      double factor = en == 0.0 ? 10.0 : std::min(10.0, 0.9 * std::pow(en, -0.2));
      if (just_rejected) factor = std::min(1.0, factor);
      just_rejected = false;
      z = st.znew;
      sum.t += h;
      h *= factor;
    } else {
      if (tape) push_step(*tape, h, z, st, tb.stages);
      z = st.znew;
      sum.t =
          replay ? sum.t + h : (sum.steps + 1 >= fixed_n ? o.t_end : o.t0 + (sum.steps + 1) * o.dt);
    }
    ++sum.steps;
    if (norm) normalize_rows(lay, z);
    if (!z.allFinite()) {
      sum.end_reason = EndReason::NonFinite;
      break;
    }
    if (const Action a = observer ? observer(sum.t, z) : Action::proceed(); a.stop) {
      sum.end_reason = a.reason;
      break;
    }
    // FSAL: Dormand–Prince's last stage is f(znew); after a renormalisation it is recomputed.
    if (adaptive && !norm) {
      std::swap(st.k[0], st.k[std::size_t(tb.stages)]);
      if (keep) std::swap(st.radial[0], st.radial[std::size_t(tb.stages)]);
    } else {
      model.rhs(z, st.k[0], ws);
      if (keep) model.radial(z, ws, st.radial[0]);
      ++sum.evaluations;
    }
  }
  if (tape) tape->end = z;
  return sum;
}

template <class T>
void solve_backward(const BatchModel<T>& model, const BatchTape<T>& tape,
                    const BatchSolveOptions& o, BatchMatrix<T>& lambda, BatchSolveWorkspace<T>& st,
                    HkGradient& grad, const StepLoss<T>& step_loss) {
  if (tape.starts.size() < tape.h.size())
    throw std::invalid_argument("solve_backward: the tape is inconsistent");
  if (lambda.rows() != tape.end.rows() || lambda.cols() != tape.end.cols())
    throw std::invalid_argument("solve_backward: the cotangent must be shaped like the state");
  const Tableau tb = tableau(o.stepper);
  const StateLayout lay = model.layout();
  const bool norm = normalizes(o);
  size_stages(st, tb.stages, lambda.rows(), lambda.cols());
  // One workspace per stage: each keeps its stage's forward quantities for that stage's VJP.
  std::vector<BatchWorkspace<T>>& stage_ws = st.stage;
  BatchMatrix<T>& kbar = st.kbar;
  BatchWorkspace<T>& ws = st.model;
  const long n = tape.steps();
  const bool kept = tape.has_stages();
  if (step_loss) step_loss(n, tape.end, lambda);
  model.clear(st.edges);
  for (long k = n - 1; k >= 0; --k) {
    const BatchMatrix<T>& z = tape.starts[std::size_t(k)];
    const double h = tape.h[std::size_t(k)];
    if (kept) {  // stage points and forward quantities from the tape: nothing is evaluated
      const std::vector<BatchMatrix<T>>& ks = tape.k[std::size_t(k)];
      for (int s = 0; s < tb.stages; ++s) {
        stage_point(tb, s, z, h, ks, st.zs[std::size_t(s)]);
        model.restore(st.zs[std::size_t(s)], ks[std::size_t(s)],
                      tape.radial[std::size_t(k)][std::size_t(s)], stage_ws[std::size_t(s)]);
      }
      if (norm) step_result(tb, z, h, ks, st.znew);
    } else {
      model.rhs(z, st.k[0], stage_ws[0]);
      rk_step(model, tb, z, h, st, ws, stage_ws.data());
    }
    if (norm) normalize_vjp(lay, st.znew, lambda);  // λ is now v = J_Nᵀ λ'
    for (int s = tb.stages - 1; s >= 0; --s) {
      kbar = T(h * tb.b[s]) * lambda;
      for (int q = s + 1; q < tb.stages; ++q)
        if (tb.a[q][s] != 0.0) kbar += T(h * tb.a[q][s]) * st.zbar[std::size_t(q)];
      model.vjp(st.zs[std::size_t(s)], kbar, st.zbar[std::size_t(s)], stage_ws[std::size_t(s)],
                &grad, /*ws_holds_z=*/true, &st.edges);
    }
    for (int s = 0; s < tb.stages; ++s) lambda += st.zbar[std::size_t(s)];
    if (step_loss) step_loss(k, z, lambda);
  }
  model.add_edge_gradients(st.edges, grad);
}

#define HKAM_INSTANTIATE(T)                                                              \
  template BatchSolveSummary solve<T>(const BatchModel<T>&, BatchMatrix<T>&,             \
                                      const BatchSolveOptions&, BatchSolveWorkspace<T>&, \
                                      BatchTape<T>*, const BatchObserver<T>&);           \
  template void solve_backward<T>(const BatchModel<T>&, const BatchTape<T>&,             \
                                  const BatchSolveOptions&, BatchMatrix<T>&,             \
                                  BatchSolveWorkspace<T>&, HkGradient&, const StepLoss<T>&);
HKAM_INSTANTIATE(float)
HKAM_INSTANTIATE(double)
#undef HKAM_INSTANTIATE

}  // namespace hkam
