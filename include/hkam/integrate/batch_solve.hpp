#pragma once
/// Batched explicit Runge–Kutta solves of a `BatchModel` and reverse-mode gradients through them
/// (discretise-then-optimise: the exact gradient of the computed solution; docs/gradients.md).
///
/// Steppers: Euler, RK4 (fixed step), the AKOrN update (Euler then renormalise, step γ = dt) and
/// Dormand–Prince 5(4) with error control. After every step the oscillators are renormalised
/// (`normalize`, always on for `akorn`); the gradient differentiates that projection.
///
/// **One step size for the whole batch.** The error of a step is the largest over the batch of
/// each trajectory's RMS norm of err_k / (atol + rtol·max(|z_k|, |z'_k|)) (SciPy's solve_ivp
/// norm per trajectory), so every trajectory is solved at least as accurately as alone; the
/// step controller and the first step are SciPy's (safety 0.9, factor in [0.2, 10], Hairer's
/// initial-step rule). A batch therefore takes the steps its hardest member needs.
///
/// **Tape.** With a tape, the forward solve stores the state at the start of every accepted step
/// and its size: O(steps × B × dim) numbers. The backward pass replays each accepted step
/// (recomputing its stages: s right-hand sides) and applies the stages' VJPs in reverse;
/// rejected attempts contribute nothing. With `tape.keep_stages` the forward solve also keeps
/// every accepted step's stage derivatives and one number per oscillator and stage (s + 1 times
/// the memory, plus s·B·M numbers per step), and the backward pass replays nothing: each stage's
/// forward quantities are restored from them (BatchModel::restore). Both give the same gradient
/// to rounding. `steps` in the options replays a given step sequence (finite-difference checks,
/// bit-for-bit reruns).

#include <functional>
#include <string>
#include <vector>

#include "hkam/integrate/simulate.hpp"
#include "hkam/models/batch.hpp"

namespace hkam {

struct BatchSolveOptions {
  StepperKind stepper = StepperKind::Dopri5;  ///< euler, rk4, akorn or dopri5
  double t0 = 0.0;
  double t_end = 1.0;
  double dt = 0.0;  ///< fixed steppers: step (the last is shortened to hit t_end); dopri5: first
                    ///< step (0: chosen automatically)
  double rtol = 1e-3;
  double atol = 1e-6;
  double dt_min = 1e-12;  ///< an adaptive step below this ends the solve (step collapse)
  long max_steps = 1'000'000;
  bool normalize = true;      ///< renormalise the oscillators after every step
  std::vector<double> steps;  ///< when not empty: exactly these step sizes, no control

  /// Empty when valid; otherwise every problem, separated by "; ".
  std::string validate() const;
};

/// What a solve stored for its backward pass. Reused across solves: its matrices are kept, so a
/// training loop allocates the tape once.
template <class T>
struct BatchTape {
  /// Set before the solve: keep the stages too, so that the backward pass recomputes nothing
  /// (memory × (s + 1); see above).
  bool keep_stages = false;
  std::vector<double> h;               ///< accepted step sizes (one per step)
  std::vector<BatchMatrix<T>> starts;  ///< starts[k]: state at the start of step k (k < steps())
  BatchMatrix<T> end;                  ///< state after the last accepted step
  /// With keep_stages: k[step][s] the stage derivatives, radial[step][s] σ_i·y_i (B×M) of each.
  std::vector<std::vector<BatchMatrix<T>>> k, radial;
  bool stages_kept = false;  ///< set by the solve (keep_stages at its start)
  long steps() const { return long(h.size()); }
  /// Whether the backward pass can use kept stages: the last solve on this tape kept them.
  bool has_stages() const { return stages_kept && k.size() >= h.size(); }
  void clear() {
    h.clear();
    stages_kept = keep_stages;
  }
  void push(double step, const BatchMatrix<T>& z) {
    if (starts.size() <= h.size()) starts.emplace_back();
    starts[h.size()] = z;
    h.push_back(step);
  }
  /// Bytes held by the stored states and stages (the memory cost of the gradient).
  double bytes() const {
    double n = double(steps() + 1) * double(end.size());
    if (has_stages())
      for (std::size_t q = 0; q < h.size(); ++q)
        for (std::size_t s = 0; s < k[q].size(); ++s)
          n += double(k[q][s].size()) + double(radial[q][s].size());
    return n * double(sizeof(T));
  }
};

/// Buffers of a solve and of its backward pass (stage derivatives and states, one model workspace
/// per stage). Sized on first use for a batch and reused: solves allocate nothing after that.
template <class T>
struct BatchSolveWorkspace {
  BatchWorkspace<T> model;                  ///< for the forward solve
  std::vector<BatchWorkspace<T>> stage;     ///< backward pass: stage s's forward quantities
  std::vector<BatchMatrix<T>> k, zs, zbar;  ///< stage derivatives, stage states, their adjoints
  std::vector<BatchMatrix<T>> radial;       ///< σ_i·y_i of each stage (tapes keeping stages)
  BatchMatrix<T> znew, err, kbar;
  EdgeGradientSlots edges;  ///< backward pass: per-edge gradients, gathered once at the end
};

struct BatchSolveSummary {
  EndReason end_reason = EndReason::TEnd;
  double t = 0.0;
  long steps = 0;  ///< accepted
  long rejected = 0;
  long evaluations = 0;  ///< right-hand side evaluations (each of the whole batch)
};

/// Called with (t, Z) at t0 and after every accepted step; returns an Action as simulate()'s
/// observers do (continue, or stop with a reason; `false` stops with `interrupted`), so the
/// stop conditions of observe/stop_conditions.hpp work here too.
template <class T>
using BatchObserver = std::function<Action(double, const BatchMatrix<T>&)>;

/// Integrates every row of z from t0 to t_end in place. Throws std::invalid_argument when the
/// options are invalid or z is not B×dim.
template <class T>
BatchSolveSummary solve(const BatchModel<T>& model, BatchMatrix<T>& z,
                        const BatchSolveOptions& options, BatchSolveWorkspace<T>& ws,
                        BatchTape<T>* tape = nullptr, const BatchObserver<T>& observer = {});

/// Called in the backward pass at every accepted step boundary k (0 … steps; state z_k) to add a
/// loss's ∂L/∂z_k to lambda (losses at intermediate times). May be empty.
template <class T>
using StepLoss = std::function<void(long, const BatchMatrix<T>&, BatchMatrix<T>&)>;

/// Reverse pass: given ∂L/∂z(t_end) in `lambda` (B×dim), leaves ∂L/∂z(t0) in `lambda` and adds
/// ∂L/∂θ (summed over the batch) to `grad`. `options` must be those of the forward solve.
template <class T>
void solve_backward(const BatchModel<T>& model, const BatchTape<T>& tape,
                    const BatchSolveOptions& options, BatchMatrix<T>& lambda,
                    BatchSolveWorkspace<T>& ws, HkGradient& grad,
                    const StepLoss<T>& step_loss = {});

}  // namespace hkam
