#include "run/network_spec.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "analysis/segmentation.hpp"
#include "run/limits.hpp"
#include "run/overloaded.hpp"

namespace hkam::run {

using config::Section;
using namespace hkam::akorn;

namespace {

StimulusNorm read_norm(Section& s) {
  const auto v = s.choice("c_norm", "gn", {"gn", "sandb", "none"});
  return v == "gn"      ? StimulusNorm::GroupNorm
         : v == "sandb" ? StimulusNorm::ScaleAndBias
                        : StimulusNorm::None;
}

Connectivity to_connectivity(const std::string& j) {
  return j == "attn" ? Connectivity::Attention : Connectivity::Conv;
}

void read_objects_net(Section& s, NetSpec& n) {
  auto& o = n.net.emplace<ObjectNetConfig>();
  const auto pos = config::at_least(1);
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
  // A side that is not a multiple of psize: the strided patch conv leaves the remainder out.
  o.imsize = s.integer("imsize", 32, config::at_least(o.psize));
  o.input_size = s.integer("input_size", o.imsize, config::at_least(o.psize));
  o.autorescale = s.boolean("autorescale", false);
  // J for every block, or one per block (the reference's J list, e.g. ["conv", "attn"]).
  const auto Js = s.choices("connectivity", "attn", {"attn", "conv"});
  if (Js.size() != 1 && static_cast<Index>(Js.size()) != o.blocks)
    s.fail("connectivity",
           fmt::format("expected one J or one per block ({}), got {}", o.blocks, Js.size()));
  o.connectivity = to_connectivity(Js.front());
  if (Js.size() > 1)
    for (const auto& j : Js) o.block_connectivity.push_back(to_connectivity(j));
  const bool any_conv = std::count(Js.begin(), Js.end(), "conv") > 0;
  const bool any_attn = std::count(Js.begin(), Js.end(), "attn") > 0;
  // gta: the attention blocks' GTA matrices; false, with any J, adds the learned positional
  // embeddings pemb_x and pemb_c as the reference model does (ObjectNet).
  o.gta = s.boolean("gta", true);
  if (!o.gta && o.embedded_side() / o.psize != o.imsize / o.psize)
    s.fail("input_size",
           fmt::format("without GTA the learned positional embeddings are for the {0}x{0} grid of "
                       "imsize = {1}; images of side {2} give a {3}x{3} grid, to which the "
                       "reference cannot add them (set autorescale = true)",
                       o.imsize / o.psize, o.imsize, o.input_side(), o.embedded_side() / o.psize));
  if (any_conv) {
    o.kernel = s.integer("kernel", 1, pos);
    if (o.kernel % 2 == 0) s.fail("kernel", fmt::format("expected an odd size, got {}", o.kernel));
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
  if (n.symmetrize && any_attn)  // "conv" only when every block is conv
    s.fail("symmetrize", "only a conv J can be symmetrised (attention depends on the state)");
  if (o.channels % o.osc_dim != 0)
    s.fail("channels",
           fmt::format("expected a multiple of osc_dim = {}, got {}", o.osc_dim, o.channels));
  if (o.use_omega && o.osc_dim % 2 != 0)
    s.fail("osc_dim", fmt::format("use_omega needs an even osc_dim (Omega rotates channel "
                                  "pairs), got {}",
                                  o.osc_dim));
}

// The per-block checks of the CIFAR network (block l has C·2^l channels).
void check_cifar_blocks(Section& s, const CifarNetConfig& o, bool group_norm) {
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
  if (group_norm && o.channels % 8 != 0)
    s.fail("norm",
           fmt::format("GroupNorm(8, C) needs channels divisible by 8, got {}", o.channels));
}

void read_cifar_net(Section& s, NetSpec& n) {
  auto& o = n.net.emplace<CifarNetConfig>();
  const auto pos = config::at_least(1);
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
  for (const auto& j : Js) o.connectivity.push_back(to_connectivity(j));
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
  check_cifar_blocks(s, o, norm == "gn");
}

void read_sudoku_net(Section& s, NetSpec& n) {
  auto& o = n.net.emplace<SudokuNetConfig>();
  const auto pos = config::at_least(1);
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

void read_integration(Section& s, NetSpec& n) {
  const auto integration = s.choice("integration", "discrete", {"discrete", "continuous"});
  if (integration != "continuous") {
    for (const char* k : {"stepper", "rtol", "atol", "dt"})
      s.irrelevant(k, "only for integration = \"continuous\"");
    return;
  }
  SimulateOptions so;
  const auto stepper = s.choice("stepper", "dopri5", {"dopri5", "rkf78", "rk4", "euler"});
  so.stepper = stepper_from_name(stepper);
  so.rtol = s.number("rtol", 1e-6, config::positive());
  so.atol = s.number("atol", 1e-8, config::positive());
  so.dt = s.number("dt", 0.01, config::positive());
  if (n.precision != "float64")
    s.fail("integration", "continuous-time K-layers run in float64: set precision = \"float64\"");
  if (const auto* o = n.objects_config(); o && !o->project)
    s.fail("integration",
           "continuous-time K-layers need project = true (without the "
           "projection the flow leaves the spheres)");
  n.continuous = so;
}

void read_input(Section& in, NetSpec& n) {
  const auto pos = config::at_least(1);
  if (n.kind() != "sudoku") {
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
}

void read_evaluate(Section& ev, NetSpec& n) {
  const auto pos = config::at_least(1);
  if (n.kind() == "cifar") {
    n.ensemble = static_cast<int>(ev.integer("ensemble", 1, pos));
    for (const char* k :
         {"clusters", "features", "uptile", "empty_foreground", "votes", "vote_score", "steps"})
      ev.irrelevant(k, "not used by the CIFAR network (evaluate.ensemble is)");
  } else if (const auto* o = n.objects_config()) {
    n.clusters = static_cast<int>(ev.integer("clusters", 0, config::at_least(0)));
    n.cluster_on = ev.choice("features", "readout", {"readout", "oscillators", "stimulus"});
    n.uptile = static_cast<int>(ev.integer("uptile", 1, pos));
    n.empty_fg_one = ev.choice("empty_foreground", "one", {"one", "skip"}) == "one";
    if (o->psize % n.uptile != 0)
      ev.fail("uptile",
              fmt::format("expected a divisor of network.psize = {}, got {}", o->psize, n.uptile));
    // The reference upsamples the label map by nn.Upsample(scale_factor = S/h): for some sides
    // its output is not S (floating-point rounding) and its metrics then fail.
    const Index side = o->input_side(), cells = o->embedded_side() / o->psize * n.uptile;
    if (n.clusters > 0 && analysis::nearest_upsample_index(cells, side).empty())
      ev.fail("clusters",
              fmt::format(
                  "the reference's evaluation upsamples the {0}x{0} label map to the "
                  "{1}x{1} image by nn.Upsample(scale_factor = {1}/{0}), which gives a "
                  "{2}x{2} map (floating-point rounding) and fails on the size mismatch; "
                  "choose another input_size, imsize, psize or uptile",
                  cells, side,
                  static_cast<Index>(static_cast<double>(cells) *
                                     (static_cast<double>(side) / static_cast<double>(cells)))));
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
}

}  // namespace

Index NetSpec::channels() const {
  return std::visit([](const auto& c) { return c.channels; }, net);
}
Index NetSpec::osc_dim() const {
  return std::visit([](const auto& c) { return c.osc_dim; }, net);
}
int NetSpec::blocks() const {
  return std::visit([](const auto& c) { return static_cast<int>(c.blocks); }, net);
}
double NetSpec::gamma() const {
  return std::visit([](const auto& c) { return c.gamma; }, net);
}
int NetSpec::steps(int block) const {
  return std::visit(
      Overloaded{[&](const ObjectNetConfig& c) {
                   return c.steps[c.steps.size() == 1 ? 0 : static_cast<std::size_t>(block)];
                 },
                 [&](const SudokuNetConfig& c) { return test_steps > 0 ? test_steps : c.steps; },
                 [](const CifarNetConfig& c) { return c.steps; }},
      net);
}
int NetSpec::chains_per_input() const {
  return std::visit(Overloaded{[](const ObjectNetConfig&) { return 1; },
                               [&](const SudokuNetConfig&) { return votes; },
                               [&](const CifarNetConfig&) { return ensemble; }},
                    net);
}

NetSpec read_spec(Section& root) {
  NetSpec n;
  Section s = root.section("network");
  const std::string kind = s.choice("kind", std::nullopt, {"objects", "sudoku", "cifar"});
  n.precision = s.choice("precision", "float32", {"float32", "float64"});
  n.weights = s.document().input_path(s.string("weights", ""));
  n.gamma_given = s.has("gamma");
  if (kind == "objects")
    read_objects_net(s, n);
  else if (kind == "cifar")
    read_cifar_net(s, n);
  else
    read_sudoku_net(s, n);
  read_integration(s, n);
  s.done();

  Section in = root.section("input");
  read_input(in, n);

  Section ini = root.section("initial");
  n.noise_file = ini.document().input_path(ini.string("noise_file", ""));
  ini.done();

  Section ev = root.section("evaluate");
  read_evaluate(ev, n);

  Section rec = root.section("record");
  const auto pos = config::at_least(1);
  n.store_states = rec.boolean("states", true);
  n.state_interval = static_cast<int>(rec.integer("state_interval", 1, pos));
  n.store_weights = rec.boolean("weights", false);
  rec.done();
  return n;
}

void check_budget(Section& root, const NetSpec& n) {
  Budget budget(root);
  const double sz = n.precision == "float64" ? 8.0 : 4.0;
  const auto has_attention = [](const std::vector<Connectivity>& js) {
    return std::count(js.begin(), js.end(), Connectivity::Attention) > 0;
  };
  // positions, largest T, attention anywhere, heads, kernel size
  struct Shape {
    double p = 0, t = 0;
    bool attn = true;
    double heads = 1, kernel = 1;
  };
  const Shape sh =
      std::visit(Overloaded{[&](const ObjectNetConfig& o) {
                              Shape r;
                              r.p = std::pow(static_cast<double>(o.embedded_side() / o.psize), 2);
                              for (int s : o.steps) r.t = std::max(r.t, static_cast<double>(s));
                              r.attn = o.connectivity == Connectivity::Attention ||
                                       has_attention(o.block_connectivity);
                              r.heads = static_cast<double>(o.heads);
                              r.kernel = static_cast<double>(o.kernel);
                              return r;
                            },
                            [&](const SudokuNetConfig& o) {
                              Shape r;
                              r.p = 81;
                              r.t = std::max(o.steps, n.test_steps);
                              r.heads = static_cast<double>(o.heads);
                              return r;
                            },
                            [&](const CifarNetConfig& o) {
                              Shape r;
                              r.p = std::pow(static_cast<double>(o.imsize), 2);
                              r.t = o.steps;
                              r.attn = has_attention(o.connectivity);
                              r.heads = 8;
                              r.kernel = 9;
                              return r;
                            }},
                 n.net);
  const double c = static_cast<double>(n.channels()), blocks = n.blocks();
  // Samples processed at once: the batch, times the up-tiling crops, E-votes or the ensemble.
  const double b = static_cast<double>(n.batch) * n.uptile * n.uptile * n.votes * n.ensemble;
  Section net = root.section("network");
  Section in = root.section("input");
  budget.memory(net, "channels", sz * c * c * sh.kernel * sh.kernel * blocks * 8,
                "for the weights (channels² × kernel² per block)");
  budget.memory(in, "batch", sz * b * c * sh.p * (24 + sh.kernel * sh.kernel),
                "for the activations (batch × channels × positions)");
  if (sh.attn)
    budget.memory(in, "batch", sz * b * sh.heads * sh.p * sh.p * 2,
                  "for the attention matrices (batch × heads × positions²)");
  if (n.store_states)
    budget.output(root.section("record"), "state_interval",
                  sz * static_cast<double>(n.batch) * c * sh.p * blocks *
                      (std::floor(sh.t / n.state_interval) + 2),
                  "for the recorded oscillator states (record.states = false leaves them out)");
}

}  // namespace hkam::run
