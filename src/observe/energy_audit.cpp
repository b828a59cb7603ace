#include "hkam/observe/energy_audit.hpp"

#include <algorithm>
#include <cmath>

namespace hkam {

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

}  // namespace hkam
