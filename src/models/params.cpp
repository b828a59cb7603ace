#include "hkam/models/params.hpp"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "models/scalar.hpp"
#include "problems.hpp"

namespace hkam {
namespace {

using detail::Problems;
using detail::skew_defect;
using detail::structural_tol;

template <class M>
bool all_finite(const M& m) {
  return m.size() == 0 || m.allFinite();
}

// A per-edge parameter: one value per edge or one shared value.
void check_per_edge(Problems& p, const char* name, const Eigen::VectorXd& v, Index edges,
                    bool may_be_empty) {
  if (v.size() == 0 && may_be_empty) return;
  if (v.size() != 1 && v.size() != edges)
    p.add("{} has {} values; expected 1 (shared) or one per edge ({})", name, v.size(), edges);
  if (!all_finite(v)) p.add("{} has a non-finite value", name);
}

}  // namespace

std::string HopfieldParams::validate() const {
  Problems p;
  const Index n = b.size();
  if (w.rows() != n || w.cols() != n)
    p.add("w is {}x{}; expected {}x{} (one row and column per bias)", w.rows(), w.cols(), n, n);
  if (!all_finite(w)) p.add("w has a non-finite value");
  if (!all_finite(b)) p.add("b has a non-finite value");
  if (!(lagrangian.beta > 0.0) || !std::isfinite(lagrangian.beta))
    p.add("lagrangian.beta = {} must be a finite number > 0", lagrangian.beta);
  return p.str();
}

std::string KuramotoParams::validate() const {
  Problems p;
  if (n_osc < 0) p.add("n_osc = {} is negative", n_osc);
  if (n_osc > 0 && osc_dim < 1) p.add("osc_dim = {} must be >= 1", osc_dim);
  if (n_osc > 0 && graph.num_nodes() != n_osc)
    p.add("graph has {} nodes; expected n_osc = {}", graph.num_nodes(), n_osc);
  const Index e = graph.num_edges();
  check_per_edge(p, "a", a, e, false);
  check_per_edge(p, "b", b, e, potential == PairPotentialKind::Linear);
  if (potential != PairPotentialKind::Linear && b.size() == 0)
    p.add("b is empty; the {} potential needs B", pair_potential_name(potential));
  if (omega.size() > 0) {
    if (omega.rows() != osc_dim || omega.cols() != osc_dim)
      p.add("omega is {}x{}; expected {}x{} (D x D)", omega.rows(), omega.cols(), osc_dim, osc_dim);
    else if (!all_finite(omega))
      p.add("omega has a non-finite value");
    else if (skew_defect(omega) > structural_tol(omega))
      p.add("omega is not skew-symmetric");
  }
  return p.str();
}

std::string CouplingParams::validate() const {
  Problems p;
  if (!std::isfinite(alpha)) p.add("alpha = {} is not finite", alpha);
  if (kind == HkCouplingKind::General) {
    if (weights.size() != graph.num_edges())
      p.add("general coupling needs one weight per edge ({}); got {}", graph.num_edges(),
            weights.size());
    if (!all_finite(weights)) p.add("weights has a non-finite value");
  }
  return p.str();
}

std::string HopfieldKuramotoParams::validate() const {
  Problems p;
  p.add_prefixed("hopfield: ", hopfield.validate());
  p.add_prefixed("kuramoto: ", kuramoto.validate());
  p.add_prefixed("coupling: ", coupling.validate());
  if (!(kappa_h > 0.0) || !std::isfinite(kappa_h)) p.add("kappa_h = {} must be > 0", kappa_h);
  if (!(kappa_k > 0.0) || !std::isfinite(kappa_k)) p.add("kappa_k = {} must be > 0", kappa_k);
  const Index n = hopfield.units(), m = kuramoto.n_osc;
  if (coupling.present()) {
    if (coupling.graph.num_nodes() != n)
      p.add("coupling: graph has {} nodes; expected one per Hopfield unit ({})",
            coupling.graph.num_nodes(), n);
    if (m != n)
      p.add("coupling pairs unit i with oscillator i: needs as many oscillators ({}) as units ({})",
            m, n);
  }
  return p.str();
}

void HopfieldKuramotoParams::require_valid() const {
  const std::string why = validate();
  if (!why.empty()) throw std::invalid_argument("invalid Hopfield-Kuramoto parameters: " + why);
}

// ---- The single-trajectory models from and to Params -------------------------------------------

namespace {
template <class P>
const P& valid(const P& p, const char* what) {
  if (const std::string why = p.validate(); !why.empty())
    throw std::invalid_argument(std::string("invalid ") + what + " parameters: " + why);
  return p;
}
}  // namespace

Hopfield::Hopfield(const HopfieldParams& p) : Hopfield(valid(p, "Hopfield").w, p.b, p.lagrangian) {}

HopfieldParams Hopfield::params() const {
  return {w_sym(), bias(), lagrangian()};
}

Kuramoto::Kuramoto(const KuramotoParams& p)
    : Kuramoto(valid(p, "Kuramoto").n_osc, p.osc_dim, p.graph, p.potential, p.a, p.b, p.omega) {}

KuramotoParams Kuramoto::params() const {
  return {n_osc(), osc_dim(), graph(), potential(), a(), b(), omega()};
}

HopfieldKuramoto::HopfieldKuramoto(const HopfieldKuramotoParams& p)
    : HopfieldKuramoto(
          Hopfield(valid(p, "Hopfield-Kuramoto").hopfield), Kuramoto(p.kuramoto),
          HkCoupling{p.coupling.kind, p.coupling.graph, p.coupling.alpha, p.coupling.weights},
          p.kappa_h, p.kappa_k) {}

HopfieldKuramotoParams HopfieldKuramoto::params() const {
  for (Index i = 0; i < n_; ++i)
    if (pair_[std::size_t(i)] != i)
      throw std::logic_error("HopfieldKuramoto::params: only identity pairings have Params");
  return {hop_.params(),
          kur_.params(),
          {cpl_.kind, cpl_.graph, cpl_.alpha, cpl_.weights},
          kappa_h_,
          kappa_k_};
}

HkGradient HkGradient::zeros_like(const HopfieldKuramotoParams& p, Wanted wanted) {
  HkGradient g;
  g.wanted = wanted;
  const Index n = p.hopfield.units();
  if (wanted.w) g.hopfield.w = Eigen::MatrixXd::Zero(n, n);
  if (wanted.b) g.hopfield.b = Eigen::VectorXd::Zero(n);
  if (p.kuramoto.n_osc > 0) {
    if (wanted.a) g.kuramoto.a = Eigen::VectorXd::Zero(p.kuramoto.a.size());
    if (wanted.pair_b) g.kuramoto.b = Eigen::VectorXd::Zero(p.kuramoto.b.size());
    const Index d = p.kuramoto.osc_dim;
    if (wanted.omega) g.kuramoto.omega = Eigen::MatrixXd::Zero(d, d);
  } else {
    g.wanted.a = g.wanted.pair_b = g.wanted.omega = false;
  }
  if (!p.coupling.present()) g.wanted.alpha = g.wanted.weights = false;
  if (g.wanted.weights && p.coupling.kind == HkCouplingKind::General)
    g.coupling.weights = Eigen::VectorXd::Zero(p.coupling.weights.size());
  else
    g.wanted.weights = false;
  if (p.coupling.kind == HkCouplingKind::General) g.wanted.alpha = false;
  return g;
}

void HkGradient::set_zero() {
  hopfield.w.setZero();
  hopfield.b.setZero();
  kuramoto.a.setZero();
  kuramoto.b.setZero();
  kuramoto.omega.setZero();
  coupling.alpha = 0.0;
  coupling.weights.setZero();
}

void HkGradient::add(const HkGradient& o, double s) {
  auto acc = [s](auto& mine, const auto& theirs) {
    if (mine.size() > 0 && mine.size() == theirs.size()) mine += s * theirs;
  };
  acc(hopfield.w, o.hopfield.w);
  acc(hopfield.b, o.hopfield.b);
  acc(kuramoto.a, o.kuramoto.a);
  acc(kuramoto.b, o.kuramoto.b);
  acc(kuramoto.omega, o.kuramoto.omega);
  acc(coupling.weights, o.coupling.weights);
  if (wanted.alpha && o.wanted.alpha) coupling.alpha += s * o.coupling.alpha;
}

}  // namespace hkam
