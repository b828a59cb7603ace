// The continuous-time limit of a K-layer, integrated by hkam::simulate (Boost.Odeint).
#include <fmt/format.h>

#include <stdexcept>

#include "hkam/akorn/layers.hpp"

namespace hkam::akorn {

namespace {

/// dx/dt = Ω(x) + P_x(J(x) + c̃) of one K-layer as an hkam model (state: the C × B·P matrix
/// flattened column by column, so each oscillator is n contiguous numbers).
struct KLayerFlow {
  const KLayer<double>* layer;
  Grid grid;
  const Mat<double>* stimulus;  // c̃
  mutable Mat<double> x, y, dx;
  StateLayout layout() const {
    const Index n = layer->config().osc_dim;
    return {0, layer->config().channels / n * grid.columns(), n};
  }
  void operator()(const Eigen::VectorXd& s, Eigen::VectorXd& dsdt, double) const {
    x = Eigen::Map<const Mat<double>>(s.data(), layer->config().channels, grid.columns());
    layer->coupling(x, grid, y);
    y += *stimulus;
    layer->velocity(x, y, dx, false);
    dsdt.resize(s.size());
    Eigen::Map<Mat<double>>(dsdt.data(), dx.rows(), dx.cols()) = dx;
  }
};

}  // namespace

template <class T>
LayerEnergies KLayer<T>::flow(Mat<T>& x, const Mat<T>& c, const Grid& g, int steps, double interval,
                              const SimulateOptions& options,
                              const std::function<void(int, const Mat<T>&)>& observe,
                              Summary* summary) const {
  if constexpr (!std::is_same_v<T, double>) {
    (void)x, (void)c, (void)g, (void)steps, (void)interval, (void)options, (void)observe,
        (void)summary;
    throw std::invalid_argument("continuous-time K-layers run in float64");
  } else {
    if (!c_.project)
      throw std::invalid_argument(
          "continuous-time K-layers need the tangent projection (without it the flow leaves the "
          "spheres)");
    if (x.rows() != c_.channels || x.cols() != g.columns() || c.rows() != x.rows() ||
        c.cols() != x.cols())
      throw std::invalid_argument("K-layer flow: state and stimulus of the wrong size");
    LayerEnergies e;
    e.proxy = Eigen::MatrixXd::Zero(steps + 1, g.batch);
    e.energy = Eigen::MatrixXd::Zero(steps + 1, g.batch);
    normalize_stimulus(c, g, ct_);
    normalize(x);
    KLayerFlow model{this, g, &ct_, {}, {}, {}};
    SimulateOptions o = options;
    o.t0 = 0;
    o.t_end = steps * interval;
    o.sample_interval = interval;
    int k = 0;
    const auto sampler = [&](double, const Eigen::VectorXd& s) {
      if (k > steps) return true;
      xb_ = Eigen::Map<const Mat<double>>(s.data(), x.rows(), x.cols());
      if (observe) observe(k, xb_);
      coupling(xb_, g, y_);
      y_ += ct_;
      record_energies(xb_, g, k, steps, e);
      ++k;
      return true;
    };
    Eigen::VectorXd s = Eigen::Map<const Eigen::VectorXd>(x.data(), x.size());
    const Summary sum = simulate(model, s, o, {}, sampler);
    if (summary) *summary = sum;
    if (sum.end_reason != EndReason::TEnd)
      throw std::runtime_error(fmt::format("K-layer flow ended early: {} at t = {:.6g}",
                                           end_reason_name(sum.end_reason), sum.t));
    if (k != steps + 1)
      throw std::logic_error(fmt::format("K-layer flow: {} samples, expected {}", k, steps + 1));
    x = xb_;  // the last sample, t = steps·interval (renormalised by the sampler)
    return e;
  }
}

template LayerEnergies KLayer<float>::flow(Mat<float>&, const Mat<float>&, const Grid&, int, double,
                                           const SimulateOptions&,
                                           const std::function<void(int, const Mat<float>&)>&,
                                           Summary*) const;
template LayerEnergies KLayer<double>::flow(Mat<double>&, const Mat<double>&, const Grid&, int,
                                            double, const SimulateOptions&,
                                            const std::function<void(int, const Mat<double>&)>&,
                                            Summary*) const;

}  // namespace hkam::akorn
