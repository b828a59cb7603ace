#include <gtest/gtest.h>

#include <Eigen/LU>
#include <cmath>
#include <numeric>

#include "hkam/random.hpp"

namespace hkam {
namespace {

TEST(Rng, FirstOutputsMatchAnIndependentXoshiroImplementation) {
  // Values from a separate Python implementation of SplitMix64 seeding + xoshiro256**, seed 42.
  Rng rng(42);
  EXPECT_EQ(rng.next_u64(), 0x15780b2e0c2ec716ULL);
  EXPECT_EQ(rng.next_u64(), 0x6104d9866d113a7eULL);
  EXPECT_EQ(rng.next_u64(), 0xae17533239e499a1ULL);
}

TEST(Rng, SameSeedGivesSameNumbersAndDifferentSeedsDiffer) {
  Rng a(7), b(7), c(8);
  for (int k = 0; k < 100; ++k) {
    const double x = a.normal();
    EXPECT_EQ(x, b.normal());
    if (k == 0) {
      EXPECT_NE(x, c.normal());
    }
  }
}

TEST(Rng, UniformHasTheMomentsOfU01) {
  Rng rng(1);
  constexpr int kN = 200000;
  double sum = 0, sum2 = 0, lo = 1, hi = 0;
  for (int k = 0; k < kN; ++k) {
    const double u = rng.uniform();
    sum += u;
    sum2 += u * u;
    lo = std::min(lo, u);
    hi = std::max(hi, u);
  }
  // Mean 1/2 with standard error sqrt(1/12/N) ≈ 6.5e-4: 5 standard errors.
  EXPECT_NEAR(sum / kN, 0.5, 5 * std::sqrt(1.0 / 12 / kN));
  EXPECT_NEAR(sum2 / kN - std::pow(sum / kN, 2), 1.0 / 12, 2e-3);
  EXPECT_GE(lo, 0.0);
  EXPECT_LT(hi, 1.0);
}

TEST(Rng, NormalHasZeroMeanUnitVarianceAndGaussianTails) {
  Rng rng(2);
  constexpr int kN = 200000;
  double sum = 0, sum2 = 0;
  int beyond2 = 0;
  for (int k = 0; k < kN; ++k) {
    const double z = rng.normal();
    sum += z;
    sum2 += z * z;
    beyond2 += std::abs(z) > 2.0;
  }
  EXPECT_NEAR(sum / kN, 0.0, 5 / std::sqrt(double(kN)));
  EXPECT_NEAR(sum2 / kN, 1.0, 5 * std::sqrt(2.0 / kN));
  // P(|Z| > 2) = 0.0455; binomial standard error ≈ 4.7e-4.
  EXPECT_NEAR(double(beyond2) / kN, 0.0455, 5 * 4.7e-4);
}

TEST(Rng, BelowIsUniformOverItsRange) {
  Rng rng(3);
  std::vector<int> counts(7, 0);
  constexpr int kN = 70000;
  for (int k = 0; k < kN; ++k) ++counts[rng.below(7)];
  double chi2 = 0;
  for (int c : counts) chi2 += std::pow(c - kN / 7.0, 2) / (kN / 7.0);
  EXPECT_LT(chi2, 22.5);  // chi-square with 6 degrees of freedom: P(> 22.5) ≈ 0.001
}

TEST(Rng, DerivedStreamsAreDistinctAndStable) {
  EXPECT_EQ(Rng::derive(5, 1), Rng::derive(5, 1));
  EXPECT_NE(Rng::derive(5, 1), Rng::derive(5, 2));
  EXPECT_NE(Rng::derive(5, 1), Rng::derive(6, 1));
}

TEST(RandomGeometry, UnitRowsLieOnTheSphere) {
  Rng rng(4);
  const Eigen::MatrixXd s = random_unit_rows(rng, 50, 5);
  for (Eigen::Index i = 0; i < 50; ++i) EXPECT_NEAR(s.row(i).norm(), 1.0, 1e-15);
}

TEST(RandomGeometry, RotationsAreOrthogonalWithUnitDeterminant) {
  Rng rng(5);
  for (int d = 2; d <= 6; ++d) {
    const Eigen::MatrixXd r = random_rotation(rng, d);
    EXPECT_LT((r.transpose() * r - Eigen::MatrixXd::Identity(d, d)).cwiseAbs().maxCoeff(), 1e-14);
    EXPECT_NEAR(r.determinant(), 1.0, 1e-13);
  }
}

TEST(RandomGeometry, SkewMatricesAreSkewAndPatternsArePlusMinusOne) {
  Rng rng(6);
  const Eigen::MatrixXd w = random_skew(rng, 4, 1.0);
  EXPECT_EQ((w + w.transpose()).cwiseAbs().maxCoeff(), 0.0);
  EXPECT_NE(w.cwiseAbs().maxCoeff(), 0.0);
  const Eigen::MatrixXd p = random_pm1(rng, 10, 1000);
  EXPECT_EQ(p.cwiseAbs().minCoeff(), 1.0);
  EXPECT_EQ(p.cwiseAbs().maxCoeff(), 1.0);
  EXPECT_LT(std::abs(p.mean()), 0.05);  // 10000 fair signs: standard error 0.01
}

}  // namespace
}  // namespace hkam
