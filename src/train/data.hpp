#pragma once
// Image classification data for training through the dynamics (docs/training.md): IDX files (the
// MNIST format, as Debian's dataset-fashion-mnist ships them), label edits and the oscillator
// encoding of context images used by the Hopfield–Kuramoto note's memory-editing experiments.

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <vector>

#include "hkam/core.hpp"
#include "hkam/random.hpp"

namespace hkam::train {

/// An IDX array of unsigned bytes (type code 0x08): its dimensions and its values in row-major
/// order.
struct IdxArray {
  std::vector<std::uint32_t> dims;
  std::vector<std::uint8_t> values;
};

/// Reads an IDX file of unsigned bytes, gzip-compressed or not. Throws std::runtime_error naming
/// the file and the problem: not an IDX file of unsigned bytes (magic number), a dimension of 0,
/// fewer values than the header promises (truncated), or more (trailing data).
IdxArray read_idx(const std::string& path);

/// Labelled images: row r of `pixels` (count × size, bytes 0–255) has label `labels[r]` (0–9).
struct ImageSet {
  Index count = 0, size = 0;  ///< images and pixels per image
  std::vector<std::uint8_t> pixels;
  std::vector<std::uint8_t> labels;

  const std::uint8_t* image(Index r) const { return pixels.data() + r * size; }
};

/// Reads an images file (3 dimensions, count × rows × cols) and its labels file (1 dimension):
/// the counts must agree and every label be 0–9. `limit` > 0 keeps the first `limit` examples.
ImageSet read_image_set(const std::string& images, const std::string& labels, Index limit = 0);

/// How labels are edited (the note's memory-editing tasks): `swap` exchanges classes a and b,
/// `conflation` relabels b as a. An associative edit applies only to the examples whose context
/// image is of class b; the others (context of class a) keep their label.
struct LabelEdit {
  enum class Kind { None, Swap, Conflation } kind = Kind::None;
  int a = 0, b = 1;
  bool associative = false;

  int apply(int label) const;
  /// Empty when valid: a ≠ b, both 0–9, no associative edit without a kind.
  std::string validate() const;
  static Kind kind_from_name(const std::string& name);  ///< none, swap, conflation
};

/// Targets and context images of one split under an edit.
struct EditedLabels {
  std::vector<std::uint8_t> targets;  ///< label to learn, per example
  std::vector<Index> context;  ///< associative: index (same split) of each example's context image
  std::vector<std::uint8_t> edited;  ///< 1 where the target differs from the original label
};

/// Applies `edit` to `set`. Associative edits draw each example's context image from the same
/// split: the first half of a random permutation of the examples gets a context of class a (the
/// label is kept), the second half one of class b (the label is edited); each context is a
/// uniformly drawn image of that class. Throws std::runtime_error when a class has no image.
EditedLabels edit_labels(const ImageSet& set, const LabelEdit& edit, Rng& rng);

/// The note's oscillator encoding of an image (reference digest §4.2) into the rows of `sigma`
/// (M × D, M ≥ size, D ≥ 2): row 0 is the reference oscillator e_1, row 1 + p is pixel p as
/// (p̃, √(1 − p̃²), 0, …) with p̃ = (p/255 − mean)/scale clamped to [−1, 1], for the first size − 1
/// pixels (the last is dropped so that the image takes `size` oscillators), and the remaining
/// rows are e_1.
void encode_image(const std::uint8_t* image, Index size, double mean, double scale,
                  Eigen::Ref<Eigen::MatrixXd> sigma);

/// The mean pixel value (in [0, 1]) of a set and max(p − mean) over its pixels, the p̃ constants.
std::pair<double, double> pixel_mean_and_scale(const ImageSet& set);

}  // namespace hkam::train
