#include "cli/commands.hpp"

#include <fmt/format.h>
#include <omp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "config/reader.hpp"
#include "io/trace.hpp"
#include "run/experiment.hpp"
#include "run/network_run.hpp"
#include "run/train.hpp"

namespace hkam::cli {

extern const char* const kDemoConfig;  // experiments/demo.toml, embedded at build time

namespace {

// What the runners are told from the command line (a live progress line only on a terminal).
run::RunOptions run_options(const RunArgs& args) {
  run::RunOptions o;
  o.output = args.output;
  o.force = args.force;
  o.quiet = args.quiet;
  o.verbose = args.verbose;
  o.progress = isatty(fileno(stderr)) != 0;
  o.command_line = args.command_line;
  return o;
}

int run_document(config::Document doc, const RunArgs& args, const char* who,
                 const std::string* continue_trace = nullptr) {
  if (args.threads > 0) omp_set_num_threads(args.threads);
  std::optional<run::Experiment> exp;
  try {
    for (const auto& s : args.sets) doc.set(s);
    if (args.ignore_sweep) doc.erase("sweep");
    if (run::is_network_config(doc)) {
      if (continue_trace) {
        fmt::print(stderr, "hkam {}: network runs have no checkpoints to resume from\n", who);
        return 2;
      }
      run::RunOptions o = run_options(args);
      o.progress = false;  // network runs print no progress line
      return run::run_network(std::move(doc), o, who);
    }
    exp.emplace(std::move(doc));
  } catch (const config::ConfigError& e) {
    fmt::print(stderr, "hkam {}: config error: {}\n", who, e.what());
    return 2;
  }
  if (args.verbose)
    fmt::print(stderr, "# resolved configuration ({})\n{}\n", exp->document().name(),
               exp->document().resolved_text());
  const run::RunOptions opt = run_options(args);
  run::RunReport r;
  try {
    r = continue_trace ? exp->resume(*continue_trace, opt) : exp->run(opt);
  } catch (const std::exception& e) {
    fmt::print(stderr, "hkam {}: {}\n", who, e.what());
    return 2;
  }
  const int status = run::exit_status(r);
  if (args.quiet) return status;
  const Summary& s = r.summary;
  fmt::print("hkam {}: {}{}\n", who, exp->title().empty() ? "" : exp->title() + " - ",
             exp->description());
  fmt::print(
      "  integrator   {} steps accepted, {} rejected, {} RHS evaluations, {:.3f} s; end: {}\n",
      s.steps, s.rejected, s.rhs_evaluations, s.wall_seconds, end_reason_name(s.end_reason));
  fmt::print("  energy       {:.10g} -> {:.10g}\n", r.energy_first, r.energy_last);
  const AuditResult& a = r.audit;
  fmt::print("  audit        {} steps checked: {}, {} violations of {:g}*max(|E|,1)\n", a.checked,
             largest_change_text(a.max_increase), a.violations, r.tolerance);
  fmt::print("  model        {}\n", r.guarantee.guaranteed
                                        ? std::string("energy guaranteed non-increasing")
                                        : "energy NOT guaranteed: " + r.guarantee.reason);
  if (args.verbose)
    for (const auto& w : r.guarantee.warnings) fmt::print("  warning      {}\n", w);
  for (std::size_t k = 0; k < r.final_observables.size(); ++k)
    fmt::print("  {:<16} {:.6g} -> {:.6g}\n", r.final_observables[k].first,
               r.first_observables[k].second, r.final_observables[k].second);
  if (s.max_norm_drift > 0)
    fmt::print("  sphere norms max drift before renormalising {:.3g}\n", s.max_norm_drift);
  fmt::print("output: {} ({} recorded states)\n", r.output, r.records);
  if (r.signal) fmt::print(stderr, "hkam {}: interrupted by signal {}\n", who, r.signal);
  if (s.end_reason == EndReason::NonFinite)
    fmt::print(stderr,
               "hkam {}: the state or its energy became non-finite (inf or NaN) at t = {:.6g}: "
               "the run stopped there (end reason non_finite; the trace keeps everything before "
               "it); the energy audit does not count this as a violation\n",
               who, s.t);
  if (status == 1 && r.guarantee.guaranteed && !a.monotone())
    fmt::print(stderr, "hkam {}: the energy rose although the model guarantees it cannot\n", who);
  return status;
}

}  // namespace

int train(const RunArgs& args) {
  if (args.threads > 0) omp_set_num_threads(args.threads);
  try {
    config::Document doc = config::Document::from_file(args.config);
    for (const auto& s : args.sets) doc.set(s);
    return run::train(std::move(doc), run_options(args));
  } catch (const config::ConfigError& e) {
    fmt::print(stderr, "hkam train: config error: {}\n", e.what());
    return 2;
  }
}

int resume(const RunArgs& args) {
  const std::string& trace = args.config;  // the trace to continue
  if (run::is_training_file(trace)) {
    if (args.threads > 0) omp_set_num_threads(args.threads);
    return run::resume_training(trace, run_options(args));
  }
  io::RunRecord rec;
  try {
    rec = io::read_run_record(trace);
  } catch (const std::exception& e) {
    fmt::print(stderr, "hkam resume: {}\n", e.what());
    return 2;
  }
  if (rec.config_resolved.empty()) {
    fmt::print(stderr, "hkam resume: {}: no config_resolved attribute: not an hkam trace\n", trace);
    return 2;
  }
  if (rec.finished) {
    fmt::print(stderr, "hkam resume: {}: the run has finished (end reason {}); nothing to do\n",
               trace, rec.end_reason);
    return 2;
  }
  const std::string name = rec.config_file.empty() ? trace : rec.config_file;
  const std::string& text = rec.config_resolved;
  RunArgs a = args;
  a.output.clear();
  a.sets.clear();
  try {
    return run_document(config::Document::from_string(text, name), a, "resume", &trace);
  } catch (const config::ConfigError& e) {
    fmt::print(stderr, "hkam resume: config error: {}\n", e.what());
    return 2;
  }
}

int run(const RunArgs& args) {
  try {
    return run_document(config::Document::from_file(args.config), args, "run");
  } catch (const config::ConfigError& e) {
    fmt::print(stderr, "hkam run: config error: {}\n", e.what());
    return 2;
  }
}

int demo(const RunArgs& args) {
  RunArgs a = args;
  if (a.output.empty()) a.output = "out/demo/trace.h5";
  return run_document(config::Document::from_string(kDemoConfig, "experiments/demo.toml"), a,
                      "demo");
}

int check_energy(const std::string& path) {
  if (run::is_training_file(path)) {
    fmt::print(stderr,
               "hkam check-energy: {} is a training file (hkam train): it records losses, not "
               "energies. Audit the trained model by running it: `[model] init_from = \"{}\"` "
               "in a run config (experiments/train_edit_run.toml), then check-energy its trace\n",
               path, path);
    return 2;
  }
  io::EnergyCheck c;
  try {
    c = io::check_trace_energy(path);
  } catch (const std::exception& e) {
    fmt::print(stderr, "hkam check-energy: {}\n", e.what());
    return 2;
  }
  const AuditResult& a = c.audit;
  fmt::print("{}\n", path);
  fmt::print("  energies     {} samples from {}\n", c.samples, c.source);
  fmt::print("  tolerance    increase > {:g} * max(|E|, 1) counts as a violation\n",
             c.relative_tolerance);
  if (a.checked > 0)
    fmt::print("  {} at sample {} (t = {:.6g})\n", largest_change_text(a.max_increase),
               a.max_increase_step, a.max_increase_t);
  if (c.guaranteed_known)
    fmt::print("  model        {}\n",
               c.guaranteed ? "energy guaranteed non-increasing" : "NOT guaranteed: " + c.reason);
  if (a.monotone()) {
    fmt::print("  verdict      monotone ({} differences checked, 0 violations)\n", a.checked);
    return 0;
  }
  fmt::print("  verdict      NOT monotone: {} violations, first at sample {}\n", a.violations,
             a.first_violation_step);
  return 1;
}

int info(const std::string& path) {
  try {
    if (run::is_training_file(path)) {
      fmt::print("{}\n", path);
      for (const auto& [k, v] : run::training_info(path)) fmt::print("  {:<16} {}\n", k, v);
      return 0;
    }
    const io::TraceInfo t = io::read_trace_info(path);
    fmt::print("{}\n", path);
    for (const auto& [k, v] : t.lines) fmt::print("  {:<16} {}\n", k, v);
  } catch (const std::exception& e) {
    fmt::print(stderr, "hkam info: {}\n", e.what());
    return 2;
  }
  return 0;
}

/// The folder holding the `hkam` Python package whose command line (hkam/__main__.py) `hkam plot`
/// runs: from $HKAM_PYTHON_DIR, else next to an installed binary (PREFIX/bin/hkam →
/// PREFIX/share/hkam/python), else the source tree this binary was built from.
static std::string analysis_dir() {
  namespace fs = std::filesystem;
  if (const char* dir = std::getenv("HKAM_PYTHON_DIR")) return dir;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path installed = exe.parent_path().parent_path() / "share/hkam/python";
    if (fs::exists(installed / "hkam/__main__.py", ec)) return installed.string();
  }
  return HKAM_PYTHON_DIR;
}

