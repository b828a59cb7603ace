#include "hkam/models/hopfield.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "hkam/linalg.hpp"
#include "hkam/random.hpp"

namespace hkam {
namespace {

// Checked before anything is computed from W: W + Wᵀ of a non-square W is undefined.
Eigen::MatrixXd symmetrised(const Eigen::MatrixXd& w) {
  if (w.rows() != w.cols())
    throw std::invalid_argument(
        fmt::format("Hopfield: W must be square, got {}x{}", w.rows(), w.cols()));
  return 0.5 * (w + w.transpose());
}

}  // namespace

Hopfield::Hopfield(const Eigen::MatrixXd& w, Eigen::VectorXd b, Lagrangian lagrangian)
    : w_(symmetrised(w)), b_(std::move(b)), lag_(lagrangian) {
  if (b_.size() == 0) b_ = Eigen::VectorXd::Zero(w.rows());
  if (b_.size() != w.rows())
    throw std::invalid_argument(
        fmt::format("Hopfield: b has {} entries, W is {}x{}", b_.size(), w.rows(), w.cols()));
  if (!(lag_.beta > 0.0)) throw std::invalid_argument("Hopfield: gain beta must be > 0");
  g_.resize(dim());
  wg_.resize(dim());
  tmp_.resize(dim());
}

void Hopfield::operator()(const Eigen::VectorXd& x, Eigen::VectorXd& dxdt, double) const {
  lag_.activation(x, g_);
  symmetric_matvec(w_, g_, wg_);
  dxdt = wg_ - x + b_;
}

double Hopfield::energy(const Eigen::VectorXd& x) const {
  lag_.activation(x, g_);
  symmetric_matvec(w_, g_, wg_);
  return (x - b_).dot(g_) - lag_.value(x) - 0.5 * g_.dot(wg_);
}

EnergyParts Hopfield::energy_parts(const Eigen::VectorXd& x) const {
  lag_.activation(x, g_);
  symmetric_matvec(w_, g_, wg_);
  return {{"conjugate", x.dot(g_) - lag_.value(x)},
          {"bias", -b_.dot(g_)},
          {"interaction", -0.5 * g_.dot(wg_)}};
}

void Hopfield::energy_gradient(const Eigen::VectorXd& x, Eigen::VectorXd& grad) const {
  lag_.activation(x, g_);
  symmetric_matvec(w_, g_, wg_);
  tmp_ = x - b_ - wg_;
  lag_.hessian_times(x, g_, tmp_, grad);
}

Eigen::VectorXd Hopfield::energy_gradient(const Eigen::VectorXd& x) const {
  Eigen::VectorXd grad(dim());
  energy_gradient(x, grad);
  return grad;
}

double Hopfield::dissipation(const Eigen::VectorXd& x) const {
  (*this)(x, tmp_, 0.0);  // leaves g_ = g(x)
  return -lag_.hessian_quadratic(x, g_, tmp_);
}

Guarantee Hopfield::lyapunov() const {
  Guarantee g;  // W is symmetrised and every Lagrangian offered is convex: (H3) holds.
  if (lag_.kind == LagrangianKind::Relu) {
    // E_H = ½‖g‖² − b·g − ½ gᵀW_s g on g ≥ 0: bounded below iff I − W_s is copositive. We only
    // check the sufficient condition λ_max(W_s) < 1 (I − W_s positive definite): exactly for
    // N ≤ 2000, through a norm bound above that.
    const bool small = dim() <= 2000;
    const double lam = small ? symmetric_max_eigenvalue(w_) : symmetric_norm_upper_bound(w_);
    if (!(lam < 1.0))
      g.warnings.push_back(fmt::format(
          "relu Lagrangian: energy may be unbounded below — I - W_s is not certified copositive "
          "({} = {:.4g} >= 1; the test used is sufficient, not necessary)",
          small ? "lambda_max(W_s)" : "upper bound on ||W_s||_2", lam));
  }
  return g;
}

Eigen::MatrixXd hebbian_weights(const Eigen::MatrixXd& patterns) {
  const double n = static_cast<double>(patterns.cols());
  Eigen::MatrixXd w = patterns.transpose() * patterns / n;
  w.diagonal().setZero();
  return w;
}

Eigen::MatrixXd random_symmetric_weights(Rng& rng, Index n, double scale) {
  Eigen::MatrixXd w = Eigen::MatrixXd::Zero(n, n);
  const double s = scale / std::sqrt(static_cast<double>(n));
  for (Index i = 0; i < n; ++i)
    for (Index j = i + 1; j < n; ++j) w(i, j) = w(j, i) = s * rng.normal();
  return w;
}

Eigen::MatrixXd hierarchical_weights(const std::vector<Eigen::MatrixXd>& layers) {
  if (layers.empty())
    throw std::invalid_argument("hierarchical Hopfield: need at least one layer matrix");
  std::vector<Index> sizes{layers[0].cols()};
  for (std::size_t l = 0; l < layers.size(); ++l) {
    if (layers[l].cols() != sizes.back())
      throw std::invalid_argument(
          fmt::format("hierarchical Hopfield: W^{} has {} columns, layer {} has {} units", l,
                      layers[l].cols(), l, sizes.back()));
    sizes.push_back(layers[l].rows());
  }
  Index total = 0;
  std::vector<Index> start;
  for (Index s : sizes) {
    start.push_back(total);
    total += s;
  }
  Eigen::MatrixXd w = Eigen::MatrixXd::Zero(total, total);
  for (std::size_t l = 0; l < layers.size(); ++l) {
    // −(g^{l+1})ᵀ W^l g^l = −½ gᵀ (block + blockᵀ) g.
    w.block(start[l + 1], start[l], sizes[l + 1], sizes[l]) = layers[l];
    w.block(start[l], start[l + 1], sizes[l], sizes[l + 1]) = layers[l].transpose();
  }
  return w;
}

Eigen::VectorXd pattern_overlaps(const Eigen::MatrixXd& patterns, const Eigen::VectorXd& x) {
  const Eigen::VectorXd s = x.unaryExpr([](double v) { return double((v > 0) - (v < 0)); });
  return patterns * s / static_cast<double>(x.size());
}

}  // namespace hkam
