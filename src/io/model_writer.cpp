// /model and /model/scene of a trace: the parameters of each model kind under the names of
// docs/trace-format.md, so that a trace alone recomputes the energy.
#include "io/trace.hpp"

namespace hkam::io {

namespace {

std::vector<long long> edge_pairs(const Graph& graph) {
  std::vector<long long> v;
  for (const Edge& e : graph.edges()) {
    v.push_back(e.i);
    v.push_back(e.j);
  }
  return v;
}

void write_graph(hid_t group, const Graph& graph) {
  set_attr(group, "graph", std::string(graph.is_complete() ? "complete" : "edges"));
  if (!graph.is_complete()) write_ints(group, "edges", edge_pairs(graph), 2);
}

// D × (M·D) side-by-side blocks → an (M, D, D) dataset.
void write_blocks(hid_t group, const std::string& name, const Eigen::MatrixXd& side_by_side) {
  const Eigen::Index d = side_by_side.rows(), m = d ? side_by_side.cols() / d : 0;
  std::vector<double> flat;
  flat.reserve(static_cast<std::size_t>(m * d * d));
  for (Eigen::Index i = 0; i < m; ++i)
    for (Eigen::Index r = 0; r < d; ++r)
      for (Eigen::Index c = 0; c < d; ++c) flat.push_back(side_by_side(r, i * d + c));
  write_array(group, name, flat.data(),
              {static_cast<hsize_t>(m), static_cast<hsize_t>(d), static_cast<hsize_t>(d)});
}

Id model_group(hid_t file, const std::string& kind, const Eigen::MatrixXd& patterns) {
  Id g = create_group(file, "model");
  set_attr(g.get(), "kind", kind);
  if (patterns.size()) write_matrix(g.get(), "patterns", patterns);
  return g;
}

void write_hopfield(hid_t parent, const Hopfield& hop) {
  Id g = create_group(parent, "hopfield");
  set_attr(g.get(), "lagrangian", std::string(hop.lagrangian().name()));
  set_attr(g.get(), "beta", hop.lagrangian().beta);
  write_matrix(g.get(), "W", hop.w_sym());
  write_matrix(g.get(), "b", hop.bias(), true);
}

void write_kuramoto(hid_t parent, const Kuramoto& kur) {
  Id g = create_group(parent, "kuramoto");
  set_attr(g.get(), "potential", std::string(pair_potential_name(kur.potential())));
  set_attr(g.get(), "oscillators", static_cast<long long>(kur.n_osc()));
  set_attr(g.get(), "dim", static_cast<long long>(kur.osc_dim()));
  write_graph(g.get(), kur.graph());
  write_matrix(g.get(), "A", kur.a(), true);
  write_matrix(g.get(), "B", kur.b(), true);
  write_matrix(g.get(), "omega", kur.omega());
  if (kur.oscillator_omegas().size())
    write_blocks(g.get(), "oscillator_omegas", kur.oscillator_omegas());
  if (kur.stimulus().size()) write_matrix(g.get(), "stimulus", kur.stimulus());
  if (kur.has_matrix_couplings())
    set_attr(g.get(), "matrix_couplings",
             std::string("present but not stored: the energy cannot be recomputed from /model"));
}

}  // namespace

void write_model(hid_t file, const Hopfield& model, const Eigen::MatrixXd& patterns) {
  Id g = model_group(file, "hopfield", patterns);
  write_hopfield(g.get(), model);
}

void write_model(hid_t file, const Kuramoto& model, const Eigen::MatrixXd& patterns) {
  Id g = model_group(file, "kuramoto", patterns);
  write_kuramoto(g.get(), model);
}

void write_model(hid_t file, const AkornKuramoto& model, const Eigen::MatrixXd& patterns) {
  Id g = model_group(file, "akorn_kuramoto", patterns);
  Id a = create_group(g.get(), "akorn");
  set_attr(a.get(), "oscillators", static_cast<long long>(model.layout().n_osc));
  set_attr(a.get(), "dim", static_cast<long long>(model.layout().osc_dim));
  set_attr(a.get(), "project", static_cast<long long>(model.project()));
  write_matrix(a.get(), "J", model.coupling());
  if (model.stimulus().size()) write_matrix(a.get(), "c", model.stimulus());
  if (model.omegas().size()) write_blocks(a.get(), "omegas", model.omegas());
}

void write_model(hid_t file, const ConvAkorn& model, const Eigen::MatrixXd& patterns) {
  Id g = model_group(file, "akorn_conv", patterns);
  Id a = create_group(g.get(), "akorn_conv");
  const ConvAkornSpec& s = model.spec();
  for (const auto& [name, v] : {std::pair<const char*, Index>{"channels", s.channels},
                                {"dim", s.osc_dim},
                                {"height", s.height},
                                {"width", s.width},
                                {"kernel", s.kernel}})
    set_attr(a.get(), name, static_cast<long long>(v));
  set_attr(a.get(), "project", static_cast<long long>(s.project));
  set_attr(a.get(), "omega_identity", static_cast<long long>(s.omega_identity));
  set_attr(a.get(), "layout",
           std::string("state index p*C + c (channels-last), p = h*W + w; weight[o][i][ky][kx] "
                       "at (o, (i*k + ky)*k + kx)"));
  const hsize_t c = static_cast<hsize_t>(s.channels), k = static_cast<hsize_t>(s.kernel);
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> w = s.weight;
  write_array(a.get(), "weight", w.data(), {c, c, k, k});  // PyTorch's Conv2d weight layout
  write_matrix(a.get(), "bias", s.bias, true);
  // c̃ as [C, H, W] like the reference's tensors.
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> st = s.stimulus;
  write_array(a.get(), "stimulus", st.data(),
              {c, static_cast<hsize_t>(s.height), static_cast<hsize_t>(s.width)});
  if (s.omega.size()) write_matrix(a.get(), "omega", s.omega, true);
}

void write_scene(hid_t file, const analysis::Scene& scene) {
  Id g = open_group(file, "model");
  Id sc = create_group(g.get(), "scene");
  const hsize_t h = static_cast<hsize_t>(scene.height), w = static_cast<hsize_t>(scene.width);
  const Eigen::MatrixXd rgb = scene.rgb;  // 3 × HW column-major: memory order p, then channel
  write_array(sc.get(), "rgb", rgb.data(), {h, w, 3});
  std::vector<double> mask(scene.mask.begin(), scene.mask.end());
  write_array(sc.get(), "mask", mask.data(), {h, w});
}

void write_model(hid_t file, const HopfieldKuramoto& model, const Eigen::MatrixXd& patterns) {
  Id g = model_group(file, "hopfield_kuramoto", patterns);
  write_hopfield(g.get(), model.hopfield());
  write_kuramoto(g.get(), model.kuramoto());
  const auto& cpl = model.coupling();
  Id c = create_group(g.get(), "coupling");
  set_attr(c.get(), "kind", std::string(hk_coupling_name(cpl.kind)));
  set_attr(c.get(), "alpha", cpl.alpha);
  set_attr(c.get(), "kappa_h", model.kappa_h());
  set_attr(c.get(), "kappa_k", model.kappa_k());
  write_graph(c.get(), cpl.graph);
  if (cpl.weights.size()) write_matrix(c.get(), "weights", cpl.weights, true);
  std::vector<long long> pairing(model.pairing().begin(), model.pairing().end());
  write_ints(c.get(), "pairing", pairing);
}

}  // namespace hkam::io
