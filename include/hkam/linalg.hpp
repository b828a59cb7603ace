#pragma once
/// Small dense kernels the models share.

#include <Eigen/Core>

namespace hkam {

/// out = A v for a symmetric A, split over OpenMP threads by column blocks of A (contiguous in
/// memory: out_block = A_colsᵀ v). Each output entry is computed by one thread with a fixed order,
/// so the result does not depend on the thread count. No allocation.
void symmetric_matvec(const Eigen::MatrixXd& a, const Eigen::VectorXd& v, Eigen::VectorXd& out);

/// Upper bound on the largest eigenvalue of a symmetric matrix (min of the max absolute row sum
/// and the Frobenius norm) — cheap, used to certify conditions without an eigensolver.
double symmetric_norm_upper_bound(const Eigen::MatrixXd& a);

/// Largest eigenvalue of a symmetric matrix, exact (self-adjoint eigensolver); O(n³).
double symmetric_max_eigenvalue(const Eigen::MatrixXd& a);

/// Σ_i ‖P_{σ_i} g_i‖² = Σ_i ‖g_i − (g_i·σ_i)σ_i‖² over m oscillator blocks of dimension d
/// (row-major arrays): the squared norm of the Riemannian gradient on the product of spheres.
double tangent_norm2(const double* sigma, const double* grad, Eigen::Index m, Eigen::Index d);

}  // namespace hkam
