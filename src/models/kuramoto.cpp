#include "hkam/models/kuramoto.hpp"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

#include "hkam/linalg.hpp"
#include "models/scalar.hpp"
#include "parallel.hpp"

namespace hkam {
namespace {

using detail::log_cosh;
using detail::logistic;
using detail::softplus;

using detail::skew_defect;
using detail::structural_tol;

}  // namespace

PairPotentialKind pair_potential_from_name(std::string_view name) {
  if (name == "linear") return PairPotentialKind::Linear;
  if (name == "relu") return PairPotentialKind::Relu;
  if (name == "tanh") return PairPotentialKind::Tanh;
  if (name == "sigmoid") return PairPotentialKind::Sigmoid;
  throw std::invalid_argument("unknown pair potential '" + std::string(name) +
                              "' (expected one of: linear, relu, tanh, sigmoid)");
}

std::string_view pair_potential_name(PairPotentialKind kind) {
  switch (kind) {
    case PairPotentialKind::Linear:
      return "linear";
    case PairPotentialKind::Relu:
      return "relu";
    case PairPotentialKind::Tanh:
      return "tanh";
    case PairPotentialKind::Sigmoid:
      return "sigmoid";
  }
  return "?";
}

double pair_value(PairPotentialKind kind, double a, double b, double s) {
  switch (kind) {
    case PairPotentialKind::Linear:
      return a * s;
    case PairPotentialKind::Relu:
      return a * s + 0.5 * b * std::max(s, 0.0) * std::max(s, 0.0);
    case PairPotentialKind::Tanh:
      return a * s + b * log_cosh(s);
    case PairPotentialKind::Sigmoid:
      return a * s + b * softplus(s);
  }
  return 0.0;
}

double pair_derivative(PairPotentialKind kind, double a, double b, double s) {
  switch (kind) {
    case PairPotentialKind::Linear:
      return a;
    case PairPotentialKind::Relu:
      return a + b * std::max(s, 0.0);
    case PairPotentialKind::Tanh:
      return a + b * std::tanh(s);
    case PairPotentialKind::Sigmoid:
      return a + b * logistic(s);
  }
  return 0.0;
}

Kuramoto::Kuramoto(Index n_osc, Index osc_dim, Graph graph, PairPotentialKind kind,
                   Eigen::VectorXd a, Eigen::VectorXd b, Eigen::MatrixXd omega)
    : m_(n_osc),
      d_(osc_dim),
      graph_(std::move(graph)),
      kind_(kind),
      a_(std::move(a)),
      b_(std::move(b)),
      omega_(std::move(omega)) {
  if (d_ < 2)
    throw std::invalid_argument(
        fmt::format("Kuramoto: oscillator dimension D must be >= 2 (got {})", d_));
  if (graph_.num_nodes() != m_)
    throw std::invalid_argument(fmt::format(
        "Kuramoto: graph has {} nodes, there are {} oscillators", graph_.num_nodes(), m_));
  if (b_.size() == 0) b_ = Eigen::VectorXd::Zero(1);
  mean_field_ = graph_.is_complete() && kind_ == PairPotentialKind::Linear && a_.size() == 1;
  if (graph_.is_complete() && !mean_field_) graph_ = graph_.materialized();
  const Index e = graph_.num_edges();
  if (a_.size() != 1 && a_.size() != e)
    throw std::invalid_argument(
        fmt::format("Kuramoto: A has {} values, expected 1 or one per edge ({})", a_.size(), e));
  if (b_.size() != 1 && b_.size() != e)
    throw std::invalid_argument(
        fmt::format("Kuramoto: B has {} values, expected 1 or one per edge ({})", b_.size(), e));
  if (omega_.size() == 0) omega_ = Eigen::MatrixXd::Zero(d_, d_);
  if (omega_.rows() != d_ || omega_.cols() != d_)
    throw std::invalid_argument(fmt::format("Kuramoto: Omega must be {}x{}", d_, d_));
  if (skew_defect(omega_) > structural_tol(omega_))
    throw std::invalid_argument("Kuramoto: Omega must be skew-symmetric (Omega^T = -Omega)");
  fprime_.resize(static_cast<std::size_t>(mean_field_ ? 0 : e));
  sum_.resize(d_);
  grad_.resize(dim());
}

void Kuramoto::set_oscillator_omegas(const std::vector<Eigen::MatrixXd>& omegas) {
  if (static_cast<Index>(omegas.size()) != m_)
    throw std::invalid_argument(
        fmt::format("Kuramoto: {} per-oscillator Omegas for {} oscillators", omegas.size(), m_));
  omegas_.resize(d_, m_ * d_);
  for (Index i = 0; i < m_; ++i) {
    const auto& w = omegas[static_cast<std::size_t>(i)];
    if (w.rows() != d_ || w.cols() != d_ || skew_defect(w) > structural_tol(w))
      throw std::invalid_argument(
          fmt::format("Kuramoto: Omega_{} must be a {}x{} skew-symmetric matrix", i, d_, d_));
    omegas_.middleCols(i * d_, d_) = w;
  }
}

void Kuramoto::set_stimulus(const Eigen::MatrixXd& c) {
  if (c.rows() != m_ || c.cols() != d_)
    throw std::invalid_argument(fmt::format("Kuramoto: stimulus must be {}x{}", m_, d_));
  c_ = c;
  c_rows_.resize(static_cast<std::size_t>(m_ * d_));
  for (Index i = 0; i < m_; ++i)
    for (Index k = 0; k < d_; ++k) c_rows_[i * d_ + k] = c(i, k);
}

void Kuramoto::set_matrix_couplings(const std::vector<Eigen::MatrixXd>& j,
                                    const std::vector<Eigen::MatrixXd>& j_reverse) {
  if (mean_field_) {  // matrix couplings need the explicit edge list
    graph_ = graph_.materialized();
    mean_field_ = false;
    fprime_.resize(static_cast<std::size_t>(graph_.num_edges()));
  }
  const Index e = graph_.num_edges();
  if (static_cast<Index>(j.size()) != e ||
      (!j_reverse.empty() && static_cast<Index>(j_reverse.size()) != e))
    throw std::invalid_argument(fmt::format("Kuramoto: need one coupling matrix per edge ({})", e));
  j_.resize(d_, e * d_);
  jr_.resize(d_, e * d_);
  for (Index k = 0; k < e; ++k) {
    const auto& jk = j[static_cast<std::size_t>(k)];
    if (jk.rows() != d_ || jk.cols() != d_)
      throw std::invalid_argument(fmt::format("Kuramoto: J_{} must be {}x{}", k, d_, d_));
    j_.middleCols(k * d_, d_) = jk;
    if (j_reverse.empty()) {
      jr_.middleCols(k * d_, d_) = jk.transpose();
    } else {
      const auto& jrk = j_reverse[static_cast<std::size_t>(k)];
      if (jrk.rows() != d_ || jrk.cols() != d_)
        throw std::invalid_argument(fmt::format("Kuramoto: J'_{} must be {}x{}", k, d_, d_));
      jr_.middleCols(k * d_, d_) = jrk;
    }
  }
}

const double* Kuramoto::omega_of(Index i) const {
  return omegas_.size() ? omegas_.data() + i * d_ * d_ : omega_.data();
}

void Kuramoto::compute_edge_derivatives(const double* sigma) const {
  const auto& edges = graph_.edges();
  const Index e_count = static_cast<Index>(edges.size());
  const Index d = d_;
#pragma omp parallel for schedule( \
    static) if (detail::worth_threads(double(e_count), detail::kNsPerEdge))
  for (Index e = 0; e < e_count; ++e) {
    const double* si = sigma + edges[e].i * d;
    const double* sj = sigma + edges[e].j * d;
    double s = 0.0;
    for (Index k = 0; k < d; ++k) s += si[k] * sj[k];
    const double a = a_.size() == 1 ? a_[0] : a_[e];
    const double b = b_.size() == 1 ? b_[0] : b_[e];
    fprime_[e] = pair_derivative(kind_, a, b, s);
  }
}

