#include "hkam/akorn/networks.hpp"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

namespace hkam::akorn {

namespace {

template <class T>
Mat<T> param_matrix(const ParamStore& p, const std::string& name, Index rows, Index cols,
                    const std::vector<Index>& shape) {
  const auto& v = p.get(name, shape).values;
  Mat<T> m(rows, cols);
  for (Index r = 0; r < rows; ++r)
    for (Index c = 0; c < cols; ++c) m(r, c) = static_cast<T>(v[r * cols + c]);
  return m;
}

template <class T>
Vec<T> param_vector(const ParamStore& p, const std::string& name, Index n) {
  const auto& v = p.get(name, {n}).values;
  Vec<T> out(n);
  for (Index i = 0; i < n; ++i) out[i] = static_cast<T>(v[i]);
  return out;
}

void linear_specs(std::vector<ParamSpec>& o, const std::string& prefix, Index in, Index out) {
  const double a = 1.0 / std::sqrt(static_cast<double>(in));
  o.push_back({prefix + "weight", {out, in}, Init::Uniform, a, {}});
  o.push_back({prefix + "bias", {out}, Init::Uniform, a, {}});
}

std::string block(int l, int part) {
  return fmt::format("layers.{}.{}.", l, part);
}

}  // namespace

std::vector<double> positional_encoding_2d(Index channels, Index height, Index width) {
  std::vector<double> pe(static_cast<std::size_t>(channels * height * width), 0.0);
  const Index half = channels / 2;
  const auto at = [&](Index c, Index y, Index x) -> double& {
    return pe[static_cast<std::size_t>((c * height + y) * width + x)];
  };
  for (Index i = 0; 2 * i < half; ++i) {
    const double div = std::exp(static_cast<double>(2 * i) * -(std::log(10000.0) / half));
    for (Index y = 0; y < height; ++y)
      for (Index x = 0; x < width; ++x) {
        if (2 * i < half) at(2 * i, y, x) = std::sin(x * div);
        if (2 * i + 1 < half) at(2 * i + 1, y, x) = std::cos(x * div);
        if (half + 2 * i < channels) at(half + 2 * i, y, x) = std::sin(y * div);
        if (half + 2 * i + 1 < channels) at(half + 2 * i + 1, y, x) = std::cos(y * div);
      }
  }
  return pe;
}

// ---------------------------------------------------------------------------------------------
// ObjectNet

template <class T>
ObjectNet<T>::ObjectNet(ObjectNetConfig c) : c_(std::move(c)) {
  if (c_.blocks < 1) throw std::invalid_argument("object network: needs at least one block");
  if (c_.psize < 1 || c_.imsize < c_.psize || c_.input_side() < c_.psize)
    throw std::invalid_argument(
        fmt::format("object network: the image size {} (input {}) must be at least the patch "
                    "size {}",
                    c_.imsize, c_.input_side(), c_.psize));
  if (!c_.gta && c_.embedded_side() / c_.psize != c_.imsize / c_.psize)
    throw std::invalid_argument(fmt::format(
        "object network: without GTA the learned positional embeddings are for the {0}x{0} grid "
        "of imsize {1}; input images of side {2} give a {3}x{3} grid, to which the reference "
        "cannot add them (set autorescale = true to resize the images to imsize)",
        c_.imsize / c_.psize, c_.imsize, c_.input_side(), c_.embedded_side() / c_.psize));
  if (c_.steps.size() == 1) c_.steps.assign(static_cast<std::size_t>(c_.blocks), int(c_.steps[0]));
  if (static_cast<Index>(c_.steps.size()) != c_.blocks)
    throw std::invalid_argument("object network: give one T or one per block");
  const Index h = c_.imsize / c_.psize, C = c_.channels;
  patch_ = Conv2d<T>(3, C, c_.psize, c_.psize, 0, true);
  KLayerConfig k;
  k.channels = C;
  k.osc_dim = c_.osc_dim;
  k.height = k.width = h;
  k.connectivity = c_.connectivity;
  k.kernel = c_.kernel;
  k.heads = c_.heads;
  k.gta = c_.gta;
  k.c_norm = c_.c_norm;
  k.use_omega = c_.use_omega;
  k.global_omega = c_.global_omega;
  k.init_omega = c_.init_omega;
  k.project = c_.project;
  if (!c_.block_connectivity.empty() &&
      static_cast<Index>(c_.block_connectivity.size()) != c_.blocks)
    throw std::invalid_argument("object network: give one J or one per block");
  for (Index l = 0; l < c_.blocks; ++l) {
    if (!c_.block_connectivity.empty())
      k.connectivity = c_.block_connectivity[static_cast<std::size_t>(l)];
    layers_.emplace_back(k);
    readouts_.emplace_back(C, C, c_.osc_dim, 1, 1, 0);
    if (c_.use_ro_x && l < c_.blocks - 1) ro_x_.emplace_back(C, C, 1, 1, 0, true);
  }
  gamma_ = static_cast<T>(c_.gamma);
}

template <class T>
std::vector<ParamSpec> ObjectNet<T>::specs() const {
  std::vector<ParamSpec> o;
  const Index h = c_.imsize / c_.psize, C = c_.channels;
  o.push_back({"gamma", {1}, Init::Constant, c_.gamma, {}});
  patch_.specs(o, "patchfy.1.");
  if (!c_.gta) {
    const auto pe = positional_encoding_2d(C, h, h);
    o.push_back({"pemb_x", {C, h, h}, Init::Given, 0, pe});
    o.push_back({"pemb_c", {C, h, h}, Init::Given, 0, pe});
  }
  for (int l = 0; l < static_cast<int>(c_.blocks); ++l) {
    const auto s = static_cast<std::size_t>(l);
    layers_[s].specs(o, block(l, 0));
    if (!c_.no_ro) readouts_[s].specs(o, block(l, 1));
    if (s < ro_x_.size()) ro_x_[s].specs(o, block(l, 2));
  }
  linear_specs(o, "out.3.", C, 4 * C);
  linear_specs(o, "out.5.", 4 * C, C);
  return o;
}

template <class T>
void ObjectNet<T>::load(const ParamStore& p) {
  const Index h = c_.imsize / c_.psize, C = c_.channels, P = h * h;
  gamma_ = static_cast<T>(p.get("gamma", {1}).values[0]);
  patch_.load(p, "patchfy.1.");
  if (!c_.gta) {  // [C][h][w] → C × P
    pemb_x_ = param_matrix<T>(p, "pemb_x", C, P, {C, h, h});
    pemb_c_ = param_matrix<T>(p, "pemb_c", C, P, {C, h, h});
  }
  for (int l = 0; l < static_cast<int>(c_.blocks); ++l) {
    const auto s = static_cast<std::size_t>(l);
    layers_[s].load(p, block(l, 0));
    if (!c_.no_ro) readouts_[s].load(p, block(l, 1));
    if (s < ro_x_.size()) ro_x_[s].load(p, block(l, 2));
  }
  w1_ = param_matrix<T>(p, "out.3.weight", 4 * C, C, {4 * C, C});
  b1_ = param_vector<T>(p, "out.3.bias", 4 * C);
  w2_ = param_matrix<T>(p, "out.5.weight", C, 4 * C, {C, 4 * C});
  b2_ = param_vector<T>(p, "out.5.bias", C);
}

template <class T>
NetworkOutput<T> ObjectNet<T>::forward(const Mat<T>& images, const Mat<T>& noise, Index batch,
                                       const StateObserver<T>& observe, bool final_energy) const {
  const Index S = c_.input_side(), S2 = S * S;
  if (images.rows() != 3 || images.cols() != batch * S2)
    throw std::invalid_argument(
        fmt::format("object network: images must be 3 x {} ({} images of {}x{}), got {} x {}",
                    batch * S2, batch, S, S, images.rows(), images.cols()));
  const Index E = c_.embedded_side();
  const Grid img{E, E, batch};
  NetworkOutput<T> r;
  r.grid = grid(batch);
  const Index P = r.grid.positions(), C = c_.channels;
  if (noise.rows() != C || noise.cols() != r.grid.columns())
    throw std::invalid_argument(
        fmt::format("object network: noise must be {} x {}", C, r.grid.columns()));
  Mat<T> rescaled;
  if (E != S) {  // autorescale: F.interpolate(bilinear) to imsize
    rescaled.resize(3, img.columns());
    for (Index b = 0; b < batch; ++b) {
      const auto r1 = resize_bilinear(images.col(b * S2).data(), 3, S, S, E, E);
      rescaled.middleCols(b * E * E, E * E) = Eigen::Map<const Mat<T>>(r1.data(), 3, E * E);
    }
  }
  const Mat<T>& source = E != S ? rescaled : images;
  Mat<T> normalized = (source.array() - T(0.5)) / T(0.5);  // RGBNormalize(0.5, 0.5)
  Mat<T> c;
  patch_.forward(normalized, img, c);
  r.x = noise;
  if (!c_.gta)
    for (Index b = 0; b < batch; ++b) {
      c.middleCols(b * P, P) += pemb_c_;
      r.x.middleCols(b * P, P) += pemb_x_;
    }
  r.stimulus = c;
  for (int l = 0; l < static_cast<int>(c_.blocks); ++l) {
    const auto& k = layers_[static_cast<std::size_t>(l)];
    std::function<void(int, const Mat<T>&)> obs;
    if (observe) obs = [&](int t, const Mat<T>& x) { observe(l, t, x); };
    const int steps = c_.steps[static_cast<std::size_t>(l)];
    r.energies.push_back(continuous ? k.flow(r.x, c, r.grid, steps,
                                             effective_step(k.config(), gamma_), *continuous, obs)
                                    : k.forward(r.x, c, r.grid, steps, gamma_, obs, final_energy));
    const auto s = static_cast<std::size_t>(l);
    if (c_.no_ro)
      c = r.x;
    else
      readouts_[s].forward(r.x, r.grid, c);
    if (s < ro_x_.size()) {  // the next block starts from Conv1x1(x) (normalised there)
      Mat<T> y;
      ro_x_[s].forward(r.x, r.grid, y);
      r.x = std::move(y);
    }
  }
  r.features = c;
  Mat<T> pooled(C, batch);
  for (Index b = 0; b < batch; ++b)
    pooled.col(b) = c_.maxpool ? Vec<T>(c.middleCols(b * P, P).rowwise().maxCoeff())
                               : Vec<T>(c.middleCols(b * P, P).rowwise().mean());
  Mat<T> hidden = (w1_ * pooled).colwise() + b1_;
  relu(hidden);
  r.head = (w2_ * hidden).colwise() + b2_;
  return r;
}

// ---------------------------------------------------------------------------------------------
// SudokuNet

template <class T>
SudokuNet<T>::SudokuNet(SudokuNetConfig c) : c_(std::move(c)) {
  if (c_.blocks < 1) throw std::invalid_argument("Sudoku network: needs at least one block");
  const Index C = c_.channels;
  KLayerConfig k;
  k.channels = C;
  k.osc_dim = c_.osc_dim;
  k.height = k.width = 9;
  k.connectivity = Connectivity::Attention;
  k.heads = c_.heads;
  k.gta = true;
  k.c_norm = StimulusNorm::None;
  k.use_omega = c_.use_omega;
  k.global_omega = c_.global_omega;
  k.init_omega = c_.init_omega;
  for (Index l = 0; l < c_.blocks; ++l) {
    layers_.emplace_back(k);
    readouts_.emplace_back(C, C, c_.osc_dim, 1, 1, 0);
    ff1_.emplace_back(C, C, 1);
    ff2_.emplace_back(C, C, 1);
    post_.emplace_back(C, C, 1);
  }
  out_ = Conv2d<T>(C, 9, 1);
  embed_ = Mat<T>::Zero(C, 10);
  gamma_ = static_cast<T>(c_.gamma);
}

template <class T>
std::vector<ParamSpec> SudokuNet<T>::specs() const {
  std::vector<ParamSpec> o;
  const Index C = c_.channels;
  o.push_back({"embedding.weight", {10, C}, Init::Normal, 1.0, {}});
  for (int l = 0; l < static_cast<int>(c_.blocks); ++l) {
    const auto s = static_cast<std::size_t>(l);
    layers_[s].specs(o, block(l, 0));
    readouts_[s].specs(o, block(l, 1) + "0.");
    if (!c_.nl) continue;
    ff1_[s].specs(o, block(l, 1) + "1.fn.fn.0.fn.2.");
    ff2_[s].specs(o, block(l, 1) + "1.fn.fn.1.fn.2.");
    post_[s].specs(o, block(l, 1) + "2.fn.2.");
  }
  out_.specs(o, "out.1.");
  o.push_back({"gamma", {1}, Init::Constant, c_.gamma, {}});
  o.push_back({"x0", {1, C, 9, 9}, Init::Normal, 1.0, {}});  // in the state_dict, never used
  return o;
}

template <class T>
void SudokuNet<T>::load(const ParamStore& p) {
  const Index C = c_.channels;
  embed_ = param_matrix<T>(p, "embedding.weight", 10, C, {10, C}).transpose();
  for (int l = 0; l < static_cast<int>(c_.blocks); ++l) {
    const auto s = static_cast<std::size_t>(l);
    layers_[s].load(p, block(l, 0));
    readouts_[s].load(p, block(l, 1) + "0.");
    if (!c_.nl) continue;
    ff1_[s].load(p, block(l, 1) + "1.fn.fn.0.fn.2.");
    ff2_[s].load(p, block(l, 1) + "1.fn.fn.1.fn.2.");
    post_[s].load(p, block(l, 1) + "2.fn.2.");
  }
  out_.load(p, "out.1.");
  gamma_ = static_cast<T>(p.get("gamma", {1}).values[0]);
}

template <class T>
NetworkOutput<T> SudokuNet<T>::forward(const Eigen::MatrixXi& boards, const Mat<T>& noise,
                                       int steps, const StateObserver<T>& observe,
                                       bool final_energy) const {
  const Index B = boards.rows(), C = c_.channels;
  if (boards.cols() != 81)
    throw std::invalid_argument("Sudoku network: boards must have 81 cells per row");
  if (boards.size() && (boards.minCoeff() < 0 || boards.maxCoeff() > 9))
    throw std::invalid_argument("Sudoku network: cells must hold 0 (blank) to 9");
  NetworkOutput<T> r;
  r.grid = grid(B);
  if (noise.rows() != C || noise.cols() != r.grid.columns())
    throw std::invalid_argument(
        fmt::format("Sudoku network: noise must be {} x {}", C, r.grid.columns()));
  Mat<T> c(C, r.grid.columns());
  r.x.resize(C, r.grid.columns());
  for (Index b = 0; b < B; ++b)
    for (Index p = 0; p < 81; ++p) {
      const int d = boards(b, p);
      c.col(b * 81 + p) = embed_.col(d);
      r.x.col(b * 81 + p) = d > 0 ? Vec<T>(embed_.col(d)) : Vec<T>(noise.col(b * 81 + p));
    }
  r.stimulus = c;
  const int T_steps = steps > 0 ? steps : c_.steps;
  Mat<T> h1, h2;
  for (int l = 0; l < static_cast<int>(c_.blocks); ++l) {
    const auto s = static_cast<std::size_t>(l);
    std::function<void(int, const Mat<T>&)> obs;
    if (observe) obs = [&](int t, const Mat<T>& x) { observe(l, t, x); };
    r.energies.push_back(
        continuous ? layers_[s].flow(r.x, c, r.grid, T_steps,
                                     effective_step(layers_[s].config(), gamma_), *continuous, obs)
                   : layers_[s].forward(r.x, c, r.grid, T_steps, gamma_, obs, final_energy));
    readouts_[s].forward(r.x, r.grid, c);
    if (!c_.nl) continue;
    // ResBlock(FF): c + Conv(ReLU(Conv(ReLU(c)))), then ReLU → Conv.
    h1 = c;
    relu(h1);
    ff1_[s].forward(h1, r.grid, h2);
    relu(h2);
    ff2_[s].forward(h2, r.grid, h1);
    c += h1;
    h1 = c;
    relu(h1);
    post_[s].forward(h1, r.grid, c);
  }
  h1 = c;
  relu(h1);
  out_.forward(h1, r.grid, r.features);
  return r;
}

// ---------------------------------------------------------------------------------------------
// CifarNet

template <class T>
CifarNet<T>::CifarNet(CifarNetConfig c) : c_(std::move(c)) {
  if (c_.blocks < 1) throw std::invalid_argument("CIFAR network: needs at least one block");
  if (c_.kernels.empty()) throw std::invalid_argument("CIFAR network: give a kernel size");
  if (c_.connectivity.empty()) throw std::invalid_argument("CIFAR network: give a J");
  if (c_.osc_dims.empty()) c_.osc_dims = {c_.osc_dim};
  if (c_.ro_groups.empty()) c_.ro_groups = {c_.ro_group};
  // As the reference's _expand_param: any count but one per block means the first for all.
  const auto expand = [&](auto& v) {
    // (a copy: assign's value must not refer into the vector)
    if (static_cast<Index>(v.size()) != c_.blocks) {
      const auto first = v[0];
      v.assign(static_cast<std::size_t>(c_.blocks), first);
    }
  };
  expand(c_.kernels);
  expand(c_.connectivity);
  expand(c_.osc_dims);
  expand(c_.ro_groups);
  const Index pad = c_.ro_kernel / 2;
  conv0_ = Conv2d<T>(3, c_.channels, 3, 1, 1, false);
  Index side = c_.imsize;
  for (int l = 0; l < static_cast<int>(c_.blocks); ++l) {
    const Index C = channels(l);
    if (l > 0) {
      const Index stride = l < 3 ? 2 : 1;
      trans_.emplace_back(channels(l - 1), C, c_.ro_kernel, stride, pad, true);
      side = (side + 2 * pad - c_.ro_kernel) / stride + 1;
    }
    const auto s = static_cast<std::size_t>(l);
    KLayerConfig k;
    k.channels = C;
    k.osc_dim = c_.osc_dims[s];
    k.height = k.width = side;
    k.connectivity = c_.connectivity[s];
    k.kernel = c_.kernels[s];
    k.heads = 8;  // the reference's KLayer defaults (its CIFAR model passes neither)
    k.gta = false;
    k.c_norm = c_.c_norm;
    k.use_omega = c_.use_omega;
    k.global_omega = c_.global_omega;
    k.init_omega = c_.init_omega;
    layers_.emplace_back(k);
    Readout r;
    r.ro = ReadOutConv<T>(C, C, c_.ro_groups[s], c_.ro_kernel, 1, pad);
    r.n1 = ChannelNorm<T>(c_.norm, C);
    r.n2 = ChannelNorm<T>(c_.norm, C);
    r.n3 = ChannelNorm<T>(c_.norm, C);
    r.c1 = Conv2d<T>(C, C, c_.ro_kernel, 1, pad, true);
    r.c2 = Conv2d<T>(C, C, c_.ro_kernel, 1, pad, true);
    r.c3 = Conv2d<T>(C, C, c_.ro_kernel, 1, pad, true);
    readouts_.push_back(std::move(r));
  }
  gamma_ = static_cast<T>(c_.gamma);
}

template <class T>
std::vector<ParamSpec> CifarNet<T>::specs() const {
  std::vector<ParamSpec> o;
  o.push_back({"gamma", {1}, Init::Constant, c_.gamma, {}});
  conv0_.specs(o, "conv0.");
  for (int l = 0; l < static_cast<int>(c_.blocks); ++l) {
    const auto s = static_cast<std::size_t>(l);
    if (l > 0) {  // one module registered twice: the state_dict holds it under both names
      const std::size_t first = o.size();
      trans_[s - 1].specs(o, block(l, 0) + "0.");
      for (std::size_t i = first, end = o.size(); i < end; ++i) {
        ParamSpec twin = o[i];
        twin.name = block(l, 0) + "1." + o[i].name.substr(block(l, 0).size() + 2);
        twin.init = Init::SameAs;
        twin.source = o[i].name;
        o.push_back(twin);
      }
    }
    layers_[s].specs(o, block(l, 2));
    const Readout& r = readouts_[s];
    const std::string p = block(l, 3);
    r.ro.specs(o, p + "0.");
    r.n1.specs(o, p + "1.fn.fn.0.fn.0.");
    r.c1.specs(o, p + "1.fn.fn.0.fn.2.");
    r.n2.specs(o, p + "1.fn.fn.1.fn.0.");
    r.c2.specs(o, p + "1.fn.fn.1.fn.2.");
    r.n3.specs(o, p + "2.fn.0.");
    r.c3.specs(o, p + "2.fn.2.");
  }
  linear_specs(o, "out.", channels(static_cast<int>(c_.blocks) - 1), c_.classes);
  return o;
}

template <class T>
void CifarNet<T>::load(const ParamStore& p) {
  gamma_ = static_cast<T>(p.get("gamma", {1}).values[0]);
  conv0_.load(p, "conv0.");
  for (int l = 0; l < static_cast<int>(c_.blocks); ++l) {
    const auto s = static_cast<std::size_t>(l);
    if (l > 0) {
      trans_[s - 1].load(p, block(l, 0) + "0.");
      const auto& a = p.get(block(l, 0) + "0.weight",
                            {channels(l), channels(l - 1), c_.ro_kernel, c_.ro_kernel});
      const auto& b = p.get(block(l, 0) + "1.weight", a.shape);
      if (a.values != b.values)
        throw std::invalid_argument(fmt::format(
            "'{}0.weight' and '{}1.weight' must be equal: the reference shares one strided conv "
            "between x and c",
            block(l, 0), block(l, 0)));
    }
    layers_[s].load(p, block(l, 2));
    Readout& r = readouts_[s];
    const std::string q = block(l, 3);
    r.ro.load(p, q + "0.");
    r.n1.load(p, q + "1.fn.fn.0.fn.0.");
    r.c1.load(p, q + "1.fn.fn.0.fn.2.");
    r.n2.load(p, q + "1.fn.fn.1.fn.0.");
    r.c2.load(p, q + "1.fn.fn.1.fn.2.");
    r.n3.load(p, q + "2.fn.0.");
    r.c3.load(p, q + "2.fn.2.");
  }
  const Index last = channels(static_cast<int>(c_.blocks) - 1);
  w_ = param_matrix<T>(p, "out.weight", c_.classes, last, {c_.classes, last});
  b_ = param_vector<T>(p, "out.bias", c_.classes);
}

template <class T>
NetworkOutput<T> CifarNet<T>::forward(const Mat<T>& images, const Mat<T>& noise, Index batch,
                                      const StateObserver<T>& observe, bool final_energy) const {
  const Grid img = grid(batch);
  if (images.rows() != 3 || images.cols() != img.columns())
    throw std::invalid_argument(fmt::format("CIFAR network: images must be 3 x {}, got {} x {}",
                                            img.columns(), images.rows(), images.cols()));
  if (noise.rows() != c_.channels || noise.cols() != img.columns())
    throw std::invalid_argument(
        fmt::format("CIFAR network: noise must be {} x {}", c_.channels, img.columns()));
  NetworkOutput<T> r;
  Mat<T> normalized = (images.array() - T(0.5)) / T(0.5);
  Mat<T> c, h1, h2;
  conv0_.forward(normalized, img, c);
  r.stimulus = c;
  r.x = noise;
  Grid g = img;
  for (int l = 0; l < static_cast<int>(c_.blocks); ++l) {
    const auto s = static_cast<std::size_t>(l);
    if (l > 0) {
      const Conv2d<T>& t = trans_[s - 1];
      t.forward(r.x, g, h1);
      r.x = h1;
      t.forward(c, g, h1);
      c = h1;
      g = t.output_grid(g);
    }
    std::function<void(int, const Mat<T>&)> obs;
    if (observe) obs = [&](int t, const Mat<T>& x) { observe(l, t, x); };
    const KLayer<T>& k = layers_[s];
    r.energies.push_back(continuous ? k.flow(r.x, c, g, c_.steps,
                                             effective_step(k.config(), gamma_), *continuous, obs)
                                    : k.forward(r.x, c, g, c_.steps, gamma_, obs, final_energy));
    const Readout& ro = readouts_[s];
    ro.ro.forward(r.x, g, c);
    // ResBlock(FF): c + Conv(ReLU(N(Conv(ReLU(N(c)))))), then Conv(ReLU(N(c)))
    h1 = c;
    ro.n1.apply(h1, g);
    relu(h1);
    ro.c1.forward(h1, g, h2);
    ro.n2.apply(h2, g);
    relu(h2);
    ro.c2.forward(h2, g, h1);
    c += h1;
    h1 = c;
    ro.n3.apply(h1, g);
    relu(h1);
    ro.c3.forward(h1, g, c);
  }
  r.grid = g;
  const Index P = g.positions();
  Mat<T> pooled(c.rows(), batch);
  for (Index b = 0; b < batch; ++b) pooled.col(b) = c.middleCols(b * P, P).rowwise().mean();
  r.head = pooled;
  r.features = (w_ * pooled).colwise() + b_;
  return r;
}

template <class T>
Eigen::MatrixXi sudoku_predictions(const Mat<T>& logits, Index batch) {
  Eigen::MatrixXi out(batch, 81);
  for (Index b = 0; b < batch; ++b)
    for (Index p = 0; p < 81; ++p) {
      Index best = 0;
      logits.col(b * 81 + p).maxCoeff(&best);
      out(b, p) = static_cast<int>(best) + 1;
    }
  return out;
}

template class ObjectNet<float>;
template class ObjectNet<double>;
template class CifarNet<float>;
template class CifarNet<double>;
template class SudokuNet<float>;
template class SudokuNet<double>;
template Eigen::MatrixXi sudoku_predictions<float>(const Mat<float>&, Index);
template Eigen::MatrixXi sudoku_predictions<double>(const Mat<double>&, Index);

}  // namespace hkam::akorn
