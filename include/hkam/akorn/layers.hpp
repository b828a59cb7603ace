#pragma once
/// The AKOrN building blocks, computing exactly what the reference PyTorch modules compute
/// (github.com/autonomousvision/akorn, source/layers; docs/akorn.md), in float or double.
///
/// Layout. A batch of B feature maps with C channels on an H×W grid is one C × (B·H·W)
/// column-major matrix: column b·H·W + p holds the C channels of sample b at position
/// p = h·W + w (channels-last in memory). An oscillator is n consecutive channels at one position
/// (the reference's `unflatten(1, (-1, n))`), so it is n contiguous numbers. Pointwise (1×1)
/// convolutions of the whole batch are then one GEMM, k×k convolutions one im2col + GEMM.
///
/// Every layer takes its parameters from a ParamStore under a name prefix, with the reference's
/// state_dict names and shapes, and declares them with `specs()` for checking and random
/// initialisation. Work buffers are kept between calls: a K-layer's T steps allocate nothing
/// once the first step has sized them (Eigen's GEMM may still use its own blocking buffers).

#include <Eigen/Core>
#include <functional>
#include <string>
#include <vector>

#include "hkam/akorn/params.hpp"
#include "hkam/core.hpp"
#include "hkam/integrate/simulate.hpp"

namespace hkam::akorn {

template <class T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
template <class T>
using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;

/// The spatial shape of a batch: B samples of H×W positions.
struct Grid {
  Index height = 1, width = 1, batch = 1;
  Index positions() const { return height * width; }
  Index columns() const { return height * width * batch; }
};

/// nn.Conv2d(in, out, k, stride, padding, bias): cross-correlation with zero padding.
template <class T>
class Conv2d {
 public:
  Conv2d() = default;
  Conv2d(Index in, Index out, Index kernel, Index stride = 1, Index padding = 0, bool bias = true);
  void specs(std::vector<ParamSpec>& out, const std::string& prefix) const;
  void load(const ParamStore& p, const std::string& prefix);
  Grid output_grid(const Grid& g) const;
  /// y = W ⋆ x (+ bias): x is in × g.columns(), y becomes out × output_grid(g).columns().
  void forward(const Mat<T>& x, const Grid& g, Mat<T>& y) const;

  Index in = 0, out = 0, kernel = 1, stride = 1, padding = 0;
  bool has_bias = true;
  /// Parameters shaped as nn.Linear ([out, in]) instead of [out, in, 1, 1]: token inputs
  /// (kernel 1 only).
  bool linear = false;
  Mat<T> weight;  ///< out × (in·k·k), column (i·k + ky)·k + kx = torch weight[o][i][ky][kx]
  Vec<T> bias;    ///< out (zeros without bias)

 private:
  mutable std::vector<Mat<T>> cols_;  // one im2col block buffer per thread
  mutable Mat<T> wk_;                 // weight with its columns in the buffers' (ky, kx, i) order
};

/// max |W[o][i][Δ] − W[i][o][−Δ]| / max |W| of a C → C conv kernel (layout as Conv2d::weight):
/// 0 when the convolution is a symmetric operator.
template <class T>
double conv_kernel_asymmetry(const Mat<T>& weight, Index channels, Index kernel);

/// Stimulus normalisation of a K-layer (the reference's c_norm).
enum class StimulusNorm { None, GroupNorm, ScaleAndBias };

/// Connectivity J of a K-layer.
enum class Connectivity { Conv, Attention };

/// The reference's Attention(ch, heads, weight="conv", kernel_size=1, gta, hw): 1×1 conv to
/// q, k, v (chunked in that order), heads over the interleaved channels h, h + heads, …
/// ("b (c nh) h w -> b nh (h w) c"), optional GTA 2×2 matrices per position and channel pair of
/// a head applied to q, k, v and (mat_o) to the output, softmax(q·k/√d_h) v over all positions
/// of a sample, heads merged the same way, 1×1 output conv.
template <class T>
class Attention {
 public:
  Attention() = default;
  Attention(Index channels, Index heads, bool gta, Index height, Index width);
  void specs(std::vector<ParamSpec>& out, const std::string& prefix) const;
  void load(const ParamStore& p, const std::string& prefix);
  void forward(const Mat<T>& x, const Grid& g, Mat<T>& y) const;
  /// The rows of the q/k/v/o buffers for head h start at h·d_h (channels regrouped by head at
  /// load time); bias of the output conv.
  const Vec<T>& output_bias() const { return bo_; }

