#pragma once
// The model object of the `_hkam` module: one of the five model kinds a config can build, with
// the batched evaluator (float64 and float32) when the kind has plain parameters.

#include <pybind11/pybind11.h>

#include <optional>
#include <string>
#include <variant>

#include "hkam/hkam.hpp"
#include "hkam/models/batch.hpp"
#include "hkam/models/params.hpp"

namespace hkam::python {

namespace py = pybind11;

/// Every single-trajectory model kind (the same variant as run::AnyModel, which builds it from a
/// config).
using AnyModel = std::variant<Hopfield, Kuramoto, AkornKuramoto, HopfieldKuramoto, ConvAkorn>;

/// One state goes through the single-trajectory model `hkam run` uses (bit-identical to a trace's
/// energies and right-hand side); a float64 batch through the batched model (or row by row when
/// the kind has none), a float32 state or batch through the batched float model. Not
/// thread-safe (one workspace per precision), as Python objects usually are not.
class Model {
 public:
  /// From parameters: the model `hkam run` builds for them (Hopfield without oscillators,
  /// Kuramoto without units, else Hopfield–Kuramoto) and its batched form.
  explicit Model(HopfieldKuramotoParams p);
  /// A model built from a config (`kind` is its model.kind). It has a batched form when its
  /// parameters are plain (hopfield; kuramoto without a stimulus; hopfield_kuramoto with the
  /// identity pairing and no stimulus).
  Model(AnyModel model, std::string kind);

  const std::string& kind() const { return kind_; }
  StateLayout layout() const;
  Index dim() const { return layout().size(); }
  const AnyModel& single() const { return single_; }
  bool batched() const { return params_.has_value(); }
  /// The parameters; throws ValueError (`what` names the caller) for a kind without them.
  const HopfieldKuramotoParams& params(const char* what = "params") const;
  const BatchModel<double>& batch(double) const;
  const BatchModel<float>& batch(float) const;

  py::object energy(const py::handle& z);
  py::dict energy_parts(const py::handle& z) const;
  py::object rhs(const py::handle& z);
  py::tuple vjp(const py::handle& z, const py::handle& v);
  py::tuple lyapunov() const;

 private:
  template <class T>
  py::object energy_batch(const py::handle& z);
  template <class T>
  py::object rhs_batch(const py::handle& z);
  template <class T>
  py::tuple vjp_batch(const py::handle& z, const py::handle& v);

  std::string kind_;
  AnyModel single_;
  std::optional<HopfieldKuramotoParams> params_;
  mutable std::optional<BatchModel<double>> batch64_;
  mutable std::optional<BatchModel<float>> batch32_;
  BatchWorkspace<double> ws64_;
  BatchWorkspace<float> ws32_;
};

/// Seconds per call of `calls` evaluations of the one-state right-hand side from C++, the output
/// preallocated (the baseline against which bench/python_module.py measures a Python round trip).
double time_rhs(const Model& m, const Eigen::VectorXd& z, long calls);

/// The trainable parameter values as a dict named like the gradients ("hopfield.w" the N×N W as
/// given, "kuramoto.a", "coupling.alpha", …; only those the model has).
py::dict parameter_dict(const HopfieldKuramotoParams& p);
/// `p` with the values of `values` (keys as parameter_dict's; each the same shape as before);
/// throws ValueError naming an unknown key or a wrong shape.
HopfieldKuramotoParams with_parameters(HopfieldKuramotoParams p, const py::dict& values);

/// The gradient's fields as a dict named like the parameters ("hopfield.w", …).
py::dict gradient_dict(const HkGradient& g, const HopfieldKuramotoParams& p);

}  // namespace hkam::python
