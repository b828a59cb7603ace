#include "hkam/akorn/layers.hpp"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "akorn/tensor_cast.hpp"

namespace hkam::akorn {

using detail::as_vector;

// ---------------------------------------------------------------------------------------------
// KLayer

template <class T>
KLayer<T>::KLayer(const KLayerConfig& c) : c_(c) {
  if (c.osc_dim < 1 || c.channels < c.osc_dim || c.channels % c.osc_dim != 0)
    throw std::invalid_argument(fmt::format(
        "K-layer: channels ({}) must be a positive multiple of the oscillator dimension n ({})",
        c.channels, c.osc_dim));
  if (c.use_omega && c.osc_dim % 2 != 0)
    throw std::invalid_argument(fmt::format(
        "K-layer: the natural frequency Omega rotates channel pairs and needs an even n, got "
        "n = {} (the reference raises NotImplementedError)",
        c.osc_dim));
  if (c.tokens && (c.height != 1 || (c.connectivity == Connectivity::Conv && c.kernel != 1) ||
                   (c.connectivity == Connectivity::Attention && c.gta)))
    throw std::invalid_argument(
        "K-layer: token inputs need a 1 x tokens grid, a linear J (kernel 1) or attention "
        "without GTA");
  if (c.connectivity == Connectivity::Conv) {
    if (c.kernel < 1 || c.kernel % 2 == 0)
      throw std::invalid_argument(
          fmt::format("K-layer: conv kernel must be odd, got {}", c.kernel));
    conv_ = Conv2d<T>(c.channels, c.channels, c.kernel, 1, c.kernel / 2, true);
    conv_.linear = c.tokens;
  } else {
    attn_ = Attention<T>(c.channels, c.heads, c.gta, c.height, c.width);
    attn_.linear = c.tokens;
  }
  if (c.use_omega) omega_ = Vec<T>::Constant(c.channels / 2, static_cast<T>(c.init_omega));
  norm_w_ = Vec<T>::Ones(c.channels);
  norm_b_ = Vec<T>::Zero(c.channels);
}

template <class T>
void KLayer<T>::specs(std::vector<ParamSpec>& o, const std::string& prefix) const {
  const Index C = c_.channels;
  if (c_.use_omega) {
    const double v = c_.init_omega / std::sqrt(2.0);
    if (c_.global_omega)
      o.push_back({prefix + "omg.omg_param", {2}, Init::Constant, v, {}});
    else
      o.push_back({prefix + "omg.omg_param", {C / 2, 2}, Init::Constant, v, {}});
  }
  if (c_.connectivity == Connectivity::Conv)
    conv_.specs(o, prefix + "connectivity.");
  else
    attn_.specs(o, prefix + "connectivity.");
  if (c_.c_norm == StimulusNorm::GroupNorm) {
    o.push_back({prefix + "c_norm.weight", {C}, Init::Constant, 1.0, {}});
    o.push_back({prefix + "c_norm.bias", {C}, Init::Constant, 0.0, {}});
  } else if (c_.c_norm == StimulusNorm::ScaleAndBias) {
    o.push_back({prefix + "c_norm.scale", {C}, Init::Constant, 1.0, {}});
    o.push_back({prefix + "c_norm.bias", {C}, Init::Constant, 0.0, {}});
  }
}

template <class T>
void KLayer<T>::load(const ParamStore& p, const std::string& prefix) {
  const Index C = c_.channels;
  if (c_.use_omega) {
    if (c_.global_omega) {
      const auto& w = p.get(prefix + "omg.omg_param", {2});
      omega_ = Vec<T>::Constant(C / 2, static_cast<T>(std::hypot(w.values[0], w.values[1])));
    } else {
      const auto& w = p.get(prefix + "omg.omg_param", {C / 2, 2});
      omega_.resize(C / 2);
      for (Index q = 0; q < C / 2; ++q)
        omega_[q] = static_cast<T>(std::hypot(w.values[2 * q], w.values[2 * q + 1]));
    }
  }
  if (c_.connectivity == Connectivity::Conv)
    conv_.load(p, prefix + "connectivity.");
  else
    attn_.load(p, prefix + "connectivity.");
  if (c_.c_norm == StimulusNorm::GroupNorm) {
    norm_w_ = as_vector<T>(p.get(prefix + "c_norm.weight", {C}));
    norm_b_ = as_vector<T>(p.get(prefix + "c_norm.bias", {C}));
  } else if (c_.c_norm == StimulusNorm::ScaleAndBias) {
    norm_w_ = as_vector<T>(p.get(prefix + "c_norm.scale", {C}));
    norm_b_ = as_vector<T>(p.get(prefix + "c_norm.bias", {C}));
  }
}

template <class T>
Guarantee KLayer<T>::lyapunov() const {
  Guarantee g;
  if (c_.connectivity == Connectivity::Attention) {
    g.fail("attention J depends on the state (softmax of x): E is not a Lyapunov function");
  } else if (const double a = conv_kernel_asymmetry(conv_.weight, c_.channels, c_.kernel);
             a > 1e-12) {
    g.fail(
        fmt::format("the conv kernel is not symmetric (W[o][i][d] != W[i][o][-d], relative "
                    "defect {:.3g})",
                    a));
  }
  if (!c_.project) g.fail("the tangent projection is off: not a gradient flow on the spheres");
  if (c_.use_omega && omega_.size() && omega_.cwiseAbs().maxCoeff() > 0)
    g.fail("a rotation Omega is on (the guarantee needs Omega = 0)");
  if (g.guaranteed)
    g.warnings.push_back("the discrete update keeps E non-increasing only for a small enough step");
  return g;
}

template <class T>
double conv_kernel_asymmetry(const Mat<T>& weight, Index channels, Index kernel) {
  const Index kk = kernel * kernel;
  double worst = 0, scale = 0;
  for (Index o = 0; o < channels; ++o)
    for (Index i = 0; i < channels; ++i)
      for (Index t = 0; t < kk; ++t) {  // t = ky·k + kx; −Δ is kk − 1 − t
        const double a = static_cast<double>(weight(o, i * kk + t));
        const double b = static_cast<double>(weight(i, o * kk + (kk - 1 - t)));
        worst = std::max(worst, std::abs(a - b));
        scale = std::max(scale, std::abs(a));
      }
  return scale > 0 ? worst / scale : 0.0;
}

template <class T>
void KLayer<T>::set_omega(const Vec<T>& omega) {
  if (!c_.use_omega || omega.size() != c_.channels / 2)
    throw std::invalid_argument(fmt::format(
        "K-layer: set_omega needs use_omega and one value per channel pair ({}), got {}",
        c_.channels / 2, omega.size()));
  omega_ = omega;
}

template <class T>
const Vec<T>& KLayer<T>::coupling_bias() const {
  return c_.connectivity == Connectivity::Conv ? conv_.bias : attn_.output_bias();
}

template <class T>
void KLayer<T>::normalize_stimulus(const Mat<T>& c, const Grid& g, Mat<T>& out) const {
  out = c;
  if (c_.c_norm == StimulusNorm::None) return;
  if (c_.c_norm == StimulusNorm::ScaleAndBias) {
    out.array().colwise() *= norm_w_.array();
    out.colwise() += norm_b_;
    return;
  }
  // GroupNorm(C/n groups): each group is one oscillator's n channels, normalised jointly over
  // n × H × W per sample with the biased variance, eps 1e-5, then the per-channel affine.
  const Index n = c_.osc_dim, G = c_.channels / n, P = g.positions();
#pragma omp parallel for collapse(2) schedule(static) if (c.size() > 50000)
  for (Index b = 0; b < g.batch; ++b)
    for (Index gi = 0; gi < G; ++gi) {
      const auto blk = c.block(gi * n, b * P, n, P);
      const double cnt = static_cast<double>(n * P);
      double mean = 0;
      for (Index j = 0; j < P; ++j)
        for (Index i = 0; i < n; ++i) mean += static_cast<double>(blk(i, j));
      mean /= cnt;
      double var = 0;
      for (Index j = 0; j < P; ++j)
        for (Index i = 0; i < n; ++i) {
          const double e = static_cast<double>(blk(i, j)) - mean;
          var += e * e;
        }
      var /= cnt;
      const double inv = 1.0 / std::sqrt(var + 1e-5);
      for (Index j = 0; j < P; ++j)
        for (Index i = 0; i < n; ++i) {
          const Index ch = gi * n + i;
          out(ch, b * P + j) =
              static_cast<T>((static_cast<double>(blk(i, j)) - mean) * inv) * norm_w_[ch] +
              norm_b_[ch];
        }
    }
}

template <class T>
void KLayer<T>::coupling(const Mat<T>& x, const Grid& g, Mat<T>& y) const {
  if (c_.connectivity == Connectivity::Conv)
    conv_.forward(x, g, y);
  else
    attn_.forward(x, g, y);
}

template <class T>
void KLayer<T>::velocity(const Mat<T>& x, const Mat<T>& y, Mat<T>& dx, bool radial_quirk) const {
  dx.resize(x.rows(), x.cols());
  // Oscillators of n = 2 and 4 (every released model) get fixed-size vectors the compiler
  // unrolls; other n the same code on dynamic segments.
  switch (c_.osc_dim) {
    case 2:
      velocity_of<2>(x, y, dx, radial_quirk);
      break;
    case 4:
      velocity_of<4>(x, y, dx, radial_quirk);
      break;
    default:
      velocity_of<Eigen::Dynamic>(x, y, dx, radial_quirk);
  }
}

template <class T>
template <int N>
void KLayer<T>::velocity_of(const Mat<T>& x, const Mat<T>& y, Mat<T>& dx, bool radial_quirk) const {
  using V = Eigen::Matrix<T, N, 1>;
  const Index n = c_.osc_dim, G = c_.channels / n, cols = x.cols();
#pragma omp parallel for schedule(static) if (x.size() > 50000)
  for (Index j = 0; j < cols; ++j)
    for (Index gi = 0; gi < G; ++gi) {
      const Index r = gi * n;
      const Eigen::Map<const V> xo(x.col(j).data() + r, n), yo(y.col(j).data() + r, n);
      Eigen::Map<V> d(dx.col(j).data() + r, n);
      if (c_.project)
        d = yo - yo.dot(xo) * xo;
      else
        d = yo;
      if (c_.use_omega) {
        for (Index q = 0; q < n / 2; ++q) {
          const T om = omega_[(r >> 1) + q];
          d[2 * q] += om * xo[2 * q + 1];
          d[2 * q + 1] += -om * xo[2 * q];
        }
      } else if (radial_quirk) {
        d += xo;  // the reference's nn.Identity() "Ω term"
      }
    }
}

template <class T>
void KLayer<T>::normalize(Mat<T>& x) const {
  const Index n = c_.osc_dim, G = c_.channels / n, cols = x.cols();
#pragma omp parallel for schedule(static) if (x.size() > 50000)
  for (Index j = 0; j < cols; ++j)
    for (Index gi = 0; gi < G; ++gi) {
      auto xo = x.col(j).segment(gi * n, n);
      xo /= std::max(xo.norm(), static_cast<T>(1e-12));
    }
}

template <class T>
void KLayer<T>::record_energies(const Mat<T>& x, const Grid& g, int t, int steps,
                                LayerEnergies& e) const {
  // y_ = J(x) + c̃ of x: its energies go to row t (true) and t + 1 (proxy)
  const Vec<T>& bias = coupling_bias();
  const Index P = g.positions();
  for (Index b = 0; b < g.batch; ++b) {
    double s = 0, sb = 0;
    for (Index j = b * P; j < (b + 1) * P; ++j) {
      s += static_cast<double>(x.col(j).dot(y_.col(j)));
      sb += static_cast<double>(x.col(j).dot(ct_.col(j) + bias));
    }
    if (t < steps) e.proxy(t + 1, b) = -s;
    e.energy(t, b) = -0.5 * s - 0.5 * sb;
  }
}

template <class T>
LayerEnergies KLayer<T>::forward(Mat<T>& x, const Mat<T>& c, const Grid& g, int steps, T gamma,
                                 const std::function<void(int, const Mat<T>&)>& observe,
                                 bool final_energy) const {
  if (x.rows() != c_.channels || x.cols() != g.columns() || c.rows() != x.rows() ||
      c.cols() != x.cols())
    throw std::invalid_argument(
        fmt::format("K-layer: state and stimulus must be {} x {}, got {} x {} and {} x {}",
                    c_.channels, g.columns(), x.rows(), x.cols(), c.rows(), c.cols()));
  const Index B = g.batch;
  LayerEnergies e;
  e.proxy = Eigen::MatrixXd::Zero(steps + 1, B);
  e.energy = Eigen::MatrixXd::Zero(steps + 1, B);
  normalize_stimulus(c, g, ct_);
  normalize(x);
  for (int t = 0; t < steps; ++t) {
    if (observe) observe(t, x);
    coupling(x, g, y_);
    y_ += ct_;
    record_energies(x, g, t, steps, e);
    velocity(x, y_, dx_);
    x += gamma * dx_;
    normalize(x);
  }
  if (observe) observe(steps, x);
  if (final_energy) {
    coupling(x, g, y_);
    y_ += ct_;
    record_energies(x, g, steps, steps, e);
  } else {
    e.energy.row(steps).setConstant(std::numeric_limits<double>::quiet_NaN());
  }
  return e;
}

// ---------------------------------------------------------------------------------------------
// ReadOutConv

template <class T>
ReadOutConv<T>::ReadOutConv(Index in, Index out_, Index group_, Index kernel, Index stride,
                            Index padding)
    : conv(in, out_ * group_, kernel, stride, padding, true), out(out_), group(group_) {
  bias = Vec<T>::Zero(out);
}

template <class T>
void ReadOutConv<T>::specs(std::vector<ParamSpec>& o, const std::string& prefix) const {
  conv.specs(o, prefix + "invconv.");
  o.push_back({prefix + "bias", {out}, Init::Constant, 0.0, {}});
}

template <class T>
void ReadOutConv<T>::load(const ParamStore& p, const std::string& prefix) {
  conv.load(p, prefix + "invconv.");
  bias = as_vector<T>(p.get(prefix + "bias", {out}));
}

template <class T>
void ReadOutConv<T>::forward(const Mat<T>& x, const Grid& g, Mat<T>& y) const {
  conv.forward(x, g, z_);
  y.resize(out, z_.cols());
#pragma omp parallel for schedule(static) if (z_.size() > 50000)
  for (Index j = 0; j < z_.cols(); ++j)
    for (Index o = 0; o < out; ++o) y(o, j) = z_.col(j).segment(o * group, group).norm() + bias[o];
}

// ---------------------------------------------------------------------------------------------
// ChannelNorm

template <class T>
ChannelNorm<T>::ChannelNorm(BlockNorm k, Index c) : kind(k), channels(c) {
  if (k == BlockNorm::Group && c % 8 != 0)
    throw std::invalid_argument(fmt::format("GroupNorm(8, C) needs C divisible by 8, got {}", c));
  w_ = Vec<T>::Ones(c);
  b_ = Vec<T>::Zero(c);
  mean_ = Vec<T>::Zero(c);
  var_ = Vec<T>::Ones(c);
}

template <class T>
void ChannelNorm<T>::specs(std::vector<ParamSpec>& o, const std::string& prefix) const {
  if (kind == BlockNorm::None) return;
  o.push_back({prefix + "weight", {channels}, Init::Constant, 1.0, {}});
  o.push_back({prefix + "bias", {channels}, Init::Constant, 0.0, {}});
  if (kind == BlockNorm::Batch) {
    o.push_back({prefix + "running_mean", {channels}, Init::Constant, 0.0, {}});
    o.push_back({prefix + "running_var", {channels}, Init::Constant, 1.0, {}});
    o.push_back({prefix + "num_batches_tracked", {}, Init::Constant, 0.0, {}});
  }
}

template <class T>
void ChannelNorm<T>::load(const ParamStore& p, const std::string& prefix) {
  if (kind == BlockNorm::None) return;
  w_ = as_vector<T>(p.get(prefix + "weight", {channels}));
  b_ = as_vector<T>(p.get(prefix + "bias", {channels}));
  if (kind == BlockNorm::Batch) {
    mean_ = as_vector<T>(p.get(prefix + "running_mean", {channels}));
    var_ = as_vector<T>(p.get(prefix + "running_var", {channels}));
  }
}

template <class T>
void ChannelNorm<T>::apply(Mat<T>& x, const Grid& g) const {
  if (kind == BlockNorm::None) return;
  if (kind == BlockNorm::Batch) {
    const Vec<T> scale = (w_.array() / (var_.array() + T(1e-5)).sqrt()).matrix();
    const Vec<T> shift = (b_.array() - mean_.array() * scale.array()).matrix();
    x.array().colwise() *= scale.array();
    x.colwise() += shift;
    return;
  }
  const Index per = channels / 8, P = g.positions();
#pragma omp parallel for collapse(2) schedule(static) if (x.size() > 50000)
  for (Index b = 0; b < g.batch; ++b)
    for (Index gi = 0; gi < 8; ++gi) {
      auto blk = x.block(gi * per, b * P, per, P);
      double mean = 0, var = 0;
      for (Index j = 0; j < P; ++j)
        for (Index i = 0; i < per; ++i) mean += static_cast<double>(blk(i, j));
      mean /= static_cast<double>(per * P);
      for (Index j = 0; j < P; ++j)
        for (Index i = 0; i < per; ++i) {
          const double e = static_cast<double>(blk(i, j)) - mean;
          var += e * e;
        }
      const double inv = 1.0 / std::sqrt(var / static_cast<double>(per * P) + 1e-5);
      for (Index j = 0; j < P; ++j)
        for (Index i = 0; i < per; ++i)
          blk(i, j) =
              static_cast<T>((static_cast<double>(blk(i, j)) - mean) * inv) * w_[gi * per + i] +
              b_[gi * per + i];
    }
}

template <class T>
void relu(Mat<T>& m) {
  m = m.cwiseMax(T(0));
}

template class KLayer<float>;
template class KLayer<double>;
template class ChannelNorm<float>;
template class ChannelNorm<double>;
template class ReadOutConv<float>;
template class ReadOutConv<double>;
template void relu<float>(Mat<float>&);
template void relu<double>(Mat<double>&);
template double conv_kernel_asymmetry<float>(const Mat<float>&, Index, Index);
template double conv_kernel_asymmetry<double>(const Mat<double>&, Index, Index);

}  // namespace hkam::akorn
