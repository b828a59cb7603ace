#include "run/sweep.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "io/trace.hpp"
#include "run/experiment.hpp"
#include "run/network_run.hpp"
#include "run/signals.hpp"

extern char** environ;

namespace hkam::run {

namespace fs = std::filesystem;
using config::ConfigError;
using config::Document;
using config::Section;

namespace {

// The resolved config without `output` (a sweep may be resumed from another working directory).
std::string comparable(const std::string& resolved) {
  try {
    toml::table t = toml::parse(resolved);
    t.erase("output");
    std::ostringstream os;
    os << t;
    return os.str();
  } catch (const toml::parse_error&) {
    return resolved;
  }
}

std::string first_difference(const std::string& a, const std::string& b) {
  std::istringstream sa(a), sb(b);
  std::string la, lb;
  for (int line = 1;; ++line) {
    const bool ga = static_cast<bool>(std::getline(sa, la)),
               gb = static_cast<bool>(std::getline(sb, lb));
    if (!ga && !gb) return "";
    if (!ga || !gb || la != lb)
      return fmt::format("line {}: '{}' now '{}'", line, ga ? la : "(end)", gb ? lb : "(end)");
  }
}

std::string csv(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string r = "\"";
  for (char c : s) r += c == '"' ? std::string("\"\"") : std::string(1, c);
  return r + "\"";
}

void write_atomically(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + tmp.string());
  }
  fs::rename(tmp, path);
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Status of a finished run from its record, by the rules of `hkam run`'s exit status.
std::string status_of(const io::RunRecord& r) {
  if (!r.finished) return "interrupted";
  double monotone = 1, guaranteed = 0;
  for (const auto& [k, v] : r.numbers) {
    if (k == "monotone") monotone = v;
    if (k == "guaranteed") guaranteed = v;
  }
  const bool rose = guaranteed != 0 && monotone == 0;
  const auto reason = end_reason_from_name(r.end_reason);
  return (reason ? run_failed(*reason, guaranteed != 0, monotone != 0) : rose) ? "failed" : "done";
}

struct RunState {
  std::string status = "pending";
  int exit_code = -1;
  bool reused = false;
  std::optional<io::RunRecord> record;
};

std::string manifest_text(const SweepPlan& plan, const std::vector<RunState>& states,
                          const std::vector<std::string>& traces) {
  // Numeric results: a fixed order first, then whatever else the traces hold, alphabetically.
  std::vector<std::string> cols = {"t",
                                   "steps",
                                   "wall_seconds",
                                   "energy_initial",
                                   "energy_final",
                                   "monotone",
                                   "violations",
                                   "guaranteed",
                                   "cue",
                                   "cue_overlap_initial",
                                   "cue_overlap",
                                   "max_overlap",
                                   "best_pattern",
                                   "order_parameter_initial",
                                   "order_parameter"};
  std::set<std::string> present, extra;
  for (const auto& s : states)
    if (s.record)
      for (const auto& [k, v] : s.record->numbers) present.insert(k);
  for (const auto& k : present)
    if (std::find(cols.begin(), cols.end(), k) == cols.end()) extra.insert(k);
  std::erase_if(cols, [&](const std::string& k) { return !present.count(k); });
  cols.insert(cols.end(), extra.begin(), extra.end());

  std::string out = "index,name,status,exit_code,reused,seed";
  if (plan.has_replicates) out += ",replicate";
  for (const auto& c : plan.columns) {
    out += ',';
    out += csv(c);
  }
  out += ",end_reason";
  for (const auto& c : cols) {
    out += ',';
    out += c;
  }
  out += ",trace\n";
  for (std::size_t k = 0; k < plan.points.size(); ++k) {
    const SweepPoint& p = plan.points[k];
    const RunState& s = states[k];
    out += fmt::format("{},{},{},{},{},{}", p.index, csv(p.name), s.status,
                       s.exit_code < 0 && s.status == "pending" ? "" : std::to_string(s.exit_code),
                       s.reused ? 1 : 0, p.seed);
    if (plan.has_replicates) out += fmt::format(",{}", p.replicate);
    for (const auto& c : plan.columns) {
      out += ',';
      for (const auto& [key, label] : p.values)
        if (key == c) out += csv(label);
    }
    out += ',';
    if (s.record) out += s.record->end_reason;
    for (const auto& c : cols) {
      out += ",";
      if (!s.record) continue;
      for (const auto& [k2, v] : s.record->numbers)
        if (k2 == c) out += fmt::format("{}", v);
    }
    out += ',';
    out += csv(traces[k]);
    out += '\n';
  }
  return out;
}

}  // namespace
struct SweepSession::Impl {
  SweepArgs args;
  bool coordinator = true;
  Document doc;
  SweepPlan plan;
  std::vector<std::string> base_sets;  // the command line's --set, passed on to each run
  fs::path dir, runs, manifest;
  std::vector<std::string> traces, expected;
  std::vector<RunState> states;
  std::vector<std::size_t> pending;
  std::vector<bool> continue_run;  // `hkam resume` its checkpoint
  std::size_t reused = 0, finished_now = 0;
  std::vector<std::string> env_store;
  std::vector<char*> envp;
  int early = -1;

