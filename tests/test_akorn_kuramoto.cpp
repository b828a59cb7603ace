#include <gtest/gtest.h>

#include "support/numeric.hpp"

namespace hkam {
namespace {

using test::kExactRelTol;
using test::kFdRelTol;
using test::near_rel;
using test::vectors_near_rel;

constexpr Index kM = 10;

Eigen::MatrixXd random_symmetric(Rng& rng, Index n) {
  const Eigen::MatrixXd a = normal_matrix(rng, n, n, 0.3);
  return a + a.transpose();
}

class AkornForm : public ::testing::TestWithParam<int> {};  // D

TEST_P(AkornForm, GradientOfTheTrueEnergyMatchesCentralDifferences) {
  const Index d = GetParam();
  Rng rng(1);
  const AkornKuramoto a(kM, d, normal_matrix(rng, kM * d, kM * d, 0.3), normal_matrix(rng, kM, d));
  const Eigen::VectorXd s = test::random_sphere_state(rng, kM, d);
  const auto fd =
      test::central_difference_gradient([&](const Eigen::VectorXd& y) { return a.energy(y); }, s);
  EXPECT_TRUE(vectors_near_rel(a.energy_gradient(s), fd, kFdRelTol));
}

TEST_P(AkornForm, SymmetricCouplingWithoutOmegaIsLyapunov) {
  const Index d = GetParam();
  for (std::uint64_t seed : {2, 3, 4}) {
    Rng rng(seed);
    const AkornKuramoto a(kM, d, random_symmetric(rng, kM * d), normal_matrix(rng, kM, d));
    ASSERT_TRUE(a.lyapunov().guaranteed) << a.lyapunov().reason;
    const Eigen::VectorXd s = test::random_sphere_state(rng, kM, d);
    EXPECT_TRUE(near_rel(test::energy_rate(a, s), a.dissipation(s), kExactRelTol));
    EXPECT_LT(a.dissipation(s), 0.0);
  }
}

TEST_P(AkornForm, ProxyIsMinusSigmaDotDriveAndDiffersFromTheTrueEnergy) {
  const Index d = GetParam();
  Rng rng(5);
  const Eigen::MatrixXd j = normal_matrix(rng, kM * d, kM * d, 0.3);
  const Eigen::MatrixXd c = normal_matrix(rng, kM, d);
  const AkornKuramoto a(kM, d, j, c);
  const Eigen::VectorXd s = test::random_sphere_state(rng, kM, d);
  Eigen::VectorXd cflat(kM * d);
  for (Index i = 0; i < kM; ++i) cflat.segment(i * d, d) = c.row(i).transpose();
  EXPECT_TRUE(near_rel(a.proxy_energy(s), -s.dot(j * s + cflat), 1e-13));
  EXPECT_TRUE(near_rel(a.energy(s), -0.5 * s.dot(j * s) - cflat.dot(s), 1e-13));
  // Without stimulus, proxy = 2 × true energy.
  const AkornKuramoto b(kM, d, j);
  EXPECT_TRUE(near_rel(b.proxy_energy(s), 2.0 * b.energy(s), 1e-13));
}

TEST_P(AkornForm, ScalarBlockCouplingsReproduceTheLyapunovFormWithStimulus) {
  // J_ij = K_ij I with K = −A on a graph is the linear pair potential F = A s plus a stimulus.
  const Index d = GetParam();
  Rng rng(6);
  const Graph g = Graph::ring(kM, 4);
  const Eigen::VectorXd a = normal_vector(rng, g.num_edges());
  Eigen::MatrixXd j = Eigen::MatrixXd::Zero(kM * d, kM * d);
  for (std::size_t e = 0; e < g.edges().size(); ++e) {
    const auto [p, q] = g.edges()[e];
    j.block(p * d, q * d, d, d) = -a[e] * Eigen::MatrixXd::Identity(d, d);
    j.block(q * d, p * d, d, d) = -a[e] * Eigen::MatrixXd::Identity(d, d);
  }
  const Eigen::MatrixXd c = normal_matrix(rng, kM, d);
  const AkornKuramoto ak(kM, d, j, c);
  Kuramoto k(kM, d, g, PairPotentialKind::Linear, a, {});
  k.set_stimulus(c);
  const Eigen::VectorXd s = test::random_sphere_state(rng, kM, d);
  Eigen::VectorXd f1(kM * d), f2(kM * d);
  ak(s, f1, 0.0);
  k(s, f2, 0.0);
  EXPECT_TRUE(vectors_near_rel(f1, f2, 1e-13));
  EXPECT_TRUE(near_rel(ak.energy(s), k.energy(s), 1e-13));
  // ... and is rotation invariant without the stimulus.
  const AkornKuramoto free(kM, d, j);
  const Eigen::VectorXd rs = test::rotate_oscillators(free.layout(), s, random_rotation(rng, d));
  EXPECT_TRUE(near_rel(free.energy(rs), free.energy(s), 1e-12));
}

INSTANTIATE_TEST_SUITE_P(Dims, AkornForm, ::testing::Values(2, 4));

TEST(AkornFormControls, AsymmetricCouplingIsReportedAndBreaksTheIdentity) {
  Rng rng(7);
  const Index d = 2;
  const AkornKuramoto a(kM, d, normal_matrix(rng, kM * d, kM * d));
  const Guarantee g = a.lyapunov();
  EXPECT_FALSE(g.guaranteed);
  EXPECT_NE(g.reason.find("not symmetric"), std::string::npos);
  const Eigen::VectorXd s = test::random_sphere_state(rng, kM, d);
  EXPECT_GT(std::abs(test::energy_rate(a, s) - a.dissipation(s)), 1e-3);
}

TEST(AkornFormControls, PerOscillatorFrequenciesAreReported) {
  Rng rng(8);
  const Index d = 2;
  std::vector<Eigen::MatrixXd> om;
  for (Index i = 0; i < kM; ++i) om.push_back(random_skew(rng, d));
  const AkornKuramoto a(kM, d, random_symmetric(rng, kM * d), {}, om);
  EXPECT_NE(a.lyapunov().reason.find("per-oscillator"), std::string::npos);
  // One shared Ω with scalar blocks K_ij·I (which commute with Ω) and no stimulus keeps it.
  const Eigen::MatrixXd k = random_symmetric(rng, kM);
  Eigen::MatrixXd j(kM * d, kM * d);
  for (Index p = 0; p < kM; ++p)
    for (Index q = 0; q < kM; ++q)
      j.block(p * d, q * d, d, d) = k(p, q) * Eigen::MatrixXd::Identity(d, d);
  const AkornKuramoto b(kM, d, j, {}, {om[0]});
  EXPECT_TRUE(b.lyapunov().guaranteed) << b.lyapunov().reason;
  const Eigen::VectorXd s = test::random_sphere_state(rng, kM, d);
  EXPECT_TRUE(near_rel(test::energy_rate(b, s), b.dissipation(s), kExactRelTol));
  // A stimulus then breaks it (in D = 2 a nonzero Ω has no kernel).
  const AkornKuramoto c(kM, d, j, normal_matrix(rng, kM, d), {om[0]});
  EXPECT_NE(c.lyapunov().reason.find("stimulus"), std::string::npos);
}

TEST(AkornFormControls, ProjectionOffIsNotGuaranteedAndRejectsBadShapes) {
  Rng rng(9);
  const AkornKuramoto a(kM, 2, random_symmetric(rng, kM * 2), {}, {}, false);
  EXPECT_NE(a.lyapunov().reason.find("projection"), std::string::npos);
  EXPECT_THROW(AkornKuramoto(kM, 2, Eigen::MatrixXd::Zero(5, 5)), std::invalid_argument);
  EXPECT_THROW(
      AkornKuramoto(kM, 2, Eigen::MatrixXd::Zero(2 * kM, 2 * kM), Eigen::MatrixXd::Zero(kM, 3)),
      std::invalid_argument);
}

}  // namespace
}  // namespace hkam
