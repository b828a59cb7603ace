#pragma once
/// Vocabulary shared by every model: state layout, energy parts, the Lyapunov guarantee.
///
/// Every model state is one flat `Eigen::VectorXd`: first the `n_units` Hopfield potentials x, then
/// the `n_osc` oscillators σ_i ∈ S^{D-1}, each stored as D consecutive numbers (row-major Σ).

#include <Eigen/Core>
#include <string>
#include <utility>
#include <vector>

namespace hkam {

using Index = Eigen::Index;

/// Where the parts of a flat model state live.
struct StateLayout {
  Index n_units = 0;  ///< Hopfield units (x), stored first.
  Index n_osc = 0;    ///< Oscillators, stored after the units.
  Index osc_dim = 0;  ///< D, the dimension of the space each oscillator lives in (S^{D-1}).

  Index size() const { return n_units + n_osc * osc_dim; }
  Index osc_offset() const { return n_units; }
};

/// One named contribution to a model's energy; the parts of a model add up to its energy.
struct EnergyPart {
  std::string name;
  double value = 0.0;
};
using EnergyParts = std::vector<EnergyPart>;

/// Whether a model's energy is guaranteed to be non-increasing along its exact flow.
/// `reason` says which condition fails when it is not (empty when guaranteed); `warnings` lists
/// caveats that do not break monotonicity (e.g. an energy that may be unbounded below).
struct Guarantee {
  bool guaranteed = true;
  std::string reason;
  std::vector<std::string> warnings;

  /// Marks the guarantee as broken, appending `why` to the reason.
  void fail(const std::string& why) {
    guaranteed = false;
    reason += reason.empty() ? why : "; " + why;
  }
  /// Folds another guarantee into this one (both must hold).
  void merge(const Guarantee& other) {
    if (!other.guaranteed) fail(other.reason);
    warnings.insert(warnings.end(), other.warnings.begin(), other.warnings.end());
  }
};

}  // namespace hkam
