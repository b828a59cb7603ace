#pragma once
// Matrix products that allocate nothing after their first call for a given shape.
//
// Eigen's `noalias()` GEMM allocates its packing buffers on the heap whenever they exceed
// EIGEN_STACK_ALLOCATION_LIMIT, i.e. on every call for the sizes of a batched right-hand side.
// Here the same kernel (general_matrix_matrix_product, Eigen 3.4) runs with a blocking object
// that keeps its buffers, per thread slot and shape; buffers are made only when the shape
// is new (a workspace meets a handful of shapes). Single-threaded per call: callers split the
// work over OpenMP themselves.

#include <Eigen/Core>
#include <memory>
#include <vector>

namespace hkam::detail {

template <class T>
class GemmScratch {
 public:
  /// C (rows×cols, col-major, leading dimension ldc) = alpha·op(A)·B + beta_is_one·C, where A is
  /// rows×depth col-major (lda) or, with `a_transposed`, the transpose of a depth×rows col-major
  /// matrix (lda its leading dimension); B is depth×cols col-major (ldb). `slot` chooses the
  /// per-thread buffers (0 ≤ slot < slots()).
  void run(int slot, Eigen::Index rows, Eigen::Index cols, Eigen::Index depth, const T* a,
           Eigen::Index lda, bool a_transposed, const T* b, Eigen::Index ldb, T* c,
           Eigen::Index ldc, T alpha, bool accumulate) {
    using namespace Eigen::internal;
    if (rows == 0 || cols == 0) return;
    if (!accumulate)
      for (Eigen::Index j = 0; j < cols; ++j)
        for (Eigen::Index i = 0; i < rows; ++i) c[j * ldc + i] = T(0);
    if (depth == 0) return;
    Shape* s = nullptr;
    for (auto& e : slots_[std::size_t(slot)])
      if (e.rows == rows && e.cols == cols && e.depth == depth) s = &e;
    if (!s) {  // a new shape: its buffers are made once and kept
      auto& list = slots_[std::size_t(slot)];
      list.push_back({std::make_unique<Blocking>(rows, cols, depth, 1, true), rows, cols, depth});
      list.back().blocking->allocateAll();
      s = &list.back();
    }
    if (a_transposed)
      general_matrix_matrix_product<Eigen::Index, T, Eigen::RowMajor, false, T, Eigen::ColMajor,
                                    false, Eigen::ColMajor, 1>::run(rows, cols, depth, a, lda, b,
                                                                    ldb, c, 1, ldc, alpha,
                                                                    *s->blocking);
    else
      general_matrix_matrix_product<Eigen::Index, T, Eigen::ColMajor, false, T, Eigen::ColMajor,
                                    false, Eigen::ColMajor, 1>::run(rows, cols, depth, a, lda, b,
                                                                    ldb, c, 1, ldc, alpha,
                                                                    *s->blocking);
  }
  void ensure_slots(int n) {
    if (int(slots_.size()) < n) slots_.resize(std::size_t(n));
  }
  int slots() const { return int(slots_.size()); }

 private:
  using Blocking = Eigen::internal::gemm_blocking_space<Eigen::ColMajor, T, T, Eigen::Dynamic,
                                                        Eigen::Dynamic, Eigen::Dynamic, 1, false>;
  struct Shape {
    std::unique_ptr<Blocking> blocking;
    Eigen::Index rows = -1, cols = -1, depth = -1;
  };
  std::vector<std::vector<Shape>> slots_;  // per thread slot, the shapes met so far
};

}  // namespace hkam::detail
