#pragma once
// Reading torch tensors into Eigen and PyTorch's default initialisation bound: shared by the
// AKOrN layers (layers.cpp, connectivity.cpp). Internal to hkam.

#include <cmath>

#include "hkam/akorn/layers.hpp"

namespace hkam::akorn::detail {

/// A torch tensor stored row-major as an Eigen matrix rows × cols (rows = first dimension).
template <class T>
Mat<T> as_matrix(const Param& p, Index rows, Index cols) {
  Mat<T> m(rows, cols);
  for (Index r = 0; r < rows; ++r)
    for (Index c = 0; c < cols; ++c) m(r, c) = static_cast<T>(p.values[r * cols + c]);
  return m;
}

template <class T>
Vec<T> as_vector(const Param& p) {
  Vec<T> v(static_cast<Index>(p.values.size()));
  for (Index i = 0; i < v.size(); ++i) v[i] = static_cast<T>(p.values[i]);
  return v;
}

inline double fan_in_bound(Index fan_in) {
  return 1.0 / std::sqrt(static_cast<double>(fan_in));
}

}  // namespace hkam::akorn::detail