void Kuramoto::drive(const double* sigma, double* f) const {
  const Index d = d_, m = m_;
  if (mean_field_) {
    sum_.setZero();
    for (Index i = 0; i < m; ++i)
      for (Index k = 0; k < d; ++k) sum_[k] += sigma[i * d + k];
    const double a = a_[0];
#pragma omp parallel for schedule( \
    static) if (detail::worth_threads(double(m * d), detail::kNsPerElement))
    for (Index i = 0; i < m; ++i)
      for (Index k = 0; k < d; ++k) f[i * d + k] = -a * (sum_[k] - sigma[i * d + k]);
  } else {
    compute_edge_derivatives(sigma);
    const auto& off = graph_.csr_offsets();
    const auto& nbr = graph_.csr_neighbors();
    const auto& eid = graph_.csr_edge_ids();
    const auto& edges = graph_.edges();
    const bool matrices = j_.size() > 0;
#pragma omp parallel for schedule( \
    static) if (detail::worth_threads(double(nbr.size()) * double(d), detail::kNsPerElement))
    for (Index i = 0; i < m; ++i) {
      double* fi = f + i * d;
      for (Index k = 0; k < d; ++k) fi[k] = 0.0;
      for (std::int64_t q = off[i]; q < off[i + 1]; ++q) {
        const double* sj = sigma + Index(nbr[q]) * d;
        const double fp = fprime_[eid[q]];
        for (Index k = 0; k < d; ++k) fi[k] -= fp * sj[k];
        if (matrices) {
          // Node i is the edge's first end: it feels J_e σ_j; the second end feels J'_e σ_i.
          const Index e = eid[q];
          const double* jm =
              (edges[e].i == i ? j_.data() : jr_.data()) + e * d * d;  // column-major D×D
          for (Index c = 0; c < d; ++c)
            for (Index r = 0; r < d; ++r) fi[r] += jm[c * d + r] * sj[c];
        }
      }
    }
  }
  if (!c_rows_.empty())
    for (Index q = 0; q < m * d; ++q) f[q] += c_rows_[q];
}

