#pragma once
// The initial state of a run from its [initial] table (keys in docs/config.md). Internal to hkam;
// used by `hkam run` and `hkam sweep`.

#include <Eigen/Core>
#include <cstdint>

#include "config/reader.hpp"
#include "hkam/hkam.hpp"

namespace hkam::run {

/// Reads [initial] (`s`) for a model of layout `lay`: the unit potentials x (a stored pattern,
/// possibly blended and flipped, random, zero, a file's last state or an IDX image) and the
/// oscillators sigma (random, aligned, a pattern, or a file: a trace's last state or a training
/// file's trained start). Random parts use the stream `kInitial` of `seed`. `cue` is set to the
/// pattern x was made from. Errors are noted in the document (config::ConfigError at check()).
Eigen::VectorXd read_initial(config::Section s, const StateLayout& lay,
                             const Eigen::MatrixXd& patterns, std::uint64_t seed, long& cue);

}  // namespace hkam::run
