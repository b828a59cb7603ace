#include "config/reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <type_traits>

namespace hkam::config {

bool Range::contains(double v) const {
  if (!std::isfinite(v)) return false;
  const bool above = lo_open ? v > lo : v >= lo;
  const bool below = hi_open ? v < hi : v <= hi;
  return above && below;
}

namespace {
// Whole bounds are written in full (2147483647, not 2.14748e+09).
std::string bound(double v) {
  return v == std::floor(v) && std::abs(v) < 1e19 ? fmt::format("{:.0f}", v)
                                                  : fmt::format("{:g}", v);
}
}  // namespace

std::string Range::describe() const {
  const bool has_lo = std::isfinite(lo), has_hi = std::isfinite(hi);
  if (has_lo && has_hi)
    return fmt::format("in {}{}, {}{}", lo_open ? "(" : "[", bound(lo), bound(hi),
                       hi_open ? ")" : "]");
  if (has_lo) return fmt::format("{} {} (finite)", lo_open ? ">" : ">=", bound(lo));
  if (has_hi) return fmt::format("{} {} (finite)", hi_open ? "<" : "<=", bound(hi));
  return "(finite)";
}

Range positive() {
  return {0.0, std::numeric_limits<double>::infinity(), true, false};
}
Range non_negative() {
  return {0.0, std::numeric_limits<double>::infinity(), false, false};
}
Range unit_interval() {
  return {0.0, 1.0, false, false};
}
Range at_least(double lo) {
  return {lo, std::numeric_limits<double>::infinity(), false, false};
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
      diag = up;
    }
  }
  return row[b.size()];
}

std::optional<double> as_number(const toml::node& node) {
  if (node.is_floating_point()) return node.as_floating_point()->get();
  if (node.is_integer()) return static_cast<double>(node.as_integer()->get());
  return std::nullopt;
}

namespace {

std::string type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return fmt::format("the string \"{}\"", *node.value<std::string>());
    case toml::node_type::integer:
      return fmt::format("the integer {}", *node.value<long long>());
    case toml::node_type::floating_point:
      return fmt::format("the number {:g}", *node.value<double>());
    case toml::node_type::boolean:
      return fmt::format("the boolean {}", *node.value<bool>());
    default:
      return "a date/time";
  }
}

// The candidate nearest to `word` by edit distance when below `limit` (the first of equals), or "":
// the "did you mean" of every message.
std::string nearest(const std::string& word, const std::vector<std::string>& candidates,
                    std::size_t limit) {
  std::string hint;
  for (const auto& c : candidates)
    if (const auto d = edit_distance(word, c); d < limit) limit = d, hint = c;
  return hint;
}

// How far a key may be from another to count as its misspelling.
std::size_t misspelling_limit(const std::string& key) {
  return std::max<std::size_t>(3, key.size() / 3 + 1);
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (std::size_t k = 0; k < v.size(); ++k) out += (k ? sep : "") + v[k];
  return out;
}

toml::table& subtable(toml::table& root, const std::vector<std::string>& path) {
  toml::table* t = &root;
  for (const auto& k : path) {
    if (!t->get_as<toml::table>(k)) t->insert_or_assign(k, toml::table{});
    t = t->get_as<toml::table>(k);
  }
  return *t;
}

}  // namespace

// ---- Section ----

Section::Section(Document* doc, const toml::table* table, std::vector<std::string> path)
    : doc_(doc), table_(table), path_(std::move(path)) {
  if (!path_.empty()) subtable(doc_->resolved_, path_);  // an empty section still shows up
}

std::string Section::dotted(const std::string& key) const {
  std::vector<std::string> p = path_;
  if (!key.empty()) p.push_back(key);
  return join(p, ".");
}

std::string Section::where(const toml::node* node) const {
  if (node && node->source().begin.line > 0)
    return fmt::format("{}:{}:{}", doc_->name_, node->source().begin.line,
                       node->source().begin.column);
  return doc_->name_;
}

std::string Section::origin(const std::string& key) const {
  const auto it = doc_->set_from_.find(dotted(key));
  if (it != doc_->set_from_.end()) return it->second;
  const toml::node* node = table_ ? table_->get(key) : nullptr;
  return where(node ? node : table_);
}

