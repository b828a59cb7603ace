#include "run/model_config.hpp"

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <numbers>
#include <optional>
#include <sstream>

#include "hkam/random.hpp"
#include "io/h5.hpp"
#include "os.hpp"

namespace hkam::run {

using config::Section;

Eigen::MatrixXd read_text_matrix(const std::string& path) {
  os::require_regular_file(path);
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::vector<std::vector<double>> rows;
  std::string line;
  for (long no = 1; std::getline(in, line); ++no) {
    if (const auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream ls(line);
    std::vector<double> row;
    std::string tok;
    while (ls >> tok) {
      try {
        std::size_t used = 0;
        row.push_back(std::stod(tok, &used));
        if (used != tok.size() || !std::isfinite(row.back())) throw std::invalid_argument(tok);
      } catch (const std::exception&) {
        throw std::runtime_error(fmt::format("{}:{}: '{}' is not a finite number", path, no, tok));
      }
    }
    if (row.empty()) continue;
    if (!rows.empty() && row.size() != rows[0].size())
      throw std::runtime_error(fmt::format("{}:{}: {} columns, the first row has {}", path, no,
                                           row.size(), rows[0].size()));
    rows.push_back(std::move(row));
  }
  if (rows.empty()) throw std::runtime_error(path + ": no numbers in the file");
  Eigen::MatrixXd m(static_cast<Index>(rows.size()), static_cast<Index>(rows[0].size()));
  for (Index r = 0; r < m.rows(); ++r)
    for (Index c = 0; c < m.cols(); ++c) m(r, c) = rows[r][c];
  return m;
}

namespace {

// erf⁻¹ by Newton's method on std::erf (for normal quantiles; |y| < 1).
double inverse_erf(double y) {
  double x = 0;
  for (int k = 0; k < 100; ++k) {
    const double step = (std::erf(x) - y) / (2 / std::sqrt(std::numbers::pi) * std::exp(-x * x));
    x -= step;
    if (std::abs(step) < 1e-15 * std::max(1.0, std::abs(x))) break;
  }
  return x;
}

struct GraphSpec {
  Graph graph;
  std::vector<std::vector<double>> columns;  // per-edge values from an edge-list file
};

const std::string kGraphKeysWhy = "only used with graph = \"ring\" or \"watts_strogatz\"";

GraphSpec read_graph(Section& s, Index n, std::uint64_t seed, Budget& budget) {
  GraphSpec g;
  const std::string kind =
      s.choice("graph", "complete", {"complete", "ring", "watts_strogatz", "file"});
  if (kind == "ring" || kind == "watts_strogatz") {
    const long k = s.integer("degree", std::nullopt, config::at_least(2));
    if (k % 2 != 0 || k >= n)
      s.fail("degree", fmt::format("expected an even integer below the {} nodes, got {}", n, k));
    // edge list (i, j) + CSR adjacency in both directions
    budget.memory(s, "degree", 56.0 * static_cast<double>(n) * static_cast<double>(k) / 2,
                  "for the graph's edges");
    if (kind == "ring") {
      s.irrelevant("rewire", "only used with graph = \"watts_strogatz\"");
      g.graph = Graph::ring(n, k);
    } else {
      const double p = s.number("rewire", std::nullopt, config::unit_interval());
      g.graph = Graph::watts_strogatz(n, k, p, seed);
    }
  } else {
    s.irrelevant("degree", kGraphKeysWhy);
    s.irrelevant("rewire", "only used with graph = \"watts_strogatz\"");
  }
  if (kind == "file") {
    const std::string file = s.string("edges_file", std::nullopt);
    try {
      EdgeListFile f = read_edge_list(s.document().input_path(file), n);
      g.graph = std::move(f.graph);
      g.columns = std::move(f.columns);
    } catch (const std::exception& e) {
      s.fail("edges_file", e.what());
    }
  } else {
    s.irrelevant("edges_file", "only used with graph = \"file\"");
  }
  if (kind == "complete") g.graph = Graph::complete(n);
  return g;
}

Eigen::MatrixXd read_patterns(Section s, Rng& rng, Index units, Budget& budget) {
  if (s.has("file")) {
    s.irrelevant("count", "the patterns come from 'file'");
    const std::string file = s.string("file", std::nullopt);
    Eigen::MatrixXd p;
    try {
      p = read_text_matrix(s.document().input_path(file));
    } catch (const std::exception& e) {
      s.fail("file", e.what());
    }
    if (p.cols() != units)
      s.fail("file", fmt::format("the patterns have {} entries each, hopfield.units = {}", p.cols(),
                                 units));
    for (Index r = 0; r < p.rows(); ++r)
      for (Index c = 0; c < p.cols(); ++c)
        if (p(r, c) != 1.0 && p(r, c) != -1.0)
          s.fail("file", fmt::format("pattern {}, entry {} is {:g}: patterns are ±1 (binary) "
                                     "vectors",
                                     r, c, p(r, c)));
    s.done();
    return p;
  }
  const long count = s.integer("count", std::nullopt, config::at_least(1));
  budget.memory(s, "count", 8.0 * static_cast<double>(count) * static_cast<double>(units),
                "for the patterns");
  s.done();
  return random_pm1(rng, count, units);
}

// [hopfield] after its `units` (read first, because [patterns] needs it).
Hopfield read_hopfield(Section s, Index n, const Eigen::MatrixXd& patterns, std::uint64_t seed) {
  const bool have_patterns = patterns.size() > 0;
  const std::string lag = s.choice("lagrangian", "tanh", {"tanh", "sigmoid", "relu", "lse"});
  const double beta = s.number("beta", 1.0, config::positive());
  const std::string wkind = s.choice("weights", have_patterns ? "hebbian" : "random",
                                     {"hebbian", "random", "zero", "file"});
  Eigen::MatrixXd w;
  if (wkind == "hebbian") {
    if (!have_patterns) s.fail("weights", "\"hebbian\" needs patterns: add a [patterns] table");
    w = hebbian_weights(patterns);
  } else if (wkind == "zero") {
    w = Eigen::MatrixXd::Zero(n, n);
  }
  if (wkind == "random") {
    Rng rng(Rng::derive(seed, kWeights));
    w = random_symmetric_weights(rng, n, s.number("weight_scale", 1.0, config::non_negative()));
  } else {
    s.irrelevant("weight_scale", "only used with weights = \"random\"");
  }
  if (wkind == "file") {
    const std::string file = s.string("weights_file", std::nullopt);
    try {
      w = read_text_matrix(s.document().input_path(file));
    } catch (const std::exception& e) {
      s.fail("weights_file", e.what());
    }
    if (w.rows() != n || w.cols() != n)
      s.fail("weights_file",
             fmt::format("expected a {}x{} matrix, the file has {}x{}", n, n, w.rows(), w.cols()));
  } else {
    s.irrelevant("weights_file", "only used with weights = \"file\"");
  }
  Eigen::VectorXd b = s.numbers("bias", 0.0);
  if (b.size() == 1)
    b = Eigen::VectorXd::Constant(n, b[0]);
  else if (b.size() != n)
    s.fail("bias", fmt::format("expected one number or {} (one per unit), got {}", n, b.size()));
  s.done();
  return Hopfield(w, b, Lagrangian::from_name(lag, beta));
}

Kuramoto read_kuramoto(Section s, std::optional<long> default_m, std::uint64_t seed,
                       Budget& budget) {
  const long m = s.integer("oscillators", default_m, config::at_least(1));
  const long d = s.integer("dim", 2, config::at_least(2));
  // oscillator buffers (M×D, a few) and Ω (D×D)
  budget.memory(s, "dim", 8.0 * d * (8.0 * m + d), "for the oscillators' buffers and Ω");
  GraphSpec g = read_graph(s, m, Rng::derive(seed, kKuramotoGraph), budget);
  const std::string pot = s.choice("potential", "linear", {"linear", "relu", "tanh", "sigmoid"});
  const bool from_file = !g.columns.empty();
  Eigen::VectorXd a, b;
  if (from_file) {
    s.irrelevant("a", "the edges file gives A per edge (its third column)");
    s.irrelevant("coupling_k", "the edges file gives A per edge (its third column)");
    s.irrelevant("b", "the edges file gives B per edge (its fourth column)");
    a = Eigen::Map<Eigen::VectorXd>(g.columns[0].data(), static_cast<Index>(g.columns[0].size()));
    if (g.columns.size() > 1)
      b = Eigen::Map<Eigen::VectorXd>(g.columns[1].data(), static_cast<Index>(g.columns[1].size()));
  } else if (s.has("ab_scale")) {
    // One A (and B) per edge, independent N(0, ab_scale²): the note's trainable initialisation
    // (ab_scale = 1/√k).
    for (const char* k : {"a", "b", "coupling_k"})
      s.irrelevant(k, "ab_scale draws A and B per edge at random");
    const double scale = s.number("ab_scale", std::nullopt, config::positive());
    if (g.graph.is_complete()) g.graph = g.graph.materialized();
    Rng arng(Rng::derive(seed, kPairCoefficients));
    a = normal_vector(arng, g.graph.num_edges(), scale);
    if (pot != "linear") b = normal_vector(arng, g.graph.num_edges(), scale);
  } else {
    s.irrelevant("ab_scale", "with 'a' / 'b' / 'coupling_k' or an edges file");
    if (s.has("coupling_k")) {
      // K of the classical model, coupling K/M: A follows the number of oscillators.
      s.irrelevant("a", "coupling_k sets A = -coupling_k / oscillators");
      a = Eigen::VectorXd::Constant(1, -s.number("coupling_k", std::nullopt) / double(m));
    } else {
      a = s.numbers("a", -1.0);
    }
    if (pot == "linear")
      s.irrelevant("b", "the linear potential has no B");
    else
      b = s.numbers("b", 1.0);
  }
  const Index edges = g.graph.num_edges();
  if (a.size() != 1 && a.size() != edges)
    s.fail("a", fmt::format("expected one number or {} (one per edge), got {}", edges, a.size()));
  if (b.size() > 1 && b.size() != edges)
    s.fail("b", fmt::format("expected one number or {} (one per edge), got {}", edges, b.size()));
  if (g.graph.is_complete() && (a.size() > 1 || b.size() > 1)) g.graph = g.graph.materialized();
  Rng rng(Rng::derive(seed, kOmega));
  Eigen::MatrixXd omega;
  double shared_scale = 0;
  if (s.has("omega")) {
    s.irrelevant("omega_scale", "'omega' is given explicitly");
    omega = s.matrix("omega");
    if (omega.rows() != d || omega.cols() != d)
      s.fail("omega",
             fmt::format("expected a {}x{} matrix, got {}x{}", d, d, omega.rows(), omega.cols()));
    if ((omega + omega.transpose()).cwiseAbs().maxCoeff() > 1e-12 * (1 + omega.norm()))
      s.fail("omega", "Ω must be skew-symmetric (Ωᵀ = −Ω)");
  } else {
    shared_scale = s.number("omega_scale", 0.0, config::non_negative());
    if (shared_scale > 0) omega = random_skew(rng, d, shared_scale);
  }
  Kuramoto k;
  try {
    k = Kuramoto(m, d, std::move(g.graph), pair_potential_from_name(pot), a, b, omega);
  } catch (const std::invalid_argument& e) {
    s.fail("graph", e.what());
  }
  const std::string freq = s.choice("frequencies", "none", {"none", "lorentzian", "normal"});
  const double per_osc = s.number("omega_per_oscillator", 0.0, config::non_negative());
  if ((freq != "none" || per_osc > 0) && (s.has("omega") || shared_scale > 0))
    s.fail(s.has("omega") ? "omega" : "omega_scale",
           fmt::format("a shared Ω has no effect when every oscillator has its own ({}): remove it",
                       freq != "none" ? "frequencies = \"" + freq + "\""
                                      : std::string("omega_per_oscillator")));
  if (freq != "none") {
    if (d != 2)
      s.fail("frequencies", "natural frequencies ω_i need dim = 2 (use omega_per_oscillator)");
    if (per_osc > 0)
      s.fail("omega_per_oscillator", "give either frequencies or omega_per_oscillator");
    const double width = s.number("frequency_width", std::nullopt, config::positive());
    const double center = s.number("frequency_center", 0.0);
    std::vector<Eigen::MatrixXd> omegas(static_cast<std::size_t>(m), Eigen::MatrixXd::Zero(2, 2));
    const std::string sampling = s.choice("frequency_sampling", "random", {"random", "quantiles"});
    for (std::size_t i = 0; i < omegas.size(); ++i) {
      auto& o = omegas[i];
      double w;
      if (sampling == "random") {
        w = center + width * (freq == "lorentzian" ? rng.cauchy() : rng.normal());
      } else {  // deterministic: the (i + ½)/M quantiles of the distribution
        const double q = (static_cast<double>(i) + 0.5) / static_cast<double>(m);
        w = center + width * (freq == "lorentzian" ? std::tan(std::numbers::pi * (q - 0.5))
                                                   : std::sqrt(2.0) * inverse_erf(2 * q - 1));
      }
      o(1, 0) = w;  // dθ/dt = ω: Ω = [[0, −ω], [ω, 0]]
      o(0, 1) = -w;
    }
    k.set_oscillator_omegas(omegas);
  } else {
    s.irrelevant("frequency_width", "only used with frequencies = \"lorentzian\" or \"normal\"");
    s.irrelevant("frequency_center", "only used with frequencies = \"lorentzian\" or \"normal\"");
    s.irrelevant("frequency_sampling", "only used with frequencies = \"lorentzian\" or \"normal\"");
    if (per_osc > 0) {
      std::vector<Eigen::MatrixXd> omegas;
      for (long i = 0; i < m; ++i) omegas.push_back(random_skew(rng, d, per_osc));
      k.set_oscillator_omegas(omegas);
    }
  }
  const double stim = s.number("stimulus", 0.0, config::non_negative());
  if (stim > 0) {
    Rng srng(Rng::derive(seed, kStimulus));
    k.set_stimulus(normal_matrix(srng, m, d, stim));
  }
  s.done();
  return k;
}

AkornKuramoto read_akorn(Section s, std::uint64_t seed, Budget& budget) {
  const long m = s.integer("oscillators", std::nullopt, config::at_least(1));
  const long d = s.integer("dim", 4, config::at_least(2));
  const double md_ = static_cast<double>(m) * static_cast<double>(d);
  budget.memory(s, "oscillators", 3 * 8.0 * md_ * md_, "for the (M·D)² coupling matrix J");
  const std::string sym = s.choice("coupling", "symmetric", {"symmetric", "asymmetric"});
  const double scale = s.number("coupling_scale", 1.0, config::non_negative());
  const double stim = s.number("stimulus_scale", 0.0, config::non_negative());
  const std::string om = s.choice("omega", "none", {"none", "shared", "per_oscillator"});
  const double om_scale = om == "none" ? 0.0 : s.number("omega_scale", 1.0, config::positive());
  if (om == "none") s.irrelevant("omega_scale", "omega = \"none\"");
  const bool project = s.boolean("project", true);
  s.done();
  Rng rng(Rng::derive(seed, kAkorn));
  const Index md = m * d;
  Eigen::MatrixXd j = normal_matrix(rng, md, md, scale / std::sqrt(static_cast<double>(md)));
  for (Index i = 0; i < m; ++i) j.block(i * d, i * d, d, d).setZero();
  if (sym == "symmetric") j = (0.5 * (j + j.transpose())).eval();
  Eigen::MatrixXd c;
  if (stim > 0) c = normal_matrix(rng, m, d, stim);
  std::vector<Eigen::MatrixXd> omegas;
  if (om == "shared") omegas.push_back(random_skew(rng, d, om_scale));
  if (om == "per_oscillator")
    for (Index i = 0; i < m; ++i) omegas.push_back(random_skew(rng, d, om_scale));
  return AkornKuramoto(m, d, j, c, omegas, project);
}

// [akorn_conv]: an AKOrN K-layer with convolutional J on an image grid (docs/config.md).
ConvAkorn read_akorn_conv(Section s, std::uint64_t seed, analysis::Scene& scene, Budget& budget) {
  ConvAkornSpec sp;
  sp.channels = s.integer("channels", std::nullopt, config::at_least(2));
  sp.osc_dim = s.integer("dim", 4, config::at_least(2));
  if (sp.channels % sp.osc_dim != 0)
    s.fail("channels", fmt::format("must be a multiple of dim = {}", sp.osc_dim));
  sp.height = s.integer("height", std::nullopt, config::at_least(1));
  sp.width = s.integer("width", std::nullopt, config::at_least(1));
  sp.kernel = s.integer("kernel", 3, config::at_least(1));
  if (sp.kernel % 2 == 0) s.fail("kernel", "expected an odd kernel size (padding k/2, as Conv2d)");
  {
    const double c = static_cast<double>(sp.channels), kk = static_cast<double>(sp.kernel);
    budget.memory(s, "kernel", 16.0 * c * c * kk * kk, "for the conv kernel and its im2col");
    budget.memory(
        s, "height",
        8.0 * c * static_cast<double>(sp.height) * static_cast<double>(sp.width) * (8 + kk * kk),
        "for the feature maps (channels × height × width, and their im2col)");
  }
  const std::string kind = s.choice("coupling", "local", {"local", "random", "symmetric"});
  const double scale = s.number("coupling_scale", 1.0, config::non_negative());
  const Index c = sp.channels, k = sp.kernel;
  Rng wr(Rng::derive(seed, kConvWeights));
  if (kind == "local") {  // scale · (k×k box) ⊗ I_C: each channel pulled towards its neighbours'
    sp.weight = Eigen::MatrixXd::Zero(c, c * k * k);
    for (Index o = 0; o < c; ++o)
      for (Index t = 0; t < k * k; ++t) sp.weight(o, o * k * k + t) = scale;
  } else {
    sp.weight = normal_matrix(wr, c, c * k * k, scale / std::sqrt(static_cast<double>(c * k * k)));
    if (kind == "symmetric") sp.weight = symmetrized_kernel(sp.weight, c, k);
  }
  const std::string om = s.choice("omega", "none", {"none", "identity", "pairs", "global"});
  if (om == "pairs" || om == "global") {
    const double w = s.number("omega_scale", 1.0, config::positive());
    if (sp.osc_dim % 2) s.fail("omega", "a rotation needs an even dim");
    sp.omega = om == "global" ? Eigen::VectorXd::Constant(1, w)
                              : Eigen::VectorXd(w * normal_vector(wr, c / 2).cwiseAbs());
  } else {
    s.irrelevant("omega_scale", "only used with omega = \"pairs\" or \"global\"");
  }
  sp.omega_identity = om == "identity";
  sp.project = s.boolean("project", true);
  // Stimulus: the embedding of a synthetic scene (a fixed random 1x1 "conv" RGB -> C), normalised.
  const std::string stim = s.choice("stimulus", "shapes", {"shapes", "none"});
  if (stim == "shapes") {
    const int objects = static_cast<int>(s.integer("objects", 3, config::at_least(1)));
    const double noise = s.number("pixel_noise", 0.0, config::non_negative());
    const double sscale = s.number("stimulus_scale", 1.0, config::non_negative());
    const std::string norm = s.choice("c_norm", "gn", {"gn", "none"});
    Rng sr(Rng::derive(seed, kScene));
    scene = analysis::make_shapes(sp.height, sp.width, objects, noise, sr);
    const Eigen::MatrixXd embed = normal_matrix(sr, c, 3);
    sp.stimulus = embed * scene.rgb;  // C × HW
    if (norm == "gn") {  // GroupNorm(C/n groups, eps 1e-5, unit affine): one group per oscillator
      const Index n = sp.osc_dim;
      for (Index g = 0; g < c / n; ++g) {
        auto block = sp.stimulus.middleRows(g * n, n);
        const double mean = block.mean();
        const double var = (block.array() - mean).square().mean();
        block = ((block.array() - mean) / std::sqrt(var + 1e-5)).matrix();
      }
    }
    sp.stimulus *= sscale;
  } else {
    for (const char* key : {"objects", "pixel_noise", "stimulus_scale", "c_norm"})
      s.irrelevant(key, "only used with stimulus = \"shapes\"");
  }
  s.done();
  return ConvAkorn(std::move(sp));
}

HkCoupling read_coupling(Section& s, Index n, std::uint64_t seed, Budget& budget) {
  HkCoupling c;
  c.kind = hk_coupling_from_name(
      s.choice("kind", "additive", {"additive", "multiplicative", "general"}));
  GraphSpec g = read_graph(s, n, Rng::derive(seed, kCouplingGraph), budget);
  c.graph = std::move(g.graph);
  if (c.kind == HkCouplingKind::General) {
    s.irrelevant("alpha", "kind = \"general\" takes one weight per edge (edges file or random)");
    if (!g.columns.empty()) {
      s.irrelevant("weight_scale", "the edges file gives the weights");
      c.weights =
          Eigen::Map<Eigen::VectorXd>(g.columns[0].data(), static_cast<Index>(g.columns[0].size()));
    } else {
      if (c.graph.is_complete()) {
        budget.memory(s, "kind", 64.0 * static_cast<double>(c.graph.num_edges()),
                      "for the complete graph's explicit edges and weights");
        c.graph = c.graph.materialized();
      }
      Rng rng(Rng::derive(seed, kCouplingWeights));
      c.weights = normal_vector(rng, c.graph.num_edges(),
                                s.number("weight_scale", std::nullopt, config::non_negative()));
    }
  } else {
    s.irrelevant("weight_scale", "only used with kind = \"general\"");
    c.alpha = s.number("alpha", std::nullopt);
  }
  return c;
}

std::vector<Index> read_pairing(Section& s, Index n, Index m) {
  const std::string kind = s.choice("pairing", "identity", {"identity", "blocks", "modulo"});
  std::vector<Index> p(static_cast<std::size_t>(n));
  if (kind == "identity") {
    if (m != n)
      s.fail("pairing", fmt::format("\"identity\" needs as many oscillators as units ({} vs {}); "
                                    "use \"blocks\" or \"modulo\"",
                                    m, n));
    return {};
  }
  for (Index i = 0; i < n; ++i) p[i] = kind == "blocks" ? i * m / n : i % m;
  return p;
}

}  // namespace

ModelConfig read_model(Section& root, std::uint64_t seed, Budget& budget,
                       const std::vector<std::string>& kinds) {
  ModelConfig mc;
  Section model = root.section("model");
  mc.kind = model.choice("kind", std::nullopt,
                         kinds.empty()
                             ? std::vector<std::string>{"hopfield", "kuramoto", "akorn_kuramoto",
                                                        "hopfield_kuramoto", "akorn_conv"}
                             : kinds);
  const std::string init_from =
      model.has("init_from") ? model.document().input_path(model.string("init_from", "")) : "";
  model.done();
  const bool uses_hopfield = mc.kind == "hopfield" || mc.kind == "hopfield_kuramoto";
  const bool uses_kuramoto = mc.kind == "kuramoto" || mc.kind == "hopfield_kuramoto";
  const std::string not_used = "model.kind = \"" + mc.kind + "\" does not use this table";
  std::optional<Section> hop_section;
  Index n_units = 0;
  if (uses_hopfield) {
    hop_section = root.section("hopfield");
    n_units = hop_section->integer("units", std::nullopt, config::at_least(1));
    // W and its symmetric part (N × N each), the Lagrangian's buffers
    budget.memory(*hop_section, "units",
                  16.0 * static_cast<double>(n_units) * static_cast<double>(n_units),
                  "for the N × N weights");
    if (root.has("patterns")) {
      Rng rng(Rng::derive(seed, kPatterns));
      mc.patterns = read_patterns(root.section("patterns"), rng, n_units, budget);
    }
  } else {
    root.irrelevant("patterns", not_used);
    root.irrelevant("hopfield", not_used);
  }
  if (!uses_kuramoto) root.irrelevant("kuramoto", not_used);
  if (mc.kind != "hopfield_kuramoto") root.irrelevant("coupling", not_used);
  if (mc.kind != "akorn_kuramoto") root.irrelevant("akorn", not_used);
  if (mc.kind != "akorn_conv") root.irrelevant("akorn_conv", not_used);

  if (mc.kind == "hopfield") {
    mc.model = read_hopfield(*hop_section, n_units, mc.patterns, seed);
  } else if (mc.kind == "kuramoto") {
    mc.model = read_kuramoto(root.section("kuramoto"), std::nullopt, seed, budget);
  } else if (mc.kind == "akorn_kuramoto") {
    mc.model = read_akorn(root.section("akorn"), seed, budget);
  } else if (mc.kind == "akorn_conv") {
    mc.model = read_akorn_conv(root.section("akorn_conv"), seed, mc.scene, budget);
  } else {
    Hopfield hop = read_hopfield(*hop_section, n_units, mc.patterns, seed);
    const Index n = n_units;
    Kuramoto kur = read_kuramoto(root.section("kuramoto"), n, seed, budget);
    Section cs = root.section("coupling");
    HkCoupling c = read_coupling(cs, n, seed, budget);
    const double kh = cs.number("kappa_h", 1.0, config::positive());
    const double kk = cs.number("kappa_k", 1.0, config::positive());
    std::vector<Index> pairing = read_pairing(cs, n, kur.n_osc());
    cs.done();
    mc.model =
        HopfieldKuramoto(std::move(hop), std::move(kur), std::move(c), kh, kk, std::move(pairing));
  }
  if (!init_from.empty()) {
    Section ms = root.section("model");
    if (auto* hk = std::get_if<HopfieldKuramoto>(&mc.model)) {
      HopfieldKuramotoParams p = hk->params();
      load_parameters(ms, init_from, p);
      mc.model = HopfieldKuramoto(p);
    } else if (auto* h = std::get_if<Hopfield>(&mc.model)) {
      HopfieldKuramotoParams p;
      p.hopfield = h->params();
      load_parameters(ms, init_from, p);
      mc.model = Hopfield(p.hopfield.w, p.hopfield.b, p.hopfield.lagrangian);
    } else {
      ms.fail("init_from",
              "only hopfield and hopfield_kuramoto models load parameters from a file");
    }
  }
  return mc;
}

void load_parameters(const Section& s, const std::string& path, HopfieldKuramotoParams& p) {
  std::vector<std::string> loaded;
  try {
    io::Id f = io::open_file_read(path);
    if (!io::exists(f.get(), "model"))
      throw std::runtime_error("no /model group: not an hkam trace or training file");
    auto load = [&](const char* dataset, double* dst, Index size, bool present) {
      if (!io::exists(f.get(), dataset)) return;
      std::vector<hsize_t> shape;
      std::vector<double> v = io::read_doubles(f.get(), dataset, &shape);
      io::require_finite(v, path + ": /" + dataset);
      if (!present || static_cast<Index>(v.size()) != size)
        throw std::runtime_error(fmt::format("/{} holds {} numbers, the model has {}", dataset,
                                             v.size(), present ? size : 0));
      std::copy(v.begin(), v.end(), dst);
      loaded.push_back(std::string("/") + dataset);
    };
    auto& h = p.hopfield;
    load("model/hopfield/W", h.w.data(), h.w.size(), h.w.size() > 0);  // symmetric: layout-free
    load("model/hopfield/b", h.b.data(), h.b.size(), h.b.size() > 0);
    if (p.kuramoto.n_osc > 0) {
      auto& k = p.kuramoto;
      load("model/kuramoto/A", k.a.data(), k.a.size(), k.a.size() > 0);
      load("model/kuramoto/B", k.b.data(), k.b.size(), k.b.size() > 0);
      if (io::exists(f.get(), "model/kuramoto/omega") && k.omega.size() == 0)
        k.omega = Eigen::MatrixXd::Zero(k.osc_dim, k.osc_dim);
      Eigen::MatrixXd om = k.omega.transpose();  // stored row-major
      load("model/kuramoto/omega", om.data(), om.size(), om.size() > 0);
      k.omega = om.transpose();
    }
    if (p.coupling.present() && io::exists(f.get(), "model/coupling")) {
      io::Id c = io::open_group(f.get(), "model/coupling");
      if (auto alpha = io::get_attr_double(c.get(), "alpha")) {
        p.coupling.alpha = *alpha;
        loaded.push_back("/model/coupling alpha");
      }
    }
  } catch (const std::exception& e) {
    s.fail("init_from", fmt::format("{}: {}", path, e.what()));
  }
  if (loaded.empty())
    s.fail("init_from", path + ": none of the model's parameters is stored there");
  if (const std::string why = p.validate(); !why.empty())
    s.fail("init_from", fmt::format("{}: the loaded parameters are not valid: {}", path, why));
}

}  // namespace hkam::run
