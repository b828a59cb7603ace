#include "hkam/train/optim.hpp"

#include <cmath>
#include <stdexcept>

namespace hkam {

OptimizerParams OptimizerParams::defaults_for(Kind kind) {
  OptimizerParams p;
  p.kind = kind;
  p.beta2 = kind == Kind::Lion ? 0.99 : 0.999;
  return p;
}

double OptimizerParams::learning_rate(long step) const {
  if (decay_rate == 1.0) return lr;
  return lr * std::pow(decay_rate, static_cast<double>(step) / decay_steps);
}

std::string OptimizerParams::validate() const {
  std::string why;
  auto add = [&](const std::string& s) { why += (why.empty() ? "" : "; ") + s; };
  auto in01 = [](double x) { return x >= 0.0 && x < 1.0; };
  if (!in01(beta1)) add("beta1 must be in [0, 1)");
  if (!in01(beta2)) add("beta2 must be in [0, 1)");
  if (!(eps > 0)) add("eps must be > 0");
  if (!(weight_decay >= 0) || !std::isfinite(weight_decay)) add("weight_decay must be ≥ 0");
  if (!(lr > 0) || !std::isfinite(lr)) add("the learning rate must be > 0");
  if (!(decay_rate > 0 && decay_rate <= 1)) add("decay_rate must be in (0, 1]");
  if (!(decay_steps > 0) || !std::isfinite(decay_steps)) add("decay_steps must be > 0");
  return why;
}

OptimizerParams::Kind OptimizerParams::kind_from_name(const std::string& name) {
  if (name == "lion") return Kind::Lion;
  if (name == "adam") return Kind::Adam;
  throw std::invalid_argument("unknown optimizer '" + name + "' (lion, adam)");
}

const char* OptimizerParams::name(Kind kind) {
  return kind == Kind::Lion ? "lion" : "adam";
}

Optimizer::Optimizer(const OptimizerParams& params, Eigen::Index size) : p_(params) {
  if (const std::string why = p_.validate(); !why.empty()) throw std::invalid_argument(why);
  m_ = Eigen::VectorXd::Zero(size);
  if (p_.kind == OptimizerParams::Kind::Adam) v_ = Eigen::VectorXd::Zero(size);
}

void Optimizer::update(Eigen::Ref<Eigen::VectorXd> theta,
                       const Eigen::Ref<const Eigen::VectorXd>& grad, double lr) {
  if (theta.size() != m_.size() || grad.size() != m_.size())
    throw std::invalid_argument("Optimizer::update: sizes differ from the optimizer's");
  ++count_;
  const double b1 = p_.beta1, b2 = p_.beta2, wd = p_.weight_decay;
  const Eigen::Index n = m_.size();
  if (p_.kind == OptimizerParams::Kind::Lion) {
    for (Eigen::Index k = 0; k < n; ++k) {
      const double c = b1 * m_[k] + (1 - b1) * grad[k];
      const double u = (c > 0) - (c < 0);
      m_[k] = b2 * m_[k] + (1 - b2) * grad[k];
      theta[k] -= lr * (u + wd * theta[k]);
    }
    return;
  }
  const double c1 = 1 - std::pow(b1, double(count_)), c2 = 1 - std::pow(b2, double(count_));
  for (Eigen::Index k = 0; k < n; ++k) {
    m_[k] = b1 * m_[k] + (1 - b1) * grad[k];
    v_[k] = b2 * v_[k] + (1 - b2) * grad[k] * grad[k];
    const double u = (m_[k] / c1) / (std::sqrt(v_[k] / c2) + p_.eps);
    theta[k] -= lr * (u + wd * theta[k]);
  }
}

}  // namespace hkam
