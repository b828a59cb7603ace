// Reading traces back: the energy re-check (`hkam check-energy`), `hkam info` and the run record
// a sweep collects.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "io/trace.hpp"

namespace hkam::io {

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
  if (const auto h = str(f.get(), "git_revision_history"); !h.empty()) add("binaries", h);
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
