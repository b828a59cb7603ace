#include "run/train_spec.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>

#include "hkam/random.hpp"
#include "run/limits.hpp"
#include "run/model_config.hpp"

namespace hkam::run {

namespace fs = std::filesystem;
using config::Section;

namespace {

constexpr const char* kFashionDir = "/usr/share/datasets/fashion-mnist/";

// The storage of group `name` in a Params-shaped struct (HopfieldKuramotoParams or HkGradient):
// pointer and size; `sigma` is the initial-oscillator matrix that goes with it.
template <class P, class S>
auto view(P& p, S& sigma, const std::string& name) -> std::pair<decltype(sigma.data()), Index> {
  if (name == "hopfield.w") return {p.hopfield.w.data(), p.hopfield.w.size()};
  if (name == "hopfield.b") return {p.hopfield.b.data(), p.hopfield.b.size()};
  if (name == "kuramoto.a") return {p.kuramoto.a.data(), p.kuramoto.a.size()};
  if (name == "kuramoto.b") return {p.kuramoto.b.data(), p.kuramoto.b.size()};
  if (name == "kuramoto.omega") return {p.kuramoto.omega.data(), p.kuramoto.omega.size()};
  if (name == "coupling.alpha") return {&p.coupling.alpha, 1};
  return {sigma.data(), sigma.size()};  // initial.sigma
}

// The trainable groups of `p` (parameters or their gradient) one after the other.
template <class P>
Eigen::VectorXd gather(const TrainSpec& spec, const P& p, const Eigen::MatrixXd& sigma0) {
  Index total = 0;
  for (const auto& g : spec.trainable) total += view(p, sigma0, g).second;
  Eigen::VectorXd theta(total);
  Index at = 0;
  for (const auto& g : spec.trainable) {
    auto [ptr, n] = view(p, sigma0, g);
    theta.segment(at, n) = Eigen::Map<const Eigen::VectorXd>(ptr, n);
    at += n;
  }
  return theta;
}

train::ImageSet read_split(Section& s, const char* images, const char* labels,
                           const std::string& default_images, const std::string& default_labels,
                           Index limit) {
  const std::string im = s.document().input_path(s.string(images, default_images));
  const std::string lb = s.document().input_path(s.string(labels, default_labels));
  try {
    return train::read_image_set(im, lb, limit);
  } catch (const std::exception& e) {
    const bool label_problem = std::string(e.what()).rfind(lb, 0) == 0;
    s.fail(label_problem ? labels : images, e.what());
  }
}

void read_data(Section& root, TrainSpec& t) {
  Section s = root.section("data");
  const long limit = s.integer("limit", 0, config::at_least(0));
  const long test_limit = s.integer("test_limit", 0, config::at_least(0));
  t.train = read_split(s, "train_images", "train_labels",
                       std::string(kFashionDir) + "train-images-idx3-ubyte.gz",
                       std::string(kFashionDir) + "train-labels-idx1-ubyte.gz", limit);
  t.test = read_split(s, "test_images", "test_labels",
                      std::string(kFashionDir) + "t10k-images-idx3-ubyte.gz",
                      std::string(kFashionDir) + "t10k-labels-idx1-ubyte.gz", test_limit);
  if (t.test.size != t.train.size)
    s.fail("test_images", fmt::format("the test images have {} pixels, the training images {}",
                                      t.test.size, t.train.size));
  t.edit.kind =
      train::LabelEdit::kind_from_name(s.choice("edit", "none", {"none", "swap", "conflation"}));
  if (t.edit.kind != train::LabelEdit::Kind::None) {
    const Eigen::VectorXd c = s.numbers("classes", std::vector<double>{0, 1}, config::Range{0, 9});
    if (c.size() != 2 || c[0] != std::floor(c[0]) || c[1] != std::floor(c[1]))
      s.fail("classes", "expected two classes [a, b] (integers 0–9)");
    t.edit.a = static_cast<int>(c[0]);
    t.edit.b = static_cast<int>(c[1]);
    t.edit.associative = s.boolean("associative", false);
  } else {
    s.irrelevant("classes", "only used with an edit (swap, conflation)");
    s.irrelevant("associative", "only used with an edit (swap, conflation)");
  }
  if (const std::string why = t.edit.validate(); !why.empty()) s.fail("classes", why);
  t.rotate = s.boolean("rotate", false);
  s.done();
  std::tie(t.pixel_mean, t.pixel_scale) = train::pixel_mean_and_scale(t.train);
  try {
    Rng r1(Rng::derive(t.seed, kTrainLabels)), r2(Rng::derive(t.seed, kTestLabels));
    t.train_labels = train::edit_labels(t.train, t.edit, r1);
    t.test_labels = train::edit_labels(t.test, t.edit, r2);
  } catch (const std::exception& e) {
    s.fail("associative", e.what());
  }
}

void read_train_table(Section& root, TrainSpec& t) {
  Section s = root.section("train");
  const bool osc = t.params.kuramoto.n_osc > 0;
  std::vector<std::string> allowed = {"hopfield.w", "hopfield.b"};
  if (osc) {
    allowed.insert(allowed.end(), {"kuramoto.a", "kuramoto.omega", "coupling.alpha"});
    if (t.params.kuramoto.potential != PairPotentialKind::Linear) allowed.push_back("kuramoto.b");
    if (!t.associative()) allowed.push_back("initial.sigma");
  }
  const std::string def = osc ? "" : "hopfield.w";
  t.trainable = s.choices("trainable", def.empty() ? std::optional<std::string>() : def, allowed);
  std::sort(t.trainable.begin(), t.trainable.end());
  if (std::adjacent_find(t.trainable.begin(), t.trainable.end()) != t.trainable.end())
    s.fail("trainable", "a parameter group is named twice");
  if (!osc && !s.has("trainable")) t.trainable = {"hopfield.b", "hopfield.w"};
  if (std::find(t.trainable.begin(), t.trainable.end(), "initial.sigma") != t.trainable.end()) {
    // All rows at e_1 is a saddle: the oscillators stay aligned and the tangential gradient of
    // every row is exactly 0, so the initial state could never move. A small perturbation breaks
    // the symmetry (docs/training.md).
    const double noise = s.number("sigma_init_noise", 0.1, config::non_negative());
    Rng rng(Rng::derive(t.seed, kTrainSigmaInit));
    t.sigma0 += normal_matrix(rng, t.sigma0.rows(), t.sigma0.cols(), noise);
  } else {
    s.irrelevant("sigma_init_noise", "only used when initial.sigma is trainable");
  }
  const auto kind =
      OptimizerParams::kind_from_name(s.choice("optimizer", "lion", {"lion", "adam"}));
  OptimizerParams& o = t.optimizer;
  o = OptimizerParams::defaults_for(kind);
  o.lr = s.number("learning_rate", 1e-4, config::positive());
  o.decay_rate = s.number("decay_rate", 0.5, config::Range{0, 1});
  o.decay_steps = s.number("decay_steps", 1000, config::positive());
  o.beta1 = s.number("beta1", o.beta1, config::Range{0, 1});
  o.beta2 = s.number("beta2", o.beta2, config::Range{0, 1});
  o.weight_decay = s.number("weight_decay", 0.0, config::non_negative());
  if (kind == OptimizerParams::Kind::Adam)
    o.eps = s.number("eps", 1e-8, config::positive());
  else
    s.irrelevant("eps", "only used by optimizer = \"adam\"");
  if (const std::string why = o.validate(); !why.empty()) s.fail("optimizer", why);
  t.batch = s.integer("batch", 100, config::at_least(1));
  if (t.batch > t.train.count)
    s.fail("batch", fmt::format("the batch of {} is larger than the {} training examples", t.batch,
                                t.train.count));
  t.steps = s.integer("steps", std::nullopt, config::at_least(1));
  t.eval_every = s.integer("eval_every", 200, config::at_least(1));
  t.eval_samples = s.integer("eval_samples", 500, config::at_least(1));
  t.eval_samples = std::min<Index>(t.eval_samples, t.test.count);
  t.checkpoint_seconds = s.number("checkpoint_seconds", 60.0, config::non_negative());
  t.final_eval = s.boolean("final_eval", true);
  t.use_float = s.choice("precision", "float", {"float", "double"}) == "float";
  s.done();
}

void read_integrator(Section& root, TrainSpec& t) {
  Section s = root.section("integrator");
  BatchSolveOptions& o = t.solve;
  o.stepper = stepper_from_name(s.choice("stepper", "dopri5", {"dopri5", "rk4", "euler"}));
  o.t_end = s.number("t_end", 1.0, config::positive());
  o.dt = s.number("dt", 0.01, config::positive());
  if (o.stepper == StepperKind::Dopri5) {
    o.rtol = s.number("rtol", 1e-3, config::positive());
    o.atol = s.number("atol", 1e-6, config::positive());
  } else {
    s.irrelevant("rtol", "only used by dopri5");
    s.irrelevant("atol", "only used by dopri5");
  }
  o.max_steps = s.integer("max_steps", 5000, config::at_least(1));
  if (const std::string why = o.validate(); !why.empty()) s.fail("stepper", why);
  s.done();
}

}  // namespace

const std::vector<std::string>& parameter_groups() {
  static const std::vector<std::string> g = {"hopfield.w",   "hopfield.b",     "kuramoto.a",
                                             "kuramoto.b",   "kuramoto.omega", "coupling.alpha",
                                             "initial.sigma"};
  return g;
}

TrainSpec read_train_spec(config::Document doc) {
  TrainSpec t;
  t.doc = std::move(doc);
  Section root = t.doc.root();
  t.seed = static_cast<std::uint64_t>(root.integer("seed", 1, config::Range{0, config::kMaxSeed}));
  t.title = root.string("title", "");
  const std::string stem = fs::path(t.doc.name()).stem().string();
  t.output = root.string("output", "out/" + (stem.empty() ? std::string("train") : stem) + ".h5");
  Budget budget(root);
  ModelConfig mc = read_model(root, t.seed, budget, {"hopfield", "hopfield_kuramoto"});
  t.kind = mc.kind;
  if (auto* hk = std::get_if<HopfieldKuramoto>(&mc.model))
    t.params = hk->params();
  else
    t.params.hopfield = std::get<Hopfield>(mc.model).params();
  if (t.params.kuramoto.n_osc > 0 && t.params.kuramoto.omega.size() == 0)  // trainable: D×D
    t.params.kuramoto.omega =
        Eigen::MatrixXd::Zero(t.params.kuramoto.osc_dim, t.params.kuramoto.osc_dim);
  root.irrelevant("patterns", "a training learns its weights from [data]");
  for (const char* k : {"initial", "record", "stop", "audit", "sweep"})
    root.irrelevant(k, "not used by `hkam train`");
  if (const std::string why = t.params.validate(); !why.empty())
    root.section("model").fail("kind", "this model cannot be trained: " + why);
  read_data(root, t);
  const Index n = t.params.hopfield.units();
  Section rs = root.section("readout");
  t.readout_first = rs.integer("first_unit", std::max<long>(0, long(n) - 10), config::at_least(0));
  if (t.readout_first + 10 > n)
    rs.fail("first_unit",
            fmt::format("the 10 class units from {} go past the {} units", t.readout_first, n));
  if (t.readout_first < t.train.size)
    rs.fail("first_unit",
            fmt::format("the class units overlap the {} input units (image pixels)", t.train.size));
  t.loss = rs.choice("loss", "mse_pm1", {"mse_pm1", "cross_entropy"}) == "mse_pm1"
               ? TrainLoss::MsePm1
               : TrainLoss::CrossEntropy;
  rs.done();
  const Index m = t.params.kuramoto.n_osc, d = t.params.kuramoto.osc_dim;
  if (m > 0 && t.associative() && m < t.train.size)
    root.section("kuramoto")
        .fail("oscillators",
              fmt::format("an associative edit encodes a context image of {} pixels on the "
                          "oscillators: need at least {}",
                          t.train.size, t.train.size));
  t.sigma0 = Eigen::MatrixXd::Zero(m, m > 0 ? d : 0);
  if (m > 0) t.sigma0.col(0).setOnes();  // the note's `inp`: e_1 in every row
  read_train_table(root, t);
  read_integrator(root, t);
  root.done();
  return t;
}

std::vector<Index> group_sizes(const TrainSpec& spec) {
  std::vector<Index> out;
  for (const auto& g : spec.trainable) out.push_back(view(spec.params, spec.sigma0, g).second);
  return out;
}

Eigen::VectorXd flatten(const TrainSpec& spec, const HopfieldKuramotoParams& p,
                        const Eigen::MatrixXd& sigma0) {
  return gather(spec, p, sigma0);
}

void unflatten(const TrainSpec& spec, const Eigen::VectorXd& theta, HopfieldKuramotoParams& p,
               Eigen::MatrixXd& sigma0) {
  Index at = 0;
  for (const auto& g : spec.trainable) {
    auto [ptr, n] = view(p, sigma0, g);
    Eigen::Map<Eigen::VectorXd>(ptr, n) = theta.segment(at, n);
    at += n;
  }
}

Eigen::VectorXd flatten(const TrainSpec& spec, const HkGradient& g,
                        const Eigen::MatrixXd& gsigma0) {
  return gather(spec, g, gsigma0);
}

}  // namespace hkam::run
