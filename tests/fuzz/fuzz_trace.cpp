// libFuzzer harness (b): HDF5 trace files -> the readers of `hkam info`, `hkam check-energy` and
// `hkam resume`.
//
// Structured: at start-up a genuine trace is written by a small run (with a checkpoint); each
// input is a program of edits applied to a copy of it through the HDF5 API, as a person editing
// a trace with h5py could make them: any attribute set to an extreme number, a string (fixed or
// variable length, ASCII or UTF-8), an array, or deleted; any dataset replaced by one of another
// shape or type, by one declaring up to 2^40 elements, or deleted; any object unlinked. Then
// info, check-energy and (when the trace says it is resumable) resume run on the edited file.
// Corrupting the bytes of the HDF5 container itself is libhdf5's own business, not this harness'.
// A clean refusal is a std::exception; a crash, sanitizer report, leak or hang is a finding;
// and check-energy must never call monotone a trace whose energies rise by more than 1 %.

#include <fuzzer/FuzzedDataProvider.h>
#include <hdf5.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "config/reader.hpp"
#include "io/h5.hpp"
#include "io/trace.hpp"
#include "run/experiment.hpp"
#include "run/limits.hpp"

namespace {

const char* const kConfig = R"(
title = "fuzz base"
[model]
kind = "hopfield_kuramoto"
[hopfield]
units = 4
[patterns]
count = 2
[kuramoto]
dim = 2
[coupling]
alpha = 0.1
[integrator]
stepper = "rk4"
t_end = 1.0
dt = 0.01
[record]
interval = 0.1
checkpoint_seconds = 1e-9
)";

struct Base {
  std::string bytes, path;
  std::vector<std::string> objects;                             // every group and dataset
  std::vector<std::pair<std::string, std::string>> attributes;  // (object, attribute)
};

extern "C" herr_t visit_object(hid_t, const char* name, const H5O_info_t*, void* out) {
  static_cast<Base*>(out)->objects.emplace_back(std::string("/") +
                                                (std::string(name) == "." ? "" : name));
  return 0;
}

Base& base() {
  static Base b = [] {
    Base out;
    const char* dir = std::getenv("TMPDIR");
    const std::string stem =
        std::string(dir ? dir : "/tmp") + "/hkam_fuzz_trace_" + std::to_string(getpid());
    out.path = stem + ".h5";
    // The edited copy lives as long as the process; remove it at exit (a plain buffer, so the
    // handler does not depend on the destruction order of statics).
    static char at_exit[4096];
    std::snprintf(at_exit, sizeof at_exit, "%s", out.path.c_str());
    std::atexit([] { std::remove(at_exit); });
    const std::string first = stem + "_base.h5";
    hkam::run::Experiment e(hkam::config::Document::from_string(kConfig, "fuzz_base.toml"));
    hkam::run::RunOptions o;
    o.output = first;
    o.force = true;
    o.quiet = true;
    e.run(o);
    std::ifstream in(first, std::ios::binary);
    out.bytes.assign(std::istreambuf_iterator<char>(in), {});
    std::remove(first.c_str());
    if (out.bytes.empty()) std::abort();
    // Inventory of the trace's objects and attributes, for the edits to aim at.
    std::ofstream(out.path, std::ios::binary) << out.bytes;
    const hid_t f = H5Fopen(out.path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_INC, visit_object, &out, H5O_INFO_BASIC);
    for (const auto& obj : out.objects) {
      const hid_t o = H5Oopen(f, obj.c_str(), H5P_DEFAULT);
      for (const auto& a : hkam::io::attr_names(o)) out.attributes.emplace_back(obj, a);
      H5Oclose(o);
    }
    H5Fclose(f);
    return out;
  }();
  return b;
}

double pick_number(FuzzedDataProvider& in) {
  constexpr double kSpecial[] = {std::numeric_limits<double>::quiet_NaN(),
                                 std::numeric_limits<double>::infinity(),
                                 -std::numeric_limits<double>::infinity(),
                                 1e308,
                                 -1e308,
                                 -1,
                                 0,
                                 1,
                                 0.5,
                                 2,
                                 1e-300,
                                 9007199254740993.0,
                                 9.3e18,
                                 1.8e19,
                                 2147483648.0,
                                 -2147483649.0,
                                 4294967296.0};
  if (in.ConsumeBool()) return in.PickValueInArray(kSpecial);
  return in.ConsumeFloatingPoint<double>();
}

