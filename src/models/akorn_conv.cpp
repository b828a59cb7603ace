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

  akorn::KLayerConfig kc;
  kc.channels = c;
  kc.osc_dim = n;
  kc.height = s_.height;
  kc.width = s_.width;
  kc.connectivity = akorn::Connectivity::Conv;
  kc.kernel = k;
  kc.c_norm = akorn::StimulusNorm::None;  // the stimulus comes normalised
  kc.use_omega = s_.omega.size() > 0;
  kc.project = s_.project;
  layer_ = akorn::KLayer<double>(kc);
  akorn::ParamStore p;  // the kernel and bias under the K-layer's state_dict names
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> w = s_.weight;
  p.set("connectivity.weight", {c, c, k, k}, {w.data(), w.data() + w.size()});
  p.set("connectivity.bias", {c}, {s_.bias.data(), s_.bias.data() + c});
  if (kc.use_omega)  // placeholder: ω is set directly below, with its sign
    p.set("omg.omg_param", {c / 2, 2}, std::vector<double>(static_cast<std::size_t>(c), 0.0));
  layer_.load(p, "");
  if (kc.use_omega)
    layer_.set_omega(s_.omega.size() == 1 ? Eigen::VectorXd::Constant(c / 2, s_.omega[0])
                                          : s_.omega);
  grid_ = {s_.height, s_.width, 1};
  xb_.resize(c, hw);
  y_.resize(c, hw);
  dx_.resize(c, hw);
}

void ConvAkorn::couple(const Eigen::VectorXd& x) const {
  xb_ = Eigen::Map<const Eigen::MatrixXd>(x.data(), s_.channels, grid_.columns());
  layer_.coupling(xb_, grid_, y_);
}

void ConvAkorn::convolve(const Eigen::VectorXd& x, Eigen::VectorXd& out) const {
  couple(x);
  Eigen::Map<Eigen::MatrixXd>(out.data(), y_.rows(), y_.cols()) = y_.colwise() - s_.bias;
}

void ConvAkorn::operator()(const Eigen::VectorXd& x, Eigen::VectorXd& dxdt, double) const {
  couple(x);
  y_ += s_.stimulus;
  layer_.velocity(xb_, y_, dx_, s_.omega_identity);
  Eigen::Map<Eigen::MatrixXd>(dxdt.data(), dx_.rows(), dx_.cols()) = dx_;
}

EnergyParts ConvAkorn::energy_parts(const Eigen::VectorXd& x) const {
  couple(x);                                         // y_ = W ⋆ x + b
  const double xb = xb_.cwiseProduct(drive_).sum();  // (b + c̃)ᵀx
  const double bias = (s_.bias.transpose() * xb_).sum();
  return {{"coupling", -0.5 * (xb_.cwiseProduct(y_).sum() - bias)}, {"stimulus", -xb}};
}

double ConvAkorn::energy(const Eigen::VectorXd& x) const {
  double e = 0;
  for (const auto& p : energy_parts(x)) e += p.value;
  return e;
}

double ConvAkorn::proxy_energy(const Eigen::VectorXd& x) const {
  couple(x);
  return -xb_.cwiseProduct(y_ + s_.stimulus).sum();
}

double ConvAkorn::kernel_asymmetry() const {
  return akorn::conv_kernel_asymmetry(s_.weight, s_.channels, s_.kernel);
}

Guarantee ConvAkorn::lyapunov() const {
  return layer_.lyapunov();
}

}  // namespace hkam
