#include "hkam/models/hopfield_kuramoto.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "hkam/linalg.hpp"
#include "parallel.hpp"

namespace hkam {

HkCouplingKind hk_coupling_from_name(std::string_view name) {
  if (name == "general") return HkCouplingKind::General;
  if (name == "additive") return HkCouplingKind::Additive;
  if (name == "multiplicative") return HkCouplingKind::Multiplicative;
  throw std::invalid_argument("unknown coupling '" + std::string(name) +
                              "' (expected one of: general, additive, multiplicative)");
}

std::string_view hk_coupling_name(HkCouplingKind kind) {
  switch (kind) {
    case HkCouplingKind::General:
      return "general";
    case HkCouplingKind::Additive:
      return "additive";
    case HkCouplingKind::Multiplicative:
      return "multiplicative";
  }
  return "?";
}

HopfieldKuramoto::HopfieldKuramoto(Hopfield hopfield, Kuramoto kuramoto, HkCoupling coupling,
                                   double kappa_h, double kappa_k, std::vector<Index> pairing)
    : hop_(std::move(hopfield)),
      kur_(std::move(kuramoto)),
      cpl_(std::move(coupling)),
      kappa_h_(kappa_h),
      kappa_k_(kappa_k),
      n_(hop_.dim()),
      m_(kur_.n_osc()),
      d_(kur_.osc_dim()),
      pair_(std::move(pairing)) {
  if (!(kappa_h_ > 0.0) || !(kappa_k_ > 0.0))
    throw std::invalid_argument(fmt::format(
        "HopfieldKuramoto: kappa_h and kappa_k must be > 0 (got {}, {})", kappa_h_, kappa_k_));
  if (cpl_.graph.num_nodes() != n_)
    throw std::invalid_argument(
        fmt::format("HopfieldKuramoto: coupling graph has {} nodes, there are {} Hopfield units",
                    cpl_.graph.num_nodes(), n_));
  if (pair_.empty()) {
    if (m_ != n_)
      throw std::invalid_argument(fmt::format(
          "HopfieldKuramoto: {} units and {} oscillators need an explicit pairing", n_, m_));
    pair_.resize(static_cast<std::size_t>(n_));
    for (Index i = 0; i < n_; ++i) pair_[static_cast<std::size_t>(i)] = i;
  }
  if (static_cast<Index>(pair_.size()) != n_)
    throw std::invalid_argument("HopfieldKuramoto: pairing needs one oscillator per unit");
  identity_pairing_ = m_ == n_;
  for (Index i = 0; i < n_; ++i) {
    const Index p = pair_[static_cast<std::size_t>(i)];
    if (p < 0 || p >= m_)
      throw std::invalid_argument(
          fmt::format("HopfieldKuramoto: pairing[{}] = {} is not an oscillator", i, p));
    identity_pairing_ = identity_pairing_ && p == i;
  }
  if (cpl_.kind == HkCouplingKind::General) {
    if (cpl_.graph.is_complete()) cpl_.graph = cpl_.graph.materialized();
    if (cpl_.weights.size() != cpl_.graph.num_edges())
      throw std::invalid_argument(
          fmt::format("HopfieldKuramoto: general coupling needs one weight per edge ({}), got {}",
                      cpl_.graph.num_edges(), cpl_.weights.size()));
  }
  x_.resize(n_);
  g_.resize(n_);
  wg_.resize(n_);
  h_.resize(n_);
  u_.resize(n_ * d_);
  v_.resize(d_);
  f_.resize(m_ * d_);
  tmp_.resize(n_);
  grad_.resize(dim());
  if (cpl_.graph.is_complete() && cpl_.kind == HkCouplingKind::Multiplicative) {
    gs_.resize(n_, d_);
    wgs_.resize(n_, d_);
  }
}

double HopfieldKuramoto::edge_weight(Index e, Index i, Index j) const {
  switch (cpl_.kind) {
    case HkCouplingKind::General:
      return cpl_.weights[e];
    case HkCouplingKind::Additive:
      return cpl_.alpha;
    case HkCouplingKind::Multiplicative:
      return cpl_.alpha * hop_.w_sym()(i, j);
  }
  return 0.0;
}

void HopfieldKuramoto::coupling_fields(const Eigen::VectorXd& z) const {
  x_ = z.head(n_);
  hop_.lagrangian().activation(x_, g_);
  const double* sig = z.data() + n_;
  const Index d = d_, n = n_;
  const Index* p = pair_.data();
  if (cpl_.graph.is_complete() && cpl_.kind == HkCouplingKind::Additive) {
    v_.setZero();
    for (Index j = 0; j < n; ++j)
      for (Index k = 0; k < d; ++k) v_[k] += g_[j] * sig[p[j] * d + k];
    const double a = cpl_.alpha;
#pragma omp parallel for schedule( \
    static) if (detail::worth_threads(double(n * d), detail::kNsPerElement))
    for (Index i = 0; i < n; ++i)
      for (Index k = 0; k < d; ++k) u_[i * d + k] = a * (v_[k] - g_[i] * sig[p[i] * d + k]);
  } else if (cpl_.graph.is_complete()) {  // multiplicative on the complete graph
    for (Index j = 0; j < n; ++j)
      for (Index k = 0; k < d; ++k) gs_(j, k) = g_[j] * sig[p[j] * d + k];
    // D threaded matrix-vector products rather than one GEMM: Eigen's GEMM allocates its
    // blocking buffers on every call, and the right-hand side must not allocate.
    for (Index k = 0; k < d; ++k) {
      tmp_ = gs_.col(k);
      symmetric_matvec(hop_.w_sym(), tmp_, h_);  // h_ is free until the end of this function
      wgs_.col(k) = h_;
    }
    const double a = cpl_.alpha;
    const auto& w = hop_.w_sym();
    for (Index i = 0; i < n; ++i)
      for (Index k = 0; k < d; ++k) u_[i * d + k] = a * (wgs_(i, k) - w(i, i) * gs_(i, k));
  } else {
    const auto& off = cpl_.graph.csr_offsets();
    const auto& nbr = cpl_.graph.csr_neighbors();
    const auto& eid = cpl_.graph.csr_edge_ids();
#pragma omp parallel for schedule( \
    static) if (detail::worth_threads(double(nbr.size()) * double(d), detail::kNsPerElement))
    for (Index i = 0; i < n; ++i) {
      double* ui = u_.data() + i * d;
      for (Index k = 0; k < d; ++k) ui[k] = 0.0;
      for (std::int64_t q = off[i]; q < off[i + 1]; ++q) {
        const Index j = nbr[q];
        const double c = edge_weight(eid[q], i, j) * g_[j];
        const double* sj = sig + p[j] * d;
        for (Index k = 0; k < d; ++k) ui[k] += c * sj[k];
      }
    }
  }
