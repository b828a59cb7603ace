#pragma once
/// Energy monotonicity audit: fed the energy after every accepted step, it records every increase
/// larger than the tolerance
///
///     tol(E_prev) = rel · max(|E_prev|, scale),   rel = factor · rtol   (adaptive steppers)
///
/// An accepted step of an error-controlled integrator may change the state by up to ~rtol·|x|
/// beyond the exact flow, so an energy that truly decreases can still appear to rise by a few
/// rtol·|E| when it has nearly stopped moving; `factor` (default 100) leaves room for that, and
/// `scale` (default 1) keeps the tolerance from vanishing when E passes through zero. For
/// fixed-step runs pass the step's own error scale as `rtol` (e.g. dt^order).

#include <Eigen/Core>
#include <cstddef>
#include <limits>
#include <string>

namespace hkam {

struct AuditResult {
  long checked = 0;           ///< energy differences examined
  long violations = 0;        ///< increases beyond the tolerance
  double max_increase = 0.0;  ///< largest E_k − E_{k−1} seen (≤ 0 when strictly decreasing)
  long max_increase_step = -1;
  double max_increase_t = std::numeric_limits<double>::quiet_NaN();
  long first_violation_step = -1;
  bool monotone() const { return violations == 0; }
};

/// "largest increase 3.2e-09" when the energy rose somewhere, else "no increase (smallest
/// decrease 4.55e-13)": how the CLI and `hkam info` state an audit's largest change.
std::string largest_change_text(double max_increase);

class EnergyAudit {
 public:
  /// Largest accepted relative tolerance factor·rtol: a rise of more than 1 % of max(|E|, scale)
  /// in one step is always a violation, whatever the integrator's accuracy. An infinite or huge
  /// tolerance would otherwise call any rising energy "monotone" (docs/hostile-input.md).
  static constexpr double kMaxRelativeTolerance = 1e-2;

  /// Throws std::invalid_argument unless factor·rtol is in [0, kMaxRelativeTolerance] and scale
  /// is finite and > 0.
  explicit EnergyAudit(double rtol, double factor = 100.0, double scale = 1.0);

  /// Feeds the energy E after step `step` at time t. The first call only sets the reference.
  void add(long step, double t, double energy);
  double tolerance_for(double e_prev) const;
  double relative_tolerance() const { return rel_; }
  const AuditResult& result() const { return result_; }

  /// What the audit carries between steps (for checkpoints): continuing from a restored state
  /// gives the same result as never stopping.
  struct State {
    bool has_prev = false;
    double prev = 0.0;
    AuditResult result;
  };
  State state() const { return {has_prev_, prev_, result_}; }
  void restore(const State& s) {
    has_prev_ = s.has_prev;
    prev_ = s.prev;
    result_ = s.result;
  }

 private:
  double rel_, scale_;
  bool has_prev_ = false;
  double prev_ = 0.0;
  AuditResult result_;
};

/// Audits several energy sequences at once, one per row of `energies` (e.g. the chains of a
/// network batch), each with EnergyAudit(relative_tolerance, 1) from column `first` on; the
/// results are merged: counts add up, the largest increase wins (its step is the column, its
/// "time" the row), the first violation is the one of the lowest row.
AuditResult audit_rows(const Eigen::MatrixXd& energies, double relative_tolerance,
                       Eigen::Index first = 0);

}  // namespace hkam
