#pragma once
/// First-order optimisers on a flat parameter vector, with optax's update rules and defaults
/// (docs/training.md), and optax's exponential learning-rate decay.
///
/// ```cpp
/// hkam::OptimizerParams o;                   // Lion, β1 0.9, β2 0.99, no weight decay
/// hkam::Optimizer opt(o, theta.size());
/// for (long step = 0; …; ++step) {
///   grad = …;                                  // ∂L/∂θ
///   opt.update(theta, grad, o.learning_rate(step));
/// }
/// ```

#include <Eigen/Core>
#include <string>

namespace hkam {

struct OptimizerParams {
  enum class Kind { Lion, Adam } kind = Kind::Lion;
  double beta1 = 0.9;
  double beta2 = 0.99;  ///< Lion's default; Adam's is 0.999 (`defaults_for` sets it)
  double eps = 1e-8;    ///< Adam only
  double weight_decay = 0.0;
  double lr = 1e-4;         ///< initial learning rate
  double decay_rate = 1.0;  ///< lr · decay_rate^(step / decay_steps); 1: constant
  double decay_steps = 1000.0;

  /// optax's defaults for `kind` (β2 0.99 Lion, 0.999 Adam); the rest unchanged.
  static OptimizerParams defaults_for(Kind kind);
  /// The learning rate of update `step` (0 for the first): optax.exponential_decay, not staircase.
  double learning_rate(long step) const;
  std::string validate() const;
  static Kind kind_from_name(const std::string& name);  ///< "lion", "adam"
  static const char* name(Kind kind);
};

/// Optimiser state (first and second moments, update count) and the update rule.
/// Lion (optax.lion): u = sign(β1 m + (1 − β1) g), m ← β2 m + (1 − β2) g, θ ← θ − lr (u + wd θ).
/// Adam (optax.adam, plus decoupled weight decay when wd > 0, as optax.adamw):
/// m ← β1 m + (1 − β1) g, v ← β2 v + (1 − β2) g², θ ← θ − lr (m̂ / (√v̂ + ε) + wd θ) with
/// m̂ = m / (1 − β1ᵗ), v̂ = v / (1 − β2ᵗ), t the update count after incrementing.
class Optimizer {
 public:
  Optimizer(const OptimizerParams& params, Eigen::Index size);
  /// One update of `theta` (same size as at construction) with gradient `grad` and rate `lr`.
  void update(Eigen::Ref<Eigen::VectorXd> theta, const Eigen::Ref<const Eigen::VectorXd>& grad,
              double lr);

  const OptimizerParams& params() const { return p_; }
  long count() const { return count_; }
  /// The state, for checkpoints: restoring m, v and count continues bit-identically.
  Eigen::VectorXd& m() { return m_; }
  Eigen::VectorXd& v() { return v_; }  ///< empty for Lion
  const Eigen::VectorXd& m() const { return m_; }
  const Eigen::VectorXd& v() const { return v_; }
  void set_count(long c) { count_ = c; }

 private:
  OptimizerParams p_;
  Eigen::VectorXd m_, v_;
  long count_ = 0;
};

}  // namespace hkam
