#include <gtest/gtest.h>

#include <cmath>

#include "support/numeric.hpp"

namespace hkam {
namespace {

using test::central_difference_gradient;
using test::kExactRelTol;
using test::kFdRelTol;
using test::near_rel;
using test::vectors_near_rel;

const PairPotentialKind kAllPotentials[] = {PairPotentialKind::Linear, PairPotentialKind::Relu,
                                            PairPotentialKind::Tanh, PairPotentialKind::Sigmoid};
constexpr Index kM = 14;

Graph graph_for(int which, std::uint64_t seed) {
  switch (which) {
    case 0:
      return Graph::ring(kM, 4);
    case 1:
      return Graph::watts_strogatz(kM, 4, 0.4, seed);
    default:
      return Graph::complete(kM);
  }
}

std::string case_name(const std::tuple<PairPotentialKind, int, int>& p) {
  const char* graph = std::get<2>(p) == 0   ? "ring"
                      : std::get<2>(p) == 1 ? "smallworld"
                                            : "complete";
  return std::string(pair_potential_name(std::get<0>(p))) + "_D" + std::to_string(std::get<1>(p)) +
         "_" + graph;
}

// (potential, D, graph: 0 ring, 1 small world, 2 complete)
class KuramotoIdentities
    : public ::testing::TestWithParam<std::tuple<PairPotentialKind, int, int>> {
 protected:
  Kuramoto make(Rng& rng) const {
    const auto [pot, d, g] = GetParam();
    return test::random_kuramoto(rng, kM, d, pot, graph_for(g, rng.next_u64()));
  }
  Index d() const { return std::get<1>(GetParam()); }
};

TEST_P(KuramotoIdentities, EnergyGradientMatchesCentralDifferences) {
  for (std::uint64_t seed : {1, 2, 3}) {
    Rng rng(seed);
    const Kuramoto k = make(rng);
    // Off the sphere too: the energy is defined on the ambient space.
    const Eigen::VectorXd s = 1.3 * test::random_sphere_state(rng, kM, d());
    const auto fd =
        central_difference_gradient([&](const Eigen::VectorXd& y) { return k.energy(y); }, s);
    EXPECT_TRUE(vectors_near_rel(k.energy_gradient(s), fd, kFdRelTol)) << "seed " << seed;
  }
}

TEST_P(KuramotoIdentities, DissipationIdentityK3HoldsWithNonzeroOmega) {
  for (std::uint64_t seed : {4, 5, 6}) {
    Rng rng(seed);
    const Kuramoto k = make(rng);
    ASSERT_GT(k.omega().norm(), 0.1);
    ASSERT_TRUE(k.lyapunov().guaranteed) << k.lyapunov().reason;
    const Eigen::VectorXd s = test::random_sphere_state(rng, kM, d());
    Eigen::VectorXd f(k.dim());
    k(s, f, 0.0);
    EXPECT_TRUE(near_rel(k.energy_gradient(s).dot(f), k.dissipation(s), kExactRelTol));
    const double fd =
        test::directional_derivative([&](const Eigen::VectorXd& y) { return k.energy(y); }, s, f);
    EXPECT_TRUE(near_rel(fd, k.dissipation(s), kFdRelTol));
    EXPECT_LE(k.dissipation(s), 0.0);
  }
}

TEST_P(KuramotoIdentities, OmegaTermIsOrthogonalToTheGradient) {
  Rng rng(7);
  const Kuramoto k = make(rng);
  const Eigen::VectorXd s = test::random_sphere_state(rng, kM, d());
  const Eigen::VectorXd grad = k.energy_gradient(s);
  double dot = 0.0, scale = 0.0;
  for (Index i = 0; i < kM; ++i) {
    const Eigen::VectorXd w = k.omega() * s.segment(i * d(), d());
    dot += grad.segment(i * d(), d()).dot(w);
    scale += grad.segment(i * d(), d()).norm() * w.norm();
  }
  EXPECT_LE(std::abs(dot), 1e-12 * scale);
}

TEST_P(KuramotoIdentities, EnergyAndAlignmentsAreInvariantUnderAGlobalRotation) {
  Rng rng(8);
  const Kuramoto k = make(rng);
  const Eigen::VectorXd s = test::random_sphere_state(rng, kM, d());
  const Eigen::MatrixXd r = random_rotation(rng, d());
  const Eigen::VectorXd rs = test::rotate_oscillators(k.layout(), s, r);
  EXPECT_TRUE(near_rel(k.energy(rs), k.energy(s), 1e-12));
  for (Index i = 0; i < kM; ++i)
    for (Index j = 0; j < kM; ++j)
      EXPECT_NEAR(rs.segment(i * d(), d()).dot(rs.segment(j * d(), d())),
                  s.segment(i * d(), d()).dot(s.segment(j * d(), d())), 1e-12);
}

TEST_P(KuramotoIdentities, FlowIsTangentToTheSpheresAndPartsAddUp) {
  Rng rng(9);
  const Kuramoto k = make(rng);
  const Eigen::VectorXd s = test::random_sphere_state(rng, kM, d());
  Eigen::VectorXd f(k.dim());
  k(s, f, 0.0);
  for (Index i = 0; i < kM; ++i)
    EXPECT_NEAR(f.segment(i * d(), d()).dot(s.segment(i * d(), d())), 0.0, 1e-13);
  double sum = 0;
  for (const auto& p : k.energy_parts(s)) sum += p.value;
  EXPECT_TRUE(near_rel(sum, k.energy(s), 1e-14));
}

INSTANTIATE_TEST_SUITE_P(PotentialsDimsGraphs, KuramotoIdentities,
                         ::testing::Combine(::testing::ValuesIn(kAllPotentials),
                                            ::testing::Values(2, 3, 5), ::testing::Values(0, 1, 2)),
                         [](const auto& info) { return case_name(info.param); });

// ---- Negative controls: each extension adds exactly the term DESIGN §3b predicts. ----

struct ControlSetup {
  Rng rng{77};
  Index d = 3;
  Kuramoto k = test::random_kuramoto(rng, kM, 3, PairPotentialKind::Tanh,
                                     Graph::watts_strogatz(kM, 4, 0.3, 5));
  Eigen::VectorXd s = test::random_sphere_state(rng, kM, 3);
  Eigen::VectorXd sig(Index i) const { return s.segment(i * d, d); }
  // dE/dt − (−Σ‖P∇E‖²): the part of the energy rate that the Lyapunov form would not have.
  double extra() const { return test::energy_rate(k, s) - k.dissipation(s); }
};

TEST(KuramotoNegativeControls, PerOscillatorOmegaAddsExactlyItsTerm) {
  ControlSetup c;
  std::vector<Eigen::MatrixXd> omegas;
  for (Index i = 0; i < kM; ++i) omegas.push_back(random_skew(c.rng, c.d, 1.0));
  c.k.set_oscillator_omegas(omegas);
  double expected = 0.0;  // Σ_e F'(s_ij) σ_jᵀ(Ω_i − Ω_j)σ_i
  for (std::size_t e = 0; e < c.k.graph().edges().size(); ++e) {
    const Edge ed = c.k.graph().edges()[e];
    const double sij = c.sig(ed.i).dot(c.sig(ed.j));
    const double fp = pair_derivative(PairPotentialKind::Tanh, c.k.a()[e], c.k.b()[e], sij);
    expected += fp * c.sig(ed.j).dot((omegas[ed.i] - omegas[ed.j]) * c.sig(ed.i));
  }
  EXPECT_GT(std::abs(expected), 1e-3);  // the control is not vacuous
  EXPECT_TRUE(near_rel(c.extra(), expected, kExactRelTol));
  const Guarantee g = c.k.lyapunov();
  EXPECT_FALSE(g.guaranteed);
  EXPECT_NE(g.reason.find("per-oscillator"), std::string::npos) << g.reason;
}

TEST(KuramotoNegativeControls, IdenticalPerOscillatorOmegasKeepTheGuarantee) {
  ControlSetup c;
  c.k.set_oscillator_omegas(std::vector<Eigen::MatrixXd>(kM, c.k.omega()));
  EXPECT_TRUE(c.k.lyapunov().guaranteed);
  EXPECT_NEAR(c.extra(), 0.0, 1e-12);
}

TEST(KuramotoNegativeControls, StimulusWithOmegaAddsMinusCOmegaSigma) {
  ControlSetup c;
  const Eigen::MatrixXd stim = normal_matrix(c.rng, kM, c.d);
  c.k.set_stimulus(stim);
  double expected = 0.0;  // −Σ c_iᵀ Ω σ_i
  for (Index i = 0; i < kM; ++i) expected -= stim.row(i).dot(c.k.omega() * c.sig(i));
  EXPECT_GT(std::abs(expected), 1e-3);
  EXPECT_TRUE(near_rel(c.extra(), expected, kExactRelTol));
  EXPECT_FALSE(c.k.lyapunov().guaranteed);
  EXPECT_NE(c.k.lyapunov().reason.find("stimulus"), std::string::npos);
}

TEST(KuramotoNegativeControls, StimulusAlongTheRotationAxisIsAllowed) {
  ControlSetup c;  // D = 3: Ω has a kernel, its axis
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(c.k.omega(), Eigen::ComputeFullV);
  const Eigen::VectorXd axis = svd.matrixV().col(2);
  Eigen::MatrixXd stim(kM, c.d);
  for (Index i = 0; i < kM; ++i) stim.row(i) = (0.5 + i) * axis.transpose();
  c.k.set_stimulus(stim);
  EXPECT_TRUE(c.k.lyapunov().guaranteed) << c.k.lyapunov().reason;
  EXPECT_TRUE(near_rel(c.extra(), 0.0, 1e-10));
}

TEST(KuramotoNegativeControls, NonCommutingMatrixCouplingsAddTheCommutatorTerm) {
  ControlSetup c;
  std::vector<Eigen::MatrixXd> js;
  for (Index e = 0; e < c.k.graph().num_edges(); ++e)
    js.push_back(normal_matrix(c.rng, c.d, c.d, 0.5));
  c.k.set_matrix_couplings(js);  // J'_e = J_eᵀ: still a gradient flow
  double expected = 0.0;         // −Σ_e σ_iᵀ [J_e, Ω] σ_j
  for (std::size_t e = 0; e < js.size(); ++e) {
    const Edge ed = c.k.graph().edges()[e];
    expected -= c.sig(ed.i).dot((js[e] * c.k.omega() - c.k.omega() * js[e]) * c.sig(ed.j));
  }
  EXPECT_GT(std::abs(expected), 1e-3);
  EXPECT_TRUE(near_rel(c.extra(), expected, kExactRelTol));
  EXPECT_NE(c.k.lyapunov().reason.find("commute"), std::string::npos);
}

TEST(KuramotoNegativeControls, ScalarMatrixCouplingsCommuteAndKeepTheGuarantee) {
  ControlSetup c;
  std::vector<Eigen::MatrixXd> js;
  for (Index e = 0; e < c.k.graph().num_edges(); ++e)
    js.push_back(c.rng.normal() * Eigen::MatrixXd::Identity(c.d, c.d));
  c.k.set_matrix_couplings(js);
  EXPECT_TRUE(c.k.lyapunov().guaranteed) << c.k.lyapunov().reason;
  EXPECT_TRUE(near_rel(c.extra(), 0.0, 1e-10));
  const auto fd =
      central_difference_gradient([&](const Eigen::VectorXd& y) { return c.k.energy(y); }, c.s);
  EXPECT_TRUE(vectors_near_rel(c.k.energy_gradient(c.s), fd, kFdRelTol));
}

TEST(KuramotoNegativeControls, AsymmetricMatrixCouplingsAreNotAGradientFlow) {
  ControlSetup c;
  std::vector<Eigen::MatrixXd> js, jr;
  for (Index e = 0; e < c.k.graph().num_edges(); ++e) {
    js.push_back(normal_matrix(c.rng, c.d, c.d));
    jr.push_back(normal_matrix(c.rng, c.d, c.d));
  }
  c.k.set_matrix_couplings(js, jr);
  EXPECT_FALSE(c.k.lyapunov().guaranteed);
  EXPECT_NE(c.k.lyapunov().reason.find("not symmetric"), std::string::npos);
  // The gradient is still that of the stated energy.
  const auto fd =
      central_difference_gradient([&](const Eigen::VectorXd& y) { return c.k.energy(y); }, c.s);
  EXPECT_TRUE(vectors_near_rel(c.k.energy_gradient(c.s), fd, kFdRelTol));
}

// ---- D = 2 is the classical Kuramoto model. ----

TEST(KuramotoClassical, TwoDimensionalFlowIsTheClassicalPhaseEquation) {
  Rng rng(10);
  const Index m = 12;
  const Graph g = Graph::watts_strogatz(m, 4, 0.3, 3);
  const Eigen::VectorXd coupling = normal_vector(rng, g.num_edges(), 1.0);  // K_ij
  const double omega = 0.8;
  Eigen::MatrixXd om(2, 2);
  om << 0, -omega, omega, 0;
  const Kuramoto k(m, 2, g, PairPotentialKind::Linear, -coupling, {}, om);  // F = −K s = −K cos Δθ
  const Eigen::VectorXd theta = normal_vector(rng, m, 2.0);
  Eigen::VectorXd s(2 * m);
  for (Index i = 0; i < m; ++i) s.segment(2 * i, 2) << std::cos(theta[i]), std::sin(theta[i]);
  Eigen::VectorXd f(2 * m);
  k(s, f, 0.0);
  Eigen::VectorXd classical = Eigen::VectorXd::Constant(m, omega);
  for (std::size_t e = 0; e < g.edges().size(); ++e) {
    const auto [i, j] = g.edges()[e];
    classical[i] += coupling[e] * std::sin(theta[j] - theta[i]);
    classical[j] += coupling[e] * std::sin(theta[i] - theta[j]);
  }
  for (Index i = 0; i < m; ++i) {
    const double thetadot = s[2 * i] * f[2 * i + 1] - s[2 * i + 1] * f[2 * i];  // σ × σ̇
    EXPECT_NEAR(thetadot, classical[i], 1e-12);
  }
}

// ---- The mean-field path. ----

TEST(KuramotoMeanField, CompleteGraphPathEqualsTheExplicitEdgeList) {
  Rng rng(12);
  const Index m = 40, d = 4;
  const Eigen::MatrixXd om = random_skew(rng, d, 1.0);
  const Eigen::VectorXd a = Eigen::VectorXd::Constant(1, -0.7);
  const Kuramoto fast(m, d, Graph::complete(m), PairPotentialKind::Linear, a, {}, om);
  const Kuramoto slow(m, d, Graph::complete(m).materialized(), PairPotentialKind::Linear, a, {},
                      om);
  ASSERT_TRUE(fast.mean_field());
  ASSERT_FALSE(slow.mean_field());
  const Eigen::VectorXd s = test::random_sphere_state(rng, m, d);
  Eigen::VectorXd f1(m * d), f2(m * d);
  fast(s, f1, 0.0);
  slow(s, f2, 0.0);
  EXPECT_TRUE(vectors_near_rel(f1, f2, 1e-12));
  EXPECT_TRUE(near_rel(fast.energy(s), slow.energy(s), 1e-12));
  EXPECT_TRUE(vectors_near_rel(fast.energy_gradient(s), slow.energy_gradient(s), 1e-12));
}

TEST(Kuramoto, RejectsBadParameters) {
  Rng rng(13);
  const Graph g = Graph::ring(6, 2);
  const Eigen::VectorXd a = Eigen::VectorXd::Ones(1);
  EXPECT_THROW(Kuramoto(6, 1, g, PairPotentialKind::Linear, a, {}),
               std::invalid_argument);  // D < 2
  EXPECT_THROW(Kuramoto(7, 2, g, PairPotentialKind::Linear, a, {}),
               std::invalid_argument);  // nodes
  EXPECT_THROW(Kuramoto(6, 2, g, PairPotentialKind::Linear, Eigen::VectorXd::Ones(4), {}),
               std::invalid_argument);
  EXPECT_THROW(Kuramoto(6, 2, g, PairPotentialKind::Linear, a, {}, Eigen::MatrixXd::Identity(2, 2)),
               std::invalid_argument);  // Ω not skew
  EXPECT_THROW(pair_potential_from_name("cosine"), std::invalid_argument);
  Kuramoto k(6, 2, g, PairPotentialKind::Linear, a, {});
  EXPECT_THROW(k.set_stimulus(Eigen::MatrixXd::Zero(6, 3)), std::invalid_argument);
  EXPECT_THROW(k.set_oscillator_omegas({Eigen::MatrixXd::Zero(2, 2)}), std::invalid_argument);
}

TEST(PairPotentials, DerivativesMatchCentralDifferences) {
  for (auto kind : kAllPotentials)
    for (double s : {-0.9, -0.3, 0.2, 0.7}) {
      const double fd =
          (pair_value(kind, 0.6, -1.1, s + 1e-6) - pair_value(kind, 0.6, -1.1, s - 1e-6)) / 2e-6;
      EXPECT_NEAR(pair_derivative(kind, 0.6, -1.1, s), fd, 1e-8)
          << pair_potential_name(kind) << " s=" << s;
    }
}

}  // namespace
}  // namespace hkam
