#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <optional>

#include "support/numeric.hpp"

namespace hkam {
namespace {

// Audits the energy after every accepted step of an adaptive run; returns the audit.
template <class Model>
AuditResult audited_run(const Model& model, Eigen::VectorXd& z, double t_end, double rtol,
                        Summary* summary = nullptr) {
  SimulateOptions o;
  o.t_end = t_end;
  o.rtol = rtol;
  o.atol = rtol * 1e-2;
  o.max_steps = 200000;  // a budget, so that a stiff or diverging case fails instead of hanging
  EnergyAudit audit(rtol);
  long step = 0;
  const Summary s = simulate(model, z, o, [&](double t, const Eigen::VectorXd& x, const StepInfo&) {
    audit.add(step++, t, model.energy(x));
    return true;
  });
  EXPECT_EQ(s.end_reason, EndReason::TEnd);
  EXPECT_GT(s.steps, 10);
  if (summary) *summary = s;
  return audit.result();
}

constexpr double kRtol = 1e-8;

class HopfieldTrajectory : public ::testing::TestWithParam<LagrangianKind> {};

TEST_P(HopfieldTrajectory, EnergyNeverIncreasesAlongAnAdaptiveRun) {
  for (std::uint64_t seed : {1, 2}) {
    Rng rng(seed);
    const Hopfield hop(random_symmetric_weights(rng, 40, 0.8), normal_vector(rng, 40, 0.3),
                       Lagrangian{GetParam(), 2.0});
    Eigen::VectorXd x = normal_vector(rng, 40, 1.0);
    const double e0 = hop.energy(x);
    const AuditResult a = audited_run(hop, x, 10.0, kRtol);
    EXPECT_TRUE(a.monotone()) << a.violations << " violations, max increase " << a.max_increase;
    EXPECT_LT(hop.energy(x), e0);
  }
}

INSTANTIATE_TEST_SUITE_P(AllLagrangians, HopfieldTrajectory,
                         ::testing::Values(LagrangianKind::Tanh, LagrangianKind::Sigmoid,
                                           LagrangianKind::Relu, LagrangianKind::LogSumExp));

class KuramotoTrajectory : public ::testing::TestWithParam<PairPotentialKind> {};

TEST_P(KuramotoTrajectory, EnergyNeverIncreasesAndNormsStayOne) {
  Rng rng(3);
  const Index m = 30, d = 3;
  const Kuramoto k =
      test::random_kuramoto(rng, m, d, GetParam(), Graph::watts_strogatz(m, 6, 0.2, 9), 1.0);
  Eigen::VectorXd s = test::random_sphere_state(rng, m, d);
  Summary sum;
  const AuditResult a = audited_run(k, s, 10.0, kRtol, &sum);
  EXPECT_TRUE(a.monotone()) << a.violations << " violations, max increase " << a.max_increase;
  EXPECT_LT(sum.max_norm_drift, 1e-6);  // drift per step is of the order of the local error
  for (Index i = 0; i < m; ++i) EXPECT_NEAR(s.segment(i * d, d).norm(), 1.0, 1e-14);
}

INSTANTIATE_TEST_SUITE_P(AllPotentials, KuramotoTrajectory,
                         ::testing::Values(PairPotentialKind::Linear, PairPotentialKind::Relu,
                                           PairPotentialKind::Tanh, PairPotentialKind::Sigmoid));

class HkTrajectory
    : public ::testing::TestWithParam<std::tuple<LagrangianKind, HkCouplingKind, bool>> {};

TEST_P(HkTrajectory, EnergyNeverIncreasesAlongAnAdaptiveRun) {
  const auto [lag, cpl, complete] = GetParam();
  Rng rng(4);
  // relu: keep the energy bounded below (I − W_eff copositive), else x and the oscillator forces
  // (∝ g_i g_j) grow without bound and the run is a stiffness test, not a monotonicity test.
  const bool relu = lag == LagrangianKind::Relu;
  const HopfieldKuramoto hk =
      test::random_hk(rng, 24, 3, lag, PairPotentialKind::Tanh, cpl, complete, 0.7, 1.9,
                      relu ? 0.3 : 1.0, relu ? 0.005 : 0.8);
  Eigen::VectorXd z = test::random_hk_state(rng, hk.layout());
  const double e0 = hk.energy(z);
  const AuditResult a = audited_run(hk, z, 8.0, kRtol);
  EXPECT_TRUE(a.monotone()) << a.violations << " violations, max increase " << a.max_increase
                            << " at step " << a.max_increase_step;
  EXPECT_LT(hk.energy(z), e0);
}

INSTANTIATE_TEST_SUITE_P(
    LagrangianCoupling, HkTrajectory,
    ::testing::Combine(::testing::Values(LagrangianKind::Tanh, LagrangianKind::Sigmoid,
                                         LagrangianKind::Relu, LagrangianKind::LogSumExp),
                       ::testing::Values(HkCouplingKind::General, HkCouplingKind::Additive,
                                         HkCouplingKind::Multiplicative),
                       ::testing::Bool()));

TEST(AkornTrajectory, SymmetricCouplingEnergyNeverIncreases) {
  Rng rng(5);
  const Index m = 20, d = 2;
  const Eigen::MatrixXd a = normal_matrix(rng, m * d, m * d, 0.2);
  const AkornKuramoto ak(m, d, a + a.transpose(), normal_matrix(rng, m, d, 0.5));
  Eigen::VectorXd s = test::random_sphere_state(rng, m, d);
  EXPECT_TRUE(audited_run(ak, s, 10.0, kRtol).monotone());
}

// Negative control for the audit: per-oscillator frequencies make the energy rise, and the same
// audit that passes the Lyapunov runs above flags it.
TEST(AuditNegativeControl, PerOscillatorFrequenciesRaiseTheEnergyAndAreFlagged) {
  Rng rng(6);
  const Index m = 20, d = 2;
  Kuramoto k(m, d, Graph::complete(m), PairPotentialKind::Linear,
             Eigen::VectorXd::Constant(1, -0.5 / m), {});
  std::vector<Eigen::MatrixXd> om;
  for (Index i = 0; i < m; ++i) om.push_back(random_skew(rng, d, 2.0));
  k.set_oscillator_omegas(om);
  EXPECT_FALSE(k.lyapunov().guaranteed);
  Eigen::VectorXd s = test::random_sphere_state(rng, m, d);
  const AuditResult a = audited_run(k, s, 10.0, kRtol);
  EXPECT_GT(a.violations, 0);
  EXPECT_GT(a.max_increase, 1e-4);
}

TEST(EnergyAudit, FlagsIncreasesBeyondTheToleranceAndNaN) {
  EnergyAudit audit(1e-6);  // relative tolerance 1e-4
  audit.add(0, 0.0, 10.0);
  audit.add(1, 0.1, 9.0);
  audit.add(2, 0.2, 9.002);   // +2e-3 > 1e-4·9: violation
  audit.add(3, 0.3, 9.0025);  // +5e-4 < 1e-4·9.002: within tolerance
  EXPECT_EQ(audit.result().violations, 1);
  EXPECT_EQ(audit.result().first_violation_step, 2);
  EXPECT_NEAR(audit.result().max_increase, 2e-3, 1e-12);
  EXPECT_EQ(audit.result().max_increase_step, 2);
  audit.add(4, 0.4, std::nan(""));
  EXPECT_EQ(audit.result().violations, 2);
}

TEST(EnergyAudit, LargestChangeIsStatedWithoutANegativeIncrease) {
  EXPECT_EQ(largest_change_text(2e-3), "largest increase 0.002");
  EXPECT_EQ(largest_change_text(-4.55e-13), "no increase (smallest decrease 4.55e-13)");
  EXPECT_EQ(largest_change_text(0.0), "no increase");
  EXPECT_EQ(largest_change_text(std::nan("")), "largest increase nan");  // never "no increase"
}

// ---- D = 2 trajectories are classical Kuramoto trajectories (DESIGN §5.7). ----

struct PhaseModel {  // dθ_i/dt = ω + Σ_j K_ij sin(θ_j − θ_i), on the same edges
  const Graph* g;
  Eigen::VectorXd k;
  double omega;
  StateLayout layout() const { return {g->num_nodes(), 0, 0}; }
  void operator()(const Eigen::VectorXd& th, Eigen::VectorXd& d, double) const {
    d.setConstant(omega);
    for (std::size_t e = 0; e < g->edges().size(); ++e) {
      const auto [i, j] = g->edges()[e];
      d[i] += k[e] * std::sin(th[j] - th[i]);
      d[j] += k[e] * std::sin(th[i] - th[j]);
    }
  }
};

TEST(KuramotoClassical, TwoDimensionalTrajectoriesMatchThePhaseModel) {
  Rng rng(7);
  const Index m = 16;
  const Graph g = Graph::watts_strogatz(m, 4, 0.3, 2);
  const Eigen::VectorXd kij = normal_vector(rng, g.num_edges(), 0.8);
  const double omega = 1.1;
  Eigen::MatrixXd om(2, 2);
  om << 0, -omega, omega, 0;
  const Kuramoto k(m, 2, g, PairPotentialKind::Linear, -kij, {}, om);
  Eigen::VectorXd theta = normal_vector(rng, m, 2.0);
  Eigen::VectorXd s(2 * m);
  for (Index i = 0; i < m; ++i) s.segment(2 * i, 2) << std::cos(theta[i]), std::sin(theta[i]);
  SimulateOptions o;
  o.stepper = StepperKind::Rkf78;
  o.t_end = 3.0;
  o.rtol = 1e-14;
  o.atol = 1e-14;
  simulate(k, s, o);
  simulate(PhaseModel{&g, kij, omega}, theta, o);
  for (Index i = 0; i < m; ++i) {
    EXPECT_NEAR(s[2 * i], std::cos(theta[i]), 1e-10);
    EXPECT_NEAR(s[2 * i + 1], std::sin(theta[i]), 1e-10);
  }
}

// ---- The fixed-step steppers have their order; simulate reports how runs end. ----

struct Decay {  // dx/dt = −x (+ t to make it non-autonomous): x(t) = 2e^{−t} + t − 1 from x(0) = 1
  StateLayout layout() const { return {1, 0, 0}; }
  void operator()(const Eigen::VectorXd& x, Eigen::VectorXd& d, double t) const {
    d[0] = -x[0] + t;
  }
};

double decay_error(StepperKind kind, double dt) {
  Eigen::VectorXd x = Eigen::VectorXd::Ones(1);
  SimulateOptions o;
  o.stepper = kind;
  o.t_end = 1.0;
  o.dt = dt;
  simulate(Decay{}, x, o);
  return std::abs(x[0] - (2.0 * std::exp(-1.0)));
}

TEST(Steppers, EulerIsFirstOrderAndRk4FourthOrder) {
  const double euler_order =
      std::log2(decay_error(StepperKind::Euler, 0.01) / decay_error(StepperKind::Euler, 0.005));
  const double rk4_order =
      std::log2(decay_error(StepperKind::Rk4, 0.1) / decay_error(StepperKind::Rk4, 0.05));
  EXPECT_NEAR(euler_order, 1.0, 0.05);
  EXPECT_NEAR(rk4_order, 4.0, 0.15);
}

// The adaptive steppers run with error control switched off (huge tolerances, dt_max = dt) take
// the fixed step dt, so their own order shows: 5 for Dormand–Prince, 8 for Fehlberg 7(8) (odeint
// propagates the 8th-order solution).
double fixed_step_error(StepperKind kind, double dt) {
  Eigen::VectorXd x = Eigen::VectorXd::Ones(1);
  SimulateOptions o;
  o.stepper = kind;
  o.t_end = 1.0;
  o.dt = o.dt_max = dt;
  o.rtol = o.atol = 1e10;
  const Summary s = simulate(Decay{}, x, o);
  EXPECT_EQ(s.steps, static_cast<long>(std::lround(1.0 / dt)));
  return std::abs(x[0] - (2.0 * std::exp(-1.0)));
}

TEST(Steppers, EveryStepperHasItsConvergenceOrder) {
  const double dopri = std::log2(fixed_step_error(StepperKind::Dopri5, 0.2) /
                                 fixed_step_error(StepperKind::Dopri5, 0.1));
  const double fehlberg = std::log2(fixed_step_error(StepperKind::Rkf78, 0.5) /
                                    fixed_step_error(StepperKind::Rkf78, 0.25));
  const double akorn =
      std::log2(decay_error(StepperKind::Akorn, 0.01) / decay_error(StepperKind::Akorn, 0.005));
  EXPECT_NEAR(dopri, 5.0, 0.3);
  EXPECT_NEAR(fehlberg, 8.0, 0.5);
  EXPECT_NEAR(akorn, 1.0, 0.05);  // the discrete AKOrN update is Euler (plus renormalisation)
}

TEST(Steppers, DiscreteAkornUpdateIsNormalizeOfAnEulerStep) {
  Rng rng(12);
  const Index m = 6, d = 3;
  Eigen::MatrixXd j = normal_matrix(rng, m * d, m * d, 0.5);
  const AkornKuramoto model(m, d, j, normal_matrix(rng, m, d, 0.3), {random_skew(rng, d)});
  Eigen::VectorXd s = test::random_sphere_state(rng, m, d);
  Eigen::VectorXd expected = s, f(s.size());
  const double gamma = 0.3;
  for (int k = 0; k < 3; ++k) {  // reference: x ← normalize(x + γ f(x)), T = 3 times
    model(expected, f, 0.0);
    expected += gamma * f;
    for (Index i = 0; i < m; ++i) expected.segment(i * d, d).normalize();
  }
  SimulateOptions o;
  o.stepper = StepperKind::Akorn;
  o.dt = gamma;
  o.t_end = 3 * gamma;
  const Summary sum = simulate(model, s, o);
  EXPECT_EQ(sum.steps, 3);
  EXPECT_LT((s - expected).cwiseAbs().maxCoeff(), 1e-14);
}

// Dense output: samples at t = 0, 0.02, …, 1 between adaptive steps match the exact solution to
// the integrator's accuracy, and cost no extra RHS evaluation with Dormand–Prince.
TEST(Steppers, DenseOutputSamplesTheExactSolution) {
  for (auto kind : {StepperKind::Dopri5, StepperKind::Rkf78, StepperKind::Rk4}) {
    Eigen::VectorXd x = Eigen::VectorXd::Ones(1);
    SimulateOptions o;
    o.stepper = kind;
    o.t_end = 1.0;
    o.dt = kind == StepperKind::Rk4 ? 0.05 : 0.3;
    o.rtol = o.atol = 1e-7;
    o.sample_interval = 0.02;
    std::vector<double> times;
    double worst = 0;
    const Summary s = simulate(Decay{}, x, o, {}, [&](double t, const Eigen::VectorXd& v) {
      times.push_back(t);
      worst = std::max(worst, std::abs(v[0] - (2 * std::exp(-t) + t - 1)));
      return true;
    });
    ASSERT_EQ(times.size(), 51u) << stepper_name(kind);
    EXPECT_NEAR(times.back(), 1.0, 1e-12);
    EXPECT_LT(worst, 1e-6) << stepper_name(kind);
    if (kind == StepperKind::Dopri5) {
      Eigen::VectorXd y = Eigen::VectorXd::Ones(1);
      o.sample_interval = 0;
      const Summary plain = simulate(Decay{}, y, o);
      EXPECT_EQ(plain.rhs_evaluations, s.rhs_evaluations);
      EXPECT_LT(s.steps, 51);  // fewer steps than samples: the samples really are interpolated
    }
  }
}

TEST(Steppers, AdaptiveSteppersMeetTheirTolerance) {
  for (auto kind : {StepperKind::Dopri5, StepperKind::Rkf78})
    for (double tol : {1e-6, 1e-9}) {
      Eigen::VectorXd x = Eigen::VectorXd::Ones(1);
      SimulateOptions o;
      o.stepper = kind;
      o.rtol = o.atol = tol;
      simulate(Decay{}, x, o);
      EXPECT_LT(std::abs(x[0] - 2.0 * std::exp(-1.0)), 10 * tol) << stepper_name(kind);
    }
}

struct BlowUp {  // dx/dt = x², x(0) = 1: x = 1/(1 − t) is infinite at t = 1
  StateLayout layout() const { return {1, 0, 0}; }
  void operator()(const Eigen::VectorXd& x, Eigen::VectorXd& d, double) const {
    d[0] = x[0] * x[0];
  }
};

TEST(Simulate, ReportsWhyARunEnded) {
  SimulateOptions o;
  o.t_end = 2.0;
  o.stepper = StepperKind::Rk4;
  o.dt = 0.01;
  Eigen::VectorXd x = Eigen::VectorXd::Ones(1);
  const Summary s = simulate(BlowUp{}, x, o);
  EXPECT_EQ(s.end_reason, EndReason::NonFinite);
  EXPECT_LT(s.t, 1.1);

  o.stepper = StepperKind::Dopri5;
  x.setOnes();
  const Summary c = simulate(BlowUp{}, x, o);
  EXPECT_TRUE(c.end_reason == EndReason::StepCollapse || c.end_reason == EndReason::NonFinite)
      << end_reason_name(c.end_reason);
  EXPECT_LT(c.t, 1.0 + 1e-6);

  x.setOnes();
  o.t_end = 50.0;
  o.converged_tol = 1e-6;
  const Summary conv = simulate(Decay{}, x, o);
  EXPECT_EQ(conv.end_reason, EndReason::TEnd);  // dx/dt = t − x never vanishes

  Rng rng(8);
  const Hopfield hop(random_symmetric_weights(rng, 20, 0.2), {},
                     Lagrangian{});  // λ_max ≈ 0.4: x → 0
  Eigen::VectorXd y = normal_vector(rng, 20);
  const Summary h = simulate(hop, y, o);
  EXPECT_EQ(h.end_reason, EndReason::Converged);
  EXPECT_LT(h.t, 50.0);

  long calls = 0;
  y = normal_vector(rng, 20);
  const Summary i = simulate(
      hop, y, o, [&](double, const Eigen::VectorXd&, const StepInfo&) { return ++calls < 5; });
  EXPECT_EQ(i.end_reason, EndReason::Interrupted);
  EXPECT_EQ(i.steps, 4);

  o.converged_tol = 0;
  o.max_steps = 7;
  const Summary m = simulate(hop, y, o);
  EXPECT_EQ(m.end_reason, EndReason::MaxSteps);
  EXPECT_EQ(m.steps, 7);
  EXPECT_GT(m.rhs_evaluations, 7 * 6);
}

}  // namespace
}  // namespace hkam