int python_analysis(const std::string& who, std::vector<std::string> script_args) {
  const char* python = "/usr/bin/python3";
  const std::string dir = analysis_dir();
  const std::string script = dir + "/hkam/__main__.py";
  const char* install =
      "install it with: apt-get install python3 python3-numpy python3-h5py python3-matplotlib";
  if (access(python, X_OK) != 0) {
    fmt::print(stderr, "hkam {}: {} not found; {}\n", who, python, install);
    return 2;
  }
  if (!std::filesystem::exists(script)) {
    fmt::print(stderr,
               "hkam {}: the analysis module {} is missing (set HKAM_PYTHON_DIR to the "
               "folder holding the package hkam, hkam/__main__.py)\n",
               who, script);
    return 2;
  }
  // Which of the modules are missing, named exactly.
  FILE* p = popen(
      "/usr/bin/python3 -c \"import importlib.util; print(' '.join(n for n in "
      "('numpy', 'h5py', 'matplotlib') if importlib.util.find_spec(n) is None))\"",
      "r");
  std::string missing;
  if (p) {
    char buf[256];
    while (std::fgets(buf, sizeof buf, p)) missing += buf;
    pclose(p);
  }
  while (!missing.empty() && (missing.back() == '\n' || missing.back() == ' ')) missing.pop_back();
  if (!missing.empty()) {
    std::string pkgs;
    for (std::size_t a = 0; a < missing.size();) {
      const std::size_t b = std::min(missing.find(' ', a), missing.size());
      pkgs += " python3-" + missing.substr(a, b - a);
      a = b + 1;
    }
    fmt::print(stderr,
               "hkam {}: Python module(s) missing: {}; install them with: apt-get "
               "install{}\n",
               who, missing, pkgs);
    return 2;
  }
  // python3 -m hkam (the package's __main__.py: hkam.analysis's command line), with the
  // package's folder first on PYTHONPATH (the package needs no compiled core for the analysis).
  std::vector<std::string> args{python, "-m", "hkam"};
  args.insert(args.end(), script_args.begin(), script_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The environment with the package's folder first on PYTHONPATH, made before the fork.
  const char* old_path = std::getenv("PYTHONPATH");
  std::string python_path = "PYTHONPATH=" + dir;
  if (old_path && *old_path) python_path += std::string(":") + old_path;
  std::vector<char*> envp;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "PYTHONPATH=", 11) != 0) envp.push_back(*e);
  envp.push_back(python_path.data());
  envp.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) {
    fmt::print(stderr, "hkam {}: cannot start {}\n", who, python);
    return 2;
  }
  if (pid == 0) {
    execve(python, argv.data(), envp.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}

int plot(const std::string& trace, const std::string& out) {
  std::vector<std::string> a{"plot", trace};
  if (!out.empty()) a.insert(a.end(), {"-o", out});
  return python_analysis("plot", a);
}

}  // namespace hkam::cli
