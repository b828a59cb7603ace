// Experiments from TOML: validation messages, resolved configs, overrides, and runs whose results
// are known (classical retrieval and the Kuramoto synchrony transition).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "config/reader.hpp"
#include "io/h5.hpp"
#include "io/trace.hpp"
#include "run/experiment.hpp"
#include "run/network_run.hpp"
#include "run/sweep.hpp"
#include "run/train_spec.hpp"
#include "support/configs.hpp"

namespace hkam {
namespace {

namespace fs = std::filesystem;

run::Experiment parse(const std::string& text, const std::vector<std::string>& sets = {}) {
  config::Document doc = config::Document::from_string(text, "cfg.toml");
  for (const auto& s : sets) doc.set(s);
  return run::Experiment(std::move(doc));
}

// The message of the ConfigError that `text` raises (fails the test when none is raised).
std::string error_of(const std::string& text, const std::vector<std::string>& sets = {}) {
  try {
    parse(text, sets);
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return "";
}

const std::string& kHopfield = test::kSmallHopfieldConfig;

struct BadCase {
  std::string name, toml, expected;
};

void PrintTo(const BadCase& c, std::ostream* os) {
  *os << c.name;
}

class BadConfig : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadConfig, IsRejectedWithAMessageNamingKeyAndPlace) {
  const std::string msg = error_of(GetParam().toml);
  EXPECT_NE(msg.find(GetParam().expected), std::string::npos)
      << "message: " << msg << "\nexpected to contain: " << GetParam().expected;
}

const BadCase kBadCases[] = {
    {"syntax", "[model\nkind = 1\n", "cfg.toml:1:"},
    {"missing_kind", "[model]\n", "model.kind: missing required key"},
    {"unknown_kind", "[model]\nkind = \"hopfeld\"\n", "did you mean \"hopfield\"?"},
    {"kind_not_string", "[model]\nkind = 3\n", "cfg.toml:2:8: model.kind: expected one of"},
    {"misspelt_key",
     "[model]\nkind = \"hopfield\"\n[hopfield]\nunits = 4\nlagrangain = \"relu\"\n"
     "[integrator]\nt_end = 1\n",
     "cfg.toml:5:14: hopfield.lagrangain: unknown key; did you mean 'lagrangian'?"},
    {"unknown_top_level", "sed = 4\n" + kHopfield,
     "cfg.toml:1:7: sed: unknown key; did you mean 'seed'?"},
    {"missing_units", "[model]\nkind = \"hopfield\"\n[integrator]\nt_end = 1\n",
     "hopfield.units: missing required key (expected an integer in [1, 2147483647])"},
    {"units_zero", "[model]\nkind = \"hopfield\"\n[hopfield]\nunits = 0\n",
     "cfg.toml:4:9: hopfield.units: expected an integer in [1, 2147483647], got the integer 0"},
    {"units_float", "[model]\nkind = \"hopfield\"\n[hopfield]\nunits = 2.5\n",
     "hopfield.units: expected an integer in [1, 2147483647], got the number 2.5"},
    {"negative_t_end",
     "[model]\nkind = \"hopfield\"\n[hopfield]\nunits = 4\n[integrator]\nt_end = -1\n",
     "cfg.toml:6:9: integrator.t_end: expected a number > 0 (finite), got the integer -1"},
    {"missing_t_end", "[model]\nkind = \"hopfield\"\n[hopfield]\nunits = 4\n",
     "integrator.t_end: missing required key (expected a number > 0 (finite))"},
    {"bad_stepper", kHopfield + "stepper = \"rk45\"\n", "integrator.stepper: expected one of"},
    {"beta_string", "[model]\nkind = \"hopfield\"\n[hopfield]\nunits = 4\nbeta = \"big\"\n",
     "hopfield.beta: expected a number > 0 (finite), got the string \"big\""},
    {"hebbian_without_patterns",
     "[model]\nkind = \"hopfield\"\n[hopfield]\nunits = 4\nweights = \"hebbian\"\n",
     "hopfield.weights: \"hebbian\" needs patterns"},
    {"bias_wrong_length", "[model]\nkind = \"hopfield\"\n[hopfield]\nunits = 4\nbias = [1, 2]\n",
     "hopfield.bias: expected one number or 4 (one per unit), got 2"},
    {"section_not_used", kHopfield + "[kuramoto]\ndim = 3\n",
     "kuramoto: not used here: model.kind = \"hopfield\" does not use this table"},
    {"odd_degree",
     "[model]\nkind = \"kuramoto\"\n[kuramoto]\noscillators = 10\ngraph = \"ring\"\ndegree = 3\n",
     "kuramoto.degree: expected an even integer below the 10 nodes, got 3"},
    {"degree_without_ring",
     "[model]\nkind = \"kuramoto\"\n[kuramoto]\noscillators = 10\ndegree = 4\n",
     "kuramoto.degree: not used here: only used with graph = \"ring\" or \"watts_strogatz\""},
    {"rewire_out_of_range",
     "[model]\nkind = \"kuramoto\"\n[kuramoto]\noscillators = 10\ngraph = \"watts_strogatz\"\n"
     "degree = 4\nrewire = 1.5\n",
     "kuramoto.rewire: expected a number in [0, 1], got the number 1.5"},
    {"omega_not_skew",
     "[model]\nkind = \"kuramoto\"\n[kuramoto]\noscillators = 4\nomega = [[0, 1], [1, 0]]\n",
     "kuramoto.omega: Ω must be skew-symmetric"},
    {"omega_wrong_shape",
     "[model]\nkind = \"kuramoto\"\n[kuramoto]\noscillators = 4\ndim = 3\nomega = [[0, 1], [-1, "
     "0]]\n",
     "kuramoto.omega: expected a 3x3 matrix, got 2x2"},
    {"b_with_linear", "[model]\nkind = \"kuramoto\"\n[kuramoto]\noscillators = 4\nb = 1.0\n",
     "kuramoto.b: not used here: the linear potential has no B"},
    {"a_and_coupling_k",
     "[model]\nkind = \"kuramoto\"\n[kuramoto]\noscillators = 4\na = -0.5\ncoupling_k = 2\n",
     "cfg.toml:5:5: kuramoto.a: not used here: coupling_k sets A = -coupling_k / oscillators"},
    {"frequencies_need_d2",
     "[model]\nkind = \"kuramoto\"\n[kuramoto]\noscillators = 4\ndim = 3\nfrequencies = "
     "\"lorentzian\"\n",
     "kuramoto.frequencies: natural frequencies ω_i need dim = 2"},
    {"edges_file_missing",
     "[model]\nkind = \"kuramoto\"\n[kuramoto]\noscillators = 4\ngraph = \"file\"\nedges_file = "
     "\"nope.txt\"\n",
     "kuramoto.edges_file: "},
    {"alpha_missing",
     "[model]\nkind = \"hopfield_kuramoto\"\n[hopfield]\nunits = 6\n[coupling]\nkind = "
     "\"additive\"\n",
     "coupling.alpha: missing required key"},
    {"pairing_mismatch",
     "[model]\nkind = \"hopfield_kuramoto\"\n[hopfield]\nunits = 6\n[kuramoto]\noscillators = 3\n"
     "[coupling]\nalpha = 0.1\n",
     "coupling.pairing: \"identity\" needs as many oscillators as units (3 vs 6)"},
    {"akorn_gamma_missing",
     "[model]\nkind = \"akorn_kuramoto\"\n[akorn]\noscillators = 4\n[integrator]\nstepper = "
     "\"akorn\"\nsteps = 3\n",
     "integrator.gamma: missing required key"},
    {"t_end_with_akorn_stepper",
     "[model]\nkind = \"akorn_kuramoto\"\n[akorn]\noscillators = 4\n[integrator]\nstepper = "
     "\"akorn\"\n"
     "gamma = 0.1\nsteps = 3\nt_end = 5\n",
     "integrator.t_end: not used here: the akorn stepper runs `steps` updates of size `gamma`"},
    {"rtol_with_fixed_step", kHopfield + "stepper = \"rk4\"\nrtol = 1e-6\n",
     "integrator.rtol: not used here: only used by the adaptive steppers"},
    {"interval_not_multiple",
     kHopfield + "stepper = \"rk4\"\ndt = 0.1\n[record]\ninterval = 0.25\n",
     "record.interval: with a fixed-step stepper the interval must be a multiple of the step 0.1"},
    {"order_parameter_without_oscillators", kHopfield + "[stop]\norder_parameter = 0.9\n",
     "stop.order_parameter: not used here: the model has no oscillators"},
    {"pattern_index", kHopfield + "[patterns]\ncount = 2\n[initial]\npattern = 5\n",
     "initial.pattern: there are 2 patterns (0 to 1)"},
    {"flip_range", kHopfield + "[patterns]\ncount = 2\n[initial]\nflip = 2\n",
     "initial.flip: expected a number in [0, 1], got the integer 2"},
    {"sigma_for_hopfield", kHopfield + "[initial]\nsigma = \"random\"\n",
     "initial.sigma: not used here: the model has no oscillators"},
    {"table_expected", "record = 3\n" + kHopfield,
     "cfg.toml:1:10: record: expected a table, got the integer 3"},
};

INSTANTIATE_TEST_SUITE_P(Cases, BadConfig, ::testing::ValuesIn(kBadCases),
                         [](const auto& info) { return info.param.name; });

TEST(Config, SetOverridesAndNamesItselfInErrors) {
  EXPECT_NE(error_of(kHopfield, {"integrator.t_end=-3"})
                .find("--set integrator.t_end=-3: integrator.t_end: expected a number > 0"),
            std::string::npos);
  EXPECT_NE(error_of(kHopfield, {"integrator.t_edn=3"}).find("did you mean 't_end'?"),
            std::string::npos);
  EXPECT_THROW(parse(kHopfield, {"no_equals_sign"}), config::ConfigError);
  // A bare word is a string; numbers and booleans keep their TOML type.
  run::Experiment e =
      parse(kHopfield, {"hopfield.lagrangian=relu", "hopfield.beta=2", "record.states=false"});
  const std::string r = e.document().resolved_text();
  EXPECT_NE(r.find("lagrangian = 'relu'"), std::string::npos) << r;
  EXPECT_NE(r.find("beta = 2"), std::string::npos) << r;
  EXPECT_NE(r.find("states = false"), std::string::npos) << r;
}

TEST(Config, ResolvedConfigHasEveryDefaultAndIsAFixedPoint) {
  run::Experiment e = parse(kHopfield);
  const std::string r = e.document().resolved_text();
  for (const char* key : {"rtol = 1e-08", "atol = 1e-10", "stepper = 'dopri5'", "seed = 1",
                          "lagrangian = 'tanh'", "interval = 0.01", "factor = 100"})
    EXPECT_NE(r.find(key), std::string::npos) << key << " not in\n" << r;
  run::Experiment again = parse(r);
  EXPECT_EQ(again.document().resolved_text(), r);
}

TEST(Config, EveryShippedExperimentIsValid) {
  int n = 0;
  for (const auto& entry : fs::directory_iterator(HKAM_SOURCE_DIR "/experiments")) {
    if (entry.path().extension() != ".toml") continue;
    ++n;
    config::Document doc = config::Document::from_file(entry.path().string());
    if (doc.text().find("\ninit_from = ") != std::string::npos) {
      // Loads the result of another experiment (out/…, absent in a fresh clone): validated with
      // the lines that read that file left out, everything else as written.
      std::istringstream in(doc.text());
      std::string text, line;
      while (std::getline(in, line))
        if (line.rfind("init_from = ", 0) != 0 && line.rfind("file = \"../out/", 0) != 0 &&
            line.rfind("sigma = \"file\"", 0) != 0)
          text += line + "\n";
      doc = config::Document::from_string(text, entry.path().string());
    }
    // network configs (a [network] table) are validated by the network runner, training configs
    // (a [train] table) by `hkam train`'s reader (which also reads their data files)
    const auto valid = [](config::Document d) {
      if (run::is_network_config(d))
        run::validate_network(d);
      else if (d.root().has("train"))
        run::read_train_spec(std::move(d));
      else
        run::Experiment{std::move(d)};
    };
    if (!doc.root().has("sweep")) {
      EXPECT_NO_THROW(valid(doc)) << entry.path();
      continue;
    }
    // A sweep: every one of its runs is a valid experiment.
    const run::SweepPlan plan = run::expand_sweep(doc);
    EXPECT_GE(plan.points.size(), 2u) << entry.path();
    for (const auto& p : plan.points) {
      config::Document d = doc;
      for (std::size_t k = 0; k < p.sets.size(); ++k) d.set(p.sets[k], p.origins[k]);
      d.erase("sweep");
      EXPECT_NO_THROW(valid(d)) << entry.path() << " run " << p.name;
    }
  }
  EXPECT_GE(n, 10);
}

TEST(Sweep, ExpandsGridZipCasesAndReplicatesInOrder) {
  config::Document doc = config::Document::from_string(R"(seed = 9
[sweep]
replicates = 2
[sweep.grid]
b.x = [1, 2]
[sweep.zip]
c = [0.5, 1.0]
d = ["u", "v"]
[[sweep.cases]]
name = "first"
e.f = true
[[sweep.cases]]
e.g = [1, 2]
)",
                                                       "s.toml");
  const run::SweepPlan plan = run::expand_sweep(doc);
  EXPECT_FALSE(doc.root().has("sweep"));  // removed from the base config
  ASSERT_EQ(plan.points.size(), 2u * 2u * 2u * 2u);
  EXPECT_EQ(plan.columns, (std::vector<std::string>{"case", "b.x", "c", "d", "e.f", "e.g"}));
  EXPECT_EQ(plan.points[0].name, "x=1-c=0.5-d=u-first-rep0");
  EXPECT_EQ(plan.points[1].name, "x=1-c=0.5-d=u-first-rep1");
  EXPECT_EQ(plan.points[3].name, "x=1-c=0.5-d=u-g=_1,2_-rep1");
  EXPECT_EQ(plan.points[15].name, "x=2-c=1-d=v-g=_1,2_-rep1");
  EXPECT_EQ(plan.points[2].sets,
            (std::vector<std::string>{"b.x=1", "c=0.5", "d='u'", "e.g=[ 1, 2 ]",
                                      "seed=" + std::to_string(run::sweep_seed(9, 2))}));
  EXPECT_EQ(plan.points[5].sets[1], "c=1.0");  // a float stays a float
  for (std::size_t k = 0; k < plan.points.size(); ++k) {
    EXPECT_EQ(plan.points[k].seed, run::sweep_seed(9, k));
    EXPECT_EQ(plan.points[k].replicate, static_cast<long>(k % 2));
  }
  EXPECT_NE(run::sweep_seed(9, 0), run::sweep_seed(9, 1));
  EXPECT_LT(run::sweep_seed(9, 0), 1ull << 31);
}

TEST(Sweep, RejectsBadTablesWithTheirLines) {
  auto message = [](const std::string& text) {
    config::Document doc = config::Document::from_string(text, "s.toml");
    try {
      run::expand_sweep(doc);
    } catch (const config::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message("[sweep.grid]\na = 3\n"),
            "s.toml:2:5: sweep.grid.a: expected an array of the values to sweep a over, got one "
            "value (write a = [a, b, ...])");
  EXPECT_EQ(message("[sweep.zip]\na = [1, 2]\nb = [1]\n"),
            "s.toml:3:6 (sweep.zip.b): expected 2 values like a (zip varies its keys together), "
            "got 1");
  EXPECT_EQ(message("[sweep]\nseeds = [1]\n[sweep.grid]\nseed = [1, 2]\n"),
            "s.toml:2:10 (sweep.seeds): seed is already swept at s.toml:4:9 (sweep.grid.seed)");
  EXPECT_NE(message("[sweep]\nreplicate = 3\n").find("did you mean 'replicates'"),
            std::string::npos);
  EXPECT_NE(message("[sweep]\n").find("nothing to sweep"), std::string::npos);
  EXPECT_NE(message("a = 1\n").find("no [sweep] table"), std::string::npos);
}

// ---- runs ----

class RunDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("hkam_test_config_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  run::RunReport run(const std::string& text, const std::vector<std::string>& sets = {},
                     bool force = false) {
    run::Experiment e = parse(text, sets);
    run::RunOptions o;
    o.output = (dir_ / "trace.h5").string();
    o.force = force;
    o.quiet = true;
    return e.run(o);
  }
  fs::path dir_;
};

TEST_F(RunDir, NeverOverwritesWithoutForce) {
  const run::RunReport r = run(kHopfield);
  const auto size = fs::file_size(r.output);
  const auto time = fs::last_write_time(r.output);
  EXPECT_THROW(run(kHopfield), std::runtime_error);
  EXPECT_EQ(fs::file_size(r.output), size);
  EXPECT_EQ(fs::last_write_time(r.output), time);
  EXPECT_NO_THROW(run(kHopfield, {}, true));
}

TEST_F(RunDir, HebbianRetrievalBelowCapacityRecoversEveryCuedPattern) {
  // P/N = 0.05 < 0.138: cues with 15 % of the units flipped fall back to their pattern.
  const std::string cfg = R"(
seed = 4
[model]
kind = "hopfield"
[hopfield]
units = 400
beta = 4.0
[patterns]
count = 20
[initial]
amplitude = 0.5
flip = 0.15
[integrator]
t_end = 40.0
[stop]
converged = 1e-8
)";
  for (int mu : {0, 7, 19}) {
    const run::RunReport r = run(cfg, {"initial.pattern=" + std::to_string(mu)}, true);
    ASSERT_EQ(r.final_observables[0].first, "overlap[" + std::to_string(mu) + "] (cue)");
    EXPECT_LT(r.first_observables[0].second, 0.75);
    EXPECT_EQ(r.final_observables[0].second, 1.0) << "pattern " << mu;
    EXPECT_TRUE(r.audit.monotone());
    EXPECT_EQ(r.summary.end_reason, EndReason::Converged);
  }
  // Far above capacity (P/N = 0.5) the same cue does not retrieve its pattern.
  const run::RunReport over = run(cfg, {"patterns.count=200"}, true);
  EXPECT_LT(over.final_observables[0].second, 0.9);
}

