#include "run/network_run.hpp"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <variant>

#include "hkam/akorn/networks.hpp"
#include "hkam/observe/energy_audit.hpp"
#include "hkam/random.hpp"
#include "io/akorn_weights.hpp"
#include "io/h5.hpp"
#include "run/network_outputs.hpp"
#include "run/network_spec.hpp"
#include "run/overloaded.hpp"
#include "run/signals.hpp"

namespace hkam::run {

namespace fs = std::filesystem;
using config::Section;
using namespace hkam::akorn;

namespace {

/// One of the three networks of the reference; adding a kind adds an alternative here, its
/// config to NetConfig and a write_outputs overload.
template <class T>
using AnyNet = std::variant<ObjectNet<T>, SudokuNet<T>, CifarNet<T>>;

template <class T>
AnyNet<T> make_network(const NetSpec& n) {
  return std::visit(
      Overloaded{
          [](const ObjectNetConfig& c) { return AnyNet<T>(std::in_place_type<ObjectNet<T>>, c); },
          [](const SudokuNetConfig& c) { return AnyNet<T>(std::in_place_type<SudokuNet<T>>, c); },
          [](const CifarNetConfig& c) { return AnyNet<T>(std::in_place_type<CifarNet<T>>, c); }},
      n.net);
}

// The weights: from network.weights (checked against the network's parameters) or drawn from
// the seed; the config's gamma overrides the file's only when written in the config.
ParamStore load_weights(const NetSpec& n, const std::vector<ParamSpec>& specs, std::uint64_t seed) {
  ParamStore params;
  if (n.weights.empty()) {
    params = ParamStore::initialise(specs, Rng::derive(seed, kNetWeights));
  } else {
    params = io::load_akorn_weights(n.weights);
    const auto problems = params.check(specs);
    if (!problems.empty()) {
      std::string msg = fmt::format(
          "the weight file {} does not fit the network of the config ({} problem{}):", n.weights,
          problems.size(), problems.size() == 1 ? "" : "s");
      for (std::size_t i = 0; i < problems.size() && i < 20; ++i) msg += "\n  " + problems[i];
      if (problems.size() > 20) msg += fmt::format("\n  ... and {} more", problems.size() - 20);
      throw std::runtime_error(msg);
    }
  }
  if (n.gamma_given) params.set("gamma", {1}, {n.gamma()});
  if (n.symmetrize)  // not in the reference: makes each conv J a symmetric operator
    for (int l = 0; l < n.blocks(); ++l) {
      const std::string name = fmt::format("layers.{}.0.connectivity.weight", l);
      const auto shape = params.all().at(name).shape;
      params.set(name, shape, symmetrized_conv_weight(params.all().at(name)));
    }
  return params;
}

// The inputs, the chains they become and their initial oscillators (read before any file is
// written; file errors name the file).
template <class T>
NetRun<T> prepare_run(const NetSpec& n, const AnyNet<T>& net, std::uint64_t seed,
                      const NetInputs* given = nullptr) {
  NetRun<T> run(n);
  try {
    run.in = given ? *given : read_inputs(n, seed);
  } catch (const io::H5Error& e) {
    throw std::runtime_error(
        fmt::format("cannot read the input file {}: {}", n.input_file, e.what()));
  }
  // Sudoku: board b, vote k → chain b·votes + k; CIFAR: image b, noise draw k likewise
  run.votes = n.chains_per_input();
  run.chains = run.in.batch * run.votes;
  run.grid = std::visit([&](const auto& m) { return m.grid(run.chains); }, net);
  const Index C = n.channels(), P = run.grid.positions();
  try {
    run.noise = noise_for<T>(n, C, run.grid.columns(), run.chains, P, seed);
    // Up-tiling's r² crops per image, crop t = (b·r + hi)·r + wi: `uptile_noise` of the noise
    // file when it has one, else from the seed.
    if (n.objects_config() && n.clusters > 0 && n.uptile > 1) {
      const Index crops = run.in.batch * n.uptile * n.uptile;
      run.uptile_noise =
          noise_for<T>(n, C, crops * P, crops, P, seed, "uptile_noise", kNetNoise + 1, false);
    }
  } catch (const io::H5Error& e) {
    throw std::runtime_error(
        fmt::format("cannot read the noise file {}: {}", n.noise_file, e.what()));
  }
  return run;
}

// The output file, created as OUT.partial with the provenance (refuses to overwrite an input,
// or an existing OUT without --force).
io::Id create_output(const NetSpec& n, config::Document& doc, std::uint64_t seed,
                     const std::string& title, const RunOptions& opt, const std::string& output) {
  refuse_overwriting_input(doc, output);
  if (fs::exists(output) && !opt.force)
    throw std::runtime_error(fmt::format("{} exists (use --force)", output));
  const std::string partial = output + ".partial";
  std::error_code ec;
  fs::remove(partial, ec);
  if (const auto dir = fs::path(output).parent_path(); !dir.empty()) fs::create_directories(dir);
  io::quiet_hdf5_errors();
  io::Id file = io::create_file(partial);
  const hid_t f = file.get();
  io::set_attr(f, "format", std::string("hkam-akorn-network"));
  write_run_attributes(f, doc, opt.command_line, seed, title);
  io::set_attr(f, "network", std::string(n.kind()));
  io::set_attr(f, "precision", n.precision);
  io::set_attr(f, "integration",
               n.continuous ? fmt::format("continuous ({})", stepper_name(n.continuous->stepper))
                            : std::string("discrete"));
  io::set_attr(f, "weights", n.weights.empty() ? std::string("random (seed)") : n.weights);
  io::set_attr(f, "end_reason", std::string("running"));
  return file;
}

// /input (images, masks, labels or boards, solutions), /initial/noise and, with
// record.weights, /weights.
template <class T>
void write_inputs(hid_t f, const NetRun<T>& run, const ParamStore& params) {
  const NetSpec& n = run.spec;
  const NetInputs& in = run.in;
  io::Id g = io::create_group(f, "input");
  const auto B = static_cast<hsize_t>(in.batch);
  if (n.kind() != "sudoku") {
    const auto side = static_cast<hsize_t>(image_size(n));
    const Mat<double> img = channels_first<double>(in.images, in.batch);
    io::write_array(g.get(), "images", img.data(), {B, 3, side, side});
    if (!in.masks.empty()) {
      std::vector<long long> m;
      for (const auto& mk : in.masks) m.insert(m.end(), mk.begin(), mk.end());
      io::write_int_array(g.get(), "masks", m, {B, side, side});
    }
    if (!in.labels.empty()) {
      std::vector<long long> lv(in.labels.begin(), in.labels.end());
      io::write_int_array(g.get(), "labels", lv, {lv.size()});
    }
  } else {
    io::write_int_array(g.get(), "boards", flat(in.boards), {B, 9, 9});
    if (in.solutions.size())
      io::write_int_array(g.get(), "solutions", flat(in.solutions), {B, 9, 9});
  }
  io::Id ini = io::create_group(f, "initial");
  put<T>(ini.get(), "noise", channels_first<T>(run.noise, run.chains),
         {static_cast<hsize_t>(run.chains), static_cast<hsize_t>(n.channels()),
          static_cast<hsize_t>(run.grid.height), static_cast<hsize_t>(run.grid.width)});
  if (n.store_weights) {
    io::Id w = io::create_group(f, "weights");
    for (const auto& [name, p] : params.all()) {
      std::vector<hsize_t> dims(p.shape.begin(), p.shape.end());
      io::write_array(w.get(), name, p.values.data(), dims);
    }
  }
  io::flush(f);
}

// Ctrl-C / SIGTERM end the run between two steps (of any block).
struct Interrupted {
  int signal;
};

/// Keeps every state_interval-th state (and the last) of each block, channels first.
template <class T>
struct StateRecorder {
  const NetSpec& n;
  Index chains;
  std::vector<std::vector<int>> steps;
  std::vector<std::vector<Mat<T>>> states;
  StateRecorder(const NetSpec& spec, Index c)
      : n(spec),
        chains(c),
        steps(static_cast<std::size_t>(spec.blocks())),
        states(static_cast<std::size_t>(spec.blocks())) {}
  StateObserver<T> observer() {
    return [this](int l, int t, const Mat<T>& x) {
      if (const int sig = SignalGuard::received()) throw Interrupted{sig};
      const auto s = static_cast<std::size_t>(l);
      if (n.store_states && (t % n.state_interval == 0 || t == n.steps(l))) {
        steps[s].push_back(t);
        states[s].push_back(channels_first<T>(x, chains));
      }
    };
  }
};

// The forward pass of each kind on the run's chains (Sudoku boards and CIFAR images repeated
// once per vote / noise draw).
template <class T>
NetworkOutput<T> forward(const ObjectNet<T>& net, const NetRun<T>& run,
                         const StateObserver<T>& observe) {
  return net.forward(run.in.images.template cast<T>(), run.noise, run.in.batch, observe);
}
template <class T>
NetworkOutput<T> forward(const SudokuNet<T>& net, const NetRun<T>& run,
                         const StateObserver<T>& observe) {
  Eigen::MatrixXi boards(run.chains, 81);
  for (Index b = 0; b < run.in.batch; ++b)
    for (int k = 0; k < run.votes; ++k) boards.row(b * run.votes + k) = run.in.boards.row(b);
  return net.forward(boards, run.noise, run.spec.test_steps, observe);
}
template <class T>
NetworkOutput<T> forward(const CifarNet<T>& net, const NetRun<T>& run,
                         const StateObserver<T>& observe) {
  const Index P0 = image_size(run.spec) * image_size(run.spec);
  Mat<T> images(3, run.chains * P0);
  for (Index b = 0; b < run.in.batch; ++b)
    for (int k = 0; k < run.votes; ++k)
      images.middleCols((b * run.votes + k) * P0, P0) =
          run.in.images.middleCols(b * P0, P0).template cast<T>();
  return net.forward(images, run.noise, run.chains, observe);
}

/// What the energy audit of the blocks found.
struct NetAudit {
  bool finite = true;
  long proxy_rises = 0, energy_rises = 0;
  bool guaranteed_rose = false, all_guaranteed = true;
};

// /layers/<l>: energies (chains × (T + 1)), their audit and the kept states.
template <class T>
NetAudit write_layers(hid_t f, const NetRun<T>& run, const AnyNet<T>& net,
                      const NetworkOutput<T>& out, const StateRecorder<T>& rec) {
  const NetSpec& n = run.spec;
  NetAudit a;
  a.finite = out.features.allFinite() && out.x.allFinite();
  // float32 energies carry rounding of ~1e-7 relative: rises below the tolerance are noise
  const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-10;
  io::Id layers = io::create_group(f, "layers");
  for (int l = 0; l < n.blocks(); ++l) {
    const auto s = static_cast<std::size_t>(l);
    const LayerEnergies& e = out.energies[s];
    io::Id g = io::create_group(layers.get(), std::to_string(l));
    const Eigen::MatrixXd pe = e.proxy.transpose(), te = e.energy.transpose();
    const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> per = pe, ter = te;
    const std::vector<hsize_t> ed{static_cast<hsize_t>(run.chains),
                                  static_cast<hsize_t>(pe.cols())};
    io::write_array(g.get(), "proxy_energy", per.data(), ed);
    io::write_array(g.get(), "energy", ter.data(), ed);
    io::set_attr(g.get(), "steps", static_cast<long long>(n.steps(l)));
    a.finite = a.finite && pe.allFinite() && te.allFinite();
    const KLayer<T>& layer =
        std::visit([&](const auto& m) -> const KLayer<T>& { return m.layer(l); }, net);
    const Guarantee gu = layer.lyapunov();
    const AuditResult ae = audit_rows(te, tolerance), ap = audit_rows(pe, tolerance, 1);
    a.energy_rises += ae.violations;
    a.proxy_rises += ap.violations;
    a.guaranteed_rose = a.guaranteed_rose || (gu.guaranteed && !ae.monotone());
    a.all_guaranteed = a.all_guaranteed && gu.guaranteed;
    io::set_attr(g.get(), "guaranteed", gu.guaranteed ? 1.0 : 0.0);
    io::set_attr(g.get(), "reason", gu.reason);
    io::set_attr(g.get(), "tolerance", tolerance);
    io::set_attr(g.get(), "energy_rises", static_cast<double>(ae.violations));
    io::set_attr(g.get(), "proxy_rises", static_cast<double>(ap.violations));
    const auto& kept = rec.states[s];
    if (n.store_states && !kept.empty()) {
      Mat<T> all(kept[0].rows(), kept[0].cols() * static_cast<Index>(kept.size()));
      for (std::size_t k = 0; k < kept.size(); ++k)
        all.middleCols(static_cast<Index>(k) * kept[0].cols(), kept[0].cols()) = kept[k];
      // the block's grid: CIFAR blocks differ in size; an object network's grid follows its
      // input (input_size), whatever grid its GTA matrices were made for
      const KLayerConfig& kc = layer.config();
      const bool objects = n.objects_config() != nullptr;
      put<T>(g.get(), "states", all,
             {static_cast<hsize_t>(kept.size()), static_cast<hsize_t>(run.chains),
              static_cast<hsize_t>(kc.channels),
              static_cast<hsize_t>(objects ? run.grid.height : kc.height),
              static_cast<hsize_t>(objects ? run.grid.width : kc.width)});
      std::vector<long long> st(rec.steps[s].begin(), rec.steps[s].end());
      io::write_int_array(g.get(), "state_steps", st, {st.size()});
    }
  }
  return a;
}

template <class T>
void print_summary(const NetRun<T>& run, const NetworkOutput<T>& out, const ParamStore& params,
                   const std::string& title, const Results& results, const std::string& output,
                   const char* who) {
  const NetSpec& n = run.spec;
  const bool sud = n.kind() == "sudoku";
  fmt::print("hkam {}: {}AKOrN {} network, {} ({} parameters, {})\n", who,
             title.empty() ? "" : title + " - ", n.kind(), n.precision, params.count(),
             n.weights.empty() ? "random weights from the seed" : n.weights);
  // Sudoku's E-vote and CIFAR's ensemble run `votes` chains per input.
  const std::string inputs =
      run.votes > 1
          ? fmt::format("{} {} x {} {} = {} chains", run.in.batch, sud ? "boards" : "images",
                        run.votes, sud ? "E-vote chains" : "noise draws", run.chains)
          : fmt::format("{} {}", run.chains, sud ? "boards" : "images");
  const int blocks = n.blocks();
  fmt::print("  input        {}; {} block{}, grid {}x{}, C = {}, n = {}\n", inputs, blocks,
             blocks == 1 ? "" : "s", run.grid.height, run.grid.width, n.channels(), n.osc_dim());
  for (int l = 0; l < blocks; ++l) {
    const auto& e = out.energies[static_cast<std::size_t>(l)];
    fmt::print(
        "  block {}      T = {}: energy {:.6g} -> {:.6g}, logged proxy {:.6g} -> {:.6g} "
        "(mean over the batch)\n",
        l, n.steps(l), e.energy.row(0).mean(), e.energy.row(e.energy.rows() - 1).mean(),
        e.proxy.row(1).mean(), e.proxy.row(e.proxy.rows() - 1).mean());
  }
  for (const auto& [k, v] : results) fmt::print("  {:<16} {:.6g}\n", k, v);
  fmt::print("output: {}\n", output);
}

template <class T>
int run_typed(const NetSpec& n, config::Document& doc, std::uint64_t seed, const std::string& title,
              const RunOptions& opt, const std::string& output, const char* who) {
  // network, weights, inputs and noise: everything checked before a file is touched
  AnyNet<T> net = make_network<T>(n);
  const ParamStore params =
      load_weights(n, std::visit([](const auto& m) { return m.specs(); }, net), seed);
  std::visit([&](auto& m) { m.load(params), m.continuous = n.continuous; }, net);
  const NetRun<T> run = prepare_run<T>(n, net, seed);

  io::Id file = create_output(n, doc, seed, title, opt, output);
  const hid_t f = file.get();
  const std::string partial = output + ".partial";
  write_inputs(f, run, params);

  // the run, interruptible between steps: the file is left as OUT.partial, end_reason
  // "interrupted", exit 128 + signal
  StateRecorder<T> recorder(n, run.chains);
  SignalGuard signals;
  const StateObserver<T> observe = recorder.observer();
  const auto t0 = std::chrono::steady_clock::now();
  std::optional<NetworkOutput<T>> result;
  try {
    result.emplace(std::visit([&](const auto& m) { return forward(m, run, observe); }, net));
  } catch (const Interrupted& stop) {
    io::set_attr(f, "end_reason", std::string("interrupted"));
    fmt::print(stderr,
               "hkam {}: interrupted by signal {}: the network run stopped; {} keeps its "
               "provenance (a network run writes its outputs at the end)\n",
               who, stop.signal, partial);
    return 128 + stop.signal;
  }
  const NetworkOutput<T>& out = *result;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  const NetAudit audit = write_layers(f, run, net, out, recorder);
  Results results;
  {
    io::Id og = io::create_group(f, "output");
    put<T>(og.get(), "x", channels_first<T>(out.x, run.chains),
           {static_cast<hsize_t>(run.chains), static_cast<hsize_t>(out.x.rows()),
            static_cast<hsize_t>(out.grid.height), static_cast<hsize_t>(out.grid.width)});
    std::visit([&](const auto& m) { write_outputs(m, run, out, audit.finite, og.get(), results); },
               net);
  }
  results.emplace_back("guaranteed", audit.all_guaranteed ? 1.0 : 0.0);
  results.emplace_back("energy_rises", static_cast<double>(audit.energy_rises));
  results.emplace_back("proxy_rises", static_cast<double>(audit.proxy_rises));
  results.emplace_back("wall_seconds", wall);
  {
    io::Id sg = io::create_group(f, "summary");
    for (const auto& [k, v] : results) io::set_attr(sg.get(), k, v);
    const std::string end = audit.finite ? "finished" : "non_finite";
    io::set_attr(f, "end_reason", end);
    io::set_attr(sg.get(), "end_reason", end);
  }
  file = io::Id();
  fs::rename(partial, output);

  if (!opt.quiet) print_summary(run, out, params, title, results, output, who);
  if (!audit.finite) {
    fmt::print(stderr, "hkam {}: non-finite values in the network's states or outputs\n", who);
    return 1;
  }
  if (audit.guaranteed_rose) {
    fmt::print(stderr, "hkam {}: the energy rose in a K-layer that guarantees it cannot\n", who);
    return 1;
  }
  return 0;
}

}  // namespace

bool is_network_config(config::Document& doc) {
  return doc.root().has("network");
}

namespace {
struct Top {
  NetSpec spec;
  std::uint64_t seed = 1;
  std::string title, output;
};

Top read_top(config::Document& doc) {
  Top t;
  Section root = doc.root();
  t.seed = static_cast<std::uint64_t>(root.integer("seed", 1, config::Range{0, config::kMaxSeed}));
  t.title = root.string("title", "");
  const std::string stem = fs::path(doc.name()).stem().string();
  t.output = root.string("output", "out/" + (stem.empty() ? std::string("run") : stem) + ".h5");
  t.spec = read_spec(root);
  check_budget(root, t.spec);
  root.irrelevant("sweep",
                  "this is a sweep: run it with `hkam sweep`, or its base point with "
                  "`hkam run --ignore-sweep`");
  root.done();  // reports every error noted in the file
  return t;
}
}  // namespace

void validate_network(config::Document& doc) {
  read_top(doc);
}

int run_network(config::Document doc, const RunOptions& opt, const char* who) {
  Top top;
  try {
    top = read_top(doc);
  } catch (const config::ConfigError& e) {
    fmt::print(stderr, "hkam {}: config error: {}\n", who, e.what());
    return 2;
  }
  if (opt.verbose)
    fmt::print(stderr, "# resolved configuration ({})\n{}\n", doc.name(), doc.resolved_text());
  const NetSpec& spec = top.spec;
  const std::uint64_t seed = top.seed;
  const std::string& title = top.title;
  std::string output = top.output;
  if (!opt.output.empty()) output = opt.output;
  try {
    return spec.precision == "float64" ? run_typed<double>(spec, doc, seed, title, opt, output, who)
                                       : run_typed<float>(spec, doc, seed, title, opt, output, who);
  } catch (const std::exception& e) {
    fmt::print(stderr, "hkam {}: {}\n", who, e.what());
    return 2;
  }
}

namespace {

/// The inputs a caller passed instead of the config's, checked against the network's kind.
NetInputs given_inputs(const NetSpec& n, const Eigen::MatrixXd* images,
                       const Eigen::MatrixXi* boards) {
  NetInputs in;
  if (n.kind() == "sudoku") {
    if (images) throw std::invalid_argument("a Sudoku network takes boards, not images");
    if (boards->cols() != 81 || boards->rows() < 1)
      throw std::invalid_argument(
          fmt::format("boards: expected B x 81 digits with B >= 1, got {} x {}", boards->rows(),
                      boards->cols()));
    if ((boards->array() < 0).any() || (boards->array() > 9).any())
      throw std::invalid_argument("boards: digits must be 0 (empty) to 9");
    in.batch = boards->rows();
    in.boards = *boards;
    return in;
  }
  if (boards) throw std::invalid_argument("an image network takes images, not boards");
  const Index P0 = image_size(n) * image_size(n);
  if (images->rows() != 3 || images->cols() < P0 || images->cols() % P0 != 0)
    throw std::invalid_argument(fmt::format(
        "images: expected 3 channels of B images of {0} x {0} pixels, got {1} x {2} values",
        image_size(n), images->rows(), images->cols()));
  if (!images->allFinite()) throw std::invalid_argument("images: contain NaN or infinity");
  in.batch = images->cols() / P0;
  in.images = *images;
  return in;
}

/// C × chains·P → chains × (C·P) rows, channel-major within a chain (the output file's layout).
template <class T>
Eigen::MatrixXd per_chain(const Mat<T>& m, Index chains) {
  const Mat<T> cf = channels_first<T>(m, chains);  // P × (chains·C)
  const Index P = cf.rows(), C = cf.cols() / chains;
  Eigen::MatrixXd out(chains, C * P);
  for (Index b = 0; b < chains; ++b)
    for (Index c = 0; c < C; ++c)
      for (Index p = 0; p < P; ++p) out(b, c * P + p) = static_cast<double>(cf(p, b * C + c));
  return out;
}

template <class T>
NetworkForward forward_typed(const NetSpec& n, std::uint64_t seed, const NetInputs* given) {
  AnyNet<T> net = make_network<T>(n);
  const ParamStore params =
      load_weights(n, std::visit([](const auto& m) { return m.specs(); }, net), seed);
  std::visit([&](auto& m) { m.load(params), m.continuous = n.continuous; }, net);
  const NetRun<T> run = prepare_run<T>(n, net, seed, given);
  const NetworkOutput<T> out =
      std::visit([&](const auto& m) { return forward(m, run, StateObserver<T>{}); }, net);
  NetworkForward r;
  r.precision = n.precision;
  r.batch = run.in.batch;
  r.chains = run.chains;
  r.channels = out.x.rows();
  r.height = out.grid.height;
  r.width = out.grid.width;
  r.energies = out.energies;
  r.x = per_chain<T>(out.x, run.chains);
  if (out.stimulus.size()) r.stimulus = per_chain<T>(out.stimulus, run.chains);
  if (out.features.size()) {
    r.features = per_chain<T>(out.features, run.chains);
    r.feature_rows = out.features.rows();
  }
  if (out.head.size()) r.head = out.head.transpose().template cast<double>();
  return r;
}

}  // namespace

NetworkForward forward_network(config::Document doc, const Eigen::MatrixXd* images,
                               const Eigen::MatrixXi* boards) {
  const Top top = read_top(doc);
  const NetSpec& spec = top.spec;
  std::optional<NetInputs> given;
  if (images || boards) given = given_inputs(spec, images, boards);
  const NetInputs* in = given ? &*given : nullptr;
  return spec.precision == "float64" ? forward_typed<double>(spec, top.seed, in)
                                     : forward_typed<float>(spec, top.seed, in);
}

}  // namespace hkam::run
