// Training through the dynamics (`hkam train`): the IDX reader on good and malformed files, label
// edits and the context encoding on known examples, Lion and Adam against hand-computed updates,
// the gradient `hkam train` uses against finite differences of its loss, and a tiny training
// whose optimum is known.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "hkam/train/optim.hpp"
#include "run/train_spec.hpp"
#include "run/train_step.hpp"
#include "train/data.hpp"

namespace fs = std::filesystem;
using namespace hkam;

namespace {

fs::path temp_dir() {
  fs::path d = fs::temp_directory_path() / ("hkam_train_test_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

std::vector<std::uint8_t> idx_bytes(std::uint8_t type, std::vector<std::uint32_t> dims,
                                    const std::vector<std::uint8_t>& values) {
  std::vector<std::uint8_t> b{0, 0, type, static_cast<std::uint8_t>(dims.size())};
  for (auto d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(d >> s));
  b.insert(b.end(), values.begin(), values.end());
  return b;
}

std::string write_file(const std::string& name, const std::vector<std::uint8_t>& bytes,
                       bool gzip = false) {
  const std::string path = (temp_dir() / name).string();
  if (gzip) {
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
  } else {
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  }
  return path;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Idx, ReadsPlainAndGzipFiles) {
  const std::vector<std::uint8_t> px = {0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255};
  for (bool gz : {false, true}) {
    const auto a = train::read_idx(write_file(gz ? "a.gz" : "a", idx_bytes(8, {2, 2, 3}, px), gz));
    EXPECT_EQ(a.dims, (std::vector<std::uint32_t>{2, 2, 3}));
    EXPECT_EQ(a.values, px);
  }
}

TEST(Idx, MalformedFilesGiveClearErrors) {
  const std::vector<std::uint8_t> px(12, 7);
  auto bad = [&](const std::vector<std::uint8_t>& bytes) {
    return error_of([&] { train::read_idx(write_file("bad", bytes)); });
  };
  EXPECT_NE(bad(idx_bytes(0x0D, {2, 2, 3}, px)).find("not an IDX file of unsigned bytes"),
            std::string::npos);  // floats, not bytes
  EXPECT_NE(bad({1, 2}).find("shorter than its 4-byte magic"), std::string::npos);
  auto truncated = idx_bytes(8, {2, 2, 3}, px);
  truncated.resize(truncated.size() - 1);
  EXPECT_NE(bad(truncated).find("truncated: the header declares 12 values, the file has 11"),
            std::string::npos);
  auto header_cut = idx_bytes(8, {2, 2, 3}, {});
  header_cut.resize(9);
  EXPECT_NE(bad(header_cut).find("truncated in the header"), std::string::npos);
  auto longer = idx_bytes(8, {2, 2, 3}, px);
  longer.push_back(0);
  EXPECT_NE(bad(longer).find("more data than the header"), std::string::npos);
  EXPECT_NE(bad(idx_bytes(8, {2, 0, 3}, {})).find("dimension 1 is 0"), std::string::npos);
  EXPECT_NE(error_of([] { train::read_idx("/nonexistent/x.idx"); }).find("cannot open"),
            std::string::npos);
}

TEST(Idx, ImageSetChecksCountsAndLabels) {
  const std::string im = write_file("im", idx_bytes(8, {3, 2, 2}, std::vector<std::uint8_t>(12)));
  const std::string lb3 = write_file("lb3", idx_bytes(8, {3}, {1, 2, 3}));
  const std::string lb2 = write_file("lb2", idx_bytes(8, {2}, {1, 2}));
  const std::string lb_bad = write_file("lbbad", idx_bytes(8, {3}, {1, 12, 3}));
  const auto s = train::read_image_set(im, lb3);
  EXPECT_EQ(s.count, 3);
  EXPECT_EQ(s.size, 4);
  EXPECT_EQ(train::read_image_set(im, lb3, 2).count, 2);
  EXPECT_NE(error_of([&] { train::read_image_set(im, lb2); }).find("has 3 images but"),
            std::string::npos);
  EXPECT_NE(error_of([&] { train::read_image_set(im, lb_bad); }).find("label 12 of example 1"),
            std::string::npos);
  EXPECT_NE(error_of([&] { train::read_image_set(lb3, lb3); }).find("an images file has 3"),
            std::string::npos);
}

TEST(LabelEdits, SwapAndConflation) {
  train::LabelEdit swap{train::LabelEdit::Kind::Swap, 3, 7, false};
  train::LabelEdit confl{train::LabelEdit::Kind::Conflation, 3, 7, false};
  for (int c = 0; c < 10; ++c) {
    EXPECT_EQ(swap.apply(c), c == 3 ? 7 : c == 7 ? 3 : c);
    EXPECT_EQ(confl.apply(c), c == 7 ? 3 : c);
  }
  EXPECT_NE(train::LabelEdit({train::LabelEdit::Kind::Swap, 2, 2, false}).validate(), "");
  EXPECT_NE(train::LabelEdit({train::LabelEdit::Kind::None, 0, 1, true}).validate(), "");
}

TEST(LabelEdits, AssociativeHalfKeepHalfEditWithContextsOfTheRightClass) {
  train::ImageSet set;
  set.count = 200;
  set.size = 1;
  for (int r = 0; r < 200; ++r) {
    set.labels.push_back(static_cast<std::uint8_t>(r % 10));
    set.pixels.push_back(static_cast<std::uint8_t>(r));
  }
  train::LabelEdit e{train::LabelEdit::Kind::Swap, 0, 1, true};
  Rng rng(5);
  const auto el = train::edit_labels(set, e, rng);
  long with_b = 0;
  for (int r = 0; r < 200; ++r) {
    const int ctx = set.labels[el.context[r]];
    ASSERT_TRUE(ctx == 0 || ctx == 1);
    with_b += ctx == 1;
    EXPECT_EQ(el.targets[r], ctx == 1 ? e.apply(set.labels[r]) : set.labels[r]) << r;
    EXPECT_EQ(el.edited[r], el.targets[r] != set.labels[r]);
  }
  EXPECT_EQ(with_b, 100);
}

TEST(ContextEncoding, ReferenceFirstPixelsThenPadding) {
  const std::uint8_t img[4] = {0, 255, 51, 200};  // the last pixel is dropped
  Eigen::MatrixXd s(6, 3);
  train::encode_image(img, 4, 0.2, 0.8, s);
  auto row = [&](int i) { return Eigen::RowVector3d(s.row(i)); };
  EXPECT_EQ(row(0), Eigen::RowVector3d(1, 0, 0));
  EXPECT_NEAR(s(1, 0), -0.25, 1e-15);  // (0 − 0.2)/0.8
  EXPECT_NEAR(s(1, 1), std::sqrt(1 - 0.0625), 1e-15);
  EXPECT_NEAR(s(2, 0), 1.0, 1e-15);  // (1 − 0.2)/0.8
  EXPECT_NEAR(s(3, 0), 0.0, 1e-15);  // (0.2 − 0.2)/0.8
  EXPECT_NEAR(s(3, 1), 1.0, 1e-15);
  EXPECT_EQ(row(4), Eigen::RowVector3d(1, 0, 0));
  EXPECT_EQ(row(5), Eigen::RowVector3d(1, 0, 0));
  for (int i = 0; i < 6; ++i) EXPECT_NEAR(s.row(i).norm(), 1.0, 1e-15);
}

TEST(Optimizers, LionMatchesHandComputedSteps) {
  OptimizerParams p = OptimizerParams::defaults_for(OptimizerParams::Kind::Lion);
  p.weight_decay = 0.1;
  Optimizer opt(p, 2);
  Eigen::VectorXd th(2), g(2);
  th << 1.0, -2.0;
  // step 1: m = 0 → c = 0.1 g; u = sign(g); m = 0.01 g
  g << 0.5, -3.0;
  opt.update(th, g, 0.01);
  EXPECT_DOUBLE_EQ(th[0], 1.0 - 0.01 * (1 + 0.1 * 1.0));
  EXPECT_DOUBLE_EQ(th[1], -2.0 - 0.01 * (-1 + 0.1 * -2.0));
  const double m1 = (1 - 0.99) * 0.5;  // β2 m + (1 − β2) g, as the update computes it
  EXPECT_EQ(opt.m()[0], m1);
  // step 2: c = 0.9·0.005 + 0.1·(−0.01) = 0.0035 > 0 → u = +1 although g < 0
  const double th0 = th[0];
  g << -0.01, 0.0;
  opt.update(th, g, 0.01);
  EXPECT_DOUBLE_EQ(th[0], th0 - 0.01 * (1 + 0.1 * th0));
  EXPECT_EQ(opt.m()[0], 0.99 * m1 + (1 - 0.99) * -0.01);
  EXPECT_EQ(opt.count(), 2);
}

TEST(Optimizers, AdamMatchesHandComputedSteps) {
  OptimizerParams p = OptimizerParams::defaults_for(OptimizerParams::Kind::Adam);
  Optimizer opt(p, 1);
  Eigen::VectorXd th(1), g(1);
  th << 0.3;
  double m = 0, v = 0, x = 0.3;
  const double grads[3] = {0.2, -0.7, 0.05};
  for (int t = 1; t <= 3; ++t) {
    g << grads[t - 1];
    opt.update(th, g, 1e-2);
    m = 0.9 * m + 0.1 * grads[t - 1];
    v = 0.999 * v + 0.001 * grads[t - 1] * grads[t - 1];
    const double mh = m / (1 - std::pow(0.9, t)), vh = v / (1 - std::pow(0.999, t));
    x -= 1e-2 * mh / (std::sqrt(vh) + 1e-8);
    EXPECT_NEAR(th[0], x, 1e-15) << t;
  }
  // The first Adam step moves every coordinate by lr (m̂/√v̂ = sign g).
  Optimizer fresh(p, 1);
  th << 0.0;
  g << 123.0;
  fresh.update(th, g, 0.5);
  EXPECT_NEAR(th[0], -0.5, 1e-9);
}

TEST(Optimizers, ExponentialDecayAsOptax) {
  OptimizerParams p;
  p.lr = 1e-4;
  p.decay_rate = 0.5;
  p.decay_steps = 1000;
  EXPECT_DOUBLE_EQ(p.learning_rate(0), 1e-4);
  EXPECT_DOUBLE_EQ(p.learning_rate(1000), 5e-5);
  EXPECT_NEAR(p.learning_rate(500), 1e-4 / std::sqrt(2.0), 1e-19);
  p.decay_rate = 0;
  EXPECT_NE(p.validate(), "");
}

namespace {

// A 3×3-pixel data set of 10 classes: class c lights pixel c % 9 (and pixel 8 for c = 9) with
// some noise; 40 training and 20 test images.
std::string tiny_data_config(const std::string& model_tables, const std::string& train_table) {
  Rng rng(3);
  std::vector<std::uint8_t> px, lb;
  for (int r = 0; r < 60; ++r) {
    const int c = r % 10;
    lb.push_back(static_cast<std::uint8_t>(c));
    for (int p = 0; p < 9; ++p) {
      const bool on = p == c % 9 || (c == 9 && p == 8) || (c == 9 && p == 0);
      px.push_back(static_cast<std::uint8_t>(on ? 200 + rng.below(56) : rng.below(30)));
    }
  }
  const std::vector<std::uint8_t> tr_px(px.begin(), px.begin() + 40 * 9),
      te_px(px.begin() + 40 * 9, px.end());
  const std::vector<std::uint8_t> tr_lb(lb.begin(), lb.begin() + 40),
      te_lb(lb.begin() + 40, lb.end());
  const std::string d = temp_dir().string();
  write_file("tr_im", idx_bytes(8, {40, 3, 3}, tr_px));
  write_file("tr_lb", idx_bytes(8, {40}, tr_lb));
  write_file("te_im", idx_bytes(8, {20, 3, 3}, te_px));
  write_file("te_lb", idx_bytes(8, {20}, te_lb));
  return "seed = 4\n" + model_tables + "\n[data]\ntrain_images = \"" + d + "/tr_im\"\n" +
         "train_labels = \"" + d + "/tr_lb\"\ntest_images = \"" + d + "/te_im\"\n" +
         "test_labels = \"" + d + "/te_lb\"\n" + train_table;
}

run::TrainSpec spec_from(const std::string& text) {
  return run::read_train_spec(config::Document::from_string(text, "/tmp/tiny.toml"));
}

const char* kHkTables = R"(
[model]
kind = "hopfield_kuramoto"
[hopfield]
units = 19
lagrangian = "tanh"
weights = "random"
weight_scale = 0.8
bias = 0.1
[kuramoto]
dim = 3
graph = "watts_strogatz"
degree = 4
rewire = 0.2
potential = "tanh"
ab_scale = 0.5
omega_scale = 0.3
[coupling]
kind = "multiplicative"
graph = "watts_strogatz"
degree = 4
rewire = 0.3
alpha = 0.4
)";

}  // namespace

// The gradient `hkam train` applies = central differences of its loss, for every trainable group
// (hopfield W and b, A, B, Ω, α and the initial oscillators through their normalisation), with
// both losses and a random rotation per example.
class TrainGradient : public ::testing::TestWithParam<std::string> {};

TEST_P(TrainGradient, EqualsFiniteDifferencesOfTheLoss) {
  const std::string text = tiny_data_config(
      kHkTables, "[readout]\nloss = \"" + GetParam() +
                     "\"\n[train]\nbatch = 5\nsteps = 1\nprecision = \"double\"\n"
                     "trainable = [\"hopfield.w\", \"hopfield.b\", \"kuramoto.a\", "
                     "\"kuramoto.b\", \"kuramoto.omega\", \"coupling.alpha\", "
                     "\"initial.sigma\"]\n[integrator]\nstepper = \"rk4\"\ndt = 0.1\nt_end = 1\n");
  run::TrainSpec spec = spec_from(text);
  // start the oscillators off e_1 (and off the sphere) so that every derivative is generic
  Rng rng(8);
  for (Index i = 0; i < spec.sigma0.rows(); ++i)
    for (Index k = 0; k < spec.sigma0.cols(); ++k) spec.sigma0(i, k) = rng.uniform(-1.0, 1.0);
  run::TrainModel<double> tm(spec);
  Eigen::VectorXd theta = run::flatten(spec, spec.params, spec.sigma0);
  tm.set_theta(theta);
  const Index idx[5] = {3, 17, 8, 21, 30};
  Eigen::VectorXd grad;
  long steps = 0;
  const double loss = tm.gradient(idx, 5, nullptr, grad, steps);
  ASSERT_TRUE(std::isfinite(loss));
  EXPECT_NEAR(tm.loss(idx, 5), loss, 1e-14 * std::abs(loss));
  ASSERT_EQ(grad.size(), theta.size());
  // every coordinate of the small groups, a sample of W's
  // Ω must stay skew: its entries are perturbed in pairs (i, j) and (j, i), along E_ij − E_ji,
  // whose directional derivative is g_ij − g_ji.
  Index omega_at = 0;
  const auto sizes = run::group_sizes(spec);
  for (std::size_t g = 0; g < spec.trainable.size() && spec.trainable[g] != "kuramoto.omega"; ++g)
    omega_at += sizes[g];
  const Index d = spec.params.kuramoto.osc_dim;
  double worst = 0;
  for (Index k = 0; k < theta.size(); k += (k < 19 * 19 ? 7 : 1)) {
    const double h = 1e-6 * std::max(1.0, std::abs(theta[k]));
    Eigen::VectorXd tp = theta, tmi = theta;
    tp[k] += h;
    tmi[k] -= h;
    double expected = grad[k];
    if (k >= omega_at && k < omega_at + d * d) {
      const Index i = (k - omega_at) % d, j = (k - omega_at) / d;  // column-major
      if (i == j) continue;
      const Index kt = omega_at + i * d + j;
      tp[kt] -= h;
      tmi[kt] += h;
      expected = grad[k] - grad[kt];
    }
    tm.set_theta(tp);
    const double lp = tm.loss(idx, 5);
    tm.set_theta(tmi);
    const double lm = tm.loss(idx, 5);
    const double fd = (lp - lm) / (2 * h);
    const double err = std::abs(fd - expected) / std::max(1e-3, std::abs(fd));
    worst = std::max(worst, err);
    EXPECT_LT(err, 1e-5) << "θ[" << k << "]: gradient " << expected << ", differences " << fd;
  }
  RecordProperty("worst_relative_error", std::to_string(worst));
}

INSTANTIATE_TEST_SUITE_P(Losses, TrainGradient, ::testing::Values("mse_pm1", "cross_entropy"));

// With rotations, the initial-oscillator gradient goes through Rᵀ: compared with differences of
// the loss under the same rotations.
TEST(TrainGradient, InitialOscillatorsUnderRandomRotations) {
  const std::string text = tiny_data_config(
      kHkTables,
      "[train]\nbatch = 4\nsteps = 1\nprecision = \"double\"\ntrainable = [\"initial.sigma\"]\n"
      "[integrator]\nstepper = \"rk4\"\ndt = 0.1\nt_end = 0.5\n");
  run::TrainSpec spec = spec_from(text);
  Rng r0(2);
  for (Index i = 0; i < spec.sigma0.size(); ++i) spec.sigma0.data()[i] = r0.uniform(-1.0, 1.0);
  run::TrainModel<double> tm(spec);
  Eigen::VectorXd theta = run::flatten(spec, spec.params, spec.sigma0), grad, g2;
  tm.set_theta(theta);
  const Index idx[4] = {0, 5, 9, 33};
  long steps = 0;
  auto loss_with_rotation = [&](const Eigen::VectorXd& th, Eigen::VectorXd& g) {
    tm.set_theta(th);
    Rng aug(77);  // the same rotations every time
    return tm.gradient(idx, 4, &aug, g, steps);
  };
  loss_with_rotation(theta, grad);
  for (Index k = 0; k < theta.size(); k += 3) {
    const double h = 1e-6;
    Eigen::VectorXd tp = theta, tmi = theta;
    tp[k] += h;
    tmi[k] -= h;
    const double fd = (loss_with_rotation(tp, g2) - loss_with_rotation(tmi, g2)) / (2 * h);
    EXPECT_NEAR(grad[k], fd, 1e-6 * std::max(1.0, std::abs(fd))) << k;
  }
}

// A tiny Hopfield classifier whose optimum is known (each class lights its own pixel, so a
// weight from that pixel to the class unit separates them) reaches 100 % training accuracy and a
// loss far below its start.
TEST(Training, TinyClassifierConverges) {
  const std::string text = tiny_data_config(
      "[model]\nkind = \"hopfield\"\n[hopfield]\nunits = 19\nlagrangian = \"relu\"\n"
      "weights = \"zero\"\n",
      "[train]\nbatch = 40\nsteps = 1\noptimizer = \"adam\"\nprecision = \"double\"\n"
      "[integrator]\nstepper = \"rk4\"\ndt = 0.25\nt_end = 1\n");
  run::TrainSpec spec = spec_from(text);
  run::TrainModel<double> tm(spec);
  OptimizerParams op = OptimizerParams::defaults_for(OptimizerParams::Kind::Adam);
  Eigen::VectorXd theta = run::flatten(spec, spec.params, spec.sigma0), grad;
  Optimizer opt(op, theta.size());
  std::vector<Index> all(40);
  for (Index k = 0; k < 40; ++k) all[k] = k;
  long steps = 0;
  const double first = tm.gradient(all.data(), 40, nullptr, grad, steps);
  double last = first;
  for (int it = 0; it < 300; ++it) {
    last = tm.gradient(all.data(), 40, nullptr, grad, steps);
    opt.update(theta, grad, 0.05);
    tm.set_theta(theta);
  }
  EXPECT_LT(last, 0.05 * first) << first << " -> " << last;
  const run::Evaluation e = tm.evaluate(spec.train, spec.train_labels, 40);
  EXPECT_EQ(e.accuracy, 1.0);
  const run::Evaluation t = tm.evaluate(spec.test, spec.test_labels, 20);
  EXPECT_EQ(t.accuracy, 1.0);
}

// The note's initialisation of the trainable initial oscillators (every row e_1), with Ω = 0, is
// a saddle: their gradient and Ω's are exactly zero; the default perturbation gives non-zero ones.
TEST(TrainGradient, AlignedInitialOscillatorsAreASaddle) {
  for (double noise : {0.0, 0.1}) {
    std::string tables = kHkTables;  // Ω = 0, as a trainable Ω starts
    tables.erase(tables.find("omega_scale = 0.3\n"), 18);
    const std::string text = tiny_data_config(
        tables,
        "[train]\nbatch = 5\nsteps = 1\nprecision = \"double\"\n"
        "trainable = [\"initial.sigma\", \"coupling.alpha\", \"kuramoto.omega\"]\n"
        "sigma_init_noise = " +
            std::to_string(noise) + "\n[integrator]\nstepper = \"rk4\"\ndt = 0.1\nt_end = 1\n");
    run::TrainSpec spec = spec_from(text);
    run::TrainModel<double> tm(spec);
    tm.set_theta(run::flatten(spec, spec.params, spec.sigma0));
    const Index idx[5] = {0, 1, 2, 3, 4};
    Eigen::VectorXd grad;
    long steps = 0;
    tm.gradient(idx, 5, nullptr, grad, steps);
    // θ = [α, σ0 (M × D, column-major), Ω (D × D)]
    const double sigma_grad = grad.segment(1, 19 * 3).cwiseAbs().maxCoeff();
    const double omega_grad = grad.tail(9).cwiseAbs().maxCoeff();
    EXPECT_NE(grad[0], 0.0);  // α still learns
    if (noise == 0.0) {
      EXPECT_EQ(sigma_grad, 0.0);
      EXPECT_EQ(omega_grad, 0.0);
    } else {
      EXPECT_GT(sigma_grad, 1e-4);
      EXPECT_GT(omega_grad, 0.0);
    }
  }
}