void Section::note(const std::string& key, const std::string& message) const {
  const toml::node* node = table_ ? table_->get(key) : nullptr;
  if (!node) node = table_;
  const bool from_set = doc_->set_from_.count(dotted(key)) > 0;
  const long line = node && !from_set ? static_cast<long>(node->source().begin.line) : 0;
  const long col = node && !from_set ? static_cast<long>(node->source().begin.column) : 0;
  doc_->errors_.push_back(
      {line, col, fmt::format("{}: {}: {}", origin(key), dotted(key), message)});
}

void Section::fail(const std::string& key, const std::string& message) const {
  note(key, message);
  doc_->check();
  throw ConfigError("unreachable");  // check() throws: an error was just recorded
}

const toml::node* Section::raw(const std::string& key) {
  return get(key);
}

std::vector<std::string> Section::keys() const {
  // toml++ keeps keys sorted; the document order is that of their source positions.
  std::vector<std::pair<std::pair<long, long>, std::string>> v;
  if (table_)
    for (const auto& [k, node] : *table_)
      v.push_back(
          {{static_cast<long>(k.source().begin.line), static_cast<long>(k.source().begin.column)},
           std::string(k.str())});
  std::stable_sort(v.begin(), v.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (auto& [pos, k] : v) out.push_back(std::move(k));
  return out;
}

bool Section::has(const std::string& key) const {
  return table_ && table_->contains(key);
}

const toml::node* Section::get(const std::string& key) {
  if (std::find(read_.begin(), read_.end(), key) == read_.end()) read_.push_back(key);
  return table_ ? table_->get(key) : nullptr;
}

void Section::resolve(const std::string& key, const toml::node& value) {
  toml::table& t = subtable(doc_->resolved_, path_);
  value.visit([&](auto&& v) { t.insert_or_assign(key, v); });
}

template <class T, class Accept>
T Section::scalar(const std::string& key, const std::optional<T>& def, const std::string& want,
                  Accept accept) {
  const toml::node* n = get(key);
  if (!n) {
    if (!def) fail(key, "missing required key (expected " + want + ")" + misspelt(key));
    toml::table& t = subtable(doc_->resolved_, path_);
    if constexpr (std::is_same_v<T, long>)
      t.insert_or_assign(key, static_cast<long long>(*def));
    else
      t.insert_or_assign(key, *def);
    return *def;
  }
  const std::optional<T> v = accept(*n);
  if (!v) {
    const std::string message = "expected " + want + ", got " + type_name(*n);
    if (!def) fail(key, message);
    note(key, message);  // carry on with the default to find the file's other errors too
    return *def;
  }
  resolve(key, *n);
  return *v;
}

double Section::number(const std::string& key, std::optional<double> def, Range range) {
  return scalar<double>(key, def, "a number " + range.describe(),
                        [&](const toml::node& n) -> std::optional<double> {
                          const std::optional<double> v = as_number(n);
                          if (!v || !range.contains(*v)) return std::nullopt;
                          return v;
                        });
}

long Section::integer(const std::string& key, std::optional<long> def, Range range) {
  if (!std::isfinite(range.hi)) range.hi = static_cast<double>(kMaxConfigInteger);
  return scalar<long>(key, def, "an integer " + range.describe(),
                      [&](const toml::node& n) -> std::optional<long> {
                        if (!n.is_integer()) return std::nullopt;
                        const long long v = n.as_integer()->get();
                        // Compared as double: the bounds are at most 2^63 and exact there.
                        if (!range.contains(static_cast<double>(v))) return std::nullopt;
                        return static_cast<long>(v);
                      });
}

bool Section::boolean(const std::string& key, std::optional<bool> def) {
  return scalar<bool>(key, def, "true or false", [](const toml::node& n) {
    return n.is_boolean() ? n.value<bool>() : std::nullopt;
  });
}

std::string Section::string(const std::string& key, std::optional<std::string> def) {
  return scalar<std::string>(key, def, "a string", [](const toml::node& n) {
    return n.is_string() ? n.value<std::string>() : std::nullopt;
  });
}

std::string Section::choice(const std::string& key, std::optional<std::string> def,
                            const std::vector<std::string>& options) {
  std::vector<std::string> quoted;
  for (const auto& o : options) quoted.push_back("\"" + o + "\"");
  const std::string want = "one of " + join(quoted, ", ");
  const std::string v = scalar<std::string>(key, def, want, [](const toml::node& n) {
    return n.is_string() ? n.value<std::string>() : std::nullopt;
  });
  if (std::find(options.begin(), options.end(), v) == options.end()) {
    const std::string hint = nearest(v, options, 3);
    fail(key, "expected " + want + ", got \"" + v + "\"" +
                  (hint.empty() ? "" : "; did you mean \"" + hint + "\"?"));
  }
  return v;
}

std::vector<std::string> Section::choices(const std::string& key, std::optional<std::string> def,
                                          const std::vector<std::string>& options) {
  const toml::node* n = table_ ? table_->get(key) : nullptr;
  if (!n || !n->is_array()) return {choice(key, std::move(def), options)};
  get(key);  // marks it read
  std::vector<std::string> quoted;
  for (const auto& o : options) quoted.push_back("\"" + o + "\"");
  const std::string want = "one of " + join(quoted, ", ");
  std::vector<std::string> out;
  for (const toml::node& e : *n->as_array()) {
    const auto v = e.value<std::string>();
    if (!e.is_string() || std::find(options.begin(), options.end(), *v) == options.end())
      fail(key,
           "expected " + want + " or an array of them, got " +
               (e.is_string() ? "\"" + *v + "\"" : std::string("an element that is not a string")));
    out.push_back(*v);
  }
  if (out.empty()) fail(key, "expected " + want + " or a non-empty array of them");
  resolve(key, *n);
  return out;
}

Eigen::VectorXd Section::numbers(const std::string& key, std::optional<double> def, Range range) {
  const toml::node* n = get(key);
  if (n && n->is_array()) {
    const auto& arr = *n->as_array();
    Eigen::VectorXd v(static_cast<Eigen::Index>(arr.size()));
    for (std::size_t k = 0; k < arr.size(); ++k) {
      const std::optional<double> x = as_number(arr[k]);
      if (!x || !range.contains(*x))
        fail(key, fmt::format("element {} of the array: expected a number {}, got {}", k,
                              range.describe(), type_name(arr[k])));
      v[static_cast<Eigen::Index>(k)] = *x;
    }
    resolve(key, *n);
    return v;
  }
  return Eigen::VectorXd::Constant(1, number(key, def, range));
}

Eigen::VectorXd Section::numbers(const std::string& key, const std::vector<double>& def,
                                 Range range) {
  if (get(key)) return numbers(key, std::optional<double>{}, range);
  toml::array arr;
  for (double v : def) arr.push_back(v);
  resolve(key, arr);
  return Eigen::Map<const Eigen::VectorXd>(def.data(), static_cast<Eigen::Index>(def.size()));
}

Eigen::MatrixXd Section::matrix(const std::string& key) {
  const toml::node* n = get(key);
  if (!n) fail(key, "missing required key (expected an array of arrays of numbers)");
  const auto* rows = n->as_array();
  if (!rows || rows->empty())
    fail(key, "expected a non-empty array of arrays of numbers, got " + type_name(*n));
  Eigen::MatrixXd m;
  for (std::size_t r = 0; r < rows->size(); ++r) {
    const auto* row = (*rows)[r].as_array();
    if (!row) fail(key, fmt::format("row {}: expected an array of numbers", r));
    if (r == 0)
      m.resize(static_cast<Eigen::Index>(rows->size()), static_cast<Eigen::Index>(row->size()));
    if (static_cast<Eigen::Index>(row->size()) != m.cols())
      fail(key, fmt::format("row {} has {} entries, row 0 has {}", r, row->size(), m.cols()));
    for (std::size_t c = 0; c < row->size(); ++c) {
      const std::optional<double> x = as_number((*row)[c]);
      if (!x || !std::isfinite(*x))
        fail(key, fmt::format("row {}, column {}: expected a finite number, got {}", r, c,
                              type_name((*row)[c])));
      m(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c)) = *x;
    }
  }
  resolve(key, *n);
  return m;
}

