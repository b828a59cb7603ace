#include "hkam/models/akorn_conv.hpp"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

namespace hkam {

Eigen::MatrixXd symmetrized_kernel(const Eigen::MatrixXd& weight, Index channels, Index kernel) {
  const Index kk = kernel * kernel;
  Eigen::MatrixXd w(weight.rows(), weight.cols());
  for (Index o = 0; o < channels; ++o)
    for (Index i = 0; i < channels; ++i)
      for (Index t = 0; t < kk; ++t)  // t = ky·k + kx; −Δ is kk − 1 − t
        w(o, i * kk + t) = 0.5 * (weight(o, i * kk + t) + weight(i, o * kk + (kk - 1 - t)));
  return w;
}

ConvAkorn::ConvAkorn(ConvAkornSpec spec) : s_(std::move(spec)) {
  const Index c = s_.channels, n = s_.osc_dim, k = s_.kernel, hw = s_.height * s_.width;
  if (n < 2 || c < n || c % n != 0)
    throw std::invalid_argument(fmt::format(
        "ConvAkorn: channels ({}) must be a positive multiple of the oscillator dimension ({})", c,
        n));
  if (s_.height < 1 || s_.width < 1) throw std::invalid_argument("ConvAkorn: empty grid");
  if (k < 1 || k % 2 == 0)
    throw std::invalid_argument(fmt::format("ConvAkorn: kernel must be odd, got {}", k));
  if (s_.weight.rows() != c || s_.weight.cols() != c * k * k)
    throw std::invalid_argument(
        fmt::format("ConvAkorn: weight must be {} x {} (C x C*k*k), got {} x {}", c, c * k * k,
                    s_.weight.rows(), s_.weight.cols()));
  if (s_.bias.size() == 0) s_.bias = Eigen::VectorXd::Zero(c);
  if (s_.bias.size() != c) throw std::invalid_argument("ConvAkorn: bias must have C entries");
  if (s_.stimulus.size() == 0) s_.stimulus = Eigen::MatrixXd::Zero(c, hw);
  if (s_.stimulus.rows() != c || s_.stimulus.cols() != hw)
    throw std::invalid_argument(
        fmt::format("ConvAkorn: stimulus must be {} x {} (C x H*W)", c, hw));
  if (s_.omega.size() && n % 2 != 0)
    throw std::invalid_argument(fmt::format(
        "ConvAkorn: a rotation Omega needs an even oscillator dimension, got n = {}", n));
  if (s_.omega.size() && s_.omega.size() != 1 && s_.omega.size() != c / 2)
    throw std::invalid_argument("ConvAkorn: omega must have one value or one per channel pair");
  if (s_.omega.size() && s_.omega_identity)
    throw std::invalid_argument("ConvAkorn: omega and omega_identity exclude each other");
  drive_ = s_.stimulus;
  drive_.colwise() += s_.bias;
  cols_.resize(c * k * k, hw);
  y_.resize(dim());
}

void ConvAkorn::convolve(const Eigen::VectorXd& x, Eigen::VectorXd& out) const {
  const Index c = s_.channels, k = s_.kernel, h = s_.height, w = s_.width, r = k / 2;
  const Eigen::Map<const Eigen::MatrixXd> xm(x.data(), c, h * w);
  // im2col: row (i·k + ky)·k + kx, column p = (y, x) holds x[i] at (y + ky − r, x + kx − r).
#pragma omp parallel for schedule(static) if (h * w * c * k * k > 200000)
  for (Index p = 0; p < h * w; ++p) {
    const Index py = p / w, px = p % w;
    for (Index ky = 0; ky < k; ++ky)
      for (Index kx = 0; kx < k; ++kx) {
        const Index qy = py + ky - r, qx = px + kx - r;
        const bool inside = qy >= 0 && qy < h && qx >= 0 && qx < w;
        const Index q = qy * w + qx;
        for (Index i = 0; i < c; ++i) cols_((i * k + ky) * k + kx, p) = inside ? xm(i, q) : 0.0;
      }
  }
  Eigen::Map<Eigen::MatrixXd> ym(out.data(), c, h * w);
  ym.noalias() = s_.weight * cols_;
}

void ConvAkorn::operator()(const Eigen::VectorXd& x, Eigen::VectorXd& dxdt, double) const {
  convolve(x, y_);
  const Index c = s_.channels, n = s_.osc_dim, hw = s_.height * s_.width, g = c / n;
  Eigen::Map<Eigen::MatrixXd>(y_.data(), c, hw) += drive_;
  const bool global = s_.omega.size() == 1;
#pragma omp parallel for schedule(static) if (hw * c > 100000)
  for (Index p = 0; p < hw; ++p)
    for (Index gi = 0; gi < g; ++gi) {
      const Index off = p * c + gi * n;
      const auto xo = x.segment(off, n);
      const auto yo = y_.segment(off, n);
      auto out = dxdt.segment(off, n);
      if (s_.project)
        out = yo - yo.dot(xo) * xo;
      else
        out = yo;
      if (s_.omega_identity) out += xo;
      if (s_.omega.size())
        for (Index q = 0; q < n / 2; ++q) {
          const double om = global ? s_.omega[0] : s_.omega[(gi * n) / 2 + q];
          out[2 * q] += om * xo[2 * q + 1];
          out[2 * q + 1] -= om * xo[2 * q];
        }
    }
}

EnergyParts ConvAkorn::energy_parts(const Eigen::VectorXd& x) const {
  convolve(x, y_);
  const Eigen::Map<const Eigen::VectorXd> drive(drive_.data(), drive_.size());
  return {{"coupling", -0.5 * x.dot(y_)}, {"stimulus", -drive.dot(x)}};
}

double ConvAkorn::energy(const Eigen::VectorXd& x) const {
  double e = 0;
  for (const auto& p : energy_parts(x)) e += p.value;
  return e;
}

double ConvAkorn::proxy_energy(const Eigen::VectorXd& x) const {
  convolve(x, y_);
  const Eigen::Map<const Eigen::VectorXd> drive(drive_.data(), drive_.size());
  return -x.dot(y_) - drive.dot(x);
}

double ConvAkorn::kernel_asymmetry() const {
  const Index c = s_.channels, k = s_.kernel;
  double worst = 0, scale = 0;
  for (Index o = 0; o < c; ++o)
    for (Index i = 0; i < c; ++i)
      for (Index ky = 0; ky < k; ++ky)
        for (Index kx = 0; kx < k; ++kx) {
          const double a = s_.weight(o, (i * k + ky) * k + kx);
          const double b = s_.weight(i, (o * k + (k - 1 - ky)) * k + (k - 1 - kx));
          worst = std::max(worst, std::abs(a - b));
          scale = std::max(scale, std::abs(a));
        }
  return scale > 0 ? worst / scale : 0.0;
}

Guarantee ConvAkorn::lyapunov() const {
  Guarantee g;
  if (const double a = kernel_asymmetry(); a > 1e-12)
    g.fail(
        fmt::format("the convolution kernel is not symmetric (W[o][i][d] != W[i][o][-d], "
                    "relative defect {:.3g})",
                    a));
  if (!s_.project) g.fail("the tangent projection is off: not a gradient flow on the spheres");
  if (s_.omega.size() && s_.omega.cwiseAbs().maxCoeff() > 0)
    g.fail("a rotation Omega is on (the guarantee needs Omega to commute with J and Omega c = 0)");
  return g;
}

}  // namespace hkam
