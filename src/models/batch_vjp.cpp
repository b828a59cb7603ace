// Vector–Jacobian products of the batched Hopfield–Kuramoto right-hand side (docs/models.md §7).
//
// With cotangents λ_x (N) and λ_σ (M×D) per trajectory, μ_i = P_i λ_σi and, per edge,
// m_e = μ_i·σ_j + μ_j·σ_i:
//   σ̄_i = Ωᵀλ_σi + (λ_σi·σ_i) y_i + (σ_i·y_i) λ_σi
//         − Σ_{j∼K i} (F'_e μ_j + F''_e m_e σ_j)
//         + Σ_{j∼HK i} w_e [ g_i g_j μ_j / κ_K + (λ_x,i g_j + λ_x,j g_i) σ_j / κ_H ]
//   ḡ_i = [W_s λ_x]_i + Σ_{j∼HK i} w_e (s_e λ_x,j / κ_H + g_j m_e / κ_K),   x̄ = H ḡ − λ_x
//   b̄ = λ_x,  W̄ = ½(λ_x gᵀ + g λ_xᵀ),  Ā_e = −m_e,  B̄_e = −φ'(s_e) m_e,
//   w̄_e = s_e (λ_x,i g_j + λ_x,j g_i) / κ_H + g_i g_j m_e / κ_K,  Ω̄ = skew(Σ_i λ_σi σ_iᵀ).
// The edge loops split the nodes over threads (contiguous ranges) and need no atomics: an edge
// whose ends are both one thread's is visited once, from its lower end, and writes both ends
// (s_e, m_e and φ' are computed once); an edge between two threads' nodes is visited from each
// end, writing only that end. Each edge's parameter gradient is written from its lower end, at
// that slot of the sorted adjacency (sequential stores), and gathered into edge order at the end.
// The loops read neighbours from a packed copy (σ_j, μ_j, g_j, λ_x,j contiguous per batch chunk).

#include <stdexcept>

#include "hkam/models/batch.hpp"
#include "models/batch_kernels.hpp"