Section Section::section(const std::string& key) {
  const toml::node* n = get(key);
  if (n && !n->is_table()) fail(key, "expected a table, got " + type_name(*n));
  std::vector<std::string> p = path_;
  p.push_back(key);
  return Section(doc_, n ? n->as_table() : nullptr, p);
}

void Section::irrelevant(const std::string& key, const std::string& why) {
  irrelevant_[key] = why;
}

void Section::done() {
  if (!table_) return;
  for (const auto& [k, node] : *table_) {
    const std::string key(k.str());
    if (std::find(read_.begin(), read_.end(), key) != read_.end()) continue;
    if (const auto it = irrelevant_.find(key); it != irrelevant_.end()) {
      note(key, "not used here: " + it->second);
      continue;
    }
    std::vector<std::string> candidates = read_;
    for (const auto& [name, why] : irrelevant_) candidates.push_back(name);
    const std::string hint = nearest(key, candidates, misspelling_limit(key));
    std::sort(candidates.begin(), candidates.end());
    note(key, hint.empty() ? "unknown key (valid here: " + join(candidates, ", ") + ")"
                           : "unknown key; did you mean '" + hint + "'?");
  }
  if (path_.empty()) doc_->check();  // the whole file has been read: report everything found
}

std::string Section::misspelt(const std::string& key) const {
  // A required key is missing: a key of this table nobody has read may be its misspelling.
  if (!table_) return "";
  std::vector<std::string> unread;
  for (const auto& [k, node] : *table_)
    if (std::find(read_.begin(), read_.end(), std::string(k.str())) == read_.end())
      unread.emplace_back(k.str());
  const std::string best_key = nearest(key, unread, misspelling_limit(key));
  return best_key.empty() ? ""
                          : fmt::format("; did you mean it as '{}' ({})?", best_key,
                                        where(table_->get(best_key)));
}

