#pragma once
/// AKOrN-form Kuramoto model: the continuous-time system behind the AKOrN layer (docs/models.md
/// §3).
///
///   dσ_i/dt = Ω_i σ_i + P_{σ_i}( c_i + Σ_j J_ij σ_j )                   (A1)
///   E(Σ)    = −½ Σ_ij σ_iᵀ J_ij σ_j − Σ_i c_iᵀ σ_i                        (A2, the true energy)
///   e(Σ)    = −Σ_i σ_i · (J σ + c)_i                                      (A3, the reference's
///   proxy)
///
/// J is one dense (M·D)×(M·D) matrix whose D×D block (i, j) is J_ij; it is not symmetrised.
/// Ω_i are per-oscillator D×D skew matrices (AKOrN's "natural frequencies"). (A2) is
/// non-increasing along (A1) when J is symmetric, all Ω_i equal one Ω that commutes with every
/// block J_ij, and Ω c_i = 0 — in particular for symmetric J and Ω = 0. The proxy (A3) is what the
/// reference code logs per step: no ½ and J used as given, so it is not a Lyapunov function even
/// when (A2) is. With `project = false` the tangent projection is switched off (as the reference
/// allows); the flow then leaves the sphere and is not a gradient flow.

#include <Eigen/Core>
#include <vector>

#include "hkam/core.hpp"

namespace hkam {

class AkornKuramoto {
 public:
  AkornKuramoto() = default;
  /// j: (M·D)×(M·D); c: M×D (empty = 0); omegas: M skew D×D matrices, or one shared, or none.
  AkornKuramoto(Index n_osc, Index osc_dim, Eigen::MatrixXd j, Eigen::MatrixXd c = {},
                const std::vector<Eigen::MatrixXd>& omegas = {}, bool project = true);

  Index dim() const { return m_ * d_; }
  StateLayout layout() const { return {0, m_, d_}; }
  const Eigen::MatrixXd& coupling() const { return j_; }
  const Eigen::MatrixXd& stimulus() const { return c_; }
  bool project() const { return project_; }
  /// Ω_i side by side (D × M·D); empty for Ω = 0.
  const Eigen::MatrixXd& omegas() const { return omegas_; }

  void operator()(const Eigen::VectorXd& sigma, Eigen::VectorXd& dsdt, double t) const;
  /// True energy (A2).
  double energy(const Eigen::VectorXd& sigma) const;
  /// Parts: "coupling" −½σᵀJσ and "stimulus" −c·σ.
  EnergyParts energy_parts(const Eigen::VectorXd& sigma) const;
  /// The reference's per-step proxy (A3).
  double proxy_energy(const Eigen::VectorXd& sigma) const;
  /// ∇E = −(J_s σ + c), J_s = (J + Jᵀ)/2.
  void energy_gradient(const Eigen::VectorXd& sigma, Eigen::VectorXd& grad) const;
  Eigen::VectorXd energy_gradient(const Eigen::VectorXd& sigma) const;
  /// −Σ_i ‖P_{σ_i} ∇_{σ_i} E‖², what dE/dt equals when the guarantee holds.
  double dissipation(const Eigen::VectorXd& sigma) const;
  Guarantee lyapunov() const;

 private:
  Index m_ = 0, d_ = 0;
  Eigen::MatrixXd j_;
  Eigen::MatrixXd c_;       // M×D
  Eigen::VectorXd c_flat_;  // row-major c
  Eigen::MatrixXd omegas_;  // D × (M·D), empty for Ω = 0
  bool project_ = true;
  mutable Eigen::VectorXd y_, grad_;
};

}  // namespace hkam
