#include "demo.hpp"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <filesystem>
#include <fstream>

#include "hkam/hkam.hpp"

namespace hkam::cli {

int run_demo(const DemoOptions& opt) {
  namespace fs = std::filesystem;
  const fs::path dir(opt.out_dir);
  const fs::path csv = dir / "energy.csv";
  if (fs::exists(csv) && !opt.force) {
    fmt::print(stderr, "hkam demo: {} exists; not overwriting it (use --force)\n", csv.string());
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
  const fs::path tmp = dir / "energy.csv.partial";
  std::ofstream out(tmp);
  if (!out) {
    fmt::print(stderr, "hkam demo: cannot write {}\n", tmp.string());
    return 2;
  }
  out << "step,t,energy,hopfield,kuramoto,coupling\n";

  SimulateOptions so;
  so.t_end = 40.0;
  so.dt = 1e-2;
  so.rtol = 1e-8;
  so.atol = 1e-10;
  long step = 0;
  const double e_first = model.energy(z);
  double e_last = e_first;
  EnergyAudit audit(so.rtol);
  const Observer observer = [&](double t, const Eigen::VectorXd& state) {
    double e = 0.0, eh = 0.0, ek = 0.0, ec = 0.0;
    for (const auto& p : model.energy_parts(state)) {
      e += p.value;
      if (p.name.starts_with("hopfield."))
        eh += p.value;
      else if (p.name.starts_with("kuramoto."))
        ek += p.value;
      else
        ec += p.value;
    }
    audit.add(step, t, e);
    e_last = e;
    fmt::print(out, "{},{:.17g},{:.17g},{:.17g},{:.17g},{:.17g}\n", step++, t, e, eh, ek, ec);
    return true;
  };
  const Summary s = simulate(model, z, so, observer);
  out.close();
  fs::rename(tmp, csv);

  const double m_after = pattern_overlaps(patterns, z.head(kN))[0];
  const Guarantee guarantee = model.lyapunov();
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
    fmt::print("output: {}\n", fs::absolute(csv).string());
  }
  return a.monotone() && s.end_reason == EndReason::TEnd ? 0 : 1;
}

}  // namespace hkam::cli
