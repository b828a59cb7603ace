#pragma once
// The observables of `hkam run`: what a trace records per sample (pattern overlaps, order
// parameter, norm drift) and what its summary adds at the end (oscillator geometry, binding).
// Internal to hkam.

#include <fmt/format.h>

#include <Eigen/Core>
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "hkam/hkam.hpp"
#include "io/trace.hpp"

namespace hkam::run {

/// Pattern overlaps, order parameter and norm drift: the observables a trace records per sample.
class SampleObservables {
 public:
  SampleObservables(const StateLayout& lay, const Eigen::MatrixXd& patterns, long cue)
      : lay_(lay),
        patterns_(patterns),
        cue_(cue),
        overlaps_(lay.n_units && patterns.size() && patterns.cols() == lay.n_units),
        acc_(std::max<Index>(lay.osc_dim, 1)) {}
  std::vector<io::ObservableSpec> specs() const {
    std::vector<io::ObservableSpec> v;
    if (overlaps_) v.push_back({"overlap", static_cast<hsize_t>(patterns_.rows()), "pattern"});
    if (lay_.n_osc) {
      v.push_back({"order_parameter", 0, ""});
      v.push_back({"norm_drift", 0, ""});
    }
    return v;
  }
  /// Whether the state's units are compared with stored patterns (overlaps recorded).
  bool overlaps() const { return overlaps_; }
  /// The oscillators' order parameter of s.
  double order_parameter_of(const Eigen::VectorXd& s) { return order_parameter(lay_, s, acc_); }
  /// The observables of s (the largest norm drift since the last sample given), in specs() order.
  const double* compute(const Eigen::VectorXd& s, double drift) {
    obs_.clear();
    if (overlaps_) {
      const Eigen::VectorXd m = pattern_overlaps(patterns_, s.head(lay_.n_units));
      obs_.insert(obs_.end(), m.data(), m.data() + m.size());
    }
    if (lay_.n_osc) {
      obs_.push_back(order_parameter_of(s));
      obs_.push_back(drift);
    }
    return obs_.data();
  }
  /// The ones a run report prints: the cue's overlap, the largest overlap, the order parameter.
  std::vector<std::pair<std::string, double>> named(const Eigen::VectorXd& s) {
    compute(s, 0);
    std::vector<std::pair<std::string, double>> v;
    std::size_t k = 0;
    if (overlaps_) {
      if (cue_ >= 0) v.emplace_back(fmt::format("overlap[{}] (cue)", cue_), obs_[cue_]);
      double best = -2;
      for (Index mu = 0; mu < patterns_.rows(); ++mu) best = std::max(best, obs_[mu]);
      v.emplace_back("max overlap", best);
      k = static_cast<std::size_t>(patterns_.rows());
    }
    if (lay_.n_osc) v.emplace_back("order parameter", obs_[k]);
    return v;
  }

 private:
  StateLayout lay_;
  const Eigen::MatrixXd& patterns_;
  long cue_;
  bool overlaps_;
  Eigen::VectorXd acc_;
  std::vector<double> obs_;
};

// Geometry of the final oscillator states: how many distinct points they form (greedy, within
// 1e-3), how fast the fastest moves (max |dσ_i/dt|), and how fast any pair's similarity changes
// (max |d(σ_i·σ_j)/dt| over all pairs, M ≤ 2000): a relative equilibrium has all similarities
// frozen while the oscillators still move.
template <class Model>
std::vector<std::pair<std::string, double>> oscillator_geometry(const Model& model,
                                                                const StateLayout& lay,
                                                                const Eigen::VectorXd& z) {
  const Index m = lay.n_osc, d = lay.osc_dim, off = lay.osc_offset();
  const Eigen::Map<const Eigen::MatrixXd> sig(z.data() + off, d, m);
  std::vector<Index> reps;
  for (Index i = 0; i < m && reps.size() < 1000; ++i) {
    bool found = false;
    for (Index r : reps)
      if ((sig.col(i) - sig.col(r)).norm() < 1e-3) {
        found = true;
        break;
      }
    if (!found) reps.push_back(i);
  }
  std::vector<std::pair<std::string, double>> out{{"clusters", static_cast<double>(reps.size())}};
  Eigen::VectorXd f(z.size());
  model(z, f, 0.0);
  const Eigen::Map<const Eigen::MatrixXd> rate(f.data() + off, d, m);
  out.emplace_back("speed", rate.colwise().norm().maxCoeff());
  if (m <= 2000) {
    const Eigen::MatrixXd cross = rate.transpose() * sig;  // (σ̇_i · σ_j)
    out.emplace_back("similarity_rate", (cross + cross.transpose()).cwiseAbs().maxCoeff());
  }
  return out;
}

// The binding loop of the Hopfield–Kuramoto model: mean alignment σ_i·σ_j of co-active unit pairs
// (sign x_i = sign x_j) minus that of anti-active pairs, over i ≠ j (one oscillator per unit); NaN
// when there is not one oscillator per unit or a kind of pair is missing.
double binding(const StateLayout& lay, const Eigen::VectorXd& z);

}  // namespace hkam::run
