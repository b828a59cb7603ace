// Built against the installed hkam: exchanges Eigen objects with the library in both directions
// (the library sizes matrices the program frees, and the reverse), which crashes when the two
// disagree on Eigen's alignment (-march), and checks a result.
#include <cstdio>
#include <hkam/hkam.hpp>
#include <string>

int main() {
  using namespace hkam;
  Rng rng(3);
  const Index n = 64, d = 3;
  HopfieldKuramotoParams p;
  p.hopfield = {hebbian_weights(random_pm1(rng, 4, n)),
                Eigen::VectorXd::Zero(n),
                {LagrangianKind::Tanh, 2.0}};
  p.kuramoto = {n,
                d,
                Graph::watts_strogatz(n, 6, 0.1, 1),
                PairPotentialKind::Linear,
                Eigen::VectorXd::Constant(1, -0.2),
                {},
                {}};
  p.coupling = {HkCouplingKind::Additive, Graph::complete(n), 0.05, {}};
  const BatchModel<double> model(p);
  BatchMatrix<double> z(4, model.dim());
  for (Index b = 0; b < z.rows(); ++b) {
    z.row(b).head(n) = normal_vector(rng, n).transpose();
    z.row(b).tail(n * d) = random_unit_rows(rng, n, d).transpose().reshaped().transpose();
  }
  BatchWorkspace<double> ws;
  Eigen::VectorXd e0, e1;  // sized by the library, freed here
  model.energy(z, e0, ws);
  BatchSolveWorkspace<double> sws;
  BatchSolveOptions o;
  o.t_end = 2.0;
  const BatchSolveSummary s = solve(model, z, o, sws);
  model.energy(z, e1, sws.model);
  std::printf("hkam %s: %ld steps, energy %.6f -> %.6f\n", std::string(version()).c_str(), s.steps,
              e0[0], e1[0]);
  for (Index b = 0; b < z.rows(); ++b)
    if (!(e1[b] < e0[b])) return 1;  // the Lyapunov energy must have gone down
  return s.end_reason == EndReason::TEnd ? 0 : 1;
}
