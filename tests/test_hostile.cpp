// Hostile input (docs/hostile-input.md): every class of defect found by trying hkam as a hostile
// user would, with the input that exposed it. Each test fails on the code before the fix.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>

#include "config/reader.hpp"
#include "hkam/hkam.hpp"
#include "io/h5.hpp"
#include "io/trace.hpp"
#include "run/experiment.hpp"
#include "run/network_run.hpp"
#include "run/sweep.hpp"
#include "support/configs.hpp"

namespace hkam {
namespace {

namespace fs = std::filesystem;

const std::string& kHopfield = test::kSmallHopfieldConfig;

config::Document doc_of(const std::string& text, const std::vector<std::string>& sets) {
  config::Document doc = config::Document::from_string(text, "cfg.toml");
  for (const auto& s : sets) doc.set(s);
  return doc;
}

// The error a config raises when validated as `hkam run` / `hkam sweep` would ("" if none).
std::string error_of(const std::string& text, const std::vector<std::string>& sets = {}) {
  try {
    config::Document doc = doc_of(text, sets);
    if (run::is_network_config(doc))
      run::validate_network(doc);
    else if (doc.root().has("sweep"))
      run::expand_sweep(doc);
    else
      run::Experiment e(std::move(doc));
  } catch (const config::ConfigError& e) {
    return e.what();
  }
  return "";
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

io::Id open_rw(const fs::path& p) {
  return io::Id(H5Fopen(p.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose, "open " + p.string());
}

// A folder of this process for the test's files, removed when the process exits.
fs::path scratch(const std::string& name) {
  static const struct Dir {
    fs::path path = fs::temp_directory_path() / ("hkam_hostile_" + std::to_string(getpid()));
    Dir() { fs::create_directories(path); }
    ~Dir() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  } dir;
  return dir.path / name;
}

// ---- 1. numbers out of range: every narrowing conversion is checked ----

TEST(Hostile, IntegersBeyondTheirTypeAreRefusedAtTheKey) {
  const std::string net = "[network]\nkind = \"sudoku\"\nchannels = 16\nheads = 2\n";
  EXPECT_TRUE(has(error_of(net + "steps = 3000000000\n"), "network.steps")) << "steps 3e9";
  EXPECT_TRUE(has(error_of(net + "steps = inf\n"), "network.steps"));
  const std::string obj = "[network]\nkind = \"objects\"\nchannels = 8\nheads = 2\nimsize = 8\n";
  EXPECT_TRUE(has(error_of(obj + "steps = 2.7\n"), "expected an integer T, got 2.7"));
  EXPECT_TRUE(has(error_of(obj + "steps = [3000000000]\n"), "network.steps"));
  EXPECT_TRUE(has(error_of("[network]\nkind = \"objects\"\nchannels = 8\nheads = 2\n"
                           "imsize = 4294967296\n"),
                  "network.imsize: expected an integer in [4, 2147483647]"));  // at least psize
  EXPECT_TRUE(has(error_of(kHopfield, {"hopfield.units=4294967297"}), "hopfield.units"));
}

TEST(Hostile, APerBlockConnectivityListIsCheckedElementByElement) {
  const std::string obj =
      "[network]\nkind = \"objects\"\nchannels = 8\nheads = 2\nimsize = 8\n"
      "blocks = 2\n";
  EXPECT_TRUE(has(error_of(obj + "connectivity = [\"conv\", \"attn\", \"conv\"]\n"),
                  "network.connectivity: expected one J or one per block (2), got 3"));
  EXPECT_TRUE(has(error_of(obj + "connectivity = [\"conv\", \"atn\"]\n"),
                  "network.connectivity: expected one of \"attn\", \"conv\" or an array of "
                  "them, got \"atn\""));
  EXPECT_TRUE(has(error_of(obj + "connectivity = [\"conv\", 3]\n"), "not a string"));
  EXPECT_TRUE(has(error_of(obj + "connectivity = []\n"), "a non-empty array"));
  // one conv block: kernel is read (and checked), heads too for the attention block
  EXPECT_TRUE(has(error_of(obj + "connectivity = [\"conv\", \"attn\"]\nkernel = 2\n"),
                  "network.kernel: expected an odd size, got 2"));
}

TEST(Hostile, AnIntegerAbove2To53ForANumberKeyIsReadAsThatNumber) {
  config::Document doc = doc_of(kHopfield, {"hopfield.beta=9007199254740993"});
  run::Experiment e(std::move(doc));
  // It used to be read from an empty optional (6.95e-310); now it is the nearest double.
  EXPECT_TRUE(has(e.document().resolved_text(), "beta = 9007199254740993"))
      << e.document().resolved_text();
}

TEST(Hostile, AFixedStepCountBeyondMaxStepsIsRefused) {
  const std::string msg = error_of(
      kHopfield, {"integrator.stepper=\"rk4\"", "integrator.dt=1e-19", "record.interval=0.5"});
  EXPECT_TRUE(has(msg, "integrator.dt: t_end / dt = 1e+19 fixed steps exceed max_steps")) << msg;
}

// ---- 2. infinity never passes a range and never silences the audit ----

TEST(Hostile, InfinityAndNaNAreRefusedByEveryRange) {
  for (const char* set : {"integrator.rtol=inf", "audit.factor=inf", "integrator.t_end=inf",
                          "hopfield.bias=inf", "hopfield.bias=nan", "hopfield.bias=[0.1, -inf]",
                          "integrator.t_end=nan", "audit.rtol=+inf"}) {
    const std::string msg = error_of(kHopfield, {set});
    EXPECT_TRUE(has(msg, "(finite)") || has(msg, "expected a number")) << set << ": " << msg;
  }
}

TEST(Hostile, AnAuditToleranceThatCouldHideARiseIsRefused) {
  EXPECT_TRUE(has(error_of(kHopfield, {"audit.factor=1e308", "audit.rtol=1e308"}),
                  "is above 0.01, the largest that cannot hide a genuine rise"));
  EXPECT_TRUE(
      has(error_of(kHopfield, {"integrator.rtol=1e-3"}), "audit.rtol defaults to integrator.rtol"));
  EXPECT_EQ(error_of(kHopfield, {"integrator.rtol=1e-3", "audit.rtol=1e-4"}), "");
  EXPECT_THROW(EnergyAudit{std::numeric_limits<double>::infinity()}, std::invalid_argument);
  EXPECT_THROW(EnergyAudit(1e308, 1e308).add(0, 0, 1), std::invalid_argument);
  EXPECT_THROW(EnergyAudit{std::nan("")}, std::invalid_argument);
  EXPECT_THROW(EnergyAudit(1e-8, 100, std::numeric_limits<double>::infinity()).add(0, 0, 1),
               std::invalid_argument);
  EXPECT_NO_THROW(EnergyAudit(1e-4, 100).add(0, 0, 1));
}

TEST(Hostile, CheckEnergyRefusesATraceWhoseToleranceIsInfinite) {
  const fs::path p = scratch("inf_tol.h5");
  run::Experiment e(doc_of(kHopfield, {}));
  run::RunOptions o;
  o.output = p.string();
  o.force = o.quiet = true;
  e.run(o);
  {
    io::Id f = open_rw(p);
    io::Id ds(H5Dopen2(f.get(), "audit/energy", H5P_DEFAULT), H5Dclose, "open");
    io::set_attr(ds.get(), "tolerance", std::numeric_limits<double>::infinity());
  }
  try {
    io::check_trace_energy(p.string());
    ADD_FAILURE() << "an infinite tolerance was accepted";
  } catch (const std::invalid_argument& err) {
    EXPECT_TRUE(has(err.what(), "must be finite and at most 0.01")) << err.what();
  }
}

// ---- 3. a non-finite energy ends the run non_finite, not as an audit violation ----

TEST(Hostile, ANonFiniteEnergyEndsTheRunNonFinite) {
  const fs::path p = scratch("nonfinite.h5");
  run::Experiment e(doc_of(kHopfield, {"hopfield.beta=1e308"}));
  run::RunOptions o;
  o.output = p.string();
  o.force = o.quiet = true;
  const run::RunReport r = e.run(o);
  EXPECT_EQ(r.summary.end_reason, EndReason::NonFinite);
  EXPECT_EQ(r.audit.violations, 0);
  EXPECT_EQ(run::exit_status(r), 1);
  EXPECT_EQ(io::read_run_record(p.string()).end_reason, "non_finite");
}

// ---- 4. resources: estimated before anything is allocated or written ----

TEST(Hostile, AModelThatCannotFitIsRefusedAtItsKey) {
  std::string msg = error_of(kHopfield, {"hopfield.units=1000000000"});
  EXPECT_TRUE(has(msg, "hopfield.units: the run would need about 16 EB of memory") &&
              has(msg, "limits.memory_gb"))
      << msg;
  msg = error_of(
      "[model]\nkind = \"kuramoto\"\n[kuramoto]\noscillators = 10\ndim = 1000000\n"
      "[integrator]\nt_end = 1\n",
      {"limits.memory_gb=0.01"});
  EXPECT_TRUE(has(msg, "kuramoto.dim: the run would need") && has(msg, "(limits.memory_gb)"))
      << msg;
  // The override works: the same size is accepted when the limit is raised.
  EXPECT_EQ(error_of(kHopfield, {"hopfield.units=2000", "limits.memory_gb=1"}), "");
  EXPECT_TRUE(
      has(error_of(kHopfield, {"hopfield.units=2000", "limits.memory_gb=0.01"}), "hopfield.units"));
  msg = error_of("[network]\nkind = \"objects\"\nchannels = 1000000\nheads = 2\n");
  EXPECT_TRUE(has(msg, "network.channels: the run would need")) << msg;
  msg = error_of(
      "[network]\nkind = \"objects\"\nchannels = 8\nheads = 2\n[input]\nbatch = 100000000\n");
  EXPECT_TRUE(has(msg, "input.batch: the run would need")) << msg;
}

TEST(Hostile, AnAbsurdOutputIsRefusedBeforeWriting) {
  const std::string msg = error_of(kHopfield, {"record.interval=1e-9"});
  EXPECT_TRUE(has(msg, "record.interval: the run would need about") && has(msg, "limits.output_gb"))
      << msg;
  EXPECT_EQ(error_of(kHopfield, {"record.interval=1e-6", "limits.output_gb=3"}), "");
  // Adaptive runs: up to max_steps audit rows of 16 bytes are counted too.
  EXPECT_TRUE(has(error_of(kHopfield, {"integrator.max_steps=2000000000"}),
                  "integrator.max_steps: the run would need about 32 GB of output"));
}

TEST(Hostile, SweepsTooLargeToRunAreRefusedWithoutWrapping) {
  EXPECT_TRUE(has(error_of(kHopfield + "[sweep]\nreplicates = 1000000000\n"),
                  "sweep.replicates: the sweep has 1e+09 runs"));
  // 2^62 × 4 used to wrap around to "0 runs"; replicates are now at most 2^31 - 1 and the
  // product is counted without wrapping.
  EXPECT_TRUE(has(error_of(kHopfield + "[sweep]\nreplicates = 4611686018427387904\n"),
                  "sweep.replicates: expected an integer in [1, 2147483647]"));
  EXPECT_TRUE(has(error_of(kHopfield + "[sweep]\nreplicates = 2147483647\n"
                                       "[sweep.grid]\nhopfield.beta = [1, 2, 3, 4]\n"),
                  "sweep.replicates: the sweep has 8.58993e+09 runs"));
}

TEST(Hostile, ADatasetDeclaringMoreThanMemoryIsNotRead) {
  const fs::path p = scratch("huge.h5");
  {
    io::Id f = io::create_file(p.string());
    hsize_t dims[1] = {hsize_t{1} << 36}, maxdims[1] = {H5S_UNLIMITED}, chunk[1] = {1024};
    io::Id space(H5Screate_simple(1, dims, maxdims), H5Sclose, "space");
    io::Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, "dcpl");
    H5Pset_chunk(dcpl.get(), 1, chunk);
    io::Id ds(
        H5Dcreate2(f.get(), "e", H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
        H5Dclose, "create");
  }
  io::Id f = io::open_file_read(p.string());
  try {
    io::read_doubles(f.get(), "e");
    ADD_FAILURE() << "a 2^36-element dataset was read";
  } catch (const io::H5Error& e) {
    EXPECT_TRUE(has(e.what(), "declares 68719476736 values")) << e.what();
  }
}

// ---- 5. traces edited by others: strings of every kind ----

TEST(Hostile, AttributesAreReadInEveryStringFlavourAndShape) {
  const fs::path p = scratch("strings.h5");
  io::Id f = io::create_file(p.string());
  auto put = [&](const char* name, bool vlen, H5T_cset_t cset, const std::string& v) {
    io::Id type(H5Tcopy(H5T_C_S1), H5Tclose, "type");
    H5Tset_size(type.get(), vlen ? H5T_VARIABLE : v.size());
    H5Tset_cset(type.get(), cset);
    io::Id space(H5Screate(H5S_SCALAR), H5Sclose, "space");
    io::Id a(H5Acreate2(f.get(), name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
             "attr");
    const char* c = v.c_str();
    H5Awrite(a.get(), type.get(), vlen ? static_cast<const void*>(&c) : c);
  };
  put("vlen_utf8", true, H5T_CSET_UTF8, "Kuramoto – ü");  // h5py's default for str
  put("vlen_ascii", true, H5T_CSET_ASCII, "abc");
  put("fixed_utf8", false, H5T_CSET_UTF8, "σ ∈ S²");
  put("fixed_ascii", false, H5T_CSET_ASCII, "xyz");
  EXPECT_EQ(io::get_attr_string(f.get(), "vlen_utf8").value_or(""), "Kuramoto – ü");
  EXPECT_EQ(io::get_attr_string(f.get(), "vlen_ascii").value_or(""), "abc");
  EXPECT_EQ(io::get_attr_string(f.get(), "fixed_utf8").value_or(""), "σ ∈ S²");
  EXPECT_EQ(io::get_attr_string(f.get(), "fixed_ascii").value_or(""), "xyz");
  // An array where one value is expected is an error, not a read past the buffer.
  const double three[3] = {1, 2, 3};
  hsize_t n = 3;
  io::Id space(H5Screate_simple(1, &n, nullptr), H5Sclose, "space");
  io::Id a(H5Acreate2(f.get(), "array", H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT),
           H5Aclose, "attr");
  H5Awrite(a.get(), H5T_NATIVE_DOUBLE, three);
  EXPECT_THROW(io::get_attr_double(f.get(), "array"), io::H5Error);
}

// ---- 6. files named by configs, checkpoints, outputs ----

TEST(Hostile, FileValuesAreValidated) {
  const fs::path pat = scratch("patterns.txt"), w = scratch("w.txt"), edges = scratch("edges.txt");
  std::ofstream(pat) << "1 -1 1 -1\n1 1 0.5 -1\n";
  std::ofstream(w) << "0 nan\nnan 0\n";
  std::ofstream(edges) << "0 1 inf\n1 2 0.5\n";
  const std::string hop =
      "[model]\nkind = \"hopfield\"\n[hopfield]\nunits = 4\n[integrator]\n"
      "t_end = 1\n";
  EXPECT_TRUE(has(error_of(hop, {"patterns.file=\"" + pat.string() + "\""}),
                  "pattern 1, entry 2 is 0.5: patterns are ±1"));
  EXPECT_TRUE(has(error_of(hop, {"hopfield.units=2", "hopfield.weights=\"file\"",
                                 "hopfield.weights_file=\"" + w.string() + "\""}),
                  "'nan' is not a finite number"));
  EXPECT_TRUE(has(error_of("[model]\nkind = \"kuramoto\"\n[kuramoto]\noscillators = 3\n"
                           "graph = \"file\"\n[integrator]\nt_end = 1\n",
                           {"kuramoto.edges_file=\"" + edges.string() + "\""}),
                  "value 'inf' is not a finite number"));
  EXPECT_TRUE(
      has(error_of(hop, {"hopfield.weights=\"file\"", "hopfield.weights_file=\"/dev/zero\""}),
          "not a regular file"));
}

// Runs a small checkpointed rk4 run into `name`, removes its /summary (as if it had been killed),
// lets `edit` change the file, then resumes it: the message of the exception resume throws ("" if
// it resumed).
std::string resume_after_edit(const std::string& name, const std::function<void(hid_t)>& edit) {
  const fs::path p = scratch(name);
  run::Experiment e(
      doc_of(kHopfield, {"integrator.stepper=\"rk4\"", "record.checkpoint_seconds=1e-9"}));
  run::RunOptions o;
  o.output = p.string();
  o.force = o.quiet = true;
  e.run(o);
  {
    io::Id f = open_rw(p);
    H5Ldelete(f.get(), "summary", H5P_DEFAULT);
    edit(f.get());
  }
  const io::RunRecord rec = io::read_run_record(p.string());
  EXPECT_FALSE(rec.finished);
  run::Experiment again(config::Document::from_string(rec.config_resolved, "cfg.toml"));
  try {
    again.resume(p.string(), o);
  } catch (const std::exception& err) {
    return err.what();
  }
  return "";
}

TEST(Hostile, ResumeRefusesACheckpointWithANaNTime) {
  const std::string msg = resume_after_edit("ck.h5", [](hid_t f) {
    io::Id top(H5Gopen2(f, "checkpoint", H5P_DEFAULT), H5Gclose, "open");
    const std::string slot = io::get_attr_string(top.get(), "current").value_or("a");
    io::Id g(H5Gopen2(top.get(), slot.c_str(), H5P_DEFAULT), H5Gclose, "open");
    io::set_attr(g.get(), "t", std::nan(""));
  });
  EXPECT_TRUE(has(msg, "checkpoint attribute t = nan is not a valid value")) << msg;
}

// Found by fuzz_trace: a dataset replaced by one of another width was copied row by row past the
// end of what was read (heap overflow) when the run was resumed.
TEST(Hostile, ResumeRefusesADatasetOfAnotherShape) {
  const std::string msg = resume_after_edit("shape.h5", [](hid_t f) {
    H5Ldelete(f, "trace/x", H5P_DEFAULT);
    const std::vector<double> narrow(200, 0.5);  // 100 rows of 2 values, the run writes 20
    io::write_array(f, "trace/x", narrow.data(), {100, 2});
  });
  EXPECT_TRUE(has(msg, "/trace/x does not have the shape this run writes")) << msg;
}

// Found by fuzz_trace (an input that wrote 24 GB before it was stopped): a checkpoint claiming
// 10^12 recorded states, over datasets that merely *declare* that many rows (no storage, reads
// return the fill value), was copied row by row into the resumed trace until the disk was full.
TEST(Hostile, ResumeRefusesACheckpointClaimingMoreRowsThanTheRunRecords) {
  const std::string msg = resume_after_edit("rows.h5", [](hid_t f) {
    io::Id top(H5Gopen2(f, "checkpoint", H5P_DEFAULT), H5Gclose, "open");
    const std::string slot = io::get_attr_string(top.get(), "current").value_or("a");
    io::Id g(H5Gopen2(top.get(), slot.c_str(), H5P_DEFAULT), H5Gclose, "open");
    io::set_attr(g.get(), "rows", 1e12);
    // trace/time replaced by a chunked dataset declaring 10^12 rows and storing none
    H5Ldelete(f, "trace/time", H5P_DEFAULT);
    const hsize_t dims[1] = {1000000000000ULL}, maxdims[1] = {H5S_UNLIMITED}, chunk[1] = {1024};
    io::Id space(H5Screate_simple(1, dims, maxdims), H5Sclose, "space");
    io::Id plist(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, "plist");
    H5Pset_chunk(plist.get(), 1, chunk);
    io::Id ds(H5Dcreate2(f, "trace/time", H5T_NATIVE_DOUBLE, space.get(), H5P_DEFAULT, plist.get(),
                         H5P_DEFAULT),
              H5Dclose, "create");
  });
  EXPECT_TRUE(has(msg, "the checkpoint claims 1000000000000 recorded states")) << msg;
  EXPECT_TRUE(has(msg, "the trace was changed after it was written")) << msg;
}

TEST(Hostile, TheOutputIsNeverAnInputOfTheSameRun) {
  const fs::path cfg = scratch("run.toml");
  std::ofstream(cfg) << kHopfield;
  run::Experiment e(config::Document::from_file(cfg.string()));
  run::RunOptions o;
  o.output = cfg.string();
  o.force = o.quiet = true;
  EXPECT_THROW(e.run(o), std::runtime_error);
  std::ifstream in(cfg);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, kHopfield);  // untouched
}

// ---- 7. messages ----

TEST(Hostile, AMisspeltRequiredKeyGetsADidYouMean) {
  const std::string msg = error_of("[model]\nkind = \"hopfield\"\n[hopfield]\nunitz = 20\n");
  EXPECT_TRUE(has(msg, "hopfield.units: missing required key") &&
              has(msg, "did you mean it as 'unitz' (cfg.toml:4:9)?"))
      << msg;
}

TEST(Hostile, AFolderAsConfigSaysSo) {
  try {
    config::Document::from_file(fs::temp_directory_path().string());
    ADD_FAILURE();
  } catch (const config::ConfigError& e) {
    EXPECT_TRUE(has(e.what(), "is a folder, not a config file")) << e.what();
  }
}

TEST(Hostile, AllErrorsOfAFileAreReportedInLineOrder) {
  const std::string msg = error_of(R"([model]
kind = "hopfield"
[hopfield]
units = 20
beta = -1
lagrangain = "relu"
[integrator]
t_end = 1.0
rtol = "tight"
[record]
states = 3
)");
  const auto a = msg.find("cfg.toml:5:8: hopfield.beta"), b = msg.find("cfg.toml:6:"),
             c = msg.find("cfg.toml:9:8: integrator.rtol"),
             d = msg.find("cfg.toml:11:10: record.states");
  EXPECT_TRUE(has(msg, "4 errors:")) << msg;
  EXPECT_TRUE(a < b && b < c && c < d && d != std::string::npos) << msg;
}

TEST(Hostile, ASweptSeedThatIsNotANumberIsAConfigError) {
  const std::string msg = error_of(kHopfield + "[sweep.grid]\nseed = [\"abc\"]\n");
  EXPECT_TRUE(has(msg, "(sweep.grid.seed): seed: expected an integer >= 0, got 'abc'")) << msg;
}

// ---- 8. settings without effect ----

TEST(Hostile, ASharedOmegaBesidePerOscillatorOnesIsRefused) {
  const std::string k =
      "[model]\nkind = \"kuramoto\"\n[kuramoto]\noscillators = 4\n"
      "[integrator]\nt_end = 1\n";
  EXPECT_TRUE(has(
      error_of(k, {"kuramoto.omega_scale=1", "kuramoto.omega_per_oscillator=1", "kuramoto.dim=3"}),
      "kuramoto.omega_scale: a shared Ω has no effect"));
  EXPECT_TRUE(has(error_of(k, {"kuramoto.omega=[[0, 1], [-1, 0]]",
                               "kuramoto.frequencies=\"normal\"", "kuramoto.frequency_width=0.1"}),
                  "kuramoto.omega: a shared Ω has no effect"));
  EXPECT_EQ(
      error_of(k, {"kuramoto.omega_scale=0", "kuramoto.omega_per_oscillator=1", "kuramoto.dim=3"}),
      "");
}

}  // namespace
}  // namespace hkam
