#pragma once
/// Lagrangians L(x) of the Hopfield network in Lagrangian form (see docs/models.md §1).
///
/// With gain β every separable Lagrangian is L_β(x) = β⁻¹ Σ ℓ(β x_i), so the activity is
/// g = ∇L = ℓ'(βx) and the Hessian is H = β diag(ℓ''(βx)):
///   tanh       ℓ(y) = log cosh y            g = tanh(βx)
///   sigmoid    ℓ(y) = softplus(y)           g = 1/(1 + e^{-βx})
///   relu       ℓ(y) = ½ relu(y)²            g = relu(βx)
/// The log-sum-exp Lagrangian of dense associative memory is not separable:
///   lse        L = β⁻¹ log Σ e^{βx_i}       g = softmax(βx),  H = β (diag(g) − g gᵀ).
/// All four are convex, so H is positive semi-definite, which is what makes E_H a Lyapunov
/// function.

#include <Eigen/Core>
#include <string>
#include <string_view>

namespace hkam {

enum class LagrangianKind { Tanh, Sigmoid, Relu, LogSumExp };

struct Lagrangian {
  LagrangianKind kind = LagrangianKind::Tanh;
  double beta = 1.0;  ///< gain β > 0

  /// Parses "tanh", "sigmoid", "relu" or "lse" (also "logsumexp", "softmax"); throws
  /// std::invalid_argument listing the valid names otherwise.
  static Lagrangian from_name(std::string_view name, double beta = 1.0);
  std::string_view name() const;

  /// L(x).
  double value(const Eigen::VectorXd& x) const;
  /// g = ∇L(x), written into g (sized by the caller; no allocation).
  void activation(const Eigen::VectorXd& x, Eigen::VectorXd& g) const;
  /// out = H(x) v with H = ∇²L(x); g must be activation(x). No allocation.
  void hessian_times(const Eigen::VectorXd& x, const Eigen::VectorXd& g, const Eigen::VectorXd& v,
                     Eigen::VectorXd& out) const;
  /// vᵀ H(x) v (≥ 0), without a temporary.
  double hessian_quadratic(const Eigen::VectorXd& x, const Eigen::VectorXd& g,
                           const Eigen::VectorXd& v) const;
  /// The dense Hessian (for tests and inspection).
  Eigen::MatrixXd hessian(const Eigen::VectorXd& x) const;
  bool separable() const { return kind != LagrangianKind::LogSumExp; }
};

}  // namespace hkam
