// Batched solves and reverse-mode gradients through them (integrate/batch_solve.hpp): the
// gradient of a whole solve against central differences of the whole solve (step sequence
// fixed), batch = sum of trajectories, Dormand–Prince against odeint's, RK4's order.

#include <gtest/gtest.h>

#include "hkam/integrate/batch_solve.hpp"
#include "hkam/observe/stop_conditions.hpp"
#include "support/batch.hpp"
#include "support/numeric.hpp"

namespace hkam {
namespace {

using namespace test::batch;
using test::vectors_near_rel;

// L = Σ_b c_b·z_b(t_end) + ½‖z(t_end)‖²: linear and quadratic parts.
double loss(const Eigen::MatrixXd& zend, const Eigen::MatrixXd& c) {
  return (zend.array() * c.array()).sum() + 0.5 * zend.squaredNorm();
}

double solve_loss(const HopfieldKuramotoParams& p, Eigen::MatrixXd z, const BatchSolveOptions& o,
                  const Eigen::MatrixXd& c) {
  BatchSolveWorkspace<double> ws;
  solve(BatchModel<double>(p), z, o, ws);
  return loss(z, c);
}

struct Case {
  StepperKind stepper;
  Kinds kinds;
};

// One parameterised case set up: parameters, model, B initial states, a loss weight per state
// coordinate, options for the case's stepper.
struct SolveCase {
  HopfieldKuramotoParams p;
  BatchModel<double> model;
  Eigen::MatrixXd z0, c;
  BatchSolveOptions o;
  SolveCase(const Case& cs, std::uint64_t seed, Index batch, double t_end)
      : p(make_params(cs.kinds, seed)), model(p) {
    Rng rng(seed + 100);
    z0 = random_states(rng, batch, kN, kN, kD);
    c = random_states(rng, batch, kN, kN, kD);
    o.stepper = cs.stepper;
    o.t_end = t_end;
    o.dt = cs.stepper == StepperKind::Dopri5 ? 0.0 : 0.05;
  }
};

// tanh units, linear oscillator coupling on a ring, additive ℰ_HK on a small world.
const Kinds kSimple{
    LagrangianKind::Tanh, PairPotentialKind::Linear, HkCouplingKind::Additive, false, false, false};

class SolveGradient : public ::testing::TestWithParam<Case> {};

TEST_P(SolveGradient, WholeSolveGradientMatchesCentralDifferences) {
  const Case& cs = GetParam();
  const Index batch = 2;
  SolveCase su(cs, 21, batch, 0.3);
  // (plain references, not a structured binding: clang 14 cannot capture those in lambdas)
  const HopfieldKuramotoParams& p = su.p;
  const BatchModel<double>& model = su.model;
  const Eigen::MatrixXd &z0 = su.z0, &c = su.c;
  BatchSolveOptions& o = su.o;
  o.rtol = 1e-6;  // several accepted steps even on the easy kinds
  o.atol = 1e-9;
  o.normalize = cs.stepper != StepperKind::Euler;  // Euler without the projection, too
  BatchSolveWorkspace<double> ws;
  BatchTape<double> tape;
  Eigen::MatrixXd z = z0;
  const auto sum = solve(model, z, o, ws, &tape);
  ASSERT_EQ(sum.end_reason, EndReason::TEnd);
  ASSERT_GE(tape.h.size(), 3u);
  Eigen::MatrixXd lambda = c + z;  // ∂L/∂z(t_end)
  HkGradient grad = HkGradient::zeros_like(p);
  solve_backward(model, tape, o, lambda, ws, grad);

  BatchSolveOptions fixed = o;
  fixed.steps = tape.h;  // the accepted sequence, replayed
  const double h = test::kFdStep;
  Eigen::MatrixXd fd(batch, z0.cols());
  for (Index b = 0; b < batch; ++b)
    for (Index k = 0; k < z0.cols(); ++k) {
      Eigen::MatrixXd zp = z0, zm = z0;
      zp(b, k) += h;
      zm(b, k) -= h;
      fd(b, k) = (solve_loss(p, zp, fixed, c) - solve_loss(p, zm, fixed, c)) / (2 * h);
    }
  EXPECT_TRUE(vectors_near_rel(lambda.reshaped(), fd.reshaped(), test::kFdRelTol)) << "dL/dz0";

  auto fd_param = [&](auto edit) {
    HopfieldKuramotoParams q = p;
    edit(q, h);
    const double lp = solve_loss(q, z0, fixed, c);
    q = p;
    edit(q, -h);
    return (lp - solve_loss(q, z0, fixed, c)) / (2 * h);
  };
  for (const std::pair<Index, Index>& ij : {std::pair<Index, Index>{0, 1}, {2, 2}, {5, 3}}) {
    const Index i = ij.first, j = ij.second;
    EXPECT_TRUE(test::near_rel(grad.hopfield.w(i, j),
                               fd_param([&](auto& q, double e) { q.hopfield.w(i, j) += e; }),
                               test::kFdRelTol))
        << "hopfield.w(" << i << "," << j << ")";
  }
  EXPECT_TRUE(test::near_rel(grad.hopfield.b[4],
                             fd_param([](auto& q, double e) { q.hopfield.b[4] += e; }),
                             test::kFdRelTol))
      << "hopfield.b";
  for (Index e : {Index(0), p.kuramoto.a.size() - 1})
    EXPECT_TRUE(test::near_rel(grad.kuramoto.a[e],
                               fd_param([&](auto& q, double s) { q.kuramoto.a[e] += s; }),
                               test::kFdRelTol))
        << "kuramoto.a[" << e << "]";
  EXPECT_TRUE(test::near_rel(grad.kuramoto.omega(0, 1) - grad.kuramoto.omega(1, 0),
                             fd_param([](auto& q, double s) {
                               q.kuramoto.omega(0, 1) += s;
                               q.kuramoto.omega(1, 0) -= s;
                             }),
                             test::kFdRelTol))
      << "kuramoto.omega";
  if (p.coupling.kind == HkCouplingKind::General) {
    EXPECT_TRUE(test::near_rel(grad.coupling.weights[3],
                               fd_param([](auto& q, double s) { q.coupling.weights[3] += s; }),
                               test::kFdRelTol))
        << "coupling.weights";
  } else {
    EXPECT_TRUE(test::near_rel(grad.coupling.alpha,
                               fd_param([](auto& q, double s) { q.coupling.alpha += s; }),
                               test::kFdRelTol))
        << "coupling.alpha";
  }
}

TEST_P(SolveGradient, BatchGradientIsTheSumOfTrajectoryGradients) {
  const Index batch = 10;
  const SolveCase su(GetParam(), 22, batch, 0.2);
  const HopfieldKuramotoParams& p = su.p;
  const BatchModel<double>& model = su.model;
  const Eigen::MatrixXd &z0 = su.z0, &c = su.c;
  const BatchSolveOptions& o = su.o;
  BatchSolveWorkspace<double> ws;
  BatchTape<double> tape;
  Eigen::MatrixXd z = z0;
  solve(model, z, o, ws, &tape);
  Eigen::MatrixXd lambda = c;
  HkGradient all = HkGradient::zeros_like(p), parts = HkGradient::zeros_like(p);
  solve_backward(model, tape, o, lambda, ws, all);
  BatchSolveOptions fixed = o;
  fixed.steps = tape.h;  // each trajectory alone on the batch's steps
  for (Index b = 0; b < batch; ++b) {
    Eigen::MatrixXd zb = z0.row(b);
    BatchTape<double> tb;
    solve(model, zb, fixed, ws, &tb);
    EXPECT_TRUE(vectors_near_rel(zb.transpose(), z.row(b).transpose(), 1e-13));
    Eigen::MatrixXd lb = c.row(b);
    solve_backward(model, tb, fixed, lb, ws, parts);
    EXPECT_TRUE(vectors_near_rel(lb.transpose(), lambda.row(b).transpose(), 1e-12));
  }
  EXPECT_TRUE(vectors_near_rel(all.hopfield.w.reshaped(), parts.hopfield.w.reshaped(), 1e-12));
  EXPECT_TRUE(vectors_near_rel(all.kuramoto.a, parts.kuramoto.a, 1e-12));
  EXPECT_TRUE(
      vectors_near_rel(all.kuramoto.omega.reshaped(), parts.kuramoto.omega.reshaped(), 1e-12));
  EXPECT_TRUE(test::near_rel(all.coupling.alpha, parts.coupling.alpha, 1e-12));
}

// A tape that keeps its stages: the same trajectory, bit for bit, and the same gradient to
// rounding with no stage replayed (its forward quantities are restored from the tape), with
// and without renormalisation (without, Dormand–Prince reuses its last stage: FSAL).
TEST_P(SolveGradient, KeptStagesGiveTheReplayedGradient) {
  const SolveCase su(GetParam(), 23, 4, 0.3);
  for (bool normalize : {true, false}) {
    BatchSolveOptions o = su.o;
    o.normalize = normalize;
    if (o.stepper == StepperKind::Akorn && !normalize) continue;  // akorn always renormalises
    BatchSolveWorkspace<double> ws;
    BatchTape<double> replayed, kept;
    kept.keep_stages = true;
    Eigen::MatrixXd z1 = su.z0, z2 = su.z0;
    solve(su.model, z1, o, ws, &replayed);
    solve(su.model, z2, o, ws, &kept);
    EXPECT_EQ((z1 - z2).cwiseAbs().maxCoeff(), 0.0);
    ASSERT_TRUE(kept.has_stages());
    ASSERT_FALSE(replayed.has_stages());
    EXPECT_GT(kept.bytes(), 2 * replayed.bytes());
    // A tape whose last solve did not keep its stages never uses stale ones.
    BatchTape<double> stale;
    stale.keep_stages = true;
    Eigen::MatrixXd z3 = su.z0;
    solve(su.model, z3, o, ws, &stale);
    stale.keep_stages = false;
    z3 = su.z0;
    solve(su.model, z3, o, ws, &stale);
    stale.keep_stages = true;
    EXPECT_FALSE(stale.has_stages());
    HkGradient g1 = HkGradient::zeros_like(su.p), g2 = HkGradient::zeros_like(su.p);
    Eigen::MatrixXd l1 = su.c + z1, l2 = su.c + z2;
    solve_backward(su.model, replayed, o, l1, ws, g1);
    solve_backward(su.model, kept, o, l2, ws, g2);
    EXPECT_TRUE(vectors_near_rel(l2.reshaped(), l1.reshaped(), 1e-11)) << "normalize " << normalize;
    EXPECT_TRUE(vectors_near_rel(g2.hopfield.w.reshaped(), g1.hopfield.w.reshaped(), 1e-11));
    EXPECT_TRUE(vectors_near_rel(g2.hopfield.b, g1.hopfield.b, 1e-11));
    EXPECT_TRUE(vectors_near_rel(g2.kuramoto.a, g1.kuramoto.a, 1e-11));
    EXPECT_TRUE(
        vectors_near_rel(g2.kuramoto.omega.reshaped(), g1.kuramoto.omega.reshaped(), 1e-11));
    EXPECT_TRUE(test::near_rel(g2.coupling.alpha, g1.coupling.alpha, 1e-11));
  }
}

std::vector<Case> cases() {
  std::vector<Case> out;
  const Kinds a{
      LagrangianKind::Relu, PairPotentialKind::Relu, HkCouplingKind::Additive, false, false, false};
  const Kinds b{
      LagrangianKind::Tanh, PairPotentialKind::Tanh, HkCouplingKind::General, true, false, false};
  const Kinds c{LagrangianKind::LogSumExp,
                PairPotentialKind::Linear,
                HkCouplingKind::Multiplicative,
                true,
                true,
                true};
  const Kinds d{LagrangianKind::Sigmoid,
                PairPotentialKind::Sigmoid,
                HkCouplingKind::Additive,
                false,
                true,
                false};
  for (auto s : {StepperKind::Euler, StepperKind::Rk4, StepperKind::Akorn, StepperKind::Dopri5})
    for (const Kinds& k : {a, b, c, d}) out.push_back({s, k});
  return out;
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  const Kinds& k = info.param.kinds;
  return std::string(stepper_name(info.param.stepper)) + "_" +
         std::string(Lagrangian{k.lagrangian, 1}.name()) + "_" +
         std::string(pair_potential_name(k.potential)) + "_" +
         std::string(hk_coupling_name(k.coupling)) + (k.hk_complete ? "_complete" : "_sparse");
}

INSTANTIATE_TEST_SUITE_P(Steppers, SolveGradient, ::testing::ValuesIn(cases()), case_name);

TEST(BatchSolve, Dopri5AgreesWithOdeintAndKeepsSpheres) {
  const Kinds k{
      LagrangianKind::Tanh, PairPotentialKind::Relu, HkCouplingKind::Additive, false, false, false};
  const auto p = make_params(k, 23);
  Rng rng(11);
  Eigen::MatrixXd z = random_states(rng, 3, kN, kN, kD);
  for (Index b = 0; b < z.rows(); ++b)  // start on the spheres
    for (Index i = 0; i < kN; ++i) {
      auto s = z.row(b).segment(kN + i * kD, kD);
      s /= s.norm();
    }
  const Eigen::MatrixXd z0 = z;
  BatchSolveOptions o;
  o.t_end = 2.0;
  o.rtol = 1e-9;
  o.atol = 1e-11;
  BatchSolveWorkspace<double> ws;
  const auto sum = solve(BatchModel<double>(p), z, o, ws);
  EXPECT_EQ(sum.end_reason, EndReason::TEnd);
  EXPECT_NEAR(sum.t, 2.0, 1e-14);
  const HopfieldKuramoto ref = reference_model(p);
  SimulateOptions so;
  so.t_end = 2.0;
  so.rtol = 1e-11;
  so.atol = 1e-13;
  for (Index b = 0; b < z.rows(); ++b) {
    Eigen::VectorXd x = z0.row(b).transpose();
    simulate(ref, x, so);
    EXPECT_TRUE(vectors_near_rel(z.row(b).transpose(), x, 1e-7)) << "trajectory " << b;
    for (Index i = 0; i < kN; ++i)
      EXPECT_NEAR(z.row(b).segment(kN + i * kD, kD).norm(), 1.0, 1e-14);
  }
}

TEST(BatchSolve, Rk4ConvergesAtFourthOrder) {
  const Kinds k{LagrangianKind::Sigmoid,
                PairPotentialKind::Tanh,
                HkCouplingKind::General,
                false,
                false,
                false};
  const auto p = make_params(k, 24);
  const BatchModel<double> model(p);
  Rng rng(12);
  const Eigen::MatrixXd z0 = random_states(rng, 2, kN, kN, kD);
  BatchSolveWorkspace<double> ws;
  BatchSolveOptions o;
  o.stepper = StepperKind::Rk4;
  o.normalize = false;  // the plain ODE, so the order is RK4's own
  o.t_end = 1.0;
  auto run = [&](double dt) {
    Eigen::MatrixXd z = z0;
    o.dt = dt;
    solve(model, z, o, ws);
    return z;
  };
  const Eigen::MatrixXd exact = run(1.0 / 2048);
  const double e1 = (run(0.1) - exact).cwiseAbs().maxCoeff();
  const double e2 = (run(0.05) - exact).cwiseAbs().maxCoeff();
  EXPECT_NEAR(std::log2(e1 / e2), 4.0, 0.3) << e1 << " " << e2;
}

TEST(BatchSolve, OptionsAreValidatedWithEveryProblemNamed) {
  BatchSolveOptions o;
  o.stepper = StepperKind::Rk4;
  o.dt = 0;
  o.t_end = -1;
  const std::string why = o.validate();
  EXPECT_NE(why.find("t_end = -1 must be finite and after t0 = 0"), std::string::npos) << why;
  EXPECT_NE(why.find("dt = 0 must be a finite step > 0"), std::string::npos) << why;
  o = {};
  o.rtol = std::numeric_limits<double>::infinity();
  EXPECT_NE(o.validate().find("rtol = inf"), std::string::npos);
  o = {};
  o.stepper = StepperKind::Rkf78;
  EXPECT_NE(o.validate().find("rkf78 is not available"), std::string::npos);
  const BatchModel<double> model(make_params(kSimple, 1));
  Eigen::MatrixXd z(2, 3);
  BatchSolveWorkspace<double> ws;
  EXPECT_THROW(solve(model, z, BatchSolveOptions{}, ws), std::invalid_argument);
}

TEST(BatchSolve, ObserverStopsTheSolveAndTheTapeEndsThere) {
  const BatchModel<double> model(make_params(kSimple, 2));
  Rng rng(3);
  Eigen::MatrixXd z = random_states(rng, 2, kN, kN, kD);
  BatchSolveWorkspace<double> ws;
  BatchTape<double> tape;
  BatchSolveOptions o;
  o.stepper = StepperKind::Euler;
  o.dt = 0.1;
  int calls = 0;
  const auto s = solve<double>(model, z, o, ws, &tape,
                               [&](double, const Eigen::MatrixXd&) { return ++calls < 4; });
  EXPECT_EQ(s.end_reason, EndReason::Interrupted);
  EXPECT_EQ(s.steps, 3);
  EXPECT_EQ(tape.h.size(), 3u);
  EXPECT_TRUE(tape.end.isApprox(z));
}

TEST(BatchSolve, ObserverActionCarriesItsReason) {
  // A library stop condition drives the batched solve: the summed energy of the batch reaches a
  // plateau, and the solve ends with that reason (not `interrupted`) before t_end.
  const BatchModel<double> model(make_params(kSimple, 2));
  Rng rng(4);
  Eigen::MatrixXd z = random_states(rng, 3, kN, kN, kD);
  BatchSolveWorkspace<double> ws;
  BatchSolveOptions o;
  o.t_end = 1e4;
  EnergyPlateau plateau(2.0, 1e-6);
  Eigen::VectorXd e;
  BatchWorkspace<double> ews;
  double last_t = 0;
  const auto s = solve<double>(model, z, o, ws, nullptr, [&](double t, const Eigen::MatrixXd& x) {
    model.energy(x, e, ews);
    last_t = t;
    return plateau.add(t, e.sum());
  });
  EXPECT_EQ(s.end_reason, EndReason::EnergyPlateau);
  EXPECT_LT(s.t, o.t_end);
  EXPECT_GE(s.t, 2.0);
  EXPECT_EQ(last_t, s.t);
}

}  // namespace
}  // namespace hkam
