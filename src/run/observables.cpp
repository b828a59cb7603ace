#include "run/observables.hpp"

#include <limits>

namespace hkam::run {

double binding(const StateLayout& lay, const Eigen::VectorXd& z) {
  const Index n = lay.n_units, d = lay.osc_dim;
  if (lay.n_osc != n || n < 2) return std::numeric_limits<double>::quiet_NaN();
  Eigen::VectorXd sum = Eigen::VectorXd::Zero(d), signed_sum = Eigen::VectorXd::Zero(d);
  double s_total = 0;
  for (Index i = 0; i < n; ++i) {
    const double si = z[i] >= 0 ? 1.0 : -1.0;
    const auto sig = z.segment(n + i * d, d);
    sum += sig;
    signed_sum += si * sig;
    s_total += si;
  }
  const double nn = static_cast<double>(n);
  const double all = sum.squaredNorm() - nn;           // Σ_{i≠j} σ_i·σ_j
  const double agree = signed_sum.squaredNorm() - nn;  // Σ_{i≠j} s_i s_j σ_i·σ_j
  const double n_same = 0.5 * ((nn * nn - nn) + (s_total * s_total - nn));
  const double n_diff = (nn * nn - nn) - n_same;
  if (n_same <= 0 || n_diff <= 0) return std::numeric_limits<double>::quiet_NaN();
  return 0.5 * (all + agree) / n_same - 0.5 * (all - agree) / n_diff;
}

}  // namespace hkam::run
