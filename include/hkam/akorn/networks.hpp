#pragma once
/// The AKOrN networks of the reference (docs/akorn.md): the object-discovery model
/// (source/models/objs/knet.py::AKOrN) and the Sudoku model
/// (source/models/sudoku/knet.py::SudokuAKOrN), with the reference's state_dict names.

#include <Eigen/Core>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hkam/akorn/layers.hpp"

namespace hkam::akorn {

/// How the networks run their K-layers: the reference's discrete update (nothing set) or the
/// continuous-time flow (KLayer::flow) sampled every effective step — γ, or γ/(1 + γ) for the
/// Identity-Ω quirk — so that both cover the same time span.
using Continuous = std::optional<SimulateOptions>;

/// The time between the states of a K-layer's T steps: γ, or γ/(1 + γ) with the reference's
/// Identity "Ω term" (use_omega = false).
inline double effective_step(const KLayerConfig& k, double gamma) {
  return k.use_omega ? gamma : gamma / (1 + gamma);
}

/// Called with (block, step t, x_t) for t = 0 … T of every K-layer.
template <class T>
using StateObserver = std::function<void(int, int, const Mat<T>&)>;

template <class T>
struct NetworkOutput {
  std::vector<LayerEnergies> energies;  ///< one per block
  Mat<T> x;                             ///< final oscillator states, C × B·P
  Mat<T> features;  ///< objects: the final readout map c (what object discovery clusters);
                    ///< Sudoku: the logits, 9 × B·81 (row d = digit d + 1)
  Mat<T> head;      ///< objects: the pooled MLP head output, C × B; Sudoku: empty
  Mat<T> stimulus;  ///< the first block's stimulus c (before c_norm), C × B·P
  Grid grid;        ///< the K-layers' grid
};

struct ObjectNetConfig {
  Index osc_dim = 4, channels = 256, blocks = 1, psize = 4, imsize = 128;
  std::vector<int> steps{8};  ///< T per block (one value: all blocks)
  Connectivity connectivity = Connectivity::Attention;
  std::vector<Connectivity> block_connectivity;  ///< J per block (empty: `connectivity` for all)
  Index kernel = 1, heads = 8;
  bool gta = true;
  StimulusNorm c_norm = StimulusNorm::GroupNorm;
  double gamma = 1.0;
  bool use_omega = false, global_omega = false, project = true, maxpool = true;
  bool no_ro = false;     ///< the reference's ablation: c ← x, no ReadOutConv
  bool use_ro_x = false;  ///< the reference's ablation: x ← Conv1x1(x) between blocks
  double init_omega = 1.0;
  /// Side of the input images (0: imsize). When it differs from imsize: with `autorescale` the
  /// images are first resized bilinearly to imsize (the reference's autorescale); without, the
  /// network runs on the (input_size div psize)² grid, the GTA matrices resized bilinearly from
  /// the (imsize div psize)² grid they are made for (the reference's rescale_gta_mat).
  Index input_size = 0;
  bool autorescale = false;
  Index input_side() const { return input_size > 0 ? input_size : imsize; }
  /// The side the patch embedding sees: imsize with autorescale, else the input's.
  Index embedded_side() const { return autorescale ? imsize : input_side(); }
};

/// Object discovery: c = Conv2d(3, C, psize, stride psize)(2·image − 1), x = noise (+ learned
/// positional encodings without GTA), then per block x ← KLayer(x, c), c ← ReadOutConv(x)
/// (c ← x with `no_ro`), and with `use_ro_x` x ← Conv1x1(x) before every block but the first.
/// A side that is not a multiple of psize leaves its last (side mod psize) rows and columns out
/// of the patches, as the strided convolution of the reference does.
template <class T>
class ObjectNet {
 public:
  explicit ObjectNet(ObjectNetConfig c);
  const ObjectNetConfig& config() const { return c_; }
  std::vector<ParamSpec> specs() const;
  void load(const ParamStore& p);
  Grid grid(Index batch) const {
    const Index h = c_.embedded_side() / c_.psize;
    return {h, h, batch};
  }
  /// images: 3 × B·S² (S = input_side()), values in [0, 1]; noise: C × B·P (the initial x before
  /// normalisation, the reference's randn_like(c)). `gamma` overrides the parameter if > 0.
  NetworkOutput<T> forward(const Mat<T>& images, const Mat<T>& noise, Index batch,
                           const StateObserver<T>& observe = {}, bool final_energy = true) const;
  const KLayer<T>& layer(int l) const { return layers_[static_cast<std::size_t>(l)]; }
  T gamma() const { return gamma_; }
  Continuous continuous;  ///< set: integrate the K-layers in continuous time

