#include "hkam/integrate/simulate.hpp"

#include <stdexcept>
#include <string>

namespace hkam {

StepperKind stepper_from_name(std::string_view name) {
  if (name == "euler") return StepperKind::Euler;
  if (name == "rk4") return StepperKind::Rk4;
  if (name == "dopri5") return StepperKind::Dopri5;
  if (name == "rkf78") return StepperKind::Rkf78;
  throw std::invalid_argument("unknown stepper '" + std::string(name) +
                              "' (expected one of: euler, rk4, dopri5, rkf78)");
}

std::string_view stepper_name(StepperKind kind) {
  switch (kind) {
    case StepperKind::Euler:
      return "euler";
    case StepperKind::Rk4:
      return "rk4";
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

}  // namespace hkam
