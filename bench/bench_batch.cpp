// The batched Hopfield–Kuramoto core on the research note's configuration (docs/performance.md):
// N = 894 units and oscillators, D = 5, ℰ_K and ℰ_HK two Watts–Strogatz graphs (k = 150,
// p = 0.1: 67,050 edges each), relu Lagrangian on Hebbian weights of 60 ±1 patterns, relu pair
// potential with per-edge A and B, shared Ω, additive α on ℰ_HK.
//
//   BM_NoteRhs<T>/B          one right-hand side of a batch of B
//   BM_NoteVjp<T>/B          one vector–Jacobian product (state and the oscillator side: A, B,
//                            Ω, α — what the note trains)
//   BM_NoteSolve<T>/B/norm   dopri5 t ∈ [0, 1], rtol 1e-3, atol 1e-6, forward only
//   BM_NoteGradient<T>/B/k   the same solve with its tape, then loss gradient by solve_backward
//                            (k = 1: the tape keeps the stages, nothing is replayed)
//   BM_SparseCoupling/B      ℰ_K alone (linear potential, Ω = 0, no units): ns per edge·dim
//
// `hkam_bench_batch --export=DIR` writes the problem as .npy files for the peers
// (bench/numpy_hk.py, bench/torch_hk.py) and exits.
#include <benchmark/benchmark.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <memory>
#include <string>

#include "hkam/hkam.hpp"
#include "hkam/integrate/batch_solve.hpp"
#include "hkam/models/batch.hpp"

