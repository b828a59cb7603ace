#pragma once
// The inputs of a network run: synthetic shapes or Sudoku puzzles from the seed, or images and
// boards from an HDF5 file; and the initial oscillator noise of its chains.

#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "run/network_spec.hpp"

namespace hkam::run {

// Random streams of a network run (derived from the config's seed).
enum : std::uint64_t { kNetWeights = 20, kNetInputs = 21, kNetNoise = 22 };

struct NetInputs {
  Index batch = 0;
  Eigen::MatrixXd images;               // 3 × B·S² (objects, CIFAR)
  std::vector<std::vector<int>> masks;  // per image, S² labels (objects; may be empty)
  std::vector<int> labels;              // per image, a class (CIFAR; may be empty)
  Eigen::MatrixXi boards, solutions;    // B × 81 (Sudoku; solutions may be empty)
};

/// The side of the input images (objects, CIFAR).
Index image_size(const NetSpec& n);

/// The inputs of the spec: generated from the seed's input stream or read from input.file
/// (throws std::runtime_error naming the file and dataset when it does not fit).
NetInputs read_inputs(const NetSpec& n, std::uint64_t seed);

/// The initial states of `batch` chains, C × cols: dataset `name` of initial.noise_file
/// ([batch, C, h, w], chain-major), or N(0, 1) draws from the seed's stream `stream` when there
/// is no noise file or it lacks an optional dataset (`required` false).
template <class T>
akorn::Mat<T> noise_for(const NetSpec& n, Index C, Index cols, Index batch, Index positions,
                        std::uint64_t seed, const char* name = "noise",
                        std::uint64_t stream = kNetNoise, bool required = true);

}  // namespace hkam::run
