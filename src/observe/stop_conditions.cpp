#include "hkam/observe/stop_conditions.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace hkam {

EnergyPlateau::EnergyPlateau(double window, double tol) : window_(window), tol_(tol) {
  if (!(window > 0) || !std::isfinite(window) || !(tol >= 0) || !std::isfinite(tol))
    throw std::invalid_argument("EnergyPlateau: need a finite window > 0 and tol >= 0 (got " +
                                std::to_string(window) + ", " + std::to_string(tol) + ")");
  points_.reserve(4096);
}

Action EnergyPlateau::add(double t, double energy) {
  points_.emplace_back(t, energy);
  while (head_ + 1 < points_.size() && points_[head_ + 1].first <= t - window_) ++head_;
  // Drop the points that left the window once they are the larger part (amortised O(1)).
  if (head_ > 2048 && head_ > points_.size() / 2) {
    points_.erase(points_.begin(), points_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
  const auto& [t_old, e_old] = points_[head_];
  if (t - t_old >= window_ && e_old - energy <= tol_ * std::max(std::abs(energy), 1.0))
    return Action::stop_with(EndReason::EnergyPlateau);
  return Action::proceed();
}

std::vector<double> EnergyPlateau::saved() const {
  std::vector<double> out;
  out.reserve(2 * (points_.size() - head_));
  for (std::size_t k = head_; k < points_.size(); ++k)
    out.insert(out.end(), {points_[k].first, points_[k].second});
  return out;
}

void EnergyPlateau::restore(const std::vector<double>& saved) {
  if (saved.size() % 2)
    throw std::invalid_argument("EnergyPlateau::restore: an odd number of values");
  points_.clear();
  head_ = 0;
  for (std::size_t k = 0; k + 1 < saved.size(); k += 2)
    points_.emplace_back(saved[k], saved[k + 1]);
}

double order_parameter(const StateLayout& layout, const Eigen::VectorXd& x, Eigen::VectorXd& acc) {
  acc.setZero(layout.osc_dim);
  for (Index i = 0; i < layout.n_osc; ++i)
    acc += x.segment(layout.osc_offset() + i * layout.osc_dim, layout.osc_dim);
  return layout.n_osc ? acc.norm() / static_cast<double>(layout.n_osc) : 0.0;
}

OrderParameterAbove::OrderParameterAbove(const StateLayout& layout, double threshold)
    : layout_(layout), threshold_(threshold), acc_(layout.osc_dim) {}

Action OrderParameterAbove::check(const Eigen::VectorXd& x) {
  if (order_parameter(layout_, x, acc_) >= threshold_)
    return Action::stop_with(EndReason::OrderParameter);
  return Action::proceed();
}

}  // namespace hkam
