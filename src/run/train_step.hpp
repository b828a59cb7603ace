#pragma once
// One model in training: batches of images made into initial states, the forward solve, the loss
// on the class units, the gradient of the loss with respect to the trainable parameters (reverse
// mode through the solver), and evaluation. Internal to hkam.

#include <Eigen/Core>

#include "hkam/integrate/batch_solve.hpp"
#include "hkam/models/batch.hpp"
#include "run/train_spec.hpp"

namespace hkam::run {

template <class T>
class TrainModel {
 public:
  explicit TrainModel(const TrainSpec& spec);

  /// Sets the trainable parameters from θ (the layout of `flatten`).
  void set_theta(const Eigen::VectorXd& theta);
  const HopfieldKuramotoParams& params() const { return params_; }
  const Eigen::MatrixXd& sigma0() const { return sigma0_; }

  /// Loss of the batch `index[0 … count)` of the training split and its gradient with respect to
  /// θ (into `grad`); `augment` (may be null) draws one random rotation per example. Returns the
  /// loss and sets `solver_steps` to the forward solve's accepted steps; a failed solve returns
  /// NaN.
  double gradient(const Index* index, Index count, Rng* augment, Eigen::VectorXd& grad,
                  long& solver_steps);

  /// Evaluates the first `count` examples of `set` (targets and contexts from `labels`).
  Evaluation evaluate(const train::ImageSet& set, const train::EditedLabels& labels, Index count);

  /// Loss of a batch without the gradient (for finite-difference tests).
  double loss(const Index* index, Index count);

 private:
  void make_batch(const train::ImageSet& set, const train::EditedLabels& labels, const Index* index,
                  Index count, Rng* augment);
  /// Loss of the solved batch against the targets; λ = ∂L/∂z(T) when `lambda` is given and the
  /// predicted classes into `predicted`.
  double batch_loss(const train::EditedLabels& labels, const Index* index, Index count,
                    BatchMatrix<T>* lambda, int* predicted) const;

  const TrainSpec& spec_;
  HopfieldKuramotoParams params_;
  Eigen::MatrixXd sigma0_;
  BatchModel<T> model_;
  BatchSolveWorkspace<T> ws_;
  BatchTape<T> tape_;
  BatchMatrix<T> z_, lambda_;
  HkGradient grad_;
  std::vector<Eigen::MatrixXd> rotations_;  ///< per example of the batch (augmentation)
  std::vector<int> predicted_;
};

extern template class TrainModel<float>;
extern template class TrainModel<double>;

}  // namespace hkam::run
