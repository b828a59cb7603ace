#include "io/trace.hpp"

namespace hkam::io {

TraceWriter::TraceWriter(const std::string& path, const StateLayout& layout,
                         std::vector<std::string> parts, std::vector<std::string> observables,
                         double flush_seconds)
    : file_(create_file(path)),
      layout_(layout),
      part_names_(std::move(parts)),
      obs_names_(std::move(observables)),
      flush_seconds_(flush_seconds),
      last_flush_(std::chrono::steady_clock::now()) {
  trace_ = create_group(file_.get(), "trace");
  audit_ = create_group(file_.get(), "audit");
  parts_group_ = create_group(trace_.get(), "energy_parts");
  obs_group_ = create_group(trace_.get(), "observables");
  constexpr hsize_t kChunk = 256;
  time_ = Growable(trace_.get(), "time", {}, kChunk, false);
  energy_ = Growable(trace_.get(), "energy", {}, kChunk, false);
  const hsize_t n = layout.n_units, m = layout.n_osc, d = layout.osc_dim;
  std::vector<std::pair<hid_t, unsigned>> time_uses{{energy_.id(), 0}};
  if (n) {
    x_ = Growable(trace_.get(), "x", {n}, std::max<hsize_t>(1, 65536 / n), true);
    time_uses.push_back({x_.id(), 0});
  }
  if (m) {
    sigma_ = Growable(trace_.get(), "sigma", {m, d}, std::max<hsize_t>(1, 65536 / (m * d)), true);
    time_uses.push_back({sigma_.id(), 0});
  }
  for (const auto& p : part_names_) {
    parts_.emplace_back(parts_group_.get(), p, std::vector<hsize_t>{}, kChunk, false);
    time_uses.push_back({parts_.back().id(), 0});
  }
  for (const auto& o : obs_names_) {
    obs_.emplace_back(obs_group_.get(), o, std::vector<hsize_t>{}, kChunk, false);
    time_uses.push_back({obs_.back().id(), 0});
  }
  buf_parts_.resize(parts_.size());
  buf_obs_.resize(obs_.size());
  audit_te_ = Growable(audit_.get(), "energy", {2}, 1024, false);
  // Index coordinates, so that xarray/h5netcdf see named dimensions (time, unit, oscillator,
  // component).
  auto index = [&](const char* name, hsize_t len) {
    Eigen::MatrixXd v(static_cast<Eigen::Index>(len), 1);
    for (hsize_t k = 0; k < len; ++k) v(static_cast<Eigen::Index>(k), 0) = static_cast<double>(k);
    write_matrix(trace_.get(), name, v, true);
    return Id(H5Dopen2(trace_.get(), name, H5P_DEFAULT), H5Dclose, std::string("open ") + name);
  };
  if (n) {
    Id unit = index("unit", n);
    attach_scale(unit.get(), "unit", {{x_.id(), 1}});
  }
  if (m) {
    Id osc = index("oscillator", m);
    Id comp = index("component", d);
    attach_scale(osc.get(), "oscillator", {{sigma_.id(), 1}});
    attach_scale(comp.get(), "component", {{sigma_.id(), 2}});
  }
  attach_scale(time_.id(), "time", time_uses);
  flush();
}

void TraceWriter::record(double t, const Eigen::VectorXd& z, double energy,
                         const EnergyParts& parts, const std::vector<double>& observables) {
  buf_time_.push_back(t);
  buf_energy_.push_back(energy);
  buf_x_.insert(buf_x_.end(), z.data(), z.data() + layout_.n_units);
  buf_sigma_.insert(buf_sigma_.end(), z.data() + layout_.n_units, z.data() + layout_.size());
  for (std::size_t k = 0; k < parts_.size() && k < parts.size(); ++k)
    buf_parts_[k].push_back(parts[k].value);
  for (std::size_t k = 0; k < obs_.size() && k < observables.size(); ++k)
    buf_obs_[k].push_back(observables[k]);
  maybe_flush();
}

void TraceWriter::audit_step(double t, double energy) {
  buf_audit_.push_back(t);
  buf_audit_.push_back(energy);
  if (buf_audit_.size() >= 2 * 4096) maybe_flush();
}

void TraceWriter::maybe_flush() {
  const auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_flush_).count() >= flush_seconds_ ||
      buf_time_.size() >= 256)
    flush();
}

