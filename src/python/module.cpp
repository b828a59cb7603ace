// The compiled part of the `hkam` Python package (python/hkam/__init__.py wraps it): graphs,
// model parameters, the model object (energy, right-hand side, VJP of one state or a batch,
// float64 or float32: src/python/model.hpp), solves with their energies and audit, reverse-mode
// gradients (src/python/simulate.hpp) and experiments read from configs
// (src/python/config.hpp). Array layouts: src/python/arrays.hpp. Errors: std::invalid_argument
// and config errors → ValueError with the library's messages.

#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "config/reader.hpp"
#include "hkam/models/graph.hpp"
#include "hkam/models/params.hpp"
#include "hkam/version.hpp"
#include "python/config.hpp"
#include "python/model.hpp"
#include "python/simulate.hpp"

namespace py = pybind11;
using hkam::Index;

namespace {

using hkam::python::ConfigExperiment;
using hkam::python::Model;

Eigen::MatrixXi edges_array(const hkam::Graph& g) {
  const hkam::Graph e = g.is_complete() ? g.materialized() : g;
  Eigen::MatrixXi out(static_cast<Index>(e.edges().size()), 2);
  for (std::size_t k = 0; k < e.edges().size(); ++k) {
    out(static_cast<Index>(k), 0) = e.edges()[k].i;
    out(static_cast<Index>(k), 1) = e.edges()[k].j;
  }
  return out;
}

hkam::Graph graph_from_edges(
    Index n, const Eigen::Matrix<std::int64_t, Eigen::Dynamic, Eigen::Dynamic>& edges) {
  if (edges.size() > 0 && edges.cols() != 2)
    throw py::value_error("Graph.from_edges: expected an (E, 2) array of node pairs");
  std::vector<hkam::Edge> list;
  for (Index k = 0; k < edges.rows(); ++k) {
    const auto i = edges(k, 0), j = edges(k, 1);
    if (i < 0 || j < 0 || i >= n || j >= n)
      throw py::value_error("Graph.from_edges: edge " + std::to_string(k) + " (" +
                            std::to_string(i) + ", " + std::to_string(j) +
                            ") has a node outside [0, " + std::to_string(n) + ")");
    list.push_back({static_cast<std::int32_t>(i), static_cast<std::int32_t>(j)});
  }
  return hkam::Graph::from_edges(n, std::move(list));
}

}  // namespace