 private:
  ObjectNetConfig c_;
  Conv2d<T> patch_;
  std::vector<KLayer<T>> layers_;
  std::vector<ReadOutConv<T>> readouts_;
  std::vector<Conv2d<T>> ro_x_;  // use_ro_x: the 1x1 conv on x after block l < L − 1
  Mat<T> pemb_x_, pemb_c_;       // C × P (without GTA)
  Mat<T> w1_, w2_;
  Vec<T> b1_, b2_;
  T gamma_ = 1;
};

struct SudokuNetConfig {
  Index osc_dim = 4, channels = 512, blocks = 1, heads = 8;
  int steps = 16;
  double gamma = 1.0, init_omega = 0.1;
  bool use_omega = true, global_omega = true;
  bool nl = true;  ///< the reference's `nl`: ResBlock(FF) and ReLU·Conv1x1 after the readout
};

/// Sudoku: c = Embedding(10, C)(board), x = is_given·c + (1 − is_given)·noise, per block
/// x ← KLayer(attention + GTA, global Ω, no c_norm), c ← ReadOutConv → ResBlock(FF) →
/// ReLU·Conv1x1 (with `nl`; without, the readout alone); logits = Conv1x1(C → 9)(ReLU(c)).
template <class T>
class SudokuNet {
 public:
  explicit SudokuNet(SudokuNetConfig c);
  const SudokuNetConfig& config() const { return c_; }
  std::vector<ParamSpec> specs() const;
  void load(const ParamStore& p);
  Grid grid(Index batch) const { return {9, 9, batch}; }
  /// boards: B × 81 digits (0 blank, 1–9 given), row-major cells r·9 + c; noise C × B·81.
  /// `steps` overrides T when > 0 (the reference's test-time T).
  NetworkOutput<T> forward(const Eigen::MatrixXi& boards, const Mat<T>& noise, int steps = 0,
                           const StateObserver<T>& observe = {}, bool final_energy = true) const;
  const KLayer<T>& layer(int l) const { return layers_[static_cast<std::size_t>(l)]; }
  T gamma() const { return gamma_; }
  Continuous continuous;  ///< set: integrate the K-layers in continuous time

 private:
  SudokuNetConfig c_;
  Mat<T> embed_;  // C × 10
  std::vector<KLayer<T>> layers_;
  std::vector<ReadOutConv<T>> readouts_;
  std::vector<Conv2d<T>> ff1_, ff2_, post_;
  Conv2d<T> out_;
  T gamma_ = 1;
};

/// Per-block lists (kernels, connectivity, osc_dims, ro_groups) follow the reference's
/// _expand_param: one value per block as given, any other count means its first value for every
/// block ([9, 7] with 3 blocks is [9, 9, 9]); osc_dims / ro_groups empty: osc_dim / ro_group.
struct CifarNetConfig {
  Index osc_dim = 2, channels = 64, blocks = 3, classes = 10, imsize = 32;
  std::vector<Index> kernels{9, 7, 5};  ///< conv J kernel per block
  /// J per block; attention as the reference's KLayer default: 8 heads, no GTA
  std::vector<Connectivity> connectivity{Connectivity::Conv};
  std::vector<Index> osc_dims, ro_groups;  ///< n and the readout's ro_N per block
  Index ro_kernel = 3, ro_group = 2;
  int steps = 3;
  double gamma = 1.0, init_omega = 1.0;
  bool use_omega = true, global_omega = true;
  StimulusNorm c_norm = StimulusNorm::GroupNorm;
  BlockNorm norm = BlockNorm::Batch;
};

/// CIFAR-10 classification (source/models/classification/knet.py::AKOrN): c = Conv2d(3, C, 3,
/// pad 1, no bias)(2·image − 1), x = noise; block l has C·2^l channels; for l >= 1 one strided
/// conv (k = ro_kernel, stride 2 for the first three blocks) maps both x and c; then the K-layer
/// (conv J), and c ← ReadOutConv(k = ro_kernel) → ResBlock(FF with norm) → norm·ReLU·Conv;
/// logits = Linear(mean over positions of c). BatchNorm in inference mode.
template <class T>
class CifarNet {
 public:
  explicit CifarNet(CifarNetConfig c);
  const CifarNetConfig& config() const { return c_; }
  std::vector<ParamSpec> specs() const;
  void load(const ParamStore& p);
  /// The first block's grid (noise shape): imsize × imsize.
  Grid grid(Index batch) const { return {c_.imsize, c_.imsize, batch}; }
  Index channels(int l) const { return c_.channels << l; }
  /// images: 3 × B·imsize²; noise: C × B·imsize². features = logits (classes × B).
  NetworkOutput<T> forward(const Mat<T>& images, const Mat<T>& noise, Index batch,
                           const StateObserver<T>& observe = {}, bool final_energy = true) const;
  const KLayer<T>& layer(int l) const { return layers_[static_cast<std::size_t>(l)]; }
  T gamma() const { return gamma_; }
  Continuous continuous;

 private:
  struct Readout {
    ReadOutConv<T> ro;
    ChannelNorm<T> n1, n2, n3;
    Conv2d<T> c1, c2, c3;
  };
  CifarNetConfig c_;
  Conv2d<T> conv0_;
  std::vector<Conv2d<T>> trans_;  // trans_[l − 1] for l >= 1
  std::vector<KLayer<T>> layers_;
  std::vector<Readout> readouts_;
  Mat<T> w_;
  Vec<T> b_;
  T gamma_ = 1;
};

/// The sin/cos 2-D positional encoding the reference initialises pemb_x / pemb_c with
/// (common_fns.positionalencoding2d): [C][H][W], row-major.
std::vector<double> positional_encoding_2d(Index channels, Index height, Index width);

/// Predicted digits (1–9) per cell from Sudoku logits (9 × B·81) → B × 81.
template <class T>
Eigen::MatrixXi sudoku_predictions(const Mat<T>& logits, Index batch);

}  // namespace hkam::akorn
