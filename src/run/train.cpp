#include "run/train.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "hkam/version.hpp"
#include "io/h5.hpp"
#include "io/trace.hpp"
#include "run/model_config.hpp"
#include "run/progress.hpp"
#include "run/signals.hpp"
#include "run/train_spec.hpp"
#include "run/train_step.hpp"

namespace hkam::run {

namespace fs = std::filesystem;

namespace {

/// Everything a checkpoint holds besides the spec: the updates done, θ, the optimiser and the logs.
struct TrainState {
  long step = 0;  ///< updates done
  Eigen::VectorXd theta;
  Eigen::VectorXd m, v;
  long count = 0;
  std::vector<double> loss, lr, wall, solver_steps;
  std::vector<Evaluation> evals;
  std::vector<std::pair<std::string, Evaluation>> final_evals;
  std::vector<std::pair<long, Eigen::VectorXd>> history;  ///< θ at each checkpoint
  bool finished = false;
  std::string failure;
  std::string created;
  /// The binaries that wrote this training: "REVISION@FIRST_UPDATE" separated by spaces (a
  /// resumed training keeps the revisions that wrote its earlier updates).
  std::string revisions;
};

void write_evaluation(hid_t parent, const std::string& name, const Evaluation& e) {
  io::Id g = io::create_group(parent, name);
  io::set_attr(g.get(), "step", static_cast<long long>(e.step));
  io::set_attr(g.get(), "examples", static_cast<long long>(e.count));
  io::set_attr(g.get(), "edited", static_cast<long long>(e.edited));
  io::set_attr(g.get(), "loss", e.loss);
  io::set_attr(g.get(), "accuracy", e.accuracy);
  io::set_attr(g.get(), "accuracy_edited", e.accuracy_edited);
  io::set_attr(g.get(), "accuracy_unedited", e.accuracy_unedited);
  io::write_array(g.get(), "per_class", e.per_class.data(), {10});
  std::vector<long long> conf;
  for (const auto& row : e.confusion) conf.insert(conf.end(), row.begin(), row.end());
  io::write_int_array(g.get(), "confusion", conf, {10, 10});
}

void write_vector(hid_t parent, const std::string& name, const std::vector<double>& v) {
  io::write_array(parent, name, v.data(), {static_cast<hsize_t>(v.size())});
}

/// Writes the whole training file to a staging name and renames it over `path` (atomic: the file
/// under its name is always a complete checkpoint).
void write_training_file(const std::string& path, const TrainSpec& spec, const TrainState& st,
                         const HopfieldKuramotoParams& params, const Eigen::MatrixXd& sigma0,
                         const std::string& command_line) {
  const std::string staging = fmt::format("{}.partial-{}", path, ::getpid());
  {
    io::Id f = io::create_file(staging);
    write_run_attributes(f.get(), spec.doc, command_line, spec.seed, spec.title);
    io::set_attr(f.get(), "file_kind", std::string("training"));
    io::set_attr(f.get(), "created_utc", st.created);
    io::set_attr(f.get(), "git_revision_history", st.revisions);
    if (spec.kind == "hopfield")
      io::write_model(f.get(), Hopfield(params.hopfield), Eigen::MatrixXd());
    else
      io::write_model(f.get(), HopfieldKuramoto(params), Eigen::MatrixXd());
    if (sigma0.size() > 0) {
      io::Id g = io::create_group(f.get(), "initial");
      io::write_matrix(g.get(), "sigma", sigma0.rowwise().normalized());
    }
    io::Id t = io::create_group(f.get(), "train");
    io::set_attr(t.get(), "step", static_cast<long long>(st.step));
    io::set_attr(t.get(), "steps", static_cast<long long>(spec.steps));
    io::set_attr(t.get(), "finished", static_cast<long long>(st.finished));
    io::set_attr(t.get(), "failure", st.failure);
    std::string groups;
    for (std::size_t k = 0; k < spec.trainable.size(); ++k)
      groups += (k ? " " : "") + spec.trainable[k];
    io::set_attr(t.get(), "trainable", groups);
    io::set_attr(t.get(), "pixel_mean", spec.pixel_mean);
    io::set_attr(t.get(), "pixel_scale", spec.pixel_scale);
    write_vector(t.get(), "theta", {st.theta.data(), st.theta.data() + st.theta.size()});
    io::Id o = io::create_group(f.get(), "optimizer");
    io::set_attr(o.get(), "kind", std::string(OptimizerParams::name(spec.optimizer.kind)));
    io::set_attr(o.get(), "count", static_cast<long long>(st.count));
    write_vector(o.get(), "m", {st.m.data(), st.m.data() + st.m.size()});
    write_vector(o.get(), "v", {st.v.data(), st.v.data() + st.v.size()});
    io::Id l = io::create_group(f.get(), "log");
    write_vector(l.get(), "loss", st.loss);
    write_vector(l.get(), "learning_rate", st.lr);
    write_vector(l.get(), "wall_seconds", st.wall);
    write_vector(l.get(), "solver_steps", st.solver_steps);
    io::Id ev = io::create_group(f.get(), "eval");
    for (std::size_t k = 0; k < st.evals.size(); ++k)
      write_evaluation(ev.get(), fmt::format("{:06d}", k), st.evals[k]);
    if (!st.final_evals.empty()) {
      io::Id fin = io::create_group(f.get(), "final");
      for (const auto& [name, e] : st.final_evals) write_evaluation(fin.get(), name, e);
    }
    io::Id h = io::create_group(f.get(), "checkpoints");
    for (const auto& [step, theta] : st.history)
      write_vector(h.get(), fmt::format("theta_{:07d}", step),
                   {theta.data(), theta.data() + theta.size()});
  }
  fs::rename(staging, path);
}

Evaluation read_evaluation(hid_t g) {
  Evaluation e;
  auto num = [&](const char* k) { return io::get_attr_double(g, k).value_or(0.0); };
  e.step = static_cast<long>(num("step"));
  e.count = static_cast<long>(num("examples"));
  e.edited = static_cast<long>(num("edited"));
  e.loss = num("loss");
  e.accuracy = num("accuracy");
  e.accuracy_edited = num("accuracy_edited");
  e.accuracy_unedited = num("accuracy_unedited");
  std::vector<double> pc = io::read_doubles(g, "per_class");
  std::vector<double> conf = io::read_doubles(g, "confusion");
  for (int c = 0; c < 10 && c < int(pc.size()); ++c) e.per_class[c] = pc[c];
  for (int r = 0; r < 10; ++r)
    for (int c = 0; c < 10; ++c)
      if (std::size_t(r * 10 + c) < conf.size())
        e.confusion[r][c] = static_cast<long>(conf[r * 10 + c]);
  return e;
}

Eigen::VectorXd to_vector(const std::vector<double>& v) {
  return Eigen::Map<const Eigen::VectorXd>(v.data(), static_cast<Index>(v.size()));
}

/// The state of the training file `path` (for resume).
TrainState read_state(const std::string& path) {
  TrainState st;
  io::Id f = io::open_file_read(path);
  io::Id t = io::open_group(f.get(), "train");
  st.step = static_cast<long>(io::get_attr_double(t.get(), "step").value_or(0));
  st.finished = io::get_attr_double(t.get(), "finished").value_or(0) != 0;
  st.created = io::get_attr_string(f.get(), "created_utc").value_or("");
  st.revisions = io::get_attr_string(f.get(), "git_revision_history")
                     .value_or(io::get_attr_string(f.get(), "git_revision").value_or("unknown") +
                               "@?");  // files written before the history was kept
  st.theta = to_vector(io::read_doubles(f.get(), "train/theta"));
  st.m = to_vector(io::read_doubles(f.get(), "optimizer/m"));
  st.v = to_vector(io::read_doubles(f.get(), "optimizer/v"));
  io::Id o = io::open_group(f.get(), "optimizer");
  st.count = static_cast<long>(io::get_attr_double(o.get(), "count").value_or(0));
  st.loss = io::read_doubles(f.get(), "log/loss");
  st.lr = io::read_doubles(f.get(), "log/learning_rate");
  st.wall = io::read_doubles(f.get(), "log/wall_seconds");
  st.solver_steps = io::read_doubles(f.get(), "log/solver_steps");
  for (long k = 0;; ++k) {
    const std::string name = fmt::format("eval/{:06d}", k);
    if (!io::exists(f.get(), name)) break;
    io::Id g = io::open_group(f.get(), name);
    st.evals.push_back(read_evaluation(g.get()));
  }
  for (long k = 0; k <= st.step; ++k) {
    const std::string name = fmt::format("checkpoints/theta_{:07d}", k);
    if (io::exists(f.get(), name))
      st.history.emplace_back(k, to_vector(io::read_doubles(f.get(), name)));
  }
  if (static_cast<long>(st.loss.size()) != st.step)
    throw std::runtime_error(
        fmt::format("{}: /log/loss has {} entries for {} updates", path, st.loss.size(), st.step));
  return st;
}

template <class T>
int train_loop(const TrainSpec& spec, TrainState& st, const std::string& path,
               const RunOptions& opt) {
  using Clock = std::chrono::steady_clock;
  TrainModel<T> tm(spec);
  if (st.theta.size() == 0) st.theta = flatten(spec, spec.params, spec.sigma0);
  if (st.theta.size() != flatten(spec, spec.params, spec.sigma0).size())
    throw std::runtime_error(path + ": θ has the wrong size for this config");
  tm.set_theta(st.theta);
  Optimizer optimizer(spec.optimizer, st.theta.size());
  if (st.m.size() == st.theta.size()) optimizer.m() = st.m;
  if (st.v.size() == st.theta.size() && optimizer.v().size() == st.theta.size())
    optimizer.v() = st.v;
  optimizer.set_count(st.count);
  ProgressLine progress(opt.progress && !opt.quiet, 0.0, true);
  const double wall0 = st.wall.empty() ? 0.0 : st.wall.back();
  const auto start = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  Periodic checkpoint(spec.checkpoint_seconds);  // 0: after every update
  auto save = [&] {
    st.m = optimizer.m();
    st.v = optimizer.v();
    st.count = optimizer.count();
    write_training_file(path, spec, st, tm.params(), tm.sigma0(), opt.command_line);
    checkpoint.reset();
  };
  SignalGuard signals;
  if (st.step == 0 && st.evals.empty()) {  // the starting point: the frozen base on the targets
    st.evals.push_back(tm.evaluate(spec.test, spec.test_labels, spec.eval_samples));
    st.history.emplace_back(0, st.theta);
    save();
  }
  const long per_epoch = spec.steps_per_epoch();
  const long first_step = st.step;
  std::vector<Index> order;
  long order_epoch = -1;
  Eigen::VectorXd grad;
  double shown_loss = std::numeric_limits<double>::quiet_NaN();
  for (; st.step < spec.steps; ++st.step) {
    const long k = st.step, epoch = k / per_epoch;
    if (epoch != order_epoch) {  // a fresh permutation per epoch, from (seed, epoch) alone
      order.resize(static_cast<std::size_t>(spec.train.count));
      std::iota(order.begin(), order.end(), Index(0));
      Rng r(Rng::derive(Rng::derive(spec.seed, kTrainOrder), std::uint64_t(epoch)));
      for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[r.below(i)]);
      order_epoch = epoch;
    }
    Rng augment(Rng::derive(Rng::derive(spec.seed, kTrainAugment), std::uint64_t(k)));
    long solver_steps = 0;
    const double loss = tm.gradient(order.data() + (k % per_epoch) * spec.batch, spec.batch,
                                    spec.rotate ? &augment : nullptr, grad, solver_steps);
    if (!std::isfinite(loss) || !grad.allFinite()) {
      st.failure = fmt::format("update {}: the {} is not finite", k,
                               std::isfinite(loss) ? "gradient" : "loss (or the solve failed)");
      save();
      progress.end();
      fmt::print(stderr, "hkam train: {}; {} keeps the {} updates before it\n", st.failure, path,
                 k);
      return 1;
    }
    const double lr = spec.optimizer.learning_rate(k);
    optimizer.update(st.theta, grad, lr);
    tm.set_theta(st.theta);
    st.loss.push_back(loss);
    st.lr.push_back(lr);
    st.wall.push_back(wall0 + elapsed());
    st.solver_steps.push_back(double(solver_steps));
    shown_loss = std::isnan(shown_loss) ? loss : 0.9 * shown_loss + 0.1 * loss;
    const bool eval_due = (k + 1) % spec.eval_every == 0 || k + 1 == spec.steps;
    if (eval_due) {
      st.evals.push_back(tm.evaluate(spec.test, spec.test_labels, spec.eval_samples));
      st.evals.back().step = k + 1;
    }
    const bool last = k + 1 == spec.steps;
    const int sig = SignalGuard::received();
    if (progress.due()) {
      const double per_s = double(k + 1 - first_step) / std::max(1e-9, elapsed());
      progress.show("  update {}/{}  loss {:.4f}  test accuracy {:.1f} %  {:.2f} updates/s  ETA {}",
                    k + 1, spec.steps, shown_loss, 100 * st.evals.back().accuracy, per_s,
                    format_duration(double(spec.steps - k - 1) / std::max(per_s, 1e-9)));
    }
    if (sig || last || checkpoint.due()) {
      ++st.step;  // this update is done
      st.history.emplace_back(st.step, st.theta);
      save();
      if (sig) {
        progress.end();
        fmt::print(stderr,
                   "hkam train: interrupted by signal {} after {} updates; `hkam resume {}` "
                   "continues\n",
                   sig, st.step, path);
        return 128 + sig;
      }
      --st.step;
    }
  }
  progress.end();
  if (spec.final_eval) {
    Evaluation tr = tm.evaluate(spec.train, spec.train_labels, spec.train.count);
    Evaluation te = tm.evaluate(spec.test, spec.test_labels, spec.test.count);
    tr.step = te.step = st.step;
    st.final_evals = {{"train", tr}, {"test", te}};
  }
  st.finished = true;
  save();
  return 0;
}

int train_document(config::Document doc, const RunOptions& opt, const char* who,
                   const std::string* resume_path) {
  std::optional<TrainSpec> spec;
  try {
    spec.emplace(read_train_spec(std::move(doc)));
  } catch (const config::ConfigError& e) {
    fmt::print(stderr, "hkam {}: config error: {}\n", who, e.what());
    return 2;
  }
  TrainState st;
  std::string path;
  try {
    if (resume_path) {
      path = *resume_path;
      st = read_state(path);
      if (st.finished) {
        fmt::print(stderr, "hkam {}: {}: the training has finished; nothing to do\n", who, path);
        return 2;
      }
      st.revisions =
          append_revision(st.revisions, std::string(git_revision()), std::to_string(st.step));
    } else {
      path = opt.output.empty() ? spec->output : opt.output;
      if (fs::exists(path) && !opt.force)
        throw std::runtime_error(path + " exists (use --force to replace it)");
      refuse_overwriting_input(spec->doc, path);
      if (fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path());
      st.created = utc_now();
      st.revisions = fmt::format("{}@0", git_revision());
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "hkam {}: {}\n", who, e.what());
    return 2;
  }
  const auto params_count = flatten(*spec, spec->params, spec->sigma0).size();
  if (!opt.quiet)
    fmt::print(
        "hkam {}: {}{} model, {} units{}, {} trainable parameters ({}), {} updates of {} "
        "from {} training images\n",
        who, spec->title.empty() ? "" : spec->title + " - ", spec->kind,
        spec->params.hopfield.units(),
        spec->params.kuramoto.n_osc
            ? fmt::format(", {} oscillators in S^{}", spec->params.kuramoto.n_osc,
                          spec->params.kuramoto.osc_dim - 1)
            : "",
        params_count, fmt::format("{}", fmt::join(spec->trainable, ", ")), spec->steps, spec->batch,
        spec->train.count);
  int status = 0;
  try {
    status = spec->use_float ? train_loop<float>(*spec, st, path, opt)
                             : train_loop<double>(*spec, st, path, opt);
  } catch (const std::exception& e) {
    fmt::print(stderr, "hkam {}: {}\n", who, e.what());
    return 2;
  }
  if (!opt.quiet && status == 0) {
    const Evaluation& first = st.evals.front();
    const Evaluation& last = st.evals.back();
    fmt::print(
        "  test accuracy (first {} examples) {:.2f} % before, {:.2f} % after; loss {:.4g} "
        "-> {:.4g}\n",
        last.count, 100 * first.accuracy, 100 * last.accuracy, first.loss, last.loss);
    if (last.edited)
      fmt::print("  edited examples {:.2f} % -> {:.2f} %, unedited {:.2f} % -> {:.2f} %\n",
                 100 * first.accuracy_edited, 100 * last.accuracy_edited,
                 100 * first.accuracy_unedited, 100 * last.accuracy_unedited);
    for (const auto& [name, e] : st.final_evals)
      fmt::print("  final {:<5} accuracy {:.2f} % ({} examples){}, loss {:.4g}\n", name,
                 100 * e.accuracy, e.count,
                 e.edited ? fmt::format(", edited {:.2f} %", 100 * e.accuracy_edited) : "", e.loss);
    fmt::print("  {:.1f} s for {} updates\n", st.wall.empty() ? 0.0 : st.wall.back(), st.step);
    fmt::print("output: {}\n", path);
  }
  return status;
}

}  // namespace