void TraceWriter::flush() {
  const hsize_t rows = buf_time_.size();
  // Data first, the time axis last: a reader that sees a time row also sees its data.
  if (layout_.n_units) x_.append(buf_x_.data(), rows);
  if (layout_.n_osc) sigma_.append(buf_sigma_.data(), rows);
  energy_.append(buf_energy_.data(), rows);
  for (std::size_t k = 0; k < parts_.size(); ++k)
    parts_[k].append(buf_parts_[k].data(), buf_parts_[k].size()), buf_parts_[k].clear();
  for (std::size_t k = 0; k < obs_.size(); ++k)
    obs_[k].append(buf_obs_[k].data(), buf_obs_[k].size()), buf_obs_[k].clear();
  time_.append(buf_time_.data(), rows);
  audit_te_.append(buf_audit_.data(), buf_audit_.size() / 2);
  buf_time_.clear();
  buf_energy_.clear();
  buf_x_.clear();
  buf_sigma_.clear();
  buf_audit_.clear();
  if (H5Fflush(file_.get(), H5F_SCOPE_GLOBAL) < 0) throw H5Error("HDF5: flush failed");
  last_flush_ = std::chrono::steady_clock::now();
}

void TraceWriter::finish(const AuditResult& a, double relative_tolerance, const Guarantee& g,
                         const Summary& s, const SimulateOptions& o) {
  flush();
  Id ds(H5Dopen2(audit_.get(), "energy", H5P_DEFAULT), H5Dclose, "open /audit/energy");
  set_attr(ds.get(), "columns", std::string("t,E"));
  set_attr(ds.get(), "monotone", static_cast<long long>(a.monotone()));
  set_attr(ds.get(), "guaranteed", static_cast<long long>(g.guaranteed));
  set_attr(ds.get(), "reason", g.reason);
  set_attr(ds.get(), "max_increase", a.max_increase);
  set_attr(ds.get(), "max_increase_step", static_cast<long long>(a.max_increase_step));
  set_attr(ds.get(), "max_increase_t", a.max_increase_t);
  set_attr(ds.get(), "violations", static_cast<long long>(a.violations));
  set_attr(ds.get(), "tolerance", relative_tolerance);
  set_attr(ds.get(), "tolerance_rule",
           std::string("violation when E_k - E_{k-1} > tolerance * max(|E_{k-1}|, 1)"));
  Id summary = create_group(file_.get(), "summary");
  set_attr(summary.get(), "end_reason", std::string(end_reason_name(s.end_reason)));
  set_attr(summary.get(), "t", s.t);
  set_attr(summary.get(), "steps", static_cast<long long>(s.steps));
  set_attr(summary.get(), "rejected_steps", static_cast<long long>(s.rejected));
  set_attr(summary.get(), "rhs_evaluations", static_cast<long long>(s.rhs_evaluations));
  set_attr(summary.get(), "wall_seconds", s.wall_seconds);
  set_attr(summary.get(), "max_norm_drift", s.max_norm_drift);
  set_attr(summary.get(), "stepper", std::string(stepper_name(o.stepper)));
  set_attr(summary.get(), "rtol", o.rtol);
  set_attr(summary.get(), "atol", o.atol);
  if (H5Fflush(file_.get(), H5F_SCOPE_GLOBAL) < 0) throw H5Error("HDF5: flush failed");
}

