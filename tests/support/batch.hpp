#pragma once
// Small Hopfield–Kuramoto instances of every kind for the batched model's tests.

#include <Eigen/Core>

#include "hkam/hkam.hpp"
#include "hkam/models/batch.hpp"
#include "hkam/random.hpp"

namespace hkam::test::batch {

struct Kinds {
  LagrangianKind lagrangian;
  PairPotentialKind potential;
  HkCouplingKind coupling;
  bool k_complete;   // ℰ_K complete (mean field when linear with a shared A)
  bool hk_complete;  // ℰ_HK complete (low rank when additive)
  bool shared_ab;    // one A and B for all ℰ_K edges
};

constexpr Index kN = 7, kD = 3;

inline Eigen::VectorXd random_vector(Rng& rng, Index n, double lo = -1.0, double hi = 1.0) {
  Eigen::VectorXd v(n);
  for (Index k = 0; k < n; ++k) v[k] = rng.uniform(lo, hi);
  return v;
}

inline HopfieldKuramotoParams make_params(const Kinds& k, std::uint64_t seed) {
  Rng rng(seed);
  HopfieldKuramotoParams p;
  Eigen::MatrixXd w(kN, kN);
  for (Index i = 0; i < kN; ++i)
    for (Index j = 0; j < kN; ++j) w(i, j) = rng.uniform(-0.8, 0.8);
  p.hopfield.w = w;  // deliberately not symmetric: the model uses (W + Wᵀ)/2
  p.hopfield.b = random_vector(rng, kN, -0.3, 0.3);
  p.hopfield.lagrangian = {k.lagrangian, 1.3};
  auto& ku = p.kuramoto;
  ku.n_osc = kN;
  ku.osc_dim = kD;
  ku.graph = k.k_complete ? Graph::complete(kN) : Graph::ring(kN, 4);
  ku.potential = k.potential;
  const Index ke = ku.graph.num_edges();
  ku.a = random_vector(rng, k.shared_ab ? 1 : ke);
  if (k.potential != PairPotentialKind::Linear) ku.b = random_vector(rng, k.shared_ab ? 1 : ke);
  Eigen::MatrixXd m(kD, kD);
  for (Index i = 0; i < kD; ++i)
    for (Index j = 0; j < kD; ++j) m(i, j) = rng.uniform(-1.0, 1.0);
  ku.omega = m - m.transpose();
  auto& c = p.coupling;
  c.kind = k.coupling;
  c.graph = k.hk_complete ? Graph::complete(kN) : Graph::watts_strogatz(kN, 4, 0.3, seed + 1);
  c.alpha = 0.7;
  if (k.coupling == HkCouplingKind::General) c.weights = random_vector(rng, c.graph.num_edges());
  p.kappa_h = 1.7;
  p.kappa_k = 0.6;
  return p;
}

// B random states (rows): x ~ U(−1.5, 1.5), σ_i of norm 1 perturbed off the sphere (the model is
// defined on the ambient space, so its derivatives are checked there too).
inline Eigen::MatrixXd random_states(Rng& rng, Index batch, Index n, Index m, Index d) {
  Eigen::MatrixXd z(batch, n + m * d);
  for (Index b = 0; b < batch; ++b) {
    for (Index i = 0; i < n; ++i) z(b, i) = rng.uniform(-1.5, 1.5);
    for (Index i = 0; i < m; ++i) {
      Eigen::VectorXd s(d);
      for (Index k = 0; k < d; ++k) s[k] = rng.normal();
      s *= rng.uniform(0.8, 1.2) / s.norm();
      for (Index k = 0; k < d; ++k) z(b, n + i * d + k) = s[k];
    }
  }
  return z;
}

inline HopfieldKuramoto reference_model(const HopfieldKuramotoParams& p) {
  return HopfieldKuramoto(p);
}

}  // namespace hkam::test::batch