// ---- Document ----

Document Document::from_string(const std::string& text, const std::string& name) {
  Document d;
  d.name_ = name;
  d.text_ = text;
  try {
    d.table_ = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    throw ConfigError(fmt::format("{}:{}:{}: TOML syntax error: {}", name, e.source().begin.line,
                                  e.source().begin.column, e.description()));
  }
  return d;
}

Document Document::from_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw ConfigError(fmt::format("{}: is a folder, not a config file", path));
  if (std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec))
    throw ConfigError(fmt::format("{}: not a regular file", path));
  // Configs are a few kB; a huge file is a mistake (e.g. a trace given as the config).
  constexpr std::uintmax_t kMaxConfigBytes = 16u << 20;
  if (const auto size = std::filesystem::file_size(path, ec); !ec && size > kMaxConfigBytes)
    throw ConfigError(fmt::format("{}: {} bytes is not a config file (the limit is {} MB)", path,
                                  size, kMaxConfigBytes >> 20));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("{}: cannot open the config file", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  Document d = from_string(ss.str(), path);
  d.add_input(path);
  return d;
}

std::string Document::input_path(const std::string& file) {
  if (file.empty()) return file;
  const std::string path = (std::filesystem::path(name_).parent_path() / file).string();
  add_input(path);
  return path;
}

void Document::erase(const std::string& key) {
  table_.erase(key);
  resolved_.erase(key);
}

void Document::set(const std::string& assignment, const std::string& origin) {
  const std::string label = origin.empty() ? "--set " + assignment : origin;
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError(label + ": expected key=value (e.g. integrator.t_end=10)");
  std::string key = assignment.substr(0, eq), value = assignment.substr(eq + 1);
  std::vector<std::string> path;
  std::stringstream ks(key);
  for (std::string part; std::getline(ks, part, '.');) {
    if (part.empty()) throw ConfigError(label + ": empty part in the key");
    path.push_back(part);
  }
  toml::table parsed;
  try {
    parsed = toml::parse("v = " + value);
  } catch (const toml::parse_error&) {
    parsed.insert_or_assign("v", value);  // a bare word: a string
  }
  std::vector<std::string> parent(path.begin(), path.end() - 1);
  toml::table* t = &table_;
  for (const auto& k : parent) {
    toml::node* n = t->get(k);
    if (n && !n->is_table()) throw ConfigError(label + ": '" + k + "' is not a table in " + name_);
    if (!n) t->insert_or_assign(k, toml::table{});
    t = t->get_as<toml::table>(k);
  }
  parsed.get("v")->visit([&](auto&& v) { t->insert_or_assign(path.back(), v); });
  set_from_[key] = label;
}

std::vector<std::string> Document::errors() const {
  std::vector<Error> e = errors_;
  std::stable_sort(e.begin(), e.end(), [](const Error& a, const Error& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
  std::vector<std::string> out;
  for (auto& x : e)
    if (std::find(out.begin(), out.end(), x.text) == out.end()) out.push_back(x.text);
  return out;
}

void Document::check() const {
  if (errors_.empty()) return;
  const std::vector<std::string> e = errors();
  std::string text = e.size() == 1 ? e[0] : fmt::format("{} errors:", e.size());
  if (e.size() > 1)
    for (const auto& x : e) text += "\n  " + x;
  throw ConfigError(text);
}

std::string Document::resolved_text() const {
  std::ostringstream os;
  os << resolved_;
  return os.str();
}

}  // namespace hkam::config
