#pragma once
// numpy arrays ↔ the library's batch matrices, for the `_hkam` module (src/python).
//
// A state crosses as an array of shape (dim,) (one trajectory) or (B, dim) (a batch), row b =
// [x (N); σ_0 … σ_{M−1} (M·D)]. float64 and float32 arrays keep their precision (float32 runs the
// batched float kernels); any other dtype of real numbers is converted to float64, and a
// non-contiguous array is read through a contiguous copy. The library's batch layout is
// column-major B × dim, so one copy is made on the way in and one on the way out.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <Eigen/Core>
#include <string>

#include "hkam/core.hpp"
#include "hkam/models/batch.hpp"

namespace hkam::python {

namespace py = pybind11;

template <class T>
using Batch = BatchMatrix<T>;
template <class T>
using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using Array = py::array_t<T, py::array::c_style | py::array::forcecast>;

inline std::string shape_text(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t k = 0; k < a.ndim(); ++k) s += (k ? ", " : "") + std::to_string(a.shape(k));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

/// True when `obj` is a float32 numpy array (it then stays in single precision).
inline bool is_float32(const py::handle& obj) {
  return py::isinstance<py::array>(obj) &&
         py::reinterpret_borrow<py::array>(obj).dtype().is(py::dtype::of<float>());
}

/// The array of numbers in `obj` (ValueError naming `what` for anything else: strings, objects,
/// complex numbers).
template <class T>
Array<T> numbers(const py::handle& obj, const std::string& what) {
  const py::array any = py::array::ensure(obj);
  if (!any) throw py::value_error(what + ": expected an array of numbers");
  const char kind = any.dtype().kind();
  if (kind != 'f' && kind != 'i' && kind != 'u' && kind != 'b')
    throw py::value_error(what + ": expected real numbers, got an array of dtype " +
                          std::string(py::str(any.dtype())));
  return Array<T>::ensure(any);
}

/// (dim,) → 1 × dim, (B, dim) → B × dim; `single` says which it was.
template <class T>
Batch<T> to_batch(const py::handle& obj, Index dim, const std::string& what, bool& single) {
  const Array<T> a = numbers<T>(obj, what);
  if (a.ndim() == 1 && a.shape(0) == dim) {
    single = true;
    return Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>(a.data(), dim);
  }
  if (a.ndim() == 2 && a.shape(1) == dim && a.shape(0) > 0) {
    single = false;
    return Eigen::Map<const RowMajor<T>>(a.data(), a.shape(0), dim);
  }
  throw py::value_error(what + ": expected shape (" + std::to_string(dim) + ",) or (B, " +
                        std::to_string(dim) + ") with B >= 1, got " + shape_text(a));
}

template <class T>
py::array_t<T> from_batch(const Batch<T>& z, bool single) {
  if (single) {
    py::array_t<T> out(z.cols());
    Eigen::Map<Eigen::Matrix<T, 1, Eigen::Dynamic>>(out.mutable_data(), z.cols()) = z.row(0);
    return out;
  }
  py::array_t<T> out({z.rows(), z.cols()});
  Eigen::Map<RowMajor<T>>(out.mutable_data(), z.rows(), z.cols()) = z;
  return out;
}

template <class T>
void require_finite(const Batch<T>& z, const std::string& what) {
  if (!z.allFinite()) throw py::value_error(what + ": contains NaN or infinity");
}

}  // namespace hkam::python
