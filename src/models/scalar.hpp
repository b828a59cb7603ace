#pragma once
// Numerically stable scalar functions and structural checks shared by the models.

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <numbers>

namespace hkam::detail {

/// log cosh y = |y| + log1p(e^{−2|y|}) − log 2: no overflow for large |y|.
inline double log_cosh(double y) {
  const double a = std::abs(y);
  return a + std::log1p(std::exp(-2.0 * a)) - std::numbers::ln2;
}
/// softplus y = log(1 + e^y), stable for both signs.
inline double softplus(double y) {
  return std::max(y, 0.0) + std::log1p(std::exp(-std::abs(y)));
}
/// 1 / (1 + e^{−y}), without overflow for large negative y.
inline double logistic(double y) {
  if (y >= 0) return 1.0 / (1.0 + std::exp(-y));
  const double e = std::exp(y);
  return e / (1.0 + e);
}

/// max |(M + Mᵀ)_ij|: zero exactly for a skew-symmetric matrix.
inline double skew_defect(const Eigen::MatrixXd& m) {
  return (m + m.transpose()).cwiseAbs().maxCoeff();
}

/// Tolerance for "is this matrix skew / are these equal": relative to the entries' size.
inline double structural_tol(const Eigen::MatrixXd& m) {
  return 1e-12 * std::max(1.0, m.cwiseAbs().maxCoeff());
}

}  // namespace hkam::detail
