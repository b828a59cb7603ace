#pragma once
// The [network], [input], [initial], [evaluate] and [record] tables of a network run, read and
// validated into a NetSpec (docs/config.md §network), and the run's memory/trace budget.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "config/reader.hpp"
#include "hkam/akorn/networks.hpp"

namespace hkam::run {

/// The configuration of one of the three networks of the reference.
using NetConfig =
    std::variant<akorn::ObjectNetConfig, akorn::SudokuNetConfig, akorn::CifarNetConfig>;

/// Everything a network run reads from its config.
struct NetSpec {
  std::string precision = "float32", weights;
  NetConfig net;
  int ensemble = 1;
  bool gamma_given = false;
  bool symmetrize = false;
  // input
  std::string input_kind;
  Index batch = 1;
  int objects = 3;
  double pixel_noise = 0;
  int blanks = 40;
  std::string input_file, noise_file;
  // evaluation
  int clusters = 0, uptile = 1;
  std::string cluster_on = "readout";
  bool empty_fg_one = true;  // FG-ARI of an image without foreground: 1 (the reference) or skipped
  int votes = 1;
  std::string vote_score = "last";
  int test_steps = 0;
  // recording
  int state_interval = 1;
  bool store_states = true, store_weights = false;
  // continuous-time K-layers
  std::optional<SimulateOptions> continuous;

  /// network.kind, as the config names it: "objects", "sudoku" or "cifar" (the alternative of net).
  std::string_view kind() const {
    constexpr std::string_view names[] = {"objects", "sudoku", "cifar"};
    return names[net.index()];
  }
  Index channels() const;
  Index osc_dim() const;  ///< the first block's
  int blocks() const;
  double gamma() const;
  int steps(int block) const;  ///< T of a block (Sudoku: evaluate.steps when set)
  /// Chains run per input: Sudoku's E-vote chains, CIFAR's noise draws, else 1.
  int chains_per_input() const;
  const akorn::ObjectNetConfig* objects_config() const {
    return std::get_if<akorn::ObjectNetConfig>(&net);
  }
};

/// Reads the tables of a network run; errors are noted in the document (config::ConfigError
/// at root.done()).
NetSpec read_spec(config::Section& root);

/// Memory and trace size estimated from the sizes, before any weight or activation is allocated.
void check_budget(config::Section& root, const NetSpec& n);

}  // namespace hkam::run
