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

namespace hkam::batch_detail {

// The batch is processed in chunks of kChunk trajectories (the SIMD lanes of the edge loops); the
// remainder B mod kChunk one trajectory at a time. Both widths are compile-time constants so the
// inner loops unroll.
constexpr int kChunk = 8;

// The oscillator dimension is dispatched too: D = 2, 3, 4, 5, 8 are compile-time constants (the
// loops over d unroll), any other D is passed as 0 and read at run time.
template <class F>
inline void for_chunks(Index batch, Index dim, F&& f) {
  auto run = [&](auto dc) {
    Index b0 = 0;
    for (; b0 + kChunk <= batch; b0 += kChunk) f(std::integral_constant<int, kChunk>{}, dc, b0);
    for (; b0 < batch; ++b0) f(std::integral_constant<int, 1>{}, dc, b0);
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

// A D×BC block of accumulators for one node and batch chunk, added to memory (column stride
// `stride`) by flush(). With D known at compile time the block lives in registers, so the
// neighbour loop stores nothing (and the compiler need not reload σ_i for fear of aliasing);
// otherwise it accumulates in place.
template <class T, int DC, int BC>
struct Accumulator {
  T* mem;
  Index stride;
  T r[DC > 0 ? DC : 1][BC];
  Accumulator(T* m, Index s) : mem(m), stride(s) {
    if constexpr (DC > 0)
      for (int d = 0; d < DC; ++d)
        for (int b = 0; b < BC; ++b) r[d][b] = T(0);
  }
  T& operator()(Index d, int b) {
    if constexpr (DC > 0)
      return r[d][b];
    else
      return mem[d * stride + b];
  }
  void flush() {
    if constexpr (DC > 0)
      for (int d = 0; d < DC; ++d)
        for (int b = 0; b < BC; ++b) mem[d * stride + b] += r[d][b];
  }
};

// out = G·W for a B×N batch G and an N×N matrix W, split over threads by column blocks of W
// (each thread one contiguous block: W is read once, G stays in cache). Results do not depend
// on the thread count.
template <class T>
void batch_times(const Eigen::Ref<const BatchMatrix<T>>& g, const BatchMatrix<T>& w,
                 BatchMatrix<T>& out) {
  const Index n = w.cols();
  const double work = double(g.rows()) * double(g.cols()) * double(n);
#pragma omp parallel if (work > 4 * kParallelWork)
  {
#ifdef _OPENMP
    const Index threads = omp_get_num_threads(), me = omp_get_thread_num();
#else
    const Index threads = 1, me = 0;
#endif
    const Index per = (n + threads - 1) / threads;
    const Index j0 = std::min(n, me * per), j1 = std::min(n, j0 + per);
    if (j1 > j0) out.middleCols(j0, j1 - j0).noalias() = g * w.middleCols(j0, j1 - j0);
  }
}

// F'(s), F''(s) and φ'(s) for F = A s + B φ(s).
template <PairPotentialKind K, class T>
inline T dphi(T s) {
  if constexpr (K == PairPotentialKind::Relu) return std::max(s, T(0));
  if constexpr (K == PairPotentialKind::Tanh) return std::tanh(s);
  if constexpr (K == PairPotentialKind::Sigmoid) return T(1) / (T(1) + std::exp(-s));
  return T(0);
}
// φ''(s) given φ'(s) (= p).
template <PairPotentialKind K, class T>
inline T ddphi(T s, T p) {
  // Branch-free (copysign is bit arithmetic): the sign of s is random from edge to edge, and
  // the branch a comparison compiles to was mispredicted half the time (3x slower VJPs).
  if constexpr (K == PairPotentialKind::Relu) return T(0.5) + std::copysign(T(0.5), s);
  if constexpr (K == PairPotentialKind::Tanh) return T(1) - p * p;
  if constexpr (K == PairPotentialKind::Sigmoid) return p * (T(1) - p);
  return T(0);
}
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
