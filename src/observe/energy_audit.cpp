#include "hkam/observe/energy_audit.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace hkam {

std::string largest_change_text(double max_increase) {
  if (max_increase == 0) return "no increase";
  if (max_increase < 0) return fmt::format("no increase (smallest decrease {:.3g})", -max_increase);
  return fmt::format("largest increase {:.3g}", max_increase);  // also NaN: never "no increase"
}

EnergyAudit::EnergyAudit(double rtol, double factor, double scale)
    : rel_(factor * rtol), scale_(scale) {
  if (!(rel_ >= 0.0 && rel_ <= kMaxRelativeTolerance) || !std::isfinite(rtol) ||
      !std::isfinite(factor))
    throw std::invalid_argument(fmt::format(
        "energy audit: the relative tolerance factor * rtol = {:g} * {:g} = {:g} must be finite "
        "and at most {:g} (a larger one could hide a genuine rise of the energy)",
        factor, rtol, rel_, kMaxRelativeTolerance));
  if (!(scale_ > 0.0 && std::isfinite(scale_)))
    throw std::invalid_argument(
        fmt::format("energy audit: the scale must be finite and > 0, got {:g}", scale_));
}

double EnergyAudit::tolerance_for(double e_prev) const {
  return rel_ * std::max(std::abs(e_prev), scale_);
}

void EnergyAudit::add(long step, double t, double energy) {
  if (has_prev_) {
    const double inc = energy - prev_;
    if (result_.checked == 0 || inc > result_.max_increase || std::isnan(inc)) {
      result_.max_increase = inc;
      result_.max_increase_step = step;
      result_.max_increase_t = t;
    }
    ++result_.checked;
    // A NaN energy is never "within tolerance".
    if (!(inc <= tolerance_for(prev_))) {
      if (result_.violations == 0) result_.first_violation_step = step;
      ++result_.violations;
    }
  }
  has_prev_ = true;
  prev_ = energy;
}

AuditResult audit_rows(const Eigen::MatrixXd& energies, double relative_tolerance,
                       Eigen::Index first) {
  AuditResult all;
  for (Eigen::Index r = 0; r < energies.rows(); ++r) {
    EnergyAudit a(relative_tolerance, 1.0);
    for (Eigen::Index k = first; k < energies.cols(); ++k)
      a.add(static_cast<long>(k), static_cast<double>(r), energies(r, k));
    const AuditResult& x = a.result();
    if (x.checked &&
        (all.checked == 0 || x.max_increase > all.max_increase || std::isnan(x.max_increase))) {
      all.max_increase = x.max_increase;
      all.max_increase_step = x.max_increase_step;
      all.max_increase_t = x.max_increase_t;
    }
    if (x.violations && all.violations == 0) all.first_violation_step = x.first_violation_step;
    all.checked += x.checked;
    all.violations += x.violations;
  }
  return all;
}

}  // namespace hkam
