#pragma once
/// One entry point to integrate any hkam model: `simulate(model, x, options, observer, sampler)`.
///
/// Steppers come from Boost.Odeint over Eigen vectors: explicit Euler and RK4 with a fixed step,
/// the discrete AKOrN update (x ← normalize(x + γ·dx/dt), i.e. Euler with step γ followed by the
/// renormalisation every step gets), Dormand–Prince 5(4) (the default) and Runge–Kutta–Fehlberg
/// 7(8) with error control. After every accepted step the oscillators (`model.layout()`) are put
/// back on their spheres; the norm drift seen before renormalising is reported. When a step
/// changed the state by renormalising, the FSAL derivative of Dormand–Prince is recomputed, so the
/// next step starts from the true derivative of the state actually stored.
///
/// The observer sees the initial state and the state after *every* accepted step. It returns
/// `true` to continue and `false` to stop the run (end reason `interrupted`).
///
/// The sampler (when `options.sample_interval > 0`) sees the state at t0, t0 + h, t0 + 2h, … ≤
/// the end of the run, from dense output: Dormand–Prince's own 4th-order continuous extension,
/// cubic Hermite interpolation between accepted steps for the fixed-step ones (exact at step
/// times, so fixed-step runs whose interval is a multiple of dt sample their own steps);
/// Fehlberg 7(8), which has no continuous extension of its order, shortens steps to land on the
/// sample times. Interpolated oscillators are renormalised. Sampling costs no extra right-hand
/// side evaluation with Dormand–Prince and at most one per sampled step otherwise.

#include <Eigen/Core>
#include <algorithm>
#include <boost/numeric/odeint.hpp>
#include <boost/numeric/odeint/external/eigen/eigen.hpp>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <string_view>

#include "hkam/core.hpp"