PYBIND11_MODULE(_hkam, mod) {
  mod.doc() = "hkam's compiled core (use the `hkam` package, which wraps it).";
  mod.attr("__version__") = std::string(hkam::version());

  py::class_<hkam::Graph>(mod, "Graph",
                          "An undirected simple graph on n nodes (edges i < j, stored once).")
      .def_static("complete", &hkam::Graph::complete, py::arg("n"), "All n(n-1)/2 pairs.")
      .def_static("ring", &hkam::Graph::ring, py::arg("n"), py::arg("k"),
                  "Ring lattice: each node linked to its k/2 nearest neighbours on each side.")
      .def_static("watts_strogatz", &hkam::Graph::watts_strogatz, py::arg("n"), py::arg("k"),
                  py::arg("p"), py::arg("seed"),
                  "Watts-Strogatz small world (ring(n, k), each edge rewired with probability p); "
                  "always connected; the same seed gives the same graph as hkam run.")
      .def_static("from_edges", &graph_from_edges, py::arg("n"), py::arg("edges"),
                  "From an (E, 2) integer array of node pairs (0-based).")
      .def_property_readonly("num_nodes", &hkam::Graph::num_nodes)
      .def_property_readonly("num_edges", &hkam::Graph::num_edges)
      .def_property_readonly("is_complete", &hkam::Graph::is_complete)
      .def_property_readonly("edges", &edges_array,
                             "The (E, 2) array of edges i < j (a complete graph lists all pairs).")
      .def("__repr__", [](const hkam::Graph& g) {
        return "<hkam.Graph " + std::to_string(g.num_nodes()) + " nodes, " +
               std::to_string(g.num_edges()) + " edges" + (g.is_complete() ? ", complete>" : ">");
      });

  py::class_<hkam::HopfieldKuramotoParams>(mod, "Params",
                                           "The parameters of a Hopfield-Kuramoto model.")
      .def(py::init<>())
      .def("set_hopfield",
           [](hkam::HopfieldKuramotoParams& p, const Eigen::MatrixXd& w, const Eigen::VectorXd& b,
              const std::string& lagrangian, double beta) {
             p.hopfield.w = w;
             p.hopfield.b = b;
             p.hopfield.lagrangian = hkam::Lagrangian::from_name(lagrangian, beta);
           })
      .def("set_kuramoto",
           [](hkam::HopfieldKuramotoParams& p, Index n, Index dim, const hkam::Graph& g,
              const std::string& potential, const Eigen::VectorXd& a, const Eigen::VectorXd& b,
              const Eigen::MatrixXd& omega) {
             p.kuramoto.n_osc = n;
             p.kuramoto.osc_dim = dim;
             p.kuramoto.graph = g;
             p.kuramoto.potential = hkam::pair_potential_from_name(potential);
             p.kuramoto.a = a;
             p.kuramoto.b = b;
             p.kuramoto.omega = omega;
           })
      .def("set_coupling",
           [](hkam::HopfieldKuramotoParams& p, const std::string& kind, const hkam::Graph& g,
              double alpha, const Eigen::VectorXd& weights) {
             p.coupling.kind = hkam::hk_coupling_from_name(kind);
             p.coupling.graph = g;
             p.coupling.alpha = alpha;
             p.coupling.weights = weights;
           })
      .def_readwrite("kappa_h", &hkam::HopfieldKuramotoParams::kappa_h)
      .def_readwrite("kappa_k", &hkam::HopfieldKuramotoParams::kappa_k)
      .def("validate", &hkam::HopfieldKuramotoParams::validate,
           "Empty when valid, else every problem separated by '; '.");

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const hkam::config::ConfigError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });

  py::class_<Model>(mod, "Model")
      .def(py::init<hkam::HopfieldKuramotoParams>())
      .def_property_readonly("kind", &Model::kind)
      .def_property_readonly("dim", &Model::dim)
      .def_property_readonly("units", [](const Model& m) { return m.layout().n_units; })
      .def_property_readonly("oscillators", [](const Model& m) { return m.layout().n_osc; })
      .def_property_readonly("osc_dim", [](const Model& m) { return m.layout().osc_dim; })
      .def_property_readonly("batched", &Model::batched)
      .def_property_readonly("params", [](const Model& m) { return m.params(); })
      .def("parameters",
           [](const Model& m) { return hkam::python::parameter_dict(m.params("parameters")); })
      .def("with_parameters",
           [](const Model& m, const py::dict& values) {
             return Model(hkam::python::with_parameters(m.params("with_parameters"), values));
           })
      .def("energy", &Model::energy, py::arg("z"))
      .def("energy_parts", &Model::energy_parts, py::arg("z"))
      .def("rhs", &Model::rhs, py::arg("z"))
      .def("vjp", &Model::vjp, py::arg("z"), py::arg("v"))
      .def("lyapunov", &Model::lyapunov)
      .def("_time_rhs", &hkam::python::time_rhs, py::arg("z"), py::arg("calls"),
           "Seconds per call of the right-hand side of one state called from C++ (no Python in "
           "the loop): the baseline of the call-overhead benchmark (bench/python_module.py).");

  py::class_<ConfigExperiment>(mod, "Experiment")
      .def_property_readonly("model", &ConfigExperiment::model,
                             py::return_value_policy::reference_internal)
      .def_property_readonly("kind",
                             [](const ConfigExperiment& e) { return e.experiment().kind(); })
      .def_property_readonly("title",
                             [](const ConfigExperiment& e) { return e.experiment().title(); })
      .def_property_readonly("output",
                             [](const ConfigExperiment& e) { return e.experiment().output(); })
      .def_property_readonly("description",
                             [](const ConfigExperiment& e) { return e.experiment().description(); })
      .def_property_readonly(
          "z0", [](const ConfigExperiment& e) { return e.experiment().initial_state(); })
      .def_property_readonly("patterns",
                             [](const ConfigExperiment& e) { return e.experiment().patterns(); })
      .def_property_readonly(
          "resolved_config",
          [](const ConfigExperiment& e) { return e.experiment().document().resolved_text(); })
      .def("options", &ConfigExperiment::options)
      .def("run", &ConfigExperiment::run, py::arg("output"), py::arg("force"));

  py::class_<hkam::python::NetworkConfig>(mod, "NetworkConfig")
      .def_property_readonly("resolved_config", &hkam::python::NetworkConfig::resolved_config)
      .def_property_readonly("output", &hkam::python::NetworkConfig::output)
      .def("run", &hkam::python::NetworkConfig::run, py::arg("output"), py::arg("force"))
      .def("forward", &hkam::python::NetworkConfig::forward, py::arg("inputs"));

  mod.def("load_config", &hkam::python::load_config, py::arg("path"), py::arg("sets"),
          py::arg("ignore_sweep"),
          "An Experiment, or a NetworkConfig for a [network] config, read as `hkam run` reads it.");
  mod.def("simulate", &hkam::python::simulate, py::arg("model"), py::arg("z0"), py::arg("options"));
  mod.def("gradient", &hkam::python::gradient, py::arg("model"), py::arg("z0"), py::arg("dloss"),
          py::arg("options"));
}
