#pragma once
// What a training config says ([model] and its tables, [data], [readout], [train], [integrator]),
// read and validated in one pass, and the flat vector of trainable parameters. Internal to hkam.

#include <Eigen/Core>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "config/reader.hpp"
#include "hkam/integrate/batch_solve.hpp"
#include "hkam/models/params.hpp"
#include "hkam/train/optim.hpp"
#include "train/data.hpp"

namespace hkam::run {

enum class TrainLoss { MsePm1, CrossEntropy };

struct TrainSpec {
  config::Document doc;
  std::string output, title, kind;
  std::uint64_t seed = 1;
  HopfieldKuramotoParams params;
  Eigen::MatrixXd sigma0;  ///< M × D initial oscillators (rows normalised before use)
  // [data]
  train::ImageSet train, test;
  train::EditedLabels train_labels, test_labels;
  train::LabelEdit edit;
  bool rotate = false;
  double pixel_mean = 0, pixel_scale = 1;
  // [readout]
  Index readout_first = 0;  ///< the 10 class units are readout_first … readout_first + 9
  TrainLoss loss = TrainLoss::MsePm1;
  // [train]
  std::vector<std::string> trainable;
  OptimizerParams optimizer;
  Index batch = 100;
  long steps = 0;
  long eval_every = 200;
  Index eval_samples = 500;
  double checkpoint_seconds = 60;
  bool final_eval = true;
  bool use_float = true;
  BatchSolveOptions solve;

  long steps_per_epoch() const { return train.count / batch; }
  bool associative() const { return edit.associative; }
};

/// Reads and validates a training config; throws config::ConfigError listing every problem.
/// Loads the data files (errors reported at their keys).
TrainSpec read_train_spec(config::Document doc);

/// The names of the parameter groups `[train] trainable` accepts.
const std::vector<std::string>& parameter_groups();

/// The flat vector θ of the trainable groups, in the order of `spec.trainable`: θ ↔ the parameters
/// (`flatten` / `unflatten`), and a gradient into the same layout.
Eigen::VectorXd flatten(const TrainSpec& spec, const HopfieldKuramotoParams& p,
                        const Eigen::MatrixXd& sigma0);
void unflatten(const TrainSpec& spec, const Eigen::VectorXd& theta, HopfieldKuramotoParams& p,
               Eigen::MatrixXd& sigma0);
Eigen::VectorXd flatten(const TrainSpec& spec, const HkGradient& g, const Eigen::MatrixXd& gsigma0);
/// Sizes of the groups of `spec.trainable`, in order.
std::vector<Index> group_sizes(const TrainSpec& spec);

/// One evaluation: loss and accuracies against the edited targets.
struct Evaluation {
  long step = 0;
  long count = 0;
  double loss = 0, accuracy = 0;
  double accuracy_edited = 0, accuracy_unedited = 0;  ///< NaN when there are none
  long edited = 0;
  std::array<double, 10> per_class{};  ///< accuracy per target class (NaN: no example)
  std::array<std::array<long, 10>, 10> confusion{};  ///< [target][predicted]
};

}  // namespace hkam::run
