// Right-hand-side throughput of every model at N = 1,000 and 10,000 (docs/performance.md).
//   Hopfield            dense W_s (N×N), tanh
//   Kuramoto            Watts–Strogatz ℰ_K, k = 150, p = 0.1, D = 4, tanh pair potential, Ω ≠ 0
//   AkornKuramoto       dense J ((N·D)², D = 2) and stimulus
//   HK sparse           Hopfield dense W + ℰ_K = ℰ_HK = Watts–Strogatz k = 150, D = 4, general
//   coupling HK complete         Hopfield dense W + ℰ_K WS k = 150 + ℰ_HK complete, additive
//   (O(N·D) path) HK coupling         low-rank path vs explicit complete edge list at N = 2,000, W
//   = 0
// Models are built once per size (outside the timed loop); each iteration is one RHS call.
#include <benchmark/benchmark.h>

#include <map>
#include <memory>

#include "hkam/hkam.hpp"

namespace {

using namespace hkam;
constexpr Index kD = 4;
constexpr Index kK = 150;

Eigen::VectorXd sphere_state(Rng& rng, Index m, Index d) {
  const Eigen::MatrixXd s = random_unit_rows(rng, m, d);
  Eigen::VectorXd v(m * d);
  for (Index i = 0; i < m; ++i) v.segment(i * d, d) = s.row(i).transpose();
  return v;
}

// Builds a model once per N and keeps it for the repetitions of that size.
template <class Model, class Make>
const Model& cached(Index n, Make make) {
  static std::map<Index, std::unique_ptr<Model>> cache;
  auto& slot = cache[n];
  if (!slot) slot = std::make_unique<Model>(make(n));
  return *slot;
}

template <class Model>
void run_rhs(benchmark::State& state, const Model& model, const Eigen::VectorXd& z) {
  Eigen::VectorXd dz(model.dim());
  model(z, dz, 0.0);  // warm-up: OpenMP thread pool, page faults
  for (auto _ : state) {
    model(z, dz, 0.0);
    benchmark::DoNotOptimize(dz.data());
    benchmark::ClobberMemory();
  }
  state.counters["N"] = static_cast<double>(model.layout().n_units + model.layout().n_osc);
  state.SetItemsProcessed(state.iterations());
}

Kuramoto make_kuramoto(Rng& rng, Index n) {
  const Graph g = Graph::watts_strogatz(n, kK, 0.1, 7);
  return Kuramoto(n, kD, g, PairPotentialKind::Tanh, normal_vector(rng, g.num_edges(), 1.0 / kK),
                  normal_vector(rng, g.num_edges(), 1.0 / kK), random_skew(rng, kD));
}

void BM_HopfieldRhs(benchmark::State& state) {
  const Index n = state.range(0);
  const auto& m = cached<Hopfield>(n, [](Index n) {
    Rng rng(1);
    return Hopfield(random_symmetric_weights(rng, n), normal_vector(rng, n, 0.1), Lagrangian{});
  });
  Rng rng(2);
  run_rhs(state, m, normal_vector(rng, n));
}

void BM_KuramotoRhs(benchmark::State& state) {
  const Index n = state.range(0);
  const auto& m = cached<Kuramoto>(n, [](Index n) {
    Rng rng(3);
    return make_kuramoto(rng, n);
  });
  Rng rng(4);
  run_rhs(state, m, sphere_state(rng, n, kD));
}

void BM_AkornKuramotoRhs(benchmark::State& state) {
  const Index n = state.range(0);
  constexpr Index d = 2;
  const auto& m = cached<AkornKuramoto>(n, [](Index n) {
    Rng rng(5);
    return AkornKuramoto(n, d, normal_matrix(rng, n * d, n * d, 1.0 / std::sqrt(double(n * d))),
                         normal_matrix(rng, n, d));
  });
  Rng rng(6);
  run_rhs(state, m, sphere_state(rng, n, d));
}

HopfieldKuramoto make_hk(Index n, bool complete) {
  Rng rng(complete ? 8 : 7);
  Hopfield hop(random_symmetric_weights(rng, n), normal_vector(rng, n, 0.1), Lagrangian{});
  Kuramoto kur = make_kuramoto(rng, n);
  HkCoupling c;
  if (complete) {
    c = {HkCouplingKind::Additive, Graph::complete(n), 0.5 / n, {}};
  } else {
    c.kind = HkCouplingKind::General;
    c.graph = Graph::watts_strogatz(n, kK, 0.1, 9);
    c.weights = normal_vector(rng, c.graph.num_edges(), 1.0 / kK);
  }
  return HopfieldKuramoto(std::move(hop), std::move(kur), std::move(c), 1.0, 1.0);
}

Eigen::VectorXd hk_state(Index n) {
  Rng rng(10);
  Eigen::VectorXd z(n + n * kD);
  z.head(n) = normal_vector(rng, n);
  z.tail(n * kD) = sphere_state(rng, n, kD);
  return z;
}

void BM_HopfieldKuramotoSparseRhs(benchmark::State& state) {
  const Index n = state.range(0);
  run_rhs(state, cached<HopfieldKuramoto>(n, [](Index n) { return make_hk(n, false); }),
          hk_state(n));
}

void BM_HopfieldKuramotoCompleteLowRankRhs(benchmark::State& state) {
  const Index n = state.range(0);
  run_rhs(state, cached<HopfieldKuramoto>(n, [](Index n) { return make_hk(n, true); }),
          hk_state(n));
}

// The low-rank path against the explicit edge list it replaces, at equal everything else
// (W = 0 is still multiplied, so the difference of the two is the coupling's cost).
HopfieldKuramoto make_hk_complete(Index n, bool low_rank) {
  Rng rng(11);
  const Graph g = low_rank ? Graph::complete(n) : Graph::complete(n).materialized();
  return HopfieldKuramoto(
      Hopfield(Eigen::MatrixXd::Zero(n, n), {}, Lagrangian{}),
      Kuramoto(n, kD, Graph::complete(n), PairPotentialKind::Linear,
               Eigen::VectorXd::Constant(1, -1.0 / n), {}, random_skew(rng, kD)),
      {HkCouplingKind::Additive, g, 0.5 / n, {}}, 1.0, 1.0);
}

void BM_HkCompleteCouplingLowRank(benchmark::State& state) {
  const Index n = state.range(0);
  run_rhs(state, cached<HopfieldKuramoto>(n, [](Index n) { return make_hk_complete(n, true); }),
          hk_state(n));
}

void BM_HkCompleteCouplingEdgeList(benchmark::State& state) {
  const Index n = state.range(0);
  run_rhs(state, cached<HopfieldKuramoto>(n, [](Index n) { return make_hk_complete(n, false); }),
          hk_state(n));
}

}  // namespace

