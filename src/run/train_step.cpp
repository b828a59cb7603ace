#include "run/train_step.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "hkam/random.hpp"

namespace hkam::run {

namespace {

HkGradientWanted wanted_for(const std::vector<std::string>& trainable) {
  HkGradientWanted w{false, false, false, false, false, false, false};
  for (const auto& g : trainable) {
    if (g == "hopfield.w") w.w = true;
    if (g == "hopfield.b") w.b = true;
    if (g == "kuramoto.a") w.a = true;
    if (g == "kuramoto.b") w.pair_b = true;
    if (g == "kuramoto.omega") w.omega = true;
    if (g == "coupling.alpha") w.alpha = true;
  }
  return w;
}

bool trains_sigma0(const TrainSpec& spec) {
  return std::find(spec.trainable.begin(), spec.trainable.end(), "initial.sigma") !=
         spec.trainable.end();
}

}  // namespace

template <class T>
TrainModel<T>::TrainModel(const TrainSpec& spec)
    : spec_(spec), params_(spec.params), sigma0_(spec.sigma0), model_(spec.params) {
  grad_ = HkGradient::zeros_like(params_, wanted_for(spec.trainable));
}

template <class T>
void TrainModel<T>::set_theta(const Eigen::VectorXd& theta) {
  unflatten(spec_, theta, params_, sigma0_);
  model_.set_params(params_);
}

template <class T>
void TrainModel<T>::make_batch(const train::ImageSet& set, const train::EditedLabels& labels,
                               const Index* index, Index count, Rng* augment) {
  const StateLayout lay = params_.layout();
  const Index m = lay.n_osc, d = lay.osc_dim, off = lay.osc_offset();
  z_.setZero(count, lay.size());
  Eigen::MatrixXd sigma(m, d);
  if (m > 0 && !spec_.associative())
    sigma = sigma0_.rowwise().normalized();  // the note's `inp`, normalised before use
  rotations_.resize(static_cast<std::size_t>(count));
  for (Index b = 0; b < count; ++b) {
    const std::uint8_t* img = set.image(index[b]);
    for (Index p = 0; p < set.size; ++p) z_(b, p) = static_cast<T>(img[p] / 255.0);
    if (m == 0) continue;
    if (spec_.associative())
      train::encode_image(set.image(labels.context[index[b]]), set.size, spec_.pixel_mean,
                          spec_.pixel_scale, sigma);
    Eigen::MatrixXd rotated;
    const Eigen::MatrixXd* s = &sigma;
    if (augment) {
      rotations_[b] = random_rotation(*augment, d);
      rotated = sigma * rotations_[b].transpose();  // σ_i ← R σ_i
      s = &rotated;
    }
    for (Index i = 0; i < m; ++i)
      for (Index k = 0; k < d; ++k) z_(b, off + i * d + k) = static_cast<T>((*s)(i, k));
  }
}

template <class T>
double TrainModel<T>::batch_loss(const train::EditedLabels& labels, const Index* index, Index count,
                                 BatchMatrix<T>* lambda, int* predicted) const {
  const Index first = spec_.readout_first;
  if (lambda) lambda->setZero(count, z_.cols());
  double total = 0;
  for (Index b = 0; b < count; ++b) {
    const int target = labels.targets[index[b]];
    double x[10];
    for (int c = 0; c < 10; ++c) x[c] = static_cast<double>(z_(b, first + c));
    if (predicted) predicted[b] = static_cast<int>(std::max_element(x, x + 10) - x);
    if (spec_.loss == TrainLoss::MsePm1) {
      for (int c = 0; c < 10; ++c) {
        const double r = x[c] - (c == target ? 1.0 : -1.0);
        total += r * r;
        if (lambda) (*lambda)(b, first + c) = static_cast<T>(2 * r / double(count));
      }
    } else {
      const double top = *std::max_element(x, x + 10);
      double sum = 0;
      for (double v : x) sum += std::exp(v - top);
      total += top + std::log(sum) - x[target];
      if (lambda)
        for (int c = 0; c < 10; ++c)
          (*lambda)(b, first + c) = static_cast<T>(
              (std::exp(x[c] - top) / sum - (c == target ? 1.0 : 0.0)) / double(count));
    }
  }
  return total / double(count);
}

template <class T>
double TrainModel<T>::gradient(const Index* index, Index count, Rng* augment, Eigen::VectorXd& grad,
                               long& solver_steps) {
  make_batch(spec_.train, spec_.train_labels, index, count, augment);
  const BatchSolveSummary sum = solve(model_, z_, spec_.solve, ws_, &tape_);
  solver_steps = sum.steps;
  if (sum.end_reason != EndReason::TEnd) return std::numeric_limits<double>::quiet_NaN();
  const double loss = batch_loss(spec_.train_labels, index, count, &lambda_, nullptr);
  grad_.set_zero();
  solve_backward(model_, tape_, spec_.solve, lambda_, ws_, grad_);
  // λ is now ∂L/∂z(0). The initial oscillators: σ_i = R_b u_i/‖u_i‖, summed over the batch.
  Eigen::MatrixXd gsigma = Eigen::MatrixXd::Zero(sigma0_.rows(), sigma0_.cols());
  if (trains_sigma0(spec_)) {
    const StateLayout lay = params_.layout();
    const Index m = lay.n_osc, d = lay.osc_dim, off = lay.osc_offset();
    Eigen::MatrixXd gs(m, d);
    for (Index b = 0; b < count; ++b) {
      for (Index i = 0; i < m; ++i)
        for (Index k = 0; k < d; ++k) gs(i, k) = static_cast<double>(lambda_(b, off + i * d + k));
      gsigma += augment ? Eigen::MatrixXd(gs * rotations_[b]) : gs;  // Rᵀλ per row
    }
    for (Index i = 0; i < m; ++i) {
      const double norm = sigma0_.row(i).norm();
      const Eigen::RowVectorXd s = sigma0_.row(i) / norm;
      gsigma.row(i) = (gsigma.row(i) - s * gsigma.row(i).dot(s)) / norm;
    }
  }
  grad = flatten(spec_, grad_, gsigma);
  return loss;
}

template <class T>
double TrainModel<T>::loss(const Index* index, Index count) {
  make_batch(spec_.train, spec_.train_labels, index, count, nullptr);
  const BatchSolveSummary sum = solve(model_, z_, spec_.solve, ws_);
  if (sum.end_reason != EndReason::TEnd) return std::numeric_limits<double>::quiet_NaN();
  return batch_loss(spec_.train_labels, index, count, nullptr, nullptr);
}

template <class T>
Evaluation TrainModel<T>::evaluate(const train::ImageSet& set, const train::EditedLabels& labels,
                                   Index count) {
  Evaluation e;
  count = std::min(count, set.count);
  std::vector<Index> index(static_cast<std::size_t>(spec_.batch));
  predicted_.resize(index.size());
  std::array<long, 10> per_class_n{}, per_class_ok{};
  long ok = 0, edited_ok = 0, unedited_n = 0, unedited_ok = 0;
  double loss_sum = 0;
  for (Index start = 0; start < count; start += spec_.batch) {
    const Index n = std::min(spec_.batch, count - start);
    for (Index b = 0; b < n; ++b) index[b] = start + b;
    make_batch(set, labels, index.data(), n, nullptr);
    const BatchSolveSummary sum = solve(model_, z_, spec_.solve, ws_);
    if (sum.end_reason != EndReason::TEnd) {
      e.loss = std::numeric_limits<double>::quiet_NaN();
      return e;
    }
    loss_sum += batch_loss(labels, index.data(), n, nullptr, predicted_.data()) * double(n);
    for (Index b = 0; b < n; ++b) {
      const int t = labels.targets[index[b]], p = predicted_[b];
      const bool right = t == p;
      ++e.confusion[t][p];
      ++per_class_n[t];
      per_class_ok[t] += right;
      ok += right;
      if (labels.edited[index[b]]) {
        ++e.edited;
        edited_ok += right;
      } else {
        ++unedited_n;
        unedited_ok += right;
      }
    }
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  e.count = count;
  e.loss = loss_sum / double(count);
  e.accuracy = double(ok) / double(count);
  e.accuracy_edited = e.edited ? double(edited_ok) / double(e.edited) : nan;
  e.accuracy_unedited = unedited_n ? double(unedited_ok) / double(unedited_n) : nan;
  for (int c = 0; c < 10; ++c)
    e.per_class[c] = per_class_n[c] ? double(per_class_ok[c]) / double(per_class_n[c]) : nan;
  return e;
}

template class TrainModel<float>;
template class TrainModel<double>;

}  // namespace hkam::run
