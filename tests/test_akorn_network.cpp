// The AKOrN layer stack (hkam::akorn): invariants and identities of the K-layer, weights by name,
// and the object-discovery metrics on hand-made cases. Equivalence with an independent
// reference is tested in tests/python/akorn_network.py.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "analysis/segmentation.hpp"
#include "hkam/akorn/networks.hpp"
#include "io/akorn_weights.hpp"

namespace hkam::akorn {
namespace {

template <class T>
Mat<T> random_map(Rng& rng, Index rows, Index cols, double scale = 1.0) {
  return normal_matrix(rng, rows, cols, scale).cast<T>();
}

/// A conv K-layer whose kernel is symmetric (W[o][i][Δ] = W[i][o][−Δ]) with zero bias: then
/// −½ x·Jx − c̃·x is a Lyapunov function of the projected flow.
ParamStore symmetric_conv_params(const KLayer<double>& k, std::uint64_t seed) {
  std::vector<ParamSpec> specs;
  k.specs(specs, "");
  ParamStore p = ParamStore::initialise(specs, seed);
  const Index C = k.config().channels, kk = k.config().kernel;
  p.set("connectivity.weight", {C, C, kk, kk},
        symmetrized_conv_weight(p.get("connectivity.weight", {C, C, kk, kk})));
  p.set("connectivity.bias", {C}, std::vector<double>(static_cast<std::size_t>(C), 0.0));
  return p;
}

KLayerConfig conv_config(Index kernel = 3) {
  KLayerConfig c;
  c.channels = 8;
  c.osc_dim = 4;
  c.height = 6;
  c.width = 5;
  c.connectivity = Connectivity::Conv;
  c.kernel = kernel;
  c.c_norm = StimulusNorm::GroupNorm;
  return c;
}

TEST(AkornKLayer, NormsStayOneInBothPrecisions) {
  for (const bool attention : {false, true}) {
    KLayerConfig c = conv_config();
    c.use_omega = true;
    if (attention) {
      c.connectivity = Connectivity::Attention;
      c.heads = 2;
    }
    Rng rng(5);
    const Grid g{c.height, c.width, 3};
    std::vector<ParamSpec> specs;
    KLayer<float> kf(c);
    KLayer<double> kd(c);
    kf.specs(specs, "");
    const ParamStore p = ParamStore::initialise(specs, 11);
    kf.load(p, "");
    kd.load(p, "");
    const Eigen::MatrixXd x0 = normal_matrix(rng, c.channels, g.columns()) * 3.0;
    const Eigen::MatrixXd stim = normal_matrix(rng, c.channels, g.columns());
    Mat<float> xf = x0.cast<float>();
    Mat<double> xd = x0;
    kf.forward(xf, stim.cast<float>(), g, 7, 1.0f);
    kd.forward(xd, stim, g, 7, 1.0);
    for (Index j = 0; j < g.columns(); ++j)
      for (Index o = 0; o < 2; ++o) {
        EXPECT_NEAR(xd.col(j).segment(4 * o, 4).norm(), 1.0, 1e-14);
        EXPECT_NEAR(xf.col(j).segment(4 * o, 4).norm(), 1.0f, 1e-6f);
      }
    EXPECT_LT((xf.cast<double>() - xd).cwiseAbs().maxCoeff(), 1e-4) << "float vs double";
  }
}

TEST(AkornKLayer, SymmetricConvEnergyNeverIncreasesAndAsymmetricCanRise) {
  KLayerConfig c = conv_config();
  c.use_omega = true;  // with ω = 0: the plain projected Euler step
  c.init_omega = 0.0;
  KLayer<double> k(c);
  k.load(symmetric_conv_params(k, 3), "");
  Rng rng(9);
  const Grid g{c.height, c.width, 4};
  Mat<double> x = normal_matrix(rng, c.channels, g.columns());
  const Mat<double> stim = normal_matrix(rng, c.channels, g.columns());
  const LayerEnergies e = k.forward(x, stim, g, 80, 0.05);
  for (Index b = 0; b < g.batch; ++b)
    for (Index t = 0; t < 80; ++t)
      EXPECT_LE(e.energy(t + 1, b), e.energy(t, b) + 1e-12) << "sample " << b << " step " << t;
  EXPECT_LT(e.energy(80, 0), e.energy(0, 0) - 0.1);

  // Negative control: the same layer with its random (asymmetric) kernel and a large step.
  KLayer<double> a(c);
  std::vector<ParamSpec> specs;
  a.specs(specs, "");
  ParamStore p = ParamStore::initialise(specs, 3);
  auto strong = p.get("connectivity.weight", {8, 8, 3, 3}).values;
  for (auto& v : strong) v *= 6.0;
  p.set("connectivity.weight", {8, 8, 3, 3}, strong);
  a.load(p, "");
  long rises = 0;
  for (int trial = 0; trial < 4; ++trial) {
    Mat<double> xa = normal_matrix(rng, c.channels, g.columns());
    const LayerEnergies ea = a.forward(xa, stim, g, 30, 1.0);
    for (Index b = 0; b < g.batch; ++b)
      for (Index t = 0; t < 30; ++t) rises += ea.energy(t + 1, b) > ea.energy(t, b) + 1e-9;
  }
  EXPECT_GT(rises, 0) << "an asymmetric J with a large step should let the energy rise";
}

TEST(AkornKLayer, IdentityOmegaQuirkIsAStepOfGammaOverOnePlusGamma) {
  KLayerConfig quirk = conv_config(1);
  KLayerConfig plain = quirk;
  plain.use_omega = true;
  plain.init_omega = 0.0;
  KLayer<double> kq(quirk), kp(plain);
  std::vector<ParamSpec> specs;
  kp.specs(specs, "");
  const ParamStore p = ParamStore::initialise(specs, 4);
  kq.load(p, "");
  kp.load(p, "");
  Rng rng(2);
  const Grid g{quirk.height, quirk.width, 2};
  Mat<double> xq = normal_matrix(rng, 8, g.columns());
  Mat<double> xp = xq;
  const Mat<double> stim = normal_matrix(rng, 8, g.columns());
  const double gamma = 1.0;
  kq.forward(xq, stim, g, 12, gamma);
  kp.forward(xp, stim, g, 12, gamma / (1 + gamma));
  EXPECT_LT((xq - xp).cwiseAbs().maxCoeff(), 1e-12);
}

TEST(AkornKLayer, OmegaIsTangentAndEnergyBookkeepingMatchesTheReference) {
  KLayerConfig c = conv_config();
  c.use_omega = true;
  c.init_omega = 0.8;
  KLayer<double> k(c);
  std::vector<ParamSpec> specs;
  k.specs(specs, "");
  k.load(ParamStore::initialise(specs, 6), "");
  EXPECT_NEAR(k.omega()[0], 0.8, 1e-15);  // ‖init/√2 · (1, 1)‖ = init
  Rng rng(1);
  const Grid g{c.height, c.width, 2};
  Mat<double> x = normal_matrix(rng, 8, g.columns());
  k.normalize(x);
  Mat<double> zero = Mat<double>::Zero(8, g.columns()), dx;
  k.velocity(x, zero, dx);  // y = 0: dx = Ωx only
  for (Index j = 0; j < g.columns(); ++j)
    for (Index o = 0; o < 2; ++o)
      EXPECT_NEAR(dx.col(j).segment(4 * o, 4).dot(x.col(j).segment(4 * o, 4)), 0.0, 1e-15);
  EXPECT_DOUBLE_EQ(dx(0, 0), 0.8 * x(1, 0));
  EXPECT_DOUBLE_EQ(dx(1, 0), -0.8 * x(0, 0));
  // e_0 = 0 and e_{t+1} = −Σ x_t ⊙ (J x_t + c̃) per sample
  const Mat<double> stim = normal_matrix(rng, 8, g.columns());
  Mat<double> x0 = x;
  const LayerEnergies e = k.forward(x, stim, g, 3, 0.5);
  EXPECT_EQ(e.proxy.rows(), 4);
  EXPECT_EQ(e.proxy(0, 1), 0.0);
  Mat<double> ct, y;
  k.normalize_stimulus(stim, g, ct);
  k.coupling(x0, g, y);
  y += ct;
  const double want = -(x0.leftCols(g.positions()).cwiseProduct(y.leftCols(g.positions()))).sum();
  EXPECT_NEAR(e.proxy(1, 0), want, 1e-12 * std::abs(want));
}

TEST(AkornKLayer, DiscreteStepsConvergeToTheContinuousFlowAtFirstOrder) {
  KLayerConfig c = conv_config();
  c.use_omega = true;
  c.init_omega = 0.6;
  KLayer<double> k(c);
  std::vector<ParamSpec> specs;
  k.specs(specs, "");
  k.load(ParamStore::initialise(specs, 8), "");
  Rng rng(3);
  const Grid g{c.height, c.width, 2};
  const Mat<double> x0 = normal_matrix(rng, 8, g.columns());
  const Mat<double> stim = normal_matrix(rng, 8, g.columns());
  SimulateOptions o;
  o.rtol = 1e-11;
  o.atol = 1e-12;
  Mat<double> xf = x0;
  Summary sum;
  const LayerEnergies ef = k.flow(xf, stim, g, 4, 0.25, o, {}, &sum);  // t = 1 in 4 samples
  EXPECT_GT(sum.steps, 4);
  double prev = 0;
  for (const int steps : {40, 80, 160}) {
    Mat<double> xd = x0;
    k.forward(xd, stim, g, steps, 1.0 / steps);
    const double err = (xd - xf).cwiseAbs().maxCoeff();
    if (prev > 0) {
      EXPECT_NEAR(prev / err, 2.0, 0.15) << "Euler + renormalisation is first order";
    }
    prev = err;
  }
  EXPECT_LT(prev, 2e-2);
  // symmetric J without rotation: the flow dissipates the true energy at every sample
  KLayerConfig sc = conv_config();
  sc.use_omega = true;
  sc.init_omega = 0.0;
  KLayer<double> sk(sc);
  sk.load(symmetric_conv_params(sk, 2), "");
  Mat<double> xs = x0;
  const LayerEnergies es = sk.flow(xs, stim, g, 20, 0.1, o);
  for (Index b = 0; b < g.batch; ++b)
    for (Index t = 0; t < 20; ++t) EXPECT_LT(es.energy(t + 1, b), es.energy(t, b));
  (void)ef;
  Mat<float> xfl = x0.cast<float>();
  KLayer<float> kf(c);
  EXPECT_THROW(kf.flow(xfl, stim.cast<float>(), g, 2, 0.1, o), std::invalid_argument);
}

TEST(AkornKLayer, TokenInputsAreTheImageLayerOnAOneRowGridWithLinearWeights) {
  // [B, tokens, C] with nn.Linear J (and attention weight="fc") must compute what the image
  // layer computes on a 1 × tokens grid with the same numbers in [out, in, 1, 1] weights.
  for (const auto J : {Connectivity::Conv, Connectivity::Attention}) {
    KLayerConfig img = conv_config(1);
    img.connectivity = J;
    img.heads = 2;
    img.gta = false;
    img.height = 1;
    img.width = 7;
    img.use_omega = true;
    KLayerConfig tok = img;
    tok.tokens = true;
    KLayer<double> ki(img), kt(tok);
    std::vector<ParamSpec> si, st;
    ki.specs(si, "");
    kt.specs(st, "");
    const ParamStore pi = ParamStore::initialise(si, 9);
    ParamStore pt;
    for (const auto& s : st) {  // same values, linear shapes
      const std::string& name = s.name;
      pt.set(name, s.shape, pi.all().at(name).values);
      if (name.find("connectivity") != std::string::npos &&
          name.find("weight") != std::string::npos) {
        EXPECT_EQ(s.shape.size(), 2u) << name;
        EXPECT_EQ(pi.all().at(name).shape.size(), 4u) << name;
      }
    }
    EXPECT_TRUE(pt.check(st).empty());
    EXPECT_FALSE(pi.check(st).empty()) << "4-D weights must not load as a token layer";
    ki.load(pi, "");
    kt.load(pt, "");
    Rng rng(4);
    const Grid g{1, 7, 3};
    Mat<double> xi = normal_matrix(rng, 8, g.columns()), xt = xi;
    const Mat<double> c = normal_matrix(rng, 8, g.columns());
    const LayerEnergies ei = ki.forward(xi, c, g, 5, 0.7), et = kt.forward(xt, c, g, 5, 0.7);
    EXPECT_EQ((xi - xt).cwiseAbs().maxCoeff(), 0.0);
    EXPECT_EQ((ei.energy - et.energy).cwiseAbs().maxCoeff(), 0.0);
  }
  KLayerConfig bad = conv_config(3);
  bad.tokens = true;
  bad.height = 1;
  EXPECT_THROW(KLayer<double>{bad}, std::invalid_argument);
}

TEST(AkornKLayer, RejectsOddOscillatorsWithOmegaAndBadSizes) {
  KLayerConfig c = conv_config();
  c.osc_dim = 3;
  c.channels = 9;
  c.use_omega = true;
  EXPECT_THROW(KLayer<double>{c}, std::invalid_argument);
  c = conv_config();
  c.channels = 10;  // not a multiple of n = 4
  EXPECT_THROW(KLayer<double>{c}, std::invalid_argument);
  c = conv_config();
  c.connectivity = Connectivity::Attention;
  c.heads = 3;
  EXPECT_THROW(KLayer<double>{c}, std::invalid_argument);
}

TEST(AkornParams, CheckNamesEveryMissingExtraAndMisshapenParameter) {
  ObjectNetConfig oc;
  oc.channels = 16;
  oc.imsize = 8;
  oc.psize = 2;
  oc.heads = 4;
  ObjectNet<float> net(oc);
  const auto specs = net.specs();
  ParamStore p = ParamStore::initialise(specs, 1);
  EXPECT_TRUE(p.check(specs).empty());
  p.set("layers.0.0.connectivity.W_o.bias", {8}, std::vector<double>(8, 0.0));
  p.set("bogus", {2}, {1.0, 2.0});
  ParamStore q;
  for (const auto& [name, v] : p.all())
    if (name != "gamma") q.set(name, v.shape, v.values);
  const auto problems = q.check(specs);
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_NE(std::find(problems.begin(), problems.end(), "missing 'gamma' [1]"), problems.end());
  EXPECT_NE(std::find(problems.begin(), problems.end(), "unexpected 'bogus' [2]"), problems.end());
  EXPECT_NE(std::find(problems.begin(), problems.end(),
                      "'layers.0.0.connectivity.W_o.bias' has shape [8], expected [16]"),
            problems.end());
  EXPECT_THROW(net.load(q), std::invalid_argument);
}

Index parameter_count(const std::vector<ParamSpec>& specs) {
  Index n = 0;
  for (const auto& s : specs) n += s.size();
  return n;
}

TEST(AkornParams, ParameterCountsMatchTheReferenceModels) {
  // The reference's counts (trainable, plus the frozen γ of the object model), as instantiated
  // from its code: CLEVRTex L = 1 and 2 (C = 256, attention + GTA, GroupNorm, 16×16),
  // Tetrominoes attention (C = 128, no c_norm, 8×8), Sudoku as released (C = 512).
  ObjectNetConfig o;
  o.channels = 256;
  o.imsize = 128;
  o.psize = 8;
  EXPECT_EQ(parameter_count(ObjectNet<float>(o).specs()), 1167616 + 1);
  o.blocks = 2;
  EXPECT_EQ(parameter_count(ObjectNet<float>(o).specs()), 1760256 + 1);
  ObjectNetConfig t;
  t.channels = 128;
  t.imsize = 32;
  t.psize = 4;
  t.c_norm = StimulusNorm::None;
  EXPECT_EQ(parameter_count(ObjectNet<float>(t).specs()), 278400 + 1);
  EXPECT_EQ(parameter_count(SudokuNet<float>(SudokuNetConfig{}).specs()), 2982412);
  // CIFAR-10 (C = 64/128/256, n = 2, conv J 9/7/5, BatchNorm): 7,023,760 trainable; the specs
  // also hold γ, the BatchNorm buffers and the shared strided conv under its second name.
  Index trainable = 0;
  std::set<std::string> seen;
  for (const auto& s : CifarNet<float>(CifarNetConfig{}).specs()) {
    const bool buffer = s.name == "gamma" || s.name.find("running_") != std::string::npos ||
                        s.name.find("num_batches_tracked") != std::string::npos;
    const bool second_name = s.name.find(".0.1.") != std::string::npos &&
                             s.name.rfind("layers.", 0) == 0 && s.name.size() < 20;
    if (!buffer && !second_name) trainable += s.size();
    seen.insert(s.name);
  }
  EXPECT_EQ(trainable, 7023760);
  EXPECT_TRUE(seen.count("layers.1.0.1.weight") && seen.count("layers.2.3.2.fn.0.running_var"));
  // Sudoku with nl = false: the readout alone, 3 × (C² + C) FF/post parameters fewer.
  SudokuNetConfig plain;
  plain.nl = false;
  EXPECT_EQ(parameter_count(SudokuNet<float>(plain).specs()), 2982412 - 3 * (512 * 512 + 512));
}

// The reference expands a kernel list of another length than L to [ksizes[0]] * L.
TEST(AkornNetworks, CifarKernelListOfAnotherLengthMeansItsFirstForEveryBlock) {
  CifarNetConfig c;
  c.kernels = {9, 7};
  EXPECT_EQ(CifarNet<float>(c).config().kernels, (std::vector<Index>{9, 9, 9}));
  c.kernels = {5};
  EXPECT_EQ(CifarNet<float>(c).config().kernels, (std::vector<Index>{5, 5, 5}));
  c.kernels = {3, 5, 7};
  EXPECT_EQ(CifarNet<float>(c).config().kernels, (std::vector<Index>{3, 5, 7}));
}

TEST(AkornParams, InitialisationFollowsTheReferenceAndSaveLoadRoundTrips) {
  SudokuNetConfig sc;
  sc.channels = 16;
  sc.heads = 2;
  SudokuNet<double> net(sc);
  const auto specs = net.specs();
  const ParamStore a = ParamStore::initialise(specs, 5), b = ParamStore::initialise(specs, 5);
  EXPECT_EQ(a.all().at("embedding.weight").values, b.all().at("embedding.weight").values);
  // Conv2d default: U(±1/√fan_in); GTA at position 0 is the identity; mat_o = Rᵀ
  const auto& w = a.get("layers.0.0.connectivity.W_qkv.weight", {48, 16, 1, 1}).values;
  for (double v : w) EXPECT_LE(std::abs(v), 0.25);
  const auto& mq = a.get("layers.0.0.connectivity.mat_q", {81, 4, 2, 2}).values;
  const auto& mo = a.get("layers.0.0.connectivity.mat_o", {81, 4, 2, 2}).values;
  EXPECT_EQ(mq[0], 1.0);
  EXPECT_EQ(mq[1], 0.0);
  const std::size_t t = (4 * 9 + 7) * 4 * 4;  // position (4, 7), pair 1 (column, f = 0)
  EXPECT_NEAR(mq[t + 4 + 2], std::sin(7.0), 1e-15);
  EXPECT_EQ(mo[t + 4 + 1], mq[t + 4 + 2]);
  const auto tmp = std::filesystem::temp_directory_path() / "hkam_params_roundtrip.h5";
  std::filesystem::remove(tmp);
  io::save_akorn_weights(a, tmp.string(), false);
  EXPECT_THROW(io::save_akorn_weights(a, tmp.string(), false), std::exception)
      << "never overwrites";
  const ParamStore c = io::load_akorn_weights(tmp.string());
  EXPECT_TRUE(c.check(specs).empty());
  EXPECT_EQ(c.all().at("x0").values, a.all().at("x0").values);
  std::filesystem::remove(tmp);
}

TEST(AkornMetrics, AverageLinkageDiffersFromSingleLinkageAsComputedByHand) {
  // 1-D points a … f; average linkage merges ef (0.4), ab (1.0), cd (1.2), then {cd}{ef} at 2.1
  // (< {ab}{cd} at 2.2); single linkage would join ab and cd first (1.1).
  Eigen::MatrixXd pts(1, 6);
  pts << 0.0, 1.0, 2.1, 3.3, 4.6, 5.0;
  const auto l = analysis::average_linkage(pts, 2);
  EXPECT_EQ(l, (std::vector<int>{0, 0, 1, 1, 1, 1}));
  EXPECT_EQ(analysis::average_linkage(pts, 6), (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(analysis::average_linkage(pts, 1), (std::vector<int>(6, 0)));
}

TEST(AkornMetrics, MeanBestOverlapAndPcaByHand) {
  const std::vector<int> truth{0, 0, 1, 1, 2, 2, -1};
  const std::vector<int> pred{5, 5, 5, 7, 7, 7, 7};
  // object 1 = {2, 3}: best IoU 1/4 (either segment); object 2 = {4, 5}: segment 7 minus the
  // ignored pixel = {3, 4, 5}: 2/3
  EXPECT_NEAR(analysis::mean_best_overlap(truth, pred), (0.25 + 2.0 / 3.0) / 2, 1e-15);
  EXPECT_TRUE(std::isnan(analysis::mean_best_overlap({0, 0}, {1, 2})));
  // points on a line in 3-D: one principal component carries everything
  Eigen::MatrixXd p(3, 5);
  for (int i = 0; i < 5; ++i) {
    p(0, i) = (i - 2.0) / 3.0;
    p(1, i) = p(2, i) = 2.0 * (i - 2.0) / 3.0;
  }
  const Eigen::MatrixXd r = analysis::pca_reduce(p, 1);
  ASSERT_EQ(r.rows(), 1);
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(std::abs(r(0, i)), std::abs(i - 2.0), 1e-12);
}

}  // namespace
}  // namespace hkam::akorn

TEST(AkornResize, NearestUpsamplingFollowsTorchsSinglePrecisionIndexMap) {
  using hkam::analysis::nearest_upsample_index;
  // torch 1.13: nn.Upsample(scale_factor = 82/4, mode="nearest") maps rows 21…41 to cell 1 (the
  // exact ⌊o·4/82⌋ would put row 41 in cell 2: 1/scale rounds down in float)
  const auto m = nearest_upsample_index(4, 82);
  ASSERT_EQ(m.size(), 82u);
  EXPECT_EQ(m[20], 0);
  EXPECT_EQ(m[21], 1);
  EXPECT_EQ(m[41], 1);
  EXPECT_EQ(m[42], 2);
  EXPECT_EQ(m[81], 3);
  EXPECT_EQ(nearest_upsample_index(6, 13),
            (std::vector<hkam::Index>{0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5}));
  EXPECT_EQ(nearest_upsample_index(5, 10),
            (std::vector<hkam::Index>{0, 0, 1, 1, 2, 2, 3, 3, 4, 4}));
  EXPECT_EQ(nearest_upsample_index(3, 3), (std::vector<hkam::Index>{0, 1, 2}));
  // torch's output is 14 rows for 15 (11·(15/11) = 14.999…): the reference's metrics fail
  EXPECT_TRUE(nearest_upsample_index(11, 15).empty());
}

TEST(AkornResize, BilinearIsTorchsHalfPixelInterpolationWithClampedEdges) {
  using hkam::akorn::resize_bilinear;
  // one row 2 → 4 columns, two channels: sources −¼ (clamped to 0), ¼, ¾, 1¼ (upper tap clamped)
  const std::vector<double> in{1, 10, 3, 30};  // [x][c]
  const auto up = resize_bilinear(in.data(), 2, 1, 2, 1, 4);
  const std::vector<double> want{1, 10, 1.5, 15, 2.5, 25, 3, 30};
  ASSERT_EQ(up.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_DOUBLE_EQ(up[i], want[i]) << i;
  // 4 → 2: sources ½ and 2½, the means of neighbouring pairs
  const std::vector<double> row{0, 2, 4, 8};
  const auto down = resize_bilinear(row.data(), 1, 1, 4, 1, 2);
  EXPECT_DOUBLE_EQ(down[0], 1);
  EXPECT_DOUBLE_EQ(down[1], 6);
  // the same size is the identity
  const std::vector<float> img{0.1f, 0.7f, 0.3f, 0.9f, 0.2f, 0.4f};
  EXPECT_EQ(resize_bilinear(img.data(), 1, 2, 3, 2, 3), img);
}

TEST(AkornNetworks, GtaMatricesAreResizedForAnotherInputSizeAndPembsAreRefused) {
  using namespace hkam::akorn;
  ObjectNetConfig c;
  c.channels = 8;
  c.osc_dim = 4;
  c.heads = 2;
  c.psize = 2;
  c.imsize = 8;
  c.input_size = 12;
  c.steps = {2};
  ObjectNet<double> net(c);
  EXPECT_EQ(net.grid(1).height, 6);  // the input's grid; the GTA matrices are for 4 × 4
  c.autorescale = true;
  EXPECT_EQ(ObjectNet<double>(c).grid(1).height, 4);
  c.autorescale = false;
  c.gta = false;  // positional embeddings of the 4 × 4 grid cannot be added on 6 × 6
  EXPECT_THROW(ObjectNet<double>{c}, std::invalid_argument);
  c.imsize = 13;  // not a multiple of psize: the remainder is left out, as the strided conv does
  c.input_size = 0;
  EXPECT_EQ(ObjectNet<double>(c).grid(1).height, 6);
}
