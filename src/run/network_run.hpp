#pragma once
// `hkam run` of a config with a [network] table: an AKOrN network of the reference (object
// discovery or Sudoku) with weights from a file or a seed, run on synthetic or stored inputs,
// writing per block and step the energies and oscillator states, the outputs and the
// evaluation (docs/akorn.md, docs/config.md §network, docs/trace-format.md §network).

#include <Eigen/Core>
#include <string>
#include <vector>

#include "config/reader.hpp"
#include "hkam/akorn/layers.hpp"
#include "run/experiment.hpp"

namespace hkam::run {

/// Whether the document describes a network run (it has a [network] table).
bool is_network_config(config::Document& doc);

/// Reads and validates the whole config (throws config::ConfigError); fills the resolved
/// document. Touches no file.
void validate_network(config::Document& doc);

/// Validates, runs and writes; prints a summary unless quiet. Returns the exit status
/// (0 success, 1 non-finite values, 2 bad config or input; config errors are printed with the
/// key and place).
int run_network(config::Document doc, const RunOptions& opt, const char* who);

/// The forward pass of a [network] config in memory, nothing written (the Python module's
/// NetworkExperiment.forward). Arrays are channels first, chain-major, in double: per block the
/// true and proxy energies (as akorn::LayerEnergies: (T + 1) × chains); x, the final oscillators,
/// and stimulus, the first block's c, as chains × C × h × w (row-major, one row per chain);
/// features (objects: the readout map, chains × C × h × w; Sudoku: the logits, chains × 9 × 9 × 9)
/// and head (objects: B × C; else empty).
struct NetworkForward {
  std::string precision;
  Index batch = 0, chains = 0, channels = 0, height = 0, width = 0;
  std::vector<akorn::LayerEnergies> energies;
  Eigen::MatrixXd x, stimulus, features, head;  // chains × (rows · h · w), head B × C
  Index feature_rows = 0;
};

/// Runs the network of `doc` (validated as run_network validates it; throws config::ConfigError)
/// on its own inputs, or on `images` (3 × B·S², objects and CIFAR; S the input side) or `boards`
/// (B × 81, digits 0–9 with 0 empty, Sudoku) when not null; the chains' initial oscillators come
/// from the seed (or the noise file). Throws std::invalid_argument for inputs of the wrong shape
/// or kind, std::runtime_error for unreadable files.
NetworkForward forward_network(config::Document doc, const Eigen::MatrixXd* images,
                               const Eigen::MatrixXi* boards);

}  // namespace hkam::run
