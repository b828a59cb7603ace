#include "run/network_run.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <numeric>
#include <optional>

#include "analysis/segmentation.hpp"
#include "hkam/akorn/networks.hpp"
#include "hkam/observe/energy_audit.hpp"
#include "hkam/random.hpp"
#include "io/akorn_weights.hpp"
#include "io/h5.hpp"
#include "run/limits.hpp"
#include "run/signals.hpp"

namespace hkam::run {

namespace fs = std::filesystem;
using config::Section;
using namespace hkam::akorn;

namespace {

// Random streams of a network run (derived from the config's seed).
enum : std::uint64_t { kWeights = 20, kInputs = 21, kNoise = 22 };

struct NetSpec {
  std::string kind, precision = "float32", weights;
  ObjectNetConfig obj;
  SudokuNetConfig sud;
  CifarNetConfig cif;
  int ensemble = 1;
  bool gamma_given = false;
  bool symmetrize = false;
  // input
  std::string input_kind;
  Index batch = 1;
  int objects = 3;
  double pixel_noise = 0;
  int blanks = 40;
  std::string input_file, noise_file;
  // evaluation
  int clusters = 0, uptile = 1;
  std::string cluster_on = "readout";
  bool empty_fg_one = true;  // FG-ARI of an image without foreground: 1 (the reference) or skipped
  int votes = 1;
  std::string vote_score = "last";
  int test_steps = 0;
  // recording
  int state_interval = 1;
  bool store_states = true, store_weights = false;
  // continuous-time K-layers
  std::optional<SimulateOptions> continuous;
};

StimulusNorm read_norm(Section& s) {
  const auto v = s.choice("c_norm", "gn", {"gn", "sandb", "none"});
  return v == "gn"      ? StimulusNorm::GroupNorm
         : v == "sandb" ? StimulusNorm::ScaleAndBias
                        : StimulusNorm::None;
}

NetSpec read_spec(Section& root) {
  NetSpec n;
  Section s = root.section("network");
  n.kind = s.choice("kind", std::nullopt, {"objects", "sudoku", "cifar"});
  n.precision = s.choice("precision", "float32", {"float32", "float64"});
  n.weights = s.document().input_path(s.string("weights", ""));
  n.gamma_given = s.has("gamma");
  const auto pos = config::at_least(1);
  if (n.kind == "objects") {
    auto& o = n.obj;
    o.osc_dim = s.integer("osc_dim", 4, pos);
    o.channels = s.integer("channels", 256, pos);
    o.blocks = s.integer("blocks", 1, pos);
    const Eigen::VectorXd steps =
        s.numbers("steps", 8, config::Range{0, static_cast<double>(config::kMaxConfigInteger)});
    o.steps.clear();
    for (Index i = 0; i < steps.size(); ++i) {
      if (steps[i] != std::floor(steps[i]))
        s.fail("steps", fmt::format("element {}: expected an integer T, got {:g}", i, steps[i]));
      o.steps.push_back(static_cast<int>(steps[i]));
    }
    if (o.steps.size() != 1 && static_cast<Index>(o.steps.size()) != o.blocks)
      s.fail("steps",
             fmt::format("expected one T or one per block ({}), got {}", o.blocks, o.steps.size()));
    o.psize = s.integer("psize", 4, pos);
    o.imsize = s.integer("imsize", 32, pos);
    if (o.imsize % o.psize != 0)
      s.fail("imsize", fmt::format("expected a multiple of psize = {}, got {}", o.psize, o.imsize));
    // J for every block, or one per block (the reference's J list, e.g. ["conv", "attn"]).
    const auto Js = s.choices("connectivity", "attn", {"attn", "conv"});
    if (Js.size() != 1 && static_cast<Index>(Js.size()) != o.blocks)
      s.fail("connectivity",
             fmt::format("expected one J or one per block ({}), got {}", o.blocks, Js.size()));
    const auto to_J = [](const std::string& j) {
      return j == "attn" ? Connectivity::Attention : Connectivity::Conv;
    };
    o.connectivity = to_J(Js.front());
    if (Js.size() > 1)
      for (const auto& j : Js) o.block_connectivity.push_back(to_J(j));
    const bool any_conv = std::count(Js.begin(), Js.end(), "conv") > 0;
    const bool any_attn = std::count(Js.begin(), Js.end(), "attn") > 0;
    const std::string J = any_attn ? "attn" : "conv";  // "conv" only when every block is conv
    // gta: the attention blocks' GTA matrices; false, with any J, adds the learned positional
    // embeddings pemb_x and pemb_c as the reference model does (ObjectNet).
    o.gta = s.boolean("gta", true);
    if (any_conv) {
      o.kernel = s.integer("kernel", 1, pos);
      if (o.kernel % 2 == 0)
        s.fail("kernel", fmt::format("expected an odd size, got {}", o.kernel));
    } else {
      s.irrelevant("kernel", "connectivity = \"attn\" has no kernel");
    }
    if (any_attn) {
      o.heads = s.integer("heads", 8, pos);
      if (o.channels % o.heads != 0)
        s.fail("heads",
               fmt::format("expected a divisor of channels = {}, got {}", o.channels, o.heads));
    } else {
      s.irrelevant("heads", "connectivity = \"conv\" has no heads");
    }
    o.no_ro = s.boolean("no_ro", false);
    o.use_ro_x = s.boolean("use_ro_x", false);
    o.c_norm = read_norm(s);
    o.gamma = s.number("gamma", 1.0, config::positive());
    o.use_omega = s.boolean("use_omega", false);
    o.global_omega = s.boolean("global_omega", false);
    o.init_omega = s.number("init_omega", 1.0, config::non_negative());
    o.project = s.boolean("project", true);
    o.maxpool = s.boolean("maxpool", true);
    n.symmetrize = s.boolean("symmetrize", false);
    if (n.symmetrize && J != "conv")
      s.fail("symmetrize", "only a conv J can be symmetrised (attention depends on the state)");
    if (o.channels % o.osc_dim != 0)
      s.fail("channels",
             fmt::format("expected a multiple of osc_dim = {}, got {}", o.osc_dim, o.channels));
    if (o.use_omega && o.osc_dim % 2 != 0)
      s.fail("osc_dim", fmt::format("use_omega needs an even osc_dim (Omega rotates channel "
                                    "pairs), got {}",
                                    o.osc_dim));
  } else if (n.kind == "cifar") {
    auto& o = n.cif;
    o.channels = s.integer("channels", 64, pos);
    o.blocks = s.integer("blocks", 3, pos);
    o.classes = s.integer("classes", 10, pos);
    o.imsize = s.integer("imsize", 32, pos);
    // Per-block lists as the reference's _expand_param: one value per block as given, any other
    // count means its first value for every block ([9, 7] with 3 blocks is [9, 9, 9]).
    const auto expand = [&](auto& v) {  // (a copy: assign's value must not refer into v)
      if (static_cast<Index>(v.size()) != o.blocks) {
        const auto first = v.front();
        v.assign(static_cast<std::size_t>(o.blocks), first);
      }
    };
    // The integers of key's value v (odd ones for kernels), expanded.
    const auto per_block = [&](const char* key, const Eigen::VectorXd& v, bool odd) {
      std::vector<Index> out;
      for (Index i = 0; i < v.size(); ++i) {
        const auto k = static_cast<Index>(v[i]);
        if (static_cast<double>(k) != v[i] || (odd && k % 2 == 0))
          s.fail(key, fmt::format("expected {}integers, got {}", odd ? "odd " : "", v[i]));
        out.push_back(k);
      }
      expand(out);
      return out;
    };
    o.osc_dims = per_block("osc_dim", s.numbers("osc_dim", 2.0, pos), false);
    o.osc_dim = o.osc_dims.front();
    o.kernels = per_block("kernels", s.numbers("kernels", std::vector<double>{9, 7, 5}, pos), true);
    const auto Js = s.choices("connectivity", "conv", {"conv", "attn"});
    o.connectivity.clear();
    for (const auto& j : Js)
      o.connectivity.push_back(j == "attn" ? Connectivity::Attention : Connectivity::Conv);
    expand(o.connectivity);
    o.ro_kernel = s.integer("ro_kernel", 3, pos);
    if (o.ro_kernel % 2 == 0)
      s.fail("ro_kernel", fmt::format("expected an odd size, got {}", o.ro_kernel));
    o.ro_groups = per_block("ro_group", s.numbers("ro_group", 2.0, pos), false);
    o.ro_group = o.ro_groups.front();
    o.steps = static_cast<int>(s.integer("steps", 3, config::at_least(0)));
    o.gamma = s.number("gamma", 1.0, config::positive());
    o.use_omega = s.boolean("use_omega", true);
    o.global_omega = s.boolean("global_omega", true);
    o.init_omega = s.number("init_omega", 1.0, config::non_negative());
    o.c_norm = read_norm(s);
    const auto norm = s.choice("norm", "bn", {"bn", "gn", "none"});
    o.norm = norm == "bn" ? BlockNorm::Batch : norm == "gn" ? BlockNorm::Group : BlockNorm::None;
    for (Index l = 0; l < o.blocks; ++l) {
      const auto b = static_cast<std::size_t>(l);
      const Index C = o.channels << std::min<Index>(l, 30), nl = o.osc_dims[b];
      if (C % nl != 0)
        s.fail("osc_dim",
               fmt::format("block {} has {} channels: expected a divisor, got {}", l, C, nl));
      if (C % o.ro_groups[b] != 0)
        s.fail("ro_group", fmt::format("block {} has {} channels: expected a divisor, got {}", l, C,
                                       o.ro_groups[b]));
      if (o.use_omega && nl % 2 != 0)
        s.fail("osc_dim", fmt::format("use_omega needs an even osc_dim, got {}", nl));
      if (o.connectivity[b] == Connectivity::Attention && C % 8 != 0)
        s.fail("connectivity", fmt::format("block {}: attention has 8 heads (the reference's "
                                           "default), {} channels are not divisible by 8",
                                           l, C));
    }
    if (norm == "gn" && o.channels % 8 != 0)
      s.fail("norm",
             fmt::format("GroupNorm(8, C) needs channels divisible by 8, got {}", o.channels));
  } else {
    auto& o = n.sud;
    o.osc_dim = s.integer("osc_dim", 4, pos);
    o.channels = s.integer("channels", 512, pos);
    o.blocks = s.integer("blocks", 1, pos);
    o.heads = s.integer("heads", 8, pos);
    o.steps = static_cast<int>(s.integer("steps", 16, pos));
    o.gamma = s.number("gamma", 1.0, config::positive());
    o.use_omega = s.boolean("use_omega", true);
    o.global_omega = s.boolean("global_omega", true);
    o.init_omega = s.number("init_omega", 0.1, config::non_negative());
    o.nl = s.boolean("nl", true);
    if (o.channels % o.osc_dim != 0)
      s.fail("channels",
             fmt::format("expected a multiple of osc_dim = {}, got {}", o.osc_dim, o.channels));
    if (o.channels % o.heads != 0 || (o.channels / o.heads) % 2 != 0)
      s.fail("heads", fmt::format("expected a divisor of channels = {} leaving an even head "
                                  "dimension (GTA rotates pairs), got {}",
                                  o.channels, o.heads));
    if (o.use_omega && o.osc_dim % 2 != 0)
      s.fail("osc_dim", fmt::format("use_omega needs an even osc_dim, got {}", o.osc_dim));
  }
  const auto integration = s.choice("integration", "discrete", {"discrete", "continuous"});
  if (integration == "continuous") {
    SimulateOptions so;
    const auto stepper = s.choice("stepper", "dopri5", {"dopri5", "rkf78", "rk4", "euler"});
    so.stepper = stepper_from_name(stepper);
    so.rtol = s.number("rtol", 1e-6, config::positive());
    so.atol = s.number("atol", 1e-8, config::positive());
    so.dt = s.number("dt", 0.01, config::positive());
    if (n.precision != "float64")
      s.fail("integration", "continuous-time K-layers run in float64: set precision = \"float64\"");
    if (n.kind == "objects" && !n.obj.project)
      s.fail("integration",
             "continuous-time K-layers need project = true (without the "
             "projection the flow leaves the spheres)");
    n.continuous = so;
  } else {
    for (const char* k : {"stepper", "rtol", "atol", "dt"})
      s.irrelevant(k, "only for integration = \"continuous\"");
  }
  s.done();

  Section in = root.section("input");
  if (n.kind == "objects" || n.kind == "cifar") {
    n.input_kind = in.choice("kind", "shapes", {"shapes", "file"});
    if (n.input_kind == "shapes") {
      n.batch = in.integer("batch", 4, pos);
      n.objects = static_cast<int>(in.integer("objects", 3, config::at_least(1)));
      n.pixel_noise = in.number("pixel_noise", 0.02, config::non_negative());
      in.irrelevant("file", "input.kind = \"shapes\" reads no file");
    } else {
      n.input_file = in.string("file", std::nullopt);
      in.irrelevant("batch", "the batch is the file's number of images");
    }
    in.irrelevant("blanks", "blanks are for Sudoku inputs");
  } else {
    n.input_kind = in.choice("kind", "puzzles", {"puzzles", "file"});
    if (n.input_kind == "puzzles") {
      n.batch = in.integer("batch", 4, pos);
      n.blanks = static_cast<int>(in.integer("blanks", 40, config::Range{0, 81}));
      in.irrelevant("file", "input.kind = \"puzzles\" reads no file");
    } else {
      n.input_file = in.string("file", std::nullopt);
    }
    in.irrelevant("objects", "objects are for image inputs");
    in.irrelevant("pixel_noise", "pixel_noise is for image inputs");
  }
  n.input_file = in.document().input_path(n.input_file);
  in.done();

  Section ini = root.section("initial");
  n.noise_file = ini.document().input_path(ini.string("noise_file", ""));
  ini.done();

  Section ev = root.section("evaluate");
  if (n.kind == "cifar") {
    n.ensemble = static_cast<int>(ev.integer("ensemble", 1, pos));
    for (const char* k :
         {"clusters", "features", "uptile", "empty_foreground", "votes", "vote_score", "steps"})
      ev.irrelevant(k, "not used by the CIFAR network (evaluate.ensemble is)");
  } else if (n.kind == "objects") {
    n.clusters = static_cast<int>(ev.integer("clusters", 0, config::at_least(0)));
    n.cluster_on = ev.choice("features", "readout", {"readout", "oscillators", "stimulus"});
    n.uptile = static_cast<int>(ev.integer("uptile", 1, pos));
    n.empty_fg_one = ev.choice("empty_foreground", "one", {"one", "skip"}) == "one";
    if (n.obj.psize % n.uptile != 0)
      ev.fail("uptile", fmt::format("expected a divisor of network.psize = {}, got {}", n.obj.psize,
                                    n.uptile));
    ev.irrelevant("votes", "E-vote is for Sudoku");
    ev.irrelevant("vote_score", "E-vote is for Sudoku");
    ev.irrelevant("steps", "test-time T is for Sudoku (set network.steps)");
    ev.irrelevant("ensemble", "noise ensembles are for the CIFAR network");
  } else {
    n.votes = static_cast<int>(ev.integer("votes", 1, pos));
    n.vote_score = ev.choice("vote_score", "last", {"last", "sum"});
    n.test_steps = static_cast<int>(ev.integer("steps", 0, config::at_least(0)));
    ev.irrelevant("clusters", "object clustering is for image inputs");
    ev.irrelevant("features", "object clustering is for image inputs");
    ev.irrelevant("uptile", "object clustering is for image inputs");
    ev.irrelevant("empty_foreground", "object clustering is for image inputs");
    ev.irrelevant("ensemble", "noise ensembles are for the CIFAR network");
  }
  ev.done();

  Section rec = root.section("record");
  n.store_states = rec.boolean("states", true);
  n.state_interval = static_cast<int>(rec.integer("state_interval", 1, pos));
  n.store_weights = rec.boolean("weights", false);
  rec.done();
  return n;
}

/// A valid solved Sudoku grid shuffled by digit, row-in-band, band, column-in-stack and stack
/// permutations of the pattern (3·(r mod 3) + r div 3 + c) mod 9.
std::array<int, 81> random_solution(Rng& rng) {
  const auto perm = [&](int n) {
    std::vector<int> p(static_cast<std::size_t>(n));
    std::iota(p.begin(), p.end(), 0);
    for (int i = n - 1; i > 0; --i)
      std::swap(p[static_cast<std::size_t>(i)],
                p[static_cast<std::size_t>(rng.below(static_cast<std::uint64_t>(i + 1)))]);
    return p;
  };
  const auto digits = perm(9), bands = perm(3), stacks = perm(3);
  std::array<int, 9> rows{}, cols{};
  for (int b = 0; b < 3; ++b) {
    const auto r = perm(3), c = perm(3);
    for (int i = 0; i < 3; ++i) {
      rows[static_cast<std::size_t>(b * 3 + i)] =
          bands[static_cast<std::size_t>(b)] * 3 + r[static_cast<std::size_t>(i)];
      cols[static_cast<std::size_t>(b * 3 + i)] =
          stacks[static_cast<std::size_t>(b)] * 3 + c[static_cast<std::size_t>(i)];
    }
  }
  std::array<int, 81> g{};
  for (int r = 0; r < 9; ++r)
    for (int c = 0; c < 9; ++c) {
      const int rr = rows[static_cast<std::size_t>(r)], cc = cols[static_cast<std::size_t>(c)];
      g[static_cast<std::size_t>(r * 9 + c)] =
          digits[static_cast<std::size_t>((3 * (rr % 3) + rr / 3 + cc) % 9)] + 1;
    }
  return g;
}

struct Inputs {
  Index batch = 0;
  Eigen::MatrixXd images;               // 3 × B·S² (objects)
  std::vector<std::vector<int>> masks;  // per image, S² labels (objects; may be empty)
  std::vector<int> labels;              // per image, a class (cifar; may be empty)
  Eigen::MatrixXi boards, solutions;    // B × 81 (Sudoku; solutions may be empty)
};

Inputs read_inputs(const NetSpec& n, std::uint64_t seed) {
  Inputs in;
  Rng rng(Rng::derive(seed, kInputs));
  if (n.kind != "sudoku") {
    const Index S = n.kind == "cifar" ? n.cif.imsize : n.obj.imsize, P = S * S;
    if (n.input_kind == "shapes") {
      in.batch = n.batch;
      in.images.resize(3, in.batch * P);
      for (Index b = 0; b < in.batch; ++b) {
        auto sc = analysis::make_shapes(S, S, n.objects, n.pixel_noise, rng);
        in.images.middleCols(b * P, P) = sc.rgb.cwiseMax(0.0).cwiseMin(1.0);
        in.masks.push_back(sc.mask);
      }
      return in;
    }
    const io::Id f = io::open_file_read(n.input_file);
    std::vector<hsize_t> d;
    const auto v = io::read_doubles(f.get(), "images", &d);
    io::require_finite(v, n.input_file + ": images");
    if (d.size() != 4 || d[1] != 3 || static_cast<Index>(d[2]) != S ||
        static_cast<Index>(d[3]) != S)
      throw std::runtime_error(
          fmt::format("{}: 'images' must be [B, 3, {}, {}] (network.imsize), got [{}]",
                      n.input_file, S, S, fmt::join(d, ", ")));
    in.batch = static_cast<Index>(d[0]);
    in.images.resize(3, in.batch * P);
    for (Index b = 0; b < in.batch; ++b)
      for (Index c = 0; c < 3; ++c)
        for (Index p = 0; p < P; ++p)
          in.images(c, b * P + p) = v[static_cast<std::size_t>((b * 3 + c) * P + p)];
    if (io::exists(f.get(), "labels")) {
      std::vector<hsize_t> ld;
      const auto lab = io::read_doubles(f.get(), "labels", &ld);
      io::require_integers(lab, n.input_file + ": labels", -1, 1e9);
      if (ld.size() != 1 || static_cast<Index>(ld[0]) != in.batch)
        throw std::runtime_error(fmt::format("{}: 'labels' must be [{}], got [{}]", n.input_file,
                                             in.batch, fmt::join(ld, ", ")));
      for (double v : lab) in.labels.push_back(static_cast<int>(v));
    }
    if (io::exists(f.get(), "masks")) {
      std::vector<hsize_t> md;
      const auto m = io::read_doubles(f.get(), "masks", &md);
      io::require_integers(m, n.input_file + ": masks", -1, 1e9);
      if (md.size() != 3 || static_cast<Index>(md[0]) != in.batch ||
          static_cast<Index>(md[1]) != S || static_cast<Index>(md[2]) != S)
        throw std::runtime_error(fmt::format("{}: 'masks' must be [{}, {}, {}], got [{}]",
                                             n.input_file, in.batch, S, S, fmt::join(md, ", ")));
      for (Index b = 0; b < in.batch; ++b) {
        std::vector<int> mk(static_cast<std::size_t>(P));
        for (Index p = 0; p < P; ++p)
          mk[static_cast<std::size_t>(p)] =
              static_cast<int>(m[static_cast<std::size_t>(b * P + p)]);
        in.masks.push_back(std::move(mk));
      }
    }
    return in;
  }
  if (n.input_kind == "puzzles") {
    in.batch = n.batch;
    in.boards.resize(in.batch, 81);
    in.solutions.resize(in.batch, 81);
    for (Index b = 0; b < in.batch; ++b) {
      const auto sol = random_solution(rng);
      std::vector<int> cells(81);
      std::iota(cells.begin(), cells.end(), 0);
      for (int i = 80; i > 0; --i)
        std::swap(cells[static_cast<std::size_t>(i)],
                  cells[static_cast<std::size_t>(rng.below(static_cast<std::uint64_t>(i + 1)))]);
      for (int p = 0; p < 81; ++p)
        in.solutions(b, p) = in.boards(b, p) = sol[static_cast<std::size_t>(p)];
      for (int i = 0; i < n.blanks; ++i) in.boards(b, cells[static_cast<std::size_t>(i)]) = 0;
    }
    return in;
  }
  const io::Id f = io::open_file_read(n.input_file);
  const auto load = [&](const std::string& name, Eigen::MatrixXi& out) {
    std::vector<hsize_t> d;
    const auto v = io::read_doubles(f.get(), name, &d);
    const hsize_t cells = d.size() == 3 ? d[1] * d[2] : d.size() == 2 ? d[1] : 0;
    if (cells != 81 || (d.size() == 3 && d[1] != 9))
      throw std::runtime_error(fmt::format("{}: '{}' must be [B, 9, 9] or [B, 81], got [{}]",
                                           n.input_file, name, fmt::join(d, ", ")));
    out.resize(static_cast<Index>(d[0]), 81);
    for (Index b = 0; b < out.rows(); ++b)
      for (Index p = 0; p < 81; ++p) {
        const double x = v[static_cast<std::size_t>(b * 81 + p)];
        if (!(x >= 0 && x <= 9 && x == std::floor(x)))
          throw std::runtime_error(fmt::format("{}: '{}'[{}][{}] = {}: expected a digit 0-9",
                                               n.input_file, name, b, p, x));
        out(b, p) = static_cast<int>(x);
      }
  };
  load("boards", in.boards);
  in.batch = in.boards.rows();
  if (io::exists(f.get(), "solutions")) {
    load("solutions", in.solutions);
    if (in.solutions.rows() != in.batch)
      throw std::runtime_error(n.input_file + ": 'solutions' and 'boards' differ in length");
  }
  return in;
}

template <class T>
void put(hid_t g, const std::string& name, const Mat<T>& m, std::vector<hsize_t> dims) {
  // m is stored column-major; callers give dims whose row-major order matches it.
  if constexpr (std::is_same_v<T, float>)
    io::write_floats(g, name, m.data(), dims);
  else
    io::write_array(g, name, m.data(), dims);
}

/// C × B·P (channels-last) → a [B][C][P] row-major buffer.
template <class T>
Mat<T> channels_first(const Mat<T>& x, Index batch) {
  const Index C = x.rows(), P = x.cols() / batch;
  Mat<T> out(P, C * batch);  // column-major P × (B·C): element (p, b·C + c) at (b·C + c)·P + p
  for (Index b = 0; b < batch; ++b)
    for (Index c = 0; c < C; ++c)
      for (Index p = 0; p < P; ++p) out(p, b * C + c) = x(c, b * P + p);
  return out;
}

// The initial states of `batch` chains: dataset `name` of initial.noise_file ([batch, C, h, w],
// chain-major), or N(0, 1) draws from the seed's stream `stream` when there is no noise file or
// it lacks an optional dataset (`required` false).
template <class T>
Mat<T> noise_for(const NetSpec& n, Index C, Index cols, Index batch, Index positions,
                 std::uint64_t seed, const char* name = "noise", std::uint64_t stream = kNoise,
                 bool required = true) {
  Mat<T> x(C, cols);
  std::optional<io::Id> f;
  if (!n.noise_file.empty()) {
    f.emplace(io::open_file_read(n.noise_file));
    if (!required && !io::exists(f->get(), name)) f.reset();
  }
  if (!f) {
    Rng rng(Rng::derive(seed, stream));
    for (Index j = 0; j < cols; ++j)  // sample by sample, channel-first order as randn_like
      for (Index c = 0; c < C; ++c) x(c, j) = static_cast<T>(rng.normal());
    return x;
  }
  std::vector<hsize_t> d;
  const auto v = io::read_doubles(f->get(), name, &d);
  io::require_finite(v, n.noise_file + ": " + name);
  const Index h = static_cast<Index>(std::lround(std::sqrt(static_cast<double>(positions))));
  if (d.size() != 4 || static_cast<Index>(d[0]) != batch || static_cast<Index>(d[1]) != C ||
      static_cast<Index>(d[2] * d[3]) != positions)
    throw std::runtime_error(fmt::format("{}: '{}' must be [{}, {}, {}, {}], got [{}]",
                                         n.noise_file, name, batch, C, h, positions / h,
                                         fmt::join(d, ", ")));
  for (Index b = 0; b < batch; ++b)
    for (Index c = 0; c < C; ++c)
      for (Index p = 0; p < positions; ++p)
        x(c, b * positions + p) =
            static_cast<T>(v[static_cast<std::size_t>((b * C + c) * positions + p)]);
  return x;
}

/// One of the three networks, with what the runner needs from it.
template <class T>
struct AnyNet {
  std::optional<ObjectNet<T>> obj;
  std::optional<SudokuNet<T>> sud;
  std::optional<CifarNet<T>> cif;
  explicit AnyNet(const NetSpec& n) {
    if (n.kind == "objects")
      obj.emplace(n.obj);
    else if (n.kind == "sudoku")
      sud.emplace(n.sud);
    else
      cif.emplace(n.cif);
  }
  std::vector<ParamSpec> specs() const {
    return obj ? obj->specs() : sud ? sud->specs() : cif->specs();
  }
  void load(const ParamStore& p, const Continuous& continuous) {
    if (obj) obj->load(p), obj->continuous = continuous;
    if (sud) sud->load(p), sud->continuous = continuous;
    if (cif) cif->load(p), cif->continuous = continuous;
  }
  const KLayer<T>& layer(int l) const {
    return obj ? obj->layer(l) : sud ? sud->layer(l) : cif->layer(l);
  }
  Grid grid(Index chains) const {
    return obj ? obj->grid(chains) : sud ? sud->grid(chains) : cif->grid(chains);
  }
};

template <class T>
int run_typed(const NetSpec& n, config::Document& doc, std::uint64_t seed, const std::string& title,
              const RunOptions& opt, const std::string& output, const char* who) {
  // ---- network and weights (everything checked before a file is touched)
  AnyNet<T> net(n);
  const auto& obj = net.obj;
  const auto& sud = net.sud;
  const auto& cif = net.cif;
  const std::vector<ParamSpec> specs = net.specs();
  ParamStore params;
  if (n.weights.empty()) {
    params = ParamStore::initialise(specs, Rng::derive(seed, kWeights));
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
  // the config's gamma overrides the file's only when written in the config
  if (n.gamma_given) {
    const double g = obj ? n.obj.gamma : sud ? n.sud.gamma : n.cif.gamma;
    params.set("gamma", {1}, {g});
  }
  if (n.symmetrize)  // not in the reference: makes each conv J a symmetric operator
    for (Index l = 0; l < n.obj.blocks; ++l) {
      const std::string name = fmt::format("layers.{}.0.connectivity.weight", l);
      const auto shape = params.all().at(name).shape;
      params.set(name, shape, symmetrized_conv_weight(params.all().at(name)));
    }
  net.load(params, n.continuous);

  Inputs in;
  try {
    in = read_inputs(n, seed);
  } catch (const io::H5Error& e) {
    throw std::runtime_error(
        fmt::format("cannot read the input file {}: {}", n.input_file, e.what()));
  }
  const Index C = obj ? n.obj.channels : sud ? n.sud.channels : n.cif.channels;
  // Sudoku: board b, vote k → chain b·votes + k; CIFAR: image b, noise draw k likewise
  const int votes = sud ? n.votes : cif ? n.ensemble : 1;
  const Index chains = in.batch * votes;
  const Grid grid = net.grid(chains);
  const Index P = grid.positions();
  Mat<T> noise, uptile_noise;
  try {
    noise = noise_for<T>(n, C, grid.columns(), chains, P, seed);
    // Up-tiling's r² crops per image, crop t = (b·r + hi)·r + wi: `uptile_noise` of the noise
    // file when it has one, else from the seed.
    if (obj && n.clusters > 0 && n.uptile > 1) {
      const Index crops = in.batch * n.uptile * n.uptile;
      uptile_noise =
          noise_for<T>(n, C, crops * P, crops, P, seed, "uptile_noise", kNoise + 1, false);
    }
  } catch (const io::H5Error& e) {
    throw std::runtime_error(
        fmt::format("cannot read the noise file {}: {}", n.noise_file, e.what()));
  }

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
  io::set_attr(f, "network", n.kind);
  io::set_attr(f, "precision", n.precision);
  io::set_attr(f, "integration",
               n.continuous ? fmt::format("continuous ({})", stepper_name(n.continuous->stepper))
                            : std::string("discrete"));
  io::set_attr(f, "weights", n.weights.empty() ? std::string("random (seed)") : n.weights);
  io::set_attr(f, "end_reason", std::string("running"));

  {
    io::Id g = io::create_group(f, "input");
    if (!sud) {
      const Index S = obj ? n.obj.imsize : n.cif.imsize;
      const Mat<double> img = channels_first<double>(in.images, in.batch);
      io::write_array(
          g.get(), "images", img.data(),
          {static_cast<hsize_t>(in.batch), 3, static_cast<hsize_t>(S), static_cast<hsize_t>(S)});
      if (!in.masks.empty()) {
        std::vector<long long> m;
        for (const auto& mk : in.masks) m.insert(m.end(), mk.begin(), mk.end());
        io::write_int_array(
            g.get(), "masks", m,
            {static_cast<hsize_t>(in.batch), static_cast<hsize_t>(S), static_cast<hsize_t>(S)});
      }
      if (!in.labels.empty()) {
        std::vector<long long> lv(in.labels.begin(), in.labels.end());
        io::write_int_array(g.get(), "labels", lv, {lv.size()});
      }
    } else {
      const auto ints = [](const Eigen::MatrixXi& b) {
        std::vector<long long> v;
        for (Index r = 0; r < b.rows(); ++r)
          for (Index c = 0; c < 81; ++c) v.push_back(b(r, c));
        return v;
      };
      const std::vector<hsize_t> bd{static_cast<hsize_t>(in.batch), 9, 9};
      io::write_int_array(g.get(), "boards", ints(in.boards), bd);
      if (in.solutions.size()) io::write_int_array(g.get(), "solutions", ints(in.solutions), bd);
    }
    io::Id ini = io::create_group(f, "initial");
    put<T>(ini.get(), "noise", channels_first<T>(noise, chains),
           {static_cast<hsize_t>(chains), static_cast<hsize_t>(C),
            static_cast<hsize_t>(grid.height), static_cast<hsize_t>(grid.width)});
  }
  if (n.store_weights) {
    io::Id g = io::create_group(f, "weights");
    for (const auto& [name, p] : params.all()) {
      std::vector<hsize_t> dims(p.shape.begin(), p.shape.end());
      io::write_array(g.get(), name, p.values.data(), dims);
    }
  }
  io::flush(f);

  // ---- run, keeping every state_interval-th state (and the last) per block
  const int blocks = static_cast<int>(obj ? n.obj.blocks : sud ? n.sud.blocks : n.cif.blocks);
  std::vector<std::vector<int>> kept_steps(static_cast<std::size_t>(blocks));
  std::vector<std::vector<Mat<T>>> kept(static_cast<std::size_t>(blocks));
  std::vector<int> steps_of(static_cast<std::size_t>(blocks));
  for (int l = 0; l < blocks; ++l)
    steps_of[static_cast<std::size_t>(l)] =
        obj   ? n.obj.steps[n.obj.steps.size() == 1 ? 0 : static_cast<std::size_t>(l)]
        : sud ? (n.test_steps > 0 ? n.test_steps : n.sud.steps)
              : n.cif.steps;
  // Ctrl-C / SIGTERM end the run between two steps (of any block) with a message and exit
  // 128 + signal, the file left as OUT.partial with end_reason "interrupted".
  struct Interrupted {
    int signal;
  };
  SignalGuard signals;
  const StateObserver<T> observe = [&](int l, int t, const Mat<T>& x) {
    if (const int sig = SignalGuard::received()) throw Interrupted{sig};
    const auto s = static_cast<std::size_t>(l);
    if (n.store_states && (t % n.state_interval == 0 || t == steps_of[s])) {
      kept_steps[s].push_back(t);
      kept[s].push_back(channels_first<T>(x, chains));
    }
  };
  Eigen::MatrixXi chain_boards;
  if (sud) {
    chain_boards.resize(chains, 81);
    for (Index b = 0; b < in.batch; ++b)
      for (int k = 0; k < votes; ++k) chain_boards.row(b * votes + k) = in.boards.row(b);
  }
  const auto t0 = std::chrono::steady_clock::now();
  Mat<T> chain_images;
  if (cif) {
    const Index P0 = n.cif.imsize * n.cif.imsize;
    chain_images.resize(3, chains * P0);
    for (Index b = 0; b < in.batch; ++b)
      for (int k = 0; k < votes; ++k)
        chain_images.middleCols((b * votes + k) * P0, P0) =
            in.images.middleCols(b * P0, P0).template cast<T>();
  }
  std::optional<NetworkOutput<T>> result;
  try {
    result.emplace(obj   ? obj->forward(in.images.cast<T>(), noise, in.batch, observe)
                   : sud ? sud->forward(chain_boards, noise, n.test_steps, observe)
                         : cif->forward(chain_images, noise, chains, observe));
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

  // ---- per block: energies (chains × (T + 1)) and kept states
  bool finite = out.features.allFinite() && out.x.allFinite();
  long proxy_rises = 0, energy_rises = 0;
  bool guaranteed_rose = false, all_guaranteed = true;
  // float32 energies carry rounding of ~1e-7 relative: rises below the tolerance are noise
  const double tolerance = std::is_same_v<T, float> ? 1e-5 : 1e-10;
  {
    io::Id layers = io::create_group(f, "layers");
    for (int l = 0; l < blocks; ++l) {
      const auto s = static_cast<std::size_t>(l);
      const LayerEnergies& e = out.energies[s];
      io::Id g = io::create_group(layers.get(), std::to_string(l));
      const Eigen::MatrixXd pe = e.proxy.transpose(), te = e.energy.transpose();
      const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> per = pe,
                                                                                   ter = te;
      const std::vector<hsize_t> ed{static_cast<hsize_t>(chains), static_cast<hsize_t>(pe.cols())};
      io::write_array(g.get(), "proxy_energy", per.data(), ed);
      io::write_array(g.get(), "energy", ter.data(), ed);
      io::set_attr(g.get(), "steps", static_cast<long long>(steps_of[s]));
      finite = finite && pe.allFinite() && te.allFinite();
      const KLayer<T>& layer = net.layer(l);
      const Guarantee gu = layer.lyapunov();
      const AuditResult ae = audit_rows(te, tolerance), ap = audit_rows(pe, tolerance, 1);
      energy_rises += ae.violations;
      proxy_rises += ap.violations;
      guaranteed_rose = guaranteed_rose || (gu.guaranteed && !ae.monotone());
      all_guaranteed = all_guaranteed && gu.guaranteed;
      io::set_attr(g.get(), "guaranteed", gu.guaranteed ? 1.0 : 0.0);
      io::set_attr(g.get(), "reason", gu.reason);
      io::set_attr(g.get(), "tolerance", tolerance);
      io::set_attr(g.get(), "energy_rises", static_cast<double>(ae.violations));
      io::set_attr(g.get(), "proxy_rises", static_cast<double>(ap.violations));
      if (n.store_states && !kept[s].empty()) {
        Mat<T> all(kept[s][0].rows(), kept[s][0].cols() * static_cast<Index>(kept[s].size()));
        for (std::size_t k = 0; k < kept[s].size(); ++k)
          all.middleCols(static_cast<Index>(k) * kept[s][0].cols(), kept[s][0].cols()) = kept[s][k];
        const KLayerConfig& kc = layer.config();  // per block: CIFAR blocks differ in size
        put<T>(g.get(), "states", all,
               {static_cast<hsize_t>(kept[s].size()), static_cast<hsize_t>(chains),
                static_cast<hsize_t>(kc.channels), static_cast<hsize_t>(kc.height),
                static_cast<hsize_t>(kc.width)});
        std::vector<long long> st(kept_steps[s].begin(), kept_steps[s].end());
        io::write_int_array(g.get(), "state_steps", st, {st.size()});
      }
    }
  }

  // ---- outputs and evaluation
  io::Id og = io::create_group(f, "output");
  io::Id sg = io::create_group(f, "summary");
  std::vector<std::pair<std::string, double>> results;
  const std::vector<hsize_t> map_dims{
      static_cast<hsize_t>(chains), static_cast<hsize_t>(out.x.rows()),
      static_cast<hsize_t>(out.grid.height), static_cast<hsize_t>(out.grid.width)};
  put<T>(og.get(), "x", channels_first<T>(out.x, chains), map_dims);
  if (obj) {
    put<T>(og.get(), "features", channels_first<T>(out.features, chains), map_dims);
    put<T>(og.get(), "head", out.head, {static_cast<hsize_t>(chains), static_cast<hsize_t>(C)});
    if (n.clusters > 0 && finite) {
      const Index S = n.obj.imsize, ps = n.obj.psize, r = n.uptile;
      // Features per image on a grid of gh × gw cells of `cell` pixels. With up-tiling (the
      // reference's saccade_r = r), the image is resized bicubically to S + ps − ps/r, the r²
      // crops shifted by multiples of ps/r are run, and their maps interleaved into an r×
      // denser grid: crop (hi, wi) at (i, j) → cell (i·r + hi, j·r + wi).
      const Index step = ps / r, gh = grid.height * r, gw = grid.width * r;
      std::vector<Eigen::MatrixXd> feats(static_cast<std::size_t>(in.batch));
      const auto pick = [&](const NetworkOutput<T>& o, Index col0, Index cols) {
        const Mat<T>& src = n.cluster_on == "readout"    ? o.features
                            : n.cluster_on == "stimulus" ? o.stimulus
                                                         : o.x;
        return Eigen::MatrixXd(src.middleCols(col0, cols).template cast<double>());
      };
      if (r == 1) {
        for (Index b = 0; b < in.batch; ++b)
          feats[static_cast<std::size_t>(b)] = pick(out, b * P, P);
      } else {
        const Index big = S + ps - step, crops = r * r;
        Mat<T> tiles(3, in.batch * crops * S * S);
        Eigen::MatrixXd resized_all(3, in.batch * big * big);
        for (Index b = 0; b < in.batch; ++b) {
          const Eigen::MatrixXd resized =
              analysis::resize_bicubic(in.images.middleCols(b * S * S, S * S), S, S, big, big);
          resized_all.middleCols(b * big * big, big * big) = resized;
          for (Index hi = 0; hi < r; ++hi)
            for (Index wi = 0; wi < r; ++wi) {
              const Index t = (b * r + hi) * r + wi;
              for (Index y = 0; y < S; ++y)
                for (Index x = 0; x < S; ++x)
                  tiles.col(t * S * S + y * S + x) =
                      resized.col((y + hi * step) * big + x + wi * step).template cast<T>();
            }
        }
        put<double>(og.get(), "uptiled_images", channels_first<double>(resized_all, in.batch),
                    {static_cast<hsize_t>(in.batch), 3, static_cast<hsize_t>(big),
                     static_cast<hsize_t>(big)});
        const Mat<T>& tnoise = uptile_noise;  // read before the run
        const NetworkOutput<T> to = obj->forward(tiles, tnoise, in.batch * crops);
        if (n.store_states)
          put<T>(og.get(), "uptile_noise", channels_first<T>(tnoise, in.batch * crops),
                 {static_cast<hsize_t>(in.batch * crops), static_cast<hsize_t>(C),
                  static_cast<hsize_t>(grid.height), static_cast<hsize_t>(grid.width)});
        for (Index b = 0; b < in.batch; ++b) {
          Eigen::MatrixXd dense(to.features.rows(), gh * gw);
          for (Index hi = 0; hi < r; ++hi)
            for (Index wi = 0; wi < r; ++wi) {
              const Eigen::MatrixXd f = pick(to, ((b * r + hi) * r + wi) * P, P);
              for (Index i = 0; i < grid.height; ++i)
                for (Index j = 0; j < grid.width; ++j)
                  dense.col((i * r + hi) * gw + j * r + wi) = f.col(i * grid.width + j);
            }
          feats[static_cast<std::size_t>(b)] = dense;
        }
        if (n.store_states) {
          Eigen::MatrixXd all(feats[0].rows(), in.batch * gh * gw);
          for (Index b = 0; b < in.batch; ++b)
            all.middleCols(b * gh * gw, gh * gw) = feats[static_cast<std::size_t>(b)];
          put<double>(og.get(), "uptiled_features", channels_first<double>(all, in.batch),
                      {static_cast<hsize_t>(in.batch), static_cast<hsize_t>(all.rows()),
                       static_cast<hsize_t>(gh), static_cast<hsize_t>(gw)});
        }
        results.emplace_back("uptile", static_cast<double>(r));
      }
      std::vector<long long> all_labels;
      Eigen::VectorXd ari(in.batch), mbo(in.batch);
      for (Index b = 0; b < in.batch; ++b) {
        Eigen::MatrixXd& feat = feats[static_cast<std::size_t>(b)];
        if (n.cluster_on == "readout")  // the reference L2-normalises c over channels
          for (Index p = 0; p < feat.cols(); ++p)
            feat.col(p) /= std::max(feat.col(p).norm(), 1e-12);
        const auto patch = analysis::average_linkage(analysis::pca_reduce(feat, 128), n.clusters);
        std::vector<int> pix(static_cast<std::size_t>(S * S));
        for (Index y = 0; y < S; ++y)
          for (Index x = 0; x < S; ++x)
            pix[static_cast<std::size_t>(y * S + x)] =
                patch[static_cast<std::size_t>((y / step) * gw + x / step)];
        all_labels.insert(all_labels.end(), pix.begin(), pix.end());
        if (!in.masks.empty()) {
          const auto& mk = in.masks[static_cast<std::size_t>(b)];
          const bool any_fg = std::any_of(mk.begin(), mk.end(), [](int v) { return v > 0; });
          // No foreground: sklearn's ARI of two empty labellings is 1, and the reference's
          // evaluation averages that in; "skip" writes NaN and leaves the image out of the mean.
          ari[b] = any_fg           ? analysis::adjusted_rand_index(mk, pix, true)
                   : n.empty_fg_one ? 1.0
                                    : std::numeric_limits<double>::quiet_NaN();
          mbo[b] = analysis::mean_best_overlap(mk, pix);
        }
      }
      io::write_int_array(
          og.get(), "labels", all_labels,
          {static_cast<hsize_t>(in.batch), static_cast<hsize_t>(S), static_cast<hsize_t>(S)});
      if (!in.masks.empty()) {
        io::write_array(og.get(), "fg_ari", ari.data(), {static_cast<hsize_t>(in.batch)});
        io::write_array(og.get(), "mbo", mbo.data(), {static_cast<hsize_t>(in.batch)});
        const auto nanmean = [](const Eigen::VectorXd& v) {
          double s = 0;
          int k = 0;
          for (Index i = 0; i < v.size(); ++i)
            if (std::isfinite(v[i])) s += v[i], ++k;
          return k ? s / k : std::numeric_limits<double>::quiet_NaN();
        };
        results.emplace_back("fg_ari", nanmean(ari));
        results.emplace_back("mbo", nanmean(mbo));
      }
    }
  } else if (cif) {
    // logits averaged over the noise draws of each image (the reference's ensemble)
    const Index K = n.cif.classes;
    put<T>(og.get(), "chain_logits", out.features,
           {static_cast<hsize_t>(chains), static_cast<hsize_t>(K)});
    put<T>(og.get(), "pooled", out.head,
           {static_cast<hsize_t>(chains), static_cast<hsize_t>(out.head.rows())});
    Mat<T> mean(K, in.batch);
    std::vector<long long> pred;
    for (Index b = 0; b < in.batch; ++b) {
      mean.col(b) = out.features.middleCols(b * votes, votes).rowwise().mean();
      Index best = 0;
      mean.col(b).maxCoeff(&best);
      pred.push_back(best);
    }
    put<T>(og.get(), "logits", mean, {static_cast<hsize_t>(in.batch), static_cast<hsize_t>(K)});
    io::write_int_array(og.get(), "prediction", pred, {pred.size()});
    if (!in.labels.empty()) {
      long right = 0;
      for (Index b = 0; b < in.batch; ++b)
        right += pred[static_cast<std::size_t>(b)] == in.labels[static_cast<std::size_t>(b)];
      results.emplace_back("accuracy", static_cast<double>(right) / in.batch);
    }
  } else {
    put<T>(og.get(), "logits", out.features,
           {static_cast<hsize_t>(chains), 9, 9, 9});  // [chain][row][col][digit]
    const Eigen::MatrixXi pred = sudoku_predictions<T>(out.features, chains);
    // E-vote: per board the chain with the lowest score of the last block's logged energies
    const Eigen::MatrixXd& last = out.energies.back().proxy;  // (T + 1) × chains
    Eigen::MatrixXd scores(in.batch, votes);
    Eigen::MatrixXi chosen(in.batch, 81);
    std::vector<long long> choice;
    for (Index b = 0; b < in.batch; ++b) {
      Index best = 0;
      for (int k = 0; k < votes; ++k) {
        const Index ch = b * votes + k;
        scores(b, k) = n.vote_score == "last" ? last(last.rows() - 1, ch) : last.col(ch).sum();
        if (scores(b, k) < scores(b, best)) best = k;
      }
      choice.push_back(best);
      chosen.row(b) = pred.row(b * votes + best);
    }
    std::vector<long long> pv, cv;
    for (Index r = 0; r < chains; ++r)
      for (Index c = 0; c < 81; ++c) pv.push_back(pred(r, c));
    for (Index r = 0; r < in.batch; ++r)
      for (Index c = 0; c < 81; ++c) cv.push_back(chosen(r, c));
    io::write_int_array(og.get(), "chain_prediction", pv, {static_cast<hsize_t>(chains), 9, 9});
    io::write_int_array(og.get(), "prediction", cv, {static_cast<hsize_t>(in.batch), 9, 9});
    const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> sr = scores;
    io::write_array(og.get(), "vote_scores", sr.data(),
                    {static_cast<hsize_t>(in.batch), static_cast<hsize_t>(votes)});
    io::write_int_array(og.get(), "vote_choice", choice, {choice.size()});
    if (in.solutions.size()) {
      long solved = 0, blanks = 0, right = 0;
      for (Index b = 0; b < in.batch; ++b) {
        bool all = true;
        for (Index p = 0; p < 81; ++p)
          if (in.boards(b, p) == 0) {
            ++blanks;
            const bool ok = chosen(b, p) == in.solutions(b, p);
            right += ok;
            all = all && ok;
          }
        solved += all;
      }
      results.emplace_back("board_accuracy", static_cast<double>(solved) / in.batch);
      results.emplace_back("cell_accuracy", blanks ? static_cast<double>(right) / blanks : 1.0);
    }
  }
  results.emplace_back("guaranteed", all_guaranteed ? 1.0 : 0.0);
  results.emplace_back("energy_rises", static_cast<double>(energy_rises));
  results.emplace_back("proxy_rises", static_cast<double>(proxy_rises));
  results.emplace_back("wall_seconds", wall);
  for (const auto& [k, v] : results) io::set_attr(sg.get(), k, v);
  const std::string end = finite ? "finished" : "non_finite";
  io::set_attr(f, "end_reason", end);
  io::set_attr(sg.get(), "end_reason", end);
  og = io::Id();
  sg = io::Id();
  file = io::Id();
  fs::rename(partial, output);

  if (!opt.quiet) {
    fmt::print("hkam {}: {}AKOrN {} network, {} ({} parameters, {})\n", who,
               title.empty() ? "" : title + " - ", n.kind, n.precision, params.count(),
               n.weights.empty() ? "random weights from the seed" : n.weights);
    // Sudoku's E-vote and CIFAR's ensemble run `votes` chains per input.
    const std::string inputs =
        votes > 1 ? fmt::format("{} {} x {} {} = {} chains", in.batch, sud ? "boards" : "images",
                                votes, sud ? "E-vote chains" : "noise draws", chains)
                  : fmt::format("{} {}", chains, sud ? "boards" : "images");
    fmt::print("  input        {}; {} block{}, grid {}x{}, C = {}, n = {}\n", inputs, blocks,
               blocks == 1 ? "" : "s", grid.height, grid.width, C,
               obj   ? n.obj.osc_dim
               : sud ? n.sud.osc_dim
                     : n.cif.osc_dim);
    for (int l = 0; l < blocks; ++l) {
      const auto& e = out.energies[static_cast<std::size_t>(l)];
      fmt::print(
          "  block {}      T = {}: energy {:.6g} -> {:.6g}, logged proxy {:.6g} -> {:.6g} "
          "(mean over the batch)\n",
          l, steps_of[static_cast<std::size_t>(l)], e.energy.row(0).mean(),
          e.energy.row(e.energy.rows() - 1).mean(), e.proxy.row(1).mean(),
          e.proxy.row(e.proxy.rows() - 1).mean());
    }
    for (const auto& [k, v] : results) fmt::print("  {:<16} {:.6g}\n", k, v);
    fmt::print("output: {}\n", output);
  }
  if (!finite) {
    fmt::print(stderr, "hkam {}: non-finite values in the network's states or outputs\n", who);
    return 1;
  }
  if (guaranteed_rose) {
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

// Memory and trace size estimated from the sizes, before any weight or activation is allocated.
void check_budget(Section& root, const NetSpec& n) {
  Budget budget(root);
  const double sz = n.precision == "float64" ? 8.0 : 4.0;
  double c = 0, p = 0, blocks = 0, t = 0, heads = 1, kernel = 1;
  bool attn = true;
  if (n.kind == "objects") {
    c = static_cast<double>(n.obj.channels);
    p = std::pow(static_cast<double>(n.obj.imsize) / static_cast<double>(n.obj.psize), 2);
    blocks = static_cast<double>(n.obj.blocks);
    for (int s : n.obj.steps) t = std::max(t, static_cast<double>(s));
    attn = n.obj.connectivity == Connectivity::Attention ||
           std::count(n.obj.block_connectivity.begin(), n.obj.block_connectivity.end(),
                      Connectivity::Attention) > 0;
    heads = static_cast<double>(n.obj.heads);
    kernel = static_cast<double>(n.obj.kernel);
  } else if (n.kind == "sudoku") {
    c = static_cast<double>(n.sud.channels);
    p = 81;
    blocks = static_cast<double>(n.sud.blocks);
    t = std::max(n.sud.steps, n.test_steps);
    heads = static_cast<double>(n.sud.heads);
  } else {
    c = static_cast<double>(n.cif.channels);
    p = std::pow(static_cast<double>(n.cif.imsize), 2);
    blocks = static_cast<double>(n.cif.blocks);
    t = n.cif.steps;
    attn = std::count(n.cif.connectivity.begin(), n.cif.connectivity.end(),
                      Connectivity::Attention) > 0;
    heads = 8;
    kernel = 9;
  }
  // Samples processed at once: the batch, times the up-tiling crops, E-votes or the ensemble.
  const double b = static_cast<double>(n.batch) * n.uptile * n.uptile * n.votes * n.ensemble;
  Section net = root.section("network");
  Section in = root.section("input");
  budget.memory(net, "channels", sz * c * c * kernel * kernel * blocks * 8,
                "for the weights (channels² × kernel² per block)");
  budget.memory(in, "batch", sz * b * c * p * (24 + kernel * kernel),
                "for the activations (batch × channels × positions)");
  if (attn)
    budget.memory(in, "batch", sz * b * heads * p * p * 2,
                  "for the attention matrices (batch × heads × positions²)");
  if (n.store_states)
    budget.output(
        root.section("record"), "state_interval",
        sz * static_cast<double>(n.batch) * c * p * blocks * (std::floor(t / n.state_interval) + 2),
        "for the recorded oscillator states (record.states = false leaves them out)");
}

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

}  // namespace hkam::run
