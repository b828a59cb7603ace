#pragma once
/// Hopfield–Kuramoto (HK) associative memory (docs/models.md §4).
///
/// State z = [x (N); σ_0 … σ_{M−1} (M·D)]. Hopfield unit i is paired with oscillator p(i)
/// (identity by default, M = N). For a coupling edge (i, j) ∈ ℰ_HK with weight w_ij let
/// s_ij = σ_{p(i)}·σ_{p(j)}. Then
///
///   E(x, Σ) = κ_H E_H(x) + κ_K E_K(Σ) + E_HK,   E_HK = −Σ_{(i,j)∈ℰ_HK} w_ij s_ij g_i g_j (HK1)
///   dx_i/dt = [W_s g − x + b]_i + (1/κ_H) Σ_j w_ij s_ij g_j (HK2) dσ_k/dt = −P_{σ_k}[ ∇_{σ_k}E_K −
///   (1/κ_K) Σ_{i:p(i)=k} g_i Σ_j w_ij g_j σ_{p(j)} ] + Ω σ_k    (HK3) dE/dt   = −κ_H ẋᵀ H ẋ −
///   (1/κ_K) Σ_k ‖P_{σ_k} ∇_{σ_k} E‖² ≤ 0                               (HK4)
///
/// Couplings: general (w_ij per edge), additive (w_ij = α), multiplicative (w_ij = α [W_s]_ij).
/// The Hopfield units see W_eff(Σ) = W_s + (1/κ_H) w ⊙ A_HK ⊙ S, S_ij = s_ij (`effective_weights`).
/// On an implicit complete ℰ_HK the additive coupling is computed through u_i = α(Σ_j g_j σ_{p(j)}
/// − g_i σ_{p(i)}): O(N·D) per evaluation and no N×N coupling matrix; the multiplicative one
/// through W_s·diag(g)Σ_p (D products with the already dense W_s).
/// Energy parts: the Hopfield parts scaled by κ_H (prefix "hopfield."), the Kuramoto parts scaled
/// by κ_K (prefix "kuramoto."), and "coupling" (E_HK).

#include <Eigen/Core>
#include <string_view>
#include <vector>

#include "hkam/core.hpp"
#include "hkam/models/graph.hpp"
#include "hkam/models/hopfield.hpp"
#include "hkam/models/kuramoto.hpp"

namespace hkam {

struct HopfieldKuramotoParams;

enum class HkCouplingKind { General, Additive, Multiplicative };

/// Parses "general", "additive", "multiplicative"; throws std::invalid_argument otherwise.
HkCouplingKind hk_coupling_from_name(std::string_view name);
std::string_view hk_coupling_name(HkCouplingKind kind);

struct HkCoupling {
  HkCouplingKind kind = HkCouplingKind::Additive;
  Graph graph;              ///< ℰ_HK on the N Hopfield units
  double alpha = 0.0;       ///< scale for additive / multiplicative
  Eigen::VectorXd weights;  ///< per-edge w for general (one per edge of `graph`)
};

class HopfieldKuramoto {
 public:
  HopfieldKuramoto() = default;
  /// `pairing[i]` is the oscillator of unit i (empty: identity, needs M = N).
  HopfieldKuramoto(Hopfield hopfield, Kuramoto kuramoto, HkCoupling coupling, double kappa_h = 1.0,
                   double kappa_k = 1.0, std::vector<Index> pairing = {});
  /// From plain parameters (models/params.hpp; identity pairing, a coupling graph is required);
  /// throws std::invalid_argument with `params.validate()`'s text when they are invalid.
  explicit HopfieldKuramoto(const HopfieldKuramotoParams& params);
  /// The parameters (identity pairing only: throws std::logic_error otherwise).
  HopfieldKuramotoParams params() const;

  Index dim() const { return n_ + m_ * d_; }
  StateLayout layout() const { return {n_, m_, d_}; }
  const Hopfield& hopfield() const { return hop_; }
  const Kuramoto& kuramoto() const { return kur_; }
  const HkCoupling& coupling() const { return cpl_; }
  double kappa_h() const { return kappa_h_; }
  double kappa_k() const { return kappa_k_; }
  const std::vector<Index>& pairing() const { return pair_; }
  /// True when the O(N·D) complete-graph path is in use.
  bool low_rank() const {
    return cpl_.graph.is_complete() && cpl_.kind == HkCouplingKind::Additive;
  }

  void operator()(const Eigen::VectorXd& z, Eigen::VectorXd& dzdt, double t) const;
  double energy(const Eigen::VectorXd& z) const;
  EnergyParts energy_parts(const Eigen::VectorXd& z) const;
  void energy_gradient(const Eigen::VectorXd& z, Eigen::VectorXd& grad) const;
  Eigen::VectorXd energy_gradient(const Eigen::VectorXd& z) const;
  /// The right-hand side of (HK4).
  double dissipation(const Eigen::VectorXd& z) const;
  Guarantee lyapunov() const;

  /// W_eff(Σ) = W_s + (1/κ_H) w ⊙ A_HK ⊙ S for the oscillators in z (dense N×N; for inspection).
  Eigen::MatrixXd effective_weights(const Eigen::VectorXd& z) const;

 private:
  /// g_ = g(x), u_i = Σ_j w_ij g_j σ_{p(j)} (N×D, row-major in u_), h_i = σ_{p(i)}·u_i.
  void coupling_fields(const Eigen::VectorXd& z) const;
  double edge_weight(Index e, Index i, Index j) const;

  Hopfield hop_;
  Kuramoto kur_;
  HkCoupling cpl_;
  double kappa_h_ = 1.0, kappa_k_ = 1.0;
  Index n_ = 0, m_ = 0, d_ = 0;
  std::vector<Index> pair_;
  bool identity_pairing_ = true;
  mutable Eigen::VectorXd x_, g_, wg_, h_, u_, v_, f_, gsig_, tmp_, grad_;
  mutable Eigen::MatrixXd gs_, wgs_;  // multiplicative complete path: diag(g)Σ_p and W_s·diag(g)Σ_p
};

}  // namespace hkam
