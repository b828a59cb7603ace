// The initial state of a run from [initial] (docs/config.md).
#include "run/initial_state.hpp"

#include <fmt/format.h>

#include <optional>

#include "io/h5.hpp"
#include "run/model_config.hpp"
#include "train/data.hpp"

namespace hkam::run {

using config::Section;

namespace {

// Reads the last recorded state of an hkam trace: x (N) and/or sigma (M×D), flattened.
Eigen::VectorXd last_state(Section& s, const std::string& path, const char* dataset,
                           Index expected) {
  std::vector<double> v;
  std::vector<hsize_t> shape;
  try {
    io::Id f = io::open_file_read(path);
    if (std::string(dataset) == "trace/sigma" && !io::exists(f.get(), "trace") &&
        io::exists(f.get(), "initial/sigma")) {  // a training file: its trained start
      v = io::read_doubles(f.get(), "initial/sigma", &shape);
      shape = {1};
    } else {
      v = io::read_doubles(f.get(), dataset, &shape);
    }
    io::require_finite(v, path + ": /" + dataset);
  } catch (const std::exception& e) {
    s.fail("file", fmt::format("cannot read /{} from {}: {}", dataset, path, e.what()));
  }
  if (shape.empty() || shape[0] == 0)
    s.fail("file", fmt::format("{}: /{} is empty", path, dataset));
  const Index per_row = static_cast<Index>(v.size() / shape[0]);
  if (per_row != expected)
    s.fail("file", fmt::format("{}: /{} holds {} numbers per time, the model needs {}", path,
                               dataset, per_row, expected));
  return Eigen::Map<Eigen::VectorXd>(v.data() + (shape[0] - 1) * per_row, per_row);
}

// The index of a stored pattern, read from `key`.
long pattern_index(Section& s, const std::string& key, std::optional<long> def,
                   const Eigen::MatrixXd& patterns) {
  const long mu = s.integer(key, def, config::at_least(0));
  if (mu >= patterns.rows())
    s.fail(key,
           fmt::format("there are {} patterns (0 to {})", patterns.rows(), patterns.rows() - 1));
  return mu;
}

}  // namespace

Eigen::VectorXd read_initial(Section s, const StateLayout& lay, const Eigen::MatrixXd& patterns,
                             std::uint64_t seed, long& cue) {
  Rng rng(Rng::derive(seed, kInitial));
  Eigen::VectorXd z(lay.size());
  const bool want_file = [&] {
    bool f = false;
    if (lay.n_units && s.has("x")) f = f || s.string("x", std::nullopt) == "file";
    if (lay.n_osc && s.has("sigma")) f = f || s.string("sigma", std::nullopt) == "file";
    return f;
  }();
  std::string file;
  if (want_file)
    file = s.document().input_path(s.string("file", std::nullopt));
  else
    s.irrelevant("file", "only used with x = \"file\" or sigma = \"file\"");
  if (lay.n_units) {
    const bool have_p = patterns.size() > 0;
    const std::string x = s.choice("x", have_p ? "pattern" : "random",
                                   {"pattern", "random", "zero", "file", "image"});
    auto head = z.head(lay.n_units);
    if (x == "pattern") {
      if (!have_p) s.fail("x", "\"pattern\" needs patterns: add a [patterns] table");
      const long mu = pattern_index(s, "pattern", 0, patterns);
      cue = mu;
      const double amp = s.number("amplitude", 1.0, config::positive());
      const double flip = s.number("flip", 0.0, config::unit_interval());
      head = amp * patterns.row(mu).transpose();
      if (s.has("blend_pattern")) {  // an ambiguous cue: each unit from pattern ν w.p. `blend`
        const long nu = pattern_index(s, "blend_pattern", std::nullopt, patterns);
        const double blend = s.number("blend", 0.5, config::unit_interval());
        for (Index i = 0; i < lay.n_units; ++i)
          if (rng.uniform() < blend) head[i] = amp * patterns(nu, i);
      } else {
        s.irrelevant("blend", "only used with blend_pattern");
      }
      for (Index i = 0; i < lay.n_units; ++i)
        if (rng.uniform() < flip) head[i] = -head[i];
    } else {
      for (const char* k : {"pattern", "amplitude", "flip", "blend_pattern", "blend"})
        s.irrelevant(k, "only used with x = \"pattern\"");
    }
    if (x == "random")
      head = normal_vector(rng, lay.n_units, s.number("scale", 1.0, config::positive()));
    else
      s.irrelevant("scale", "only used with x = \"random\"");
    if (x == "zero") head.setZero();
    if (x == "file") head = last_state(s, file, "trace/x", lay.n_units);
    if (x == "image") {  // as `hkam train` feeds it: x = [pixels / 255; 0 …]
      const std::string images = s.document().input_path(s.string("image_file", std::nullopt));
      const long index = s.integer("image_index", 0, config::at_least(0));
      try {
        const train::IdxArray a = train::read_idx(images);
        const Index count = a.dims.empty() ? 0 : Index(a.dims[0]);
        const Index size = count ? Index(a.values.size()) / count : 0;
        if (index >= count)
          s.fail("image_index",
                 fmt::format("{} holds {} images (0 to {})", images, count, count - 1));
        if (size > lay.n_units)
          s.fail("image_file",
                 fmt::format("an image of {} pixels does not fit the {} units", size, lay.n_units));
        head.setZero();
        for (Index p = 0; p < size; ++p) head[p] = a.values[std::size_t(index * size + p)] / 255.0;
      } catch (const std::runtime_error& e) {
        s.fail("image_file", e.what());
      }
    } else {
      s.irrelevant("image_file", "only used with x = \"image\"");
      s.irrelevant("image_index", "only used with x = \"image\"");
    }
    const double noise = s.number("noise", 0.0, config::non_negative());
    if (noise > 0) head += normal_vector(rng, lay.n_units, noise);
  } else {
    for (const char* k :
         {"x", "pattern", "amplitude", "flip", "scale", "noise", "image_file", "image_index"})
      s.irrelevant(k, "the model has no Hopfield units");
  }
  if (lay.n_osc) {
    const std::string sig = s.choice("sigma", "random", {"random", "aligned", "pattern", "file"});
    const Index md = lay.n_osc * lay.osc_dim;
    auto tail = z.tail(md);
    if (sig != "pattern")
      for (const char* k : {"sigma_pattern", "sigma_noise"})
        s.irrelevant(k, "only used with sigma = \"pattern\"");
    if (sig == "pattern") {  // a context: σ_i = ξ^μ_i e_1 (+ noise), one oscillator per unit
      if (patterns.size() == 0 || lay.n_osc != lay.n_units)
        s.fail("sigma", "\"pattern\" needs patterns and one oscillator per unit (M = N)");
      const long mu = pattern_index(s, "sigma_pattern", std::nullopt, patterns);
      const double noise = s.number("sigma_noise", 0.0, config::non_negative());
      tail.setZero();
      for (Index i = 0; i < lay.n_osc; ++i) tail[i * lay.osc_dim] = patterns(mu, i);
      if (noise > 0) tail += normal_vector(rng, md, noise);  // renormalised when the run starts
    } else if (sig == "random") {
      const Eigen::MatrixXd r = random_unit_rows(rng, lay.n_osc, lay.osc_dim);
      for (Index i = 0; i < lay.n_osc; ++i) tail.segment(i * lay.osc_dim, lay.osc_dim) = r.row(i);
    } else if (sig == "aligned") {
      tail.setZero();
      for (Index i = 0; i < lay.n_osc; ++i) tail[i * lay.osc_dim] = 1.0;
    } else {
      tail = last_state(s, file, "trace/sigma", md);  // or a training file's /initial/sigma
    }
  } else {
    s.irrelevant("sigma", "the model has no oscillators");
  }
  s.done();
  return z;
}

}  // namespace hkam::run