namespace {

// out_i = Ω_i σ_i + P_{σ_i} f_i for all oscillators. D > 0 fixes the dimension at compile time
// (the common D = 2, 3, 4 unroll completely); D = 0 reads it from `dyn`. Ω_i is column-major at
// omega + i·stride (stride 0: one shared Ω).
template <int D>
void finish_rows(Index m, Index dyn, const double* sigma, const double* f, double* out,
                 const double* omega, Index stride) {
  const Index d = D > 0 ? D : dyn;
#pragma omp parallel for schedule( \
    static) if (detail::worth_threads(double(m * d), detail::kNsPerElement))
  for (Index i = 0; i < m; ++i) {
    const double* si = sigma + i * d;
    const double* fi = f + i * d;
    double* oi = out + i * d;
    double dot = 0.0;
    for (Index k = 0; k < d; ++k) dot += si[k] * fi[k];
    for (Index k = 0; k < d; ++k) oi[k] = fi[k] - dot * si[k];
    const double* om = omega + i * stride;
    for (Index c = 0; c < d; ++c)
      for (Index r = 0; r < d; ++r) oi[r] += om[c * d + r] * si[c];
  }
}

}  // namespace

void Kuramoto::finish(const double* sigma, const double* f, double* out) const {
  const double* om = omegas_.size() ? omegas_.data() : omega_.data();
  const Index stride = omegas_.size() ? d_ * d_ : 0;
  switch (d_) {
    case 2:
      return finish_rows<2>(m_, d_, sigma, f, out, om, stride);
    case 3:
      return finish_rows<3>(m_, d_, sigma, f, out, om, stride);
    case 4:
      return finish_rows<4>(m_, d_, sigma, f, out, om, stride);
    default:
      return finish_rows<0>(m_, d_, sigma, f, out, om, stride);
  }
}

