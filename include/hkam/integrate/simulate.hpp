#pragma once
/// One entry point to integrate any hkam model: `simulate(model, x, options, observer, sampler)`,
/// or `simulate(model, x, stepper, options, …)` with any Boost.Odeint stepper.
///
/// **State.** One trajectory is an `Eigen::VectorXd`; a batch of B trajectories of the same model
/// is an `Eigen::MatrixXd` with one trajectory per row (the layout of `BatchModel`, see
/// `BatchRhs` in models/batch.hpp). A batch shares one step size: odeint's error norm is the
/// largest error entry of the whole matrix, i.e. the maximum over the batch of each
/// trajectory's own error norm, so every trajectory meets the tolerance.
///
/// **Steppers** are dispatched on odeint's stepper categories, as odeint's own integrate
/// functions do: a plain stepper (`stepper_tag`: euler, rk4, …) takes fixed steps; an error
/// stepper (`error_stepper_tag`, e.g. runge_kutta_cash_karp54) is wrapped in odeint's
/// controller with the options' atol/rtol; a controlled stepper (`controlled_stepper_tag`) steps
/// adaptively and its rejected attempts are counted; a dense-output stepper
/// (`dense_output_stepper_tag`) steps adaptively and samples from its own interpolant (its
/// rejected attempts are internal to odeint and not counted). The `StepperKind` overload picks
/// euler, rk4, the discrete AKOrN update (Euler with step γ, then renormalise), controlled
/// Dormand–Prince 5(4) (the default) or Fehlberg 7(8).
///
/// **Policies.** After every accepted step the sphere policy puts the oscillators back on their
/// spheres and returns the drift it corrected: `LayoutSpheres` (from `model.layout()`, for a
/// single state and for the rows of a batch; the default when the model has a layout) or
/// `NoSpheres`. When renormalising changed the state, the derivative at the stored state is
/// recomputed (FSAL steppers would otherwise start the next step from a stale derivative).
/// Sampling (`options.sample_interval > 0`) follows `options.sampling`: the stepper's own
/// continuous extension (Dormand–Prince, dense-output steppers), cubic Hermite interpolation
/// between accepted steps (exact at step times; the default for fixed steps), or steps shortened
/// to land on the sample times (the default for controlled steppers without an interpolant,
/// e.g. Fehlberg 7(8)). Interpolated oscillators are renormalised.
///
/// **Observers** see the initial state and the state after every accepted step and return an
/// `Action`: continue, or stop with a reason (`Action::stop_with(EndReason::EnergyPlateau)`; a
/// plain `false` stops with `interrupted`). Stop conditions that users combine (energy plateau,
/// order-parameter threshold) are in observe/stop_conditions.hpp. The sampler returns false to
/// stop (interrupted) inside a step that spans many samples.

#include <Eigen/Core>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

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

/// How samples between accepted steps are produced (see the file comment).
enum class Sampling {
  Auto,     ///< the stepper's interpolant if it has one, else Hermite (fixed) / OnSteps (adaptive)
  Hermite,  ///< cubic Hermite between accepted steps (one extra derivative per sampled step)
  Stepper,  ///< the stepper's own continuous extension (dopri5, dense-output steppers)
  OnSteps,  ///< adaptive steps shortened to land on the sample times
};

struct SimulateOptions {
  StepperKind stepper = StepperKind::Dopri5;  ///< used by the StepperKind overload only
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
  Sampling sampling = Sampling::Auto;

