#include "hkam/akorn/layers.hpp"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace hkam::akorn {

namespace {

/// A torch tensor stored row-major as an Eigen matrix rows × cols (rows = first dimension).
template <class T>
Mat<T> as_matrix(const Param& p, Index rows, Index cols) {
  Mat<T> m(rows, cols);
  for (Index r = 0; r < rows; ++r)
    for (Index c = 0; c < cols; ++c) m(r, c) = static_cast<T>(p.values[r * cols + c]);
  return m;
}

template <class T>
Vec<T> as_vector(const Param& p) {
  Vec<T> v(static_cast<Index>(p.values.size()));
  for (Index i = 0; i < v.size(); ++i) v[i] = static_cast<T>(p.values[i]);
  return v;
}

double fan_in_bound(Index fan_in) {
  return 1.0 / std::sqrt(static_cast<double>(fan_in));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Conv2d

template <class T>
Conv2d<T>::Conv2d(Index in_, Index out_, Index kernel_, Index stride_, Index padding_, bool bias_)
    : in(in_), out(out_), kernel(kernel_), stride(stride_), padding(padding_), has_bias(bias_) {
  if (in < 1 || out < 1 || kernel < 1 || stride < 1 || padding < 0)
    throw std::invalid_argument(fmt::format("Conv2d({}, {}, k={}, s={}, p={}): bad sizes", in, out,
                                            kernel, stride, padding));
  weight = Mat<T>::Zero(out, in * kernel * kernel);
  bias = Vec<T>::Zero(out);
}

template <class T>
void Conv2d<T>::specs(std::vector<ParamSpec>& o, const std::string& prefix) const {
  const double a = fan_in_bound(in * kernel * kernel);
  o.push_back({prefix + "weight",
               linear ? std::vector<Index>{out, in} : std::vector<Index>{out, in, kernel, kernel},
               Init::Uniform,
               a,
               {}});
  if (has_bias) o.push_back({prefix + "bias", {out}, Init::Uniform, a, {}});
}

template <class T>
void Conv2d<T>::load(const ParamStore& p, const std::string& prefix) {
  const std::vector<Index> shape =
      linear ? std::vector<Index>{out, in} : std::vector<Index>{out, in, kernel, kernel};
  weight = as_matrix<T>(p.get(prefix + "weight", shape), out, in * kernel * kernel);
  bias = has_bias ? as_vector<T>(p.get(prefix + "bias", {out})) : Vec<T>::Zero(out);
}

template <class T>
Grid Conv2d<T>::output_grid(const Grid& g) const {
  Grid o = g;
  o.height = (g.height + 2 * padding - kernel) / stride + 1;
  o.width = (g.width + 2 * padding - kernel) / stride + 1;
  if (o.height < 1 || o.width < 1 || g.height + 2 * padding < kernel ||
      g.width + 2 * padding < kernel)
    throw std::invalid_argument(fmt::format("Conv2d: a {}x{} grid is smaller than the kernel {}",
                                            g.height, g.width, kernel));
  return o;
}

template <class T>
void Conv2d<T>::forward(const Mat<T>& x, const Grid& g, Mat<T>& y) const {
  if (x.rows() != in || x.cols() != g.columns())
    throw std::invalid_argument(fmt::format("Conv2d: input is {} x {}, expected {} x {}", x.rows(),
                                            x.cols(), in, g.columns()));
  const Grid og = output_grid(g);
  if (kernel == 1 && stride == 1 && padding == 0) {
    y.noalias() = weight * x;
  } else {
    // im2col + GEMM in blocks of output positions, one block per thread at a time: each block's
    // column buffer (in·k² × nb) stays a few MB instead of in·k² × B·H·W for the whole batch.
    const Index k = kernel, h = g.height, w = g.width, ow = og.width;
    const Index P = g.positions(), oP = og.positions(), rows = in * k * k, n_out = og.columns();
    const Index nb = std::clamp<Index>((Index{1} << 19) / rows, 64, 1024);  // ~2 MB blocks
    const Index blocks = (n_out + nb - 1) / nb;
    y.resize(out, n_out);
    const int threads = omp_get_max_threads();
    if (static_cast<int>(cols_.size()) < threads) cols_.resize(static_cast<std::size_t>(threads));
    // The column buffer orders its rows (ky, kx, i), so each kernel offset copies one contiguous
    // input column; the weight's columns are reordered to match (torch's order is (i, ky, kx)).
    wk_.resize(out, rows);
    for (Index i = 0; i < in; ++i)
      for (Index t = 0; t < k * k; ++t) wk_.col(t * in + i) = weight.col(i * k * k + t);
    const auto im2col = [&](Mat<T>& cols, Index c0, Index m, bool parallel) {
#pragma omp parallel for schedule(static) if (parallel)
      for (Index j = 0; j < m; ++j) {
        const Index col = c0 + j, b = col / oP, op = col % oP, oy = op / ow, ox = op % ow;
        for (Index ky = 0; ky < k; ++ky)
          for (Index kx = 0; kx < k; ++kx) {
            const Index iy = oy * stride + ky - padding, ix = ox * stride + kx - padding;
            auto dst = cols.col(j).segment((ky * k + kx) * in, in);
            if (iy >= 0 && iy < h && ix >= 0 && ix < w)
              dst = x.col(b * P + iy * w + ix);
            else
              dst.setZero();
          }
      }
    };
    if (blocks >= 2 * threads) {  // many blocks: one per thread at a time, single-threaded GEMMs
#pragma omp parallel for schedule(dynamic)
      for (Index blk = 0; blk < blocks; ++blk) {
        Mat<T>& cols = cols_[static_cast<std::size_t>(omp_get_thread_num())];
        cols.resize(rows, nb);
        const Index c0 = blk * nb, m = std::min(nb, n_out - c0);
        im2col(cols, c0, m, false);
        y.middleCols(c0, m).noalias() = wk_ * cols.leftCols(m);
      }
    } else {  // few blocks: threads share each block's im2col and (in Eigen) its GEMM
      Mat<T>& cols = cols_[0];
      cols.resize(rows, nb);
      for (Index blk = 0; blk < blocks; ++blk) {
        const Index c0 = blk * nb, m = std::min(nb, n_out - c0);
        im2col(cols, c0, m, threads > 1 && m * rows > 50000);
        y.middleCols(c0, m).noalias() = wk_ * cols.leftCols(m);
      }
    }
  }
  if (has_bias) y.colwise() += bias;
}

std::vector<double> symmetrized_conv_weight(const Param& w) {
  if (w.shape.size() != 4 || w.shape[0] != w.shape[1] || w.shape[2] != w.shape[3])
    throw std::invalid_argument("symmetrized_conv_weight: expected a [C, C, k, k] weight, got " +
                                shape_string(w.shape));
  const Index C = w.shape[0], k = w.shape[2];
  const auto at = [&](Index o, Index i, Index y, Index x) {
    return static_cast<std::size_t>(((o * C + i) * k + y) * k + x);
  };
  std::vector<double> s(w.values.size());
  for (Index o = 0; o < C; ++o)
    for (Index i = 0; i < C; ++i)
      for (Index y = 0; y < k; ++y)
        for (Index x = 0; x < k; ++x)
          s[at(o, i, y, x)] =
              0.5 * (w.values[at(o, i, y, x)] + w.values[at(i, o, k - 1 - y, k - 1 - x)]);
  return s;
}

// ---------------------------------------------------------------------------------------------
// GTA

std::vector<double> gta_rotations(Index height, Index width, Index head_dim) {
  const Index F = head_dim / 4 + (head_dim % 4 != 0 ? 1 : 0), pairs = head_dim / 2;
  std::vector<double> m(static_cast<std::size_t>(height * width * pairs * 4));
  for (Index r = 0; r < height; ++r)
    for (Index c = 0; c < width; ++c)
      for (Index p = 0; p < pairs; ++p) {
        const Index f = p / 2;
        const double freq = std::exp(static_cast<double>(2 * f) * -(std::log(10000.0) / (2 * F)));
        const double th = static_cast<double>(p % 2 == 0 ? r : c) * freq;
        double* e = &m[static_cast<std::size_t>(((r * width + c) * pairs + p) * 4)];
        e[0] = std::cos(th);
        e[1] = -std::sin(th);
        e[2] = std::sin(th);
        e[3] = std::cos(th);
      }
  return m;
}

template <class T>
std::vector<T> resize_bilinear(const T* in, Index channels, Index height, Index width, Index out_h,
                               Index out_w) {
  // torch's upsample_bilinear2d: source coordinate (o + ½)·in/out − ½, clamped at 0; the upper
  // neighbour is clamped to the last row/column.
  struct Tap {
    Index i0, i1;
    T w0, w1;
  };
  const auto taps = [](Index n, Index out) {
    std::vector<Tap> t(static_cast<std::size_t>(out));
    const T scale = static_cast<T>(n) / static_cast<T>(out);
    for (Index o = 0; o < out; ++o) {
      const T src = std::max(scale * (static_cast<T>(o) + T(0.5)) - T(0.5), T(0));
      const auto i0 = static_cast<Index>(src);
      const T l1 = src - static_cast<T>(i0);
      t[static_cast<std::size_t>(o)] = {i0, i0 < n - 1 ? i0 + 1 : i0, T(1) - l1, l1};
    }
    return t;
  };
  const auto ty = taps(height, out_h), tx = taps(width, out_w);
  std::vector<T> out(static_cast<std::size_t>(out_h * out_w * channels));
  const auto at = [&](Index y, Index x, Index c) { return in[(y * width + x) * channels + c]; };
  for (Index y = 0; y < out_h; ++y)
    for (Index x = 0; x < out_w; ++x) {
      const Tap& a = ty[static_cast<std::size_t>(y)];
      const Tap& b = tx[static_cast<std::size_t>(x)];
      for (Index c = 0; c < channels; ++c)
        out[static_cast<std::size_t>((y * out_w + x) * channels + c)] =
            a.w0 * (b.w0 * at(a.i0, b.i0, c) + b.w1 * at(a.i0, b.i1, c)) +
            a.w1 * (b.w0 * at(a.i1, b.i0, c) + b.w1 * at(a.i1, b.i1, c));
    }
  return out;
}

template std::vector<float> resize_bilinear(const float*, Index, Index, Index, Index, Index);
template std::vector<double> resize_bilinear(const double*, Index, Index, Index, Index, Index);

// ---------------------------------------------------------------------------------------------
// Attention

template <class T>
Attention<T>::Attention(Index channels_, Index heads_, bool gta_, Index height_, Index width_)
    : channels(channels_), heads(heads_), gta(gta_), height(height_), width(width_) {
  if (heads < 1 || channels % heads != 0)
    throw std::invalid_argument(fmt::format(
        "attention: channels ({}) must be a multiple of the heads ({})", channels, heads));
  head_dim = channels / heads;
  if (gta && head_dim % 2 != 0)
    throw std::invalid_argument(
        fmt::format("attention with GTA needs an even head dimension, got {}", head_dim));
}

template <class T>
void Attention<T>::specs(std::vector<ParamSpec>& o, const std::string& prefix) const {
  const double a = fan_in_bound(channels);
  const auto shape = [&](Index rows) {
    return linear ? std::vector<Index>{rows, channels} : std::vector<Index>{rows, channels, 1, 1};
  };
  o.push_back({prefix + "W_qkv.weight", shape(3 * channels), Init::Uniform, a, {}});
  o.push_back({prefix + "W_qkv.bias", {3 * channels}, Init::Uniform, a, {}});
  o.push_back({prefix + "W_o.weight", shape(channels), Init::Uniform, a, {}});
  o.push_back({prefix + "W_o.bias", {channels}, Init::Uniform, a, {}});
  if (gta) {
    const Index P = height * width, pairs = head_dim / 2;
    const auto r = gta_rotations(height, width, head_dim);
    auto rt = r;
    for (std::size_t i = 0; i + 3 < rt.size(); i += 4) std::swap(rt[i + 1], rt[i + 2]);
    for (const char* m : {"mat_q", "mat_k", "mat_v"})
      o.push_back({prefix + m, {P, pairs, 2, 2}, Init::Given, 0, r});
    o.push_back({prefix + "mat_o", {P, pairs, 2, 2}, Init::Given, 0, rt});
  }
}

template <class T>
void Attention<T>::load(const ParamStore& p, const std::string& prefix) {
  const Index C = channels, d = head_dim;
  const auto shape = [&](Index rows) {
    return linear ? std::vector<Index>{rows, C} : std::vector<Index>{rows, C, 1, 1};
  };
  const Mat<T> wqkv = as_matrix<T>(p.get(prefix + "W_qkv.weight", shape(3 * C)), 3 * C, C);
  const Vec<T> bqkv = as_vector<T>(p.get(prefix + "W_qkv.bias", {3 * C}));
  const Mat<T> wo = as_matrix<T>(p.get(prefix + "W_o.weight", shape(C)), C, C);
  bo_ = as_vector<T>(p.get(prefix + "W_o.bias", {C}));
  wqkv_.resize(3 * C, C);
  bqkv_.resize(3 * C);
  wo_.resize(C, C);
  // torch channel c·heads + h of q/k/v (and of the merged output) is row h·d + c here.
  for (Index part = 0; part < 3; ++part)
    for (Index h = 0; h < heads; ++h)
      for (Index c = 0; c < d; ++c) {
        wqkv_.row(part * C + h * d + c) = wqkv.row(part * C + c * heads + h);
        bqkv_[part * C + h * d + c] = bqkv[part * C + c * heads + h];
      }
  for (Index h = 0; h < heads; ++h)
    for (Index c = 0; c < d; ++c) wo_.col(h * d + c) = wo.col(c * heads + h);
  if (gta) {
    const Index P = height * width, pairs = d / 2;
    const char* names[4] = {"mat_q", "mat_k", "mat_v", "mat_o"};
    for (int i = 0; i < 4; ++i) {
      const auto& m = p.get(prefix + names[i], {P, pairs, 2, 2});
      mat_[i].assign(m.values.begin(), m.values.end());
    }
  }
}

template <class T>
void Attention<T>::rotate(Mat<T>& m, const std::vector<T>& mats, Index row0, Index col0,
                          Index positions) const {
  const Index pairs = head_dim / 2;
  for (Index t = 0; t < positions; ++t) {
    const T* mt = &mats[static_cast<std::size_t>(t * pairs * 4)];
    for (Index h = 0; h < heads; ++h) {
      T* v = &m(row0 + h * head_dim, col0 + t);
      for (Index p = 0; p < pairs; ++p) {
        const T* e = mt + p * 4;
        const T a = v[2 * p], b = v[2 * p + 1];
        v[2 * p] = e[0] * a + e[1] * b;
        v[2 * p + 1] = e[2] * a + e[3] * b;
      }
    }
  }
}

template <class T>
const std::vector<T>* Attention<T>::matrices_for(const Grid& g) const {
  if (g.height == height && g.width == width) return mat_;
  if (g.height != resized_h_ || g.width != resized_w_) {
    const Index channels_per_position = head_dim / 2 * 4;
    for (int i = 0; i < 4; ++i)
      resized_[i] =
          resize_bilinear(mat_[i].data(), channels_per_position, height, width, g.height, g.width);
    resized_h_ = g.height;
    resized_w_ = g.width;
  }
  return resized_;
}

template <class T>
void Attention<T>::forward(const Mat<T>& x, const Grid& g, Mat<T>& y) const {
  const Index C = channels, d = head_dim, P = g.positions(), B = g.batch;
  if (x.rows() != C || x.cols() != g.columns())
    throw std::invalid_argument("attention: input of the wrong size");
  const std::vector<T>* mats = gta ? matrices_for(g) : nullptr;
  qkv_.noalias() = wqkv_ * x;
  qkv_.colwise() += bqkv_;
  o_.resize(C, g.columns());
  const int threads = omp_get_max_threads();
  if (static_cast<int>(scores_.size()) < threads) scores_.resize(static_cast<std::size_t>(threads));
  const T scale = T(1) / std::sqrt(static_cast<T>(d));
#pragma omp parallel
  {
    Mat<T>& s = scores_[static_cast<std::size_t>(omp_get_thread_num())];
    s.resize(P, P);
    if (gta) {
#pragma omp for schedule(static)
      for (Index b = 0; b < B; ++b)
        for (int part = 0; part < 3; ++part) rotate(qkv_, mats[part], part * C, b * P, P);
    }
#pragma omp for schedule(dynamic)
    for (Index job = 0; job < B * heads; ++job) {
      const Index b = job / heads, h = job % heads;
      const auto q = qkv_.block(h * d, b * P, d, P);
      const auto k = qkv_.block(C + h * d, b * P, d, P);
      const auto v = qkv_.block(2 * C + h * d, b * P, d, P);
      s.noalias() = k.transpose() * q;  // s(key, query)
      for (Index t = 0; t < P; ++t) {
        auto col = s.col(t);
        const T mx = col.maxCoeff();
        col = ((col.array() - mx) * scale).exp();
        col /= col.sum();
      }
      o_.block(h * d, b * P, d, P).noalias() = v * s;
    }
    if (gta) {
#pragma omp for schedule(static)
      for (Index b = 0; b < B; ++b) rotate(o_, mats[3], 0, b * P, P);
    }
  }
  y.noalias() = wo_ * o_;
  y.colwise() += bo_;
}

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

template class Conv2d<float>;
template class Conv2d<double>;
template class Attention<float>;
template class Attention<double>;
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
