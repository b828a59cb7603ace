#pragma once
/// The Hopfield–Kuramoto right-hand side, energy and vector–Jacobian products for B trajectories
/// at once, in float or double (docs/models.md §6–7).
///
/// **Batch layout.** A batch of states is one column-major B×dim matrix `Z`: row b is trajectory
/// b's flat state [x (N); σ_0 … σ_{M−1} (M·D)] as in core.hpp. Column c holds coordinate c of
/// every trajectory contiguously, so
///   * W_s·g for the whole batch is one GEMM, G·W_s (B×N times N×N);
///   * a sparse edge loop reads σ_j,d for all B trajectories as one contiguous run and vectorises
///     over the batch inside each edge;
///   * at B = 1 the matrix is exactly the flat single-trajectory vector.
///
/// **Sharing.** `BatchModel<T>` holds one copy of the parameters converted to T (W_s, Ω's skew
/// part, per-edge A/B/w) and no mutable state; every evaluation takes a `BatchWorkspace<T>` sized
/// for B. One model can serve several threads, each with its own workspace. After changing the
/// Params (training), call `set_params` — the graphs and sizes must stay the same.
///
/// **Paths.** ℰ_K complete with a linear potential and one shared A: O(M·D) mean field. ℰ_HK
/// complete with additive coupling: O(N·D) low rank, u_i = α(Σ_j g_jσ_j − g_iσ_i). Every other
/// complete graph is materialised into an edge list (O(N²) memory).
///
/// Evaluations allocate nothing once the workspace has been sized for the batch.

#include <Eigen/Core>
#include <memory>
#include <vector>

#include "hkam/core.hpp"
#include "hkam/models/params.hpp"

namespace hkam {

template <class T>
using BatchMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;

namespace detail {
template <class T>
class GemmScratch;  // packing buffers of the matrix products (src/models/gemm.hpp)

// A graph's adjacency as the batched VJP's edge loops (and the energy) walk it: node i's neighbours
// nbr[off[i] .. off[i+1]) in increasing order with the connecting edge ids; upper[i] is the
// first of them above i. Sorted, a node's neighbours split into contiguous runs (below the
// calling thread's nodes, among them below i, above i, above them), each with its own loop.
struct SortedAdjacency {
  std::vector<std::int64_t> off, upper;
  std::vector<std::int32_t> nbr, eid;
  SortedAdjacency() = default;
  explicit SortedAdjacency(const Graph& g);
};
}  // namespace detail

/// Per-edge parameter gradients (A_e, B_e, w_e) in the batched model's own order of directed
/// edges (its sorted adjacency: two slots per edge, the one seen from the lower node is used).
/// Passed to BatchModel::vjp, a sequence of products (a backward pass) adds into it and
/// BatchModel::add_edge_gradients moves the total into an HkGradient once, instead of every
/// product gathering 10⁵ scattered slots into edge order. Sized and zeroed by
/// BatchModel::clear.
struct EdgeGradientSlots {
  Eigen::VectorXd a, b, w;
};

/// Work buffers for one batch (size B); reused across calls, resized when B changes.
template <class T>
struct BatchWorkspace {
  Index batch = 0;
  BatchMatrix<T> g, wg, h, y;                  // activations, G·W_s, HK field on x, y_i (B×M·D)
  BatchMatrix<T> mu, gbar, lx_w;               // VJP: projected cotangent, ḡ, Λ_x·W_s
  BatchMatrix<T> pool;                         // per-trajectory D-vectors of the low-rank paths
  Eigen::Matrix<T, Eigen::Dynamic, 1> packed;  // neighbour data per batch chunk, node by node
  EdgeGradientSlots edges;  // the last vjp's per-edge gradients when it is not given slots
  BatchMatrix<T> w_acc, omega_acc, stack_x, stack_y;  // parameter-gradient scratch
  std::shared_ptr<detail::GemmScratch<T>> gemm;       // kept, so products allocate nothing
  void resize(Index batch, const StateLayout& layout, Index k_slots, Index hk_slots);
};

template <class T>
class BatchModel {
 public:
  using Matrix = BatchMatrix<T>;
  using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

  BatchModel() = default;
  /// Throws std::invalid_argument with `params.validate()`'s text when invalid.
  explicit BatchModel(const HopfieldKuramotoParams& params);

  /// Replaces the parameter values (same sizes, graphs and kinds as at construction).
  void set_params(const HopfieldKuramotoParams& params);
  const HopfieldKuramotoParams& params() const { return p_; }
  StateLayout layout() const { return p_.layout(); }
  Index dim() const { return p_.dim(); }

  /// dZ = f(Z) row by row. Z and dZ are B×dim; dZ must not alias Z.
  void rhs(const Matrix& z, Matrix& dz, BatchWorkspace<T>& ws) const;
  /// energy[b] = E(Z_b) (HK1).
  void energy(const Matrix& z, Vector& energy, BatchWorkspace<T>& ws) const;
  /// Vector–Jacobian product: zbar_b = (∂f/∂z at Z_b)ᵀ Λ_b for every row, and, when grad is not
  /// null, grad += Σ_b (∂f/∂θ at Z_b)ᵀ Λ_b for the fields it wants (accumulates: the solver's
  /// backward pass adds one term per stage). zbar must not alias z or lambda.
  /// `ws_holds_z`: the last call on ws was rhs(z, …, ws) with this same z, so its forward
  /// quantities (g, W_s g, y) are reused instead of recomputed (saves one evaluation).
  /// `held`: the per-edge parameter gradients are added there instead of into grad (see
  /// EdgeGradientSlots); the other fields still go to grad.
  void vjp(const Matrix& z, const Matrix& lambda, Matrix& zbar, BatchWorkspace<T>& ws,
           HkGradient* grad = nullptr, bool ws_holds_z = false,
           EdgeGradientSlots* held = nullptr) const;
  /// Sizes `held` for this model and zeroes it.
  void clear(EdgeGradientSlots& held) const;
  /// grad += the per-edge gradients in `held` (A, B, per-edge weights, α on an explicit ℰ_HK
  /// graph, and W through multiplicative weights), for the fields grad wants.
  void add_edge_gradients(const EdgeGradientSlots& held, HkGradient& grad) const;

