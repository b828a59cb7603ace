#include "analysis/segmentation.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>

namespace hkam::analysis {

Scene make_shapes(Index height, Index width, int objects, double noise, Rng& rng) {
  Scene s;
  s.height = height;
  s.width = width;
  s.rgb = Eigen::MatrixXd::Constant(3, height * width, 0.5);
  s.mask.assign(static_cast<std::size_t>(height * width), 0);
  // Well-separated colours, in a random order.
  std::vector<std::array<double, 3>> palette = {{0.9, 0.1, 0.1}, {0.1, 0.8, 0.1}, {0.1, 0.2, 0.9},
                                                {0.9, 0.9, 0.1}, {0.8, 0.1, 0.8}, {0.1, 0.8, 0.8}};
  for (std::size_t i = palette.size(); i > 1; --i)
    std::swap(palette[i - 1], palette[static_cast<std::size_t>(rng.below(i))]);
  for (int o = 0; o < objects; ++o) {
    const std::array<double, 3> colour = palette[static_cast<std::size_t>(o) % palette.size()];
    const double size = (0.2 + 0.15 * rng.uniform()) * static_cast<double>(std::min(height, width));
    const double cy = size / 2 + rng.uniform() * (static_cast<double>(height) - size);
    const double cx = size / 2 + rng.uniform() * (static_cast<double>(width) - size);
    const bool disc = rng.uniform() < 0.5;
    for (Index y = 0; y < height; ++y)
      for (Index x = 0; x < width; ++x) {
        const double dy = static_cast<double>(y) + 0.5 - cy, dx = static_cast<double>(x) + 0.5 - cx;
        const bool in = disc ? dy * dy + dx * dx <= size * size / 4
                             : std::abs(dy) <= size / 2 && std::abs(dx) <= size / 2;
        if (!in) continue;
        for (Index ch = 0; ch < 3; ++ch)
          s.rgb(ch, y * width + x) = colour[static_cast<std::size_t>(ch)];
        s.mask[static_cast<std::size_t>(y * width + x)] = o + 1;
      }
  }
  if (noise > 0)
    for (Index i = 0; i < s.rgb.size(); ++i) s.rgb.data()[i] += noise * rng.normal();
  return s;
}

std::vector<int> kmeans(const Eigen::MatrixXd& points, int k, Rng& rng, int restarts,
                        int iterations) {
  const Index n = points.cols(), d = points.rows();
  std::vector<int> best(static_cast<std::size_t>(n), 0), labels(static_cast<std::size_t>(n), 0);
  double best_inertia = std::numeric_limits<double>::infinity();
  Eigen::MatrixXd centres(d, k), sums(d, k);
  Eigen::VectorXd dist(n), counts(k);
  for (int r = 0; r < restarts; ++r) {
    // k-means++ seeding.
    centres.col(0) = points.col(static_cast<Index>(rng.below(static_cast<std::uint64_t>(n))));
    for (Index i = 0; i < n; ++i) dist[i] = (points.col(i) - centres.col(0)).squaredNorm();
    for (int c = 1; c < k; ++c) {
      const double total = dist.sum();
      double u = rng.uniform() * total;
      Index pick = n - 1;
      for (Index i = 0; i < n; ++i) {
        u -= dist[i];
        if (u <= 0) {
          pick = i;
          break;
        }
      }
      centres.col(c) = points.col(pick);
      for (Index i = 0; i < n; ++i)
        dist[i] = std::min(dist[i], (points.col(i) - centres.col(c)).squaredNorm());
    }
    double inertia = 0;
    for (int it = 0; it < iterations; ++it) {
      bool changed = false;
      inertia = 0;
      for (Index i = 0; i < n; ++i) {
        Index arg = 0;
        const double dmin =
            (centres.colwise() - points.col(i)).colwise().squaredNorm().minCoeff(&arg);
        inertia += dmin;
        if (labels[static_cast<std::size_t>(i)] != static_cast<int>(arg)) changed = true;
        labels[static_cast<std::size_t>(i)] = static_cast<int>(arg);
      }
      sums.setZero();
      counts.setZero();
      for (Index i = 0; i < n; ++i) {
        sums.col(labels[static_cast<std::size_t>(i)]) += points.col(i);
        counts[labels[static_cast<std::size_t>(i)]] += 1;
      }
      for (int c = 0; c < k; ++c)
        if (counts[c] > 0) centres.col(c) = sums.col(c) / counts[c];
      if (!changed && it > 0) break;
    }
    if (inertia < best_inertia) {
      best_inertia = inertia;
      best = labels;
    }
  }
  return best;
}

double adjusted_rand_index(const std::vector<int>& truth, const std::vector<int>& labels,
                           bool foreground_only) {
  std::map<std::pair<int, int>, double> joint;
  std::map<int, double> a, b;
  double n = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    if (foreground_only && truth[i] == 0) continue;
    joint[{truth[i], labels[i]}] += 1;
    a[truth[i]] += 1;
    b[labels[i]] += 1;
    n += 1;
  }
  auto pairs = [](double x) { return x * (x - 1) / 2; };
  double sum_joint = 0, sum_a = 0, sum_b = 0;
  for (const auto& [key, v] : joint) sum_joint += pairs(v);
  for (const auto& [key, v] : a) sum_a += pairs(v);
  for (const auto& [key, v] : b) sum_b += pairs(v);
  const double expected = n > 1 ? sum_a * sum_b / pairs(n) : 0;
  const double max_index = 0.5 * (sum_a + sum_b);
  if (max_index == expected) return 1.0;  // both labellings trivial: identical partitions
  return (sum_joint - expected) / (max_index - expected);
}

}  // namespace hkam::analysis