TEST_F(RunDir, AContextInTheOscillatorsDecidesWhichPatternAnAmbiguousCueRetrieves) {
  // A cue half-way between patterns 0 and 1 (blend 0.5: overlap ~0.5 with each); oscillators set
  // from pattern c add (alpha/kappa_H) xi^c xi^cT to the weights: pattern c is retrieved.
  const std::string cfg = R"(
seed = 8
[model]
kind = "hopfield_kuramoto"
[hopfield]
units = 300
beta = 4.0
[patterns]
count = 15
[kuramoto]
dim = 3
graph = "ring"
degree = 4
a = -0.05
[coupling]
alpha = 0.004
[initial]
pattern = 0
blend_pattern = 1
amplitude = 0.3
sigma = "pattern"
[integrator]
t_end = 40.0
[stop]
converged = 1e-7
)";
  for (int c : {0, 1}) {
    const run::RunReport r = run(cfg, {"initial.sigma_pattern=" + std::to_string(c)}, true);
    ASSERT_EQ(r.first_observables[0].first, "overlap[0] (cue)");
    EXPECT_NEAR(r.first_observables[0].second, 0.5, 0.1);  // the cue is ambiguous
    ASSERT_EQ(r.final_observables[1].first, "max overlap");
    EXPECT_GT(r.final_observables[1].second, 0.95);
    double best = -1;
    for (const auto& [name, v] : io::read_run_record(r.output).numbers)
      if (name == "best_pattern") best = v;
    EXPECT_EQ(best, c) << "context " << c;
    EXPECT_TRUE(r.audit.monotone());
  }
}

