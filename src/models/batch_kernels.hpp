#pragma once
// Kernels shared by the batched Hopfield–Kuramoto model's forward pass (batch.cpp) and its
// vector–Jacobian products (batch_vjp.cpp). Internal: not installed.

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <type_traits>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "hkam/models/batch.hpp"
#include "models/gemm.hpp"

// On a hot per-node kernel: inline every call in it (the lane arithmetic is Eigen expressions;
// when the compiler's inlining budget runs out, one of them becomes a call per neighbour, which
// measured 2x slower for the forward edge loops at B = 100).
#if defined(__GNUC__)
#define HKAM_FLATTEN __attribute__((flatten))
#else
#define HKAM_FLATTEN
#endif

namespace hkam::batch_detail {

using detail::GemmScratch;

// The batch is processed in chunks of one 64-byte vector of trajectories (8 doubles, 16
// floats: the SIMD lanes of the edge loops), then the rest in halving widths (at most one chunk
// each of 8, 4, 2, 1 trajectories): every chunk is one sweep over the nodes and their
// neighbours, whose index and parameter loads cost about as much at one lane as at sixteen, so
// B = 10 takes two sweeps (8 + 2), not three.
// Chunk widths are compile-time constants so the lane arithmetic maps onto vector registers.
// `Vectors` > 1 first takes chunks of that many 64-byte vectors: a loop whose body is short
// (the forward edge loops) then pays its per-neighbour index and parameter loads once per two
// vectors; a longer body (the VJP's) would spill registers, so it stays at one.
// The oscillator dimension is dispatched too: D = 2, 3, 4, 5, 8 are compile-time constants (the
// loops over d unroll), any other D is passed as 0 and read at run time.
// The chunks of width W, W/2, …, 1 that cover trajectories b0 .. batch (fewer than 2W of them).
template <int W, class F>
inline void rest(Index batch, Index b0, F&& f) {
  if (b0 + W <= batch) {
    f(std::integral_constant<int, W>{}, b0);
    b0 += W;
  }
  if constexpr (W > 1) rest<W / 2>(batch, b0, f);
}

template <class T, int Vectors = 1, class F>
inline void for_chunks(Index batch, Index dim, F&& f) {
  constexpr int wide = 64 / sizeof(T);
  auto run = [&](auto dc) {
    Index b0 = 0;
    if constexpr (Vectors > 1)
      for (; b0 + Vectors * wide <= batch; b0 += Vectors * wide)
        f(std::integral_constant<int, Vectors * wide>{}, dc, b0);
    for (; b0 + wide <= batch; b0 += wide) f(std::integral_constant<int, wide>{}, dc, b0);
    rest<wide / 2>(batch, b0, [&](auto bc, Index b) { f(bc, dc, b); });
  };
  switch (dim) {
    case 2:
      return run(std::integral_constant<int, 2>{});
    case 3:
      return run(std::integral_constant<int, 3>{});
    case 4:
      return run(std::integral_constant<int, 4>{});
    case 5:
      return run(std::integral_constant<int, 5>{});
    case 8:
      return run(std::integral_constant<int, 8>{});
    default:
      return run(std::integral_constant<int, 0>{});
  }
}

// Threads only pay off above this many multiply-adds per pass (a parallel region costs a few µs).
constexpr double kParallelWork = 65536;

// D as a compile-time constant when the dispatch fixed it (DC > 0), else the run-time value.
template <int DC>
constexpr Index dim_of(Index dynamic) {
  return DC > 0 ? Index(DC) : dynamic;
}

// The nodes one thread owns in for_owned_nodes / for_nodes: [begin, end).
struct Owned {
  Index begin, end;
};

// f(i0, i1) for each thread's contiguous share of `count` nodes, in one parallel region when
// the work (multiply-adds) is above kParallelWork, else f(0, count).
template <class F>
inline void parallel_ranges(Index count, double work, F&& f) {
#ifdef _OPENMP
  if (work > kParallelWork) {
#pragma omp parallel
    {
      const Index threads = omp_get_num_threads(), me = omp_get_thread_num();
      const Index per = (count + threads - 1) / threads;
      f(std::min(count, me * per), std::min(count, (me + 1) * per));
    }
    return;
  }
#endif
  f(Index(0), count);
}

// One thread's sweep: f(i, bc, dc, b0, owned) for its nodes i0 .. i1 and every batch chunk.
template <class T, int Vectors = 1, class F>
inline void sweep(Index i0, Index i1, Index batch, Index dim, F&& f) {
  const Owned owned{i0, i1};
  for_chunks<T, Vectors>(batch, dim, [&](auto bc, auto dc, Index b0) {
    for (Index i = i0; i < i1; ++i) f(i, bc, dc, b0, owned);
  });
}

// f(i, bc, dc, b0, owned) for every node i < count and every batch chunk (for_chunks), nodes
// split over threads (one contiguous range each, `owned`) when the pass does more than
// kParallelWork multiply-adds (`work`). Within a thread the chunk loop is outside the node
// loop: while one chunk is done for every node, the neighbour reads touch one cache line per
// column (a band of the small-world lattice stays in L1, in L2 for wide chunks) instead of one
// per column and chunk. f may write lanes b0 .. b0 + BC of its node and of nodes `owned` says are
// the calling thread's (no other thread writes them: the VJP's edge loops process an edge whose
// ends are both one thread's once, for both ends).
template <class T, int Vectors = 1, class F>
inline void for_owned_nodes(Index count, Index batch, Index dim, double work, F&& f) {
  parallel_ranges(count, work,
                  [&](Index i0, Index i1) { sweep<T, Vectors>(i0, i1, batch, dim, f); });
}

// The same with f(i, bc, dc, b0), for loops that write only node i's lanes.
template <class T, int Vectors = 1, class F>
inline void for_nodes(Index count, Index batch, Index dim, double work, F&& f) {
  for_owned_nodes<T, Vectors>(
      count, batch, dim, work,
      [&](Index i, auto bc, auto dc, Index b0, const Owned&) { f(i, bc, dc, b0); });
}

// Raw pointers into a SortedAdjacency (see batch.hpp) or a graph's own CSR: node i's neighbours
// nbr[off[i] .. off[i+1]) (ascending in the former) and the ids of the connecting edges.
struct Csr {
  const std::int64_t* off;
  const std::int32_t* nbr;
  const std::int32_t* eid;
  const std::int64_t* upper;
  explicit Csr(const detail::SortedAdjacency& a)
      : off(a.off.data()), nbr(a.nbr.data()), eid(a.eid.data()), upper(a.upper.data()) {}
  // The graph's own order (not sorted; no `upper`).
  explicit Csr(const Graph& g)
      : off(g.csr_offsets().data()),
        nbr(g.csr_neighbors().data()),
        eid(g.csr_edge_ids().data()),
        upper(nullptr) {}
  // The first slot of node i in [from, to) whose neighbour is at least j.
  std::int64_t find(std::int64_t from, std::int64_t to, Index j) const {
    return std::lower_bound(nbr + from, nbr + to, j) - nbr;
  }
};

// Node i's slots in three runs, for the loops that handle an edge once where they can: run 0,
// neighbours below the thread's nodes (only node i is written); run 1, neighbours above i among
// the thread's nodes (the edge's gradient and both ends are written: the slots of the thread's
// nodes below i are skipped, as those edges were done from the other end); run 2, neighbours
// above the thread's nodes (the edge's gradient and node i).
struct EdgeRuns {
  static constexpr int count = 3;
  std::int64_t begin[count], end[count];
  EdgeRuns(const Csr& csr, Index i, Owned own) {
    const std::int64_t q0 = csr.off[i], qu = csr.upper[i], q1 = csr.off[i + 1];
    const std::int64_t lo = csr.find(q0, qu, own.begin), hi = csr.find(qu, q1, own.end);
    begin[0] = q0, end[0] = lo;
    begin[1] = qu, end[1] = hi;
    begin[2] = hi, end[2] = q1;
  }
  static bool grad(int run) { return run > 0; }
  static bool both(int run) { return run == 1; }
};

// The per-edge gradients the VJP's edge loops leave in slot order (`slots`, edge e at slot
// lower[e]): their total, and their sum into dst by edge id (or into its single entry when the
// parameter is shared). Gathers in edge order, so dst is written sequentially.
inline double sum_edge_slots(const std::vector<std::int32_t>& lower, const Eigen::VectorXd& slots) {
  const Index edges = Index(lower.size());
  double sum = 0;
#pragma omp parallel for reduction(+ : sum) if (edges > 16384)
  for (Index e = 0; e < edges; ++e) sum += slots[lower[std::size_t(e)]];
  return sum;
}
inline void add_edge_slots(Eigen::VectorXd& dst, const std::vector<std::int32_t>& lower,
                           const Eigen::VectorXd& slots) {
  const Index edges = Index(lower.size());
  if (dst.size() == 1) {
    dst[0] += sum_edge_slots(lower, slots);
  } else if (dst.size() == edges) {
#pragma omp parallel for if (edges > 16384)
    for (Index e = 0; e < edges; ++e) dst[e] += slots[lower[std::size_t(e)]];
  }
}

// SIMD lanes over the batch: BC consecutive trajectories of one coordinate (a column run).
template <class T, int BC>
using Lanes = Eigen::Array<T, BC, 1>;
template <class T, int BC>
inline Eigen::Map<const Lanes<T, BC>> lanes(const T* p) {
  return Eigen::Map<const Lanes<T, BC>>(p);
}

// One batch chunk (trajectories b0 .. b0 + BC) of a packed copy of per-node data: chunk b0 at
// data + b0·nodes·rows, node j's `rows` rows of BC lanes contiguous, so the neighbours of a band
// of the lattice are one contiguous run (in a B×cols batch matrix node j's rows are B apart).
template <class T, int BC>
struct PackedChunk {
  T* base;
  Index node_size;
  PackedChunk(T* data, Index b0, Index nodes, Index rows)
      : base(data + b0 * nodes * rows), node_size(rows * BC) {}
  T* node(Index j) const { return base + j * node_size; }
};

// Fills nodes i0 .. i1 of a packed copy (`rows` rows per node, PackedChunk's layout) for every
// batch chunk of for_chunks<T, Vectors>: row r < `copied` of node j gets lanes b0 .. b0 + BC of
// the batch-matrix column that src(j, r) points to (at trajectory 0). Rows from `copied` on are
// left as they are (for data no loop reads).
template <class T, int Vectors, class Src>
inline void pack_nodes(T* data, Index nodes, Index rows, Index copied, Index batch, Index dim,
                       Index i0, Index i1, Src&& src) {
  for_chunks<T, Vectors>(batch, dim, [&](auto bc, auto, Index b0) {
    constexpr int BC = decltype(bc)::value;
    const PackedChunk<T, BC> chunk(data, b0, nodes, rows);
    for (Index j = i0; j < i1; ++j) {
      T* dst = chunk.node(j);
      for (Index r = 0; r < copied; ++r)
        Eigen::Map<Lanes<T, BC>>(dst + r * BC) = lanes<T, BC>(src(j, r) + b0);
    }
  });
}

// A D×BC block of accumulators for one node and batch chunk, added to memory (column stride
// `stride`) by flush(), or stored there when `assign` (nothing else writes the block). With D
// known at compile time the block lives in SIMD registers, so the neighbour loop stores nothing;
// otherwise it accumulates in place (zeroed first when assigning).
template <class T, int DC, int BC>
struct Accumulator {
  using V = Lanes<T, BC>;
  T* mem;
  Index stride;
  bool assign;
  V r[DC > 0 ? DC : 1];
  // `dim` is D when DC = 0 (the run-time D), needed to zero the in-place block when assigning.
  Accumulator(T* m, Index s, bool assign_ = false, Index dim = 0)
      : mem(m), stride(s), assign(assign_) {
    if constexpr (DC > 0) {
      for (int d = 0; d < DC; ++d) r[d].setZero();
    } else if (assign) {
      for (Index d = 0; d < dim; ++d) Eigen::Map<V>(mem + d * stride).setZero();
    }
  }
  decltype(auto) operator()(Index d) {
    if constexpr (DC > 0)
      return (r[d]);
    else
      return Eigen::Map<V>(mem + d * stride);
  }
  void flush() {
    if constexpr (DC > 0)
      for (int d = 0; d < DC; ++d) {
        if (assign)
          Eigen::Map<V>(mem + d * stride) = r[d];
        else
          Eigen::Map<V>(mem + d * stride) += r[d];
      }
  }
};

// A D×BC block of one node's values held in registers for its whole neighbour loop (D known at
// compile time), read through operator()(d); otherwise read from memory (column stride
// `stride`). Without the copy, every store of the loop (an edge gradient) may alias the block,
// so the compiler reloads it for each neighbour.
template <class T, int DC, int BC>
struct Held {
  using V = Lanes<T, BC>;
  const T* mem;
  Index stride;
  V r[DC > 0 ? DC : 1];
  Held(const T* m, Index s) : mem(m), stride(s) {
    if constexpr (DC > 0)
      for (int d = 0; d < DC; ++d) r[d] = lanes<T, BC>(m + d * s);
  }
  V operator()(Index d) const {
    if constexpr (DC > 0)
      return r[d];
    else
      return lanes<T, BC>(mem + d * stride);
  }
};

// The two dot products of an edge's adjoint on BC lanes: s = σ_i·σ_j and
// m = μ_i·σ_j + μ_j·σ_i (σ_i, μ_i held; σ_j, μ_j read at column stride `stride`).
template <class T, int DC, int BC>
inline void edge_dots(const Held<T, DC, BC>& si, const Held<T, DC, BC>& mi, const T* sj,
                      const T* mj, Index dim, Index stride, Lanes<T, BC>& s, Lanes<T, BC>& m) {
  s.setZero();
  m.setZero();
  for (Index d = 0; d < dim; ++d) {
    const auto sjd = lanes<T, BC>(sj + d * stride);
    const Lanes<T, BC> sid = si(d);
    s += sid * sjd;
    m += mi(d) * sjd + lanes<T, BC>(mj + d * stride) * sid;
  }
}

// Pair-potential terms on BC lanes: F'(s) = a + b φ'(s), and φ''(s).
template <PairPotentialKind K, class V>
inline V dphi_lanes(const V& s) {
  using T = typename V::Scalar;
  if constexpr (K == PairPotentialKind::Relu) return s.max(T(0));
  if constexpr (K == PairPotentialKind::Tanh) return s.tanh();
  if constexpr (K == PairPotentialKind::Sigmoid) return T(1) / (T(1) + (-s).exp());
  return V::Zero();
}
// φ'' given s and p = φ'(s). The relu step is a lane mask (a branch would be mispredicted:
// the sign of s is random from edge to edge).
template <PairPotentialKind K, class V>
inline V ddphi_lanes(const V& s, const V& p) {
  using T = typename V::Scalar;
  if constexpr (K == PairPotentialKind::Relu) return (s > T(0)).template cast<T>();
  if constexpr (K == PairPotentialKind::Tanh) return T(1) - p.square();
  if constexpr (K == PairPotentialKind::Sigmoid) return p * (T(1) - p);
  return V::Zero();
}

// out = G·W for a B×N batch G (column-major, leading dimension `rows`) and an N×N matrix W,
// split over threads by column blocks of W (each thread one contiguous block: W is read once,
// G stays in cache). Results do not depend on the thread count. Allocates nothing once `gemm`
// has met these sizes.
// A single trajectory (rows = 1: G is one contiguous N-vector) takes one dot product per column
// of W instead of a GEMM: the GEMM packs all of W (N² numbers copied) on every call and pads G
// to its 24-row panels, which at B = 1 costs three times the multiply (measured: the note's RHS
// 435 → 402 µs). At B = 10 the GEMM is already faster (1.19 vs 1.36 ms), so only B = 1 does this.
template <class T>
void batch_times(const T* g, Index rows, Index depth, const BatchMatrix<T>& w, BatchMatrix<T>& out,
                 GemmScratch<T>& gemm) {
  const Index n = w.cols();
  const double work = double(rows) * double(depth) * double(n);
  const bool gemv = rows == 1;
  const Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>> g1(g, gemv ? depth : 0);
#ifdef _OPENMP
  gemm.ensure_slots(omp_get_max_threads());
#else
  gemm.ensure_slots(1);
#endif
#pragma omp parallel if (work > 4 * kParallelWork)
  {
#ifdef _OPENMP
    const Index threads = omp_get_num_threads(), me = omp_get_thread_num();
#else
    const Index threads = 1, me = 0;
#endif
    const Index per = (n + threads - 1) / threads;
    const Index j0 = std::min(n, me * per), j1 = std::min(n, j0 + per);
    if (gemv)
      for (Index j = j0; j < j1; ++j) out(0, j) = g1.dot(w.col(j));
    else if (j1 > j0)
      gemm.run(int(me), rows, j1 - j0, depth, g, rows, false, w.data() + j0 * w.rows(), w.rows(),
               out.data() + j0 * out.rows(), out.rows(), T(1), false);
  }
}

// φ(s) of F = A s + B φ(s) (the energy).
template <PairPotentialKind K, class T>
inline T phi(T s) {
  if constexpr (K == PairPotentialKind::Relu) {
    const T r = std::max(s, T(0));
    return T(0.5) * r * r;
  }
  if constexpr (K == PairPotentialKind::Tanh) {
    const T a = std::abs(s);
    return a + std::log1p(std::exp(T(-2) * a)) - T(0.69314718055994530942);
  }
  if constexpr (K == PairPotentialKind::Sigmoid)
    return std::max(s, T(0)) + std::log1p(std::exp(-std::abs(s)));
  return T(0);
}

// Calls f.template operator()<K>() with the potential as a compile-time constant.
template <class F>
inline void with_potential(PairPotentialKind k, F&& f) {
  switch (k) {
    case PairPotentialKind::Linear:
      return f(std::integral_constant<PairPotentialKind, PairPotentialKind::Linear>{});
    case PairPotentialKind::Relu:
      return f(std::integral_constant<PairPotentialKind, PairPotentialKind::Relu>{});
    case PairPotentialKind::Tanh:
      return f(std::integral_constant<PairPotentialKind, PairPotentialKind::Tanh>{});
    case PairPotentialKind::Sigmoid:
      return f(std::integral_constant<PairPotentialKind, PairPotentialKind::Sigmoid>{});
  }
}

// ---- Lagrangians on a B×N block (rows are trajectories) -------------------------------------

template <class T>
using MapC = Eigen::Map<const BatchMatrix<T>>;
template <class T>
using Map = Eigen::Map<BatchMatrix<T>>;

template <class T>
void activation(LagrangianKind kind, T beta, const MapC<T>& x, BatchMatrix<T>& g) {
  switch (kind) {
    case LagrangianKind::Tanh:
      g.array() = (beta * x.array()).tanh();
      return;
    case LagrangianKind::Sigmoid:
      g.array() = T(1) / (T(1) + (-beta * x.array()).exp());
      return;
    case LagrangianKind::Relu:
      g.array() = (beta * x.array()).max(T(0));
      return;
    case LagrangianKind::LogSumExp:
      for (Index b = 0; b < x.rows(); ++b) {
        const T m = beta * x.row(b).maxCoeff();
        g.row(b).array() = (beta * x.row(b).array() - m).exp();
        g.row(b) /= g.row(b).sum();
      }
      return;
  }
}

// L(x_b) for every row b, added to out scaled by s.
template <class T>
void add_lagrangian(LagrangianKind kind, T beta, const MapC<T>& x, T s,
                    Eigen::Matrix<T, Eigen::Dynamic, 1>& out) {
  const T c = s / beta;
  for (Index b = 0; b < x.rows(); ++b) {
    const auto y = (beta * x.row(b).array()).eval();
    T v = 0;
    switch (kind) {
      case LagrangianKind::Tanh:
        v = (y.abs() + (T(-2) * y.abs()).exp().log1p() - T(0.69314718055994530942)).sum();
        break;
      case LagrangianKind::Sigmoid:
        v = (y.max(T(0)) + (-y.abs()).exp().log1p()).sum();
        break;
      case LagrangianKind::Relu:
        v = T(0.5) * y.max(T(0)).square().sum();
        break;
      case LagrangianKind::LogSumExp: {
        const T m = y.maxCoeff();
        v = m + std::log((y - m).exp().sum());
        break;
      }
    }
    out[b] += c * v;
  }
}

// out = H(x) v row by row (H = ∇²L, symmetric); out may alias v.
template <class T>
void hessian_times(LagrangianKind kind, T beta, const MapC<T>& x, const BatchMatrix<T>& g,
                   const BatchMatrix<T>& v, BatchMatrix<T>& out) {
  switch (kind) {
    case LagrangianKind::Tanh:
      out.array() = beta * (T(1) - g.array().square()) * v.array();
      return;
    case LagrangianKind::Sigmoid:
      out.array() = beta * g.array() * (T(1) - g.array()) * v.array();
      return;
    case LagrangianKind::Relu:
      out.array() = (x.array() > T(0)).select(beta * v.array(), T(0));
      return;
    case LagrangianKind::LogSumExp:
      for (Index b = 0; b < x.rows(); ++b) {
        const T gv = g.row(b).dot(v.row(b));
        out.row(b).array() = beta * g.row(b).array() * (v.row(b).array() - gv);
      }
      return;
  }
}

// Pointers into one B×cols batch matrix: column c, trajectory b0.
template <class T>
struct Cols {
  T* p;
  Index rows;
  T* at(Index c, Index b0) const { return p + c * rows + b0; }
};
template <class T>
struct CCols {
  const T* p;
  Index rows;
  const T* at(Index c, Index b0) const { return p + c * rows + b0; }
};

}  // namespace hkam::batch_detail
