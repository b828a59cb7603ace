#pragma once
// The integration loop behind hkam::simulate (included by integrate/simulate.hpp; not a public
// header of its own). One loop for every stepper category: fixed steps, controlled steps (with
// their rejected attempts) and dense-output steppers (which step on their own copy of the state).

#include <algorithm>
#include <boost/numeric/odeint.hpp>
#include <boost/numeric/odeint/external/eigen/eigen.hpp>
#include <chrono>
#include <cmath>
#include <concepts>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

// Eigen 3.4 gives matrices begin()/end() that only vectors may call, so odeint's range test takes
// a dynamic matrix (a batch state) for a range and its copy fails to compile: copy by assignment.
namespace boost::numeric::odeint {
template <class S, int O, int MR, int MC>
struct copy_impl_sfinae<Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, O, MR, MC>,
                        Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, O, MR, MC>, void> {
  using M = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, O, MR, MC>;
  static void copy(const M& from, M& to) { to = from; }
};
}  // namespace boost::numeric::odeint

namespace hkam::detail {

namespace odeint = boost::numeric::odeint;

/// SimulateOptions::validate for a stepper described by its category (src/integrate/simulate.cpp).
std::string validate_options(const SimulateOptions& options, bool adaptive, bool interpolant);

inline void check_options(const SimulateOptions& options, bool adaptive, bool interpolant) {
  const std::string problems = validate_options(options, adaptive, interpolant);
  if (!problems.empty()) throw std::invalid_argument("simulate: invalid options: " + problems);
}

/// What the loop needs to know of an odeint stepper, from its category.
template <class S>
struct stepper_traits {
  using type = std::decay_t<typename odeint::unwrap_reference<std::decay_t<S>>::type>;
  using category = typename type::stepper_category;
  using base = typename odeint::base_tag<category>::type;
  static constexpr bool error = std::is_base_of_v<odeint::error_stepper_tag, category>;
  static constexpr bool controlled = std::is_same_v<base, odeint::controlled_stepper_tag>;
  static constexpr bool dense = std::is_same_v<base, odeint::dense_output_stepper_tag>;
  static constexpr bool fixed = !error && !controlled && !dense;
  static constexpr bool adaptive = !fixed;
  /// FSAL error steppers (Dormand–Prince) carry a continuous extension of their order.
  static constexpr bool fsal =
      std::is_same_v<category, odeint::explicit_error_stepper_fsal_tag> ||
      std::is_same_v<category, odeint::explicit_controlled_stepper_fsal_tag>;
  static constexpr bool has_interpolant = dense || fsal;
};

/// An error stepper gets odeint's controller with the options' tolerances; others pass through.
template <class Stepper>
decltype(auto) prepare_stepper(Stepper&& stepper, const SimulateOptions& o) {
  if constexpr (stepper_traits<Stepper>::error) {
    using E = typename stepper_traits<Stepper>::type;
    const E& e = stepper;
    return odeint::make_controlled(o.atol, o.rtol, e);
  } else {
    return std::forward<Stepper>(stepper);
  }
}

template <class Model>
concept HasLayout = requires(const Model& m) {
  { m.layout() } -> std::convertible_to<StateLayout>;
};

template <class Model, class Spheres>
auto spheres_for(const Model& model, const Spheres& spheres) {
  if constexpr (!std::is_same_v<Spheres, DefaultSpheres>)
    return spheres;
  else if constexpr (HasLayout<Model>)
    return LayoutSpheres{model.layout()};
  else
    return NoSpheres{};
}

template <class Model, class State>
struct CountingSystem {
  const Model* model;
  long* count;
  void operator()(const State& x, State& dxdt, double t) const {
    ++*count;
    // Some odeint paths hand over a derivative that was never sized; resizing to the same size
    // is a no-op, so this allocates at most once per buffer.
    dxdt.resize(x.rows(), x.cols());
    (*model)(x, dxdt, t);
  }
};

template <class State>
double inf_norm(const State& v) {
  return v.size() ? v.cwiseAbs().maxCoeff() : 0.0;
}

/// One run of simulate(): the state, the options and the loop's counters.
template <class Model, class State, class Spheres>
class Loop {
 public:
  Loop(const Model& model, State& x, const SimulateOptions& options,
       const BasicObserver<State>& observer, const BasicSampler<State>& sampler,
       const Spheres& spheres)
      : o_(options),
        observer_(observer),
        sampler_(sampler),
        spheres_(spheres),
        x_(x),
        system_{&model, &summary_.rhs_evaluations},
        sampling_(sampler && options.sample_interval > 0.0),
        t_eps_(1e-12 * std::max(1.0, std::abs(options.t_end))) {
    x_new_ = x;  // the only allocations of a run: four states the size of x
    f_old_ = x;
    f_new_ = x;
    sample_ = x;
  }

