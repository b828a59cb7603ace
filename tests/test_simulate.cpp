// simulate() opened up: any odeint stepper category, batches as states, observers returning an
// Action, the library's stop conditions and SimulateOptions::validate.
#include <gtest/gtest.h>

#include <cmath>

#include "hkam/hkam.hpp"
#include "hkam/observe/stop_conditions.hpp"
#include "support/batch.hpp"

namespace hkam {
namespace {

namespace odeint = boost::numeric::odeint;
using Vec = Eigen::VectorXd;
using Algebra = odeint::vector_space_algebra;

// dx/dt = −x + t, x(0) = 1: x(t) = 2e^{−t} + t − 1.
struct Decay {
  void operator()(const Vec& x, Vec& d, double t) const { d[0] = -x[0] + t; }
};
double exact(double t) {
  return 2 * std::exp(-t) + t - 1;
}

TEST(SimulateGeneric, AnOdeintStepperGivenDirectlyMatchesItsStepperKindBitForBit) {
  SimulateOptions o;
  o.dt = 0.01;
  o.stepper = StepperKind::Rk4;
  Vec a = Vec::Ones(1), b = Vec::Ones(1);
  const Summary by_kind = simulate(Decay{}, a, o);
  const Summary given =
      simulate(Decay{}, b, odeint::runge_kutta4<Vec, double, Vec, double, Algebra>{}, o);
  EXPECT_EQ(a[0], b[0]);
  EXPECT_EQ(by_kind.steps, given.steps);
  EXPECT_EQ(by_kind.rhs_evaluations, given.rhs_evaluations);

  o.stepper = StepperKind::Dopri5;
  o.rtol = o.atol = 1e-9;
  a.setOnes();
  b.setOnes();
  const Summary dopri = simulate(Decay{}, a, o);
  odeint::runge_kutta_dopri5<Vec, double, Vec, double, Algebra> bare;  // wrapped in a controller
  const Summary dopri_given = simulate(Decay{}, b, std::ref(bare), o);
  EXPECT_EQ(a[0], b[0]);
  EXPECT_EQ(dopri.rejected, dopri_given.rejected);
}

// An error stepper odeint has but hkam does not name (Cash–Karp 5(4)) is put under odeint's
// controller with the options' tolerances: it meets them, and rejected attempts are counted.
TEST(SimulateGeneric, ErrorSteppersAreControlledWithTheOptionsTolerances) {
  for (double tol : {1e-5, 1e-9}) {
    SimulateOptions o;
    o.t_end = 3.0;
    o.dt = 1.0;  // too long a first step: it must be rejected and shortened
    o.rtol = o.atol = tol;
    Vec x = Vec::Ones(1);
    const Summary s = simulate(
        Decay{}, x, odeint::runge_kutta_cash_karp54<Vec, double, Vec, double, Algebra>{}, o);
    EXPECT_EQ(s.end_reason, EndReason::TEnd);
    EXPECT_NEAR(s.t, 3.0, 1e-12);
    EXPECT_GT(s.rejected, 0);
    EXPECT_LT(std::abs(x[0] - exact(3.0)), 20 * tol) << tol;
  }
}

// A dense-output stepper steps on its own copy of the state; samples come from its interpolant
// and the run ends exactly at t_end although its last step overshoots.
TEST(SimulateGeneric, DenseOutputSteppersSampleFromTheirInterpolant) {
  SimulateOptions o;
  o.t_end = 1.0;
  o.dt = 0.3;
  o.sample_interval = 0.05;
  Vec x = Vec::Ones(1);
  auto dense = odeint::make_dense_output(
      1e-8, 1e-8, odeint::runge_kutta_dopri5<Vec, double, Vec, double, Algebra>{});
  int samples = 0;
  double worst = 0;
  const Summary s = simulate(Decay{}, x, dense, o, {}, [&](double t, const Vec& v) {
    ++samples;
    worst = std::max(worst, std::abs(v[0] - exact(t)));
    return true;
  });
  EXPECT_EQ(s.end_reason, EndReason::TEnd);
  EXPECT_EQ(samples, 21);
  EXPECT_LT(s.steps, 21);  // interpolated, not stepped onto
  EXPECT_LT(worst, 1e-6);
  EXPECT_LT(std::abs(x[0] - exact(1.0)), 1e-7);
}

TEST(SimulateGeneric, ForcedHermiteSamplingWithDopri5StaysAccurate) {
  SimulateOptions o;
  o.rtol = o.atol = 1e-9;
  o.sample_interval = 0.1;
  o.sampling = Sampling::Hermite;
  Vec x = Vec::Ones(1);
  double worst = 0;
  simulate(Decay{}, x, o, {}, [&](double t, const Vec& v) {
    worst = std::max(worst, std::abs(v[0] - exact(t)));
    return true;
  });
  EXPECT_LT(worst, 1e-5);  // third-order interpolant between 1e-9-accurate steps
  EXPECT_GT(worst, 0.0);
}

TEST(SimulateGeneric, ObserversStopWithTheirOwnReason) {
  SimulateOptions o;
  o.t_end = 10.0;
  Vec x = Vec::Ones(1);
  const Summary s = simulate(Decay{}, x, o, [](double t, const Vec&, const StepInfo&) {
    return t > 2.0 ? Action::stop_with(EndReason::OrderParameter) : Action::proceed();
  });
  EXPECT_EQ(s.end_reason, EndReason::OrderParameter);
  EXPECT_GT(s.t, 2.0);
  EXPECT_LT(s.t, 10.0);
  // A predicate observer (bool) still works: false stops with `interrupted`.
  const Summary p =
      simulate(Decay{}, x, o, [](double, const Vec&, const StepInfo& i) { return i.step < 3; });
  EXPECT_EQ(p.end_reason, EndReason::Interrupted);
  EXPECT_EQ(p.steps, 3);
}

TEST(SimulateOptionsValidate, NamesEveryProblemAndSimulateRefusesThem) {
  SimulateOptions o;
  EXPECT_EQ(o.validate(), "");
  o.t_end = -1;
  o.rtol = std::numeric_limits<double>::infinity();
  o.dt = 0;
  o.max_steps = 0;
  o.sample_interval = std::nan("");
  const std::string p = o.validate();
  for (const char* word : {"t_end", "rtol", "dt = 0", "max_steps", "sample_interval"})
    EXPECT_NE(p.find(word), std::string::npos) << word << " not in: " << p;
  Vec x = Vec::Ones(1);
  EXPECT_THROW(simulate(Decay{}, x, o), std::invalid_argument);

  SimulateOptions fixed;
  fixed.stepper = StepperKind::Rk4;
  fixed.rtol = -1;  // tolerances do not concern a fixed-step run
  EXPECT_EQ(fixed.validate(), "");
  fixed.sampling = Sampling::OnSteps;
  EXPECT_NE(fixed.validate().find("OnSteps"), std::string::npos);
  fixed.sampling = Sampling::Stepper;
  EXPECT_NE(fixed.validate().find("continuous extension"), std::string::npos);
}

// ---- batches as states ----

test::batch::Kinds lyapunov_kinds() {
  return {
      LagrangianKind::Tanh, PairPotentialKind::Tanh, HkCouplingKind::Additive, false, false, false};
}

// A batch integrated with fixed steps is its trajectories integrated one by one (the batched
// and the single-trajectory right-hand sides agree to rounding).
TEST(SimulateBatch, FixedStepBatchEqualsItsTrajectories) {
  const HopfieldKuramotoParams p = test::batch::make_params(lyapunov_kinds(), 5);
  const BatchModel<double> model(p);
  const HopfieldKuramoto single(p);
  BatchWorkspace<double> ws;
  Rng rng(6);
  Eigen::MatrixXd z =
      test::batch::random_states(rng, 4, test::batch::kN, test::batch::kN, test::batch::kD);
  const Eigen::MatrixXd z0 = z;
  SimulateOptions o;
  o.stepper = StepperKind::Rk4;
  o.dt = 0.01;
  o.t_end = 0.5;
  const Summary s = simulate(BatchRhs<double>{&model, &ws}, z, o);
  EXPECT_EQ(s.steps, 50);
  for (Index b = 0; b < z.rows(); ++b) {
    Vec x = z0.row(b).transpose();
    simulate(single, x, o);
    EXPECT_LT((z.row(b).transpose() - x).cwiseAbs().maxCoeff(), 1e-12) << "trajectory " << b;
  }
}

// Adaptive: one step size for the whole batch; every row's oscillators stay on their spheres and
// every trajectory's own energy, audited separately, never rises.
TEST(SimulateBatch, AdaptiveBatchSharesOneStepAndAuditsEachTrajectory) {
  const HopfieldKuramotoParams p = test::batch::make_params(lyapunov_kinds(), 7);
  const BatchModel<double> model(p);
  BatchWorkspace<double> ws, energy_ws;
  Rng rng(8);
  const Index batch = 5;
  Eigen::MatrixXd z =
      test::batch::random_states(rng, batch, test::batch::kN, test::batch::kN, test::batch::kD);
  SimulateOptions o;
  o.t_end = 3.0;
  o.rtol = 1e-8;
  o.atol = 1e-10;
  std::vector<EnergyAudit> audits(batch, EnergyAudit(o.rtol));
  Eigen::VectorXd e;
  using Batch = Eigen::MatrixXd;
  const BasicObserver<Batch> audit_each = [&](double t, const Batch& s,
                                              const BasicStepInfo<Batch>& info) {
    model.energy(s, e, energy_ws);
    for (Index b = 0; b < batch; ++b) audits[b].add(info.step, t, e[b]);
    return Action::proceed();
  };
  const Summary s = simulate(BatchRhs<double>{&model, &ws}, z, o, audit_each);
  EXPECT_EQ(s.end_reason, EndReason::TEnd);
  EXPECT_GT(s.steps, 5);
  for (Index b = 0; b < batch; ++b) {
    EXPECT_TRUE(audits[b].result().monotone()) << "trajectory " << b;
    EXPECT_EQ(audits[b].result().checked, s.steps);
    for (Index i = 0; i < test::batch::kN; ++i)
      EXPECT_NEAR(z.row(b).segment(test::batch::kN + i * test::batch::kD, test::batch::kD).norm(),
                  1.0, 1e-14);
  }
}

// ---- stop conditions ----

TEST(StopConditions, EnergyPlateauStopsOnceTheWindowShowsNoDecreaseAndResumesAlike) {
  EnergyPlateau plateau(1.0, 1e-6);
  auto energy = [](double t) { return t < 3.0 ? -t : -3.0; };  // falls, then flat from t = 3
  const double h = 0.125;                                      // exact in binary
  double stopped_at = -1;
  std::vector<double> saved;
  for (int k = 0; k <= 80 && stopped_at < 0; ++k) {
    if (k == 20) saved = plateau.saved();
    if (plateau.add(h * k, energy(h * k)).stop) stopped_at = h * k;
  }
  EXPECT_EQ(stopped_at, 4.0);  // the first time the last 1.0 time units are flat
  EnergyPlateau resumed(1.0, 1e-6);
  resumed.restore(saved);
  double resumed_at = -1;
  for (int k = 20; k <= 80 && resumed_at < 0; ++k)
    if (resumed.add(h * k, energy(h * k)).stop) resumed_at = h * k;
  EXPECT_EQ(resumed_at, stopped_at);
  EXPECT_EQ(plateau.add(5.0, -3.0).reason, EndReason::EnergyPlateau);
  EXPECT_THROW(EnergyPlateau(0.0, 1e-6), std::invalid_argument);
  EXPECT_THROW(EnergyPlateau(1.0, std::numeric_limits<double>::infinity()), std::invalid_argument);
}

TEST(StopConditions, OrderParameterAboveSeesSynchrony) {
  const StateLayout lay{0, 2, 2};
  OrderParameterAbove stop(lay, 0.9);
  Vec apart(4), together(4);
  apart << 1, 0, -1, 0;
  together << 1, 0, 1, 0;
  EXPECT_FALSE(stop.check(apart).stop);
  const Action a = stop.check(together);
  EXPECT_TRUE(a.stop);
  EXPECT_EQ(a.reason, EndReason::OrderParameter);
}

}  // namespace
}  // namespace hkam
