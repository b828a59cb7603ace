#include "hkam/random.hpp"

#include <Eigen/LU>
#include <Eigen/QR>
#include <cmath>
#include <numbers>

namespace hkam {
namespace {

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::uint64_t rotl(std::uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

}  // namespace

Rng::Rng(std::uint64_t seed) {
  std::uint64_t sm = seed;
  for (auto& s : s_) s = splitmix64(sm);
}

std::uint64_t Rng::next_u64() {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() {
  return static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
}

double Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  // 1 - u lies in (0, 1], so the logarithm is finite.
  const double u1 = 1.0 - uniform();
  const double u2 = uniform();
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double phi = 2.0 * std::numbers::pi * u2;
  spare_ = r * std::sin(phi);
  has_spare_ = true;
  return r * std::cos(phi);
}

std::uint64_t Rng::below(std::uint64_t n) {
  // Rejection from the largest multiple of n that fits: exact and independent of the platform.
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  std::uint64_t r;
  do {
    r = next_u64();
  } while (r >= limit);
  return r % n;
}

double Rng::cauchy() {
  double u;
  do {
    u = uniform();
  } while (u == 0.0);
  return std::tan(std::numbers::pi * (u - 0.5));
}

std::uint64_t Rng::derive(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t state = seed ^ (0xD1B54A32D192ED03ULL * (stream + 1));
  splitmix64(state);
  return splitmix64(state);
}

Eigen::VectorXd normal_vector(Rng& rng, Eigen::Index n, double scale) {
  Eigen::VectorXd v(n);
  for (Eigen::Index i = 0; i < n; ++i) v[i] = scale * rng.normal();
  return v;
}

Eigen::MatrixXd normal_matrix(Rng& rng, Eigen::Index rows, Eigen::Index cols, double scale) {
  Eigen::MatrixXd m(rows, cols);
  // Row by row, so a matrix's entries come in reading order whatever Eigen's storage order.
  for (Eigen::Index i = 0; i < rows; ++i)
    for (Eigen::Index j = 0; j < cols; ++j) m(i, j) = scale * rng.normal();
  return m;
}

Eigen::MatrixXd random_pm1(Rng& rng, Eigen::Index rows, Eigen::Index cols) {
  Eigen::MatrixXd m(rows, cols);
  for (Eigen::Index i = 0; i < rows; ++i)
    for (Eigen::Index j = 0; j < cols; ++j) m(i, j) = (rng.next_u64() >> 63) ? 1.0 : -1.0;
  return m;
}

Eigen::MatrixXd random_unit_rows(Rng& rng, Eigen::Index rows, Eigen::Index cols) {
  Eigen::MatrixXd m = normal_matrix(rng, rows, cols);
  for (Eigen::Index i = 0; i < rows; ++i) {
    double n = m.row(i).norm();
    while (n == 0.0) {  // probability zero, but never divide by it
      for (Eigen::Index j = 0; j < cols; ++j) m(i, j) = rng.normal();
      n = m.row(i).norm();
    }
    m.row(i) /= n;
  }
  return m;
}

Eigen::MatrixXd random_skew(Rng& rng, Eigen::Index dim, double scale) {
  Eigen::MatrixXd m = Eigen::MatrixXd::Zero(dim, dim);
  for (Eigen::Index i = 0; i < dim; ++i)
    for (Eigen::Index j = i + 1; j < dim; ++j) {
      m(i, j) = scale * rng.normal();
      m(j, i) = -m(i, j);
    }
  return m;
}

Eigen::MatrixXd random_rotation(Rng& rng, Eigen::Index dim) {
  const Eigen::MatrixXd a = normal_matrix(rng, dim, dim);
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(a);
  Eigen::MatrixXd q = qr.householderQ();
  const Eigen::MatrixXd r = qr.matrixQR().triangularView<Eigen::Upper>();
  // Fix column signs so Q is Haar-distributed, then flip one column if needed for det = +1.
  for (Eigen::Index j = 0; j < dim; ++j)
    if (r(j, j) < 0) q.col(j) *= -1.0;
  if (q.determinant() < 0) q.col(0) *= -1.0;
  return q;
}

}  // namespace hkam
