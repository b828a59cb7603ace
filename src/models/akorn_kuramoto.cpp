#include "hkam/models/akorn_kuramoto.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "hkam/linalg.hpp"
#include "models/scalar.hpp"
#include "parallel.hpp"

namespace hkam {
namespace {

// y = J σ for a general (not necessarily symmetric) J: rows split over threads.
void general_matvec(const Eigen::MatrixXd& a, const Eigen::VectorXd& v, Eigen::VectorXd& out) {
  const Index n = a.rows();
  if (!detail::worth_threads(double(n) * double(a.cols()), detail::kNsPerEntry)) {
    out.noalias() = a * v;
    return;
  }
  constexpr Index kBlock = 64;
  const Index blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static)
  for (Index b = 0; b < blocks; ++b) {
    const Index r0 = b * kBlock;
    const Index nr = std::min(kBlock, n - r0);
    out.segment(r0, nr).noalias() = a.middleRows(r0, nr) * v;
  }
}

}  // namespace

AkornKuramoto::AkornKuramoto(Index n_osc, Index osc_dim, Eigen::MatrixXd j, Eigen::MatrixXd c,
                             const std::vector<Eigen::MatrixXd>& omegas, bool project)
    : m_(n_osc), d_(osc_dim), j_(std::move(j)), c_(std::move(c)), project_(project) {
  if (d_ < 2) throw std::invalid_argument("AkornKuramoto: oscillator dimension must be >= 2");
  if (j_.rows() != dim() || j_.cols() != dim())
    throw std::invalid_argument(fmt::format("AkornKuramoto: J must be {0}x{0} (M*D), got {1}x{2}",
                                            dim(), j_.rows(), j_.cols()));
  if (c_.size() == 0) c_ = Eigen::MatrixXd::Zero(m_, d_);
  if (c_.rows() != m_ || c_.cols() != d_)
    throw std::invalid_argument(fmt::format("AkornKuramoto: c must be {}x{}", m_, d_));
  c_flat_.resize(dim());
  for (Index i = 0; i < m_; ++i) c_flat_.segment(i * d_, d_) = c_.row(i).transpose();
  if (!omegas.empty()) {
    if (omegas.size() != 1 && static_cast<Index>(omegas.size()) != m_)
      throw std::invalid_argument("AkornKuramoto: give one Omega or one per oscillator");
    omegas_.resize(d_, m_ * d_);
    for (Index i = 0; i < m_; ++i) {
      const auto& w = omegas[omegas.size() == 1 ? 0 : static_cast<std::size_t>(i)];
      if (w.rows() != d_ || w.cols() != d_ || detail::skew_defect(w) > detail::structural_tol(w))
        throw std::invalid_argument(fmt::format(
            "AkornKuramoto: Omega_{} must be a {}x{} skew-symmetric matrix", i, d_, d_));
      omegas_.middleCols(i * d_, d_) = w;
    }
  }
  y_.resize(dim());
  grad_.resize(dim());
}

void AkornKuramoto::operator()(const Eigen::VectorXd& sigma, Eigen::VectorXd& dsdt, double) const {
  general_matvec(j_, sigma, y_);
  y_ += c_flat_;
  const Index d = d_;
#pragma omp parallel for schedule( \
    static) if (detail::worth_threads(double(m_ * d), detail::kNsPerElement))
  for (Index i = 0; i < m_; ++i) {
    const auto si = sigma.segment(i * d, d);
    const auto yi = y_.segment(i * d, d);
    auto oi = dsdt.segment(i * d, d);
    if (project_) {
      oi = yi - yi.dot(si) * si;
    } else {
      oi = yi;
    }
    if (omegas_.size()) oi.noalias() += omegas_.middleCols(i * d, d) * si;
  }
}

double AkornKuramoto::energy(const Eigen::VectorXd& sigma) const {
  general_matvec(j_, sigma, y_);
  return -0.5 * sigma.dot(y_) - c_flat_.dot(sigma);
}

EnergyParts AkornKuramoto::energy_parts(const Eigen::VectorXd& sigma) const {
  general_matvec(j_, sigma, y_);
  return {{"coupling", -0.5 * sigma.dot(y_)}, {"stimulus", -c_flat_.dot(sigma)}};
}

double AkornKuramoto::proxy_energy(const Eigen::VectorXd& sigma) const {
  general_matvec(j_, sigma, y_);
  return -sigma.dot(y_) - c_flat_.dot(sigma);
}

void AkornKuramoto::energy_gradient(const Eigen::VectorXd& sigma, Eigen::VectorXd& grad) const {
  general_matvec(j_, sigma, y_);
  grad.noalias() = j_.transpose() * sigma;
  grad = -0.5 * (grad + y_) - c_flat_;
}

Eigen::VectorXd AkornKuramoto::energy_gradient(const Eigen::VectorXd& sigma) const {
  Eigen::VectorXd grad(dim());
  energy_gradient(sigma, grad);
  return grad;
}

double AkornKuramoto::dissipation(const Eigen::VectorXd& sigma) const {
  energy_gradient(sigma, grad_);
  return project_ ? -tangent_norm2(sigma.data(), grad_.data(), m_, d_) : -grad_.squaredNorm();
}

Guarantee AkornKuramoto::lyapunov() const {
  Guarantee g;
  const double tol = 1e-12 * std::max(1.0, j_.cwiseAbs().maxCoeff());
  if ((j_ - j_.transpose()).cwiseAbs().maxCoeff() > tol)
    g.fail(
        "coupling J is not symmetric (J_ij != J_ji^T): the flow is not a gradient flow of the "
        "energy");
  if (!project_)
    g.fail(
        "tangent projection switched off: the flow is not the Riemannian gradient on the spheres");
  if (omegas_.size()) {
    const Eigen::MatrixXd first = omegas_.leftCols(d_);
    bool shared = true;
    for (Index i = 1; i < m_ && shared; ++i)
      shared = (omegas_.middleCols(i * d_, d_) - first).cwiseAbs().maxCoeff() <=
               1e-12 * std::max(1.0, first.cwiseAbs().maxCoeff());
    if (!shared) {
      g.fail(
          "per-oscillator natural frequencies Omega_i differ: the rotation term does not drop out "
          "of dE/dt");
    } else if (first.cwiseAbs().maxCoeff() > 0.0) {
      for (Index i = 0; i < m_ && g.guaranteed; ++i)
        if ((first * c_.row(i).transpose()).cwiseAbs().maxCoeff() >
            1e-12 * std::max(1.0, c_.cwiseAbs().maxCoeff()))
          g.fail(fmt::format("stimulus not in the kernel of Omega (Omega c_{} != 0)", i));
      for (Index bi = 0; bi < m_ && g.guaranteed; ++bi)
        for (Index bj = 0; bj < m_ && g.guaranteed; ++bj) {
          const auto blk = j_.block(bi * d_, bj * d_, d_, d_);
          if ((blk * first - first * blk).cwiseAbs().maxCoeff() >
              tol * std::max(1.0, first.cwiseAbs().maxCoeff()))
            g.fail(fmt::format("coupling block J_({},{}) does not commute with Omega", bi, bj));
        }
    }
  }
  return g;
}

}  // namespace hkam
