#pragma once
/// Continuous Hopfield network in Lagrangian form (Krotov–Hopfield), time constant 1.
///
///   dx/dt = W_s g(x) − x + b,              g = ∇L(x),  W_s = (W + Wᵀ)/2          (H1)
///   E_H(x) = (x − b)·g − L(x) − ½ gᵀ W_s g                                      (H2)
///   ∇E_H = −H(x) dx/dt,   dE_H/dt = −(dx/dt)ᵀ H (dx/dt) ≤ 0                       (H3)
///
/// W is always used symmetrised (the constructor stores W_s). Energy parts:
///   "conjugate"   x·g − L(x)      (the convex conjugate L*(g))
///   "bias"        −b·g
///   "interaction" −½ gᵀ W_s g
/// E_H is non-increasing for every convex L, i.e. all Lagrangians here. With relu it is bounded
/// below only when I − W_s is copositive; `lyapunov()` warns when that cannot be certified.

#include <Eigen/Core>
#include <vector>

#include "hkam/core.hpp"
#include "hkam/models/lagrangian.hpp"

namespace hkam {

class Rng;
struct HopfieldParams;

class Hopfield {
 public:
  Hopfield() = default;
  /// w: N×N (symmetrised here), b: N (empty means zero).
  Hopfield(const Eigen::MatrixXd& w, Eigen::VectorXd b, Lagrangian lagrangian);
  /// From plain parameters (models/params.hpp); throws std::invalid_argument with
  /// `params.validate()`'s text when they are invalid.
  explicit Hopfield(const HopfieldParams& params);
  /// The parameters (W as stored, i.e. symmetrised).
  HopfieldParams params() const;

  Index dim() const { return b_.size(); }
  StateLayout layout() const { return {dim(), 0, 0}; }
  const Eigen::MatrixXd& w_sym() const { return w_; }
  const Eigen::VectorXd& bias() const { return b_; }
  const Lagrangian& lagrangian() const { return lag_; }

  /// odeint System: dxdt = W_s g(x) − x + b. Allocates nothing.
  void operator()(const Eigen::VectorXd& x, Eigen::VectorXd& dxdt, double t) const;
  double energy(const Eigen::VectorXd& x) const;
  EnergyParts energy_parts(const Eigen::VectorXd& x) const;
  /// grad = ∇E_H(x) = H(x)(x − b − W_s g).
  void energy_gradient(const Eigen::VectorXd& x, Eigen::VectorXd& grad) const;
  Eigen::VectorXd energy_gradient(const Eigen::VectorXd& x) const;
  /// The right-hand side of (H3): −ẋᵀ H ẋ, what dE/dt must equal along the flow.
  double dissipation(const Eigen::VectorXd& x) const;
  Guarantee lyapunov() const;

 private:
  Eigen::MatrixXd w_;
  Eigen::VectorXd b_;
  Lagrangian lag_;
  // Workspace so that the right-hand side does not allocate. A model object is therefore not
  // safe to evaluate from two threads at once (each integration uses its own copy).
  mutable Eigen::VectorXd g_, wg_, tmp_;
};

/// Hebbian weights from P ±1 patterns (rows of `patterns`, P×N): W = (1/N) Σ_μ ξ^μ ξ^μᵀ, zero
/// diagonal.
Eigen::MatrixXd hebbian_weights(const Eigen::MatrixXd& patterns);
/// Symmetric random weights, entries N(0, scale²/N) off the diagonal, zero diagonal.
Eigen::MatrixXd random_symmetric_weights(Rng& rng, Index n, double scale = 1.0);
/// Hierarchical (layered) network as one symmetric block-tridiagonal matrix. `layers[l]` is
/// W^l of shape n_{l+1} × n_l, coupling layer l to layer l+1; the energy −Σ_l (g^{l+1})ᵀ W^l g^l
/// equals −½ gᵀ W_s g for the returned W_s. Throws std::invalid_argument on shape mismatch.
Eigen::MatrixXd hierarchical_weights(const std::vector<Eigen::MatrixXd>& layers);
/// Pattern overlaps m_μ = ξ^μ · sign(x) / N for every row ξ^μ of `patterns` (sign(0) = 0).
Eigen::VectorXd pattern_overlaps(const Eigen::MatrixXd& patterns, const Eigen::VectorXd& x);

}  // namespace hkam
