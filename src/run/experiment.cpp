#include "run/experiment.hpp"

#include <fmt/format.h>

#include <Eigen/Eigenvalues>
#include <ctime>
#include <filesystem>
#include <limits>
#include <type_traits>
#include <variant>

#include "analysis/segmentation.hpp"
#include "hkam/hkam.hpp"
#include "io/trace.hpp"
#include "run/initial_state.hpp"
#include "run/limits.hpp"
#include "run/model_config.hpp"
#include "run/observables.hpp"
#include "run/progress.hpp"
#include "run/signals.hpp"

namespace hkam::run {

namespace fs = std::filesystem;
using config::Section;

void refuse_overwriting_input(const config::Document& doc, const std::string& output) {
  std::error_code ec;
  for (const auto& in : doc.inputs())
    if (fs::equivalent(in, output, ec))
      throw std::runtime_error(fmt::format(
          "the output {} is an input of this run ({}): refusing to write over it, even with "
          "--force",
          output, in));
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void write_run_attributes(hid_t f, const config::Document& doc, const std::string& command_line,
                          std::uint64_t seed, const std::string& title) {
  io::set_attr(f, "hkam_version", std::string(version()));
  io::set_attr(f, "git_revision", std::string(git_revision()));
  io::set_attr(f, "created_utc", utc_now());
  io::set_attr(f, "command_line", command_line);
  io::set_attr(f, "seed", static_cast<long long>(seed));
  io::set_attr(f, "title", title);
  io::set_attr(f, "config_file", doc.name());
  io::set_attr(f, "config_toml", doc.text());
  io::set_attr(f, "config_resolved", doc.resolved_text());
  io::set_attr(f, "git_revision_history", fmt::format("{}@0", git_revision()));
}

std::string append_revision(const std::string& history, const std::string& revision,
                            const std::string& at) {
  const std::string last = history.substr(history.rfind(' ') + 1);
  if (last.substr(0, last.find('@')) == revision) return history;
  return fmt::format("{} {}@{}", history, revision, at);
}

namespace {

/// What the observers of one integration keep, and what a checkpoint saves of it.
struct LoopState {
  LoopState(Eigen::VectorXd start, EnergyAudit a) : z(std::move(start)), audit(std::move(a)) {}
  Eigen::VectorXd z;
  EnergyAudit audit;
  double drift_since_sample = 0;
  std::optional<EnergyPlateau> plateau;
  std::optional<Resume> resume;  // set when continuing from a checkpoint
  io::Checkpoint ck;
  void save(const Eigen::VectorXd& s, const StepInfo& info) {
    ck.integrator = *info.state;
    ck.x = s;
    ck.derivative = *info.derivative;
    ck.audit = audit.state();
    ck.drift_since_sample = drift_since_sample;
    ck.window = plateau ? plateau->saved() : std::vector<double>{};
  }
};

}  // namespace

struct Experiment::Impl {
  config::Document doc;
  std::string kind, output, title;
  std::uint64_t seed = 1;
  AnyModel model;
  analysis::Scene scene;  // akorn_conv with a synthetic scene: its image and object mask
  Eigen::MatrixXd patterns;
  long cue = -1;  // pattern the initial state was made from, if any
  Eigen::VectorXd z0;
  SimulateOptions so;
  double audit_rtol = 1e-8, audit_factor = 100;
  double plateau_window = 0, plateau_tol = 0, order_stop = 0;
  bool store_states = true, audit_steps = true;
  double flush_seconds = 2;
  double checkpoint_seconds = 30;

  explicit Impl(config::Document d) : doc(std::move(d)) {}
  /// A new run, or (with `continue_path`) the continuation of that trace from its checkpoint.
  template <class Model>
  RunReport run(const Model& m, const RunOptions& opt, const std::string* continue_path);

 private:
  template <class Model>
  io::TraceWriter& open_trace(std::optional<io::TraceWriter>& writer, const Model& model,
                              const RunOptions& opt, const std::string* continue_path,
                              const std::vector<std::string>& part_names,
                              const std::vector<io::ObservableSpec>& specs, LoopState& ls,
                              RunReport& rep) const;
  template <class Model>
  std::vector<std::pair<std::string, double>> key_results(const Model& model,
                                                          const Eigen::VectorXd& z_first,
                                                          const Eigen::VectorXd& z,
                                                          const RunReport& rep,
                                                          SampleObservables& observe) const;
};

Experiment::Experiment(config::Document doc) : impl_(std::make_unique<Impl>(std::move(doc))) {
  Impl& x = *impl_;
  Section root = x.doc.root();
  x.seed = static_cast<std::uint64_t>(root.integer("seed", 1, config::Range{0, config::kMaxSeed}));
  x.title = root.string("title", "");
  const std::string stem = fs::path(x.doc.name()).stem().string();
  x.output = root.string("output", "out/" + (stem.empty() ? std::string("run") : stem) + ".h5");
  Budget budget(root);
  ModelConfig mc = read_model(root, x.seed, budget);
  x.kind = std::move(mc.kind);
  x.model = std::move(mc.model);
  x.scene = std::move(mc.scene);
  x.patterns = std::move(mc.patterns);
  const StateLayout lay = std::visit([](const auto& m) { return m.layout(); }, x.model);

  // Integrator
  Section in = root.section("integrator");
  x.so.stepper = stepper_from_name(
      in.choice("stepper", "dopri5", {"dopri5", "rkf78", "rk4", "euler", "akorn"}));
  if (x.so.stepper == StepperKind::Akorn) {
    x.so.dt = in.number("gamma", std::nullopt, config::positive());
    const long steps = in.integer("steps", std::nullopt, config::at_least(1));
    x.so.t_end = static_cast<double>(steps) * x.so.dt;
    in.irrelevant("t_end", "the akorn stepper runs `steps` updates of size `gamma`");
    in.irrelevant("dt", "the akorn stepper's step is `gamma`");
  } else {
    in.irrelevant("gamma", "only used with stepper = \"akorn\"");
    in.irrelevant("steps", "only used with stepper = \"akorn\" (use t_end)");
    x.so.t_end = in.number("t_end", std::nullopt, config::positive());
    x.so.dt = in.number("dt", 1e-2, config::positive());
    if (x.so.dt > x.so.t_end)
      in.fail("dt", fmt::format("the step {:g} is longer than t_end = {:g}", x.so.dt, x.so.t_end));
  }
  if (is_adaptive(x.so.stepper)) {
    x.so.rtol = in.number("rtol", 1e-8, config::positive());
    x.so.atol = in.number("atol", 1e-10, config::positive());
    x.so.dt_min = in.number("dt_min", 1e-12, config::positive());
    if (in.has("dt_max")) x.so.dt_max = in.number("dt_max", std::nullopt, config::positive());
  } else {
    for (const char* k : {"rtol", "atol", "dt_min", "dt_max"})
      in.irrelevant(k, "only used by the adaptive steppers (dopri5, rkf78)");
  }
  x.so.max_steps = in.integer("max_steps", 100'000'000, config::at_least(1));
  if (!is_adaptive(x.so.stepper) && x.so.stepper != StepperKind::Akorn &&
      x.so.t_end / x.so.dt > static_cast<double>(x.so.max_steps))
    in.note("dt", fmt::format("t_end / dt = {:g} fixed steps exceed max_steps = {} (raise "
                              "integrator.max_steps if you mean it)",
                              x.so.t_end / x.so.dt, x.so.max_steps));
  in.done();

  Section au = root.section("audit");
  x.audit_rtol =
      au.number("rtol", is_adaptive(x.so.stepper) ? x.so.rtol : 1e-10, config::positive());
  x.audit_factor = au.number("factor", 100.0, config::positive());
  if (x.audit_rtol * x.audit_factor > EnergyAudit::kMaxRelativeTolerance)
    au.note(au.has("factor") || !au.has("rtol") ? "factor" : "rtol",
            fmt::format("the audit tolerance factor * rtol = {:g} * {:g} = {:g} is above {:g}, the "
                        "largest that cannot hide a genuine rise of the energy{}",
                        x.audit_factor, x.audit_rtol, x.audit_factor * x.audit_rtol,
                        EnergyAudit::kMaxRelativeTolerance,
                        au.has("rtol") ? ""
                                       : " (audit.rtol defaults to integrator.rtol: set "
                                         "audit.rtol explicitly for a loose integrator)"));
  au.done();

  Section st = root.section("stop");
  x.so.converged_tol = st.number("converged", 0.0, config::non_negative());
  x.plateau_window = st.number("plateau_window", 0.0, config::non_negative());
  if (x.plateau_window > 0)
    x.plateau_tol = st.number("plateau_tol", 1e-12, config::positive());
  else
    st.irrelevant("plateau_tol", "only used with plateau_window > 0");
  if (lay.n_osc)
    x.order_stop = st.number("order_parameter", 0.0, config::unit_interval());
  else
    st.irrelevant("order_parameter", "the model has no oscillators");
  st.done();

  Section rec = root.section("record");
  // About 100 recorded states per run (tracing then costs a few % of the run, docs/performance.md);
  // a fixed-step run records every k-th step.
  double default_interval = (x.so.t_end - x.so.t0) / 100.0;
  if (!is_adaptive(x.so.stepper))
    default_interval = x.so.dt * std::max(1.0, std::floor(default_interval / x.so.dt));
  x.so.sample_interval = rec.number("interval", default_interval, config::positive());
  if (!is_adaptive(x.so.stepper)) {
    const double ratio = x.so.sample_interval / x.so.dt;
    if (std::abs(ratio - std::round(ratio)) > 1e-9 * ratio || ratio < 0.5)
      rec.fail("interval", fmt::format("with a fixed-step stepper the interval must be a "
                                       "multiple of the step {:g}, got {:g}",
                                       x.so.dt, x.so.sample_interval));
  }
  x.store_states = rec.boolean("states", true);
  x.audit_steps = rec.boolean("audit_steps", true);
  x.flush_seconds = rec.number("flush_seconds", 2.0, config::positive());
  x.checkpoint_seconds = rec.number("checkpoint_seconds", 30.0, config::non_negative());
  {
    // The integrator's stages and work vectors (rkf78: 13 stages), then the trace: one row per
    // recorded state, one per accepted step for the audit (fixed-step runs: t_end/dt of them).
    const double dim = static_cast<double>(lay.n_units + lay.n_osc * lay.osc_dim);
    budget.memory(root, "model", 8.0 * dim * 24, "for the integrator's state vectors");
    const double span = x.so.t_end - x.so.t0;
    const double records = std::floor(span / x.so.sample_interval) + 2;
    const double row =
        8.0 * ((x.store_states ? dim : 0) + 16 + static_cast<double>(x.patterns.rows()));
    budget.output(rec, "interval", records * row, "for the recorded states");
    if (x.audit_steps && !is_adaptive(x.so.stepper))
      budget.output(rec, "audit_steps", 16.0 * (span / x.so.dt + 1),
                    "for the per-step energies (record.audit_steps = false leaves them out)");
    else if (x.audit_steps)  // adaptive: at most max_steps rows
      budget.output(in, "max_steps", 16.0 * static_cast<double>(x.so.max_steps),
                    "for the per-step energies of up to max_steps steps (record.audit_steps = "
                    "false leaves them out)");
  }
  rec.done();

  x.z0 = read_initial(root.section("initial"), lay, x.patterns, x.seed, x.cue);
  root.irrelevant("sweep",
                  "this is a sweep: run it with `hkam sweep`, or its base point with "
                  "`hkam run --ignore-sweep`");
  root.done();  // reports every error noted in the file
}

Experiment::~Experiment() = default;
Experiment::Experiment(Experiment&&) noexcept = default;
const std::string& Experiment::output() const {
  return impl_->output;
}
std::string Experiment::title() const {
  return impl_->title;
}
const config::Document& Experiment::document() const {
  return impl_->doc;
}

const std::string& Experiment::kind() const {
  return impl_->kind;
}
const AnyModel& Experiment::model() const {
  return impl_->model;
}
const Eigen::VectorXd& Experiment::initial_state() const {
  return impl_->z0;
}
const SimulateOptions& Experiment::simulate_options() const {
  return impl_->so;
}
Experiment::Settings Experiment::settings() const {
  const Impl& x = *impl_;
  return {x.audit_rtol, x.audit_factor, x.plateau_window, x.plateau_tol, x.order_stop};
}
const Eigen::MatrixXd& Experiment::patterns() const {
  return impl_->patterns;
}

std::string Experiment::description() const {
  const StateLayout lay = std::visit([](const auto& m) { return m.layout(); }, impl_->model);
  std::string s = impl_->kind;
  if (lay.n_units) s += fmt::format(", N = {} units", lay.n_units);
  if (impl_->patterns.size()) s += fmt::format(", P = {} patterns", impl_->patterns.rows());
  if (lay.n_osc) s += fmt::format(", M = {} oscillators on S^{}", lay.n_osc, lay.osc_dim - 1);
  return s;
}

RunReport Experiment::run(const RunOptions& opt) {
  return std::visit([&](const auto& m) { return impl_->run(m, opt, nullptr); }, impl_->model);
}

RunReport Experiment::resume(const std::string& trace, const RunOptions& opt) {
  return std::visit([&](const auto& m) { return impl_->run(m, opt, &trace); }, impl_->model);
}

// Creates the trace (a new run) or reopens it at its checkpoint (`continue_path`); a continued
// run takes its state, audit, drift, plateau window and integrator state from the checkpoint.
template <class Model>
io::TraceWriter& Experiment::Impl::open_trace(std::optional<io::TraceWriter>& writer,
                                              const Model& model, const RunOptions& opt,
                                              const std::string* continue_path,
                                              const std::vector<std::string>& part_names,
                                              const std::vector<io::ObservableSpec>& specs,
                                              LoopState& ls, RunReport& rep) const {
  const StateLayout lay = model.layout();
  if (!continue_path) {
    writer.emplace(rep.output, lay, part_names, specs, flush_seconds, store_states, opt.force);
    const hid_t f = writer->file();
    write_run_attributes(f, doc, opt.command_line, seed, title);
    io::write_model(f, model, patterns);
    if (!scene.mask.empty()) io::write_scene(f, scene);
    writer->publish();  // the file appears under its name only now, complete so far
    return *writer;
  }
  // At most the records and audited steps this config can produce (the output estimate's
  // counts): a checkpoint claiming more was edited (docs/hostile-input.md).
  io::ContinueFrom from{*continue_path};
  const double span = so.t_end - so.t0;
  from.max_rows = std::floor(span / so.sample_interval) + 2;
  from.max_audit_rows =
      (is_adaptive(so.stepper) ? static_cast<double>(so.max_steps) : std::ceil(span / so.dt)) + 1;
  io::Checkpoint& ck = ls.ck;
  writer.emplace(from, lay, part_names, specs, flush_seconds, store_states, ck);
  const hid_t f = writer->file();
  // The checkpoint must lie inside this run (a trace edited by others can say anything).
  const IntegratorState& st = ck.integrator;
  const double h = so.sample_interval;
  if (!(st.t >= so.t0 && st.t <= so.t_end) || st.steps > so.max_steps ||
      (is_adaptive(so.stepper) && !(st.dt > 0)) ||
      (h > 0 && !(static_cast<double>(st.next_sample) <= (st.t - so.t0) / h + 2)))
    throw std::runtime_error(fmt::format(
        "{}: the checkpoint (t = {:g}, step {}, dt = {:g}) does not lie inside this run "
        "(t from {:g} to {:g}): the trace was changed after it was written",
        *continue_path, st.t, st.steps, st.dt, so.t0, so.t_end));
  io::set_attr(f, "resumed_utc", utc_now());
  io::set_attr(f, "resume_command_line", opt.command_line);
  // Traces written before the history was kept: the binary that began them, and the last resume's.
  std::string history = io::get_attr_string(f, "git_revision_history").value_or("");
  if (history.empty()) {
    history = io::get_attr_string(f, "git_revision").value_or("unknown") + "@0";
    if (const auto r = io::get_attr_string(f, "resume_git_revision"))
      history = append_revision(history, *r, "?");
  }
  io::set_attr(
      f, "git_revision_history",
      append_revision(history, std::string(git_revision()), std::to_string(ck.integrator.steps)));
  io::set_attr(f, "resume_git_revision", std::string(git_revision()));
  ls.z = ck.x;
  ls.audit.restore(ck.audit);
  ls.drift_since_sample = ck.drift_since_sample;
  if (ls.plateau) ls.plateau->restore(ck.window);
  ls.resume = Resume{ck.integrator, ck.derivative};
  rep.records = static_cast<long>(ck.rows);
  return *writer;
}

// The key results of a run, as /summary attributes (what a sweep's manifest collects).
template <class Model>
std::vector<std::pair<std::string, double>> Experiment::Impl::key_results(
    const Model& model, const Eigen::VectorXd& z_first, const Eigen::VectorXd& z,
    const RunReport& rep, SampleObservables& observe) const {
  const StateLayout lay = model.layout();
  const bool overlaps = observe.overlaps();
  std::vector<std::pair<std::string, double>> results{{"energy_initial", rep.energy_first},
                                                      {"energy_final", rep.energy_last}};
  if (overlaps) {
    const Eigen::VectorXd m0 = pattern_overlaps(patterns, z_first.head(lay.n_units));
    const Eigen::VectorXd m = pattern_overlaps(patterns, z.head(lay.n_units));
    Index best = 0;
    m.maxCoeff(&best);
    if (cue >= 0) {
      results.emplace_back("cue", static_cast<double>(cue));
      results.emplace_back("cue_overlap_initial", m0[cue]);
      results.emplace_back("cue_overlap", m[cue]);
    }
    results.emplace_back("max_overlap", m[best]);
    results.emplace_back("best_pattern", static_cast<double>(best));
  }
  if (lay.n_osc) {
    results.emplace_back("order_parameter_initial", observe.order_parameter_of(z_first));
    results.emplace_back("order_parameter", observe.order_parameter_of(z));
    for (const auto& [name, v] : oscillator_geometry(model, lay, z)) results.emplace_back(name, v);
  }
  if constexpr (std::is_same_v<Model, HopfieldKuramoto>) {
    results.emplace_back("binding_initial", binding(lay, z_first));
    results.emplace_back("binding", binding(lay, z));
    if (lay.n_units <= 1000 && model.coupling().kind == HkCouplingKind::Additive &&
        model.coupling().graph.is_complete()) {
      // Additive coupling on the complete graph: W_eff − W_s = (α/κ_H)(ΣΣᵀ − I), so with its
      // diagonal completed by α/κ_H (s_ii = 1) it is the Gram matrix of the oscillators, rank ≤ D.
      Eigen::MatrixXd delta = model.effective_weights(z) - model.hopfield().w_sym();
      delta.diagonal().array() += model.coupling().alpha / model.kappa_h();
      const Eigen::VectorXd ev =
          Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(delta, Eigen::EigenvaluesOnly)
              .eigenvalues()
              .cwiseAbs();
      const double tol = 1e-10 * std::max(ev.size() ? ev.maxCoeff() : 0.0, 1e-300);
      results.emplace_back("correction_rank", static_cast<double>((ev.array() > tol).count()));
    }
  }
  if constexpr (std::is_same_v<Model, ConvAkorn>) {
    if (!scene.mask.empty()) {
      // Object discovery on the oscillator states: k-means (K = objects + background) of the final
      // state per position, against the scene's mask; the same on the stimulus as a baseline.
      const Index hw = scene.height * scene.width;
      const int k = *std::max_element(scene.mask.begin(), scene.mask.end()) + 1;
      const Eigen::Map<const Eigen::MatrixXd> final_states(z.data(), z.size() / hw, hw);
      Rng krng(Rng::derive(seed, kClustering));
      const auto labels = analysis::kmeans(final_states, k, krng);
      results.emplace_back("ari", analysis::adjusted_rand_index(scene.mask, labels));
      results.emplace_back("fg_ari", analysis::adjusted_rand_index(scene.mask, labels, true));
      const auto base = analysis::kmeans(model.spec().stimulus, k, krng);
      results.emplace_back("ari_stimulus", analysis::adjusted_rand_index(scene.mask, base));
      results.emplace_back("fg_ari_stimulus",
                           analysis::adjusted_rand_index(scene.mask, base, true));
    }
  }
  return results;
}

template <class Model>
RunReport Experiment::Impl::run(const Model& model, const RunOptions& opt,
                                const std::string* continue_path) {
  RunReport rep;
  rep.output = continue_path ? *continue_path : opt.output.empty() ? output : opt.output;
  const fs::path path(rep.output);
  if (!continue_path) refuse_overwriting_input(doc, rep.output);
  if (!continue_path && path.has_parent_path()) fs::create_directories(path.parent_path());

  const StateLayout lay = model.layout();
  LoopState ls(z0, EnergyAudit(audit_rtol, audit_factor));
  renormalize(lay, ls.z);
  const Eigen::VectorXd z_first = ls.z;
  std::vector<std::string> part_names;
  for (const auto& p : model.energy_parts(ls.z)) part_names.push_back(p.name);
  SampleObservables observe(lay, patterns, cue);
  if (plateau_window > 0) ls.plateau.emplace(plateau_window, plateau_tol);
  std::optional<io::TraceWriter> writer;
  io::TraceWriter& trace =
      open_trace(writer, model, opt, continue_path, part_names, observe.specs(), ls, rep);

  // A sample taken at a step's own time holds the state the observer sees next: its energy is
  // passed on instead of being computed twice (fixed-step runs recording every k-th step).
  double sample_t = std::numeric_limits<double>::quiet_NaN(), sample_e = 0;
  auto record = [&](double t, const Eigen::VectorXd& s) {
    const EnergyParts parts = model.energy_parts(s);
    sample_t = t;
    sample_e = 0;
    for (const auto& p : parts) sample_e += p.value;
    trace.record(t, s, sample_e, parts, observe.compute(s, ls.drift_since_sample));
    ls.drift_since_sample = 0;
    ++rep.records;
  };
  rep.first_observables = observe.named(z_first);
  rep.energy_first = model.energy(z_first);

  // Stop conditions checked after every step, besides those simulate() knows.
  std::optional<OrderParameterAbove> synchronised;
  if (order_stop > 0) synchronised.emplace(lay, order_stop);
  ProgressLine progress(opt.progress && !opt.quiet, 0.2, false);
  SignalGuard signals;
  Periodic checkpoint(checkpoint_seconds);
  auto write_checkpoint = [&](const Eigen::VectorXd& s, const StepInfo& info) {
    ls.save(s, info);
    trace.checkpoint(ls.ck);
    checkpoint.reset();
  };
  const Observer observer = [&](double t, const Eigen::VectorXd& s, const StepInfo& info) {
    if (info.repeat) {  // the sampler stopped inside a step: checkpoint the step's start
      if (info.state) write_checkpoint(s, info);
      return Action::stop_with(EndReason::Interrupted);
    }
    const double e = t == sample_t ? sample_e : model.energy(s);
    if (!std::isfinite(e))  // not an audit violation: the numbers themselves broke down
      return Action::stop_with(EndReason::NonFinite);
    ls.audit.add(info.step, t, e);
    if (audit_steps) trace.audit_step(t, e);
    ls.drift_since_sample = std::max(ls.drift_since_sample, info.drift);
    if (const int sig = SignalGuard::received()) {  // the run continues from this state
      rep.signal = sig;
      if (info.state) write_checkpoint(s, info);
      return Action::stop_with(EndReason::Interrupted);
    }
    if (ls.plateau)
      if (const Action a = ls.plateau->add(t, e); a.stop) return a;
    if (synchronised)
      if (const Action a = synchronised->check(s); a.stop) return a;
    if ((info.step & 63) == 0) {
      if (progress.due())
        progress.show("  t = {:.4g} / {:.4g} ({:3.0f} %)  steps {}  E = {:.10g}", t, so.t_end,
                      100.0 * (t - so.t0) / (so.t_end - so.t0), info.step, e);
      if (checkpoint_seconds > 0 && info.state && checkpoint.due()) write_checkpoint(s, info);
    }
    return Action::proceed();
  };
  const Sampler sampler = [&](double t, const Eigen::VectorXd& s) {
    if (const int sig = SignalGuard::received()) {  // one step may span very many samples
      rep.signal = sig;
      return false;
    }
    record(t, s);
    return true;
  };
  Eigen::VectorXd& z = ls.z;
  rep.summary = simulate(model, z, so, observer, sampler, ls.resume ? &*ls.resume : nullptr);
  progress.end();
  // The final state is always in the trace, whenever the run ended.
  if (trace.last_time() < rep.summary.t - 1e-12 * std::max(1.0, std::abs(rep.summary.t)))
    record(rep.summary.t, z);
  rep.guarantee = model.lyapunov();
  rep.audit = ls.audit.result();
  rep.tolerance = ls.audit.relative_tolerance();
  rep.energy_last = model.energy(z);
  rep.final_observables = observe.named(z);
  trace.finish(rep.audit, rep.tolerance, rep.guarantee, rep.summary, so,
               key_results(model, z_first, z, rep, observe));
  return rep;
}

int exit_status(const RunReport& r) {
  if (r.signal) return 128 + r.signal;
  if (r.summary.end_reason == EndReason::Interrupted) return 130;
  return run_failed(r.summary.end_reason, r.guarantee.guaranteed, r.audit.monotone()) ? 1 : 0;
}

bool run_failed(EndReason reason, bool guaranteed, bool monotone) {
  switch (reason) {
    case EndReason::MaxSteps:
    case EndReason::StepCollapse:
    case EndReason::NonFinite:
      return true;
    default:
      return guaranteed && !monotone;
  }
}

}  // namespace hkam::run