  /// For a tape that keeps its stages (integrate/batch_solve.hpp): after rhs(z, f, ws), r (B×M)
  /// gets σ_i·y_i, the one number per oscillator that f does not determine. restore(z, f, r, ws)
  /// then puts back into ws what vjp(z, …, ws, grad, /*ws_holds_z=*/true) needs (g and y, with
  /// y_i = r_i σ_i + Ω σ_i − f_σ,i), at the cost of an activation instead of an evaluation.
  void radial(const Matrix& z, const BatchWorkspace<T>& ws, Matrix& r) const;
  void restore(const Matrix& z, const Matrix& f, const Matrix& r, BatchWorkspace<T>& ws) const;

  /// True when the O(M·D) mean-field path is used for ℰ_K.
  bool kuramoto_mean_field() const { return mean_field_; }
  /// True when the O(N·D) low-rank path is used for ℰ_HK.
  bool coupling_low_rank() const { return low_rank_; }

 private:
  void forward(const Matrix& z, BatchWorkspace<T>& ws) const;  // fills g, wg, h, y
  // The parts of vjp (src/models/batch_vjp.cpp), in the order it calls them: μ and the
  // projection and Ω terms of σ̄; the neighbour copy of the edge loops; the ℰ_K and ℰ_HK terms
  // (returning Ā of the mean-field path and ᾱ of the low-rank path); the parameter gradients.
  // `slots` gets the per-edge gradients, added to when `add_all`, else assigned by the first
  // batch chunk.
  void vjp_projection(const Matrix& z, const Matrix& lam, Matrix& zbar,
                      BatchWorkspace<T>& ws) const;
  void vjp_pack(const Matrix& z, const Matrix& lam, BatchWorkspace<T>& ws) const;
  T vjp_kuramoto(const Matrix& z, Matrix& zbar, BatchWorkspace<T>& ws, EdgeGradientSlots& slots,
                 bool add_all) const;
  T vjp_coupling(const Matrix& z, const Matrix& lam, Matrix& zbar, BatchWorkspace<T>& ws,
                 EdgeGradientSlots& slots, bool add_all) const;
  void vjp_parameters(const Matrix& z, const Matrix& lam, BatchWorkspace<T>& ws, HkGradient& gr,
                      T mean_a_bar, T alpha_bar) const;
  // Directed-edge slots of the explicit ℰ_K and ℰ_HK edge loops (0 on the closed-form paths).
  Index k_slots() const { return m_ > 0 && !mean_field_ ? 2 * kg_.num_edges() : 0; }
  Index hk_slots() const { return p_.coupling.present() && !low_rank_ ? 2 * hkg_.num_edges() : 0; }

  HopfieldKuramotoParams p_;
  Index n_ = 0, m_ = 0, d_ = 0;
  bool mean_field_ = false, low_rank_ = false;
  Matrix w_;        // W_s in T
  Vector bias_;     // b in T
  Matrix omega_;    // skew part of Ω in T (D×D, zero when absent)
  Graph kg_, hkg_;  // ℰ_K and ℰ_HK with explicit edge lists (unless on a mean-field path)
  Vector ka_, kb_;  // A_e, B_e (size 1 when shared)
  Vector hw_;       // w_e per ℰ_HK edge (general weights, α, or α W_s,ij)
  detail::SortedAdjacency kadj_, hkadj_;  // of kg_ and hkg_, for the VJP and the energy
  // The same per directed edge, so the edge loops read them as sequential streams instead of
  // gathering by edge id: in the graphs' own CSR order (…_q_, the forward loops: on the note's
  // Watts–Strogatz graphs that order, i−1, i+1, i−2, …, is faster than the sorted one) and in
  // the sorted adjacencies' order (…_s_, the VJP's loops, which split each node's neighbours).
  Vector ka_q_, kb_q_, hw_q_, ka_s_, kb_s_, hw_s_;
  // For each edge, the slot that sees it from its lower node: where the VJP's edge loops leave
  // its parameter gradient (std::int32_t like the neighbour lists).
  std::vector<std::int32_t> k_lower_, hk_lower_;
  T beta_ = 1, inv_kh_ = 1, inv_kk_ = 1, alpha_ = 0, mean_a_ = 0;
};

/// The batch as an ODE system for hkam::simulate / Boost.Odeint: `rhs(z, dz, t)` on a B×dim
/// matrix (one trajectory per row) with the model's workspace, and the model's layout (so
/// simulate renormalises every row's oscillators). Not thread-safe: one BatchRhs per thread.
template <class T>
struct BatchRhs {
  const BatchModel<T>* model;
  BatchWorkspace<T>* workspace;
  void operator()(const BatchMatrix<T>& z, BatchMatrix<T>& dz, double /*t*/) const {
    model->rhs(z, dz, *workspace);
  }
  StateLayout layout() const { return model->layout(); }
};

extern template class BatchModel<float>;
extern template class BatchModel<double>;
extern template struct BatchWorkspace<float>;
extern template struct BatchWorkspace<double>;

}  // namespace hkam
