#include <gtest/gtest.h>

#include <Eigen/Eigenvalues>

#include "support/numeric.hpp"

namespace hkam {
namespace {

using test::central_difference_gradient;
using test::kExactRelTol;
using test::kFdRelTol;
using test::near_rel;
using test::vectors_near_rel;

const LagrangianKind kAllLagrangians[] = {LagrangianKind::Tanh, LagrangianKind::Sigmoid,
                                          LagrangianKind::Relu, LagrangianKind::LogSumExp};

class LagrangianTest : public ::testing::TestWithParam<std::tuple<LagrangianKind, double>> {};

TEST_P(LagrangianTest, ActivationIsTheGradientOfL) {
  const Lagrangian lag{std::get<0>(GetParam()), std::get<1>(GetParam())};
  for (std::uint64_t seed : {1, 2, 3}) {
    Rng rng(seed);
    const Eigen::VectorXd x = normal_vector(rng, 12, 1.5);
    Eigen::VectorXd g(12);
    lag.activation(x, g);
    const auto fd =
        central_difference_gradient([&](const Eigen::VectorXd& y) { return lag.value(y); }, x);
    EXPECT_TRUE(vectors_near_rel(g, fd, kFdRelTol));
  }
}

TEST_P(LagrangianTest, HessianIsTheJacobianOfTheActivationAndPositiveSemidefinite) {
  const Lagrangian lag{std::get<0>(GetParam()), std::get<1>(GetParam())};
  Rng rng(4);
  const Eigen::Index n = 9;
  const Eigen::VectorXd x = normal_vector(rng, n, 1.5);
  const Eigen::MatrixXd h = lag.hessian(x);
  for (Eigen::Index k = 0; k < n; ++k) {
    // Column k of H by central differences of g along e_k.
    const auto gk = [&](const Eigen::VectorXd& y) {
      Eigen::VectorXd g(n);
      lag.activation(y, g);
      return g;
    };
    Eigen::VectorXd e = Eigen::VectorXd::Zero(n);
    e[k] = test::kFdStep;
    const Eigen::VectorXd col = (gk(x + e) - gk(x - e)) / (2 * test::kFdStep);
    EXPECT_TRUE(vectors_near_rel(h.col(k), col, kFdRelTol)) << "column " << k;
  }
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(h);
  EXPECT_GE(es.eigenvalues().minCoeff(), -1e-14);
  // The matrix-free products agree with the dense Hessian.
  const Eigen::VectorXd v = normal_vector(rng, n);
  Eigen::VectorXd g(n), hv(n);
  lag.activation(x, g);
  lag.hessian_times(x, g, v, hv);
  EXPECT_TRUE(vectors_near_rel(hv, h * v, kExactRelTol));
  EXPECT_TRUE(near_rel(lag.hessian_quadratic(x, g, v), v.dot(h * v), kExactRelTol));
}

INSTANTIATE_TEST_SUITE_P(AllKindsAndGains, LagrangianTest,
                         ::testing::Combine(::testing::ValuesIn(kAllLagrangians),
                                            ::testing::Values(1.0, 2.5)));

TEST(Lagrangian, ParsesNamesAndRejectsUnknownOnes) {
  EXPECT_EQ(Lagrangian::from_name("lse").kind, LagrangianKind::LogSumExp);
  EXPECT_EQ(Lagrangian::from_name("relu", 2.0).beta, 2.0);
  EXPECT_THROW(Lagrangian::from_name("softsign"), std::invalid_argument);
  EXPECT_THROW(Lagrangian::from_name("tanh", 0.0), std::invalid_argument);
}

TEST(Lagrangian, IsStableForLargeArguments) {
  const Eigen::VectorXd x = (Eigen::VectorXd(3) << -800.0, 0.0, 800.0).finished();
  for (auto kind : kAllLagrangians) {
    const Lagrangian lag{kind, 1.0};
    Eigen::VectorXd g(3);
    lag.activation(x, g);
    EXPECT_TRUE(std::isfinite(lag.value(x))) << lag.name();
    EXPECT_TRUE(g.allFinite()) << lag.name();
  }
}

class HopfieldIdentities : public ::testing::TestWithParam<LagrangianKind> {};

TEST_P(HopfieldIdentities, EnergyGradientMatchesCentralDifferences) {
  for (std::uint64_t seed : {11, 12, 13}) {
    Rng rng(seed);
    const Hopfield hop = test::random_hopfield(rng, 15, GetParam());
    const Eigen::VectorXd x = normal_vector(rng, 15, 1.0);
    const auto fd =
        central_difference_gradient([&](const Eigen::VectorXd& y) { return hop.energy(y); }, x);
    EXPECT_TRUE(vectors_near_rel(hop.energy_gradient(x), fd, kFdRelTol)) << "seed " << seed;
  }
}

TEST_P(HopfieldIdentities, GradientIsMinusHessianTimesVelocityAndDissipationHolds) {
  for (std::uint64_t seed : {21, 22, 23}) {
    Rng rng(seed);
    const Hopfield hop = test::random_hopfield(rng, 15, GetParam());
    const Eigen::VectorXd x = normal_vector(rng, 15, 1.0);
    Eigen::VectorXd xdot(15);
    hop(x, xdot, 0.0);
    const Eigen::MatrixXd h = hop.lagrangian().hessian(x);
    EXPECT_TRUE(
        vectors_near_rel(hop.energy_gradient(x), -h * xdot, kExactRelTol));  // (H3) first half
    const double rate = test::energy_rate(hop, x);
    EXPECT_TRUE(near_rel(rate, hop.dissipation(x), kExactRelTol));  // (H3) second half
    EXPECT_LE(hop.dissipation(x), 0.0);
    // Independently of the analytic gradient: the energy's derivative along the flow.
    const double fd = test::directional_derivative(
        [&](const Eigen::VectorXd& y) { return hop.energy(y); }, x, xdot);
    EXPECT_TRUE(near_rel(fd, hop.dissipation(x), kFdRelTol));
  }
}

TEST_P(HopfieldIdentities, EnergyPartsAddUpToTheEnergy) {
  Rng rng(31);
  const Hopfield hop = test::random_hopfield(rng, 10, GetParam());
  const Eigen::VectorXd x = normal_vector(rng, 10, 1.0);
  double sum = 0;
  for (const auto& p : hop.energy_parts(x)) sum += p.value;
  EXPECT_TRUE(near_rel(sum, hop.energy(x), 1e-14));
  EXPECT_TRUE(hop.lyapunov().guaranteed);
}

INSTANTIATE_TEST_SUITE_P(AllLagrangians, HopfieldIdentities, ::testing::ValuesIn(kAllLagrangians),
                         [](const auto& info) {
                           return std::string(Lagrangian{info.param, 1.0}.name());
                         });

TEST(Hopfield, WeightsAreSymmetrised) {
  Rng rng(1);
  const Eigen::MatrixXd w = normal_matrix(rng, 6, 6);
  const Hopfield hop(w, {}, Lagrangian{});
  EXPECT_EQ((hop.w_sym() - hop.w_sym().transpose()).cwiseAbs().maxCoeff(), 0.0);
  EXPECT_TRUE(
      vectors_near_rel(hop.w_sym().reshaped(), (0.5 * (w + w.transpose())).reshaped(), 1e-15));
}

TEST(Hopfield, RejectsMismatchedShapes) {
  EXPECT_THROW(Hopfield(Eigen::MatrixXd::Zero(3, 4), {}, Lagrangian{}), std::invalid_argument);
  EXPECT_THROW(Hopfield(Eigen::MatrixXd::Zero(3, 3), Eigen::VectorXd::Zero(2), Lagrangian{}),
               std::invalid_argument);
}

TEST(Hopfield, HebbianWeightsAreSymmetricWithZeroDiagonalAndStorePatterns) {
  Rng rng(2);
  const Eigen::MatrixXd xi = random_pm1(rng, 3, 400);
  const Eigen::MatrixXd w = hebbian_weights(xi);
  EXPECT_EQ(w.diagonal().cwiseAbs().maxCoeff(), 0.0);
  EXPECT_EQ((w - w.transpose()).cwiseAbs().maxCoeff(), 0.0);
  // W ξ¹ = (1 − 1/N) ξ¹ + crosstalk of size ~sqrt(P/N): the sign of every unit is kept at this
  // load.
  const Eigen::VectorXd field = w * xi.row(0).transpose();
  EXPECT_EQ((field.array() * xi.row(0).transpose().array() > 0).count(), 400);
  const Eigen::VectorXd m = pattern_overlaps(xi, xi.row(1).transpose());
  EXPECT_DOUBLE_EQ(m[1], 1.0);
  EXPECT_LT(std::abs(m[0]), 0.25);  // independent patterns: overlap ~ N(0, 1/400)
}

TEST(Hopfield, HierarchicalWeightsReproduceTheLayeredEnergy) {
  Rng rng(3);
  const std::vector<Eigen::MatrixXd> layers{normal_matrix(rng, 4, 6), normal_matrix(rng, 3, 4)};
  const Eigen::MatrixXd w = hierarchical_weights(layers);
  ASSERT_EQ(w.rows(), 13);
  const Hopfield hop(w, {}, Lagrangian{LagrangianKind::Sigmoid, 1.0});
  const Eigen::VectorXd x = normal_vector(rng, 13);
  Eigen::VectorXd g(13);
  hop.lagrangian().activation(x, g);
  const double layered =
      -(g.segment(6, 4).dot(layers[0] * g.head(6)) + g.tail(3).dot(layers[1] * g.segment(6, 4)));
  EXPECT_TRUE(near_rel(hop.energy_parts(x)[2].value, layered, 1e-14));
  // Block tridiagonal: layer 0 does not touch layer 2.
  EXPECT_EQ(w.block(0, 10, 6, 3).cwiseAbs().maxCoeff(), 0.0);
  EXPECT_THROW(hierarchical_weights({normal_matrix(rng, 4, 6), normal_matrix(rng, 3, 5)}),
               std::invalid_argument);
}

TEST(Hopfield, WarnsWhenReluEnergyMayBeUnboundedBelow) {
  Rng rng(4);
  const Eigen::MatrixXd strong = 3.0 * random_symmetric_weights(rng, 40, 1.0);  // λ_max ≈ 6 > 1
  const Eigen::MatrixXd weak = 0.2 * random_symmetric_weights(rng, 40, 1.0);  // λ_max ≈ 0.4 < 1
  const Guarantee s = Hopfield(strong, {}, Lagrangian{LagrangianKind::Relu, 1.0}).lyapunov();
  EXPECT_TRUE(s.guaranteed);         // still non-increasing ...
  ASSERT_EQ(s.warnings.size(), 1u);  // ... but perhaps without a floor
  EXPECT_NE(s.warnings[0].find("copositive"), std::string::npos);
  EXPECT_TRUE(
      Hopfield(weak, {}, Lagrangian{LagrangianKind::Relu, 1.0}).lyapunov().warnings.empty());
  EXPECT_TRUE(
      Hopfield(strong, {}, Lagrangian{LagrangianKind::Tanh, 1.0}).lyapunov().warnings.empty());
}

TEST(Hopfield, ReluEnergyReallyDivergesWhenTheWarningFires) {
  // W_s = 2·11ᵀ/N has λ_max = 2: along x = t·1, E = ½‖g‖²(1 − 2) → −∞.
  const Index n = 8;
  const Hopfield hop(Eigen::MatrixXd::Constant(n, n, 2.0 / n), {},
                     Lagrangian{LagrangianKind::Relu, 1.0});
  EXPECT_FALSE(hop.lyapunov().warnings.empty());
  EXPECT_LT(hop.energy(Eigen::VectorXd::Constant(n, 100.0)),
            hop.energy(Eigen::VectorXd::Constant(n, 10.0)) - 1e4);
}

}  // namespace
}  // namespace hkam