  template <class Stepper>
  Summary run(Stepper&& stepper_arg, const BasicResume<State>* resume) {
    using Traits = stepper_traits<Stepper>;
    typename Traits::type& stepper = stepper_arg;
    t_ = o_.t0;
    dt_ = std::min(o_.dt, o_.dt_max);
    if (resume) {  // x is already the (renormalised) state of the checkpoint
      const IntegratorState& r = resume->state;
      t_ = r.t;
      dt_ = r.dt;
      summary_.steps = r.steps;
      summary_.rejected = r.rejected;
      summary_.rhs_evaluations = r.rhs_evaluations;
      summary_.max_norm_drift = r.max_norm_drift;
      next_sample_ = r.next_sample;
      wall_before_ = r.wall_seconds;
      f_old_ = resume->derivative;
    } else {
      summary_.max_norm_drift = spheres_(x_);
      if (sampling_ && !sampler_(sample_time(next_sample_++), x_))
        return finish(EndReason::Interrupted);
      if (observer_) {
        const Action a = observer_(t_, x_, BasicStepInfo<State>{0, 0.0, summary_.max_norm_drift});
        if (a.stop) return finish(a.reason);
      }
      if constexpr (!Traits::dense) system_(x_, f_old_, t_);
    }
    if constexpr (Traits::dense)
      return run_dense(stepper);
    else
      return run_stepwise<Traits>(stepper);
  }

 private:
  double sample_time(long k) const { return o_.t0 + k * o_.sample_interval; }

  Summary finish(EndReason reason) {
    summary_.end_reason = reason;
    summary_.t = t_;
    summary_.wall_seconds = wall_before_ + seconds_since_start();
    return summary_;
  }
  double seconds_since_start() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

  // Fills `loop_` with the integrator's state (what a checkpoint needs to continue from here).
  const IntegratorState* snapshot() {
    loop_.t = t_;
    loop_.dt = dt_;
    loop_.steps = summary_.steps;
    loop_.rejected = summary_.rejected;
    loop_.rhs_evaluations = summary_.rhs_evaluations;
    loop_.next_sample = next_sample_;
    loop_.max_norm_drift = summary_.max_norm_drift;
    loop_.wall_seconds = wall_before_ + seconds_since_start();
    return &loop_;
  }

  // After an accepted step to x_new_ (renormalised, with its derivative in f_new_ when
  // `derivative`): the observer, then the loop's own stop conditions. A reason to stop, if any.
  std::optional<EndReason> accepted(double h, double drift, bool derivative) {
    x_.swap(x_new_);
    f_old_.swap(f_new_);
    if (observer_) {
      const Action a = observer_(t_, x_,
                                 BasicStepInfo<State>{summary_.steps, h, drift, snapshot(),
                                                      derivative ? &f_old_ : nullptr});
      if (a.stop) return a.reason;
    }
    if (o_.converged_tol > 0.0 && inf_norm(f_old_) < o_.converged_tol) return EndReason::Converged;
    if (summary_.steps >= o_.max_steps) return EndReason::MaxSteps;
    return std::nullopt;
  }

  // Hands the samples up to t (since the last one) to the sampler; `interpolate(ts, out)` fills
  // one. False when the sampler stopped the run.
  template <class Interpolate>
  bool emit_samples(Interpolate&& interpolate) {
    for (; sampling_ && sample_time(next_sample_) <= t_ + t_eps_; ++next_sample_) {
      const double ts = sample_time(next_sample_);
      if (ts >= t_ - t_eps_)
        sample_ = x_new_;  // a sample time on the step itself needs no interpolation
      else
        interpolate(ts, sample_);
      spheres_(sample_);
      if (!sampler_(ts, sample_)) return false;
    }
    return true;
  }

