// The convolutional AKOrN K-layer (ConvAkorn) against direct computations, its energy identities,
// the reference's Omega quirk, and the segmentation metrics.
#include <gtest/gtest.h>

#include "analysis/segmentation.hpp"
#include "support/numeric.hpp"

namespace hkam {
namespace {

using test::near_rel;
using test::vectors_near_rel;

ConvAkornSpec random_spec(Rng& rng, Index c, Index n, Index h, Index w, Index k) {
  ConvAkornSpec s;
  s.channels = c;
  s.osc_dim = n;
  s.height = h;
  s.width = w;
  s.kernel = k;
  s.weight = normal_matrix(rng, c, c * k * k, 0.4);
  s.bias = normal_vector(rng, c, 0.2);
  s.stimulus = normal_matrix(rng, c, h * w, 0.5);
  return s;
}

void symmetrize(ConvAkornSpec& s) {
  s.weight = symmetrized_kernel(s.weight, s.channels, s.kernel);
}

// PyTorch's Conv2d (cross-correlation, zero padding k/2) written out directly on [C][H][W] data.
Eigen::VectorXd direct_conv(const ConvAkornSpec& s, const Eigen::VectorXd& x) {
  const Index c = s.channels, h = s.height, w = s.width, k = s.kernel, r = k / 2;
  Eigen::VectorXd out = Eigen::VectorXd::Zero(x.size());
  for (Index o = 0; o < c; ++o)
    for (Index y = 0; y < h; ++y)
      for (Index xx = 0; xx < w; ++xx) {
        double acc = 0;
        for (Index i = 0; i < c; ++i)
          for (Index ky = 0; ky < k; ++ky)
            for (Index kx = 0; kx < k; ++kx) {
              const Index qy = y + ky - r, qx = xx + kx - r;
              if (qy < 0 || qy >= h || qx < 0 || qx >= w) continue;
              acc += s.weight(o, (i * k + ky) * k + kx) * x[(qy * w + qx) * c + i];
            }
        out[(y * w + xx) * c + o] = acc;
      }
  return out;
}

class ConvLayer : public ::testing::TestWithParam<std::tuple<int, int>> {};  // kernel, n

TEST_P(ConvLayer, ConvolutionEqualsTheDirectSum) {
  const auto [k, n] = GetParam();
  Rng rng(11);
  const ConvAkornSpec s = random_spec(rng, 3 * n, n, 5, 7, k);
  const ConvAkorn layer(s);
  const Eigen::VectorXd x = test::random_sphere_state(rng, layer.layout().n_osc, n);
  Eigen::VectorXd y(x.size());
  layer.convolve(x, y);
  EXPECT_TRUE(vectors_near_rel(y, direct_conv(s, x), 1e-13));
}

TEST_P(ConvLayer, RightHandSideIsTangentAndEnergiesMatchTheirDefinitions) {
  const auto [k, n] = GetParam();
  Rng rng(12);
  const ConvAkornSpec s = random_spec(rng, 2 * n, n, 6, 4, k);
  const ConvAkorn layer(s);
  const Eigen::VectorXd x = test::random_sphere_state(rng, layer.layout().n_osc, n);
  Eigen::VectorXd f(x.size());
  layer(x, f, 0.0);
  for (Index o = 0; o < layer.layout().n_osc; ++o)
    EXPECT_NEAR(f.segment(o * n, n).dot(x.segment(o * n, n)), 0.0, 1e-13);
  const Eigen::VectorXd wx = direct_conv(s, x);
  Eigen::VectorXd drive(x.size());
  for (Index p = 0; p < 24; ++p)
    drive.segment(p * s.channels, s.channels) = s.stimulus.col(p) + s.bias;
  EXPECT_TRUE(near_rel(layer.energy(x), -0.5 * x.dot(wx) - drive.dot(x), 1e-13));
  EXPECT_TRUE(near_rel(layer.proxy_energy(x), -x.dot(wx + drive), 1e-13));
}

TEST_P(ConvLayer, SymmetricKernelDissipatesAtTheRateOfTheProjectedDrive) {
  // dE/dt = -sum_i |P_i y_i|^2 for a symmetric kernel without rotation (finite differences).
  const auto [k, n] = GetParam();
  Rng rng(13);
  ConvAkornSpec s = random_spec(rng, 2 * n, n, 5, 5, k);
  symmetrize(s);
  const ConvAkorn layer(s);
  ASSERT_TRUE(layer.lyapunov().guaranteed) << layer.lyapunov().reason;
  const Eigen::VectorXd x = test::random_sphere_state(rng, layer.layout().n_osc, n);
  Eigen::VectorXd f(x.size());
  layer(x, f, 0.0);
  const double rate =
      test::directional_derivative([&](const Eigen::VectorXd& y) { return layer.energy(y); }, x, f);
  EXPECT_TRUE(near_rel(rate, -f.squaredNorm(), 1e-6));
  EXPECT_LT(-f.squaredNorm(), 0.0);
}

INSTANTIATE_TEST_SUITE_P(KernelsAndDims, ConvLayer,
                         ::testing::Combine(::testing::Values(1, 3, 5), ::testing::Values(2, 4)));

TEST(ConvAkorn, AsymmetricKernelOrRotationOrNoProjectionIsNotGuaranteed) {
  Rng rng(14);
  ConvAkornSpec s = random_spec(rng, 8, 4, 4, 4, 3);
  EXPECT_GT(ConvAkorn(s).kernel_asymmetry(), 0.1);
  EXPECT_FALSE(ConvAkorn(s).lyapunov().guaranteed);
  symmetrize(s);
  EXPECT_LT(ConvAkorn(s).kernel_asymmetry(), 1e-15);
  EXPECT_TRUE(ConvAkorn(s).lyapunov().guaranteed);
  ConvAkornSpec rot = s;
  rot.omega = Eigen::VectorXd::Constant(1, 0.7);
  EXPECT_FALSE(ConvAkorn(rot).lyapunov().guaranteed);
  ConvAkornSpec unprojected = s;
  unprojected.project = false;
  EXPECT_FALSE(ConvAkorn(unprojected).lyapunov().guaranteed);
}

TEST(ConvAkorn, OmegaRotatesChannelPairsAsTheReferenceOmegaLayer) {
  // (a, b) -> (w b, -w a) per consecutive channel pair, tangent to every oscillator.
  Rng rng(15);
  ConvAkornSpec s = random_spec(rng, 8, 4, 3, 3, 1);
  s.weight.setZero();
  s.bias.setZero();
  s.stimulus.setZero();
  s.omega.resize(4);  // one per channel pair
  s.omega << 0.5, 1.0, 1.5, 2.0;
  const ConvAkorn layer(s);
  const Eigen::VectorXd x = test::random_sphere_state(rng, layer.layout().n_osc, 4);
  Eigen::VectorXd f(x.size());
  layer(x, f, 0.0);
  for (Index p = 0; p < 9; ++p)
    for (Index q = 0; q < 4; ++q) {
      const Index a = p * 8 + 2 * q;
      EXPECT_NEAR(f[a], s.omega[q] * x[a + 1], 1e-15);
      EXPECT_NEAR(f[a + 1], -s.omega[q] * x[a], 1e-15);
    }
}

TEST(ConvAkorn, IdentityOmegaQuirkIsTheProjectedUpdateWithStepGammaOverOnePlusGamma) {
  // The reference with use_omega=False adds x itself: normalize(x + g (x + v)) equals
  // normalize(x + g/(1+g) v).
  Rng rng(16);
  ConvAkornSpec s = random_spec(rng, 8, 4, 4, 5, 3);
  const ConvAkorn plain(s);
  s.omega_identity = true;
  const ConvAkorn quirk(s);
  const StateLayout lay = plain.layout();
  const Eigen::VectorXd x = test::random_sphere_state(rng, lay.n_osc, 4);
  Eigen::VectorXd fp(x.size()), fq(x.size());
  plain(x, fp, 0.0);
  quirk(x, fq, 0.0);
  const double g = 1.0;
  Eigen::VectorXd a = x + g * fq, b = x + g / (1 + g) * fp;
  renormalize(lay, a);
  renormalize(lay, b);
  EXPECT_TRUE(vectors_near_rel(a, b, 1e-14));
}

TEST(ConvAkorn, RejectsBadShapesWithClearMessages) {
  Rng rng(17);
  ConvAkornSpec s = random_spec(rng, 8, 4, 3, 3, 3);
  ConvAkornSpec odd = s;
  odd.channels = 6;
  EXPECT_THROW(ConvAkorn{odd}, std::invalid_argument);
  ConvAkornSpec even_kernel = s;
  even_kernel.kernel = 2;
  EXPECT_THROW(ConvAkorn{even_kernel}, std::invalid_argument);
  ConvAkornSpec odd_dim = random_spec(rng, 9, 3, 3, 3, 3);
  odd_dim.omega = Eigen::VectorXd::Constant(1, 1.0);
  EXPECT_THROW(ConvAkorn{odd_dim}, std::invalid_argument);
}

TEST(Segmentation, AdjustedRandIndexOnHandMadeLabellings) {
  using analysis::adjusted_rand_index;
  const std::vector<int> truth = {0, 0, 1, 1, 2, 2};
  EXPECT_DOUBLE_EQ(adjusted_rand_index(truth, truth), 1.0);
  EXPECT_DOUBLE_EQ(adjusted_rand_index(truth, {5, 5, 3, 3, 4, 4}), 1.0);  // names do not matter
  // truth {0,0,1,1} vs {0,1,0,1}: sum_ij C(n_ij,2) = 0, expected 2*2/6, max 2 -> -1/2.
  EXPECT_DOUBLE_EQ(adjusted_rand_index({0, 0, 1, 1}, {0, 1, 0, 1}), -0.5);
  // FG-ARI leaves out the background (truth 0): here the objects are split perfectly although
  // the background is mixed into object 1.
  EXPECT_DOUBLE_EQ(adjusted_rand_index(truth, {1, 2, 1, 1, 2, 2}, true), 1.0);
  EXPECT_LT(adjusted_rand_index(truth, {1, 2, 1, 1, 2, 2}), 1.0);
}

TEST(Segmentation, KMeansFindsWellSeparatedClustersAndShapesHaveTheirMasks) {
  Rng rng(18);
  Eigen::MatrixXd pts(2, 90);
  std::vector<int> truth;
  for (Index i = 0; i < 90; ++i) {
    const int c = static_cast<int>(i / 30);
    pts(0, i) = 5.0 * c + 0.3 * rng.normal();
    pts(1, i) = -3.0 * c + 0.3 * rng.normal();
    truth.push_back(c);
  }
  EXPECT_DOUBLE_EQ(analysis::adjusted_rand_index(truth, analysis::kmeans(pts, 3, rng)), 1.0);
  const analysis::Scene s = analysis::make_shapes(24, 20, 3, 0.0, rng);
  ASSERT_EQ(s.mask.size(), 24u * 20u);
  for (int o = 0; o <= 3; ++o)
    EXPECT_GT(std::count(s.mask.begin(), s.mask.end(), o), 0) << "label " << o;
  // Without noise every pixel of one label has one colour: k-means on colours is exact.
  EXPECT_DOUBLE_EQ(analysis::adjusted_rand_index(s.mask, analysis::kmeans(s.rgb, 4, rng)), 1.0);
}

}  // namespace
}  // namespace hkam