  int prepare();
};

int SweepSession::Impl::prepare() {
  try {
    doc = Document::from_file(args.config);
    for (const auto& s : args.sets) {
      doc.set(s);
      if (s.rfind("sweep.", 0) != 0) base_sets.push_back(s);
    }
    plan = expand_sweep(doc);
  } catch (const ConfigError& e) {
    fmt::print(stderr, "hkam sweep: config error: {}\n", e.what());
    return 2;
  }
  dir = args.out_dir.empty() ? fs::path("out") / fs::path(args.config).stem()
                             : fs::path(args.out_dir);
  runs = dir / "runs";
  manifest = dir / "manifest.csv";
  for (const auto& p : plan.points) traces.push_back((runs / (p.name + ".h5")).string());
  states.resize(plan.points.size());
  continue_run.assign(plan.points.size(), false);

  // Environment of the runs: one OpenMP thread each when several run at once.
  const int threads = args.threads > 0 ? args.threads : (args.jobs > 1 ? 1 : 0);
  for (char** e = environ; *e; ++e)
    if (threads == 0 || std::string(*e).rfind("OMP_NUM_THREADS=", 0) != 0) env_store.push_back(*e);
  if (threads > 0) env_store.push_back(fmt::format("OMP_NUM_THREADS={}", threads));
  for (auto& s : env_store) envp.push_back(s.data());
  envp.push_back(nullptr);
  if (!coordinator) return -1;  // a worker only needs the plan to start runs

  // Every run's configuration is validated (and resolved) before anything is written.
  // Runs are validated in parallel (building a model can take a while); the error reported is
  // that of the first bad run in run order, whatever the thread timing.
  expected.resize(plan.points.size());
  std::vector<std::string> errors(plan.points.size());
  const long n_points = static_cast<long>(plan.points.size());
#pragma omp parallel for schedule(dynamic)
  for (long k = 0; k < n_points; ++k) {
    try {
      Document d = doc;
      const SweepPoint& p = plan.points[static_cast<std::size_t>(k)];
      for (std::size_t s = 0; s < p.sets.size(); ++s) d.set(p.sets[s], p.origins[s]);
      d.set("output=" + toml_text(toml::value<std::string>(traces[static_cast<std::size_t>(k)])),
            "(the sweep's output)");
      if (is_network_config(d)) {
        validate_network(d);
        expected[static_cast<std::size_t>(k)] = comparable(d.resolved_text());
      } else {
        Experiment e(std::move(d));
        expected[static_cast<std::size_t>(k)] = comparable(e.document().resolved_text());
      }
    } catch (const std::exception& e) {
      errors[static_cast<std::size_t>(k)] = e.what();
    }
  }
  for (const auto& e : errors)
    if (!e.empty()) {
      fmt::print(stderr, "hkam sweep: config error: {}\n", e);
      return 2;
    }

  if (args.list) {
    fmt::print("{} runs into {}\n", plan.points.size(), dir.string());
    for (std::size_t k = 0; k < plan.points.size(); ++k)
      fmt::print("{:>5}  seed {:<10}  {}\n", k, plan.points[k].seed, traces[k]);
    return 0;
  }

  // The folder remembers the config it was made from; a different one needs --force.
  std::string identity = doc.text();
  for (const auto& s : args.sets) identity += "\n# --set " + s;
  identity += "\n";
  const fs::path identity_path = dir / "sweep.toml";
  if (fs::exists(identity_path)) {
    const std::string old = read_text(identity_path);
    if (old != identity && !args.force) {
      fmt::print(stderr,
                 "hkam sweep: {} was made from another config ({}); use --force to continue "
                 "with this one (runs whose resolved config changed are redone, the others "
                 "kept), or choose another folder with -o\n",
                 identity_path.string(), first_difference(old, identity));
      return 2;
    }
  }

  std::size_t changed = 0;
  std::string first_changed;
  for (std::size_t k = 0; k < plan.points.size(); ++k) {
    if (!fs::exists(traces[k])) {
      pending.push_back(k);
      continue;
    }
    std::optional<io::RunRecord> rec;
    try {
      rec = io::read_run_record(traces[k]);
    } catch (const std::exception&) {
    }
    const bool same = rec && comparable(rec->config_resolved) == expected[k];
    if (rec && rec->finished && same) {
      states[k].record = rec;
      states[k].reused = true;
      states[k].status = status_of(*rec);
      states[k].exit_code = states[k].status == "done" ? 0 : 1;
      continue;
    }
    if (rec && !rec->finished && rec->has_checkpoint && same) continue_run[k] = true;
    if (rec && rec->finished && !changed++)
      first_changed =
          traces[k] + ": " + first_difference(comparable(rec->config_resolved), expected[k]);
    pending.push_back(k);
  }
  if (changed && !args.force) {
    fmt::print(stderr,
               "hkam sweep: {} finished run(s) in {} were made from another configuration "
               "(first: {}); use --force to redo them\n",
               changed, dir.string(), first_changed);
    return 2;
  }

  fs::create_directories(runs);
  write_atomically(identity_path, identity);
  write_atomically(manifest, manifest_text(plan, states, traces));
  reused = plan.points.size() - pending.size();
  if (!args.quiet)
    fmt::print(
        "hkam sweep: {} runs in {} ({} finished earlier, {} to run of which {} continue from "
        "their checkpoints)\n",
        plan.points.size(), dir.string(), reused, pending.size(),
        std::count(continue_run.begin(), continue_run.end(), true));
  return -1;
}