std::string pick_string(FuzzedDataProvider& in) {
  const char* const kWords[] = {"interrupted", "t_end", "non_finite", "hkam-akorn-network",
                                "a",           "b",     "",           "hopfield",
                                "kuramoto",    "x",     "ü≠∞"};
  if (in.ConsumeBool()) return in.PickValueInArray(kWords);
  if (in.ConsumeBool()) {  // a variation of the stored config (for resume)
    std::string cfg = kConfig;
    const std::size_t at = in.ConsumeIntegralInRange<std::size_t>(0, cfg.size());
    cfg.insert(at, in.ConsumeRandomLengthString(64));
    return cfg;
  }
  return in.ConsumeRandomLengthString(256);
}

void put_string_attr(hid_t obj, const std::string& name, const std::string& v, bool vlen,
                     bool utf8) {
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, vlen ? H5T_VARIABLE : std::max<std::size_t>(v.size(), 1));
  H5Tset_cset(type, utf8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t a = H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT);
  if (a >= 0) {
    const char* p = v.c_str();
    if (vlen)
      H5Awrite(a, type, &p);
    else
      H5Awrite(a, type, std::string(v.empty() ? std::string(1, '\0') : v).data());
    H5Aclose(a);
  }
  H5Sclose(space);
  H5Tclose(type);
}

void put_number_attr(hid_t obj, const std::string& name, const std::vector<double>& v, bool scalar,
                     bool integer) {
  const hsize_t n = v.size();
  const hid_t space = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nullptr);
  const hid_t a = H5Acreate2(obj, name.c_str(), integer ? H5T_STD_I64LE : H5T_IEEE_F64LE, space,
                             H5P_DEFAULT, H5P_DEFAULT);
  if (a >= 0) {
    if (integer) {
      std::vector<long long> w;
      for (double x : v)
        w.push_back(std::isfinite(x) && std::abs(x) < 9e18 ? static_cast<long long>(x) : -1);
      if (!w.empty()) H5Awrite(a, H5T_NATIVE_LLONG, w.data());
    } else if (!v.empty()) {
      H5Awrite(a, H5T_NATIVE_DOUBLE, v.data());
    }
    H5Aclose(a);
  }
  H5Sclose(space);
}

void replace_dataset(hid_t f, const std::string& path, FuzzedDataProvider& in) {
  H5Ldelete(f, path.c_str(), H5P_DEFAULT);
  const int kind = in.ConsumeIntegralInRange(0, 2);
  if (kind == 2) {  // a variable-length string dataset
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    const hid_t space = H5Screate(H5S_SCALAR);
    const hid_t d = H5Dcreate2(f, path.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (d >= 0) {
      const std::string v = pick_string(in);
      const char* p = v.c_str();
      H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, &p);
      H5Dclose(d);
    }
    H5Sclose(space);
    H5Tclose(type);
    return;
  }
  const int rank = in.ConsumeIntegralInRange(0, 3);
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank)), maxdims(dims.size(), H5S_UNLIMITED);
  hsize_t total = 1;
  const bool huge = kind == 1 && rank > 0;
  for (auto& d : dims) {
    d = huge ? hsize_t{1} << in.ConsumeIntegralInRange(0, 40) : in.ConsumeIntegralInRange(0, 6);
    total *= d;
  }
  const hid_t space = H5Screate_simple(rank, dims.data(), huge ? maxdims.data() : nullptr);
  const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (huge) {
    std::vector<hsize_t> chunk(dims.size(), 1);
    H5Pset_chunk(dcpl, rank, chunk.data());
  }
  const hid_t d =
      H5Dcreate2(f, path.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  if (d >= 0) {
    if (!huge && total > 0) {  // small: written (huge ones only declare their size)
      std::vector<double> v(total);
      for (auto& x : v) x = pick_number(in);
      H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
    }
    H5Dclose(d);
  }
  H5Pclose(dcpl);
  H5Sclose(space);
}

