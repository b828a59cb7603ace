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

namespace {

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

}  // namespace hkam::io
