#pragma once
// Validating reader over a TOML document (toml++). Internal to hkam.
//
// Every value is read through a Section, which knows the value's dotted key and where it was
// written (file:line:col, or the --set that gave it). A read names the expected type and range;
// anything else becomes a ConfigError that says key, place, expectation and what was found.
// Each value read (or its default) is copied into the *resolved* document, so a run can store
// its configuration with every default filled in. After reading a table, `done()` rejects every
// key that was not read, suggesting the nearest valid key for a misspelling.

#include <toml++/toml.h>

#include <Eigen/Core>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace hkam::config {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Accepted interval of a number, with its wording for messages ("> 0", "in [0, 1]"). Only
/// finite numbers are ever accepted: no config value may be ±inf or NaN.
struct Range {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = false, hi_open = false;
  bool contains(double v) const;
  std::string describe() const;
};
Range positive();
Range non_negative();
Range unit_interval();
Range at_least(double lo);

/// Largest integer a key accepts unless its Range says otherwise: sizes and counts become `int`
/// in the models, so anything above is refused at the key instead of wrapping around later.
inline constexpr long kMaxConfigInteger = 2147483647;  // 2^31 - 1
/// Largest seed (seeds are unsigned 64-bit in the generators; TOML integers are signed 64-bit).
inline constexpr double kMaxSeed = 9223372036854775807.0;
class Document;

class Section {
 public:
  Section(Document* doc, const toml::table* table, std::vector<std::string> path);

  bool has(const std::string& key) const;
  double number(const std::string& key, std::optional<double> def, Range range = {});
  long integer(const std::string& key, std::optional<long> def, Range range = {});
  bool boolean(const std::string& key, std::optional<bool> def);
  std::string string(const std::string& key, std::optional<std::string> def);
  /// A string that must be one of `options`.
  std::string choice(const std::string& key, std::optional<std::string> def,
                     const std::vector<std::string>& options);
  /// One of `options`, or an array of them (one per block, say; size checked by the caller).
  std::vector<std::string> choices(const std::string& key, std::optional<std::string> def,
                                   const std::vector<std::string>& options);
  /// A number, or an array of numbers (returned as given; size checked by the caller with fail()).
  Eigen::VectorXd numbers(const std::string& key, std::optional<double> def, Range range = {});
  /// An array of numbers (or one number), with an array as the default.
  Eigen::VectorXd numbers(const std::string& key, const std::vector<double>& def, Range range = {});
  /// An array of equally long arrays of numbers.
  Eigen::MatrixXd matrix(const std::string& key);
  /// A sub-table (an empty one when absent).
  Section section(const std::string& key);
  /// The raw value of `key` (nullptr when absent), for the caller to interpret; marks it read.
  const toml::node* raw(const std::string& key);
  /// The keys present in this table, in document order.
  std::vector<std::string> keys() const;
  /// file:line:col where `key` (or this table) is written, or the --set that gave it.
  std::string origin(const std::string& key) const;
  /// Declares `key` as known but meaningless here: if present, done() reports `why`.
  void irrelevant(const std::string& key, const std::string& why);
  /// Notes keys that were neither read nor declared; on the root section (the whole file read)
  /// throws every error noted in the document (Document::check).
  void done();

  /// Throws a ConfigError located at `key` (or at the table when the key is absent), listing
  /// with it every error recorded so far.
  [[noreturn]] void fail(const std::string& key, const std::string& message) const;
  /// Records an error at `key` and goes on (the caller carries on with a default), so that one
  /// pass reports every bad value of a file; Document::check() throws them all.
  void note(const std::string& key, const std::string& message) const;
  std::string dotted(const std::string& key) const;
  Document& document() const { return *doc_; }

 private:
  const toml::node* get(const std::string& key);
  void resolve(const std::string& key, const toml::node& value);
  /// One scalar value: absent → `def` (or "missing required key"), else `accept(node)` gives the
  /// value or nullopt for "expected `want`, got …". The value (or default) goes to the resolved
  /// document.
  template <class T, class Accept>
  T scalar(const std::string& key, const std::optional<T>& def, const std::string& want,
           Accept accept);
  std::string where(const toml::node* node) const;
  std::string misspelt(const std::string& key) const;

  Document* doc_;
  const toml::table* table_;
  std::vector<std::string> path_;
  std::vector<std::string> read_;
  std::map<std::string, std::string> irrelevant_;
};

/// One configuration: the text as given, its parsed tree, --set overrides and the resolved tree.
class Document {
 public:
  /// Throws ConfigError (file:line:col and the parser's message) on a syntax error.
  static Document from_file(const std::string& path);
  static Document from_string(const std::string& text, const std::string& name);

  /// Applies "dotted.key=value" (value in TOML syntax; a bare word is taken as a string).
  /// Errors about that key then point at `origin` (default: "--set dotted.key=value").
  void set(const std::string& assignment, const std::string& origin = "");
  /// Removes a top-level table or key (e.g. a sweep's [sweep] table before running one point).
  void erase(const std::string& key);
  Section root() { return Section(this, &table_, {}); }
  const std::string& name() const { return name_; }
  const std::string& text() const { return text_; }
  /// Files the run reads (the config itself, weight, pattern, edge, input files): a run never
  /// writes its output over one of them.
  void add_input(const std::string& path) { inputs_.push_back(path); }
  /// A file named in this config: a relative path is taken from the config's folder; the file is
  /// recorded as an input (add_input) and its path returned. "" stays "" (no file).
  std::string input_path(const std::string& file);
  const std::vector<std::string>& inputs() const { return inputs_; }
  /// Throws every error recorded by Section::note (in line order) as one ConfigError.
  void check() const;
  /// Errors recorded so far (line order), each "file:line:col: key: message".
  std::vector<std::string> errors() const;
  /// The resolved configuration as TOML text.
  std::string resolved_text() const;
  toml::table& resolved() { return resolved_; }

 private:
  friend class Section;
  std::string name_, text_;
  toml::table table_, resolved_;
  std::map<std::string, std::string> set_from_;  // dotted key -> where its override came from
  struct Error {
    long line, column;
    std::string text;
  };
  mutable std::vector<Error> errors_;
  std::vector<std::string> inputs_;
};

/// The number held by a TOML integer or float node (integers beyond 2^53 rounded to the nearest
/// double, as a float literal would be), or nullopt for any other node.
std::optional<double> as_number(const toml::node& node);

/// Levenshtein distance (for "did you mean").
std::size_t edit_distance(const std::string& a, const std::string& b);

}  // namespace hkam::config