double summary_value(const std::string& trace, const std::string& name) {
  for (const auto& [k, v] : io::read_run_record(trace).numbers)
    if (k == name) return v;
  return std::numeric_limits<double>::quiet_NaN();
}

TEST_F(RunDir, SharedRotationGivesARelativeEquilibriumAndTheRingTwoAntipodalClusters) {
  const std::string cfg = R"(
seed = 6
[model]
kind = "kuramoto"
[kuramoto]
oscillators = 60
dim = 3
a = -0.05
omega_scale = 1.0
[integrator]
t_end = 60.0
rtol = 1e-10
atol = 1e-12
)";
  const run::RunReport r = run(cfg, {}, true);
  EXPECT_EQ(summary_value(r.output, "clusters"), 1.0);
  EXPECT_GT(summary_value(r.output, "speed"), 0.1);             // still rotating
  EXPECT_LT(summary_value(r.output, "similarity_rate"), 1e-9);  // every s_ij frozen
  const run::RunReport ring =
      run(cfg,
          {"kuramoto.oscillators=20", "kuramoto.graph=\"ring\"", "kuramoto.degree=2",
           "kuramoto.a=1.0", "kuramoto.omega_scale=0.0", "integrator.t_end=200.0"},
          true);
  EXPECT_EQ(summary_value(ring.output, "clusters"), 2.0);
  EXPECT_NEAR(ring.energy_last, -20.0, 1e-8);  // every ring edge antipodal: A * M * (-1)
}

