// The batched model (models/batch.hpp): same right-hand side and energy as the single-trajectory
// HopfieldKuramoto, vector–Jacobian products against central differences for every
// Lagrangian × pair potential × coupling × graph kind, batch = sum of its trajectories, float.

#include <gtest/gtest.h>
#include <omp.h>

#include <string>
#include <tuple>

#include "hkam/models/batch.hpp"
#include "hkam/random.hpp"
#include "support/batch.hpp"
#include "support/numeric.hpp"

namespace hkam {
namespace {

using test::vectors_near_rel;
using namespace test::batch;

// Σ_b λ_b · f(z_b)
double contracted_rhs(const BatchModel<double>& model, const Eigen::MatrixXd& z,
                      const Eigen::MatrixXd& lambda, BatchWorkspace<double>& ws) {
  Eigen::MatrixXd f;
  model.rhs(z, f, ws);
  return (f.array() * lambda.array()).sum();
}

// Central difference of θ ↦ Σ_b λ_b·f_θ(z_b) along the parameter edit `edit(p, ±h)`.
template <class Edit>
double param_fd(const HopfieldKuramotoParams& p, const Eigen::MatrixXd& z,
                const Eigen::MatrixXd& lambda, Edit edit) {
  const double h = test::kFdStep;
  BatchWorkspace<double> ws;
  HopfieldKuramotoParams q = p;
  edit(q, h);
  const double fp = contracted_rhs(BatchModel<double>(q), z, lambda, ws);
  q = p;
  edit(q, -h);
  const double fm = contracted_rhs(BatchModel<double>(q), z, lambda, ws);
  return (fp - fm) / (2 * h);
}

std::string kinds_name(const ::testing::TestParamInfo<Kinds>& info) {
  const Kinds& k = info.param;
  std::string s;
  s += std::string(Lagrangian{k.lagrangian, 1.0}.name()) + "_";
  s += std::string(pair_potential_name(k.potential)) + "_";
  s += std::string(hk_coupling_name(k.coupling));
  s += k.k_complete ? "_Kcomplete" : "_Kring";
  s += k.hk_complete ? "_HKcomplete" : "_HKsmallworld";
  s += k.shared_ab ? "_sharedAB" : "_edgeAB";
  return s;
}

class BatchKinds : public ::testing::TestWithParam<Kinds> {};

TEST_P(BatchKinds, RightHandSideAndEnergyEqualTheSingleTrajectoryModel) {
  const auto p = make_params(GetParam(), 11);
  const BatchModel<double> model(p);
  const HopfieldKuramoto ref = reference_model(p);
  Rng rng(5);
  const Eigen::MatrixXd z = random_states(rng, 5, kN, kN, kD);
  BatchWorkspace<double> ws;
  Eigen::MatrixXd f;
  Eigen::VectorXd e;
  model.rhs(z, f, ws);
  model.energy(z, e, ws);
  for (Index b = 0; b < z.rows(); ++b) {
    const Eigen::VectorXd zb = z.row(b).transpose();
    Eigen::VectorXd fb(zb.size());
    ref(zb, fb, 0.0);
    EXPECT_TRUE(vectors_near_rel(f.row(b).transpose(), fb, 1e-13)) << "trajectory " << b;
    EXPECT_TRUE(test::near_rel(e[b], ref.energy(zb), 1e-13)) << "trajectory " << b;
  }
}

TEST_P(BatchKinds, StateVjpMatchesCentralDifferences) {
  const auto p = make_params(GetParam(), 12);
  const BatchModel<double> model(p);
  Rng rng(6);
  const Index batch = 3;
  Eigen::MatrixXd z = random_states(rng, batch, kN, kN, kD);
  const Eigen::MatrixXd lambda = random_states(rng, batch, kN, kN, kD);
  BatchWorkspace<double> ws;
  Eigen::MatrixXd zbar;
  model.vjp(z, lambda, zbar, ws);
  // ∂/∂z_bk of Σ_b λ_b·f(z_b), one coordinate at a time.
  Eigen::MatrixXd fd(batch, z.cols());
  const double h = test::kFdStep;
  for (Index b = 0; b < batch; ++b)
    for (Index k = 0; k < z.cols(); ++k) {
      const double v = z(b, k);
      z(b, k) = v + h;
      const double fp = contracted_rhs(model, z, lambda, ws);
      z(b, k) = v - h;
      const double fm = contracted_rhs(model, z, lambda, ws);
      z(b, k) = v;
      fd(b, k) = (fp - fm) / (2 * h);
    }
  for (Index b = 0; b < batch; ++b)
    EXPECT_TRUE(vectors_near_rel(zbar.row(b).transpose(), fd.row(b).transpose(), test::kFdRelTol))
        << "trajectory " << b;
}

TEST_P(BatchKinds, ParameterVjpMatchesCentralDifferences) {
  const auto p = make_params(GetParam(), 13);
  const BatchModel<double> model(p);
  Rng rng(7);
  const Eigen::MatrixXd z = random_states(rng, 3, kN, kN, kD);
  const Eigen::MatrixXd lambda = random_states(rng, 3, kN, kN, kD);
  BatchWorkspace<double> ws;
  Eigen::MatrixXd zbar;
  HkGradient grad = HkGradient::zeros_like(p);
  model.vjp(z, lambda, zbar, ws, &grad);

  Eigen::MatrixXd fd_w(kN, kN);
  for (Index i = 0; i < kN; ++i)
    for (Index j = 0; j < kN; ++j)
      fd_w(i, j) = param_fd(p, z, lambda, [&](auto& q, double h) { q.hopfield.w(i, j) += h; });
  EXPECT_TRUE(vectors_near_rel(grad.hopfield.w.reshaped(), fd_w.reshaped(), test::kFdRelTol))
      << "hopfield.w";
  Eigen::VectorXd fd_b(kN);
  for (Index i = 0; i < kN; ++i)
    fd_b[i] = param_fd(p, z, lambda, [&](auto& q, double h) { q.hopfield.b[i] += h; });
  EXPECT_TRUE(vectors_near_rel(grad.hopfield.b, fd_b, test::kFdRelTol)) << "hopfield.b";

  const auto per_entry = [&](Index n, auto edit) {
    Eigen::VectorXd v(n);
    for (Index k = 0; k < n; ++k)
      v[k] = param_fd(p, z, lambda, [&](auto& q, double h) { edit(q, k, h); });
    return v;
  };
  EXPECT_TRUE(vectors_near_rel(
      grad.kuramoto.a,
      per_entry(p.kuramoto.a.size(), [](auto& q, Index k, double h) { q.kuramoto.a[k] += h; }),
      test::kFdRelTol))
      << "kuramoto.a";
  if (p.kuramoto.b.size() > 0) {
    EXPECT_TRUE(vectors_near_rel(
        grad.kuramoto.b,
        per_entry(p.kuramoto.b.size(), [](auto& q, Index k, double h) { q.kuramoto.b[k] += h; }),
        test::kFdRelTol))
        << "kuramoto.b";
  }
  // Ω stays skew: move Ω(r,c) and Ω(c,r) together; the derivative is Ω̄(r,c) − Ω̄(c,r).
  for (Index r = 0; r < kD; ++r)
    for (Index c = r + 1; c < kD; ++c) {
      const double fd = param_fd(p, z, lambda, [&](auto& q, double h) {
        q.kuramoto.omega(r, c) += h;
        q.kuramoto.omega(c, r) -= h;
      });
      EXPECT_TRUE(test::near_rel(grad.kuramoto.omega(r, c) - grad.kuramoto.omega(c, r), fd,
                                 test::kFdRelTol))
          << "kuramoto.omega(" << r << "," << c << ")";
    }
  if (p.coupling.kind == HkCouplingKind::General) {
    EXPECT_TRUE(
        vectors_near_rel(grad.coupling.weights,
                         per_entry(p.coupling.weights.size(),
                                   [](auto& q, Index k, double h) { q.coupling.weights[k] += h; }),
                         test::kFdRelTol))
        << "coupling.weights";
  } else {
    EXPECT_TRUE(test::near_rel(
        grad.coupling.alpha,
        param_fd(p, z, lambda, [](auto& q, double h) { q.coupling.alpha += h; }), test::kFdRelTol))
        << "coupling.alpha";
  }
}

TEST_P(BatchKinds, BatchIsTheSumOfItsTrajectoriesAndFloatAgrees) {
  const auto p = make_params(GetParam(), 14);
  const BatchModel<double> model(p);
  Rng rng(8);
  // 61 = 3·16 + 8 + 4 + 1 in double and 32 + 16 + 8 + 4 + 1 in float: every chunk width of
  // the edge loops but double's 2 (two vectors, one vector, the halving rest) is used; the
  // B = 3 tests above take 2 + 1.
  const Index batch = 61;
  const Eigen::MatrixXd z = random_states(rng, batch, kN, kN, kD);
  const Eigen::MatrixXd lambda = random_states(rng, batch, kN, kN, kD);
  BatchWorkspace<double> ws;
  Eigen::MatrixXd zbar, zbar1, f, f1;
  HkGradient grad = HkGradient::zeros_like(p), sum = HkGradient::zeros_like(p);
  model.vjp(z, lambda, zbar, ws, &grad);
  model.rhs(z, f, ws);
  BatchWorkspace<double> ws1;
  for (Index b = 0; b < batch; ++b) {
    model.vjp(z.row(b), lambda.row(b), zbar1, ws1, &sum);
    model.rhs(z.row(b), f1, ws1);
    EXPECT_TRUE(vectors_near_rel(zbar.row(b).transpose(), zbar1.row(0).transpose(), 1e-13));
    EXPECT_TRUE(vectors_near_rel(f.row(b).transpose(), f1.row(0).transpose(), 1e-13));
  }
  EXPECT_TRUE(vectors_near_rel(grad.hopfield.w.reshaped(), sum.hopfield.w.reshaped(), 1e-12));
  EXPECT_TRUE(vectors_near_rel(grad.kuramoto.a, sum.kuramoto.a, 1e-12));
  EXPECT_TRUE(vectors_near_rel(grad.kuramoto.b, sum.kuramoto.b, 1e-12));
  EXPECT_TRUE(vectors_near_rel(grad.coupling.weights, sum.coupling.weights, 1e-12));
  EXPECT_TRUE(test::near_rel(grad.coupling.alpha, sum.coupling.alpha, 1e-12));

  // float: the same numbers to float precision.
  const BatchModel<float> model32(p);
  BatchWorkspace<float> ws32;
  BatchMatrix<float> f32, zbar32;
  model32.rhs(z.cast<float>(), f32, ws32);
  model32.vjp(z.cast<float>(), lambda.cast<float>(), zbar32, ws32);
  EXPECT_TRUE(vectors_near_rel(f32.cast<double>().reshaped(), f.reshaped(), 2e-5));
  EXPECT_TRUE(vectors_near_rel(zbar32.cast<double>().reshaped(), zbar.reshaped(), 2e-5));
}

// Edge gradients held back over several products and gathered once give what each product
// adds on its own; slots that clear() did not size are refused.
TEST_P(BatchKinds, HeldEdgeGradientsGatherToTheDirectOnes) {
  const auto p = make_params(GetParam(), 15);
  const BatchModel<double> model(p);
  Rng rng(9);
  BatchWorkspace<double> ws;
  Eigen::MatrixXd zbar;
  HkGradient direct = HkGradient::zeros_like(p), gathered = HkGradient::zeros_like(p);
  EdgeGradientSlots held;
  model.clear(held);
  for (int call = 0; call < 3; ++call) {
    const Eigen::MatrixXd z = random_states(rng, 11, kN, kN, kD);
    const Eigen::MatrixXd lambda = random_states(rng, 11, kN, kN, kD);
    model.vjp(z, lambda, zbar, ws, &direct);
    model.vjp(z, lambda, zbar, ws, &gathered, false, &held);
  }
  model.add_edge_gradients(held, gathered);
  EXPECT_TRUE(
      vectors_near_rel(gathered.hopfield.w.reshaped(), direct.hopfield.w.reshaped(), 1e-13));
  EXPECT_TRUE(vectors_near_rel(gathered.kuramoto.a, direct.kuramoto.a, 1e-13));
  EXPECT_TRUE(vectors_near_rel(gathered.kuramoto.b, direct.kuramoto.b, 1e-13));
  EXPECT_TRUE(vectors_near_rel(gathered.coupling.weights, direct.coupling.weights, 1e-13));
  EXPECT_TRUE(test::near_rel(gathered.coupling.alpha, direct.coupling.alpha, 1e-13));
  if (model.params().kuramoto.graph.num_edges() > 0 && !model.kuramoto_mean_field()) {
    EdgeGradientSlots unsized;
    const Eigen::MatrixXd z = random_states(rng, 2, kN, kN, kD);
    EXPECT_THROW(model.vjp(z, z, zbar, ws, &gathered, false, &unsized), std::invalid_argument);
  }
}

std::vector<Kinds> all_kinds() {
  std::vector<Kinds> out;
  for (auto l : {LagrangianKind::Tanh, LagrangianKind::Sigmoid, LagrangianKind::Relu,
                 LagrangianKind::LogSumExp})
    for (auto f : {PairPotentialKind::Linear, PairPotentialKind::Relu, PairPotentialKind::Tanh,
                   PairPotentialKind::Sigmoid})
      for (auto c :
           {HkCouplingKind::General, HkCouplingKind::Additive, HkCouplingKind::Multiplicative})
        for (int graphs = 0; graphs < 4; ++graphs)
          out.push_back({l, f, c, (graphs & 1) != 0, (graphs & 2) != 0,
                         f == PairPotentialKind::Linear && (graphs & 1) != 0});
  // Shared A/B on explicit graphs (the mean-field path needs shared A; this is the other branch).
  out.push_back({LagrangianKind::Tanh, PairPotentialKind::Tanh, HkCouplingKind::Additive, false,
                 false, true});
  out.push_back({LagrangianKind::Relu, PairPotentialKind::Linear, HkCouplingKind::General, true,
                 true, false});
  return out;
}

INSTANTIATE_TEST_SUITE_P(EveryKind, BatchKinds, ::testing::ValuesIn(all_kinds()), kinds_name);

// Large enough for the edge loops, the projections and the products to split over threads
// (the kind tests above run on 7 nodes, below every threshold): three threads must give one
// thread's numbers, and both the single-trajectory model's. Rewired edges cross the node
// ranges of the threads, and each edge's parameter gradient must be written exactly once.
// D = 3 is a compile-time dimension of the kernels, D = 6 the run-time path; B = 19 takes batch
// chunks of 16 (double; float 19 = 16 + 2 + 1), 2 and 1 trajectories.
class BatchThreads : public ::testing::TestWithParam<Index> {};

TEST_P(BatchThreads, ThreadsGiveOneThreadsNumbers) {
  constexpr Index n = 300, batch = 19;
  const Index d = GetParam();
  Rng rng(31);
  HopfieldKuramotoParams p;
  p.hopfield.w = Eigen::MatrixXd::NullaryExpr(n, n, [&] { return rng.uniform(-0.1, 0.1); });
  p.hopfield.b = random_vector(rng, n, -0.3, 0.3);
  p.hopfield.lagrangian = {LagrangianKind::Tanh, 1.1};
  auto& ku = p.kuramoto;
  ku.n_osc = n;
  ku.osc_dim = d;
  ku.graph = Graph::watts_strogatz(n, 20, 0.3, 4);
  ku.potential = PairPotentialKind::Tanh;
  ku.a = random_vector(rng, ku.graph.num_edges());
  ku.b = random_vector(rng, ku.graph.num_edges());
  p.coupling.kind = HkCouplingKind::General;
  p.coupling.graph = Graph::watts_strogatz(n, 20, 0.3, 5);
  p.coupling.weights = random_vector(rng, p.coupling.graph.num_edges());
  p.kappa_k = 0.8;
  const BatchModel<double> model(p);
  const Eigen::MatrixXd z = random_states(rng, batch, n, n, d);
  const Eigen::MatrixXd lambda = random_states(rng, batch, n, n, d);
  struct Result {
    Eigen::MatrixXd f, zbar;
    Eigen::VectorXd e;
    HkGradient grad;
  };
  auto evaluate = [&](int threads) {
    const int before = omp_get_max_threads();
    omp_set_num_threads(threads);
    Result r;
    BatchWorkspace<double> ws;
    r.grad = HkGradient::zeros_like(p);
    model.rhs(z, r.f, ws);
    model.energy(z, r.e, ws);
    model.vjp(z, lambda, r.zbar, ws, &r.grad);
    // Again on the used workspace: no pass may build on what the last call left in it.
    Eigen::MatrixXd f2;
    model.rhs(z, f2, ws);
    EXPECT_EQ(f2, r.f);
    omp_set_num_threads(before);
    return r;
  };
  const Result one = evaluate(1), three = evaluate(3);
  EXPECT_TRUE(vectors_near_rel(three.f.reshaped(), one.f.reshaped(), 1e-13));
  EXPECT_TRUE(vectors_near_rel(three.e, one.e, 1e-13));
  EXPECT_TRUE(vectors_near_rel(three.zbar.reshaped(), one.zbar.reshaped(), 1e-13));
  EXPECT_TRUE(vectors_near_rel(three.grad.kuramoto.a, one.grad.kuramoto.a, 1e-13));
  EXPECT_TRUE(vectors_near_rel(three.grad.kuramoto.b, one.grad.kuramoto.b, 1e-13));
  EXPECT_TRUE(vectors_near_rel(three.grad.coupling.weights, one.grad.coupling.weights, 1e-13));
  const HopfieldKuramoto ref = reference_model(p);
  for (Index b = 0; b < z.rows(); ++b) {
    const Eigen::VectorXd zb = z.row(b).transpose();
    Eigen::VectorXd fb(zb.size());
    ref(zb, fb, 0.0);
    EXPECT_TRUE(vectors_near_rel(three.f.row(b).transpose(), fb, 1e-12)) << "trajectory " << b;
  }
}

INSTANTIATE_TEST_SUITE_P(CompileTimeAndRunTimeD, BatchThreads, ::testing::Values(3, 6),
                         [](const auto& info) { return "D" + std::to_string(info.param); });

TEST(BatchModel, PathsAreTheOnesDocumented) {
  Kinds k{
      LagrangianKind::Tanh, PairPotentialKind::Linear, HkCouplingKind::Additive, true, true, true};
  EXPECT_TRUE(BatchModel<double>(make_params(k, 1)).kuramoto_mean_field());
  EXPECT_TRUE(BatchModel<double>(make_params(k, 1)).coupling_low_rank());
  k.coupling = HkCouplingKind::Multiplicative;
  k.potential = PairPotentialKind::Relu;
  EXPECT_FALSE(BatchModel<double>(make_params(k, 1)).kuramoto_mean_field());
  EXPECT_FALSE(BatchModel<double>(make_params(k, 1)).coupling_low_rank());
}

TEST(BatchModel, PureHopfieldAndPureKuramoto) {
  Kinds k{LagrangianKind::Sigmoid,
          PairPotentialKind::Tanh,
          HkCouplingKind::Additive,
          false,
          false,
          false};
  auto p = make_params(k, 3);
  HopfieldKuramotoParams hop = p, kur = p;
  hop.kuramoto = {};
  hop.kuramoto.n_osc = 0;
  hop.coupling = {};
  kur.hopfield = {};
  kur.coupling = {};
  Rng rng(4);
  BatchWorkspace<double> ws;
  Eigen::MatrixXd f;
  const Eigen::MatrixXd zh = random_states(rng, 2, kN, 0, kD);
  BatchModel<double>(hop).rhs(zh, f, ws);
  Hopfield ref_h(p.hopfield.w, p.hopfield.b, p.hopfield.lagrangian);
  Eigen::VectorXd fr(kN);
  ref_h(zh.row(1).transpose(), fr, 0.0);
  EXPECT_TRUE(vectors_near_rel(f.row(1).transpose(), fr, 1e-13));
  const Eigen::MatrixXd zk = random_states(rng, 2, 0, kN, kD);
  BatchModel<double>(kur).rhs(zk, f, ws);
  const auto& q = p.kuramoto;
  Kuramoto ref_k(q.n_osc, q.osc_dim, q.graph, q.potential, q.a, q.b, q.omega);
  fr.resize(kN * kD);
  ref_k(zk.row(1).transpose(), fr, 0.0);
  EXPECT_TRUE(vectors_near_rel(f.row(1).transpose(), fr, 1e-13));
}

TEST(BatchModel, ValidateNamesEveryProblem) {
  Kinds k{
      LagrangianKind::Tanh, PairPotentialKind::Relu, HkCouplingKind::General, false, false, false};
  auto p = make_params(k, 2);
  EXPECT_EQ(p.validate(), "");
  p.hopfield.b.resize(3);
  p.kuramoto.a.resize(2);
  p.kuramoto.omega(0, 1) = 5.0;
  p.coupling.weights[0] = std::numeric_limits<double>::infinity();
  p.kappa_k = 0.0;
  const std::string why = p.validate();
  for (const char* part : {"hopfield: w is 7x7; expected 3x3", "kuramoto: a has 2 values",
                           "omega is not skew-symmetric", "weights has a non-finite value",
                           "kappa_k = 0 must be > 0", "needs as many oscillators (7) as units (3)"})
    EXPECT_NE(why.find(part), std::string::npos) << part << " not in: " << why;
  EXPECT_THROW(BatchModel<double>{p}, std::invalid_argument);
}

TEST(BatchModel, SingleTrajectoryModelsRoundTripTheirParams) {
  for (auto c : {HkCouplingKind::General, HkCouplingKind::Multiplicative}) {
    Kinds k{LagrangianKind::Sigmoid, PairPotentialKind::Relu, c, false, false, false};
    auto p = make_params(k, 4);
    p.hopfield.w = 0.5 * (p.hopfield.w + p.hopfield.w.transpose()).eval();  // stored as W_s
    const HopfieldKuramoto model(p);
    const HopfieldKuramotoParams q = model.params();
    EXPECT_EQ(q.hopfield.w, p.hopfield.w);
    EXPECT_EQ(q.kuramoto.a, p.kuramoto.a);
    EXPECT_EQ(q.kuramoto.omega, p.kuramoto.omega);
    EXPECT_EQ(q.coupling.weights, p.coupling.weights);
    EXPECT_EQ(q.coupling.graph.edges().size(), p.coupling.graph.edges().size());
    EXPECT_EQ(q.kappa_k, p.kappa_k);
    EXPECT_EQ(q.validate(), "");
  }
  auto p = make_params({LagrangianKind::Tanh, PairPotentialKind::Tanh, HkCouplingKind::Additive,
                        false, false, false},
                       5);
  p.kuramoto.b.resize(3);
  EXPECT_THROW(Kuramoto{p.kuramoto}, std::invalid_argument);
  EXPECT_THROW(HopfieldKuramoto{p}, std::invalid_argument);
}

TEST(BatchModel, SetParamsKeepsTheShapes) {
  Kinds k{LagrangianKind::Tanh,
          PairPotentialKind::Relu,
          HkCouplingKind::Multiplicative,
          false,
          false,
          false};
  auto p = make_params(k, 2);
  BatchModel<double> model(p);
  p.hopfield.w *= 2.0;
  model.set_params(p);  // values may change …
  Rng rng(1);
  const Eigen::MatrixXd z = random_states(rng, 2, kN, kN, kD);
  BatchWorkspace<double> ws;
  Eigen::MatrixXd f, f2;
  model.rhs(z, f, ws);
  BatchModel<double>(p).rhs(z, f2, ws);
  EXPECT_TRUE(vectors_near_rel(f.reshaped(), f2.reshaped(), 1e-15));
  p.kuramoto.a.resize(1);  // … sizes may not
  EXPECT_THROW(model.set_params(p), std::invalid_argument);
}

}  // namespace
}  // namespace hkam