namespace hkam {

using namespace batch_detail;

template <class T>
void BatchModel<T>::vjp(const Matrix& z, const Matrix& lam, Matrix& zbar, BatchWorkspace<T>& ws,
                        HkGradient* grad, bool ws_holds_z, EdgeGradientSlots* held) const {
  const Index B = z.rows(), N = n_;
  if (z.cols() != dim() || lam.rows() != B || lam.cols() != dim())
    throw std::invalid_argument("BatchModel::vjp: state and cotangent must both be B x dim");
  if (!ws_holds_z || ws.batch != B) forward(z, ws);
  zbar.resize(B, dim());
  // Per-edge gradients: into `held` (added to), else into ws (the first batch chunk assigns).
  EdgeGradientSlots& slots = held ? *held : ws.edges;
  if (held &&
      (held->a.size() != k_slots() || held->b.size() != k_slots() || held->w.size() != hk_slots()))
    throw std::invalid_argument("BatchModel::vjp: edge-gradient slots not sized by clear()");
  const bool add_all = held != nullptr;

  vjp_projection(z, lam, zbar, ws);
  if (N > 0) batch_times<T>(lam.data(), B, N, w_, ws.gbar, *ws.gemm);  // ḡ = W_s λ_x
  vjp_pack(z, lam, ws);
  const T mean_a_bar = vjp_kuramoto(z, zbar, ws, slots, add_all);
  const T alpha_bar = vjp_coupling(z, lam, zbar, ws, slots, add_all);

  // x̄ = H ḡ − λ_x
  if (N > 0) {
    const MapC<T> x(z.data(), B, N), lxm(lam.data(), B, N);
    hessian_times(p_.hopfield.lagrangian.kind, beta_, x, ws.g, ws.gbar, ws.lx_w);
    Map<T>(zbar.data(), B, N) = ws.lx_w - lxm;
  }

  if (!grad) return;
  vjp_parameters(z, lam, ws, *grad, mean_a_bar, alpha_bar);
  if (!held) add_edge_gradients(ws.edges, *grad);
}

template <class T>
void BatchModel<T>::vjp_projection(const Matrix& z, const Matrix& lam, Matrix& zbar,
                                   BatchWorkspace<T>& ws) const {
  const Index B = z.rows(), N = n_, M = m_, D = d_;
  const CCols<T> sig{z.data() + N * B, B}, ls{lam.data() + N * B, B}, y{ws.y.data(), B};
  const Cols<T> sb{zbar.data() + N * B, B}, mu{ws.mu.data(), B};
  // μ_i = P_i λ_σi and the projection and Ω terms of σ̄_i.
  const T* om = omega_.data();
  const double osc_work = double(M) * double(B) * double(D * (D + 4));
  for_nodes<T>(M, B, D, osc_work, [&](Index i, auto bc, auto dc, Index b0) {
    constexpr int BC = decltype(bc)::value, DC = decltype(dc)::value;
    const Index Dk = dim_of<DC>(D);
    const T* si = sig.at(i * Dk, b0);
    const T* li = ls.at(i * Dk, b0);
    const T* yi = y.at(i * Dk, b0);
    T* mi = mu.at(i * Dk, b0);
    T* oi = sb.at(i * Dk, b0);
    T dl[BC] = {}, dy[BC] = {};
    for (Index d = 0; d < Dk; ++d)
      for (int b = 0; b < BC; ++b) {
        dl[b] += si[d * B + b] * li[d * B + b];
        dy[b] += si[d * B + b] * yi[d * B + b];
      }
    for (Index r = 0; r < Dk; ++r) {
      for (int b = 0; b < BC; ++b) {
        mi[r * B + b] = li[r * B + b] - dl[b] * si[r * B + b];
        oi[r * B + b] = dl[b] * yi[r * B + b] + dy[b] * li[r * B + b];
      }
      for (Index c = 0; c < Dk; ++c) {
        const T o = om[r * Dk + c];  // Ω(c, r): (Ωᵀλ)_r
        if (o != T(0))
          for (int b = 0; b < BC; ++b) oi[r * B + b] += o * li[c * B + b];
      }
    }
  });
}

template <class T>
void BatchModel<T>::vjp_pack(const Matrix& z, const Matrix& lam, BatchWorkspace<T>& ws) const {
  const Index B = z.rows(), N = n_, M = m_, D = d_;
  const CCols<T> sig{z.data() + N * B, B}, g{ws.g.data(), B}, lx{lam.data(), B};
  const CCols<T> muc{ws.mu.data(), B};
  // The explicit edge loops read neighbours from a copy packed per batch chunk (as the forward
  // loops do, with the VJP's chunks): chunk b0 at packed + b0·M·S, node j's S = 2D + 2 rows of
  // BC lanes contiguous — σ_j, μ_j, g_j, λ_x,j.
  const bool k_edges = M > 0 && !mean_field_, hk_edges = p_.coupling.present() && !low_rank_;
  const Index S = 2 * D + 2;
  T* const pk = ws.packed.data();
  if (k_edges || hk_edges) {
    const double pack_work = double(M) * double(B) * double(S);
    parallel_ranges(M, pack_work, [&](Index i0, Index i1) {
      pack_nodes<T, 1>(pk, M, S, hk_edges ? S : 2 * D, B, D, i0, i1, [&](Index j, Index r) {
        if (r < D) return sig.at(j * D + r, 0);
        if (r < 2 * D) return muc.at(j * D + r - D, 0);
        return r == 2 * D ? g.at(j, 0) : lx.at(j, 0);
      });
    });
  }
}

template <class T>
T BatchModel<T>::vjp_kuramoto(const Matrix& z, Matrix& zbar, BatchWorkspace<T>& ws,
                              EdgeGradientSlots& slots, bool add_all) const {
  const Index B = z.rows(), N = n_, M = m_, D = d_;
  const CCols<T> sig{z.data() + N * B, B}, muc{ws.mu.data(), B};
  const Cols<T> sb{zbar.data() + N * B, B};
  T* const pk = ws.packed.data();
  T mean_a_bar = 0;
  if (M > 0 && mean_field_) {
    // y_i = A(S − σ_i): σ̄_i −= A(U − μ_i), Ā = −Σ_{i≠j} μ_i·σ_j = −(U·S − Σ_i μ_i·σ_i)
    T* s = ws.pool.data();
    T* u = s + B * D;
    std::fill(s, s + 2 * B * D, T(0));
    T self = 0;
    for (Index j = 0; j < M; ++j)
      for (Index d = 0; d < D; ++d) {
        const T* sj = sig.at(j * D + d, 0);
        const T* mj = muc.at(j * D + d, 0);
        for (Index b = 0; b < B; ++b) {
          s[d * B + b] += sj[b];
          u[d * B + b] += mj[b];
          self += mj[b] * sj[b];
        }
      }
    T us = 0;
    for (Index q = 0; q < B * D; ++q) us += u[q] * s[q];
    mean_a_bar = -(us - self);
    const T a = mean_a_;
    for (Index i = 0; i < M; ++i)
      for (Index d = 0; d < D; ++d) {
        const T* mi = muc.at(i * D + d, 0);
        T* oi = sb.at(i * D + d, 0);
        for (Index b = 0; b < B; ++b) oi[b] -= a * (u[d * B + b] - mi[b]);
      }
  } else if (M > 0) {
    const Csr csr(kadj_);
    double* __restrict ea = slots.a.data();
    double* __restrict eb = slots.b.data();
    const T *aq = ka_s_.data(), *bq = kb_s_.data();
    const double work = double(2 * kg_.num_edges()) * double(B) * double(2 * D);
    with_potential(p_.kuramoto.potential, [&](auto kc) {
      constexpr PairPotentialKind K = decltype(kc)::value;
      for_owned_nodes<T>(
          M, B, D, work, [&](Index i, auto bc, auto dc, Index b0, Owned own) HKAM_FLATTEN {
            constexpr int BC = decltype(bc)::value, DC = decltype(dc)::value;
            const Index Dk = dim_of<DC>(D);
            using V = Lanes<T, BC>;
            const PackedChunk<T, BC> chunk(pk, b0, M, 2 * Dk + 2);
            const Held<T, DC, BC> si(chunk.node(i), BC), mi(chunk.node(i) + Dk * BC, BC);
            Accumulator<T, DC, BC> oi(sb.at(i * Dk, b0), B);
            const EdgeRuns runs(csr, i, own);
            const bool add = add_all || b0 > 0;  // else this chunk is the first: assign
            for (int r = 0; r < EdgeRuns::count; ++r) {
              const bool grad = runs.grad(r), both = runs.both(r);
              for (std::int64_t q = runs.begin[r]; q < runs.end[r]; ++q) {
                const Index j = csr.nbr[q];
                const T* sj = chunk.node(j);
                const T* mj = sj + Dk * BC;
                const T a = aq[q], bb = bq[q];
                V s, m;
                edge_dots(si, mi, sj, mj, Dk, BC, s, m);
                const V p = dphi_lanes<K>(s);
                const V fp = a + bb * p;
                const V fppm = bb * ddphi_lanes<K>(s, p) * m;
                for (Index d = 0; d < Dk; ++d)
                  oi(d) -= fp * lanes<T, BC>(mj + d * BC) + fppm * lanes<T, BC>(sj + d * BC);
                if (grad) {
                  const double da = -m.sum(), db = -(p * m).sum();  // Ā_e, B̄_e (gb is ḡ)
                  ea[q] = add ? ea[q] + da : da;
                  eb[q] = add ? eb[q] + db : db;
                }
                if (both)
                  for (Index d = 0; d < Dk; ++d)
                    Eigen::Map<V>(sb.at(j * Dk + d, b0)) -= fp * mi(d) + fppm * si(d);
              }
            }
            oi.flush();
          });
    });
  }
  return mean_a_bar;
}

template <class T>
T BatchModel<T>::vjp_coupling(const Matrix& z, const Matrix& lam, Matrix& zbar,
                              BatchWorkspace<T>& ws, EdgeGradientSlots& slots, bool add_all) const {
  const Index B = z.rows(), N = n_, M = m_, D = d_;
  const CCols<T> sig{z.data() + N * B, B}, muc{ws.mu.data(), B}, g{ws.g.data(), B};
  const CCols<T> lx{lam.data(), B};
  const Cols<T> sb{zbar.data() + N * B, B}, gb{ws.gbar.data(), B};
  T* const pk = ws.packed.data();
  T alpha_bar = 0;
  // ℰ_HK
  const T kh = inv_kh_, kk = inv_kk_;
  if (p_.coupling.present() && low_rank_) {
    T* v = ws.pool.data();  // V = Σ g_j σ_j, L = Σ λ_x,j σ_j, Ug = Σ g_j μ_j  (B×D each)
    T* l = v + B * D;
    T* ug = l + B * D;
    std::fill(v, v + 3 * B * D, T(0));
    for (Index j = 0; j < N; ++j)
      for (Index d = 0; d < D; ++d) {
        const T* sj = sig.at(j * D + d, 0);
        const T* mj = muc.at(j * D + d, 0);
        const T* gj = g.at(j, 0);
        const T* lj = lx.at(j, 0);
        for (Index b = 0; b < B; ++b) {
          v[d * B + b] += gj[b] * sj[b];
          l[d * B + b] += lj[b] * sj[b];
          ug[d * B + b] += gj[b] * mj[b];
        }
      }
    const T a = alpha_;
    T abar = 0;
    for (Index q = 0; q < B * D; ++q) abar += kh * l[q] * v[q] + kk * ug[q] * v[q];
    for (Index i = 0; i < N; ++i) {
      const T* gi = g.at(i, 0);
      const T* li = lx.at(i, 0);
      T* gbi = gb.at(i, 0);
      for (Index b = 0; b < B; ++b) {
        T ss = 0, ms = 0, sl = 0, mv = 0, su = 0;
        for (Index d = 0; d < D; ++d) {
          const T sv = sig.at(i * D + d, 0)[b], mv_ = muc.at(i * D + d, 0)[b];
          ss += sv * sv;
          ms += mv_ * sv;
          sl += sv * l[d * B + b];
          mv += mv_ * v[d * B + b];
          su += sv * ug[d * B + b];
        }
        gbi[b] += a * kh * (sl - li[b] * ss) + a * kk * (mv + su - T(2) * gi[b] * ms);
        abar -= kh * li[b] * gi[b] * ss + kk * gi[b] * gi[b] * ms;
        for (Index d = 0; d < D; ++d) {
          const T sv = sig.at(i * D + d, 0)[b], mv_ = muc.at(i * D + d, 0)[b];
          sb.at(i * D + d, 0)[b] +=
              a * kk * gi[b] * (ug[d * B + b] - gi[b] * mv_) +
              a * kh * (li[b] * (v[d * B + b] - gi[b] * sv) + gi[b] * (l[d * B + b] - li[b] * sv));
        }
      }
    }
    alpha_bar = abar;
  } else if (p_.coupling.present()) {
    const Csr csr(hkadj_);
    const T* hw = hw_s_.data();
    double* __restrict ew = slots.w.data();
    const double work = double(2 * hkg_.num_edges()) * double(B) * double(2 * D);
    for_owned_nodes<T>(
        N, B, D, work, [&](Index i, auto bc, auto dc, Index b0, Owned own) HKAM_FLATTEN {
          constexpr int BC = decltype(bc)::value, DC = decltype(dc)::value;
          const Index Dk = dim_of<DC>(D);
          using V = Lanes<T, BC>;
          const PackedChunk<T, BC> chunk(pk, b0, M, 2 * Dk + 2);
          const T* pi = chunk.node(i);
          const Held<T, DC, BC> si(pi, BC), mi(pi + Dk * BC, BC);
          const V gi = lanes<T, BC>(pi + 2 * Dk * BC);
          const V li = lanes<T, BC>(pi + (2 * Dk + 1) * BC);
          T* gbi = gb.at(i, b0);
          Accumulator<T, DC, BC> oi(sb.at(i * Dk, b0), B);
          V gacc = V::Zero();
          const EdgeRuns runs(csr, i, own);
          const bool add = add_all || b0 > 0;  // else this chunk is the first: assign
          for (int r = 0; r < EdgeRuns::count; ++r) {
            const bool grad = runs.grad(r), both = runs.both(r);
            for (std::int64_t q = runs.begin[r]; q < runs.end[r]; ++q) {
              const Index j = csr.nbr[q];
              const T w = hw[q];
              const T* sj = chunk.node(j);
              const T* mj = sj + Dk * BC;
              const V gj = lanes<T, BC>(sj + 2 * Dk * BC);
              const V lj = lanes<T, BC>(sj + (2 * Dk + 1) * BC);
              V s, m;
              edge_dots(si, mi, sj, mj, Dk, BC, s, m);
              const V gg = gi * gj;
              const V ws_ = w * s, wm = w * m;
              gacc += kh * ws_ * lj + kk * gj * wm;
              const V cross = li * gj + lj * gi;
              const V c1 = (kk * w) * gg, c2 = (kh * w) * cross;
              for (Index d = 0; d < Dk; ++d)
                oi(d) += c1 * lanes<T, BC>(mj + d * BC) + c2 * lanes<T, BC>(sj + d * BC);
              if (grad) {
                const double gw = (kh * s * cross + kk * gg * m).sum();
                ew[q] = add ? ew[q] + gw : gw;
              }
              if (both) {
                Eigen::Map<V>(gb.at(j, b0)) += kh * ws_ * li + kk * gi * wm;
                for (Index d = 0; d < Dk; ++d)
                  Eigen::Map<V>(sb.at(j * Dk + d, b0)) += c1 * mi(d) + c2 * si(d);
              }
            }
          }
          oi.flush();
          Eigen::Map<V>(gbi) += gacc;
        });
  }
  return alpha_bar;
}

template <class T>
void BatchModel<T>::vjp_parameters(const Matrix& z, const Matrix& lam, BatchWorkspace<T>& ws,
                                   HkGradient& gr, T mean_a_bar, T alpha_bar) const {
  const Index B = z.rows(), N = n_, M = m_, D = d_;
  const CCols<T> sig{z.data() + N * B, B}, ls{lam.data() + N * B, B};
  if (N > 0) {
    const MapC<T> lxm(lam.data(), B, N);
    if (gr.hopfield.b.size() == N)
      gr.hopfield.b += lxm.colwise().sum().transpose().template cast<double>();
    if (gr.hopfield.w.rows() == N) {
      // ½(Λ_xᵀG + GᵀΛ_x) = ½ [Λ_x; G]ᵀ[G; Λ_x]: one GEMM of depth 2B, symmetric as computed.
      ws.stack_x.topRows(B) = lxm;
      ws.stack_x.bottomRows(B) = ws.g;
      ws.stack_y.topRows(B) = ws.g;
      ws.stack_y.bottomRows(B) = lxm;
      ws.gemm->run(0, N, N, 2 * B, ws.stack_x.data(), 2 * B, true, ws.stack_y.data(), 2 * B,
                   ws.w_acc.data(), N, T(1), false);
      gr.hopfield.w += 0.5 * ws.w_acc.template cast<double>();
    }
  }
  if (M > 0) {
    if (mean_field_ && gr.kuramoto.a.size() == 1) gr.kuramoto.a[0] += double(mean_a_bar);
    if (gr.kuramoto.omega.rows() == D) {
      // Ω̄(r, c) = Σ_i Σ_b λ_σi,r σ_i,c, then its skew part. Plain loops: per oscillator the
      // product is D×B by B×D, far too small for a GEMM call.
      ws.omega_acc.setZero();
      for (Index i = 0; i < M; ++i)
        for (Index c = 0; c < D; ++c) {
          const T* sc = sig.at(i * D + c, 0);
          for (Index r = 0; r < D; ++r) {
            const T* lr = ls.at(i * D + r, 0);
            T acc = 0;
            for (Index b = 0; b < B; ++b) acc += lr[b] * sc[b];
            ws.omega_acc(r, c) += acc;
          }
        }
      gr.kuramoto.omega += 0.5 * (ws.omega_acc - ws.omega_acc.transpose()).template cast<double>();
    }
  }
  if (low_rank_ && gr.wanted.alpha) gr.coupling.alpha += double(alpha_bar);
}

template <class T>
void BatchModel<T>::clear(EdgeGradientSlots& held) const {
  held.a = Eigen::VectorXd::Zero(k_slots());
  held.b = Eigen::VectorXd::Zero(k_slots());
  held.w = Eigen::VectorXd::Zero(hk_slots());
}

template <class T>
void BatchModel<T>::add_edge_gradients(const EdgeGradientSlots& held, HkGradient& gr) const {
  if (m_ > 0 && !mean_field_) {
    add_edge_slots(gr.kuramoto.a, k_lower_, held.a);
    if (p_.kuramoto.potential != PairPotentialKind::Linear)
      add_edge_slots(gr.kuramoto.b, k_lower_, held.b);
  }
  if (!p_.coupling.present() || low_rank_) return;
  switch (p_.coupling.kind) {
    case HkCouplingKind::General:
      add_edge_slots(gr.coupling.weights, hk_lower_, held.w);
      break;
    case HkCouplingKind::Additive:
      if (gr.wanted.alpha) gr.coupling.alpha += sum_edge_slots(hk_lower_, held.w);
      break;
    case HkCouplingKind::Multiplicative: {
      // w_e = α W_s,ij: ᾱ = Σ_e W_s,ij w̄_e; W_s,ij = (W_ij + W_ji)/2 gets α w̄_e.
      const auto& edges = hkg_.edges();
      double abar = 0;
      const bool want_w = gr.hopfield.w.rows() == n_;
      for (std::size_t e = 0; e < edges.size(); ++e) {
        const Index i = edges[e].i, j = edges[e].j;
        const double we = held.w[hk_lower_[e]];
        abar += double(w_(i, j)) * we;
        if (want_w) {
          gr.hopfield.w(i, j) += 0.5 * p_.coupling.alpha * we;
          gr.hopfield.w(j, i) += 0.5 * p_.coupling.alpha * we;
        }
      }
      if (gr.wanted.alpha) gr.coupling.alpha += abar;
      break;
    }
  }
}

template void BatchModel<float>::vjp(const Matrix&, const Matrix&, Matrix&, BatchWorkspace<float>&,
                                     HkGradient*, bool, EdgeGradientSlots*) const;
template void BatchModel<double>::vjp(const Matrix&, const Matrix&, Matrix&,
                                      BatchWorkspace<double>&, HkGradient*, bool,
                                      EdgeGradientSlots*) const;
// the parts of vjp (the header's `extern template` suppresses their implicit instantiation)
#define HKAM_VJP_PARTS(T)                                                                        \
  template void BatchModel<T>::vjp_projection(const Matrix&, const Matrix&, Matrix&,             \
                                              BatchWorkspace<T>&) const;                         \
  template void BatchModel<T>::vjp_pack(const Matrix&, const Matrix&, BatchWorkspace<T>&) const; \
  template T BatchModel<T>::vjp_kuramoto(const Matrix&, Matrix&, BatchWorkspace<T>&,             \
                                         EdgeGradientSlots&, bool) const;                        \
  template T BatchModel<T>::vjp_coupling(const Matrix&, const Matrix&, Matrix&,                  \
                                         BatchWorkspace<T>&, EdgeGradientSlots&, bool) const;    \
  template void BatchModel<T>::vjp_parameters(const Matrix&, const Matrix&, BatchWorkspace<T>&,  \
                                              HkGradient&, T, T) const;
HKAM_VJP_PARTS(float)
HKAM_VJP_PARTS(double)
#undef HKAM_VJP_PARTS
template void BatchModel<float>::clear(EdgeGradientSlots&) const;
template void BatchModel<double>::clear(EdgeGradientSlots&) const;
template void BatchModel<float>::add_edge_gradients(const EdgeGradientSlots&, HkGradient&) const;
template void BatchModel<double>::add_edge_gradients(const EdgeGradientSlots&, HkGradient&) const;

}  // namespace hkam