namespace hkam {

enum class StepperKind { Euler, Rk4, Akorn, Dopri5, Rkf78 };
enum class EndReason {
  TEnd,
  Converged,
  EnergyPlateau,
  OrderParameter,
  MaxSteps,
  StepCollapse,
  NonFinite,
  Interrupted
};

/// "euler", "rk4", "akorn", "dopri5", "rkf78"; throws std::invalid_argument otherwise.
StepperKind stepper_from_name(std::string_view name);
std::string_view stepper_name(StepperKind kind);
std::string_view end_reason_name(EndReason reason);
/// The reason named by end_reason_name, or nothing for an unknown name.
std::optional<EndReason> end_reason_from_name(std::string_view name);
/// True for the steppers with error control (dopri5, rkf78).
inline bool is_adaptive(StepperKind kind) {
  return kind == StepperKind::Dopri5 || kind == StepperKind::Rkf78;
}

struct SimulateOptions {
  StepperKind stepper = StepperKind::Dopri5;
  double t0 = 0.0;
  double t_end = 1.0;
  double dt = 1e-2;  ///< fixed step (euler, rk4, akorn: γ) or initial step (adaptive)
  double dt_max = std::numeric_limits<double>::infinity();  ///< adaptive steppers only
  double dt_min = 1e-12;  ///< an adaptive step below this ends the run (step collapse)
  double rtol = 1e-8;
  double atol = 1e-10;
  long max_steps = 100'000'000;  ///< budget of accepted steps
  /// Stop with `converged` once ‖dx/dt‖∞ < converged_tol after a step (0 switches it off).
  double converged_tol = 0.0;
  /// Time between the states handed to the sampler (0: no sampling).
  double sample_interval = 0.0;
};

struct Summary {
  EndReason end_reason = EndReason::TEnd;
  double t = 0.0;
  long steps = 0;  ///< accepted
  long rejected = 0;
  long rhs_evaluations = 0;
  double wall_seconds = 0.0;
  double max_norm_drift = 0.0;  ///< max |‖σ_i‖ − 1| before renormalising
};

/// Everything the integration loop carries from one accepted step to the next besides the state
/// and its derivative: with those two, it continues a run exactly (bit for bit).
struct IntegratorState {
  double t = 0.0;
  double dt = 0.0;  ///< the next step size to try (adaptive steppers)
  long steps = 0, rejected = 0, rhs_evaluations = 0;
  long next_sample = 0;  ///< index k of the next sample time t0 + k·h
  double max_norm_drift = 0.0;
  double wall_seconds = 0.0;  ///< integration time spent so far
};

/// What the observer learns about the step just accepted (step 0 is the initial state).
struct StepInfo {
  long step = 0;
  double dt = 0.0;     ///< size of the step just taken
  double drift = 0.0;  ///< max |‖σ_i‖ − 1| before renormalising after it
  /// The loop's state after this step and f(x) at it: what a checkpoint stores (null at step 0).
  const IntegratorState* state = nullptr;
  const Eigen::VectorXd* derivative = nullptr;
  /// Set when the sampler stopped the run inside a step: the observer sees the state before that
  /// step once more (with `state` positioned to retake it, for a checkpoint); not a new step.
  bool repeat = false;
};

/// Where simulate() continues from: the state x (passed as simulate's x), its derivative, and the
/// loop state, as captured from StepInfo after an accepted step.
struct Resume {
  IntegratorState state;
  Eigen::VectorXd derivative;
};

using Observer = std::function<bool(double t, const Eigen::VectorXd& x, const StepInfo& info)>;
using Sampler = std::function<bool(double t, const Eigen::VectorXd& x)>;

/// Puts every oscillator of `layout` back on its sphere; returns the largest |‖σ_i‖ − 1| seen.
double renormalize(const StateLayout& layout, Eigen::VectorXd& x);
/// True when every entry is finite.
bool all_finite(const Eigen::VectorXd& x);
/// Cubic Hermite interpolation at θ ∈ [0, 1] between (x0, f0) and (x1, f1) over a step h.
void hermite(double theta, double h, const Eigen::VectorXd& x0, const Eigen::VectorXd& f0,
             const Eigen::VectorXd& x1, const Eigen::VectorXd& f1, Eigen::VectorXd& out);

namespace detail {

template <class Model>
struct CountingSystem {
  const Model* model;
  long* count;
  void operator()(const Eigen::VectorXd& x, Eigen::VectorXd& dxdt, double t) const {
    ++*count;
    // Some odeint paths hand over a derivative that was never sized; resizing to the same size
    // is a no-op, so this allocates at most once per buffer.
    dxdt.resize(x.size());
    (*model)(x, dxdt, t);
  }
};

inline double inf_norm(const Eigen::VectorXd& v) {
  return v.size() ? v.cwiseAbs().maxCoeff() : 0.0;
}

}  // namespace detail

/// Integrates `model` from x (updated in place) according to `options`. Never throws for a
/// numerical failure: the Summary's end reason says how the run ended. A step whose result is
/// not finite is not taken: x stays the last finite state and the run ends with `non_finite`.
template <class Model>
Summary simulate(const Model& model, Eigen::VectorXd& x, const SimulateOptions& options,
                 const Observer& observer = {}, const Sampler& sampler = {},
                 const Resume* resume = nullptr) {
  namespace odeint = boost::numeric::odeint;
  using State = Eigen::VectorXd;
  using Algebra = odeint::vector_space_algebra;
  const auto start = std::chrono::steady_clock::now();
  Summary summary;
  const StateLayout layout = model.layout();
  detail::CountingSystem<Model> system{&model, &summary.rhs_evaluations};
  const Index n = x.size();
  State x_new(n), f_old(n), f_new(n), sample(n);  // the only allocations of a run
  double t = options.t0;
  double wall_before = 0.0;
  auto finish = [&](EndReason reason) {
    summary.end_reason = reason;
    summary.t = t;
    summary.wall_seconds =
        wall_before +
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return summary;
  };
  const bool sampling = sampler && options.sample_interval > 0.0;
  long next_sample = 0;  // index k of the next sample time t0 + k·h
  auto sample_time = [&](long k) { return options.t0 + k * options.sample_interval; };
  // Relative slack so that t = t_end (or a sample time) is reached despite rounding.
  const double t_eps = 1e-12 * std::max(1.0, std::abs(options.t_end));
  double dt = std::min(options.dt, options.dt_max);
  if (resume) {  // x is already the (renormalised) state of the checkpoint
    const IntegratorState& r = resume->state;
    t = r.t;
    dt = r.dt;
    summary.steps = r.steps;
    summary.rejected = r.rejected;
    summary.rhs_evaluations = r.rhs_evaluations;
    summary.max_norm_drift = r.max_norm_drift;
    next_sample = r.next_sample;
    wall_before = r.wall_seconds;
    f_old = resume->derivative;
  } else {
    summary.max_norm_drift = renormalize(layout, x);
    if (sampling && !sampler(sample_time(next_sample++), x)) return finish(EndReason::Interrupted);
    if (observer && !observer(t, x, StepInfo{0, 0.0, summary.max_norm_drift}))
      return finish(EndReason::Interrupted);
    system(x, f_old, t);
  }
  IntegratorState loop;

  odeint::euler<State, double, State, double, Algebra> euler;
  odeint::runge_kutta4<State, double, State, double, Algebra> rk4;
  using Dopri = odeint::runge_kutta_dopri5<State, double, State, double, Algebra>;
  using Fehlberg = odeint::runge_kutta_fehlberg78<State, double, State, double, Algebra>;
  auto dopri = odeint::make_controlled<Dopri>(options.atol, options.rtol);
  auto fehlberg = odeint::make_controlled<Fehlberg>(options.atol, options.rtol);

  const bool fixed = !is_adaptive(options.stepper);
  // Fixed steps: t = t0 + k·dt rather than t += dt, so rounding does not accumulate.
  // Counted in double: a count beyond 2^63 (t_end/dt absurdly large) must not wrap around.
  const double n_fixed =
      fixed ? std::max(1.0, std::ceil((options.t_end - options.t0) / options.dt - 1e-9)) : 0.0;
  // Fills `loop` with the integrator's state (what a checkpoint needs to continue from here).
  auto snapshot = [&]() -> const IntegratorState* {
    loop.t = t;
    loop.dt = dt;
    loop.steps = summary.steps;
    loop.rejected = summary.rejected;
    loop.rhs_evaluations = summary.rhs_evaluations;
    loop.next_sample = next_sample;
    loop.max_norm_drift = summary.max_norm_drift;
    loop.wall_seconds =
        wall_before +
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return &loop;
  };
  while (t < options.t_end - t_eps) {
    const double t_old = t, dt_old = dt;
    const long rhs_old = summary.rhs_evaluations;
    double h;
    bool f_new_valid = false;
    if (fixed) {
      const long k = summary.steps + 1;
      const double t_next =
          static_cast<double>(k) >= n_fixed ? options.t_end : options.t0 + k * options.dt;
      h = t_next - t;
      if (options.stepper == StepperKind::Rk4)
        rk4.do_step(system, x, f_old, t, x_new, h);
      else  // euler and the discrete AKOrN update (renormalised below like every step)
        euler.do_step(system, x, f_old, t, x_new, h);
      t = t_next;
    } else {
      h = std::min(dt, options.t_end - t);
      // Fehlberg has no continuous extension of its order: it steps onto the sample times.
      if (sampling && options.stepper == StepperKind::Rkf78 && sample_time(next_sample) > t + t_eps)
        h = std::min(h, sample_time(next_sample) - t);
      double h_try = h;
      odeint::controlled_step_result result;
      if (options.stepper == StepperKind::Dopri5) {
        result = dopri.try_step(system, x, f_old, t, x_new, f_new, h_try);
        f_new_valid = true;
      } else {
        result = fehlberg.try_step(system, x, f_old, t, x_new, h_try);
      }
      if (result == odeint::fail) {
        ++summary.rejected;
        dt = h_try;
        if (dt < options.dt_min || !std::isfinite(dt)) return finish(EndReason::StepCollapse);
        continue;
      }
      dt = std::min(h_try, options.dt_max);
    }
    if (!all_finite(x_new)) {
      t = t_old;
      return finish(EndReason::NonFinite);
    }
    ++summary.steps;
    for (; sampling && sample_time(next_sample) <= t + t_eps; ++next_sample) {
      const double ts = sample_time(next_sample);
      if (ts >= t - t_eps) {
        sample = x_new;  // a sample time on the step itself needs no interpolation
      } else if (options.stepper == StepperKind::Dopri5) {
        dopri.stepper().calc_state(ts, sample, x, f_old, t_old, x_new, f_new, t);
      } else {
        if (!f_new_valid) {
          system(x_new, f_new, t);
          f_new_valid = true;
        }
        hermite(std::clamp((ts - t_old) / h, 0.0, 1.0), h, x, f_old, x_new, f_new, sample);
      }
      renormalize(layout, sample);
      if (!sampler(ts, sample)) {
        // Stopped (a signal) inside a step that spans many samples: back to the step's start,
        // with the samples taken so far kept, so that retaking the step continues exactly.
        t = t_old;
        dt = dt_old;
        --summary.steps;
        summary.rhs_evaluations = rhs_old;
        if (observer) {
          StepInfo info{summary.steps, 0.0, 0.0, snapshot(), &f_old};
          info.repeat = true;
          observer(t, x, info);
        }
        return finish(EndReason::Interrupted);
      }
    }
    const double drift = renormalize(layout, x_new);
    summary.max_norm_drift = std::max(summary.max_norm_drift, drift);
    // The next step needs f at the stored (renormalised) state.
    if (!f_new_valid || drift > 0.0) system(x_new, f_new, t);
    x.swap(x_new);
    f_old.swap(f_new);
    if (observer && !observer(t, x, StepInfo{summary.steps, h, drift, snapshot(), &f_old}))
      return finish(EndReason::Interrupted);
    if (options.converged_tol > 0.0 && detail::inf_norm(f_old) < options.converged_tol)
      return finish(EndReason::Converged);
    if (summary.steps >= options.max_steps) return finish(EndReason::MaxSteps);
  }
  return finish(EndReason::TEnd);
}

}  // namespace hkam