TEST_F(RunDir, OscillatorsCorrectTheWeightsWithALowRankTermAndBindCoActiveUnits) {
  const std::string cfg = R"(
seed = 12
[model]
kind = "hopfield_kuramoto"
[hopfield]
units = 120
beta = 4.0
[patterns]
count = 6
[kuramoto]
dim = 3
graph = "ring"
degree = 4
a = -0.05
omega_scale = 0.5
[coupling]
alpha = 0.004
[initial]
amplitude = 0.5
flip = 0.15
[integrator]
t_end = 30.0
)";
  const run::RunReport r = run(cfg, {}, true);
  EXPECT_LE(summary_value(r.output, "correction_rank"), 3.0);
  EXPECT_GE(summary_value(r.output, "correction_rank"), 1.0);
  EXPECT_LT(std::abs(summary_value(r.output, "binding_initial")), 0.1);
  EXPECT_GT(summary_value(r.output, "binding"), 0.5);
  const run::RunReport off = run(cfg, {"coupling.alpha=0.0"}, true);
  EXPECT_EQ(summary_value(off.output, "correction_rank"), 0.0);
  EXPECT_LT(std::abs(summary_value(off.output, "binding")), 0.1);
}

// Classical Kuramoto (D = 2, complete graph, coupling K/N) with Lorentzian frequencies of
// half-width γ: r = √(1 − 2γ/K) above K_c = 2γ, r ≈ 0 below (Kuramoto 1975; N → ∞).
// K is given as kuramoto.coupling_k, so this also checks that it means A = −K/M.
TEST_F(RunDir, LorentzianKuramotoFollowsTheAnalyticOrderParameter) {
  const double gamma = 0.5;
  auto r_of = [&](double k) {
    const std::string cfg = R"(
[model]
kind = "kuramoto"
[kuramoto]
oscillators = 500
dim = 2
frequencies = "lorentzian"
frequency_width = 0.5
frequency_sampling = "quantiles"
[integrator]
t_end = 40.0
rtol = 1e-5
atol = 1e-7
[record]
interval = 1.0
states = false
)";
    const run::RunReport r = run(cfg, {"kuramoto.coupling_k=" + std::to_string(k)}, true);
    EXPECT_FALSE(r.guarantee.guaranteed);  // per-oscillator frequencies: not a gradient flow
    return r.final_observables.back().second;
  };
  const double r3 = r_of(3.0), r2 = r_of(2.0), r_below = r_of(0.6);
  EXPECT_NEAR(r3, std::sqrt(1 - 2 * gamma / 3.0), 0.04);
  EXPECT_NEAR(r2, std::sqrt(1 - 2 * gamma / 2.0), 0.04);
  EXPECT_LT(r_below, 0.15);
}

TEST_F(RunDir, TraceHoldsConfigModelAndSummary) {
  const run::RunReport r = run(kHopfield + "[patterns]\ncount = 3\n");
  io::Id f = io::open_file_read(r.output);
  EXPECT_EQ(io::get_attr_string(f.get(), "config_toml").value_or(""),
            kHopfield + "[patterns]\ncount = 3\n");
  EXPECT_NE(io::get_attr_string(f.get(), "config_resolved").value_or("").find("rtol = 1e-08"),
            std::string::npos);
  EXPECT_EQ(io::get_attr_string(f.get(), "created_utc").value_or("").size(), 20u);
  std::vector<hsize_t> shape;
  io::read_doubles(f.get(), "trace/observables/overlap", &shape);
  EXPECT_EQ(shape, (std::vector<hsize_t>{101, 3}));
  EXPECT_EQ(io::read_doubles(f.get(), "model/patterns").size(), 60u);
  io::Id s = io::open_group(f.get(), "summary");
  EXPECT_EQ(io::get_attr_string(s.get(), "end_reason").value_or(""), "t_end");
}

}  // namespace
}  // namespace hkam
