#include "hkam/integrate/simulate.hpp"

#include <stdexcept>
#include <string>

namespace hkam {

StepperKind stepper_from_name(std::string_view name) {
  if (name == "euler") return StepperKind::Euler;
  if (name == "rk4") return StepperKind::Rk4;
  if (name == "akorn") return StepperKind::Akorn;
  if (name == "dopri5") return StepperKind::Dopri5;
  if (name == "rkf78") return StepperKind::Rkf78;
  throw std::invalid_argument("unknown stepper '" + std::string(name) +
                              "' (expected one of: euler, rk4, akorn, dopri5, rkf78)");
}

std::string_view stepper_name(StepperKind kind) {
  switch (kind) {
    case StepperKind::Euler:
      return "euler";
    case StepperKind::Rk4:
      return "rk4";
    case StepperKind::Akorn:
      return "akorn";
    case StepperKind::Dopri5:
      return "dopri5";
    case StepperKind::Rkf78:
      return "rkf78";
  }
  return "?";
}

std::string_view end_reason_name(EndReason reason) {
  switch (reason) {
    case EndReason::TEnd:
      return "t_end";
    case EndReason::Converged:
      return "converged";
    case EndReason::EnergyPlateau:
      return "energy_plateau";
    case EndReason::OrderParameter:
      return "order_parameter";
    case EndReason::MaxSteps:
      return "max_steps";
    case EndReason::StepCollapse:
      return "step_collapse";
    case EndReason::NonFinite:
      return "non_finite";
    case EndReason::Interrupted:
      return "interrupted";
  }
  return "?";
}

double renormalize(const StateLayout& layout, Eigen::VectorXd& x) {
  double drift = 0.0;
  const Index d = layout.osc_dim;
  for (Index i = 0; i < layout.n_osc; ++i) {
    auto s = x.segment(layout.osc_offset() + i * d, d);
    const double n = s.norm();
    drift = std::max(drift, std::abs(n - 1.0));
    if (n > 0.0 && std::isfinite(n)) s /= n;
  }
  return drift;
}

bool all_finite(const Eigen::VectorXd& x) {
  return x.allFinite();
}

void hermite(double theta, double h, const Eigen::VectorXd& x0, const Eigen::VectorXd& f0,
             const Eigen::VectorXd& x1, const Eigen::VectorXd& f1, Eigen::VectorXd& out) {
  const double t2 = theta * theta, t3 = t2 * theta;
  const double h00 = 2 * t3 - 3 * t2 + 1, h10 = t3 - 2 * t2 + theta, h01 = -2 * t3 + 3 * t2,
               h11 = t3 - t2;
  out = h00 * x0 + (h10 * h) * f0 + h01 * x1 + (h11 * h) * f1;
}

std::optional<EndReason> end_reason_from_name(std::string_view name) {
  for (EndReason r :
       {EndReason::TEnd, EndReason::Converged, EndReason::EnergyPlateau, EndReason::OrderParameter,
        EndReason::MaxSteps, EndReason::StepCollapse, EndReason::NonFinite, EndReason::Interrupted})
    if (end_reason_name(r) == name) return r;
  return std::nullopt;
}

}  // namespace hkam
