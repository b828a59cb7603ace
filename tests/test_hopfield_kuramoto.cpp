#include <gtest/gtest.h>

#include <Eigen/SVD>

#include "support/numeric.hpp"

namespace hkam {
namespace {

using test::central_difference_gradient;
using test::kExactRelTol;
using test::kFdRelTol;
using test::near_rel;
using test::vectors_near_rel;

constexpr Index kN = 10;
constexpr Index kD = 3;

const LagrangianKind kLagrangians[] = {LagrangianKind::Tanh, LagrangianKind::Sigmoid,
                                       LagrangianKind::Relu, LagrangianKind::LogSumExp};
const PairPotentialKind kPotentials[] = {PairPotentialKind::Linear, PairPotentialKind::Relu,
                                         PairPotentialKind::Tanh, PairPotentialKind::Sigmoid};
const HkCouplingKind kCouplings[] = {HkCouplingKind::General, HkCouplingKind::Additive,
                                     HkCouplingKind::Multiplicative};

// (Lagrangian, pair potential, coupling, complete ℰ_HK?) with κ_H = 0.7, κ_K = 1.9, Ω ≠ 0.
class HkIdentities : public ::testing::TestWithParam<
                         std::tuple<LagrangianKind, PairPotentialKind, HkCouplingKind, bool>> {
 protected:
  HopfieldKuramoto make(Rng& rng) const {
    const auto [lag, pot, cpl, complete] = GetParam();
    return test::random_hk(rng, kN, kD, lag, pot, cpl, complete);
  }
};

TEST_P(HkIdentities, EnergyGradientMatchesCentralDifferences) {
  for (std::uint64_t seed : {1, 2}) {
    Rng rng(seed);
    const HopfieldKuramoto hk = make(rng);
    const Eigen::VectorXd z = test::random_hk_state(rng, hk.layout());
    const auto fd =
        central_difference_gradient([&](const Eigen::VectorXd& y) { return hk.energy(y); }, z);
    EXPECT_TRUE(vectors_near_rel(hk.energy_gradient(z), fd, kFdRelTol)) << "seed " << seed;
  }
}

TEST_P(HkIdentities, DissipationIdentityHK4Holds) {
  for (std::uint64_t seed : {3, 4}) {
    Rng rng(seed);
    const HopfieldKuramoto hk = make(rng);
    ASSERT_TRUE(hk.lyapunov().guaranteed) << hk.lyapunov().reason;
    ASSERT_NE(hk.kappa_h(), hk.kappa_k());
    const Eigen::VectorXd z = test::random_hk_state(rng, hk.layout());
    Eigen::VectorXd f(hk.dim());
    hk(z, f, 0.0);
    const double predicted = hk.dissipation(z);
    EXPECT_LT(predicted, 0.0);
    EXPECT_TRUE(near_rel(hk.energy_gradient(z).dot(f), predicted, kExactRelTol));
    const double fd =
        test::directional_derivative([&](const Eigen::VectorXd& y) { return hk.energy(y); }, z, f);
    EXPECT_TRUE(near_rel(fd, predicted, kFdRelTol));
  }
}

TEST_P(HkIdentities, OmegaTermIsOrthogonalToTheGradientAndEnergyIsRotationInvariant) {
  Rng rng(5);
  const HopfieldKuramoto hk = make(rng);
  const Eigen::VectorXd z = test::random_hk_state(rng, hk.layout());
  const Eigen::VectorXd grad = hk.energy_gradient(z);
  double dot = 0.0, scale = 0.0;
  for (Index i = 0; i < kN; ++i) {
    const Eigen::VectorXd w = hk.kuramoto().omega() * z.segment(kN + i * kD, kD);
    dot += grad.segment(kN + i * kD, kD).dot(w);
    scale += grad.segment(kN + i * kD, kD).norm() * w.norm();
  }
  EXPECT_LE(std::abs(dot), 1e-12 * scale);
  const Eigen::VectorXd rz = test::rotate_oscillators(hk.layout(), z, random_rotation(rng, kD));
  EXPECT_TRUE(near_rel(hk.energy(rz), hk.energy(z), 1e-12));
}

TEST_P(HkIdentities, UnitsSeeTheEffectiveWeightsAndPartsAddUp) {
  Rng rng(6);
  const HopfieldKuramoto hk = make(rng);
  const Eigen::VectorXd z = test::random_hk_state(rng, hk.layout());
  Eigen::VectorXd f(hk.dim()), g(kN);
  hk(z, f, 0.0);
  hk.hopfield().lagrangian().activation(z.head(kN), g);
  const Eigen::VectorXd expected = hk.effective_weights(z) * g - z.head(kN) + hk.hopfield().bias();
  EXPECT_TRUE(vectors_near_rel(f.head(kN), expected, 1e-12));
  double sum = 0;
  for (const auto& p : hk.energy_parts(z)) sum += p.value;
  EXPECT_TRUE(near_rel(sum, hk.energy(z), 1e-13));
}

INSTANTIATE_TEST_SUITE_P(LagrangianPotentialCoupling, HkIdentities,
                         ::testing::Combine(::testing::ValuesIn(kLagrangians),
                                            ::testing::ValuesIn(kPotentials),
                                            ::testing::ValuesIn(kCouplings), ::testing::Bool()),
                         [](const auto& info) {
                           return std::string(Lagrangian{std::get<0>(info.param), 1.0}.name()) +
                                  "_" + std::string(pair_potential_name(std::get<1>(info.param))) +
                                  "_" + std::string(hk_coupling_name(std::get<2>(info.param))) +
                                  (std::get<3>(info.param) ? "_complete" : "_smallworld");
                         });

// ---- Low-rank structure on the complete graph (DESIGN §5.6). ----

struct LowRank {
  Rng rng{40};
  Index n = 60, d = 4;
  double alpha = 0.9, kappa_h = 0.6;
  HopfieldKuramoto make(HkCouplingKind kind, Graph graph, Eigen::VectorXd weights = {}) {
    Rng local(41);  // same Hopfield and Kuramoto parameters for every variant
    Hopfield hop = test::random_hopfield(local, n, LagrangianKind::Tanh);
    Kuramoto kur = test::random_kuramoto(local, n, d, PairPotentialKind::Tanh, Graph::ring(n, 6));
    return HopfieldKuramoto(std::move(hop), std::move(kur),
                            {kind, std::move(graph), alpha, std::move(weights)}, kappa_h, 1.7);
  }
};

void expect_same_model(const HopfieldKuramoto& a, const HopfieldKuramoto& b,
                       const Eigen::VectorXd& z) {
  Eigen::VectorXd fa(a.dim()), fb(b.dim());
  a(z, fa, 0.0);
  b(z, fb, 0.0);
  EXPECT_TRUE(vectors_near_rel(fa, fb, 1e-12));
  EXPECT_TRUE(near_rel(a.energy(z), b.energy(z), 1e-12));
  EXPECT_TRUE(vectors_near_rel(a.energy_gradient(z), b.energy_gradient(z), 1e-12));
}

TEST(HkLowRank, AdditiveCompletePathEqualsTheExplicitEdgeList) {
  LowRank t;
  const HopfieldKuramoto fast = t.make(HkCouplingKind::Additive, Graph::complete(t.n));
  const HopfieldKuramoto slow =
      t.make(HkCouplingKind::Additive, Graph::complete(t.n).materialized());
  ASSERT_TRUE(fast.low_rank());
  ASSERT_FALSE(slow.low_rank());
  expect_same_model(fast, slow, test::random_hk_state(t.rng, fast.layout()));
  // General coupling with every w = α is the additive coupling.
  const Graph full = Graph::complete(t.n).materialized();
  const HopfieldKuramoto general =
      t.make(HkCouplingKind::General, full, Eigen::VectorXd::Constant(full.num_edges(), t.alpha));
  expect_same_model(fast, general, test::random_hk_state(t.rng, fast.layout()));
}

TEST(HkLowRank, MultiplicativeCompletePathEqualsTheExplicitEdgeList) {
  LowRank t;
  const HopfieldKuramoto fast = t.make(HkCouplingKind::Multiplicative, Graph::complete(t.n));
  const HopfieldKuramoto slow =
      t.make(HkCouplingKind::Multiplicative, Graph::complete(t.n).materialized());
  expect_same_model(fast, slow, test::random_hk_state(t.rng, fast.layout()));
}

TEST(HkLowRank, AdditiveCorrectionIsTheRankDGramMatrix) {
  LowRank t;
  const HopfieldKuramoto hk = t.make(HkCouplingKind::Additive, Graph::complete(t.n));
  const Eigen::VectorXd z = test::random_hk_state(t.rng, hk.layout());
  Eigen::MatrixXd sigma(t.n, t.d);
  for (Index i = 0; i < t.n; ++i) sigma.row(i) = z.segment(t.n + i * t.d, t.d).transpose();
  const Eigen::MatrixXd gram = sigma * sigma.transpose();
  const Eigen::MatrixXd correction = hk.effective_weights(z) - hk.hopfield().w_sym();
  const Eigen::MatrixXd expected =
      (t.alpha / t.kappa_h) * (gram - Eigen::MatrixXd::Identity(t.n, t.n));
  EXPECT_LE((correction - expected).cwiseAbs().maxCoeff(), 1e-12);
  const Eigen::VectorXd sv = Eigen::JacobiSVD<Eigen::MatrixXd>(gram).singularValues();
  EXPECT_GT(sv[t.d - 1], 1e-3 * sv[0]);  // rank is exactly D for generic states ...
  EXPECT_LE(sv[t.d], 1e-12 * sv[0]);     // ... and never more
  // The multiplicative correction is W_s ⊙ (α/κ_H)(ΣΣᵀ − I).
  const HopfieldKuramoto mult = t.make(HkCouplingKind::Multiplicative, Graph::complete(t.n));
  const Eigen::MatrixXd mc = mult.effective_weights(z) - mult.hopfield().w_sym();
  EXPECT_LE((mc - mult.hopfield().w_sym().cwiseProduct(expected)).cwiseAbs().maxCoeff(), 1e-12);
}

// ---- Pairing, negative controls, errors. ----

TEST(HopfieldKuramoto, FewerOscillatorsThanUnitsWithAnExplicitPairing) {
  Rng rng(50);
  const Index n = 9, m = 4;
  std::vector<Index> pairing;
  for (Index i = 0; i < n; ++i) pairing.push_back(i % m);
  for (bool complete : {false, true}) {
    HkCoupling c{
        HkCouplingKind::Additive, complete ? Graph::complete(n) : Graph::ring(n, 4), 0.7, {}};
    const HopfieldKuramoto hk(
        test::random_hopfield(rng, n, LagrangianKind::Sigmoid),
        test::random_kuramoto(rng, m, kD, PairPotentialKind::Relu, Graph::complete(m)), c, 1.4, 0.6,
        pairing);
    const Eigen::VectorXd z = test::random_hk_state(rng, hk.layout());
    const auto fd =
        central_difference_gradient([&](const Eigen::VectorXd& y) { return hk.energy(y); }, z);
    EXPECT_TRUE(vectors_near_rel(hk.energy_gradient(z), fd, kFdRelTol));
    EXPECT_TRUE(near_rel(test::energy_rate(hk, z), hk.dissipation(z), kExactRelTol));
  }
}

TEST(HopfieldKuramoto, PerOscillatorOmegaIsReportedAsNotGuaranteed) {
  Rng rng(51);
  Kuramoto kur = test::random_kuramoto(rng, kN, kD, PairPotentialKind::Linear, Graph::ring(kN, 2));
  std::vector<Eigen::MatrixXd> om;
  for (Index i = 0; i < kN; ++i) om.push_back(random_skew(rng, kD));
  kur.set_oscillator_omegas(om);
  const HopfieldKuramoto hk(test::random_hopfield(rng, kN, LagrangianKind::Tanh), std::move(kur),
                            {HkCouplingKind::Additive, Graph::complete(kN), 0.5, {}}, 0.7, 1.9);
  const Guarantee g = hk.lyapunov();
  EXPECT_FALSE(g.guaranteed);
  EXPECT_EQ(g.reason.rfind("oscillators: per-oscillator", 0), 0u) << g.reason;
  const Eigen::VectorXd z = test::random_hk_state(rng, hk.layout());
  EXPECT_GT(std::abs(test::energy_rate(hk, z) - hk.dissipation(z)), 1e-4);
}

TEST(HopfieldKuramoto, RejectsInconsistentParameters) {
  Rng rng(52);
  auto hop = [&] { return test::random_hopfield(rng, kN, LagrangianKind::Tanh); };
  auto kur = [&](Index m) {
    return test::random_kuramoto(rng, m, kD, PairPotentialKind::Linear, Graph::ring(m, 2));
  };
  const HkCoupling ok{HkCouplingKind::Additive, Graph::complete(kN), 0.5, {}};
  EXPECT_THROW(HopfieldKuramoto(hop(), kur(kN), ok, 0.0, 1.0), std::invalid_argument);
  EXPECT_THROW(HopfieldKuramoto(hop(), kur(kN + 1), ok), std::invalid_argument);  // needs a pairing
  EXPECT_THROW(HopfieldKuramoto(hop(), kur(kN),
                                {HkCouplingKind::Additive, Graph::complete(kN + 1), 0.5, {}}),
               std::invalid_argument);
  EXPECT_THROW(
      HopfieldKuramoto(hop(), kur(kN),
                       {HkCouplingKind::General, Graph::ring(kN, 2), 0.5, Eigen::VectorXd(3)}),
      std::invalid_argument);
  EXPECT_THROW(hk_coupling_from_name("hebbian"), std::invalid_argument);
}

}  // namespace
}  // namespace hkam
