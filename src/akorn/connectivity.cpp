// The connectivities of the AKOrN layers: convolution (Conv2d), attention (Attention, with the
// GTA rotations) and the helpers around them.
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "akorn/tensor_cast.hpp"
#include "hkam/akorn/layers.hpp"

namespace hkam::akorn {

using detail::as_matrix;
using detail::as_vector;
using detail::fan_in_bound;

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

template class Conv2d<float>;
template class Conv2d<double>;
template class Attention<float>;
template class Attention<double>;

}  // namespace hkam::akorn
