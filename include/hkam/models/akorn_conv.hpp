#pragma once
/// An AKOrN Kuramoto layer with convolutional connectivity on an H×W grid (the reference's
/// `KLayer(J="conv")`, docs/models.md §3.2), as a continuous-time model that the integrators,
/// the energy audit and the trace treat like every other model.
///
/// Channels C = G·n are grouped into G oscillators of dimension n per position (consecutive
/// channels, as the reference's `unflatten(1, (-1, n))`). The state is stored channels-last: entry
/// p·C + c is channel c at position p = h·W + w, so oscillator o = p·G + g owns the n contiguous
/// entries of channels g·n … g·n + n − 1 at p (the layout every hkam model uses).
///
///   y      = W ⋆ x + b + c̃            (PyTorch Conv2d C→C, kernel k, padding k/2,
///   cross-correlation) dx/dt  = Ω x + P_x(y)             (P_x(y) = y − (x·y) x per oscillator;
///   switchable off) E(x)   = −½ xᵀ(W ⋆ x) − (b + c̃)ᵀx (true energy) e(x)   = −x·y (the reference's
///   logged proxy: no ½)
///
/// Ω rotates each consecutive channel pair (a, b) of an oscillator into (ω_p b, −ω_p a), with one
/// ω_p per channel pair or one global ω (the reference's OmegaLayer). `omega_identity` reproduces
/// the reference with `use_omega=False`, whose "Ω term" is x itself: with the discrete update
/// x ← normalize(x + γ(x + P_x y)) that is the projected update with step γ/(1 + γ).
/// E is non-increasing when the kernel is symmetric (W[o][i][Δ] = W[i][o][−Δ]), the projection is
/// on and there is no rotation (Ω = 0 or the identity quirk).
///
/// The computation is the AKOrN layer stack's own: a ConvAkorn is an adapter over one
/// akorn::KLayer<double> (conv J, no stimulus norm) on a batch of one image, so the single model
/// and the networks share one convolution, projection and Ω code path.

#include <Eigen/Core>

#include "hkam/akorn/layers.hpp"
#include "hkam/core.hpp"

namespace hkam {

struct ConvAkornSpec {
  Index channels = 0, osc_dim = 4, height = 0, width = 0, kernel = 3;
  /// C × (C·k·k): entry (o, (i·k + ky)·k + kx) is PyTorch's weight[o][i][ky][kx].
  Eigen::MatrixXd weight;
  Eigen::VectorXd bias;         ///< C (empty: 0)
  Eigen::MatrixXd stimulus;     ///< c̃, C × (H·W), already normalised (empty: 0)
  Eigen::VectorXd omega;        ///< ω per channel pair (C/2 values), one value (global), or empty
  bool omega_identity = false;  ///< the reference's use_omega=False quirk (see above)
  bool project = true;
};

/// The kernel averaged with its transpose: W'[o][i][Δ] = ½ (W[o][i][Δ] + W[i][o][−Δ]), which makes
/// the convolution a symmetric operator (weight layout as ConvAkornSpec::weight).
Eigen::MatrixXd symmetrized_kernel(const Eigen::MatrixXd& weight, Index channels, Index kernel);

class ConvAkorn {
 public:
  ConvAkorn() = default;
  explicit ConvAkorn(ConvAkornSpec spec);

  const ConvAkornSpec& spec() const { return s_; }
  Index dim() const { return s_.channels * s_.height * s_.width; }
  StateLayout layout() const {
    return {0, s_.channels / s_.osc_dim * s_.height * s_.width, s_.osc_dim};
  }

  /// W ⋆ x (no bias), x and out channels-last (C × H·W column-major).
  void convolve(const Eigen::VectorXd& x, Eigen::VectorXd& out) const;
  void operator()(const Eigen::VectorXd& x, Eigen::VectorXd& dxdt, double t) const;
  double energy(const Eigen::VectorXd& x) const;
  /// "coupling" −½ xᵀ(W ⋆ x) and "stimulus" −(b + c̃)ᵀx.
  EnergyParts energy_parts(const Eigen::VectorXd& x) const;
  double proxy_energy(const Eigen::VectorXd& x) const;
  /// max |W[o][i][Δ] − W[i][o][−Δ]| relative to max |W|.
  double kernel_asymmetry() const;
  Guarantee lyapunov() const;
  /// The K-layer that computes this model.
  const akorn::KLayer<double>& layer() const { return layer_; }

 private:
  /// y_ = W ⋆ x + b (the K-layer's J) of the state x, which is copied to xb_.
  void couple(const Eigen::VectorXd& x) const;
  ConvAkornSpec s_;
  akorn::KLayer<double> layer_;
  akorn::Grid grid_;
  Eigen::MatrixXd drive_;  // b + c̃, C × HW
  mutable Eigen::MatrixXd xb_, y_, dx_;
};

}  // namespace hkam
