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

#include "hkam/random.hpp"
#include "io/trace.hpp"
#include "run/experiment.hpp"

extern char** environ;

namespace hkam::run {

namespace fs = std::filesystem;
using config::ConfigError;
using config::Document;
using config::Section;

namespace {

// One swept dimension: one key (grid, seeds) or several varied together (zip).
struct Axis {
  std::vector<std::string> keys;
  std::vector<std::vector<std::string>> text;    // [key][value]: TOML text
  std::vector<std::vector<std::string>> label;   // [key][value]: for names and the manifest
  std::vector<std::vector<std::string>> origin;  // [key][value]: file:line:col (sweep.x.key)
  std::size_t size() const { return text.empty() ? 0 : text.front().size(); }
};

// TOML text of a value, keeping floats floats ("1.0", not "1").
std::string toml_text(const toml::node& n) {
  if (const auto d = n.value_exact<double>()) {
    std::string s = fmt::format("{}", *d);
    if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // n: inf, nan
    return s;
  }
  std::ostringstream os;
  n.visit([&](auto&& v) { os << v; });
  return os.str();
}

std::string toml_label(const toml::node& n) {
  if (const auto s = n.value_exact<std::string>()) return *s;
  if (const auto d = n.value_exact<double>()) return fmt::format("{}", *d);
  std::string s = toml_text(n);
  s.erase(std::remove(s.begin(), s.end(), ' '), s.end());
  return s;
}

std::string where(const Document& doc, const toml::node& n, const std::string& dotted) {
  return fmt::format("{}:{}:{} ({})", doc.name(), n.source().begin.line, n.source().begin.column,
                     dotted);
}

// Reads `key` of `sec` (whose config prefix is `prefix`) as a list of values to sweep; a table
// recurses (so `[sweep.grid] patterns.count = [...]` works as TOML dotted keys).
void read_lists(Document& doc, Section sec, const std::string& prefix,
                std::vector<std::pair<std::string, Axis>>& out) {
  for (const auto& key : sec.keys()) {
    const toml::node* n = sec.raw(key);
    const std::string config_key = prefix.empty() ? key : prefix + "." + key;
    if (n->is_table()) {
      read_lists(doc, sec.section(key), config_key, out);
      continue;
    }
    const toml::array* arr = n->as_array();
    if (!arr)
      sec.fail(key, "expected an array of the values to sweep " + config_key + " over, got one " +
                        "value (write " + key + " = [a, b, ...])");
    if (arr->empty()) sec.fail(key, "expected at least one value, got an empty array");
    Axis axis;
    axis.keys = {config_key};
    axis.text.resize(1), axis.label.resize(1), axis.origin.resize(1);
    const std::string given = sec.origin(key);
    for (const auto& v : *arr) {
      axis.text[0].push_back(toml_text(v));
      axis.label[0].push_back(toml_label(v));
      axis.origin[0].push_back(given.rfind("--set", 0) == 0 ? given + " (" + sec.dotted(key) + ")"
                                                            : where(doc, v, sec.dotted(key)));
    }
    out.emplace_back(key, std::move(axis));
  }
}

std::string sanitize(const std::string& s) {
  std::string r;
  for (char c : s)
    r += (std::isalnum(static_cast<unsigned char>(c)) || std::string("._+-=,").find(c) !=
                                                             std::string::npos)
             ? c
             : '_';
  return r;
}

volatile std::sig_atomic_t g_sweep_signal = 0;
extern "C" void on_sweep_signal(int sig) {
  g_sweep_signal = sig;
}

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
  if (r.end_reason == "max_steps" || r.end_reason == "step_collapse" ||
      r.end_reason == "non_finite")
    return "failed";
  double monotone = 1, guaranteed = 0;
  for (const auto& [k, v] : r.numbers) {
    if (k == "monotone") monotone = v;
    if (k == "guaranteed") guaranteed = v;
  }
  return guaranteed != 0 && monotone == 0 ? "failed" : "done";
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
    for (const auto& [key, label] : p.values) {
      out += ',';
      out += csv(label);
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

std::uint64_t sweep_seed(std::uint64_t master, std::uint64_t index) {
  return Rng::derive(master, 1'000'000 + index) >> 33;  // 31 bits: exact in every tool
}

SweepPlan expand_sweep(Document& doc) {
  Section root = doc.root();
  if (!root.has("sweep"))
    throw ConfigError(doc.name() +
                      ": no [sweep] table: nothing to sweep (see docs/sweeps.md; `hkam run` runs "
                      "a single config)");
  Section sw = root.section("sweep");
  std::vector<std::pair<std::string, Axis>> grid;
  read_lists(doc, sw.section("grid"), "", grid);
  std::vector<Axis> axes;
  std::map<std::string, std::string> swept;  // config key -> where it is swept
  // Errors about one list point at its first value ("file:line:col (sweep.grid.key)").
  auto fail_at = [](const Axis& axis, std::size_t k, const std::string& message) {
    throw ConfigError(axis.origin[k][0] + ": " + message);
  };
  auto claim = [&](const Axis& axis, std::size_t k) {
    const std::string& key = axis.keys[k];
    if (const auto it = swept.find(key); it != swept.end())
      fail_at(axis, k, key + " is already swept at " + it->second);
    swept[key] = axis.origin[k][0];
  };
  for (auto& [key, axis] : grid) {
    claim(axis, 0);
    axes.push_back(std::move(axis));
  }
  if (sw.has("zip")) {
    Section z = sw.section("zip");
    std::vector<std::pair<std::string, Axis>> lists;
    read_lists(doc, z, "", lists);
    if (lists.empty()) sw.fail("zip", "expected at least one key with a list of values");
    Axis zip;
    for (auto& [key, axis] : lists) {
      claim(axis, 0);
      if (axis.size() != lists.front().second.size())
        fail_at(axis, 0,
                fmt::format("expected {} values like {} (zip varies its keys together), got {}",
                            lists.front().second.size(), lists.front().second.keys[0],
                            axis.size()));
      zip.keys.push_back(axis.keys[0]);
      zip.text.push_back(axis.text[0]);
      zip.label.push_back(axis.label[0]);
      zip.origin.push_back(axis.origin[0]);
    }
    axes.push_back(std::move(zip));
  }
  if (sw.has("seeds")) {
    const toml::node* n = sw.raw("seeds");
    const toml::array* arr = n->as_array();
    if (!arr || arr->empty())
      sw.fail("seeds", "expected a non-empty array of seeds (integers >= 0)");
    Axis axis;
    axis.keys = {"seed"};
    axis.text.resize(1), axis.label.resize(1), axis.origin.resize(1);
    for (const auto& v : *arr) {
      if (!v.is_integer() || *v.value<long long>() < 0)
        sw.fail("seeds", "expected integers >= 0, got " + toml_text(v));
      axis.text[0].push_back(toml_text(v));
      axis.label[0].push_back(toml_text(v));
      axis.origin[0].push_back(where(doc, v, "sweep.seeds"));
    }
    claim(axis, 0);
    axes.push_back(std::move(axis));
  }
  SweepPlan plan;
  plan.has_replicates = sw.has("replicates");
  const long replicates = sw.integer("replicates", 1, config::at_least(1));
  sw.done();
  if (axes.empty() && !plan.has_replicates)
    sw.fail("grid",
            "nothing to sweep: give sweep.grid, sweep.zip, sweep.seeds or sweep.replicates");

  std::uint64_t master = 1;
  if (const toml::node* s = root.raw("seed"); s && s->is_integer() && *s->value<long long>() >= 0)
    master = static_cast<std::uint64_t>(*s->value<long long>());
  doc.erase("sweep");

  // Short column names for run names: the last part of the key, unless two keys share it.
  std::vector<std::string> keys;
  for (const auto& a : axes) keys.insert(keys.end(), a.keys.begin(), a.keys.end());
  plan.columns = keys;
  std::map<std::string, int> last_count;
  auto last = [](const std::string& k) { return k.substr(k.rfind('.') + 1); };
  for (const auto& k : keys) ++last_count[last(k)];

  std::size_t total = static_cast<std::size_t>(replicates);
  for (const auto& a : axes) total *= a.size();
  const bool seed_swept = swept.count("seed") > 0;
  std::set<std::string> names;
  for (std::size_t index = 0; index < total; ++index) {
    SweepPoint p;
    p.index = index;
    std::size_t rest = index;
    if (plan.has_replicates) p.replicate = static_cast<long>(rest % replicates);
    rest /= static_cast<std::size_t>(replicates);
    std::vector<std::size_t> pick(axes.size());
    for (std::size_t a = axes.size(); a-- > 0;) {
      pick[a] = rest % axes[a].size();
      rest /= axes[a].size();
    }
    std::string name;
    for (std::size_t a = 0; a < axes.size(); ++a)
      for (std::size_t k = 0; k < axes[a].keys.size(); ++k) {
        const std::string& key = axes[a].keys[k];
        const std::string& label = axes[a].label[k][pick[a]];
        p.values.emplace_back(key, label);
        p.sets.push_back(key + "=" + axes[a].text[k][pick[a]]);
        p.origins.push_back(axes[a].origin[k][pick[a]]);
        name += (name.empty() ? "" : "-") + (last_count[last(key)] > 1 ? key : last(key)) + "=" +
                label;
        if (key == "seed") p.seed = std::stoull(axes[a].text[k][pick[a]]);
      }
    if (plan.has_replicates) name += (name.empty() ? "" : "-") + fmt::format("rep{}", p.replicate);
    name = sanitize(name);
    if (name.size() > 120) name = name.substr(0, 120) + fmt::format("-{}", index);
    if (names.count(name)) name += fmt::format("-{}", index);
    names.insert(name);
    p.name = name;
    if (!seed_swept) {
      p.seed = sweep_seed(master, index);
      p.sets.push_back(fmt::format("seed={}", p.seed));
      p.origins.push_back(fmt::format("{} (seed of sweep run {} = sweep_seed({}, {}))", doc.name(),
                                      name, master, index));
    }
    plan.points.push_back(std::move(p));
  }
  return plan;
}

int sweep(const SweepArgs& args) {
  Document doc;
  SweepPlan plan;
  std::vector<std::string> base_sets;  // the command line's --set, passed on to each run
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
  const fs::path dir =
      args.out_dir.empty() ? fs::path("out") / fs::path(args.config).stem() : fs::path(args.out_dir);
  const fs::path runs = dir / "runs";
  std::vector<std::string> traces;
  for (const auto& p : plan.points) traces.push_back((runs / (p.name + ".h5")).string());

  // Every run's configuration is validated (and resolved) before anything is written.
  std::vector<std::string> expected(plan.points.size());
  try {
    for (std::size_t k = 0; k < plan.points.size(); ++k) {
      Document d = doc;
      const SweepPoint& p = plan.points[k];
      for (std::size_t s = 0; s < p.sets.size(); ++s) d.set(p.sets[s], p.origins[s]);
      d.set("output=" + toml_text(toml::value<std::string>(traces[k])), "(the sweep's output)");
      Experiment e(std::move(d));
      expected[k] = comparable(e.document().resolved_text());
    }
  } catch (const ConfigError& e) {
    fmt::print(stderr, "hkam sweep: config error: {}\n", e.what());
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

  std::vector<RunState> states(plan.points.size());
  std::vector<std::size_t> pending;
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
    if (rec && rec->finished && comparable(rec->config_resolved) == expected[k]) {
      states[k].record = rec;
      states[k].reused = true;
      states[k].status = status_of(*rec);
      states[k].exit_code = states[k].status == "done" ? 0 : 1;
      continue;
    }
    if (rec && rec->finished) {
      if (!changed++)
        first_changed = traces[k] + ": " +
                        first_difference(comparable(rec->config_resolved), expected[k]);
    }
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
  const fs::path manifest = dir / "manifest.csv";
  write_atomically(manifest, manifest_text(plan, states, traces));
  const std::size_t reused = plan.points.size() - pending.size();
  if (!args.quiet)
    fmt::print("hkam sweep: {} runs in {} ({} finished earlier, {} to run, {} at a time)\n",
               plan.points.size(), dir.string(), reused, pending.size(), args.jobs);

  // Environment of the runs: one OpenMP thread each when several run at once.
  const int threads = args.threads > 0 ? args.threads : (args.jobs > 1 ? 1 : 0);
  std::vector<std::string> env_store;
  for (char** e = environ; *e; ++e)
    if (threads == 0 || std::string(*e).rfind("OMP_NUM_THREADS=", 0) != 0) env_store.push_back(*e);
  if (threads > 0) env_store.push_back(fmt::format("OMP_NUM_THREADS={}", threads));
  std::vector<char*> envp;
  for (auto& s : env_store) envp.push_back(s.data());
  envp.push_back(nullptr);

  struct sigaction sa {};
  struct sigaction old_int {}, old_term{};
  sa.sa_handler = on_sweep_signal;
  sigemptyset(&sa.sa_mask);
  g_sweep_signal = 0;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);

  std::map<pid_t, std::size_t> running;
  std::size_t next = 0, finished_now = 0;
  bool stopping = false;
  auto spawn = [&](std::size_t k) {
    const SweepPoint& p = plan.points[k];
    std::vector<std::string> argv_store = {args.hkam_exe, "run", args.config, "--ignore-sweep",
                                           "--force"};
    for (const auto& s : base_sets) argv_store.insert(argv_store.end(), {"--set", s});
    for (const auto& s : p.sets) argv_store.insert(argv_store.end(), {"--set", s});
    argv_store.insert(argv_store.end(),
                      {"--set", "output=" + toml_text(toml::value<std::string>(traces[k]))});
    std::vector<char*> argv;
    for (auto& s : argv_store) argv.push_back(s.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    const std::string log = (runs / (p.name + ".log")).string();
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, args.hkam_exe.c_str(), &fa, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw std::runtime_error(fmt::format("cannot start {}: {}", args.hkam_exe, rc));
    running[pid] = k;
    states[k].status = "running";
  };
  auto stop_all = [&]() {
    if (stopping) return;
    stopping = true;
    for (const auto& [pid, k] : running) kill(pid, SIGTERM);
  };
  int exit_code = 0;
  try {
    while (next < pending.size() || !running.empty()) {
      if (g_sweep_signal) stop_all();
      while (!stopping && running.size() < static_cast<std::size_t>(std::max(args.jobs, 1)) &&
             next < pending.size())
        spawn(pending[next++]);
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
      RunState& s = states[k];
      s.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
      s.status = s.exit_code == 0   ? "done"
                 : s.exit_code == 1 ? "failed"
                 : s.exit_code == 2 ? "error"
                 : s.exit_code < 0  ? "killed"
                                    : "interrupted";
      s.record.reset();
      try {
        if (fs::exists(traces[k])) s.record = io::read_run_record(traces[k]);
      } catch (const std::exception&) {
      }
      ++finished_now;
      write_atomically(manifest, manifest_text(plan, states, traces));
      if (!args.quiet) {
        std::string what = s.record ? s.record->end_reason : std::string("no trace");
        for (const auto& [name, v] : s.record ? s.record->numbers
                                              : std::vector<std::pair<std::string, double>>{})
          if (name == "energy_final") what += fmt::format(", E = {:.6g}", v);
        fmt::print("  [{}/{}] {:<11} {} ({})\n", finished_now, pending.size(), s.status,
                   plan.points[k].name, what);
        std::fflush(stdout);
      }
    }
  } catch (const std::exception& e) {
    stop_all();
    for (const auto& [pid, k] : running) waitpid(pid, nullptr, 0);
    fmt::print(stderr, "hkam sweep: {}\n", e.what());
    exit_code = 2;
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  write_atomically(manifest, manifest_text(plan, states, traces));

  std::map<std::string, int> count;
  for (const auto& s : states) ++count[s.status];
  if (!args.quiet) {
    std::string line;
    for (const auto& [status, n] : count) line += fmt::format("{}{} {}", line.empty() ? "" : ", ", n, status);
    fmt::print("hkam sweep: {} ({} reused); manifest {}\n", line, reused, manifest.string());
  }
  if (exit_code) return exit_code;
  if (g_sweep_signal) return 128 + g_sweep_signal;
  return count["done"] == static_cast<int>(states.size()) ? 0 : 1;
}

}  // namespace hkam::run
