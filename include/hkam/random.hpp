#pragma once
/// The one source of randomness in hkam.
///
/// `Rng` is xoshiro256** seeded through SplitMix64. Its uniform, normal and integer draws are
/// written here (not taken from <random>'s distributions, whose output differs between standard
/// libraries), so the same seed gives the same numbers with any compiler. Normals use the
/// Box–Muller transform and therefore go through std::log/std::sqrt/std::cos of the C library.

#include <Eigen/Core>
#include <cstdint>

namespace hkam {

class Rng {
 public:
  explicit Rng(std::uint64_t seed);

  /// Next raw 64-bit output of xoshiro256**.
  std::uint64_t next_u64();
  /// Uniform double in [0, 1) with 53 random bits.
  double uniform();
  /// Uniform double in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Standard normal N(0, 1).
  double normal();
  /// Uniform integer in [0, n), n > 0, without modulo bias.
  std::uint64_t below(std::uint64_t n);
  /// Standard Cauchy (Lorentzian of unit half-width).
  double cauchy();

  /// A seed for an independent stream `stream` derived from `seed` (stable, documented mixing).
  static std::uint64_t derive(std::uint64_t seed, std::uint64_t stream);

 private:
  std::uint64_t s_[4];
  bool has_spare_ = false;
  double spare_ = 0.0;
};

/// n independent N(0, scale²) numbers.
Eigen::VectorXd normal_vector(Rng& rng, Eigen::Index n, double scale = 1.0);
/// rows×cols independent N(0, scale²) numbers.
Eigen::MatrixXd normal_matrix(Rng& rng, Eigen::Index rows, Eigen::Index cols, double scale = 1.0);
/// rows independent ±1 patterns of length cols (each entry ±1 with probability ½).
Eigen::MatrixXd random_pm1(Rng& rng, Eigen::Index rows, Eigen::Index cols);
/// rows independent points drawn uniformly on S^{cols-1}, one per row.
Eigen::MatrixXd random_unit_rows(Rng& rng, Eigen::Index rows, Eigen::Index cols);
/// A D×D skew-symmetric matrix with N(0, scale²) entries above the diagonal.
Eigen::MatrixXd random_skew(Rng& rng, Eigen::Index dim, double scale = 1.0);
/// A Haar-random rotation in SO(D) (QR of a Gaussian matrix with the sign convention fixed).
Eigen::MatrixXd random_rotation(Rng& rng, Eigen::Index dim);

}  // namespace hkam
