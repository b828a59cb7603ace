#pragma once
/// One entry point to integrate any hkam model: `simulate(model, x, options, observer)`.
///
/// Steppers come from Boost.Odeint over Eigen vectors: explicit Euler and RK4 with a fixed step,
/// Dormand–Prince 5(4) (the default) and Runge–Kutta–Fehlberg 7(8) with error control. After every
/// accepted step the oscillators (`model.layout()`) are put back on their spheres; the largest
/// norm drift seen before renormalising is reported. When a step changed the state by
/// renormalising, the FSAL derivative of Dormand–Prince is recomputed, so the next step starts
/// from the true derivative of the state actually stored.
///
/// The observer sees the initial state and the state after *every* accepted step. It returns
/// `true` to continue and `false` to stop the run (end reason `interrupted`).

#include <Eigen/Core>
#include <boost/numeric/odeint.hpp>
#include <boost/numeric/odeint/external/eigen/eigen.hpp>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <string_view>

#include "hkam/core.hpp"

namespace hkam {

enum class StepperKind { Euler, Rk4, Dopri5, Rkf78 };
enum class EndReason { TEnd, Converged, MaxSteps, StepCollapse, NonFinite, Interrupted };

/// "euler", "rk4", "dopri5", "rkf78"; throws std::invalid_argument otherwise.
StepperKind stepper_from_name(std::string_view name);
std::string_view stepper_name(StepperKind kind);
std::string_view end_reason_name(EndReason reason);

struct SimulateOptions {
  StepperKind stepper = StepperKind::Dopri5;
  double t0 = 0.0;
  double t_end = 1.0;
  double dt = 1e-2;  ///< fixed step (euler, rk4) or initial step (adaptive)
  double dt_max = std::numeric_limits<double>::infinity();  ///< adaptive steppers only
  double dt_min = 1e-12;  ///< an adaptive step below this ends the run (step collapse)
  double rtol = 1e-8;
  double atol = 1e-10;
  long max_steps = 100'000'000;  ///< budget of accepted steps
  /// Stop with `converged` once ‖dx/dt‖∞ < converged_tol after a step (0 switches it off).
  double converged_tol = 0.0;
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

using Observer = std::function<bool(double t, const Eigen::VectorXd& x)>;

/// Puts every oscillator of `layout` back on its sphere; returns the largest |‖σ_i‖ − 1| seen.
double renormalize(const StateLayout& layout, Eigen::VectorXd& x);
/// True when every entry is finite.
bool all_finite(const Eigen::VectorXd& x);

namespace detail {

template <class Model>
struct CountingSystem {
  const Model* model;
  long* count;
  void operator()(const Eigen::VectorXd& x, Eigen::VectorXd& dxdt, double t) const {
    ++*count;
    // Some odeint paths (FSAL initialize) hand over a derivative that was never sized; resizing
    // to the same size is a no-op, so this allocates at most once per buffer.
    dxdt.resize(x.size());
    (*model)(x, dxdt, t);
  }
};

inline double inf_norm(const Eigen::VectorXd& v) {
  return v.size() ? v.cwiseAbs().maxCoeff() : 0.0;
}

}  // namespace detail

/// Integrates `model` from x (updated in place) according to `options`. Never throws for a
/// numerical failure: the Summary's end reason says how the run ended.
template <class Model>
Summary simulate(const Model& model, Eigen::VectorXd& x, const SimulateOptions& options,
                 const Observer& observer = {}) {
  namespace odeint = boost::numeric::odeint;
  using State = Eigen::VectorXd;
  const auto start = std::chrono::steady_clock::now();
  Summary summary;
  const StateLayout layout = model.layout();
  detail::CountingSystem<Model> system{&model, &summary.rhs_evaluations};
  State dxdt(x.size());
  double t = options.t0;
  summary.max_norm_drift = renormalize(layout, x);
  auto finish = [&](EndReason reason) {
    summary.end_reason = reason;
    summary.t = t;
    summary.wall_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return summary;
  };
  if (observer && !observer(t, x)) return finish(EndReason::Interrupted);
  // Relative slack so that t = t_end is reached despite rounding in t += dt.
  const double t_eps = 1e-12 * std::max(1.0, std::abs(options.t_end));
  auto after_step = [&](bool& stop, EndReason& why) {
    ++summary.steps;
    const double drift = renormalize(layout, x);
    summary.max_norm_drift = std::max(summary.max_norm_drift, drift);
    if (!all_finite(x)) {
      stop = true;
      why = EndReason::NonFinite;
      return drift;
    }
    if (observer && !observer(t, x)) {
      stop = true;
      why = EndReason::Interrupted;
      return drift;
    }
    if (options.converged_tol > 0.0) {
      system(x, dxdt, t);
      if (detail::inf_norm(dxdt) < options.converged_tol) {
        stop = true;
        why = EndReason::Converged;
      }
    }
    if (!stop && summary.steps >= options.max_steps) {
      stop = true;
      why = EndReason::MaxSteps;
    }
    return drift;
  };

  bool stop = false;
  EndReason why = EndReason::TEnd;
  if (options.stepper == StepperKind::Euler || options.stepper == StepperKind::Rk4) {
    odeint::euler<State, double, State, double, odeint::vector_space_algebra> euler;
    odeint::runge_kutta4<State, double, State, double, odeint::vector_space_algebra> rk4;
    // t = t0 + n·dt rather than t += dt, so rounding does not accumulate over many steps.
    const long n_steps = std::max(
        1L, static_cast<long>(std::ceil((options.t_end - options.t0) / options.dt - 1e-9)));
    for (long n = 0; n < n_steps && !stop; ++n) {
      const double t_next = n + 1 == n_steps ? options.t_end : options.t0 + (n + 1) * options.dt;
      const double h = t_next - t;
      if (options.stepper == StepperKind::Euler)
        euler.do_step(system, x, t, h);
      else
        rk4.do_step(system, x, t, h);
      t = t_next;
      after_step(stop, why);
    }
    return finish(stop ? why : EndReason::TEnd);
  }

  auto adaptive_loop = [&]<bool kFsal>(auto& stepper) {
    double dt = std::min(options.dt, options.dt_max);
    if constexpr (kFsal) stepper.initialize(system, x, t);
    while (!stop && t < options.t_end - t_eps) {
      double h = std::min(dt, options.t_end - t);
      const auto result = stepper.try_step(system, x, t, h);
      if (result == odeint::fail) {
        ++summary.rejected;
        dt = h;
        if (dt < options.dt_min || !std::isfinite(dt)) return EndReason::StepCollapse;
        continue;
      }
      dt = std::min(h, options.dt_max);
      const double drift = after_step(stop, why);
      if (stop) return why;
      if constexpr (kFsal)
        if (drift > 0.0) stepper.initialize(system, x, t);
    }
    return EndReason::TEnd;
  };

  EndReason end;
  if (options.stepper == StepperKind::Dopri5) {
    using Error =
        odeint::runge_kutta_dopri5<State, double, State, double, odeint::vector_space_algebra>;
    auto stepper = odeint::make_controlled<Error>(options.atol, options.rtol);
    end = adaptive_loop.template operator()<true>(stepper);
  } else {
    using Error =
        odeint::runge_kutta_fehlberg78<State, double, State, double, odeint::vector_space_algebra>;
    auto stepper = odeint::make_controlled<Error>(options.atol, options.rtol);
    end = adaptive_loop.template operator()<false>(stepper);
  }
  return finish(end);
}

}  // namespace hkam