void write_model(hid_t file, const HopfieldKuramoto& model, const Eigen::MatrixXd& patterns) {
  Id g = create_group(file, "model");
  set_attr(g.get(), "kind", std::string("hopfield_kuramoto"));
  const auto& hop = model.hopfield();
  const auto& kur = model.kuramoto();
  const auto& cpl = model.coupling();
  set_attr(g.get(), "lagrangian", std::string(hop.lagrangian().name()));
  set_attr(g.get(), "beta", hop.lagrangian().beta);
  set_attr(g.get(), "kappa_h", model.kappa_h());
  set_attr(g.get(), "kappa_k", model.kappa_k());
  set_attr(g.get(), "pair_potential", std::string(pair_potential_name(kur.potential())));
  set_attr(g.get(), "coupling", std::string(hk_coupling_name(cpl.kind)));
  set_attr(g.get(), "alpha", cpl.alpha);
  set_attr(g.get(), "osc_dim", static_cast<long long>(kur.osc_dim()));
  write_matrix(g.get(), "W", hop.w_sym());
  write_matrix(g.get(), "b", hop.bias(), true);
  write_matrix(g.get(), "omega", kur.omega());
  write_matrix(g.get(), "A", kur.a(), true);
  write_matrix(g.get(), "B", kur.b(), true);
  if (patterns.size()) write_matrix(g.get(), "patterns", patterns);
  auto edges_of = [](const Graph& graph) {
    std::vector<long long> v;
    for (const Edge& e : graph.edges()) {
      v.push_back(e.i);
      v.push_back(e.j);
    }
    return v;
  };
  set_attr(g.get(), "kuramoto_graph", std::string(kur.mean_field() ? "complete" : "edges"));
  if (!kur.mean_field()) write_ints(g.get(), "kuramoto_edges", edges_of(kur.graph()), 2);
  set_attr(g.get(), "hk_graph", std::string(cpl.graph.is_complete() ? "complete" : "edges"));
  if (!cpl.graph.is_complete()) write_ints(g.get(), "hk_edges", edges_of(cpl.graph), 2);
  if (cpl.weights.size()) write_matrix(g.get(), "hk_weights", cpl.weights, true);
  std::vector<long long> pairing(model.pairing().begin(), model.pairing().end());
  write_ints(g.get(), "pairing", pairing);
}

EnergyCheck check_trace_energy(const std::string& path, double default_rtol) {
  Id f = open_file_read(path);
  EnergyCheck c;
  std::vector<double> t, e;
  if (exists(f.get(), "audit/energy")) {
    std::vector<hsize_t> shape;
    const auto te = read_doubles(f.get(), "audit/energy", &shape);
    if (shape.size() != 2 || shape[1] != 2)
      throw H5Error(path + ": /audit/energy is not a T x 2 (t, E) table");
    for (std::size_t k = 0; k < shape[0]; ++k) {
      t.push_back(te[2 * k]);
      e.push_back(te[2 * k + 1]);
    }
    c.source = "/audit/energy (every accepted step)";
    Id ds(H5Dopen2(f.get(), "audit/energy", H5P_DEFAULT), H5Dclose, "open /audit/energy");
    c.relative_tolerance = get_attr_double(ds.get(), "tolerance").value_or(100 * default_rtol);
    if (auto g = get_attr_double(ds.get(), "guaranteed")) {
      c.guaranteed_known = true;
      c.guaranteed = *g != 0;
    }
    c.reason = get_attr_string(ds.get(), "reason").value_or("");
  } else if (exists(f.get(), "trace/energy") && exists(f.get(), "trace/time")) {
    e = read_doubles(f.get(), "trace/energy");
    t = read_doubles(f.get(), "trace/time");
    if (t.size() != e.size())
      throw H5Error(path + ": /trace/time and /trace/energy differ in length");
    c.source = "/trace/energy (recorded times)";
    c.relative_tolerance = 100 * default_rtol;
  } else {
    throw H5Error(path + ": not an hkam trace (no /audit/energy or /trace/energy)");
  }
  // The stored tolerance is already factor·rtol: re-create the audit with factor 1.
  EnergyAudit audit(c.relative_tolerance, 1.0);
  for (std::size_t k = 0; k < e.size(); ++k) audit.add(static_cast<long>(k), t[k], e[k]);
  c.audit = audit.result();
  c.samples = static_cast<long>(e.size());
  return c;
}

}  // namespace hkam::io