namespace {

using namespace hkam;
constexpr Index kN = 894, kD = 5, kK = 150;

HopfieldKuramotoParams note_params() {
  Rng rng(2026);
  HopfieldKuramotoParams p;
  Eigen::MatrixXd patterns(60, kN);
  for (Index r = 0; r < patterns.rows(); ++r)
    for (Index c = 0; c < kN; ++c) patterns(r, c) = rng.uniform() < 0.5 ? -1.0 : 1.0;
  p.hopfield.w = hebbian_weights(patterns);
  p.hopfield.b = Eigen::VectorXd::Zero(kN);
  p.hopfield.lagrangian = {LagrangianKind::Relu, 1.0};
  auto& k = p.kuramoto;
  k.n_osc = kN;
  k.osc_dim = kD;
  k.graph = Graph::watts_strogatz(kN, kK, 0.1, 1);
  k.potential = PairPotentialKind::Relu;
  k.a.resize(k.graph.num_edges());
  k.b.resize(k.graph.num_edges());
  for (Index e = 0; e < k.a.size(); ++e) {
    k.a[e] = -rng.uniform(0.0, 2.0) / double(kK);
    k.b[e] = rng.uniform(0.0, 1.0) / double(kK);
  }
  k.omega = random_skew(rng, kD, 0.5);
  p.coupling.kind = HkCouplingKind::Additive;
  p.coupling.graph = Graph::watts_strogatz(kN, kK, 0.1, 2);
  p.coupling.alpha = 0.5 / double(kK);
  return p;
}

Eigen::MatrixXd note_states(Index batch) {
  Rng rng(7);
  Eigen::MatrixXd z(batch, kN + kN * kD);
  for (Index b = 0; b < batch; ++b) {
    for (Index i = 0; i < kN; ++i) z(b, i) = rng.normal();
    const Eigen::MatrixXd s = random_unit_rows(rng, kN, kD);
    for (Index i = 0; i < kN; ++i) z.row(b).segment(kN + i * kD, kD) = s.row(i);
  }
  return z;
}

template <class T>
const BatchModel<T>& note_model() {
  static const BatchModel<T> model(note_params());
  return model;
}

// The note trains the oscillator side of a frozen memory: A, B, Ω and α (W and b fixed).
HkGradient oscillator_side(const HopfieldKuramotoParams& p) {
  HkGradientWanted wanted;
  wanted.w = wanted.b = false;
  return HkGradient::zeros_like(p, wanted);
}

template <class T>
void BM_NoteRhs(benchmark::State& state) {
  const auto& model = note_model<T>();
  const BatchMatrix<T> z = note_states(state.range(0)).cast<T>();
  BatchMatrix<T> dz;
  BatchWorkspace<T> ws;
  model.rhs(z, dz, ws);
  for (auto _ : state) {
    model.rhs(z, dz, ws);
    benchmark::DoNotOptimize(dz.data());
  }
  state.counters["B"] = double(state.range(0));
}

template <class T>
void BM_NoteVjp(benchmark::State& state) {
  const auto& model = note_model<T>();
  const BatchMatrix<T> z = note_states(state.range(0)).cast<T>();
  const BatchMatrix<T> lambda = note_states(state.range(0)).cast<T>();
  BatchMatrix<T> zbar;
  BatchWorkspace<T> ws;
  HkGradient grad = oscillator_side(model.params());
  model.vjp(z, lambda, zbar, ws, &grad);
  for (auto _ : state) {
    model.vjp(z, lambda, zbar, ws, &grad);
    benchmark::DoNotOptimize(zbar.data());
  }
}

BatchSolveOptions note_solve() {
  BatchSolveOptions o;
  o.stepper = StepperKind::Dopri5;
  o.t_end = 1.0;
  o.rtol = 1e-3;
  o.atol = 1e-6;
  return o;
}

// Second argument: renormalise the oscillators after every step (1, hkam's default) or solve
// the plain ODE as SciPy does (0: Dormand–Prince's first-same-as-last evaluation is reused).
template <class T>
void BM_NoteSolve(benchmark::State& state) {
  const auto& model = note_model<T>();
  const BatchMatrix<T> z0 = note_states(state.range(0)).cast<T>();
  BatchSolveWorkspace<T> ws;
  BatchSolveSummary s;
  BatchSolveOptions o = note_solve();
  o.normalize = state.range(1) != 0;
  for (auto _ : state) {
    BatchMatrix<T> z = z0;
    s = solve(model, z, o, ws);
    benchmark::DoNotOptimize(z.data());
  }
  state.counters["steps"] = double(s.steps);
  state.counters["rejected"] = double(s.rejected);
  state.counters["evals"] = double(s.evaluations);
}

// Second argument: 1 keeps the stages on the tape (no replay in the backward pass), 0 replays.
template <class T>
void BM_NoteGradient(benchmark::State& state) {
  const auto& model = note_model<T>();
  const BatchMatrix<T> z0 = note_states(state.range(0)).cast<T>();
  BatchSolveWorkspace<T> ws;
  BatchTape<T> tape;
  tape.keep_stages = state.range(1) != 0;
  HkGradient grad = oscillator_side(model.params());
  for (auto _ : state) {
    BatchMatrix<T> z = z0;
    solve(model, z, note_solve(), ws, &tape);
    BatchMatrix<T> lambda = z;  // L = ½‖z(1)‖²
    grad.set_zero();
    solve_backward(model, tape, note_solve(), lambda, ws, grad);
    benchmark::DoNotOptimize(lambda.data());
  }
  state.counters["steps"] = double(tape.h.size());
  state.counters["tape_MB"] = tape.bytes() / 1e6;
}

void BM_SparseCoupling(benchmark::State& state) {
  static const BatchModel<double> model = [] {
    HopfieldKuramotoParams p = note_params();
    p.hopfield = {};
    p.coupling = {};
    p.kuramoto.potential = PairPotentialKind::Linear;
    p.kuramoto.b.resize(0);
    p.kuramoto.omega.resize(0, 0);
    return BatchModel<double>(p);
  }();
  const Index batch = state.range(0);
  const Eigen::MatrixXd z = note_states(batch).rightCols(kN * kD);
  Eigen::MatrixXd dz;
  BatchWorkspace<double> ws;
  model.rhs(z, dz, ws);
  for (auto _ : state) {
    model.rhs(z, dz, ws);
    benchmark::DoNotOptimize(dz.data());
  }
  // Each undirected edge is visited from both ends: 2·E·D multiply-adds of s and 2·E·D of y.
  const double edge_dims = double(model.params().kuramoto.graph.num_edges()) * kD * double(batch);
  state.counters["ns_per_edge_dim"] =
      benchmark::Counter(edge_dims * 1e-9, benchmark::Counter::kIsIterationInvariantRate |
                                               benchmark::Counter::kInvert);
}

BENCHMARK(BM_NoteRhs<double>)
    ->Arg(1)
    ->Arg(10)
    ->Arg(100)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_NoteRhs<float>)
    ->Arg(1)
    ->Arg(10)
    ->Arg(100)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_NoteVjp<double>)
    ->Arg(1)
    ->Arg(10)
    ->Arg(100)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_NoteVjp<float>)
    ->Arg(1)
    ->Arg(10)
    ->Arg(100)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_NoteSolve<double>)
    ->Args({1, 1})
    ->Args({1, 0})
    ->Args({10, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_NoteSolve<float>)
    ->Args({1, 1})
    ->Args({1, 0})
    ->Args({10, 1})
    ->Args({100, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_NoteGradient<double>)
    ->Args({1, 0})
    ->Args({1, 1})
    ->Args({10, 0})
    ->Args({10, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_NoteGradient<float>)
    ->Args({1, 0})
    ->Args({1, 1})
    ->Args({10, 0})
    ->Args({10, 1})
    ->Args({100, 0})
    ->Args({100, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_SparseCoupling)
    ->Arg(1)
    ->Arg(8)
    ->Arg(100)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// ---- export for the peers -------------------------------------------------------------------

void write_npy(const std::filesystem::path& path, const char* descr, const void* data,
               std::size_t bytes, const std::string& shape) {
  std::string header =
      "{'descr': '" + std::string(descr) + "', 'fortran_order': False, 'shape': (" + shape + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream f(path, std::ios::binary);
  const unsigned short len = static_cast<unsigned short>(header.size());
  f.write("\x93NUMPY\x01\x00", 8);
  f.write(reinterpret_cast<const char*>(&len), 2);
  f << header;
  f.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
}

void write_matrix(const std::filesystem::path& p, const Eigen::MatrixXd& m) {
  // numpy C order = row-major
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> r = m;
  write_npy(p, "<f8", r.data(), std::size_t(r.size()) * 8,
            std::to_string(r.rows()) + ", " + std::to_string(r.cols()));
}

void write_edges(const std::filesystem::path& p, const Graph& g) {
  std::vector<std::int32_t> v;
  for (const auto& e : g.edges()) {
    v.push_back(e.i);
    v.push_back(e.j);
  }
  write_npy(p, "<i4", v.data(), v.size() * 4, std::to_string(g.edges().size()) + ", 2");
}

int export_problem(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  const HopfieldKuramotoParams p = note_params();
  write_matrix(dir / "w.npy", p.hopfield.w);
  write_matrix(dir / "b.npy", p.hopfield.b.transpose());
  write_edges(dir / "k_edges.npy", p.kuramoto.graph);
  write_matrix(dir / "k_a.npy", p.kuramoto.a.transpose());
  write_matrix(dir / "k_b.npy", p.kuramoto.b.transpose());
  write_matrix(dir / "omega.npy", p.kuramoto.omega);
  write_edges(dir / "hk_edges.npy", p.coupling.graph);
  const Eigen::MatrixXd z = note_states(100);
  write_matrix(dir / "z100.npy", z);
  // hkam's right-hand side of the first two states: the peers check theirs against it.
  BatchWorkspace<double> ws;
  Eigen::MatrixXd f;
  note_model<double>().rhs(z.topRows(2), f, ws);
  write_matrix(dir / "rhs2.npy", f);
  std::ofstream(dir / "scalars.txt")
      << std::setprecision(17) << "alpha " << p.coupling.alpha << "\nbeta 1\nkappa_h " << p.kappa_h
      << "\nkappa_k " << p.kappa_k << "\nN " << kN << "\nD " << kD << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--export=", 9) == 0) return export_problem(argv[i] + 9);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
