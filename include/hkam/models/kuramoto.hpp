#pragma once
/// Generalized Kuramoto oscillators on spheres S^{D−1}, Lyapunov form (docs/models.md §2).
///
///   E_K(Σ) = Σ_{(i,j)∈ℰ_K} F_ij(s_ij),  s_ij = σ_i·σ_j                                    (K1)
///   dσ_i/dt = −P_{σ_i} ∇_{σ_i} E_K + Ω σ_i,  ∇_{σ_i} E_K = Σ_{j~i} F'_ij(s_ij) σ_j           (K2)
///   dE_K/dt = −Σ_i ‖P_{σ_i} ∇_{σ_i} E_K‖² ≤ 0                                             (K3)
///
/// Pair potentials (per-edge A, B): linear A s; relu A s + ½B relu(s)²; tanh A s + B log cosh s;
/// sigmoid A s + B softplus(s). The flow is gradient descent: A < 0 synchronises, A > 0 repels.
/// Ω is one D×D skew matrix shared by all oscillators.
///
/// Extensions that break (K3), available for negative controls and reported by `lyapunov()`:
///  * per-oscillator Ω_i (replaces the shared Ω): adds Σ_e F'(s_ij) σ_jᵀ(Ω_i − Ω_j)σ_i;
///  * a stimulus c (energy −Σ c_i·σ_i, drive +c_i): adds −Σ_i c_iᵀ Ω_i σ_i;
///  * matrix couplings on ℰ_K: drive J_e σ_j on i and J'_e σ_i on j (J'_e = J_eᵀ by default),
///    energy −½ Σ_e (σ_iᵀ J_e σ_j + σ_jᵀ J'_e σ_i); a gradient flow only when J'_e = J_eᵀ, and
///    Ω-neutral only when [J_e, Ω] = 0 (else it adds −Σ_e σ_iᵀ[J_e, Ω]σ_j).
///
/// The energy and gradient are defined on the ambient space R^{M·D} (s_ij is the plain inner
/// product), so finite differences check them anywhere; the flow keeps ‖σ_i‖ = 1.
/// On an implicit complete graph with a linear potential and one A for all edges, the drive is
/// computed as −A(Σ_j σ_j − σ_i): O(M·D), no edge list.

#include <Eigen/Core>
#include <string_view>
#include <vector>

#include "hkam/core.hpp"
#include "hkam/models/graph.hpp"

namespace hkam {

struct KuramotoParams;

enum class PairPotentialKind { Linear, Relu, Tanh, Sigmoid };

/// Parses "linear", "relu", "tanh", "sigmoid"; throws std::invalid_argument otherwise.
PairPotentialKind pair_potential_from_name(std::string_view name);
std::string_view pair_potential_name(PairPotentialKind kind);
/// F(s) and F'(s) for one edge with parameters (a, b).
double pair_value(PairPotentialKind kind, double a, double b, double s);
double pair_derivative(PairPotentialKind kind, double a, double b, double s);

class Kuramoto {
 public:
  Kuramoto() = default;
  /// `a`, `b`: one value per edge of `graph`, or a single value shared by all edges (b is ignored
  /// by the linear potential and may be empty). `omega`: D×D skew (empty means zero).
  /// Throws std::invalid_argument on a size mismatch or a non-skew Ω.
  Kuramoto(Index n_osc, Index osc_dim, Graph graph, PairPotentialKind kind, Eigen::VectorXd a,
           Eigen::VectorXd b, Eigen::MatrixXd omega = {});
  /// From plain parameters (models/params.hpp); throws std::invalid_argument with
  /// `params.validate()`'s text when they are invalid.
  explicit Kuramoto(const KuramotoParams& params);
  /// The Lyapunov-form parameters (the negative-control extensions are not part of them).
  KuramotoParams params() const;

  /// Per-oscillator frequencies Ω_i, each D×D skew, replacing the shared Ω.
  void set_oscillator_omegas(const std::vector<Eigen::MatrixXd>& omegas);
  /// Stimulus c (M×D).
  void set_stimulus(const Eigen::MatrixXd& c);
  /// One D×D matrix J_e per edge (and optionally J'_e; empty means J'_e = J_eᵀ).
  void set_matrix_couplings(const std::vector<Eigen::MatrixXd>& j,
                            const std::vector<Eigen::MatrixXd>& j_reverse = {});

  Index dim() const { return m_ * d_; }
  Index n_osc() const { return m_; }
  Index osc_dim() const { return d_; }
  StateLayout layout() const { return {0, m_, d_}; }
  const Graph& graph() const { return graph_; }
  PairPotentialKind potential() const { return kind_; }
  const Eigen::VectorXd& a() const { return a_; }
  const Eigen::VectorXd& b() const { return b_; }
  const Eigen::MatrixXd& omega() const { return omega_; }
  /// Ω_i stacked side by side (D × M·D), or empty when the shared Ω is used.
  const Eigen::MatrixXd& oscillator_omegas() const { return omegas_; }
  const Eigen::MatrixXd& stimulus() const { return c_; }
  bool has_matrix_couplings() const { return j_.size() > 0; }
  /// True when the O(M·D) mean-field path is used (implicit complete graph, uniform linear A).
  bool mean_field() const { return mean_field_; }

  /// odeint System. Allocates nothing.
  void operator()(const Eigen::VectorXd& sigma, Eigen::VectorXd& dsdt, double t) const;
  double energy(const Eigen::VectorXd& sigma) const { return energy_raw(sigma.data()); }
  EnergyParts energy_parts(const Eigen::VectorXd& sigma) const;
  void energy_gradient(const Eigen::VectorXd& sigma, Eigen::VectorXd& grad) const;
  Eigen::VectorXd energy_gradient(const Eigen::VectorXd& sigma) const;
  /// The right-hand side of (K3): −Σ_i ‖P_{σ_i} ∇_{σ_i} E‖².
  double dissipation(const Eigen::VectorXd& sigma) const;
  Guarantee lyapunov() const;

  // Building blocks for composite models (raw M×D row-major arrays, no allocation).
  /// f_i = −Σ_j F'(s_ij) σ_j + c_i + Σ J σ_j  (equals −∇_i E when the couplings are symmetric).
  void drive(const double* sigma, double* f) const;
  /// out_i = Ω_i σ_i + P_{σ_i} f_i; out may alias f.
  void finish(const double* sigma, const double* f, double* out) const;
  double energy_raw(const double* sigma) const;
  /// Adds ∇E_K to grad.
  void add_energy_gradient(const double* sigma, double* grad) const;

 private:
  const double* omega_of(Index i) const;
  void compute_edge_derivatives(const double* sigma) const;

  Index m_ = 0, d_ = 0;
  Graph graph_;
  PairPotentialKind kind_ = PairPotentialKind::Linear;
  Eigen::VectorXd a_, b_;   // size 1 (shared) or num_edges
  Eigen::MatrixXd omega_;   // D×D
  Eigen::MatrixXd omegas_;  // D × (M·D) or empty
  Eigen::MatrixXd c_;       // M×D or empty (row-major copy kept in c_rows_)
  std::vector<double> c_rows_;
  Eigen::MatrixXd j_, jr_;  // D × (E·D) or empty
  bool mean_field_ = false;
  mutable std::vector<double> fprime_;  // per edge F'(s_e)
  mutable Eigen::VectorXd sum_, grad_;  // workspace
};

}  // namespace hkam