SweepSession::SweepSession(const SweepArgs& args, bool coordinator)
    : impl_(std::make_unique<Impl>()) {
  impl_->args = args;
  impl_->coordinator = coordinator;
  impl_->early = impl_->prepare();
}
SweepSession::~SweepSession() = default;

int SweepSession::early_exit() const {
  return impl_->early;
}
const std::vector<std::size_t>& SweepSession::pending() const {
  return impl_->pending;
}
bool SweepSession::continues(std::size_t k) const {
  return impl_->continue_run[k];
}
void SweepSession::set_continues(std::size_t k, bool yes) {
  impl_->continue_run[k] = yes;
}

pid_t SweepSession::start(std::size_t k) {
  Impl& x = *impl_;
  const SweepPoint& p = x.plan.points[k];
  std::vector<std::string> argv_store;
  if (x.continue_run[k]) {  // an interrupted run with the same config: continued exactly
    argv_store = {x.args.hkam_exe, "resume", x.traces[k]};
  } else {
    argv_store = {x.args.hkam_exe, "run", x.args.config, "--ignore-sweep", "--force"};
    for (const auto& s : x.base_sets) argv_store.insert(argv_store.end(), {"--set", s});
    for (const auto& s : p.sets) argv_store.insert(argv_store.end(), {"--set", s});
    argv_store.insert(argv_store.end(),
                      {"--set", "output=" + toml_text(toml::value<std::string>(x.traces[k]))});
  }
  std::vector<char*> argv;
  for (auto& s : argv_store) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::error_code ec;
  fs::create_directories(x.runs, ec);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  const std::string log = (x.runs / (p.name + ".log")).string();
  posix_spawn_file_actions_addopen(
      &fa, 1, log.c_str(), O_WRONLY | O_CREAT | (x.continue_run[k] ? O_APPEND : O_TRUNC), 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = 0;
  const int rc =
      posix_spawn(&pid, x.args.hkam_exe.c_str(), &fa, nullptr, argv.data(), x.envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error(fmt::format("cannot start {}: {}", x.args.hkam_exe, rc));
  x.states[k].status = "running";
  return pid;
}

int SweepSession::exit_code_of(int wait_status) {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -WTERMSIG(wait_status);
}

void SweepSession::finished(std::size_t k, int exit_code) {
  Impl& x = *impl_;
  RunState& s = x.states[k];
  s.exit_code = exit_code;
  s.status = exit_code == 0   ? "done"
             : exit_code == 1 ? "failed"
             : exit_code == 2 ? "error"
             : exit_code < 0  ? "killed"
                              : "interrupted";
  s.record.reset();
  try {
    if (fs::exists(x.traces[k])) s.record = io::read_run_record(x.traces[k]);
  } catch (const std::exception&) {
  }
  ++x.finished_now;
  write_atomically(x.manifest, manifest_text(x.plan, x.states, x.traces));
  if (!x.args.quiet) {
    std::string what = s.record ? s.record->end_reason : std::string("no trace");
    if (s.record)
      for (const auto& [name, v] : s.record->numbers)
        if (name == "energy_final") what += fmt::format(", E = {:.6g}", v);
    fmt::print("  [{}/{}] {:<11} {} ({})\n", x.finished_now, x.pending.size(), s.status,
               x.plan.points[k].name, what);
    std::fflush(stdout);
  }
}

int SweepSession::finish(int signal) {
  Impl& x = *impl_;
  write_atomically(x.manifest, manifest_text(x.plan, x.states, x.traces));
  std::map<std::string, int> count;
  for (const auto& s : x.states) ++count[s.status];
  if (!x.args.quiet) {
    std::string line;
    for (const auto& [status, n] : count)
      line += fmt::format("{}{} {}", line.empty() ? "" : ", ", n, status);
    fmt::print("hkam sweep: {} ({} reused); manifest {}\n", line, x.reused, x.manifest.string());
  }
  if (signal) return 128 + signal;
  return count["done"] == static_cast<int>(x.states.size()) ? 0 : 1;
}

int sweep(const SweepArgs& args) {
  SweepSession session(args, true);
  if (session.early_exit() >= 0) return session.early_exit();
  const auto& pending = session.pending();

  std::optional<SignalGuard> signals(std::in_place);

  std::map<pid_t, std::size_t> running;
  std::size_t next = 0;
  bool stopping = false;
  auto stop_all = [&]() {
    if (stopping) return;
    stopping = true;
    for (const auto& [pid, k] : running) kill(pid, SIGTERM);
  };
  int error = 0;
  try {
    while (next < pending.size() || !running.empty()) {
      if (SignalGuard::received()) stop_all();
      while (!stopping && running.size() < static_cast<std::size_t>(std::max(args.jobs, 1)) &&
             next < pending.size()) {
        const std::size_t k = pending[next++];
        running[session.start(k)] = k;
      }
      if (running.empty()) break;
      int st = 0;
      const pid_t pid = waitpid(-1, &st, WNOHANG);
      if (pid == 0 || (pid < 0 && errno == EINTR)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      if (pid < 0) throw std::runtime_error("waitpid failed");
      const auto it = running.find(pid);
      if (it == running.end()) continue;
      const std::size_t k = it->second;
      running.erase(it);
      session.finished(k, SweepSession::exit_code_of(st));
    }
  } catch (const std::exception& e) {
    stop_all();
    for (const auto& [pid, k] : running) waitpid(pid, nullptr, 0);
    fmt::print(stderr, "hkam sweep: {}\n", e.what());
    error = 2;
  }
  const int signal = SignalGuard::received();
  signals.reset();
  const int code = session.finish(signal);
  return error ? error : code;
}

}  // namespace hkam::run
