#include "analysis/segmentation.hpp"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>

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
    if (foreground_only && truth[i] <= 0) continue;  // background 0 and ignored −1
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

Eigen::MatrixXd pca_reduce(const Eigen::MatrixXd& points, Index dims) {
  if (points.rows() <= dims) return points;
  const Eigen::MatrixXd centred = points.colwise() - points.rowwise().mean();
  const Eigen::MatrixXd cov =
      centred * centred.transpose() / static_cast<double>(std::max<Index>(points.cols() - 1, 1));
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(cov);
  // eigenvalues ascending: the last `dims` eigenvectors, largest first
  const Eigen::MatrixXd top = es.eigenvectors().rightCols(dims).rowwise().reverse();
  return top.transpose() * centred;
}

std::vector<int> average_linkage(const Eigen::MatrixXd& points, int k) {
  const Index n = points.cols();
  std::vector<int> labels(static_cast<std::size_t>(n));
  if (n == 0) return labels;
  if (k < 1) throw std::invalid_argument("average_linkage: k must be at least 1");
  // Pairwise distances, updated in place by the Lance-Williams rule for average linkage.
  const Eigen::VectorXd sq = points.colwise().squaredNorm().transpose();
  Eigen::MatrixXd d = (-2.0 * points.transpose() * points).colwise() + sq;
  d.rowwise() += sq.transpose();
  d = d.cwiseMax(0.0).cwiseSqrt();
  std::vector<double> size(static_cast<std::size_t>(n), 1.0);
  std::vector<char> active(static_cast<std::size_t>(n), 1);
  struct Merge {
    Index a, b;
    double h;
  };
  std::vector<Merge> merges;
  std::vector<Index> chain;
  Index left = n;
  while (left > 1) {
    if (chain.empty())
      for (Index i = 0; i < n; ++i)
        if (active[static_cast<std::size_t>(i)]) {
          chain.push_back(i);
          break;
        }
    const Index a = chain.back();
    const Index prev = chain.size() >= 2 ? chain[chain.size() - 2] : -1;
    Index best = prev;
    double best_d = prev >= 0 ? d(a, prev) : std::numeric_limits<double>::infinity();
    for (Index j = 0; j < n; ++j)
      if (j != a && active[static_cast<std::size_t>(j)] && d(a, j) < best_d) {
        best_d = d(a, j);
        best = j;
      }
    if (best == prev) {  // reciprocal nearest neighbours: merge b into a
      chain.pop_back();
      chain.pop_back();
      const Index b = prev;
      const double sa = size[static_cast<std::size_t>(a)], sb = size[static_cast<std::size_t>(b)];
      for (Index j = 0; j < n; ++j)
        if (active[static_cast<std::size_t>(j)] && j != a && j != b) {
          const double v = (sa * d(a, j) + sb * d(b, j)) / (sa + sb);
          d(a, j) = d(j, a) = v;
        }
      size[static_cast<std::size_t>(a)] = sa + sb;
      active[static_cast<std::size_t>(b)] = 0;
      merges.push_back({a, b, best_d});
      --left;
    } else {
      chain.push_back(best);
    }
  }
  std::stable_sort(merges.begin(), merges.end(),
                   [](const Merge& x, const Merge& y) { return x.h < y.h; });
  std::vector<Index> parent(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) parent[static_cast<std::size_t>(i)] = i;
  const auto find = [&](Index i) {
    while (parent[static_cast<std::size_t>(i)] != i)
      i = parent[static_cast<std::size_t>(i)] =
          parent[static_cast<std::size_t>(parent[static_cast<std::size_t>(i)])];
    return i;
  };
  const Index apply = std::max<Index>(0, n - k);
  for (Index m = 0; m < apply && m < static_cast<Index>(merges.size()); ++m)
    parent[static_cast<std::size_t>(find(merges[static_cast<std::size_t>(m)].b))] =
        find(merges[static_cast<std::size_t>(m)].a);
  std::map<Index, int> ids;
  for (Index i = 0; i < n; ++i) {
    const Index r = find(i);
    const auto it = ids.emplace(r, static_cast<int>(ids.size())).first;
    labels[static_cast<std::size_t>(i)] = it->second;
  }
  return labels;
}