  template <class Traits, class Stepper>
  Summary run_stepwise(Stepper& stepper) {
    // Fixed steps: t = t0 + k·dt rather than t += dt, so rounding does not accumulate.
    // Counted in double: a count beyond 2^63 (t_end/dt absurdly large) must not wrap around.
    const double n_fixed =
        Traits::fixed ? std::max(1.0, std::ceil((o_.t_end - o_.t0) / o_.dt - 1e-9)) : 0.0;
    const Sampling mode = o_.sampling != Sampling::Auto ? o_.sampling
                          : Traits::fixed               ? Sampling::Hermite
                          : Traits::has_interpolant     ? Sampling::Stepper
                                                        : Sampling::OnSteps;
    while (t_ < o_.t_end - t_eps_) {
      const double t_old = t_, dt_old = dt_;
      const long rhs_old = summary_.rhs_evaluations;
      double h;
      bool f_new_valid = false;
      if constexpr (Traits::fixed) {
        const long k = summary_.steps + 1;
        const double t_next = static_cast<double>(k) >= n_fixed ? o_.t_end : o_.t0 + k * o_.dt;
        h = t_next - t_;
        stepper.do_step(system_, x_, f_old_, t_, x_new_, h);
        t_ = t_next;
      } else {
        h = std::min(dt_, o_.t_end - t_);
        if (sampling_ && mode == Sampling::OnSteps && sample_time(next_sample_) > t_ + t_eps_)
          h = std::min(h, sample_time(next_sample_) - t_);
        double h_try = h;
        odeint::controlled_step_result result;
        if constexpr (Traits::fsal) {
          result = stepper.try_step(system_, x_, f_old_, t_, x_new_, f_new_, h_try);
          f_new_valid = true;
        } else {
          result = stepper.try_step(system_, x_, f_old_, t_, x_new_, h_try);
        }
        if (result == odeint::fail) {
          ++summary_.rejected;
          dt_ = h_try;
          if (dt_ < o_.dt_min || !std::isfinite(dt_)) return finish(EndReason::StepCollapse);
          continue;
        }
        dt_ = std::min(h_try, o_.dt_max);  // try_step advanced t_ by h
      }
      if (!x_new_.allFinite()) {
        t_ = t_old;
        return finish(EndReason::NonFinite);
      }
      ++summary_.steps;
      const bool sampled = emit_samples([&](double ts, State& out) {
        if constexpr (Traits::has_interpolant) {
          if (mode == Sampling::Stepper) {
            stepper.stepper().calc_state(ts, out, x_, f_old_, t_old, x_new_, f_new_, t_);
            return;
          }
        }
        if (!f_new_valid) {
          system_(x_new_, f_new_, t_);
          f_new_valid = true;
        }
        hermite(std::clamp((ts - t_old) / h, 0.0, 1.0), h, x_, f_old_, x_new_, f_new_, out);
      });
      if (!sampled) {
        // Stopped (a signal) inside a step that spans many samples: back to the step's start,
        // with the samples taken so far kept, so that retaking the step continues exactly.
        t_ = t_old;
        dt_ = dt_old;
        --summary_.steps;
        summary_.rhs_evaluations = rhs_old;
        if (observer_) {
          BasicStepInfo<State> info{summary_.steps, 0.0, 0.0, snapshot(), &f_old_};
          info.repeat = true;
          observer_(t_, x_, info);
        }
        return finish(EndReason::Interrupted);
      }
      const double drift = spheres_(x_new_);
      summary_.max_norm_drift = std::max(summary_.max_norm_drift, drift);
      // The next step needs f at the stored (renormalised) state.
      if (!f_new_valid || drift > 0.0) system_(x_new_, f_new_, t_);
      if (const auto stop = accepted(h, drift, true)) return finish(*stop);
    }
    return finish(EndReason::TEnd);
  }

  // Dense-output steppers keep their own state: they are re-initialised from x whenever
  // renormalising changed it and interpolate the samples themselves. Their step bound is their
  // own (odeint's max_dt when constructing them): options.dt_max does not reach them.
  template <class Stepper>
  Summary run_dense(Stepper& stepper) {
    stepper.initialize(x_, t_, dt_);
    while (t_ < o_.t_end - t_eps_) {
      const double t_old = t_;
      std::pair<double, double> span;
      try {
        span = stepper.do_step(system_);
      } catch (const std::runtime_error&) {  // odeint gives up after 500 rejected attempts
        return finish(EndReason::StepCollapse);
      }
      const bool cut = span.second > o_.t_end;
      t_ = cut ? o_.t_end : span.second;
      const double h = t_ - t_old;
      if (cut)
        stepper.calc_state(t_, x_new_);
      else
        x_new_ = stepper.current_state();
      if (!x_new_.allFinite()) {
        t_ = t_old;
        return finish(EndReason::NonFinite);
      }
      ++summary_.steps;
      if (!emit_samples([&](double ts, State& out) { stepper.calc_state(ts, out); }))
        return finish(EndReason::Interrupted);
      const double drift = spheres_(x_new_);
      summary_.max_norm_drift = std::max(summary_.max_norm_drift, drift);
      dt_ = stepper.current_time_step();
      if (dt_ < o_.dt_min || !std::isfinite(dt_)) return finish(EndReason::StepCollapse);
      if (drift > 0.0) stepper.initialize(x_new_, t_, dt_);
      if (o_.converged_tol > 0.0) system_(x_new_, f_new_, t_);
      if (const auto stop = accepted(h, drift, false)) return finish(*stop);
    }
    return finish(EndReason::TEnd);
  }

  const SimulateOptions& o_;
  const BasicObserver<State>& observer_;
  const BasicSampler<State>& sampler_;
  const Spheres& spheres_;
  State& x_;
  Summary summary_;
  CountingSystem<Model, State> system_;
  State x_new_, f_old_, f_new_, sample_;
  IntegratorState loop_;
  const bool sampling_;
  const double t_eps_;  // relative slack so that t_end (or a sample time) is reached
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  double t_ = 0.0, dt_ = 0.0, wall_before_ = 0.0;
  long next_sample_ = 0;
};

}  // namespace hkam::detail