// One discrete AKOrN K-layer step with conv J at the reference's object-discovery size: C = arg,
// n = 4, 32×32 positions, 3×3 kernel, B = 1, float64: RHS (conv + bias + stimulus + projection)
// then x ← normalize(x + γ f).
void BM_ConvAkornStep(benchmark::State& state) {
  const Index c = state.range(0), n = 4, h = 32, w = 32, k = 3;
  Rng rng(5);
  ConvAkornSpec s;
  s.channels = c;
  s.osc_dim = n;
  s.height = h;
  s.width = w;
  s.kernel = k;
  s.weight = normal_matrix(rng, c, c * k * k, 1.0 / std::sqrt(static_cast<double>(c * k * k)));
  s.stimulus = normal_matrix(rng, c, h * w);
  const ConvAkorn layer(s);
  Eigen::VectorXd x = sphere_state(rng, layer.layout().n_osc, n), f(x.size());
  const StateLayout lay = layer.layout();
  for (auto _ : state) {
    layer(x, f, 0.0);
    x += 0.1 * f;
    renormalize(lay, x);
    benchmark::DoNotOptimize(x.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(c * c * k * k * h * w),
                                                 benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}

BENCHMARK(BM_HopfieldRhs)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_KuramotoRhs)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AkornKuramotoRhs)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_HopfieldKuramotoSparseRhs)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_HopfieldKuramotoCompleteLowRankRhs)
    ->Arg(1000)
    ->Arg(10000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_HkCompleteCouplingLowRank)->Arg(2000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_HkCompleteCouplingEdgeList)->Arg(2000)->Unit(benchmark::kMicrosecond);

BENCHMARK(BM_ConvAkornStep)->Arg(64)->Arg(256)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