double mean_best_overlap(const std::vector<int>& truth, const std::vector<int>& labels) {
  std::map<int, double> area_t, area_p;
  std::map<std::pair<int, int>, double> inter;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    const int t = truth[i], p = t == -1 ? -1 : labels[i];
    area_t[t] += 1;
    area_p[p] += 1;
    inter[{t, p}] += 1;
  }
  double sum = 0;
  int objects = 0;
  for (const auto& [t, at] : area_t) {
    if (t == 0 || t == -1) continue;
    double best = 0;
    for (const auto& [p, ap] : area_p) {
      if (p == -1) continue;
      const auto it = inter.find({t, p});
      const double in = it == inter.end() ? 0.0 : it->second;
      best = std::max(best, in / (at + ap - in));
    }
    sum += best;
    ++objects;
  }
  return objects ? sum / objects : std::numeric_limits<double>::quiet_NaN();
}

namespace {
// torch's cubic convolution coefficients (A = −0.75) for the four neighbours of fraction t
std::array<double, 4> cubic_weights(double t) {
  constexpr double A = -0.75;
  const auto near = [](double x) { return ((A + 2) * x - (A + 3)) * x * x + 1; };
  const auto far = [](double x) { return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; };
  return {far(t + 1), near(t), near(1 - t), far(2 - t)};
}

// source index and fraction of output index o (torch's area_pixel_compute_source_index with
// cubic = true, then guard_index_and_lambda)
std::pair<Index, double> cubic_source(Index o, Index in, Index out) {
  const double real =
      (static_cast<double>(o) + 0.5) * static_cast<double>(in) / static_cast<double>(out) - 0.5;
  // floor may be −1 at the left edge: the four taps are clamped to the image when read
  const Index idx = std::min<Index>(static_cast<Index>(std::floor(real)), in - 1);
  const double t = std::min(std::max(real - static_cast<double>(idx), 0.0), 1.0);
  return {idx, t};
}
}  // namespace

Eigen::MatrixXd resize_bicubic(const Eigen::MatrixXd& image, Index height, Index width, Index out_h,
                               Index out_w) {
  Eigen::MatrixXd out(image.rows(), out_h * out_w);
  const auto clampi = [](Index v, Index n) {
    return std::min<Index>(std::max<Index>(v, 0), n - 1);
  };
  for (Index oy = 0; oy < out_h; ++oy) {
    const auto [iy, ty] = cubic_source(oy, height, out_h);
    const auto wy = cubic_weights(ty);
    for (Index ox = 0; ox < out_w; ++ox) {
      const auto [ix, tx] = cubic_source(ox, width, out_w);
      const auto wx = cubic_weights(tx);
      for (Index c = 0; c < image.rows(); ++c) {
        double acc = 0;
        for (int a = 0; a < 4; ++a) {
          const Index y = clampi(iy - 1 + a, height);
          double row = 0;
          for (int b = 0; b < 4; ++b)
            row +=
                wx[static_cast<std::size_t>(b)] * image(c, y * width + clampi(ix - 1 + b, width));
          acc += wy[static_cast<std::size_t>(a)] * row;
        }
        out(c, oy * out_w + ox) = acc;
      }
    }
  }
  return out;
}

std::vector<Index> nearest_upsample_index(Index in, Index out) {
  const double scale = static_cast<double>(out) / static_cast<double>(in);
  if (static_cast<Index>(static_cast<double>(in) * scale) != out) return {};
  std::vector<Index> src(static_cast<std::size_t>(out));
  const auto inverse = static_cast<float>(1.0 / scale);
  for (Index o = 0; o < out; ++o)
    src[static_cast<std::size_t>(o)] =
        out == in ? o
        : out == 2 * in
            ? o / 2
            : std::min(static_cast<Index>(std::floor(static_cast<float>(o) * inverse)), in - 1);
  return src;
}

}  // namespace hkam::analysis
