#pragma once
// What a network run writes after its forward pass: per network kind the outputs and their
// evaluation (object clustering with FG-ARI/mBO, CIFAR's ensemble accuracy, Sudoku's E-vote),
// and the HDF5 helpers the runner shares with them.

#include <hdf5.h>

#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "hkam/akorn/networks.hpp"
#include "io/h5.hpp"
#include "run/network_inputs.hpp"

namespace hkam::run {

/// The inputs of one network run and the chains they become.
template <class T>
struct NetRun {
  explicit NetRun(const NetSpec& s) : spec(s) {}
  const NetSpec& spec;
  NetInputs in;
  int votes = 1;               ///< chains per input (E-vote chains, noise draws)
  Index chains = 0;            ///< in.batch · votes; chain b·votes + k is input b
  akorn::Grid grid;            ///< the K-layers' grid for all chains
  akorn::Mat<T> noise;         ///< initial oscillators, C × chains·P
  akorn::Mat<T> uptile_noise;  ///< objects with evaluate.uptile > 1: the crops' initial oscillators
};

/// Named scalar results, written to /summary and printed.
using Results = std::vector<std::pair<std::string, double>>;

/// Writes m (column-major) as a dataset whose row-major dims match its memory order.
template <class T>
void put(hid_t g, const std::string& name, const akorn::Mat<T>& m, std::vector<hsize_t> dims) {
  if constexpr (std::is_same_v<T, float>)
    io::write_floats(g, name, m.data(), dims);
  else
    io::write_array(g, name, m.data(), dims);
}

/// The entries of m in row-major order (boards and predictions, B × 81, as [B][9][9]).
inline std::vector<long long> flat(const Eigen::MatrixXi& m) {
  std::vector<long long> v;
  v.reserve(static_cast<std::size_t>(m.size()));
  for (Index r = 0; r < m.rows(); ++r)
    for (Index c = 0; c < m.cols(); ++c) v.push_back(m(r, c));
  return v;
}

/// C × B·P (channels-last) → a [B][C][P] row-major buffer.
template <class T>
akorn::Mat<T> channels_first(const akorn::Mat<T>& x, Index batch) {
  const Index C = x.rows(), P = x.cols() / batch;
  akorn::Mat<T> out(P, C * batch);  // column-major P × (B·C): (p, b·C + c) at (b·C + c)·P + p
  for (Index b = 0; b < batch; ++b)
    for (Index c = 0; c < C; ++c)
      for (Index p = 0; p < P; ++p) out(p, b * C + c) = x(c, b * P + p);
  return out;
}

/// Writes the outputs of each network kind into group `og` and appends its evaluation to
/// `results`; `finite` says whether the run's states were finite (no clustering otherwise).
template <class T>
void write_outputs(const akorn::ObjectNet<T>& net, const NetRun<T>& run,
                   const akorn::NetworkOutput<T>& out, bool finite, hid_t og, Results& results);
template <class T>
void write_outputs(const akorn::CifarNet<T>& net, const NetRun<T>& run,
                   const akorn::NetworkOutput<T>& out, bool finite, hid_t og, Results& results);
template <class T>
void write_outputs(const akorn::SudokuNet<T>& net, const NetRun<T>& run,
                   const akorn::NetworkOutput<T>& out, bool finite, hid_t og, Results& results);

}  // namespace hkam::run