#pragma omp parallel for schedule( \
    static) if (detail::worth_threads(double(n * d), detail::kNsPerElement))
  for (Index i = 0; i < n; ++i) {
    double hi = 0.0;
    for (Index k = 0; k < d; ++k) hi += sig[p[i] * d + k] * u_[i * d + k];
    h_[i] = hi;
  }
}

void HopfieldKuramoto::operator()(const Eigen::VectorXd& z, Eigen::VectorXd& dzdt, double) const {
  coupling_fields(z);
  symmetric_matvec(hop_.w_sym(), g_, wg_);
  dzdt.head(n_) = wg_ - x_ + hop_.bias() + (1.0 / kappa_h_) * h_;
  const double* sig = z.data() + n_;
  double* f = dzdt.data() + n_;
  kur_.drive(sig, f);
  const double inv_k = 1.0 / kappa_k_;
  const Index d = d_;
  if (identity_pairing_) {
#pragma omp parallel for schedule( \
    static) if (detail::worth_threads(double(n_ * d), detail::kNsPerElement))
    for (Index i = 0; i < n_; ++i)
      for (Index k = 0; k < d; ++k) f[i * d + k] += inv_k * g_[i] * u_[i * d + k];
  } else {
    for (Index i = 0; i < n_; ++i)
      for (Index k = 0; k < d; ++k) f[pair_[i] * d + k] += inv_k * g_[i] * u_[i * d + k];
  }
  kur_.finish(sig, f, f);
}

