#include "demo.hpp"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <filesystem>
#include <fstream>

#include "hkam/hkam.hpp"
#include "io/trace.hpp"

namespace hkam::cli {

int run_demo(const DemoOptions& opt) {
  namespace fs = std::filesystem;
  const fs::path dir(opt.out_dir);
  const fs::path trace_path = dir / "trace.h5";
  if (fs::exists(trace_path) && !opt.force) {
    fmt::print(stderr, "hkam demo: {} exists; not overwriting it (use --force)\n",
               trace_path.string());
    return 2;
  }

  // Model: N units storing P Hebbian ±1 patterns; one oscillator on S^2 per unit, coupled to its
  // units additively on the complete graph (the low-rank path) and to each other on a ring.
  constexpr Index kN = 512, kP = 25, kD = 3;
  Rng rng(opt.seed);
  const Eigen::MatrixXd patterns = random_pm1(rng, kP, kN);
  Hopfield hop(hebbian_weights(patterns), Eigen::VectorXd::Zero(kN),
               Lagrangian{LagrangianKind::Tanh, 4.0});
  Kuramoto kur(kN, kD, Graph::ring(kN, 10), PairPotentialKind::Linear,
               Eigen::VectorXd::Constant(1, -0.1), {}, random_skew(rng, kD, 0.5));
  HopfieldKuramoto model(std::move(hop), std::move(kur),
                         {HkCouplingKind::Additive, Graph::complete(kN), 0.002, {}}, 1.0, 1.0);

  // Cue: pattern 0 with 15 % of its units flipped; oscillators uniform on the sphere.
  Eigen::VectorXd z(model.dim());
  Eigen::VectorXd cue = 0.5 * patterns.row(0).transpose();
  for (Index i = 0; i < kN; ++i)
    if (rng.uniform() < 0.15) cue[i] = -cue[i];
  z.head(kN) = cue;
  const Eigen::MatrixXd sigma0 = random_unit_rows(rng, kN, kD);
  for (Index i = 0; i < kN; ++i) z.segment(kN + i * kD, kD) = sigma0.row(i).transpose();
  const double m_before = pattern_overlaps(patterns, z.head(kN))[0];

  fs::create_directories(dir);
  if (opt.force) fs::remove(trace_path);
  const EnergyParts parts0 = model.energy_parts(z);
  std::vector<std::string> part_names;
  for (const auto& p : parts0) part_names.push_back(p.name);
  io::TraceWriter trace(trace_path.string(), model.layout(), part_names, {"overlap"});
  io::set_attr(trace.file(), "hkam_version", std::string(version()));
  io::set_attr(trace.file(), "git_revision", std::string(git_revision()));
  io::set_attr(trace.file(), "command_line", opt.command_line);
  io::set_attr(trace.file(), "seed", static_cast<long long>(opt.seed));
  io::set_attr(trace.file(), "experiment",
               std::string("demo: Hebbian Hopfield-Kuramoto retrieval"));
  io::write_model(trace.file(), model, patterns);

  SimulateOptions so;
  so.t_end = 40.0;
  so.dt = 1e-2;
  so.rtol = 1e-8;
  so.atol = 1e-10;
  constexpr long kRecordEvery = 5;  // states at every 5th accepted step; energies at every step
  long step = 0;
  const double e_first = model.energy(z);
  double e_last = e_first;
  EnergyAudit audit(so.rtol);
  const Observer observer = [&](double t, const Eigen::VectorXd& state, const StepInfo&) {
    const EnergyParts parts = model.energy_parts(state);
    double e = 0.0;
    for (const auto& p : parts) e += p.value;
    audit.add(step, t, e);
    trace.audit_step(t, e);
    if (step % kRecordEvery == 0 || t >= so.t_end)
      trace.record(t, state, e, parts, {pattern_overlaps(patterns, state.head(kN))[0]});
    e_last = e;
    ++step;
    return true;
  };
  const Summary s = simulate(model, z, so, observer);
  const Guarantee guarantee = model.lyapunov();
  trace.finish(audit.result(), audit.relative_tolerance(), guarantee, s, so);

  const double m_after = pattern_overlaps(patterns, z.head(kN))[0];
  const AuditResult& a = audit.result();
  if (!opt.quiet) {
    fmt::print(
        "hkam demo: Hopfield-Kuramoto retrieval, N = {} units, P = {} Hebbian patterns, D = {} "
        "oscillators\n",
        kN, kP, kD);
    fmt::print(
        "  integrator   dopri5 (rtol {:g}), {} accepted / {} rejected steps, {} RHS evaluations, "
        "{:.3f} s, end: {}\n",
        so.rtol, s.steps, s.rejected, s.rhs_evaluations, s.wall_seconds,
        end_reason_name(s.end_reason));
    fmt::print("  retrieval    overlap with the cued pattern {:.3f} -> {:.3f}\n", m_before,
               m_after);
    fmt::print(
        "  energy       {:.6f} -> {:.6f}; checked after all {} steps: largest increase {:.3g}, {} "
        "violations of "
        "tolerance {:g}*max(|E|,1) ({})\n",
        e_first, e_last, a.checked, a.max_increase, a.violations, audit.relative_tolerance(),
        guarantee.guaranteed ? "Lyapunov guaranteed" : guarantee.reason);
    fmt::print("  sphere norms max drift before renormalising {:.3g}\n", s.max_norm_drift);
    fmt::print("output: {}\n", fs::absolute(trace_path).string());
  }
  return a.monotone() && s.end_reason == EndReason::TEnd ? 0 : 1;
}

}  // namespace hkam::cli

namespace hkam::cli {

int run_check_energy(const std::string& path) {
  io::EnergyCheck c;
  try {
    c = io::check_trace_energy(path);
  } catch (const std::exception& e) {
    fmt::print(stderr, "hkam check-energy: {}\n", e.what());
    return 2;
  }
  const AuditResult& a = c.audit;
  fmt::print("{}\n", path);
  fmt::print("  energies     {} samples from {}\n", c.samples, c.source);
  fmt::print("  tolerance    increase > {:g} * max(|E|, 1) counts as a violation\n",
             c.relative_tolerance);
  if (a.checked > 0)
    fmt::print("  largest increase {:.3g} at sample {} (t = {:.6g})\n", a.max_increase,
               a.max_increase_step, a.max_increase_t);
  if (c.guaranteed_known)
    fmt::print("  model        {}\n",
               c.guaranteed ? "energy guaranteed non-increasing" : "NOT guaranteed: " + c.reason);
  if (a.monotone()) {
    fmt::print("  verdict      monotone ({} differences checked, 0 violations)\n", a.checked);
    return 0;
  }
  fmt::print("  verdict      NOT monotone: {} violations, first at sample {}\n", a.violations,
             a.first_violation_step);
  return 1;
}

}  // namespace hkam::cli
