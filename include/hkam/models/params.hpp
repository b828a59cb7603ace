#pragma once
/// Model parameters as plain data (docs/models.md §6).
///
/// One naming rule across the library: `…Params` hold a model's data (what a user sets, reads,
/// trains), `…Options` hold solver settings. Params are public structs with no invariants
/// enforced on assignment; `validate()` returns what is wrong (empty when valid) — the pattern of
/// Ceres' `Options::IsValid` — and every consumer calls it before use. Work buffers never live in
/// a Params struct: a model evaluated on B trajectories keeps them in a separate workspace, so
/// all trajectories (and all threads) share one copy of the parameters.
///
/// The same structs name the gradients (`HkGradient` mirrors them field by field): a parameter
/// and its derivative have the same path, e.g. `hopfield.w` and `grad.hopfield.w`.

#include <Eigen/Core>
#include <string>

#include "hkam/core.hpp"
#include "hkam/models/graph.hpp"
#include "hkam/models/hopfield_kuramoto.hpp"
#include "hkam/models/kuramoto.hpp"
#include "hkam/models/lagrangian.hpp"

namespace hkam {

/// Continuous Hopfield network (H1)–(H3): dx/dt = W_s g(x) − x + b.
struct HopfieldParams {
  Eigen::MatrixXd w;      ///< N×N weights; the model uses W_s = (W + Wᵀ)/2
  Eigen::VectorXd b;      ///< N biases
  Lagrangian lagrangian;  ///< g = ∇L with gain β

  Index units() const { return b.size(); }
  /// Empty when valid; otherwise every problem, separated by "; ".
  std::string validate() const;
};

/// Generalized Kuramoto oscillators on S^{D−1} in Lyapunov form (K1)–(K3).
struct KuramotoParams {
  Index n_osc = 0;    ///< M
  Index osc_dim = 2;  ///< D
  Graph graph;        ///< ℰ_K on the M oscillators
  PairPotentialKind potential = PairPotentialKind::Linear;
  Eigen::VectorXd a;  ///< A_e: one per edge, or one shared by all edges
  Eigen::VectorXd b;  ///< B_e: one per edge, one shared, or empty (linear potential)
  Eigen::MatrixXd
      omega;  ///< D×D skew Ω shared by all oscillators (empty: zero); used as (Ω − Ωᵀ)/2

  std::string validate() const;
};

/// Unit–oscillator coupling ℰ_HK (HK1): general (w_e per edge), additive (w_e = α),
/// multiplicative (w_e = α [W_s]_ij).
struct CouplingParams {
  HkCouplingKind kind = HkCouplingKind::Additive;
  Graph graph;              ///< on the N units; a graph of 0 nodes means "no coupling"
  double alpha = 0.0;       ///< additive / multiplicative scale
  Eigen::VectorXd weights;  ///< general: one w_e per edge of `graph`

  bool present() const { return graph.num_nodes() > 0; }
  std::string validate() const;
};

/// The Hopfield–Kuramoto model (HK1)–(HK4) with identity pairing (unit i ↔ oscillator i).
/// A pure Hopfield network has `kuramoto.n_osc == 0`; pure oscillators have no units.
struct HopfieldKuramotoParams {
  HopfieldParams hopfield;
  KuramotoParams kuramoto;
  CouplingParams coupling;
  double kappa_h = 1.0;
  double kappa_k = 1.0;

  StateLayout layout() const { return {hopfield.units(), kuramoto.n_osc, kuramoto.osc_dim}; }
  Index dim() const { return layout().size(); }
  /// Checks the parts and how they fit together (sizes, pairing, κ > 0).
  std::string validate() const;
  /// Throws std::invalid_argument with `validate()`'s text when invalid.
  void require_valid() const;
};

/// Derivatives of a scalar loss with respect to the parameters, named as in the Params structs.
/// Only the fields in `wanted` are computed (the rest stay empty); κ and β are not differentiated.
/// Which parameters an `HkGradient` holds.
struct HkGradientWanted {
  bool w = true, b = true;                     // hopfield.w, hopfield.b
  bool a = true, pair_b = true, omega = true;  // kuramoto.a, kuramoto.b, kuramoto.omega
  bool alpha = true, weights = true;           // coupling.alpha, coupling.weights
};

struct HkGradient {
  using Wanted = HkGradientWanted;
  Wanted wanted;
  struct {
    Eigen::MatrixXd w;  ///< symmetric: ∂/∂W of a loss through W_s = (W + Wᵀ)/2
    Eigen::VectorXd b;
  } hopfield;
  struct {
    Eigen::VectorXd a, b;   ///< same size as the parameter (per edge or shared)
    Eigen::MatrixXd omega;  ///< skew
  } kuramoto;
  struct {
    double alpha = 0.0;
    Eigen::VectorXd weights;
  } coupling;

  /// Zero gradients shaped like `p` for the fields in `wanted` that `p` has.
  static HkGradient zeros_like(const HopfieldKuramotoParams& p, Wanted wanted = {});
  void set_zero();
  /// this += s·other (fields present in both).
  void add(const HkGradient& other, double s = 1.0);
};

}  // namespace hkam
