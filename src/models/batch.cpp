#include "hkam/models/batch.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "models/batch_kernels.hpp"

namespace hkam {

using namespace batch_detail;

// ---- Workspace ---------------------------------------------------------------------------------

template <class T>
void BatchWorkspace<T>::resize(Index b, const StateLayout& l, Index k_slots, Index hk_slots) {
  if (b == batch && g.cols() == l.n_units && y.cols() == l.n_osc * l.osc_dim &&
      edges.a.size() == k_slots && edges.w.size() == hk_slots &&
      packed.size() == b * l.n_osc * (2 * l.osc_dim + 2))
    return;
  batch = b;
  const Index n = l.n_units, md = l.n_osc * l.osc_dim;
  g.resize(b, n);
  wg.resize(b, n);
  h.resize(b, n);
  gbar.resize(b, n);
  lx_w.resize(b, n);
  y.resize(b, md);
  mu.resize(b, md);
  pool.resize(b, 4 * l.osc_dim);
  packed.resize(b * l.n_osc * (2 * l.osc_dim + 2));  // the VJP's S; the forward uses D + 1
  edges.a.resize(k_slots);
  edges.b.resize(k_slots);
  edges.w.resize(hk_slots);
  w_acc.resize(n, n);
  stack_x.resize(2 * b, n);
  stack_y.resize(2 * b, n);
  if (!gemm) gemm = std::make_shared<detail::GemmScratch<T>>();
  omega_acc.resize(l.osc_dim, l.osc_dim);
}

detail::SortedAdjacency::SortedAdjacency(const Graph& g)
    : off(g.csr_offsets()), upper(std::size_t(g.num_nodes())) {
  const auto& gn = g.csr_neighbors();
  const auto& ge = g.csr_edge_ids();
  nbr.resize(gn.size());
  eid.resize(ge.size());
  std::vector<std::pair<std::int32_t, std::int32_t>> row;
  for (Index i = 0; i < g.num_nodes(); ++i) {
    row.clear();
    for (std::int64_t q = off[std::size_t(i)]; q < off[std::size_t(i) + 1]; ++q)
      row.emplace_back(gn[std::size_t(q)], ge[std::size_t(q)]);
    std::sort(row.begin(), row.end());
    std::int64_t q = off[std::size_t(i)];
    upper[std::size_t(i)] = off[std::size_t(i) + 1];
    for (const auto& [j, e] : row) {
      if (j > i && upper[std::size_t(i)] == off[std::size_t(i) + 1]) upper[std::size_t(i)] = q;
      nbr[std::size_t(q)] = j;
      eid[std::size_t(q)] = e;
      ++q;
    }
  }
}

// ---- Model -------------------------------------------------------------------------------------

template <class T>
BatchModel<T>::BatchModel(const HopfieldKuramotoParams& params) {
  params.require_valid();
  p_ = params;
  n_ = p_.hopfield.units();
  m_ = p_.kuramoto.n_osc;
  d_ = m_ > 0 ? p_.kuramoto.osc_dim : 0;
  const auto& k = p_.kuramoto;
  mean_field_ = m_ > 0 && k.graph.is_complete() && k.potential == PairPotentialKind::Linear &&
                k.a.size() == 1;
  if (m_ > 0) kg_ = (k.graph.is_complete() && !mean_field_) ? k.graph.materialized() : k.graph;
  const auto& c = p_.coupling;
  low_rank_ = c.present() && c.graph.is_complete() && c.kind == HkCouplingKind::Additive;
  if (c.present()) hkg_ = (c.graph.is_complete() && !low_rank_) ? c.graph.materialized() : c.graph;
  auto lower_slots = [](const Graph& g, const detail::SortedAdjacency& adj) {
    std::vector<std::int32_t> lower(std::size_t(g.num_edges()));
    const Csr csr(adj);
    for (Index i = 0; i < g.num_nodes(); ++i)
      for (std::int64_t q = csr.upper[i]; q < csr.off[i + 1]; ++q)
        lower[std::size_t(csr.eid[q])] = std::int32_t(q);
    return lower;
  };
  if (m_ > 0 && !mean_field_) {
    kadj_ = detail::SortedAdjacency(kg_);
    k_lower_ = lower_slots(kg_, kadj_);
  }
  if (c.present() && !low_rank_) {
    hkadj_ = detail::SortedAdjacency(hkg_);
    hk_lower_ = lower_slots(hkg_, hkadj_);
  }
  set_params(params);
}

template <class T>
void BatchModel<T>::set_params(const HopfieldKuramotoParams& params) {
  params.require_valid();
  if (params.hopfield.units() != n_ || params.kuramoto.n_osc != m_ ||
      (m_ > 0 && params.kuramoto.osc_dim != d_) ||
      params.kuramoto.a.size() != p_.kuramoto.a.size() ||
      params.kuramoto.b.size() != p_.kuramoto.b.size() ||
      params.kuramoto.potential != p_.kuramoto.potential ||
      params.coupling.kind != p_.coupling.kind ||
      params.coupling.present() != p_.coupling.present() ||
      params.kuramoto.graph.num_edges() != p_.kuramoto.graph.num_edges() ||
      params.coupling.graph.num_edges() != p_.coupling.graph.num_edges())
    throw std::invalid_argument(
        "BatchModel::set_params: sizes, kinds and graphs must stay those of construction");
  // Keep our own graphs (the caller's may be implicit); copy the values.
  Graph kg = std::move(p_.kuramoto.graph), cg = std::move(p_.coupling.graph);
  p_ = params;
  p_.kuramoto.graph = std::move(kg);
  p_.coupling.graph = std::move(cg);

  w_ = (0.5 * (p_.hopfield.w + p_.hopfield.w.transpose())).template cast<T>();
  bias_ = p_.hopfield.b.template cast<T>();
  beta_ = T(p_.hopfield.lagrangian.beta);
  inv_kh_ = T(1.0 / p_.kappa_h);
  inv_kk_ = T(1.0 / p_.kappa_k);
  omega_ = Matrix::Zero(d_, d_);
  if (p_.kuramoto.omega.size() > 0)
    omega_ = (0.5 * (p_.kuramoto.omega - p_.kuramoto.omega.transpose())).template cast<T>();
  ka_ = p_.kuramoto.a.template cast<T>();
  kb_ = p_.kuramoto.b.template cast<T>();
  if (kb_.size() == 0) kb_ = Vector::Zero(1);
  mean_a_ = ka_.size() > 0 ? ka_[0] : T(0);
  alpha_ = T(p_.coupling.alpha);
  if (p_.coupling.present() && !low_rank_) {
    const auto& edges = hkg_.edges();
    hw_.resize(Index(edges.size()));
    for (std::size_t e = 0; e < edges.size(); ++e) {
      switch (p_.coupling.kind) {
        case HkCouplingKind::General:
          hw_[Index(e)] = T(p_.coupling.weights[Index(e)]);
          break;
        case HkCouplingKind::Additive:
          hw_[Index(e)] = alpha_;
          break;
        case HkCouplingKind::Multiplicative:
          hw_[Index(e)] = alpha_ * w_(edges[e].i, edges[e].j);
          break;
      }
    }
  }
  auto per_slot = [](const std::vector<std::int32_t>& eid, const Vector& per_edge, Vector& out) {
    out.resize(Index(eid.size()));
    for (std::size_t q = 0; q < eid.size(); ++q)
      out[Index(q)] = per_edge[per_edge.size() == 1 ? 0 : Index(eid[q])];
  };
  if (m_ > 0 && !mean_field_) {
    per_slot(kg_.csr_edge_ids(), ka_, ka_q_);
    per_slot(kg_.csr_edge_ids(), kb_, kb_q_);
    per_slot(kadj_.eid, ka_, ka_s_);
    per_slot(kadj_.eid, kb_, kb_s_);
  }
  if (p_.coupling.present() && !low_rank_) {
    per_slot(hkg_.csr_edge_ids(), hw_, hw_q_);
    per_slot(hkadj_.eid, hw_, hw_s_);
  }
}

template <class T>
void BatchModel<T>::forward(const Matrix& z, BatchWorkspace<T>& ws) const {
  const Index B = z.rows(), N = n_, M = m_, D = d_;
  ws.resize(B, layout(), k_slots(), hk_slots());
  const CCols<T> sig{z.data() + N * B, B};
  if (N > 0) {
    const MapC<T> x(z.data(), B, N);
    activation(p_.hopfield.lagrangian.kind, beta_, x, ws.g);
    batch_times<T>(ws.g.data(), B, N, w_, ws.wg, *ws.gemm);  // W_s symmetric: G_b W_s = (W_s g_b)ᵀ
  }
  const Cols<T> y{ws.y.data(), B}, h{ws.h.data(), B};
  const CCols<T> g{ws.g.data(), B};
  const T kk = inv_kk_;
  // y and h are assigned by the first pass that writes them (the mean field, the edge sweep, or
  // zeroing before the low-rank path adds to them): no serial clearing of a B×M·D block.
  const bool k_edges = M > 0 && !mean_field_, hk_edges = p_.coupling.present() && !low_rank_;
  const bool fresh_y = !mean_field_ && !low_rank_;
  if (M > 0) {
    if (k_edges && low_rank_) ws.y.setZero();
    if (mean_field_) {
      // y_i = A (S − σ_i), S = Σ_j σ_j
      T* s = ws.pool.data();  // B×D, column d at s + d·B
      std::fill(s, s + B * D, T(0));
      for (Index j = 0; j < M; ++j)
        for (Index d = 0; d < D; ++d) {
          const T* sj = sig.at(j * D + d, 0);
          for (Index b = 0; b < B; ++b) s[d * B + b] += sj[b];
        }
      const T a = mean_a_;
      for (Index i = 0; i < M; ++i)
        for (Index d = 0; d < D; ++d) {
          const T* si = sig.at(i * D + d, 0);
          T* yi = y.at(i * D + d, 0);
          for (Index b = 0; b < B; ++b) yi[b] = a * (s[d * B + b] - si[b]);
        }
    }
  }
  if (p_.coupling.present()) {
    if (low_rank_) {
      ws.h.setZero();
      // u_i = α(V − g_i σ_i), V = Σ_j g_j σ_j;  h_i = σ_i·u_i;  y_i −= g_i u_i / κ_K
      T* v = ws.pool.data();
      std::fill(v, v + B * D, T(0));
      for (Index j = 0; j < N; ++j)
        for (Index d = 0; d < D; ++d) {
          const T* sj = sig.at(j * D + d, 0);
          const T* gj = g.at(j, 0);
          for (Index b = 0; b < B; ++b) v[d * B + b] += gj[b] * sj[b];
        }
      const T a = alpha_;
      for (Index i = 0; i < N; ++i) {
        const T* gi = g.at(i, 0);
        T* hi = h.at(i, 0);
        for (Index d = 0; d < D; ++d) {
          const T* si = sig.at(i * D + d, 0);
          T* yi = y.at(i * D + d, 0);
          for (Index b = 0; b < B; ++b) {
            const T u = a * (v[d * B + b] - gi[b] * si[b]);
            hi[b] += si[b] * u;
            yi[b] -= kk * gi[b] * u;
          }
        }
      }
    }
  }

  // The explicit edge loops read neighbours from a copy packed per batch chunk (pack_nodes):
  // node j's S = D + 1 rows of chunk lanes (σ_j, then g_j when ℰ_HK is explicit) contiguous, so
  // a band of neighbours is one contiguous run (in the state, node j's rows are B apart). Each
  // thread packs its own nodes i0 .. i1, then (after the others have too) sweeps them for ℰ_K,
  // then for ℰ_HK, in one parallel region; both sweeps write only node i's y and h. The first
  // sweep assigns y_i when nothing was written before (fresh_y).
  // (One sweep doing both neighbour loops per node, with one accumulator, measured slower at
  // B = 1 and 10 in float and no faster elsewhere.)
  const Csr kcsr(kg_), hkcsr(hkg_);
  const Index S = D + 1;
  T* const pk = ws.packed.data();
  auto pack = [&](Index i0, Index i1) {
    pack_nodes<T, 2>(pk, M, S, hk_edges ? S : D, B, D, i0, i1,
                     [&](Index j, Index r) { return r < D ? sig.at(j * D + r, 0) : g.at(j, 0); });
  };
  auto k_sweep = [&](auto kc, Index i0, Index i1) {
    constexpr PairPotentialKind K = decltype(kc)::value;
    const T *aq = ka_q_.data(), *bq = kb_q_.data();
    sweep<T, 2>(i0, i1, B, D, [&](Index i, auto bc, auto dc, Index b0, Owned) HKAM_FLATTEN {
      constexpr int BC = decltype(bc)::value, DC = decltype(dc)::value;
      const Index Dk = dim_of<DC>(D);
      using V = Lanes<T, BC>;
      const PackedChunk<T, BC> chunk(pk, b0, M, Dk + 1);
      const T* si = chunk.node(i);
      Accumulator<T, DC, BC> yi(y.at(i * Dk, b0), B, fresh_y, Dk);
      for (std::int64_t q = kcsr.off[i]; q < kcsr.off[i + 1]; ++q) {
        const T* sj = chunk.node(kcsr.nbr[q]);
        const T a = aq[q], bb = bq[q];
        V s = V::Zero();
        for (Index d = 0; d < Dk; ++d) s += lanes<T, BC>(si + d * BC) * lanes<T, BC>(sj + d * BC);
        const V fp = a + bb * dphi_lanes<K>(s);
        for (Index d = 0; d < Dk; ++d) yi(d) += fp * lanes<T, BC>(sj + d * BC);
      }
      yi.flush();
    });
  };
  auto hk_sweep = [&](Index i0, Index i1) {
    const T* hw = hw_q_.data();
    sweep<T, 2>(i0, i1, B, D, [&](Index i, auto bc, auto dc, Index b0, Owned) HKAM_FLATTEN {
      constexpr int BC = decltype(bc)::value, DC = decltype(dc)::value;
      const Index Dk = dim_of<DC>(D);
      using V = Lanes<T, BC>;
      const PackedChunk<T, BC> chunk(pk, b0, M, Dk + 1);
      const T* si = chunk.node(i);
      Accumulator<T, DC, BC> yi(y.at(i * Dk, b0), B, fresh_y && !k_edges, Dk);
      V hacc = V::Zero();
      const V cg = kk * lanes<T, BC>(si + Dk * BC);
      for (std::int64_t q = hkcsr.off[i]; q < hkcsr.off[i + 1]; ++q) {
        const T w = hw[q];
        const T* sj = chunk.node(hkcsr.nbr[q]);
        const V wgj = w * lanes<T, BC>(sj + Dk * BC);
        V s = V::Zero();
        for (Index d = 0; d < Dk; ++d) s += lanes<T, BC>(si + d * BC) * lanes<T, BC>(sj + d * BC);
        hacc += s * wgj;
        const V c = cg * wgj;
        for (Index d = 0; d < Dk; ++d) yi(d) -= c * lanes<T, BC>(sj + d * BC);
      }
      yi.flush();
      Eigen::Map<V>{h.at(i, b0)} = hacc;  // the only writer of h_i
    });
  };
  const double k_work = k_edges ? double(2 * kg_.num_edges()) * double(B) * double(D) : 0.0;
  const double hk_work = hk_edges ? double(2 * hkg_.num_edges()) * double(B) * double(D) : 0.0;
  // With a coupling there is one oscillator per unit (M = N), so the node ranges coincide.
  if (k_edges) {
    with_potential(p_.kuramoto.potential, [&](auto kc) {
      parallel_ranges(M, k_work + hk_work, [&](Index i0, Index i1) {
        pack(i0, i1);
#pragma omp barrier
        k_sweep(kc, i0, i1);
        if (hk_edges) hk_sweep(i0, i1);
      });
    });
  } else if (hk_edges) {
    parallel_ranges(N, hk_work, [&](Index i0, Index i1) {
      pack(i0, i1);
#pragma omp barrier
      hk_sweep(i0, i1);
    });
  }
}

template <class T>
void BatchModel<T>::rhs(const Matrix& z, Matrix& dz, BatchWorkspace<T>& ws) const {
  const Index B = z.rows(), N = n_, M = m_, D = d_;
  if (z.cols() != dim()) throw std::invalid_argument("BatchModel::rhs: state has wrong size");
  dz.resize(B, dim());
  forward(z, ws);
  const bool coupled = p_.coupling.present();
  for (Index i = 0; i < N; ++i) {
    const T* x = z.data() + i * B;
    const T* wg = ws.wg.data() + i * B;
    const T* h = ws.h.data() + i * B;
    T* out = dz.data() + i * B;
    const T bi = bias_[i];
    for (Index b = 0; b < B; ++b) out[b] = wg[b] - x[b] + bi;
    if (coupled)  // h is written by forward only when there is a coupling
      for (Index b = 0; b < B; ++b) out[b] += inv_kh_ * h[b];
  }
  // σ part: −(y_i − (σ_i·y_i)σ_i) + Ω σ_i
  const CCols<T> sig{z.data() + N * B, B}, y{ws.y.data(), B};
  const Cols<T> out{dz.data() + N * B, B};
  const T* om = omega_.data();
  const double work = double(M) * double(B) * double(D * (D + 4));
  for_nodes<T>(M, B, D, work, [&](Index i, auto bc, auto dc, Index b0) {
    constexpr int BC = decltype(bc)::value, DC = decltype(dc)::value;
    const Index Dk = dim_of<DC>(D);
    const T* si = sig.at(i * Dk, b0);
    const T* yi = y.at(i * Dk, b0);
    T* oi = out.at(i * Dk, b0);
    T dot[BC] = {};
    for (Index d = 0; d < Dk; ++d)
      for (int b = 0; b < BC; ++b) dot[b] += si[d * B + b] * yi[d * B + b];
    for (Index r = 0; r < Dk; ++r) {
      T acc[BC];
      for (int b = 0; b < BC; ++b) acc[b] = dot[b] * si[r * B + b] - yi[r * B + b];
      for (Index c = 0; c < Dk; ++c) {
        const T o = om[c * Dk + r];
        if (o != T(0))
          for (int b = 0; b < BC; ++b) acc[b] += o * si[c * B + b];
      }
      for (int b = 0; b < BC; ++b) oi[r * B + b] = acc[b];
    }
  });
}

template <class T>
void BatchModel<T>::radial(const Matrix& z, const BatchWorkspace<T>& ws, Matrix& r) const {
  const Index B = z.rows(), N = n_, M = m_, D = d_;
  r.resize(B, M);
  const CCols<T> sig{z.data() + N * B, B}, y{ws.y.data(), B};
  for (Index i = 0; i < M; ++i) {
    T* ri = r.data() + i * B;
    for (Index b = 0; b < B; ++b) ri[b] = 0;
    for (Index d = 0; d < D; ++d) {
      const T* s = sig.at(i * D + d, 0);
      const T* yi = y.at(i * D + d, 0);
      for (Index b = 0; b < B; ++b) ri[b] += s[b] * yi[b];
    }
  }
}

template <class T>
void BatchModel<T>::restore(const Matrix& z, const Matrix& f, const Matrix& r,
                            BatchWorkspace<T>& ws) const {
  const Index B = z.rows(), N = n_, M = m_, D = d_;
  if (z.cols() != dim() || f.rows() != B || f.cols() != dim() || r.rows() != B || r.cols() != M)
    throw std::invalid_argument("BatchModel::restore: z and f must be B x dim, r B x M");
  ws.resize(B, layout(), k_slots(), hk_slots());
  if (N > 0) activation(p_.hopfield.lagrangian.kind, beta_, MapC<T>(z.data(), B, N), ws.g);
  // f_σ,i = (σ_i·y_i) σ_i − y_i + Ω σ_i  ⇒  y_i = r_i σ_i + Ω σ_i − f_σ,i
  const CCols<T> sig{z.data() + N * B, B}, fs{f.data() + N * B, B};
  const Cols<T> y{ws.y.data(), B};
  const T* om = omega_.data();
  for (Index i = 0; i < M; ++i) {
    const T* ri = r.data() + i * B;
    for (Index d = 0; d < D; ++d) {
      T* yi = y.at(i * D + d, 0);
      const T* si = sig.at(i * D + d, 0);
      const T* fi = fs.at(i * D + d, 0);
      for (Index b = 0; b < B; ++b) yi[b] = ri[b] * si[b] - fi[b];
      for (Index c = 0; c < D; ++c) {
        const T o = om[c * D + d];  // Ω(d, c)
        if (o != T(0)) {
          const T* sc = sig.at(i * D + c, 0);
          for (Index b = 0; b < B; ++b) yi[b] += o * sc[b];
        }
      }
    }
  }
}

template <class T>
void BatchModel<T>::energy(const Matrix& z, Vector& e, BatchWorkspace<T>& ws) const {
  const Index B = z.rows(), N = n_, M = m_, D = d_;
  if (z.cols() != dim()) throw std::invalid_argument("BatchModel::energy: state has wrong size");
  forward(z, ws);
  e = Vector::Zero(B);
  const T kh = T(p_.kappa_h), kk = T(p_.kappa_k);
  if (N > 0) {
    const MapC<T> x(z.data(), B, N);
    // E_H = (x − b)·g − L(x) − ½ g·W_s g
    for (Index b = 0; b < B; ++b)
      e[b] = kh * (((x.row(b) - bias_.transpose()).array() * ws.g.row(b).array()).sum() -
                   T(0.5) * ws.g.row(b).dot(ws.wg.row(b)));
    add_lagrangian(p_.hopfield.lagrangian.kind, beta_, x, -kh, e);
  }
  if (p_.coupling.present())
    for (Index b = 0; b < B; ++b) e[b] -= T(0.5) * ws.g.row(b).dot(ws.h.row(b));
  if (M == 0) return;
  const CCols<T> sig{z.data() + N * B, B};
  if (mean_field_) {
    // A Σ_{i<j} s_ij = ½ A (‖S‖² − Σ_i ‖σ_i‖²)
    for (Index b = 0; b < B; ++b) {
      T self = 0;
      for (Index d = 0; d < D; ++d) {
        T s = 0;
        for (Index j = 0; j < M; ++j) {
          const T v = sig.at(j * D + d, 0)[b];
          s += v;
          self += v * v;
        }
        self -= s * s;
      }
      e[b] -= kk * T(0.5) * mean_a_ * self;
    }
    return;
  }
  // Per node i, the edges (i, j) with j > i; partial sums per node in ws.y's first M columns.
  const Csr csr(kadj_);
  const T *aq = ka_s_.data(), *bq = kb_s_.data();
  const Cols<T> part{ws.y.data(), B};
  with_potential(p_.kuramoto.potential, [&](auto kc) {
    constexpr PairPotentialKind K = decltype(kc)::value;
#pragma omp parallel for schedule(static) if (double(kg_.num_edges()) * B * D > kParallelWork)
    for (Index i = 0; i < M; ++i) {
      T* pi = part.at(i, 0);
      for (Index b = 0; b < B; ++b) pi[b] = 0;
      for (std::int64_t q = csr.upper[i]; q < csr.off[i + 1]; ++q) {
        const Index j = csr.nbr[q];
        const T a = aq[q], bb = bq[q];
        for (Index b = 0; b < B; ++b) {
          T s = 0;
          for (Index d = 0; d < D; ++d) s += sig.at(i * D + d, 0)[b] * sig.at(j * D + d, 0)[b];
          pi[b] += a * s + bb * phi<K>(s);
        }
      }
    }
  });
  for (Index b = 0; b < B; ++b) {
    T s = 0;
    for (Index i = 0; i < M; ++i) s += part.at(i, 0)[b];
    e[b] += kk * s;
  }
}

template class BatchModel<float>;
template class BatchModel<double>;
template struct BatchWorkspace<float>;
template struct BatchWorkspace<double>;

}  // namespace hkam
