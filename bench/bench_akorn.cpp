// Google Benchmarks of the AKOrN layer stack at the reference's sizes (float32, as the reference
// runs): one K-layer call of T steps and whole network forward passes, batch 1 and 8. The same
// shapes are timed in PyTorch by bench/torch_akorn.py; docs/performance.md has both.
#include <benchmark/benchmark.h>

#include "hkam/akorn/networks.hpp"

namespace {

using namespace hkam;
using namespace hkam::akorn;

// Object-discovery K-layer: C = 256, n = 4, 32×32 positions, T = 8, GroupNorm stimulus.
// range(0): 0 = conv k = 3, 1 = attention 8 heads with GTA; range(1): batch.
void BM_ObjectKLayer(benchmark::State& state) {
  KLayerConfig c;
  c.channels = 256;
  c.osc_dim = 4;
  c.height = c.width = 32;
  c.connectivity = state.range(0) == 0 ? Connectivity::Conv : Connectivity::Attention;
  c.kernel = 3;
  c.heads = 8;
  c.gta = true;
  KLayer<float> k(c);
  std::vector<ParamSpec> specs;
  k.specs(specs, "");
  k.load(ParamStore::initialise(specs, 1), "");
  const Grid g{32, 32, state.range(1)};
  Rng rng(2);
  const Mat<float> x0 = normal_matrix(rng, 256, g.columns()).cast<float>();
  const Mat<float> stim = normal_matrix(rng, 256, g.columns()).cast<float>();
  Mat<float> x = x0;
  for (auto _ : state) {
    x = x0;
    const LayerEnergies e = k.forward(x, stim, g, 8, 1.0f, {}, false);
    benchmark::DoNotOptimize(e.proxy.data());
  }
  state.SetLabel(state.range(0) == 0 ? "conv k=3, T=8" : "attn 8 heads GTA, T=8");
}

// The object-discovery network forward pass: 128×128 images, psize 4 → 32×32, C = 256, L = 1,
// T = 8, readout; range(0) as above, range(1) batch.
void BM_ObjectNetForward(benchmark::State& state) {
  ObjectNetConfig c;
  c.channels = 256;
  c.imsize = 128;
  c.psize = 4;
  c.connectivity = state.range(0) == 0 ? Connectivity::Conv : Connectivity::Attention;
  c.kernel = 3;
  ObjectNet<float> net(c);
  net.load(ParamStore::initialise(net.specs(), 1));
  const Index B = state.range(1);
  Rng rng(3);
  const Mat<float> images =
      (Eigen::MatrixXd::Random(3, B * 128 * 128).array() * 0.5 + 0.5).matrix().cast<float>();
  const Mat<float> noise = normal_matrix(rng, 256, B * 1024).cast<float>();
  for (auto _ : state) {
    const auto out = net.forward(images, noise, B, {}, false);
    benchmark::DoNotOptimize(out.features.data());
  }
  state.SetLabel(state.range(0) == 0 ? "conv k=3" : "attn 8 heads GTA");
}

// The Sudoku network as released: C = 512, n = 4, 9×9, attention 8 heads with GTA, global Ω;
// range(0) = T (16 trained, 128 at test time), range(1) = batch.
void BM_SudokuForward(benchmark::State& state) {
  SudokuNetConfig c;
  c.channels = 512;
  c.steps = static_cast<int>(state.range(0));
  SudokuNet<float> net(c);
  net.load(ParamStore::initialise(net.specs(), 1));
  const Index B = state.range(1);
  Rng rng(4);
  Eigen::MatrixXi boards(B, 81);
  for (Index i = 0; i < boards.size(); ++i)
    boards.data()[i] = rng.uniform() < 0.5 ? 0 : 1 + static_cast<int>(rng.below(9));
  const Mat<float> noise = normal_matrix(rng, 512, B * 81).cast<float>();
  for (auto _ : state) {
    const auto out = net.forward(boards, noise, 0, {}, false);
    benchmark::DoNotOptimize(out.features.data());
  }
}

// The CIFAR-10 network as released: C = 64/128/256 on 32/16/8, n = 2, conv J 9/7/5, T = 3,
// BatchNorm readouts; range(0) = batch.
void BM_CifarForward(benchmark::State& state) {
  CifarNet<float> net(CifarNetConfig{});
  net.load(ParamStore::initialise(net.specs(), 1));
  const Index B = state.range(0);
  Rng rng(5);
  const Mat<float> images =
      (Eigen::MatrixXd::Random(3, B * 1024).array() * 0.5 + 0.5).matrix().cast<float>();
  const Mat<float> noise = normal_matrix(rng, 64, B * 1024).cast<float>();
  for (auto _ : state) {
    const auto out = net.forward(images, noise, B, {}, false);
    benchmark::DoNotOptimize(out.features.data());
  }
}

}  // namespace

BENCHMARK(BM_CifarForward)->Arg(1)->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ObjectKLayer)
    ->ArgsProduct({{0, 1}, {1, 8}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_ObjectNetForward)
    ->ArgsProduct({{0, 1}, {1, 8}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_SudokuForward)
    ->ArgsProduct({{16, 128}, {1, 8}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

BENCHMARK_MAIN();