namespace hkam {
namespace {

// A sampler that stops the run inside a step spanning many samples (a signal during dense
// output) leaves a checkpoint at the step's start; continuing from it gives exactly the samples
// and the final state of the run never stopped.
TEST(Steppers, StoppingInsideAStepOfManySamplesResumesExactly) {
  for (auto kind : {StepperKind::Dopri5, StepperKind::Rk4}) {
    SimulateOptions o;
    o.stepper = kind;
    o.t_end = 3.0;
    o.dt = kind == StepperKind::Rk4 ? 0.5 : 0.3;
    o.rtol = o.atol = 1e-6;
    o.sample_interval = 0.01;  // tens of samples per step
    std::vector<std::pair<double, double>> whole;
    Eigen::VectorXd x = Eigen::VectorXd::Ones(1);
    simulate(Decay{}, x, o, {}, [&](double t, const Eigen::VectorXd& v) {
      whole.emplace_back(t, v[0]);
      return true;
    });

    std::vector<std::pair<double, double>> parts;
    Eigen::VectorXd y = Eigen::VectorXd::Ones(1);
    std::optional<Resume> ck;
    const Observer keep = [&](double, const Eigen::VectorXd& s, const StepInfo& info) {
      if (info.repeat) {
        ck = Resume{*info.state, *info.derivative};
        EXPECT_EQ(s[0], y[0]);
      }
      return true;
    };
    const std::size_t stop_at = 137;  // inside a step
    const Summary first = simulate(Decay{}, y, o, keep, [&](double t, const Eigen::VectorXd& v) {
      if (parts.size() == stop_at) return false;
      parts.emplace_back(t, v[0]);
      return true;
    });
    ASSERT_EQ(first.end_reason, EndReason::Interrupted) << stepper_name(kind);
    ASSERT_TRUE(ck.has_value());
    EXPECT_EQ(ck->state.next_sample, static_cast<long>(stop_at));
    EXPECT_LT(ck->state.t, parts.back().first);  // the step's start, before its first samples
    simulate(
        Decay{}, y, o, {},
        [&](double t, const Eigen::VectorXd& v) {
          parts.emplace_back(t, v[0]);
          return true;
        },
        &*ck);
    ASSERT_EQ(parts.size(), whole.size()) << stepper_name(kind);
    for (std::size_t k = 0; k < whole.size(); ++k) {
      EXPECT_EQ(parts[k].first, whole[k].first) << k;
      EXPECT_EQ(parts[k].second, whole[k].second) << k;  // bit-identical
    }
    EXPECT_EQ(y[0], x[0]);
  }
}

}  // namespace
}  // namespace hkam
