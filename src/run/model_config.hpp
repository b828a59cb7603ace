#pragma once
// Model building from a config: [model] and the tables of its kind ([hopfield], [patterns],
// [kuramoto], [coupling], [akorn], [akorn_conv]; keys in docs/config.md). Shared by the runners
// (`hkam run`, `hkam sweep`, `hkam train`). Internal to hkam.

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "analysis/segmentation.hpp"
#include "config/reader.hpp"
#include "hkam/hkam.hpp"
#include "run/limits.hpp"

namespace hkam::run {

// Independent random streams derived from the master seed (docs/config.md, "Seeds").
enum Stream : std::uint64_t {
  kPatterns = 1,
  kWeights = 2,
  kKuramotoGraph = 3,
  kOmega = 4,
  kCouplingGraph = 5,
  kCouplingWeights = 6,
  kAkorn = 7,
  kInitial = 8,
  kStimulus = 9,
  kConvWeights = 10,
  kScene = 11,
  kClustering = 12,
  kPairCoefficients = 13,
  kTrainLabels = 14,     // label edits and context images (train split)
  kTestLabels = 15,      // the same for the test split
  kTrainOrder = 16,      // the order of the examples, per epoch
  kTrainAugment = 17,    // random global rotations, per update
  kTrainSigmaInit = 18,  // the perturbation of the trainable initial oscillators
};

/// Every model kind a config can build.
using AnyModel = std::variant<Hopfield, Kuramoto, AkornKuramoto, HopfieldKuramoto, ConvAkorn>;

/// A model read from a config, with what its tables made besides the model.
struct ModelConfig {
  std::string kind;          ///< model.kind
  AnyModel model;            ///< the model, with `[model] init_from`'s parameters when given
  analysis::Scene scene;     ///< akorn_conv with a synthetic scene: its image and object mask
  Eigen::MatrixXd patterns;  ///< [patterns] (P×N), empty without
};

/// Reads [model] (kind, init_from) and the tables of that kind from `root`; the tables of the
/// other kinds are reported as irrelevant. `kinds` restricts model.kind (empty: all five).
/// Errors are noted in the document (config::ConfigError at `root.done()`).
ModelConfig read_model(config::Section& root, std::uint64_t seed, Budget& budget,
                       const std::vector<std::string>& kinds = {});

/// Loads into `p` the parameters stored under /model of an hkam trace or training file `path`
/// (hopfield W and b; kuramoto A, B, omega; coupling alpha — those the file has). Every dataset
/// loaded must have the model's size; a failure is reported at key `init_from` of `s`.
void load_parameters(const config::Section& s, const std::string& path, HopfieldKuramotoParams& p);

/// A whitespace-separated matrix of finite numbers in a text file ('#' starts a comment), as
/// weight and pattern files are written; throws std::runtime_error naming file:line.
Eigen::MatrixXd read_text_matrix(const std::string& path);

}  // namespace hkam::run