EnergyParts HopfieldKuramoto::energy_parts(const Eigen::VectorXd& z) const {
  EnergyParts parts;
  x_ = z.head(n_);
  for (const auto& part : hop_.energy_parts(x_))
    parts.push_back({"hopfield." + part.name, kappa_h_ * part.value});
  const Eigen::Map<const Eigen::VectorXd> sig(z.data() + n_, m_ * d_);
  for (const auto& part : kur_.energy_parts(sig))
    parts.push_back({"kuramoto." + part.name, kappa_k_ * part.value});
  coupling_fields(z);
  parts.push_back({"coupling", -0.5 * g_.dot(h_)});
  return parts;
}

double HopfieldKuramoto::energy(const Eigen::VectorXd& z) const {
  coupling_fields(z);
  const double e_hk = -0.5 * g_.dot(h_);
  return kappa_h_ * hop_.energy(x_) + kappa_k_ * kur_.energy_raw(z.data() + n_) + e_hk;
}

void HopfieldKuramoto::energy_gradient(const Eigen::VectorXd& z, Eigen::VectorXd& grad) const {
  coupling_fields(z);
  // ∇_x E = H (κ_H (x − b − W_s g) − h)
  symmetric_matvec(hop_.w_sym(), g_, wg_);
  tmp_ = kappa_h_ * (x_ - hop_.bias() - wg_) - h_;
  hop_.lagrangian().hessian_times(x_, g_, tmp_, wg_);  // wg_ is free again after the line above
  grad.head(n_) = wg_;
  // ∇_σ E = κ_K ∇E_K − Σ_{i:p(i)=k} g_i u_i
  double* gs = grad.data() + n_;
  f_.setZero();
  kur_.add_energy_gradient(z.data() + n_, f_.data());
  for (Index q = 0; q < m_ * d_; ++q) gs[q] = kappa_k_ * f_[q];
  for (Index i = 0; i < n_; ++i)
    for (Index k = 0; k < d_; ++k) gs[pair_[i] * d_ + k] -= g_[i] * u_[i * d_ + k];
}

Eigen::VectorXd HopfieldKuramoto::energy_gradient(const Eigen::VectorXd& z) const {
  Eigen::VectorXd grad(dim());
  energy_gradient(z, grad);
  return grad;
}

double HopfieldKuramoto::dissipation(const Eigen::VectorXd& z) const {
  Eigen::VectorXd dz(dim());
  (*this)(z, dz, 0.0);
  x_ = z.head(n_);
  hop_.lagrangian().activation(x_, g_);
  tmp_ = dz.head(n_);
  const double hop_part = kappa_h_ * hop_.lagrangian().hessian_quadratic(x_, g_, tmp_);
  energy_gradient(z, grad_);
  const double osc_part = tangent_norm2(z.data() + n_, grad_.data() + n_, m_, d_);
  return -hop_part - osc_part / kappa_k_;
}

Guarantee HopfieldKuramoto::lyapunov() const {
  Guarantee g = hop_.lyapunov();
  Guarantee k = kur_.lyapunov();
  if (!k.guaranteed) k.reason = "oscillators: " + k.reason;
  g.merge(k);
  return g;
}

Eigen::MatrixXd HopfieldKuramoto::effective_weights(const Eigen::VectorXd& z) const {
  Eigen::MatrixXd w = hop_.w_sym();
  const double* sig = z.data() + n_;
  auto s = [&](Index i, Index j) {
    double dot = 0.0;
    for (Index k = 0; k < d_; ++k) dot += sig[pair_[i] * d_ + k] * sig[pair_[j] * d_ + k];
    return dot;
  };
  const double c = 1.0 / kappa_h_;
  if (cpl_.graph.is_complete()) {
    for (Index i = 0; i < n_; ++i)
      for (Index j = 0; j < n_; ++j)
        if (i != j) w(i, j) += c * edge_weight(0, i, j) * s(i, j);
  } else {
    const auto& edges = cpl_.graph.edges();
    for (std::size_t e = 0; e < edges.size(); ++e) {
      const Index i = edges[e].i, j = edges[e].j;
      const double add = c * edge_weight(static_cast<Index>(e), i, j) * s(i, j);
      w(i, j) += add;
      w(j, i) += add;
    }
  }
  return w;
}

}  // namespace hkam
