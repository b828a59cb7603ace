// The `_hkam` module's model object (src/python/model.hpp).

#include "python/model.hpp"

#include <pybind11/eigen.h>
#include <pybind11/stl.h>

#include <chrono>
#include <utility>

#include "python/arrays.hpp"

namespace hkam::python {

namespace {

AnyModel model_for(const HopfieldKuramotoParams& p) {
  if (p.kuramoto.n_osc == 0) return Hopfield(p.hopfield);
  if (p.hopfield.units() == 0) return Kuramoto(p.kuramoto);
  return HopfieldKuramoto(p);
}

std::string kind_for(const HopfieldKuramotoParams& p) {
  if (p.kuramoto.n_osc == 0) return "hopfield";
  if (p.hopfield.units() == 0) return "kuramoto";
  return "hopfield_kuramoto";
}

/// The plain parameters of a config's model, when the batched model can represent it.
std::optional<HopfieldKuramotoParams> plain_params(const AnyModel& m) {
  HopfieldKuramotoParams p;
  if (const auto* h = std::get_if<Hopfield>(&m)) {
    p.hopfield = h->params();
    return p;
  }
  if (const auto* k = std::get_if<Kuramoto>(&m)) {
    if (k->stimulus().size()) return std::nullopt;
    p.kuramoto = k->params();
    return p;
  }
  if (const auto* hk = std::get_if<HopfieldKuramoto>(&m)) {
    bool identity = true;  // an empty pairing is the identity
    for (std::size_t i = 0; i < hk->pairing().size(); ++i)
      identity = identity && hk->pairing()[i] == static_cast<Index>(i);
    if (!identity || hk->kuramoto().stimulus().size() || !hk->coupling().graph.num_nodes())
      return std::nullopt;
    return hk->params();
  }
  return std::nullopt;
}

}  // namespace

Model::Model(HopfieldKuramotoParams p) : kind_(kind_for(p)), single_(model_for(p)) {
  params_ = std::move(p);
}

Model::Model(AnyModel model, std::string kind)
    : kind_(std::move(kind)), single_(std::move(model)), params_(plain_params(single_)) {}

StateLayout Model::layout() const {
  return std::visit([](const auto& m) { return m.layout(); }, single_);
}

const HopfieldKuramotoParams& Model::params(const char* what) const {
  if (!params_)
    throw py::value_error(std::string(what) + ": this " + kind_ +
                          " model has no batched form (only hopfield, kuramoto without a "
                          "stimulus and hopfield_kuramoto with the identity pairing have one)");
  return *params_;
}

const BatchModel<double>& Model::batch(double) const {
  if (!batch64_) batch64_.emplace(params("batch"));
  return *batch64_;
}

const BatchModel<float>& Model::batch(float) const {
  if (!batch32_) batch32_.emplace(params("float32"));
  return *batch32_;
}

template <class T>
py::object Model::energy_batch(const py::handle& z) {
  bool single = false;
  const Batch<T> zb = to_batch<T>(z, dim(), "energy: z", single);
  Eigen::Matrix<T, Eigen::Dynamic, 1> e;
  if constexpr (std::is_same_v<T, float>) {
    batch(T{}).energy(zb, e, ws32_);
  } else if (batched()) {
    batch(T{}).energy(zb, e, ws64_);
  } else {  // row by row through the single model
    e.resize(zb.rows());
    Eigen::VectorXd row;
    for (Index b = 0; b < zb.rows(); ++b) {
      row = zb.row(b).transpose();
      e(b) = std::visit([&](const auto& m) { return m.energy(row); }, single_);
    }
  }
  if (single) return py::cast(e(0));
  return py::array_t<T>(e.size(), e.data());
}

py::object Model::energy(const py::handle& z) {
  if (is_float32(z)) return energy_batch<float>(z);
  bool single = false;
  const Batch<double> zb = to_batch<double>(z, dim(), "energy: z", single);
  if (!single) return energy_batch<double>(z);
  const Eigen::VectorXd z1 = zb.row(0).transpose();
  return py::float_(std::visit([&](const auto& m) { return m.energy(z1); }, single_));
}

py::dict Model::energy_parts(const py::handle& z) const {
  const Array<double> a = numbers<double>(z, "energy_parts: z");
  if (a.ndim() != 1 || a.shape(0) != dim())
    throw py::value_error("energy_parts: z: expected shape (" + std::to_string(dim()) + ",), got " +
                          shape_text(a));
  const Eigen::VectorXd z1 = Eigen::Map<const Eigen::VectorXd>(a.data(), dim());
  py::dict d;
  const auto parts = std::visit([&](const auto& m) { return m.energy_parts(z1); }, single_);
  for (const auto& part : parts) d[py::str(part.name)] = part.value;
  return d;
}

template <class T>
py::object Model::rhs_batch(const py::handle& z) {
  bool single = false;
  const Batch<T> zb = to_batch<T>(z, dim(), "rhs: z", single);
  Batch<T> dz;
  if constexpr (std::is_same_v<T, float>) {
    batch(T{}).rhs(zb, dz, ws32_);
  } else if (batched()) {
    batch(T{}).rhs(zb, dz, ws64_);
  } else {
    dz.resize(zb.rows(), zb.cols());
    Eigen::VectorXd row, f(dim());
    for (Index b = 0; b < zb.rows(); ++b) {
      row = zb.row(b).transpose();
      std::visit([&](const auto& m) { m(row, f, 0.0); }, single_);
      dz.row(b) = f.transpose();
    }
  }
  return from_batch(dz, single);
}

py::object Model::rhs(const py::handle& z) {
  if (is_float32(z)) return rhs_batch<float>(z);
  bool single = false;
  const Batch<double> zb = to_batch<double>(z, dim(), "rhs: z", single);
  if (!single) return rhs_batch<double>(z);
  py::array_t<double> out(dim());
  Eigen::Map<Eigen::VectorXd> f(out.mutable_data(), dim());
  const Eigen::VectorXd z1 = zb.row(0).transpose();
  Eigen::VectorXd dz(dim());
  std::visit([&](const auto& m) { m(z1, dz, 0.0); }, single_);
  f = dz;
  return out;
}

template <class T>
py::tuple Model::vjp_batch(const py::handle& z, const py::handle& v) {
  bool single = false, single_v = false;
  const Batch<T> zb = to_batch<T>(z, dim(), "vjp: z", single);
  const Batch<T> vb = to_batch<T>(v, dim(), "vjp: v", single_v);
  if (vb.rows() != zb.rows() || single != single_v)
    throw py::value_error("vjp: z and v must have the same shape");
  const HopfieldKuramotoParams& p = params("vjp");
  auto grad = HkGradient::zeros_like(p);
  Batch<T> zbar;
  if constexpr (std::is_same_v<T, float>)
    batch(T{}).vjp(zb, vb, zbar, ws32_, &grad);
  else
    batch(T{}).vjp(zb, vb, zbar, ws64_, &grad);
  return py::make_tuple(from_batch(zbar, single), gradient_dict(grad, p));
}

py::tuple Model::vjp(const py::handle& z, const py::handle& v) {
  return is_float32(z) ? vjp_batch<float>(z, v) : vjp_batch<double>(z, v);
}

py::tuple Model::lyapunov() const {
  const Guarantee g = std::visit([](const auto& m) { return m.lyapunov(); }, single_);
  return py::make_tuple(g.guaranteed, g.reason, g.warnings);
}

double time_rhs(const Model& m, const Eigen::VectorXd& z, long calls) {
  if (z.size() != m.dim() || calls < 1)
    throw py::value_error("_time_rhs: expected one state of the model's size and calls >= 1");
  Eigen::VectorXd f(m.dim());
  const auto start = std::chrono::steady_clock::now();
  for (long k = 0; k < calls; ++k) {
    std::visit([&](const auto& mm) { mm(z, f, 0.0); }, m.single());
  }
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  return took.count() / static_cast<double>(calls);
}

py::dict parameter_dict(const HopfieldKuramotoParams& p) {
  py::dict d;
  if (p.hopfield.units() > 0) {
    d["hopfield.w"] = p.hopfield.w;
    d["hopfield.b"] = p.hopfield.b;
  }
  if (p.kuramoto.n_osc > 0) {
    d["kuramoto.a"] = p.kuramoto.a;
    if (p.kuramoto.b.size()) d["kuramoto.b"] = p.kuramoto.b;
    if (p.kuramoto.omega.size()) d["kuramoto.omega"] = p.kuramoto.omega;
  }
  if (p.coupling.present()) {
    if (p.coupling.kind != HkCouplingKind::General) d["coupling.alpha"] = p.coupling.alpha;
    if (p.coupling.weights.size()) d["coupling.weights"] = p.coupling.weights;
  }
  return d;
}

namespace {

template <class M>
void assign(M& target, const py::handle& value, const std::string& key) {
  const Array<double> a = numbers<double>(value, "with_parameters: " + key);
  const bool vector = M::ColsAtCompileTime == 1;
  const Index rows = target.rows(), cols = target.cols();
  const bool fits = vector ? a.size() == rows && a.ndim() <= 1
                           : a.ndim() == 2 && a.shape(0) == rows && a.shape(1) == cols;
  if (!fits)
    throw py::value_error("with_parameters: " + key + ": expected shape " +
                          (vector
                               ? "(" + std::to_string(rows) + ",)"
                               : "(" + std::to_string(rows) + ", " + std::to_string(cols) + ")") +
                          ", got " + shape_text(a));
  for (Index i = 0; i < rows; ++i)
    for (Index j = 0; j < cols; ++j) target(i, j) = a.data()[i * cols + j];
}

}  // namespace

HopfieldKuramotoParams with_parameters(HopfieldKuramotoParams p, const py::dict& values) {
  const py::dict have = parameter_dict(p);
  for (const auto& [k, v] : values) {
    const std::string key = py::str(k);
    if (!have.contains(k)) {
      const auto names = py::str(", ").attr("join")(have).cast<std::string>();
      throw py::value_error("with_parameters: unknown parameter '" + key +
                            "' (this model has: " + names + ")");
    }
    if (key == "hopfield.w") assign(p.hopfield.w, v, key);
    if (key == "hopfield.b") assign(p.hopfield.b, v, key);
    if (key == "kuramoto.a") assign(p.kuramoto.a, v, key);
    if (key == "kuramoto.b") assign(p.kuramoto.b, v, key);
    if (key == "kuramoto.omega") assign(p.kuramoto.omega, v, key);
    if (key == "coupling.weights") assign(p.coupling.weights, v, key);
    if (key == "coupling.alpha") p.coupling.alpha = v.cast<double>();
  }
  return p;
}

py::dict gradient_dict(const HkGradient& g, const HopfieldKuramotoParams& p) {
  py::dict d;
  if (p.hopfield.units() > 0) {
    if (g.hopfield.w.size()) d["hopfield.w"] = g.hopfield.w;
    if (g.hopfield.b.size()) d["hopfield.b"] = g.hopfield.b;
  }
  if (p.kuramoto.n_osc > 0) {
    if (g.kuramoto.a.size()) d["kuramoto.a"] = g.kuramoto.a;
    if (g.kuramoto.b.size()) d["kuramoto.b"] = g.kuramoto.b;
    if (g.kuramoto.omega.size()) d["kuramoto.omega"] = g.kuramoto.omega;
  }
  if (p.coupling.present()) {
    if (p.coupling.kind != HkCouplingKind::General) d["coupling.alpha"] = g.coupling.alpha;
    if (g.coupling.weights.size()) d["coupling.weights"] = g.coupling.weights;
  }
  return d;
}

}  // namespace hkam::python