  /// Every problem with these options, joined by "; " ("" when they are valid), for the stepper
  /// named by `stepper`: finite t0 < t_end; a finite dt > 0; for adaptive steppers finite
  /// rtol, atol ≥ 0 (not both 0) and 0 < dt_min ≤ dt_max; max_steps ≥ 1; a finite
  /// converged_tol ≥ 0 and sample_interval ≥ 0; a sampling mode the stepper supports (`Stepper`
  /// needs an interpolant, `OnSteps` error control). simulate() throws std::invalid_argument
  /// with this text; the config layer checks the same with key names and lines.
  std::string validate() const;
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

/// What an observer asks the loop to do after it has seen a state.
struct Action {
  bool stop = false;
  EndReason reason = EndReason::Interrupted;  ///< the run's end reason when `stop`
  constexpr Action() = default;
  /// `true` continues, `false` stops with `interrupted` (observers written as predicates).
  constexpr Action(bool proceed) : stop(!proceed) {}  // NOLINT(google-explicit-constructor)
  static constexpr Action proceed() { return {}; }
  static constexpr Action stop_with(EndReason why) {
    Action a;
    a.stop = true;
    a.reason = why;
    return a;
  }
};

/// What the observer learns about the step just accepted (step 0 is the initial state).
template <class State>
struct BasicStepInfo {
  long step = 0;
  double dt = 0.0;     ///< size of the step just taken
  double drift = 0.0;  ///< max |‖σ_i‖ − 1| before renormalising after it
  /// The loop's state after this step and f(x) at it: what a checkpoint stores (null at step 0,
  /// and `derivative` is null with dense-output steppers, which keep it to themselves).
  const IntegratorState* state = nullptr;
  const State* derivative = nullptr;
  /// Set when the sampler stopped the run inside a step: the observer sees the state before that
  /// step once more (with `state` positioned to retake it, for a checkpoint); not a new step.
  bool repeat = false;
};

/// Where simulate() continues from: the state x (passed as simulate's x), its derivative, and the
/// loop state, as captured from the step info after an accepted step.
template <class State>
struct BasicResume {
  IntegratorState state;
  State derivative;
};

template <class State>
using BasicObserver = std::function<Action(double t, const State& x, const BasicStepInfo<State>&)>;
template <class State>
using BasicSampler = std::function<bool(double t, const State& x)>;

using StepInfo = BasicStepInfo<Eigen::VectorXd>;
using Resume = BasicResume<Eigen::VectorXd>;
using Observer = BasicObserver<Eigen::VectorXd>;
using Sampler = BasicSampler<Eigen::VectorXd>;

/// Puts every oscillator of `layout` back on its sphere; returns the largest |‖σ_i‖ − 1| seen.
double renormalize(const StateLayout& layout, Eigen::VectorXd& x);
/// The same for every row of a batch (B × layout.size(), one trajectory per row).
double renormalize(const StateLayout& layout, Eigen::MatrixXd& batch);
/// True when every entry is finite.
bool all_finite(const Eigen::VectorXd& x);

/// Sphere policy of a model with a StateLayout: renormalises a single state or a batch.
struct LayoutSpheres {
  StateLayout layout;
  double operator()(Eigen::VectorXd& x) const { return renormalize(layout, x); }
  double operator()(Eigen::MatrixXd& z) const { return renormalize(layout, z); }
};
/// Sphere policy of a model without oscillators (or a user who renormalises elsewhere).
struct NoSpheres {
  template <class State>
  double operator()(State&) const {
    return 0.0;
  }
};
/// Picks LayoutSpheres{model.layout()} when the model has a layout, NoSpheres otherwise.
struct DefaultSpheres {};

/// Cubic Hermite interpolation at θ ∈ [0, 1] between (x0, f0) and (x1, f1) over a step h.
template <class State>
void hermite(double theta, double h, const State& x0, const State& f0, const State& x1,
             const State& f1, State& out) {
  const double t2 = theta * theta, t3 = t2 * theta;
  const double h00 = 2 * t3 - 3 * t2 + 1, h10 = t3 - 2 * t2 + theta, h01 = -2 * t3 + 3 * t2,
               h11 = t3 - t2;
  out = h00 * x0 + (h10 * h) * f0 + h01 * x1 + (h11 * h) * f1;
}

}  // namespace hkam

#include "hkam/integrate/detail/simulate_loop.hpp"

namespace hkam {

/// Integrates `model` from x (updated in place) with an odeint `stepper` (taken by value or as
/// std::ref) according to `options` (whose `stepper` field is ignored). `model(x, dxdt, t)`
/// evaluates the right-hand side. Throws std::invalid_argument for invalid options; never throws
/// for a numerical failure: the Summary's end reason says how the run ended. A step whose result
/// is not finite is not taken: x stays the last finite state and the run ends with `non_finite`.
template <class Model, class State, class Stepper, class Spheres = DefaultSpheres>
requires(!std::is_same_v<std::decay_t<Stepper>, SimulateOptions>) Summary
    simulate(const Model& model, State& x, Stepper&& stepper, const SimulateOptions& options,
             const std::type_identity_t<BasicObserver<State>>& observer = {},
             const std::type_identity_t<BasicSampler<State>>& sampler = {},
             const std::type_identity_t<BasicResume<State>>* resume = nullptr,
             Spheres spheres = {}) {
  detail::check_options(options, detail::stepper_traits<Stepper>::adaptive,
                        detail::stepper_traits<Stepper>::has_interpolant);
  auto&& policy = detail::spheres_for(model, spheres);
  detail::Loop<Model, State, std::decay_t<decltype(policy)>> loop(model, x, options, observer,
                                                                  sampler, policy);
  return loop.run(detail::prepare_stepper(std::forward<Stepper>(stepper), options), resume);
}

/// Integrates `model` from x with the stepper named by `options.stepper`.
template <class Model, class State>
Summary simulate(const Model& model, State& x, const SimulateOptions& options,
                 const std::type_identity_t<BasicObserver<State>>& observer = {},
                 const std::type_identity_t<BasicSampler<State>>& sampler = {},
                 const std::type_identity_t<BasicResume<State>>* resume = nullptr) {
  namespace odeint = boost::numeric::odeint;
  using Algebra = odeint::vector_space_algebra;
  switch (options.stepper) {
    case StepperKind::Euler:
    case StepperKind::Akorn:  // Euler with step γ; every step is renormalised
      return simulate(model, x, odeint::euler<State, double, State, double, Algebra>{}, options,
                      observer, sampler, resume);
    case StepperKind::Rk4:
      return simulate(model, x, odeint::runge_kutta4<State, double, State, double, Algebra>{},
                      options, observer, sampler, resume);
    case StepperKind::Dopri5:
      return simulate(model, x, odeint::runge_kutta_dopri5<State, double, State, double, Algebra>{},
                      options, observer, sampler, resume);
    case StepperKind::Rkf78:
      return simulate(model, x,
                      odeint::runge_kutta_fehlberg78<State, double, State, double, Algebra>{},
                      options, observer, sampler, resume);
  }
  throw std::invalid_argument("simulate: unknown stepper kind");
}

}  // namespace hkam