void Kuramoto::operator()(const Eigen::VectorXd& sigma, Eigen::VectorXd& dsdt, double) const {
  drive(sigma.data(), dsdt.data());
  finish(sigma.data(), dsdt.data(), dsdt.data());
}

EnergyParts Kuramoto::energy_parts(const Eigen::VectorXd& sigma) const {
  const double* s = sigma.data();
  const Index d = d_, m = m_;
  double pair = 0.0, stim = 0.0, mat = 0.0;
  if (mean_field_) {
    sum_.setZero();
    double self = 0.0;
    for (Index i = 0; i < m; ++i)
      for (Index k = 0; k < d; ++k) {
        sum_[k] += s[i * d + k];
        self += s[i * d + k] * s[i * d + k];
      }
    pair = 0.5 * a_[0] * (sum_.squaredNorm() - self);  // A Σ_{i<j} s_ij
  } else {
    const auto& edges = graph_.edges();
    const Index e_count = static_cast<Index>(edges.size());
    const bool matrices = j_.size() > 0;
#pragma omp parallel for schedule(static) reduction(+ : pair, mat) \
    if (detail::worth_threads(double(e_count), detail::kNsPerEdge))
    for (Index e = 0; e < e_count; ++e) {
      const double* si = s + edges[e].i * d;
      const double* sj = s + edges[e].j * d;
      double dot = 0.0;
      for (Index k = 0; k < d; ++k) dot += si[k] * sj[k];
      pair +=
          pair_value(kind_, a_.size() == 1 ? a_[0] : a_[e], b_.size() == 1 ? b_[0] : b_[e], dot);
      if (matrices) {
        const double* jm = j_.data() + e * d * d;
        const double* jr = jr_.data() + e * d * d;
        double q = 0.0;
        for (Index c = 0; c < d; ++c)
          for (Index r = 0; r < d; ++r)
            q += si[r] * jm[c * d + r] * sj[c] + sj[r] * jr[c * d + r] * si[c];
        mat -= 0.5 * q;
      }
    }
  }
  for (std::size_t q = 0; q < c_rows_.size(); ++q) stim -= c_rows_[q] * s[q];
  EnergyParts parts{{"pair", pair}};
  if (!c_rows_.empty()) parts.push_back({"stimulus", stim});
  if (j_.size() > 0) parts.push_back({"matrix_coupling", mat});
  return parts;
}

double Kuramoto::energy_raw(const double* sigma) const {
  const Eigen::Map<const Eigen::VectorXd> s(sigma, dim());
  double e = 0.0;
  for (const auto& p : energy_parts(s)) e += p.value;
  return e;
}

void Kuramoto::add_energy_gradient(const double* sigma, double* grad) const {
  const Index d = d_, m = m_;
  if (mean_field_) {
    sum_.setZero();
    for (Index i = 0; i < m; ++i)
      for (Index k = 0; k < d; ++k) sum_[k] += sigma[i * d + k];
    for (Index i = 0; i < m; ++i)
      for (Index k = 0; k < d; ++k) grad[i * d + k] += a_[0] * (sum_[k] - sigma[i * d + k]);
  } else {
    compute_edge_derivatives(sigma);
    const auto& edges = graph_.edges();
    const bool matrices = j_.size() > 0;
    for (std::size_t e = 0; e < edges.size(); ++e) {
      const double* si = sigma + edges[e].i * d;
      const double* sj = sigma + edges[e].j * d;
      double* gi = grad + edges[e].i * d;
      double* gj = grad + edges[e].j * d;
      for (Index k = 0; k < d; ++k) {
        gi[k] += fprime_[e] * sj[k];
        gj[k] += fprime_[e] * si[k];
      }
      if (matrices) {
        // ∇_i = −½(J + J'ᵀ)σ_j,  ∇_j = −½(Jᵀ + J')σ_i.
        const double* jm = j_.data() + e * d * d;
        const double* jr = jr_.data() + e * d * d;
        for (Index c = 0; c < d; ++c)
          for (Index r = 0; r < d; ++r) {
            gi[r] -= 0.5 * (jm[c * d + r] + jr[r * d + c]) * sj[c];
            gj[r] -= 0.5 * (jm[r * d + c] + jr[c * d + r]) * si[c];
          }
      }
    }
  }
  for (std::size_t q = 0; q < c_rows_.size(); ++q) grad[q] -= c_rows_[q];
}

