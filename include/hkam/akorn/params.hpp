#pragma once
/// Parameters of an AKOrN network, by the reference's PyTorch state_dict names
/// (docs/akorn-weights.md).
///
/// A network declares every parameter it needs as a ParamSpec (name, PyTorch shape, how the
/// reference initialises it). A ParamStore holds values by name: either drawn from a seed with
/// those initialisations, or read from an HDF5 weight file whose datasets carry the state_dict
/// keys. `check()` compares a store with the specs and names every missing, extra or misshapen
/// parameter before anything is run.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "hkam/core.hpp"
#include "hkam/random.hpp"

namespace hkam::akorn {

/// How the reference initialises a parameter (PyTorch defaults unless the module sets its own).
enum class Init {
  Uniform,   ///< U(−a, a) with a = value (PyTorch's Conv2d/Linear default: a = 1/√fan_in)
  Normal,    ///< N(0, value²) (nn.Embedding, randn parameters)
  Constant,  ///< every entry = value (GroupNorm weight 1 / bias 0, Ω, γ, readout bias)
  Given,     ///< the values in ParamSpec::given (GTA rotations, positional encodings)
  SameAs,    ///< the values of the parameter named ParamSpec::source (a module shared twice)
};

struct ParamSpec {
  ParamSpec() = default;
  ParamSpec(std::string n, std::vector<Index> s, Init i, double v = 0, std::vector<double> g = {})
      : name(std::move(n)), shape(std::move(s)), init(i), value(v), given(std::move(g)) {}
  std::string name;
  std::vector<Index> shape;
  Init init = Init::Constant;
  double value = 0;
  std::vector<double> given;
  std::string source;  ///< Init::SameAs
  Index size() const;
};

/// One parameter: its shape and values in row-major (C) order, as torch stores them.
struct Param {
  std::vector<Index> shape;
  std::vector<double> values;
};

std::string shape_string(const std::vector<Index>& shape);

class ParamStore {
 public:
  void set(const std::string& name, std::vector<Index> shape, std::vector<double> values);
  bool has(const std::string& name) const { return p_.count(name) > 0; }
  /// The parameter `name`, which must have exactly `shape` (else std::invalid_argument naming
  /// both shapes).
  const Param& get(const std::string& name, const std::vector<Index>& shape) const;
  const std::map<std::string, Param>& all() const { return p_; }
  std::size_t size() const { return p_.size(); }
  /// Number of scalar values over all parameters.
  Index count() const;

  /// Values drawn from `seed` with each spec's initialisation (stream per parameter name, so a
  /// parameter's values do not depend on which others exist).
  static ParamStore initialise(const std::vector<ParamSpec>& specs, std::uint64_t seed);
  // Weight files (HDF5) are read and written by hkam::io (src/io/akorn_weights.hpp).

  /// Empty when the store has exactly the specs' names and shapes; otherwise one line per
  /// problem ("missing 'layers.0.0.connectivity.weight' [256, 256, 3, 3]", "unexpected ...",
  /// "'...' has shape [..], expected [..]"). Keys in `ignored` are allowed extras.
  std::vector<std::string> check(const std::vector<ParamSpec>& specs,
                                 const std::set<std::string>& ignored = {}) const;

 private:
  std::map<std::string, Param> p_;
};

}  // namespace hkam::akorn