  Index channels = 0, heads = 1, head_dim = 0;
  bool gta = false;
  /// The reference's weight="fc" (token inputs "b k (c nh)"): W_qkv and W_o are nn.Linear,
  /// [3C, C] and [C, C]; the same interleaved heads. No GTA.
  bool linear = false;
  /// The grid the GTA matrices are for (the reference's `hw`). On another grid they are resized
  /// bilinearly, as the reference's rescale_gta_mat.
  Index height = 0, width = 0;

 private:
  /// The GTA matrices for grid g: mat_ itself, or mat_ resized to g (kept for the next call).
  const std::vector<T>* matrices_for(const Grid& g) const;
  /// Applies the 2×2 matrix of each (position, pair) to the rows row0 + h·d_h + 2p, + 1.
  void rotate(Mat<T>& m, const std::vector<T>& mats, Index row0, Index col0, Index positions) const;
  Mat<T> wqkv_, wo_;  // rows of wqkv_ (and columns of wo_) permuted so each head is contiguous
  Vec<T> bqkv_, bo_;
  std::vector<T> mat_[4];              // q, k, v, o: [P][d_h/2][2][2]
  mutable std::vector<T> resized_[4];  // mat_ resized to resized_h_ × resized_w_
  mutable Index resized_h_ = 0, resized_w_ = 0;
  mutable Mat<T> qkv_, o_;
  mutable std::vector<Mat<T>> scores_;  // one P×P buffer per thread
};

struct KLayerConfig {
  Index channels = 0, osc_dim = 4, height = 1, width = 1;
  Connectivity connectivity = Connectivity::Conv;
  Index kernel = 1;  ///< conv J
  Index heads = 8;   ///< attention J
  bool gta = true;   ///< attention J: GTA position matrices
  /// Token inputs [B, tokens, C] (the reference's ndim-3 layout; no released model uses it): the
  /// grid is 1 × tokens, J is nn.Linear(C, C) (connectivity Conv with kernel 1) or attention
  /// with weight="fc", and the stimulus norm sees the tokens as positions.
  bool tokens = false;
  StimulusNorm c_norm = StimulusNorm::GroupNorm;
  bool use_omega = false;  ///< false: the reference's Identity "Ω term" (= x, a radial term)
  bool global_omega = false;
  double init_omega = 1.0;
  bool project = true;
};

/// Energies of one K-layer call, per sample: proxy(t, b) as the reference logs it (row 0 is 0,
/// row t + 1 is −Σ x_t ⊙ (J(x_t) + c̃) of the state before update t) and energy(t, b) the
/// paper's E(x_t) = −½ x_t·(J(x_t) − b_J) − x_t·(b_J + c̃) of x_0 … x_T (b_J the output bias of
/// J). Both (T + 1) × B.
struct LayerEnergies {
  Eigen::MatrixXd proxy, energy;
};

/// The reference's KLayer: y = J(x) + c̃, dx = Ω(x) + P_x(y), x ← normalize(x + γ dx), T times.
template <class T>
class KLayer {
 public:
  KLayer() = default;
  explicit KLayer(const KLayerConfig& c);
  void specs(std::vector<ParamSpec>& out, const std::string& prefix) const;
  void load(const ParamStore& p, const std::string& prefix);
  const KLayerConfig& config() const { return c_; }

  /// Runs T steps from x (normalised first), leaves x_T in x. `observe(t, x_t)` (optional) is
  /// called for t = 0 … T. Without `final_energy` the true energy of x_T (one more evaluation
  /// of J, which the reference does not make) is left NaN.
  LayerEnergies forward(Mat<T>& x, const Mat<T>& c, const Grid& g, int steps, T gamma,
                        const std::function<void(int, const Mat<T>&)>& observe = {},
                        bool final_energy = true) const;

  /// The continuous-time limit of the layer: integrates dx/dt = Ω(x) + P_x(J(x) + c̃) on the
  /// spheres with hkam::simulate (`options`: stepper, tolerances, dt; t0 and t_end are set
  /// here) from the normalised x over t ∈ [0, steps·interval], and records the energies and
  /// observes the state at the samples t_k = k·interval like `forward` does at its steps. The
  /// reference's Identity "Ω term" is radial and drops out of the flow on the spheres. Needs the
  /// projection; float64 only (std::invalid_argument otherwise). `summary` receives the
  /// integrator's counts.
  LayerEnergies flow(Mat<T>& x, const Mat<T>& c, const Grid& g, int steps, double interval,
                     const SimulateOptions& options,
                     const std::function<void(int, const Mat<T>&)>& observe = {},
                     Summary* summary = nullptr) const;