void Kuramoto::energy_gradient(const Eigen::VectorXd& sigma, Eigen::VectorXd& grad) const {
  grad.setZero();
  add_energy_gradient(sigma.data(), grad.data());
}

Eigen::VectorXd Kuramoto::energy_gradient(const Eigen::VectorXd& sigma) const {
  Eigen::VectorXd grad(dim());
  energy_gradient(sigma, grad);
  return grad;
}

double Kuramoto::dissipation(const Eigen::VectorXd& sigma) const {
  energy_gradient(sigma, grad_);
  return -tangent_norm2(sigma.data(), grad_.data(), m_, d_);
}

Guarantee Kuramoto::lyapunov() const {
  Guarantee g;
  if (omegas_.size()) {
    const Eigen::MatrixXd first = omegas_.leftCols(d_);
    for (Index i = 1; i < m_; ++i)
      if ((omegas_.middleCols(i * d_, d_) - first).cwiseAbs().maxCoeff() > structural_tol(first)) {
        g.fail(fmt::format(
            "per-oscillator natural frequencies differ (Omega_0 != Omega_{}): the energy "
            "is not rotation-neutral, dE/dt gains sum_e F'(s_ij) s_j^T (Omega_i - Omega_j) s_i",
            i));
        break;
      }
  }
  if (!c_rows_.empty()) {
    for (Index i = 0; i < m_; ++i) {
      const Eigen::Map<const Eigen::MatrixXd> om(omega_of(i), d_, d_);
      const Eigen::VectorXd ci = c_.row(i).transpose();
      if ((om * ci).cwiseAbs().maxCoeff() > 1e-12 * std::max(1.0, ci.cwiseAbs().maxCoeff())) {
        g.fail(
            fmt::format("stimulus not in the kernel of Omega (Omega c_{} != 0): dE/dt gains -sum_i "
                        "c_i^T Omega s_i",
                        i));
        break;
      }
    }
  }
  if (j_.size() > 0) {
    const Index e_count = graph_.num_edges();
    for (Index e = 0; e < e_count; ++e) {
      const Eigen::MatrixXd je = j_.middleCols(e * d_, d_);
      const Eigen::MatrixXd jre = jr_.middleCols(e * d_, d_);
      if ((jre - je.transpose()).cwiseAbs().maxCoeff() > structural_tol(je)) {
        g.fail(
            fmt::format("matrix coupling on edge {} is not symmetric (J_ji != J_ij^T): the flow is "
                        "not a gradient flow",
                        e));
        break;
      }
    }
    for (Index e = 0; e < e_count && g.guaranteed; ++e) {
      const Eigen::MatrixXd je = j_.middleCols(e * d_, d_);
      const Index i = graph_.edges()[e].i;
      const Eigen::Map<const Eigen::MatrixXd> om(omega_of(i), d_, d_);
      if ((je * om - om * je).cwiseAbs().maxCoeff() >
          structural_tol(je) * std::max(1.0, om.cwiseAbs().maxCoeff())) {
        g.fail(
            fmt::format("matrix coupling on edge {} does not commute with Omega: dE/dt gains "
                        "-s_i^T [J, Omega] s_j",
                        e));
        break;
      }
    }
  }
  return g;
}

}  // namespace hkam
