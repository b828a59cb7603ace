#pragma once
// Shared numeric helpers for the tests: finite differences, random states and instances.

#include <gtest/gtest.h>

#include <Eigen/Core>
#include <functional>
#include <vector>

#include "hkam/hkam.hpp"

namespace hkam::test {

// Central differences with step h: truncation O(h²·E''') plus round-off O(eps·|E|/h); h = 1e-5
// balances the two to ~1e-10 for energies of order 1, far inside the 1e-6 tolerance used.
constexpr double kFdStep = 1e-5;
// Analytic gradient vs central differences (DESIGN §5.1).
constexpr double kFdRelTol = 1e-6;
// Identities that are exact in exact arithmetic, evaluated in double: a few hundred ulps.
constexpr double kExactRelTol = 1e-10;

inline Eigen::VectorXd central_difference_gradient(
    const std::function<double(const Eigen::VectorXd&)>& f, Eigen::VectorXd x, double h = kFdStep) {
  Eigen::VectorXd g(x.size());
  for (Eigen::Index k = 0; k < x.size(); ++k) {
    const double xk = x[k];
    x[k] = xk + h;
    const double fp = f(x);
    x[k] = xk - h;
    const double fm = f(x);
    x[k] = xk;
    g[k] = (fp - fm) / (2.0 * h);
  }
  return g;
}

/// Directional derivative of f at x along v by central differences.
inline double directional_derivative(const std::function<double(const Eigen::VectorXd&)>& f,
                                     const Eigen::VectorXd& x, const Eigen::VectorXd& v,
                                     double h = kFdStep) {
  return (f(x + h * v) - f(x - h * v)) / (2.0 * h);
}

/// |a − b| ≤ rel · max(|a|, |b|, floor): relative check that does not explode near zero.
inline ::testing::AssertionResult near_rel(double a, double b, double rel, double floor = 1.0) {
  const double scale = std::max({std::abs(a), std::abs(b), floor});
  if (std::abs(a - b) <= rel * scale) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << a << " vs " << b << " differ by " << std::abs(a - b) << " > " << rel << " * " << scale;
}

inline ::testing::AssertionResult vectors_near_rel(const Eigen::VectorXd& a,
                                                   const Eigen::VectorXd& b, double rel) {
  if (a.size() != b.size())
    return ::testing::AssertionFailure() << "sizes " << a.size() << " vs " << b.size();
  if (a.size() == 0) return ::testing::AssertionSuccess();
  const double scale = std::max({a.cwiseAbs().maxCoeff(), b.cwiseAbs().maxCoeff(), 1.0});
  const double err = (a - b).cwiseAbs().maxCoeff();
  if (err <= rel * scale) return ::testing::AssertionSuccess();
  Eigen::Index k;
  (a - b).cwiseAbs().maxCoeff(&k);
  return ::testing::AssertionFailure() << "max |a-b| = " << err << " > " << rel << " * " << scale
                                       << " at " << k << " (" << a[k] << " vs " << b[k] << ")";
}

/// Flattened M×D state of unit rows.
inline Eigen::VectorXd random_sphere_state(Rng& rng, Index m, Index d) {
  const Eigen::MatrixXd s = random_unit_rows(rng, m, d);
  Eigen::VectorXd v(m * d);
  for (Index i = 0; i < m; ++i) v.segment(i * d, d) = s.row(i).transpose();
  return v;
}

/// Applies a D×D rotation to every oscillator of a state with the given layout.
inline Eigen::VectorXd rotate_oscillators(const StateLayout& lay, const Eigen::VectorXd& z,
                                          const Eigen::MatrixXd& r) {
  Eigen::VectorXd out = z;
  for (Index i = 0; i < lay.n_osc; ++i) {
    auto s = out.segment(lay.osc_offset() + i * lay.osc_dim, lay.osc_dim);
    s = r * z.segment(lay.osc_offset() + i * lay.osc_dim, lay.osc_dim);
  }
  return out;
}

inline Hopfield random_hopfield(Rng& rng, Index n, LagrangianKind kind, double beta = 1.3,
                                double w_scale = 1.0) {
  return Hopfield(random_symmetric_weights(rng, n, w_scale), normal_vector(rng, n, 0.3),
                  Lagrangian{kind, beta});
}

inline Kuramoto random_kuramoto(Rng& rng, Index m, Index d, PairPotentialKind kind,
                                const Graph& graph, double omega_scale = 0.7) {
  const Index e = graph.num_edges();
  // Drawn in sequence (the order g++ evaluated the arguments in): function arguments have no
  // evaluation order, and clang's differs, which changed every "random" instance.
  Eigen::MatrixXd omega = random_skew(rng, d, omega_scale);
  Eigen::VectorXd b = normal_vector(rng, e, 0.5);
  Eigen::VectorXd a = normal_vector(rng, e, 0.5);
  return Kuramoto(m, d, graph, kind, std::move(a), std::move(b), std::move(omega));
}

/// A Hopfield–Kuramoto instance with κ_H ≠ κ_K ≠ 1 and Ω ≠ 0.
inline HopfieldKuramoto random_hk(Rng& rng, Index n, Index d, LagrangianKind lag,
                                  PairPotentialKind pot, HkCouplingKind coupling, bool complete_hk,
                                  double kappa_h = 0.7, double kappa_k = 1.9, double w_scale = 1.0,
                                  double alpha = 0.8) {
  Hopfield hop = random_hopfield(rng, n, lag, 1.3, w_scale);
  Kuramoto kur = random_kuramoto(rng, n, d, pot, Graph::ring(n, 4));
  HkCoupling c;
  c.kind = coupling;
  c.graph = complete_hk ? Graph::complete(n) : Graph::watts_strogatz(n, 4, 0.3, rng.next_u64());
  c.alpha = alpha;
  if (coupling == HkCouplingKind::General)
    c.weights = normal_vector(rng, c.graph.num_edges(), alpha);
  return HopfieldKuramoto(std::move(hop), std::move(kur), std::move(c), kappa_h, kappa_k);
}

inline Eigen::VectorXd random_hk_state(Rng& rng, const StateLayout& lay) {
  Eigen::VectorXd z(lay.size());
  z.head(lay.n_units) = normal_vector(rng, lay.n_units, 1.0);
  z.tail(lay.n_osc * lay.osc_dim) = random_sphere_state(rng, lay.n_osc, lay.osc_dim);
  return z;
}

/// dE/dt along the flow, from the analytic gradient: ∇E · f.
template <class Model>
double energy_rate(const Model& model, const Eigen::VectorXd& z) {
  Eigen::VectorXd f(model.dim());
  model(z, f, 0.0);
  return model.energy_gradient(z).dot(f);
}

}  // namespace hkam::test
