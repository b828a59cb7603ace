#include "hkam/linalg.hpp"

#include <Eigen/Eigenvalues>
#include <algorithm>

#include "parallel.hpp"

namespace hkam {

void symmetric_matvec(const Eigen::MatrixXd& a, const Eigen::VectorXd& v, Eigen::VectorXd& out) {
  const Eigen::Index n = a.rows();
  // Small products are not worth a parallel region (src/parallel.hpp).
  constexpr Eigen::Index kBlock = 64;
  if (!detail::worth_threads(double(n) * double(a.rows()), detail::kNsPerEntry)) {
    out.noalias() = a.transpose() * v;
    return;
  }
  const Eigen::Index blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static)
  for (Eigen::Index b = 0; b < blocks; ++b) {
    const Eigen::Index c0 = b * kBlock;
    const Eigen::Index nc = std::min(kBlock, n - c0);
    out.segment(c0, nc).noalias() = a.middleCols(c0, nc).transpose() * v;
  }
}

double symmetric_norm_upper_bound(const Eigen::MatrixXd& a) {
  const double row_sum = a.cwiseAbs().rowwise().sum().maxCoeff();
  return std::min(row_sum, a.norm());
}

double symmetric_max_eigenvalue(const Eigen::MatrixXd& a) {
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(a, Eigen::EigenvaluesOnly);
  return es.eigenvalues().maxCoeff();
}

double tangent_norm2(const double* sigma, const double* grad, Eigen::Index m, Eigen::Index d) {
  double total = 0.0;
  for (Eigen::Index i = 0; i < m; ++i) {
    const Eigen::Map<const Eigen::VectorXd> si(sigma + i * d, d), gi(grad + i * d, d);
    total += (gi - gi.dot(si) * si).squaredNorm();
  }
  return total;
}

}  // namespace hkam
