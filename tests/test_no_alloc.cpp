// Right-hand sides must not allocate: this executable replaces malloc & co. with counting
// wrappers around glibc's own allocator and checks that repeated RHS calls allocate nothing.
// (Built only without sanitizers, which install their own allocator.)
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>

#include "hkam/integrate/batch_solve.hpp"
#include "support/batch.hpp"
#include "support/numeric.hpp"

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);

static std::atomic<long> g_allocations{0};

void* malloc(size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t s) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(n, s);
}
void* realloc(void* p, size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, n);
}
int posix_memalign(void** out, size_t align, size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  *out = __libc_memalign(align, n);
  return *out ? 0 : 12;  // ENOMEM
}
void* aligned_alloc(size_t align, size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(align, n);
}
}

namespace hkam {
namespace {

template <class Model>
long allocations_per_rhs(const Model& model, const Eigen::VectorXd& z) {
  Eigen::VectorXd dz(model.dim());
  model(z, dz, 0.0);  // warm-up: the OpenMP runtime sets up its threads on first use
  const long before = g_allocations.load();
  for (int k = 0; k < 10; ++k) model(z, dz, 0.0);
  return g_allocations.load() - before;
}

TEST(NoAllocation, CountingAllocatorSeesAnEigenTemporary) {  // the probe itself works
  const long before = g_allocations.load();
  Eigen::VectorXd v = Eigen::VectorXd::Ones(1000);
  EXPECT_GT(g_allocations.load() - before, 0);
  EXPECT_EQ(v.sum(), 1000.0);
}

TEST(NoAllocation, RightHandSidesAllocateNothing) {
  Rng rng(1);
  // Sizes above the OpenMP thresholds, so the parallel paths are the ones checked.
  const Index n = 5000, d = 3;
  const Hopfield hop = test::random_hopfield(rng, n, LagrangianKind::LogSumExp);
  EXPECT_EQ(allocations_per_rhs(hop, normal_vector(rng, n)), 0);

  const Graph g = Graph::watts_strogatz(n, 10, 0.1, 2);
  Kuramoto kur = test::random_kuramoto(rng, n, d, PairPotentialKind::Sigmoid, g);
  const Eigen::VectorXd s = test::random_sphere_state(rng, n, d);
  EXPECT_EQ(allocations_per_rhs(kur, s), 0);
  kur.set_stimulus(normal_matrix(rng, n, d));
  EXPECT_EQ(allocations_per_rhs(kur, s), 0);

  const Kuramoto mf(n, d, Graph::complete(n), PairPotentialKind::Linear,
                    Eigen::VectorXd::Constant(1, -0.1), {}, random_skew(rng, d));
  EXPECT_EQ(allocations_per_rhs(mf, s), 0);

  const Index m = 300;
  const AkornKuramoto ak(m, d, normal_matrix(rng, m * d, m * d), normal_matrix(rng, m, d),
                         {random_skew(rng, d)});
  EXPECT_EQ(allocations_per_rhs(ak, test::random_sphere_state(rng, m, d)), 0);

  for (auto kind :
       {HkCouplingKind::General, HkCouplingKind::Additive, HkCouplingKind::Multiplicative})
    for (bool complete : {false, true}) {
      const HopfieldKuramoto hk =
          test::random_hk(rng, 600, d, LagrangianKind::Tanh, PairPotentialKind::Tanh, kind,
                          complete && kind != HkCouplingKind::General);
      EXPECT_EQ(allocations_per_rhs(hk, test::random_hk_state(rng, hk.layout())), 0)
          << hk_coupling_name(kind) << (complete ? " complete" : " sparse");
    }
}

// The batched core: right-hand sides and VJPs of B = 1 and B = 11 (chunks of 8, 1) in float and
// double, and whole solves with a tape (and their backward passes, stages replayed or kept) once
// their workspace and tape have been sized by a first solve.
template <class T>
void expect_batched_core_allocates_nothing(const HopfieldKuramotoParams& p, Index batch) {
  const BatchModel<T> model(p);
  Rng rng(3);
  const BatchMatrix<T> z = test::batch::random_states(rng, batch, p.hopfield.units(),
                                                      p.kuramoto.n_osc, p.kuramoto.osc_dim)
                               .cast<T>();
  const BatchMatrix<T> lambda = z;
  BatchMatrix<T> f, zbar;
  BatchWorkspace<T> ws;
  HkGradient grad = HkGradient::zeros_like(p);
  model.rhs(z, f, ws);
  model.vjp(z, lambda, zbar, ws, &grad);
  long before = g_allocations.load();
  for (int k = 0; k < 5; ++k) {
    model.rhs(z, f, ws);
    model.vjp(z, lambda, zbar, ws, &grad);
  }
  EXPECT_EQ(g_allocations.load() - before, 0) << "rhs/vjp, B = " << batch;

  BatchSolveOptions o;
  o.t_end = 0.5;
  o.rtol = 1e-6;
  BatchSolveWorkspace<T> sws;
  BatchTape<T> tape;
  BatchMatrix<T> zz = z, lam = z;
  solve(model, zz, o, sws, &tape);
  solve_backward(model, tape, o, lam, sws, grad);
  before = g_allocations.load();
  zz = z;
  lam = z;
  const auto sum = solve(model, zz, o, sws, &tape);
  solve_backward(model, tape, o, lam, sws, grad);
  EXPECT_EQ(g_allocations.load() - before, 0)
      << "solve + backward, B = " << batch << ", " << sum.steps << " steps";
  EXPECT_GT(sum.steps, 2);

  // The same with a tape that keeps its stages (sized by its first solve).
  BatchTape<T> kept;
  kept.keep_stages = true;
  zz = z;
  lam = z;
  solve(model, zz, o, sws, &kept);
  solve_backward(model, kept, o, lam, sws, grad);
  before = g_allocations.load();
  zz = z;
  lam = z;
  solve(model, zz, o, sws, &kept);
  solve_backward(model, kept, o, lam, sws, grad);
  EXPECT_EQ(g_allocations.load() - before, 0) << "solve + backward, kept stages, B = " << batch;
}

TEST(NoAllocation, BatchedCoreAllocatesNothingOnceSized) {
  using test::batch::Kinds;
  for (const Kinds& k : {Kinds{LagrangianKind::Relu, PairPotentialKind::Relu,
                               HkCouplingKind::Additive, false, false, false},
                         Kinds{LagrangianKind::LogSumExp, PairPotentialKind::Linear,
                               HkCouplingKind::Additive, true, true, true},
                         Kinds{LagrangianKind::Tanh, PairPotentialKind::Sigmoid,
                               HkCouplingKind::Multiplicative, false, false, false}}) {
    const HopfieldKuramotoParams p = test::batch::make_params(k, 5);
    for (Index batch : {1, 11}) {
      expect_batched_core_allocates_nothing<double>(p, batch);
      expect_batched_core_allocates_nothing<float>(p, batch);
    }
  }
  // Sizes where G·W_s is a real (threaded, blocked) GEMM and the edge loops run in parallel.
  Rng rng(9);
  HopfieldKuramotoParams big;
  const Index n = 600, d = 3;
  big.hopfield.w = random_symmetric_weights(rng, n);
  big.hopfield.b = Eigen::VectorXd::Zero(n);
  big.hopfield.lagrangian = {LagrangianKind::Tanh, 1.0};
  big.kuramoto.n_osc = n;
  big.kuramoto.osc_dim = d;
  big.kuramoto.graph = Graph::watts_strogatz(n, 20, 0.1, 3);
  big.kuramoto.potential = PairPotentialKind::Tanh;
  big.kuramoto.a = normal_vector(rng, big.kuramoto.graph.num_edges(), 0.05);
  big.kuramoto.b = normal_vector(rng, big.kuramoto.graph.num_edges(), 0.05);
  big.coupling.graph = Graph::watts_strogatz(n, 20, 0.1, 4);
  big.coupling.alpha = 0.05;
  expect_batched_core_allocates_nothing<double>(big, 40);
  expect_batched_core_allocates_nothing<float>(big, 40);
}

}  // namespace
}  // namespace hkam
