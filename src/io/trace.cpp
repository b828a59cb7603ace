#include "io/trace.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <string_view>
#include <type_traits>

namespace hkam::io {

namespace {

std::string staging_path(const std::string& path) {
  return path + ".partial-" + std::to_string(::getpid());
}

// A new trace is written under a staging name and renamed at publish().
Id create_staged(const std::string& path, bool replace) {
  if (!replace && std::filesystem::exists(path))
    throw H5Error(path + " exists; not overwriting it (use --force)");
  return create_file(staging_path(path));
}

}  // namespace

TraceWriter::TraceWriter(std::string path, Id file, const StateLayout& layout,
                         std::vector<std::string> parts, std::vector<ObservableSpec> observables,
                         double flush_seconds, bool store_states)
    : path_(std::move(path)),
      file_(std::move(file)),
      layout_(layout),
      store_states_(store_states),
      part_names_(std::move(parts)),
      obs_specs_(std::move(observables)),
      flush_seconds_(flush_seconds),
      last_flush_(std::chrono::steady_clock::now()) {}

TraceWriter::TraceWriter(const std::string& path, const StateLayout& layout,
                         std::vector<std::string> parts, std::vector<ObservableSpec> observables,
                         double flush_seconds, bool store_states, bool replace)
    : TraceWriter(path, create_staged(path, replace), layout, std::move(parts),
                  std::move(observables), flush_seconds, store_states) {
  staging_path_ = staging_path(path);
  replace_ = replace;
  create_layout();
}

void TraceWriter::create_layout() {
  const StateLayout& layout = layout_;
  trace_ = create_group(file_.get(), "trace");
  audit_ = create_group(file_.get(), "audit");
  parts_group_ = create_group(trace_.get(), "energy_parts");
  obs_group_ = create_group(trace_.get(), "observables");
  constexpr hsize_t kChunk = 256;
  time_ = Growable(trace_.get(), "time", {}, kChunk, false);
  energy_ = Growable(trace_.get(), "energy", {}, kChunk, false);
  hsize_t n = layout.n_units, m = layout.n_osc;
  const hsize_t d = layout.osc_dim;
  std::vector<std::pair<hid_t, unsigned>> time_uses{{energy_.id(), 0}};
  if (!store_states_) n = m = 0;
  if (n) {
    // States are stored uncompressed: a compressed chunk is rewritten elsewhere in the file each
    // time rows are added to it, and a kill in the middle of that can leave rows that were
    // already flushed unreadable ("inflate() failed", seen in tests/cli/restart.py). Uncompressed
    // chunks are written in place.
    x_ = Growable(trace_.get(), "x", {n}, std::max<hsize_t>(1, 65536 / n), false);
    time_uses.push_back({x_.id(), 0});
  }
  if (m) {
    sigma_ = Growable(trace_.get(), "sigma", {m, d}, std::max<hsize_t>(1, 65536 / (m * d)), false);
    time_uses.push_back({sigma_.id(), 0});
  }
  for (const auto& p : part_names_) {
    parts_.emplace_back(parts_group_.get(), p, std::vector<hsize_t>{}, kChunk, false);
    time_uses.push_back({parts_.back().id(), 0});
  }
  std::map<std::string, std::pair<hsize_t, std::vector<std::pair<hid_t, unsigned>>>> extra_dims;
  for (const auto& o : obs_specs_) {
    std::vector<hsize_t> tail;
    if (o.width) tail.push_back(o.width);
    obs_.emplace_back(obs_group_.get(), o.name, tail, kChunk, false);
    time_uses.push_back({obs_.back().id(), 0});
    if (o.width) {
      auto& [len, uses] = extra_dims[o.dim];
      len = o.width;
      uses.push_back({obs_.back().id(), 1});
    }
  }
  buf_parts_.resize(parts_.size());
  buf_obs_.resize(obs_.size());
  audit_te_ = Growable(audit_.get(), "energy", {2}, 1024, false);
  // Index coordinates, so that xarray/h5netcdf see named dimensions (time, unit, oscillator,
  // component).
  // 64-bit integers, so that they come back as integer coordinates.
  auto index = [&](const char* name, hsize_t len) {
    std::vector<long long> v(len);
    for (hsize_t k = 0; k < len; ++k) v[k] = static_cast<long long>(k);
    write_ints(trace_.get(), name, v);
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
  for (const auto& [name, spec] : extra_dims) {
    Id scale = index(name.c_str(), spec.first);
    attach_scale(scale.get(), name, spec.second);
  }
  attach_scale(time_.id(), "time", time_uses);
  flush();
}

namespace {

// The checkpoint slot of an open trace that a run can continue from; throws when there is none.
std::string checkpoint_slot(hid_t f, const std::string& path) {
  if (!exists(f, "checkpoint"))
    throw H5Error(path +
                  ": no checkpoint to continue from (runs write one at an interrupt and "
                  "every record.checkpoint_seconds)");
  Id top = open_group(f, "checkpoint");
  const std::string slot = get_attr_string(top.get(), "current").value_or("");
  if ((slot != "a" && slot != "b") || !exists(top.get(), slot) ||
      get_attr_double(open_group(top.get(), slot).get(), "valid").value_or(0) != 1)
    throw H5Error(path + ": the checkpoint is incomplete (the run was killed while writing it)");
  return slot;
}

// Every scalar of a checkpoint with its attribute name: the one list that writing and reading use.
template <class F>
void checkpoint_scalars(Checkpoint& c, F&& f) {
  IntegratorState& st = c.integrator;
  f("t", st.t);
  f("dt", st.dt);
  f("steps", st.steps);
  f("rejected", st.rejected);
  f("rhs_evaluations", st.rhs_evaluations);
  f("next_sample", st.next_sample);
  f("max_norm_drift", st.max_norm_drift);
  f("wall_seconds", st.wall_seconds);
  f("drift_since_sample", c.drift_since_sample);
  f("rows", c.rows);
  f("audit_rows", c.audit_rows);
  f("audit_has_prev", c.audit.has_prev);
  f("audit_prev", c.audit.prev);
  f("audit_checked", c.audit.result.checked);
  f("audit_violations", c.audit.result.violations);
  f("audit_max_increase", c.audit.result.max_increase);
  f("audit_max_increase_step", c.audit.result.max_increase_step);
  f("audit_max_increase_t", c.audit.result.max_increase_t);
  f("audit_first_violation_step", c.audit.result.first_violation_step);
}

}  // namespace

TraceWriter::TraceWriter(const ContinueFrom& from, const StateLayout& layout,
                         std::vector<std::string> parts, std::vector<ObservableSpec> observables,
                         double flush_seconds, bool store_states, Checkpoint& c)
    : TraceWriter(from.path, Id(), layout, std::move(parts), std::move(observables), flush_seconds,
                  store_states) {
  // The trace is not changed in place: everything up to the checkpoint is copied into a fresh
  // staging file, which replaces the original once complete. A file left by a killed run may hold
  // half-written data after its last checkpoint; only what the checkpoint covers is read.
  Id src = open_file_read(from.path);
  const hid_t f = src.get();
  const std::string slot = checkpoint_slot(f, path_);  // throws unless a complete one exists
  Id top = open_group(f, "checkpoint");
  Id g = open_group(top.get(), slot);
  // Nothing of a checkpoint is trusted: a file edited by hand (or by a fuzzer) must not turn
  // into a NaN time that "finishes" the run, or a count cast from an out-of-range double.
  checkpoint_scalars(c, [&](const char* name, auto& value) {
    using V = std::remove_reference_t<decltype(value)>;
    const auto v = get_attr_double(g.get(), name);
    if (!v) throw H5Error(path_ + ": checkpoint attribute " + name + " missing");
    const bool nan_ok = std::string_view(name) == "audit_max_increase_t";
    bool ok = std::isfinite(*v) || (nan_ok && std::isnan(*v));
    if constexpr (std::is_same_v<V, bool>)
      ok = *v == 0 || *v == 1;
    else if constexpr (std::is_integral_v<V>)
      ok = ok && *v == std::floor(*v) && *v >= (std::is_unsigned_v<V> ? 0 : -1) &&
           *v <= 9007199254740992.0;
    if (!ok)
      throw H5Error(
          fmt::format("{}: checkpoint attribute {} = {:g} is not a valid value", path_, name, *v));
    value = static_cast<V>(*v);
  });
  if (c.rows < 1 || c.integrator.steps < 0 || c.integrator.next_sample < 0 ||
      !(c.integrator.dt >= 0))
    throw H5Error(path_ + ": the checkpoint's counters are inconsistent");
  if (static_cast<double>(c.rows) > from.max_rows ||
      static_cast<double>(c.audit_rows) > from.max_audit_rows)
    throw H5Error(
        fmt::format("{}: the checkpoint claims {} recorded states and {} audited steps; "
                    "this run records at most {:.0f} and {:.0f}: the trace was changed "
                    "after it was written",
                    path_, c.rows, c.audit_rows, from.max_rows, from.max_audit_rows));
  const auto x = read_doubles(g.get(), "x");
  const auto d = read_doubles(g.get(), "derivative");
  if (static_cast<Index>(x.size()) != layout.size() || d.size() != x.size())
    throw H5Error(fmt::format("{}: the checkpoint holds {} values, the model has {}", path_,
                              x.size(), layout.size()));
  for (std::size_t k = 0; k < x.size(); ++k)
    if (!std::isfinite(x[k]) || !std::isfinite(d[k]))
      throw H5Error(fmt::format("{}: the checkpoint's state holds a non-finite value", path_));
  c.x = Eigen::Map<const Eigen::VectorXd>(x.data(), static_cast<Index>(x.size()));
  c.derivative = Eigen::Map<const Eigen::VectorXd>(d.data(), static_cast<Index>(d.size()));
  c.window = exists(g.get(), "window") ? read_doubles(g.get(), "window") : std::vector<double>{};
  for (double w : c.window)
    if (!std::isfinite(w))
      throw H5Error(fmt::format("{}: the checkpoint's plateau window is not finite", path_));

  staging_path_ = staging_path(path_);
  replace_ = true;
  file_ = create_file(staging_path_);
  copy_attributes(f, file_.get());
  copy_object(f, "model", file_.get());
  copy_object(f, "checkpoint", file_.get());
  create_layout();
  // Rows up to the checkpoint, in blocks.
  auto copy_rows = [&](const std::string& from_path, Growable& to, hsize_t rows) {
    constexpr hsize_t kBlock = 1024;
    for (hsize_t r = 0; r < rows; r += kBlock) {
      const hsize_t n = std::min(kBlock, rows - r);
      const auto v = read_rows(f, from_path, r, n);
      // A dataset replaced by one of another shape must not be copied row by row past its end.
      if (v.size() != n * to.row_size())
        throw H5Error(
            fmt::format("{}: /{} does not have the shape this run writes ({} values "
                        "per row)",
                        path_, from_path, to.row_size()));
      to.append(v.data(), n);
    }
  };
  copy_rows("trace/time", time_, c.rows);
  copy_rows("trace/energy", energy_, c.rows);
  if (store_states_ && layout_.n_units) copy_rows("trace/x", x_, c.rows);
  if (store_states_ && layout_.n_osc) copy_rows("trace/sigma", sigma_, c.rows);
  for (std::size_t k = 0; k < parts_.size(); ++k)
    copy_rows("trace/energy_parts/" + part_names_[k], parts_[k], c.rows);
  for (std::size_t k = 0; k < obs_.size(); ++k)
    copy_rows("trace/observables/" + obs_specs_[k].name, obs_[k], c.rows);
  copy_rows("audit/energy", audit_te_, c.audit_rows);
  if (c.rows) last_time_ = read_rows(f, "trace/time", c.rows - 1, 1)[0];
  src = Id();
  publish();
}

void TraceWriter::checkpoint(Checkpoint& c) {
  flush();
  c.rows = time_.rows();
  c.audit_rows = audit_te_.rows();
  const hid_t f = file_.get();
  // Two slots, written alternately; /checkpoint's `current` names the complete one and changes
  // only after the other is written and flushed, so a kill while writing leaves the older one.
  Id top = exists(f, "checkpoint") ? open_group(f, "checkpoint") : create_group(f, "checkpoint");
  const std::string slot = get_attr_string(top.get(), "current").value_or("b") == "a" ? "b" : "a";
  Id g = exists(top.get(), slot) ? open_group(top.get(), slot) : create_group(top.get(), slot);
  set_attr(g.get(), "valid", 0.0);
  const hsize_t n = static_cast<hsize_t>(c.x.size());
  put_array(g.get(), "x", c.x.data(), {n});
  put_array(g.get(), "derivative", c.derivative.data(), {n});
  if (!c.window.empty())
    put_array(g.get(), "window", c.window.data(), {c.window.size()});
  else if (exists(g.get(), "window") && H5Ldelete(g.get(), "window", H5P_DEFAULT) < 0)
    throw H5Error("HDF5: cannot remove /checkpoint/window");
  checkpoint_scalars(c, [&](const char* name, auto& value) {
    set_attr(g.get(), name, static_cast<double>(value));
  });
  set_attr(g.get(), "valid", 1.0);
  io::flush(f);
  set_attr(top.get(), "current", slot);
  io::flush(f);
}

TraceWriter::~TraceWriter() {
  if (published_) return;
  parts_.clear();
  obs_.clear();
  time_ = Growable();
  energy_ = Growable();
  x_ = Growable();
  sigma_ = Growable();
  audit_te_ = Growable();
  parts_group_ = Id();
  obs_group_ = Id();
  trace_ = Id();
  audit_ = Id();
  file_ = Id();
  std::error_code ec;
  std::filesystem::remove(staging_path_, ec);
}

void TraceWriter::publish() {
  if (published_) return;
  flush();
  if (!replace_ && std::filesystem::exists(path_))
    throw H5Error(path_ + " appeared while the run was starting; not overwriting it");
  std::error_code ec;
  std::filesystem::rename(staging_path_, path_, ec);
  if (ec) throw H5Error("cannot rename " + staging_path_ + " to " + path_ + ": " + ec.message());
  published_ = true;
}

void TraceWriter::record(double t, const Eigen::VectorXd& z, double energy,
                         const EnergyParts& parts, const double* observables) {
  last_time_ = t;
  buf_time_.push_back(t);
  buf_energy_.push_back(energy);
  if (store_states_) {
    buf_x_.insert(buf_x_.end(), z.data(), z.data() + layout_.n_units);
    buf_sigma_.insert(buf_sigma_.end(), z.data() + layout_.n_units, z.data() + layout_.size());
  }
  for (std::size_t k = 0; k < parts_.size() && k < parts.size(); ++k)
    buf_parts_[k].push_back(parts[k].value);
  for (std::size_t k = 0; k < obs_.size(); ++k) {
    const hsize_t w = std::max<hsize_t>(1, obs_specs_[k].width);
    buf_obs_[k].insert(buf_obs_[k].end(), observables, observables + w);
    observables += w;
  }
  maybe_flush();
}

void TraceWriter::audit_step(double t, double energy) {
  buf_audit_.push_back(t);
  buf_audit_.push_back(energy);
  // The clock is read every 64 steps only: cheap, and still flushes within seconds.
  if (buf_audit_.size() >= 2 * 4096 || buf_audit_.size() % 128 == 0) maybe_flush();
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
  if (store_states_ && layout_.n_units) x_.append(buf_x_.data(), rows);
  if (store_states_ && layout_.n_osc) sigma_.append(buf_sigma_.data(), rows);
  energy_.append(buf_energy_.data(), rows);
  for (std::size_t k = 0; k < parts_.size(); ++k)
    parts_[k].append(buf_parts_[k].data(), buf_parts_[k].size()), buf_parts_[k].clear();
  for (std::size_t k = 0; k < obs_.size(); ++k)
    obs_[k].append(buf_obs_[k].data(), rows), buf_obs_[k].clear();
  time_.append(buf_time_.data(), rows);
  audit_te_.append(buf_audit_.data(), buf_audit_.size() / 2);
  buf_time_.clear();
  buf_energy_.clear();
  buf_x_.clear();
  buf_sigma_.clear();
  buf_audit_.clear();
  io::flush(file_.get());
  last_flush_ = std::chrono::steady_clock::now();
}

void TraceWriter::finish(const AuditResult& a, double relative_tolerance, const Guarantee& g,
                         const Summary& s, const SimulateOptions& o,
                         const std::vector<std::pair<std::string, double>>& results) {
  publish();
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
  for (const auto& [name, value] : results) set_attr(summary.get(), name, value);
  io::flush(file_.get());
}

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

namespace {
// A network trace: the true energies of every block and chain (/layers/<l>/energy, chains × T+1).
EnergyCheck check_network_energy(hid_t f, const std::string& path) {
  EnergyCheck c;
  c.guaranteed_known = true;
  c.guaranteed = true;
  Id layers = open_group(f, "layers");
  hsize_t blocks = 0;
  H5Gget_num_objs(layers.get(), &blocks);
  for (hsize_t l = 0; l < blocks; ++l) {
    const std::string name = "layers/" + std::to_string(l) + "/energy";
    std::vector<hsize_t> shape;
    const auto e = read_doubles(f, name, &shape);
    if (shape.size() != 2) throw H5Error(path + ": /" + name + " is not chains x (T + 1)");
    Id ds(H5Dopen2(f, name.c_str(), H5P_DEFAULT), H5Dclose, "open /" + name);
    Id g = open_group(f, "layers/" + std::to_string(l));
    c.relative_tolerance = get_attr_double(g.get(), "tolerance").value_or(1e-10);
    if (get_attr_double(g.get(), "guaranteed").value_or(0) == 0) {
      c.guaranteed = false;
      if (c.reason.empty())
        c.reason = fmt::format("block {}: {}", l, get_attr_string(g.get(), "reason").value_or(""));
    }
    const Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>
        m(e.data(), static_cast<Index>(shape[0]), static_cast<Index>(shape[1]));
    const AuditResult a = audit_rows(m, c.relative_tolerance);
    if (a.checked && (c.audit.checked == 0 || a.max_increase > c.audit.max_increase)) {
      c.audit.max_increase = a.max_increase;
      c.audit.max_increase_step = a.max_increase_step;
      c.audit.max_increase_t = a.max_increase_t;
    }
    if (a.violations && c.audit.violations == 0)
      c.audit.first_violation_step = a.first_violation_step;
    c.audit.checked += a.checked;
    c.audit.violations += a.violations;
    c.samples += static_cast<long>(e.size());
  }
  c.source = fmt::format("/layers/*/energy ({} blocks; every chain and step)", blocks);
  return c;
}
}  // namespace

EnergyCheck check_trace_energy(const std::string& path, double default_rtol) {
  Id f = open_file_read(path);
  if (get_attr_string(f.get(), "format").value_or("") == "hkam-akorn-network")
    return check_network_energy(f.get(), path);
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

TraceInfo read_trace_info(const std::string& path) {
  Id f = open_file_read(path);
  if (get_attr_string(f.get(), "format").value_or("") == "hkam-akorn-network") {
    TraceInfo info;
    auto add = [&](const std::string& k, const std::string& v) { info.lines.emplace_back(k, v); };
    auto str = [&](hid_t obj, const char* name) { return get_attr_string(obj, name).value_or(""); };
    if (const auto title = str(f.get(), "title"); !title.empty()) add("title", title);
    add("created", fmt::format("{} by hkam {} ({})", str(f.get(), "created_utc"),
                               str(f.get(), "hkam_version"), str(f.get(), "git_revision")));
    add("network", fmt::format("{}, {}, {} integration", str(f.get(), "network"),
                               str(f.get(), "precision"), str(f.get(), "integration")));
    add("weights", str(f.get(), "weights"));
    add("ended", str(f.get(), "end_reason"));
    if (exists(f.get(), "summary")) {
      Id s = open_group(f.get(), "summary");
      for (const auto& name : attr_names(s.get()))
        if (!get_attr_string(s.get(), name))
          if (const auto v = get_attr_double(s.get(), name)) add(name, fmt::format("{:.6g}", *v));
    }
    return info;
  }
  if (!exists(f.get(), "trace/time") || !exists(f.get(), "trace/energy"))
    throw H5Error(path + ": not an hkam trace (no /trace/time and /trace/energy)");
  TraceInfo info;
  auto add = [&](const std::string& k, const std::string& v) { info.lines.emplace_back(k, v); };
  auto str = [&](hid_t obj, const char* name) { return get_attr_string(obj, name).value_or(""); };
  auto num = [&](hid_t obj, const char* name) {
    const auto v = get_attr_double(obj, name);
    return v ? fmt::format("{:g}", *v) : std::string("?");
  };
  if (const auto title = str(f.get(), "title"); !title.empty()) add("title", title);
  add("created", fmt::format("{} by hkam {} ({})", str(f.get(), "created_utc"),
                             str(f.get(), "hkam_version"), str(f.get(), "git_revision")));
  add("command", str(f.get(), "command_line"));
  if (const auto cfg = str(f.get(), "config_file"); !cfg.empty()) add("config", cfg);
  add("seed", num(f.get(), "seed"));
  if (exists(f.get(), "model")) {
    Id m = open_group(f.get(), "model");
    add("model", str(m.get(), "kind"));
  }
  const auto time = read_doubles(f.get(), "trace/time");
  const auto energy = read_doubles(f.get(), "trace/energy");
  if (!time.empty())
    add("records",
        fmt::format("{} states, t = {:g} .. {:g}", time.size(), time.front(), time.back()));
  else
    add("records", "none");
  if (!energy.empty())
    add("energy", fmt::format("{:.10g} -> {:.10g}", energy.front(), energy.back()));
  if (exists(f.get(), "summary")) {
    Id s = open_group(f.get(), "summary");
    add("ended",
        fmt::format("{} at t = {}, {} steps accepted, {} rejected, {} RHS evaluations, "
                    "{} s ({}, rtol {})",
                    str(s.get(), "end_reason"), num(s.get(), "t"), num(s.get(), "steps"),
                    num(s.get(), "rejected_steps"), num(s.get(), "rhs_evaluations"),
                    num(s.get(), "wall_seconds"), str(s.get(), "stepper"), num(s.get(), "rtol")));
  } else {
    add("ended", "no /summary: the run did not finish (killed?); data up to the last flush");
  }
  if (exists(f.get(), "audit/energy")) {
    Id a(H5Dopen2(f.get(), "audit/energy", H5P_DEFAULT), H5Dclose, "open /audit/energy");
    if (get_attr_double(a.get(), "violations")) {
      const bool mono = get_attr_double(a.get(), "monotone").value_or(0) != 0;
      const bool guaranteed = get_attr_double(a.get(), "guaranteed").value_or(0) != 0;
      const double rise = get_attr_double(a.get(), "max_increase").value_or(0.0);
      add("audit", fmt::format("{} ({} violations, {}, tolerance {})",
                               mono ? "monotone" : "NOT monotone", num(a.get(), "violations"),
                               largest_change_text(rise), num(a.get(), "tolerance")));
      add("guarantee", guaranteed ? std::string("energy guaranteed non-increasing")
                                  : "not guaranteed: " + str(a.get(), "reason"));
    }
  }
  for (const char* name : {"overlap", "order_parameter", "norm_drift"}) {
    const std::string p = std::string("trace/observables/") + name;
    if (!exists(f.get(), p)) continue;
    std::vector<hsize_t> shape;
    const auto v = read_doubles(f.get(), p, &shape);
    if (v.empty() || shape.empty() || shape[0] == 0) continue;
    const std::size_t w = v.size() / shape[0];
    if (w == 1) {
      add(name, fmt::format("{:.6g} -> {:.6g}", v.front(), v.back()));
    } else {
      // The cued pattern (the run's /summary says which) when there is one, else pattern 0.
      std::size_t shown = 0;
      std::string label = "[0]";
      if (exists(f.get(), "summary")) {
        Id s = open_group(f.get(), "summary");
        const double cue = get_attr_double(s.get(), "cue").value_or(-1);
        if (cue >= 0 && cue < static_cast<double>(w) && cue == std::floor(cue)) {
          shown = static_cast<std::size_t>(cue);
          label = fmt::format("cued pattern {}", shown);
        }
      }
      const auto last = v.end() - static_cast<long>(w);
      const auto best = std::max_element(last, v.end());
      add(name, fmt::format("{}: {:.6g} -> {:.6g}; at the end the largest is {:.6g} (pattern {})",
                            label, v[shown], last[static_cast<long>(shown)], *best, best - last));
    }
  }
  return info;
}

RunRecord read_run_record(const std::string& path) {
  Id f = open_file_read(path);
  const bool network = get_attr_string(f.get(), "format").value_or("") == "hkam-akorn-network";
  if (!network && !exists(f.get(), "trace/time"))
    throw H5Error(path + ": not an hkam trace (no /trace/time)");
  RunRecord r;
  r.config_resolved = get_attr_string(f.get(), "config_resolved").value_or("");
  r.config_file = get_attr_string(f.get(), "config_file").value_or("");
  try {
    checkpoint_slot(f.get(), path);
    r.has_checkpoint = true;
  } catch (const H5Error&) {
  }
  if (!exists(f.get(), "summary")) return r;
  Id s = open_group(f.get(), "summary");
  r.end_reason = get_attr_string(s.get(), "end_reason").value_or("");
  r.finished = !r.end_reason.empty() && r.end_reason != "interrupted";
  for (const auto& name : attr_names(s.get()))
    if (const auto v = get_attr_string(s.get(), name); !v)
      r.numbers.emplace_back(name, get_attr_double(s.get(), name).value_or(0));
  if (exists(f.get(), "audit/energy")) {
    Id a(H5Dopen2(f.get(), "audit/energy", H5P_DEFAULT), H5Dclose, "open /audit/energy");
    for (const char* name : {"monotone", "violations", "guaranteed"})
      if (const auto v = get_attr_double(a.get(), name)) r.numbers.emplace_back(name, *v);
  }
  return r;
}

}  // namespace hkam::io