int train(config::Document doc, const RunOptions& options) {
  return train_document(std::move(doc), options, "train", nullptr);
}

bool is_training_file(const std::string& path) {
  try {
    io::Id f = io::open_file_read(path);
    return io::get_attr_string(f.get(), "file_kind").value_or("") == "training";
  } catch (const std::exception&) {
    return false;
  }
}

std::vector<std::pair<std::string, std::string>> training_info(const std::string& path) {
  const TrainState st = read_state(path);
  io::Id f = io::open_file_read(path);
  io::Id t = io::open_group(f.get(), "train");
  io::Id m = io::open_group(f.get(), "model");
  auto attr = [](hid_t obj, const char* k) { return io::get_attr_string(obj, k).value_or(""); };
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("kind", "training file (hkam train)");
  out.emplace_back("title", attr(f.get(), "title"));
  out.emplace_back("created", attr(f.get(), "created_utc"));
  out.emplace_back("binaries", st.revisions);
  out.emplace_back("model", attr(m.get(), "kind"));
  out.emplace_back("trainable",
                   fmt::format("{} ({} parameters)", attr(t.get(), "trainable"), st.theta.size()));
  const long steps = static_cast<long>(io::get_attr_double(t.get(), "steps").value_or(0));
  std::string state = st.finished ? "finished" : "not finished (`hkam resume` continues it)";
  if (const std::string why = attr(t.get(), "failure"); !why.empty()) state = "failed: " + why;
  out.emplace_back("updates", fmt::format("{} of {}, {}", st.step, steps, state));
  if (!st.loss.empty())
    out.emplace_back("loss", fmt::format("{:.6g} (first update) -> {:.6g} (last)", st.loss.front(),
                                         st.loss.back()));
  if (!st.wall.empty()) out.emplace_back("wall time", fmt::format("{:.1f} s", st.wall.back()));
  auto pct = [](double x) {
    return std::isnan(x) ? std::string("-") : fmt::format("{:.2f} %", 100 * x);
  };
  if (!st.evals.empty()) {
    const Evaluation &a = st.evals.front(), &b = st.evals.back();
    out.emplace_back("test accuracy",
                     fmt::format("{} at update {} -> {} at update {} (first {} test examples)",
                                 pct(a.accuracy), a.step, pct(b.accuracy), b.step, b.count));
    if (b.edited)
      out.emplace_back("edited", fmt::format("{} -> {}; unedited {} -> {}", pct(a.accuracy_edited),
                                             pct(b.accuracy_edited), pct(a.accuracy_unedited),
                                             pct(b.accuracy_unedited)));
  }
  for (const char* split : {"train", "test"}) {
    const std::string name = std::string("final/") + split;
    if (!io::exists(f.get(), name)) continue;
    io::Id g = io::open_group(f.get(), name);
    const Evaluation e = read_evaluation(g.get());
    out.emplace_back(std::string("final ") + split,
                     fmt::format("accuracy {} on {} examples{}", pct(e.accuracy), e.count,
                                 e.edited ? ", edited " + pct(e.accuracy_edited) : ""));
  }
  return out;
}

int resume_training(const std::string& path, const RunOptions& options) {
  std::string text, name;
  try {
    io::Id f = io::open_file_read(path);
    text = io::get_attr_string(f.get(), "config_resolved").value_or("");
    name = io::get_attr_string(f.get(), "config_file").value_or(path);
  } catch (const std::exception& e) {
    fmt::print(stderr, "hkam resume: {}\n", e.what());
    return 2;
  }
  try {
    return train_document(config::Document::from_string(text, name), options, "resume", &path);
  } catch (const config::ConfigError& e) {
    fmt::print(stderr, "hkam resume: config error: {}\n", e.what());
    return 2;
  }
}

}  // namespace hkam::run