void edit(const std::string& path, FuzzedDataProvider& in) {
  const Base& b = base();
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  if (f < 0) std::abort();
  if (in.ConsumeBool()) H5Ldelete(f, "/summary", H5P_DEFAULT);  // make it look interrupted
  const int edits = in.ConsumeIntegralInRange(0, 8);
  for (int k = 0; k < edits && in.remaining_bytes() > 0; ++k) {
    const int op = in.ConsumeIntegralInRange(0, 7);
    if (op <= 4 && !b.attributes.empty()) {
      const auto& [obj, name] =
          b.attributes[in.ConsumeIntegralInRange<std::size_t>(0, b.attributes.size() - 1)];
      if (H5Oexists_by_name(f, obj.c_str(), H5P_DEFAULT) <= 0) continue;
      const hid_t o = H5Oopen(f, obj.c_str(), H5P_DEFAULT);
      if (o < 0) continue;
      if (H5Aexists(o, name.c_str()) > 0) H5Adelete(o, name.c_str());
      if (op == 0) put_number_attr(o, name, {pick_number(in)}, true, false);
      if (op == 1) put_string_attr(o, name, pick_string(in), true, in.ConsumeBool());
      if (op == 2) put_string_attr(o, name, pick_string(in), false, in.ConsumeBool());
      if (op == 3) {
        std::vector<double> v(in.ConsumeIntegralInRange(0, 4));
        for (auto& x : v) x = pick_number(in);
        put_number_attr(o, name, v, false, in.ConsumeBool());
      }
      // op 4: deleted
      H5Oclose(o);
    } else if (!b.objects.empty()) {
      const std::string& obj =
          b.objects[in.ConsumeIntegralInRange<std::size_t>(0, b.objects.size() - 1)];
      if (obj == "/") continue;
      if (op == 7) {
        H5Ldelete(f, obj.c_str(), H5P_DEFAULT);
        continue;
      }
      H5O_info_t info;
      if (H5Oexists_by_name(f, obj.c_str(), H5P_DEFAULT) > 0 &&
          H5Oget_info_by_name2(f, obj.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) >= 0 &&
          info.type == H5O_TYPE_DATASET)
        replace_dataset(f, obj, in);
    }
  }
  H5Fclose(f);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  hkam::io::max_read_bytes() = 64e6;
  hkam::run::default_limits().memory_bytes = 64e6;
  hkam::run::default_limits().output_bytes = 64e6;  // a resumed run must not fill TMPDIR
  base();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 4096) return -1;
  const Base& b = base();
  std::ofstream(b.path, std::ios::binary | std::ios::trunc) << b.bytes;
  FuzzedDataProvider in(data, size);
  edit(b.path, in);
  try {
    hkam::io::read_trace_info(b.path);
  } catch (const std::exception&) {
  }
  try {
    const hkam::io::EnergyCheck c = hkam::io::check_trace_energy(b.path);
    // The verdict must follow from the numbers: a rise above the 1 % bound is a violation.
    std::vector<double> e;
    try {
      e = hkam::io::read_doubles(hkam::io::open_file_read(b.path).get(), "audit/energy");
    } catch (const std::exception&) {
    }
    if (c.audit.monotone() && c.source.rfind("/audit/energy", 0) == 0)
      for (std::size_t k = 3; k < e.size(); k += 2)
        if (e[k] - e[k - 2] > 0.01 * std::max(std::abs(e[k - 2]), 1.0)) std::abort();
  } catch (const std::exception&) {
  }
  try {
    const hkam::io::RunRecord r = hkam::io::read_run_record(b.path);
    static const bool no_resume = std::getenv("HKAM_FUZZ_NO_RESUME") != nullptr;  // profiling
    if (!no_resume && !r.finished && r.has_checkpoint && !r.config_resolved.empty()) {
      hkam::run::Experiment e(hkam::config::Document::from_string(r.config_resolved, "fuzz.toml"));
      hkam::run::RunOptions o;
      o.quiet = true;
      e.resume(b.path, o);
    }
  } catch (const std::exception&) {
  }
  return 0;
}
