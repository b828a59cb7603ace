#pragma once
/// Stop conditions for simulate()'s observers: each is fed after every accepted step and answers
/// with an Action (continue, or stop with its own end reason). Combine them in one observer:
///
///     EnergyPlateau plateau(5.0, 1e-9);
///     OrderParameterAbove synced(model.layout(), 0.99);
///     simulate(model, x, options, [&](double t, const Eigen::VectorXd& s, const StepInfo&) {
///       if (Action a = plateau.add(t, model.energy(s)); a.stop) return a;
///       return synced.check(s);
///     });

#include <Eigen/Core>
#include <cstddef>
#include <utility>
#include <vector>

#include "hkam/core.hpp"
#include "hkam/integrate/simulate.hpp"

namespace hkam {

/// Stops with `energy_plateau` once the energy has fallen by no more than
/// tol·max(|E|, 1) over the last `window` time units (the run must have lasted `window`).
class EnergyPlateau {
 public:
  /// Throws std::invalid_argument unless window > 0 and tol ≥ 0 are finite.
  EnergyPlateau(double window, double tol);
  Action add(double t, double energy);
  /// The (t, E) pairs still inside the window, flattened (t0, E0, t1, E1, …): what a checkpoint
  /// stores so that a resumed run stops where an uninterrupted one would.
  std::vector<double> saved() const;
  /// Replaces the window by a saved one (an odd-length list throws std::invalid_argument).
  void restore(const std::vector<double>& saved);

 private:
  double window_, tol_;
  std::vector<std::pair<double, double>> points_;  // (t, E), oldest first from head_
  std::size_t head_ = 0;
};

/// The Kuramoto order parameter r = ‖(1/M) Σ_i σ_i‖ of the oscillators of a state (0 without
/// oscillators); `acc` is D-long scratch.
double order_parameter(const StateLayout& layout, const Eigen::VectorXd& x, Eigen::VectorXd& acc);

/// Stops with `order_parameter` once r ≥ threshold.
class OrderParameterAbove {
 public:
  OrderParameterAbove(const StateLayout& layout, double threshold);
  Action check(const Eigen::VectorXd& x);

 private:
  StateLayout layout_;
  double threshold_;
  Eigen::VectorXd acc_;
};

}  // namespace hkam
