#include "hkam/models/lagrangian.hpp"

#include <cmath>
#include <numbers>
#include <stdexcept>

#include "models/scalar.hpp"

namespace hkam {
namespace {

using detail::log_cosh;
using detail::logistic;
using detail::softplus;

// ℓ''(βx)·β for the separable kinds, given g = ℓ'(βx).
double separable_curvature(LagrangianKind kind, double beta, double x, double g) {
  switch (kind) {
    case LagrangianKind::Tanh:
      return beta * (1.0 - g * g);
    case LagrangianKind::Sigmoid:
      return beta * g * (1.0 - g);
    case LagrangianKind::Relu:
      return x > 0.0 ? beta : 0.0;
    case LagrangianKind::LogSumExp:
      break;
  }
  return 0.0;
}

}  // namespace

Lagrangian Lagrangian::from_name(std::string_view name, double beta) {
  if (!(beta > 0.0) || !std::isfinite(beta))
    throw std::invalid_argument("Lagrangian gain beta must be a finite number > 0");
  if (name == "tanh") return {LagrangianKind::Tanh, beta};
  if (name == "sigmoid") return {LagrangianKind::Sigmoid, beta};
  if (name == "relu") return {LagrangianKind::Relu, beta};
  if (name == "lse" || name == "logsumexp" || name == "softmax")
    return {LagrangianKind::LogSumExp, beta};
  throw std::invalid_argument("unknown Lagrangian '" + std::string(name) +
                              "' (expected one of: tanh, sigmoid, relu, lse)");
}

std::string_view Lagrangian::name() const {
  switch (kind) {
    case LagrangianKind::Tanh:
      return "tanh";
    case LagrangianKind::Sigmoid:
      return "sigmoid";
    case LagrangianKind::Relu:
      return "relu";
    case LagrangianKind::LogSumExp:
      return "lse";
  }
  return "?";
}

double Lagrangian::value(const Eigen::VectorXd& x) const {
  const Eigen::Index n = x.size();
  double sum = 0.0;
  switch (kind) {
    case LagrangianKind::Tanh:
      for (Eigen::Index i = 0; i < n; ++i) sum += log_cosh(beta * x[i]);
      return sum / beta;
    case LagrangianKind::Sigmoid:
      for (Eigen::Index i = 0; i < n; ++i) sum += softplus(beta * x[i]);
      return sum / beta;
    case LagrangianKind::Relu:
      for (Eigen::Index i = 0; i < n; ++i) {
        const double r = std::max(beta * x[i], 0.0);
        sum += 0.5 * r * r;
      }
      return sum / beta;
    case LagrangianKind::LogSumExp: {
      const double m = (beta * x).maxCoeff();
      for (Eigen::Index i = 0; i < n; ++i) sum += std::exp(beta * x[i] - m);
      return (m + std::log(sum)) / beta;
    }
  }
  return 0.0;
}

void Lagrangian::activation(const Eigen::VectorXd& x, Eigen::VectorXd& g) const {
  const Eigen::Index n = x.size();
  switch (kind) {
    case LagrangianKind::Tanh:
      for (Eigen::Index i = 0; i < n; ++i) g[i] = std::tanh(beta * x[i]);
      return;
    case LagrangianKind::Sigmoid:
      for (Eigen::Index i = 0; i < n; ++i) g[i] = logistic(beta * x[i]);
      return;
    case LagrangianKind::Relu:
      for (Eigen::Index i = 0; i < n; ++i) g[i] = std::max(beta * x[i], 0.0);
      return;
    case LagrangianKind::LogSumExp: {
      double m = beta * x[0];
      for (Eigen::Index i = 1; i < n; ++i) m = std::max(m, beta * x[i]);
      double sum = 0.0;
      for (Eigen::Index i = 0; i < n; ++i) sum += (g[i] = std::exp(beta * x[i] - m));
      g /= sum;
      return;
    }
  }
}

void Lagrangian::hessian_times(const Eigen::VectorXd& x, const Eigen::VectorXd& g,
                               const Eigen::VectorXd& v, Eigen::VectorXd& out) const {
  const Eigen::Index n = x.size();
  if (kind == LagrangianKind::LogSumExp) {
    const double gv = g.dot(v);
    for (Eigen::Index i = 0; i < n; ++i) out[i] = beta * g[i] * (v[i] - gv);
    return;
  }
  for (Eigen::Index i = 0; i < n; ++i) out[i] = separable_curvature(kind, beta, x[i], g[i]) * v[i];
}

double Lagrangian::hessian_quadratic(const Eigen::VectorXd& x, const Eigen::VectorXd& g,
                                     const Eigen::VectorXd& v) const {
  const Eigen::Index n = x.size();
  if (kind == LagrangianKind::LogSumExp) {
    // vᵀ(diag g − g gᵀ)v = Σ g_i v_i² − (gᵀv)²: the variance of v under the distribution g.
    const double gv = g.dot(v);
    double s = 0.0;
    for (Eigen::Index i = 0; i < n; ++i) s += g[i] * (v[i] - gv) * (v[i] - gv);
    return beta * s;
  }
  double s = 0.0;
  for (Eigen::Index i = 0; i < n; ++i)
    s += separable_curvature(kind, beta, x[i], g[i]) * v[i] * v[i];
  return s;
}

Eigen::MatrixXd Lagrangian::hessian(const Eigen::VectorXd& x) const {
  const Eigen::Index n = x.size();
  Eigen::VectorXd g(n);
  activation(x, g);
  if (kind == LagrangianKind::LogSumExp) {
    Eigen::MatrixXd h = -beta * g * g.transpose();
    h.diagonal() += beta * g;
    return h;
  }
  Eigen::MatrixXd h = Eigen::MatrixXd::Zero(n, n);
  for (Eigen::Index i = 0; i < n; ++i) h(i, i) = separable_curvature(kind, beta, x[i], g[i]);
  return h;
}

}  // namespace hkam
