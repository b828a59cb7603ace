#pragma once
// `hkam train`: training a Hopfield or Hopfield–Kuramoto model through its dynamics on labelled
// images ([data], [readout], [train] in docs/config.md; the file in docs/training.md). Internal to
// hkam.

#include <string>
#include <utility>
#include <vector>

#include "config/reader.hpp"
#include "run/experiment.hpp"

namespace hkam::run {

/// Trains the model of `doc` and writes the training file (options.output or the config's
/// `output`); returns the exit status (0 done, 1 the training failed — a non-finite loss or
/// solver failure, the file keeps what was done — 2 bad input, 128 + signal when interrupted,
/// after a checkpoint). Prints a summary unless quiet.
int train(config::Document doc, const RunOptions& options);

/// Continues the training stored in `path` from its last checkpoint (bit-identically).
int resume_training(const std::string& path, const RunOptions& options);

/// Whether `path` is an hkam training file (root attribute `file_kind` = "training").
bool is_training_file(const std::string& path);

/// What `hkam info` prints about a training file: (label, text) lines. Throws when unreadable.
std::vector<std::pair<std::string, std::string>> training_info(const std::string& path);

}  // namespace hkam::run
