#pragma once
// Synthetic multi-object scenes and the clustering metrics used on oscillator states (k-means,
// adjusted Rand index). Internal to hkam.

#include <Eigen/Core>
#include <vector>

#include "hkam/core.hpp"
#include "hkam/random.hpp"

namespace hkam::analysis {

/// An H×W RGB image of `objects` coloured rectangles and discs on a grey background, with the
/// object mask (0 background, 1..K the objects, later ones drawn over earlier ones) and optional
/// Gaussian pixel noise.
struct Scene {
  Index height = 0, width = 0;
  Eigen::MatrixXd rgb;    ///< 3 × H·W, position p = h·W + w
  std::vector<int> mask;  ///< H·W labels
};
Scene make_shapes(Index height, Index width, int objects, double noise, Rng& rng);

/// k-means (Lloyd, k-means++ seeding, best of `restarts` by inertia) on the columns of `points`.
std::vector<int> kmeans(const Eigen::MatrixXd& points, int k, Rng& rng, int restarts = 8,
                        int iterations = 100);

/// Adjusted Rand index of two labellings; with `foreground_only`, points whose `truth` label is 0
/// (background) or −1 (ignored) are left out (FG-ARI, as the reference's evaluation, which maps
/// −1 to 0 first).
double adjusted_rand_index(const std::vector<int>& truth, const std::vector<int>& labels,
                           bool foreground_only = false);

/// The columns of `points` (d × N) projected on their top `dims` principal components (centred,
/// covariance / (N − 1), as the reference's apply_pca_torch); unchanged when d <= dims.
Eigen::MatrixXd pca_reduce(const Eigen::MatrixXd& points, Index dims);

/// Average-linkage agglomerative clustering on Euclidean distances of the columns of `points`,
/// cut into `k` clusters (scipy/fastcluster `average` + `fcluster(maxclust=k)`; with tied merge
/// heights the cut keeps exactly k clusters). O(N²) time and memory (nearest-neighbour chain).
/// Labels 0 … k − 1 numbered by first appearance.
std::vector<int> average_linkage(const Eigen::MatrixXd& points, int k);

/// Bicubic resizing of an RGB image (3 × H·W, p = y·W + x) to out_h × out_w as
/// torch.nn.functional.interpolate(mode="bicubic", align_corners=False): source coordinate
/// (o + ½)·in/out − ½, cubic convolution with A = −0.75 over its four neighbours, each tap's
/// index clamped to the image (tested against torch 1.13).
Eigen::MatrixXd resize_bicubic(const Eigen::MatrixXd& image, Index height, Index width, Index out_h,
                               Index out_w);

/// The index map of torch's nn.Upsample(scale_factor = out/in, mode = "nearest"), as the
/// reference's evaluation upsamples a label map of side `in` to an image of side `out`: the
/// source index of each output row (⌊o·float(in/out)⌋ in single precision, clamped; exact copies
/// and doublings as torch special-cases them). Empty when torch's output size ⌊in·(out/in)⌋,
/// computed in double, is not `out` (then the reference's metrics fail on the size mismatch).
/// Tested against torch 1.13 for every in ≤ 40, out < 260.
std::vector<Index> nearest_upsample_index(Index in, Index out);

/// Mean best overlap: for every object of `truth` (labels other than 0 and −1) the best IoU with
/// any predicted segment, after setting the prediction to −1 wherever truth is −1; the mean over
/// objects (NaN without objects).
double mean_best_overlap(const std::vector<int>& truth, const std::vector<int>& labels);

}  // namespace hkam::analysis
