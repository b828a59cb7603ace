// Expanding a config's [sweep] table into runs: axes (grid, zip, seeds, cases), replicates, run
// names and seeds (docs/sweeps.md).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <set>
#include <sstream>

#include "hkam/random.hpp"
#include "run/sweep.hpp"

namespace hkam::run {

using config::ConfigError;
using config::Document;
using config::Section;

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

namespace {

// One value of one swept key.
struct Setting {
  std::string key, text, label, origin;  // config key; TOML text; for names; file:line:col (...)
};

// One swept dimension: its values, each a list of settings (one for grid/seeds, several for a
// zip or a case), and for cases their names.
struct Axis {
  std::vector<std::vector<Setting>> values;
  std::vector<std::string> names;  // cases only
  std::size_t size() const { return values.size(); }
};

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

std::string origin_of(const Document& doc, Section& sec, const std::string& key,
                      const toml::node& v) {
  const std::string given = sec.origin(key);
  return given.rfind("--set", 0) == 0 ? given + " (" + sec.dotted(key) + ")"
                                      : where(doc, v, sec.dotted(key));
}

// Calls fn(section, key, config key, value) for every non-table value below `sec`, recursing
// into tables, so `[sweep.grid] patterns.count = [...]` (TOML dotted keys) reaches
// `patterns.count`.
template <class Fn>
void for_each_leaf(Section sec, const std::string& prefix, Fn&& fn) {
  for (const auto& key : sec.keys()) {
    const toml::node* n = sec.raw(key);
    const std::string config_key = prefix.empty() ? key : prefix + "." + key;
    if (n->is_table())
      for_each_leaf(sec.section(key), config_key, fn);
    else
      fn(sec, key, config_key, *n);
  }
}

// Reads the values below `sec` as lists of values to sweep, one axis each.
void read_lists(Document& doc, Section sec, std::vector<Axis>& out) {
  for_each_leaf(
      sec, "",
      [&](Section& s, const std::string& key, const std::string& config_key, const toml::node& n) {
        const toml::array* arr = n.as_array();
        if (!arr)
          s.fail(key, "expected an array of the values to sweep " + config_key + " over, got one " +
                          "value (write " + key + " = [a, b, ...])");
        if (arr->empty()) s.fail(key, "expected at least one value, got an empty array");
        Axis axis;
        for (const auto& v : *arr)
          axis.values.push_back(
              {{config_key, toml_text(v), toml_label(v), origin_of(doc, s, key, v)}});
        out.push_back(std::move(axis));
      });
}

// Reads one case table: every (nested) key is a setting; a top-level `name` names the case.
void read_case(Document& doc, Section sec, std::vector<Setting>& out, std::string& name) {
  for_each_leaf(
      sec, "",
      [&](Section& s, const std::string& key, const std::string& config_key, const toml::node& n) {
        if (config_key == "name") {
          if (!n.is_string()) s.fail(key, "expected a string (the case's name in run names)");
          name = *n.value<std::string>();
          return;
        }
        out.push_back({config_key, toml_text(n), toml_label(n), origin_of(doc, s, key, n)});
      });
}

std::string sanitize(const std::string& s) {
  std::string r;
  for (char c : s)
    r += (std::isalnum(static_cast<unsigned char>(c)) ||
          std::string("._+-=,").find(c) != std::string::npos)
             ? c
             : '_';
  return r;
}

}  // namespace

std::uint64_t sweep_seed(std::uint64_t master, std::uint64_t index) {
  return Rng::derive(master, 1'000'000 + index) >> 33;  // 31 bits: exact in every tool
}

namespace {

// sweep.zip: its lists vary together, as one axis.
Axis read_zip(Document& doc, Section& sw) {
  std::vector<Axis> lists;
  read_lists(doc, sw.section("zip"), lists);
  if (lists.empty()) sw.fail("zip", "expected at least one key with a list of values");
  Axis zip = lists.front();
  for (std::size_t k = 1; k < lists.size(); ++k) {
    const Axis& a = lists[k];
    if (a.size() != zip.size())
      throw ConfigError(
          fmt::format("{}: expected {} values like {} (zip varies its keys together), got {}",
                      a.values[0][0].origin, zip.size(), zip.values[0][0].key, a.size()));
    for (std::size_t v = 0; v < zip.size(); ++v) zip.values[v].push_back(a.values[v][0]);
  }
  return zip;
}

Axis read_seeds(Document& doc, Section& sw) {
  const toml::array* arr = sw.raw("seeds")->as_array();
  if (!arr || arr->empty()) sw.fail("seeds", "expected a non-empty array of seeds (integers >= 0)");
  Axis axis;
  for (const auto& v : *arr) {
    if (!v.is_integer() || *v.value<long long>() < 0)
      sw.fail("seeds", "expected integers >= 0, got " + toml_text(v));
    axis.values.push_back({{"seed", toml_text(v), toml_text(v), where(doc, v, "sweep.seeds")}});
  }
  return axis;
}

Axis read_cases(Document& doc, Section& sw) {
  const toml::array* arr = sw.raw("cases")->as_array();
  if (!arr || arr->empty() || !arr->is_array_of_tables())
    sw.fail("cases", "expected an array of tables ([[sweep.cases]] blocks), one per case");
  Axis axis;
  for (std::size_t k = 0; k < arr->size(); ++k) {
    // Each case is read through a Section of its own table so errors carry its lines.
    Section c(&doc, arr->get(k)->as_table(), {"sweep", fmt::format("cases[{}]", k)});
    std::vector<Setting> settings;
    std::string name;
    read_case(doc, c, settings, name);
    if (settings.empty()) sw.fail("cases", fmt::format("case {} sets nothing", k));
    axis.values.push_back(std::move(settings));
    axis.names.push_back(name);  // empty: named by its settings
  }
  return axis;
}

// A key is swept by one axis only (cases may share keys among themselves). Returns the keys.
std::set<std::string> check_swept_once(const std::vector<Axis>& axes) {
  std::map<std::string, std::pair<std::size_t, std::string>> swept;  // key -> (axis, where)
  for (std::size_t a = 0; a < axes.size(); ++a)
    for (const auto& value : axes[a].values)
      for (const Setting& s : value) {
        const auto it = swept.find(s.key);
        if (it != swept.end() && it->second.first != a)
          throw ConfigError(s.origin + ": " + s.key + " is already swept at " + it->second.second);
        if (it == swept.end()) swept[s.key] = {a, s.origin};
      }
  std::set<std::string> keys;
  for (const auto& [k, v] : swept) keys.insert(k);
  return keys;
}

// Run `index` of the sweep: its settings, values and name (the axes' parts joined by '-', each
// key by its last part unless two columns share it; unique and at most ~120 characters).
SweepPoint make_point(std::size_t index, const std::vector<Axis>& axes, long replicates,
                      bool has_replicates, const std::map<std::string, int>& last_count,
                      std::set<std::string>& names) {
  const auto last = [](const std::string& k) { return k.substr(k.rfind('.') + 1); };
  SweepPoint p;
  p.index = index;
  std::size_t rest = index;
  if (has_replicates) p.replicate = static_cast<long>(rest % static_cast<std::size_t>(replicates));
  rest /= static_cast<std::size_t>(replicates);
  std::vector<std::size_t> pick(axes.size());
  for (std::size_t a = axes.size(); a-- > 0;) {
    pick[a] = rest % axes[a].size();
    rest /= axes[a].size();
  }
  std::string name;
  auto add_name = [&](const std::string& part) { name += (name.empty() ? "" : "-") + part; };
  for (std::size_t a = 0; a < axes.size(); ++a) {
    const bool named = !axes[a].names.empty() && !axes[a].names[pick[a]].empty();
    std::string part;
    for (const Setting& s : axes[a].values[pick[a]]) {
      p.values.emplace_back(s.key, s.label);
      p.sets.push_back(s.key + "=" + s.text);
      p.origins.push_back(s.origin);
      part += (part.empty() ? "" : "-") + (last_count.at(last(s.key)) > 1 ? s.key : last(s.key)) +
              "=" + s.label;
      if (s.key == "seed") {
        const auto [ptr, ec] =
            std::from_chars(s.text.data(), s.text.data() + s.text.size(), p.seed);
        if (ec != std::errc() || ptr != s.text.data() + s.text.size())
          throw ConfigError(
              fmt::format("{}: seed: expected an integer >= 0, got {}", s.origin, s.text));
      }
    }
    if (named) part = axes[a].names[pick[a]];
    if (!axes[a].names.empty()) p.values.emplace_back("case", part);
    add_name(part);
  }
  if (has_replicates) add_name(fmt::format("rep{}", p.replicate));
  name = sanitize(name);
  if (name.size() > 120) name = name.substr(0, 120) + fmt::format("-{}", index);
  if (names.count(name)) name += fmt::format("-{}", index);
  names.insert(name);
  p.name = name;
  return p;
}

}  // namespace

SweepPlan expand_sweep(Document& doc) {
  Section root = doc.root();
  if (!root.has("sweep"))
    throw ConfigError(doc.name() +
                      ": no [sweep] table: nothing to sweep (see docs/sweeps.md; `hkam run` runs "
                      "a single config)");
  Section sw = root.section("sweep");
  std::vector<Axis> axes;
  read_lists(doc, sw.section("grid"), axes);
  if (sw.has("zip")) axes.push_back(read_zip(doc, sw));
  if (sw.has("seeds")) axes.push_back(read_seeds(doc, sw));
  const bool has_cases = sw.has("cases");
  if (has_cases) axes.push_back(read_cases(doc, sw));
  SweepPlan plan;
  plan.has_replicates = sw.has("replicates");
  const long replicates = sw.integer("replicates", 1, config::at_least(1));
  sw.done();
  doc.check();
  // Counted in double first: 2^31 × 4 × … must not wrap around to "0 runs". (Checked while `sw`
  // is alive: the [sweep] table is erased from the document below.)
  constexpr double kMaxRuns = 1e6;
  double count = static_cast<double>(replicates);
  for (const auto& a : axes) count *= static_cast<double>(a.size());
  if (count > kMaxRuns)
    sw.fail(plan.has_replicates ? "replicates" : "grid",
            fmt::format("the sweep has {:.6g} runs, more than the {:.0f} one sweep folder holds: "
                        "split it into several sweeps",
                        count, kMaxRuns));
  if (axes.empty() && !plan.has_replicates)
    sw.fail("grid",
            "nothing to sweep: give sweep.grid, sweep.zip, sweep.seeds, sweep.cases or "
            "sweep.replicates");
  const bool seed_swept = check_swept_once(axes).count("seed") > 0;

  std::uint64_t master = 1;
  if (const toml::node* s = root.raw("seed"); s && s->is_integer() && *s->value<long long>() >= 0)
    master = static_cast<std::uint64_t>(*s->value<long long>());
  doc.erase("sweep");

  // Columns: every swept key in order of appearance (and `case` for cases).
  if (has_cases) plan.columns.push_back("case");
  for (const auto& a : axes)
    for (const auto& value : a.values)
      for (const Setting& s : value)
        if (std::find(plan.columns.begin(), plan.columns.end(), s.key) == plan.columns.end())
          plan.columns.push_back(s.key);
  std::map<std::string, int> last_count;
  for (const auto& k : plan.columns) ++last_count[k.substr(k.rfind('.') + 1)];

  std::set<std::string> names;
  for (std::size_t index = 0; index < static_cast<std::size_t>(count); ++index) {
    SweepPoint p = make_point(index, axes, replicates, plan.has_replicates, last_count, names);
    if (!seed_swept) {
      p.seed = sweep_seed(master, index);
      p.sets.push_back(fmt::format("seed={}", p.seed));
      p.origins.push_back(fmt::format("{} (seed of sweep run {} = sweep_seed({}, {}))", doc.name(),
                                      p.name, master, index));
    }
    plan.points.push_back(std::move(p));
  }
  return plan;
}

}  // namespace hkam::run
