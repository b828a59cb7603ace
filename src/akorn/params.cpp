#include "hkam/akorn/params.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <stdexcept>

namespace hkam::akorn {

Index ParamSpec::size() const {
  Index n = 1;
  for (Index d : shape) n *= d;
  return n;
}

std::string shape_string(const std::vector<Index>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

void ParamStore::set(const std::string& name, std::vector<Index> shape,
                     std::vector<double> values) {
  Index n = 1;
  for (Index d : shape) n *= d;
  if (n != static_cast<Index>(values.size()))
    throw std::invalid_argument(fmt::format("parameter '{}': shape {} holds {} values, got {}",
                                            name, shape_string(shape), n, values.size()));
  p_[name] = Param{std::move(shape), std::move(values)};
}

const Param& ParamStore::get(const std::string& name, const std::vector<Index>& shape) const {
  const auto it = p_.find(name);
  if (it == p_.end()) throw std::invalid_argument(fmt::format("missing parameter '{}'", name));
  if (it->second.shape != shape)
    throw std::invalid_argument(fmt::format("parameter '{}' has shape {}, expected {}", name,
                                            shape_string(it->second.shape), shape_string(shape)));
  return it->second;
}

Index ParamStore::count() const {
  Index n = 0;
  for (const auto& [name, p] : p_) n += static_cast<Index>(p.values.size());
  return n;
}

namespace {
std::uint64_t name_hash(const std::string& s) {  // FNV-1a: stable across platforms
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char ch : s) {
    h ^= ch;
    h *= 1099511628211ULL;
  }
  return h;
}
}  // namespace

ParamStore ParamStore::initialise(const std::vector<ParamSpec>& specs, std::uint64_t seed) {
  ParamStore s;
  for (const auto& sp : specs) {
    if (sp.init == Init::SameAs) continue;  // after the others
    std::vector<double> v(static_cast<std::size_t>(sp.size()));
    Rng rng(Rng::derive(seed, name_hash(sp.name)));
    switch (sp.init) {
      case Init::Uniform:
        for (auto& e : v) e = rng.uniform(-sp.value, sp.value);
        break;
      case Init::Normal:
        for (auto& e : v) e = sp.value * rng.normal();
        break;
      case Init::Constant:
        for (auto& e : v) e = sp.value;
        break;
      case Init::Given:
        if (sp.given.size() != v.size())
          throw std::logic_error("ParamSpec " + sp.name + ": given values of the wrong size");
        v = sp.given;
        break;
      case Init::SameAs:
        break;
    }
    s.set(sp.name, sp.shape, std::move(v));
  }
  for (const auto& sp : specs)
    if (sp.init == Init::SameAs) s.set(sp.name, sp.shape, s.get(sp.source, sp.shape).values);
  return s;
}

std::vector<std::string> ParamStore::check(const std::vector<ParamSpec>& specs,
                                           const std::set<std::string>& ignored) const {
  std::vector<std::string> problems;
  std::set<std::string> expected;
  for (const auto& sp : specs) {
    expected.insert(sp.name);
    const auto it = p_.find(sp.name);
    if (it == p_.end())
      problems.push_back(fmt::format("missing '{}' {}", sp.name, shape_string(sp.shape)));
    else if (it->second.shape != sp.shape)
      problems.push_back(fmt::format("'{}' has shape {}, expected {}", sp.name,
                                     shape_string(it->second.shape), shape_string(sp.shape)));
  }
  for (const auto& [name, p] : p_)
    if (!expected.count(name) && !ignored.count(name))
      problems.push_back(fmt::format("unexpected '{}' {}", name, shape_string(p.shape)));
  return problems;
}

}  // namespace hkam::akorn