  // The pieces of one step, for tests and the continuous-time integration.
  void normalize_stimulus(const Mat<T>& c, const Grid& g, Mat<T>& out) const;
  /// y = J(x), biases included.
  void coupling(const Mat<T>& x, const Grid& g, Mat<T>& y) const;
  /// dx = Ω(x) + P_x(y) (or y without projection; x itself for the Identity quirk, unless
  /// `radial_quirk` is false).
  void velocity(const Mat<T>& x, const Mat<T>& y, Mat<T>& dx, bool radial_quirk = true) const;
  /// Per-oscillator x / max(‖x‖, 1e-12).
  void normalize(Mat<T>& x) const;
  /// Whether the true energy cannot increase along the flow: conv J whose kernel is symmetric
  /// under flip and channel transpose (W[o][i][Δ] = W[i][o][−Δ]; its bias acts as a stimulus),
  /// the projection on, and no rotation (ω = 0, or the Identity quirk). The discrete update
  /// needs a small enough γ on top (a warning says so).
  Guarantee lyapunov() const;
  /// ω per channel pair (C/2 values; the norms of omg_param), empty without Ω.
  const Vec<T>& omega() const { return omega_; }
  /// Sets ω per channel pair directly (C/2 values, signed: a negative ω rotates the other way),
  /// for models built from ω rather than from omg_param; needs use_omega.
  void set_omega(const Vec<T>& omega);
  /// The conv J (connectivity Conv only).
  const Conv2d<T>& conv() const { return conv_; }
  /// The output bias of J per channel (conv bias or W_o bias).
  const Vec<T>& coupling_bias() const;

 private:
  void record_energies(const Mat<T>& x, const Grid& g, int t, int steps, LayerEnergies& e) const;
  template <int N>
  void velocity_of(const Mat<T>& x, const Mat<T>& y, Mat<T>& dx, bool radial_quirk) const;
  KLayerConfig c_;
  Conv2d<T> conv_;
  Attention<T> attn_;
  Vec<T> omega_, norm_w_, norm_b_;
  mutable Mat<T> ct_, y_, dx_, xb_;
};

/// The reference's ReadOutConv(in, out, N, k, s, p): z = Conv2d(in → out·N)(x), then
/// out_o = ‖z[o·N : (o + 1)·N]‖ + b_o.
template <class T>
class ReadOutConv {
 public:
  ReadOutConv() = default;
  ReadOutConv(Index in, Index out, Index group, Index kernel = 1, Index stride = 1,
              Index padding = 0);
  void specs(std::vector<ParamSpec>& out, const std::string& prefix) const;
  void load(const ParamStore& p, const std::string& prefix);
  Grid output_grid(const Grid& g) const { return conv.output_grid(g); }
  void forward(const Mat<T>& x, const Grid& g, Mat<T>& y) const;

  Conv2d<T> conv;
  Index out = 0, group = 1;
  Vec<T> bias;

 private:
  mutable Mat<T> z_;
};

/// Normalisation of the readout blocks (common_layers.BNReLUConv2d's `norm`): BatchNorm2d in
/// inference mode (running statistics), GroupNorm(8, C), or none.
enum class BlockNorm { None, Batch, Group };

template <class T>
class ChannelNorm {
 public:
  ChannelNorm() = default;
  ChannelNorm(BlockNorm kind, Index channels);
  void specs(std::vector<ParamSpec>& out, const std::string& prefix) const;
  void load(const ParamStore& p, const std::string& prefix);
  /// In place: y = (x − mean)/√(var + 1e-5)·w + b with the running statistics (batch) or the
  /// statistics of 8 channel groups over the positions of each sample (group).
  void apply(Mat<T>& x, const Grid& g) const;
  BlockNorm kind = BlockNorm::None;
  Index channels = 0;

 private:
  Vec<T> w_, b_, mean_, var_;
};

/// In-place ReLU.
template <class T>
void relu(Mat<T>& m);

/// A conv weight [C, C, k, k] (torch layout) averaged with its flipped transpose:
/// ½ (W[o][i][Δ] + W[i][o][−Δ]), which makes the convolution a symmetric operator.
std::vector<double> symmetrized_conv_weight(const Param& weight);

/// GTA rotation matrices as the reference initialises them (gta.make_SO2mats on the 2-D grid):
/// [H·W][d_h/2][2][2], pair p of a head uses frequency f = p div 2 and coordinate p mod 2
/// (0 = row, 1 = column): R(coord·10000^(−f/F)), F = ⌈d_h/4⌉.
std::vector<double> gta_rotations(Index height, Index width, Index head_dim);

/// torch's F.interpolate(mode = "bilinear", align_corners = False, no antialiasing) of a
/// height × width map with `channels` values per position, stored position-major ([y][x][c], as
/// the columns of a C × P matrix or the GTA matrices), to out_h × out_w.
template <class T>
std::vector<T> resize_bilinear(const T* in, Index channels, Index height, Index width, Index out_h,
                               Index out_w);

}  // namespace hkam::akorn
