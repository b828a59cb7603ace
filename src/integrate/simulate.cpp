#include "hkam/integrate/simulate.hpp"

#include <fmt/format.h>

#include <stdexcept>
#include <string>

#include "problems.hpp"

namespace hkam {

namespace detail {

std::string validate_options(const SimulateOptions& o, bool adaptive, bool interpolant) {
  Problems p;
  if (!std::isfinite(o.t0) || !std::isfinite(o.t_end) || !(o.t0 < o.t_end))
    p.add("t0 = {:g} and t_end = {:g} must be finite with t0 < t_end", o.t0, o.t_end);
  if (!std::isfinite(o.dt) || !(o.dt > 0)) p.add("dt = {:g} must be finite and > 0", o.dt);
  if (adaptive) {
    if (!std::isfinite(o.rtol) || !std::isfinite(o.atol) || !(o.rtol >= 0) || !(o.atol >= 0) ||
        (o.rtol == 0 && o.atol == 0))
      p.add("rtol = {:g} and atol = {:g} must be finite, >= 0 and not both 0", o.rtol, o.atol);
    if (!(o.dt_min > 0) || !(o.dt_max >= o.dt_min))
      p.add("need 0 < dt_min <= dt_max (dt_min = {:g}, dt_max = {:g})", o.dt_min, o.dt_max);
  }
  if (o.max_steps < 1) p.add("max_steps = {} must be >= 1", o.max_steps);
  if (!std::isfinite(o.converged_tol) || !(o.converged_tol >= 0))
    p.add("converged_tol = {:g} must be finite and >= 0", o.converged_tol);
  if (!std::isfinite(o.sample_interval) || !(o.sample_interval >= 0))
    p.add("sample_interval = {:g} must be finite and >= 0", o.sample_interval);
  if (o.sampling == Sampling::Stepper && !interpolant)
    p.add("sampling = Stepper needs a stepper with a continuous extension (dopri5, dense output)");
  if (o.sampling == Sampling::OnSteps && !adaptive)
    p.add("sampling = OnSteps needs an adaptive stepper (fixed steps cannot be shortened)");
  return p.str();
}

}  // namespace detail

std::string SimulateOptions::validate() const {
  return detail::validate_options(*this, is_adaptive(stepper), stepper == StepperKind::Dopri5);
}

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

double renormalize(const StateLayout& layout, Eigen::MatrixXd& batch) {
  // Row b is one trajectory: oscillator i of every row is the column block at
  // osc_offset + i·D, so the norms of one oscillator over the batch are one pass over D columns.
  double drift = 0.0;
  const Index d = layout.osc_dim;
  for (Index i = 0; i < layout.n_osc; ++i) {
    auto block = batch.middleCols(layout.osc_offset() + i * d, d);
    for (Index b = 0; b < batch.rows(); ++b) {
      const double n = block.row(b).norm();
      drift = std::max(drift, std::abs(n - 1.0));
      if (n > 0.0 && std::isfinite(n)) block.row(b) /= n;
    }
  }
  return drift;
}

bool all_finite(const Eigen::VectorXd& x) {
  return x.allFinite();
}

std::optional<EndReason> end_reason_from_name(std::string_view name) {
  for (EndReason r :
       {EndReason::TEnd, EndReason::Converged, EndReason::EnergyPlateau, EndReason::OrderParameter,
        EndReason::MaxSteps, EndReason::StepCollapse, EndReason::NonFinite, EndReason::Interrupted})
    if (end_reason_name(r) == name) return r;
  return std::nullopt;
}

}  // namespace hkam
