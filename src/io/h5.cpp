#include "io/h5.hpp"

#include <fmt/format.h>
#include <hdf5_hl.h>

#include <cmath>
#include <cstring>
#include <numeric>

#include "os.hpp"

namespace hkam::io {
namespace {

hid_t check(hid_t id, const std::string& what) {
  if (id < 0) throw H5Error("HDF5: " + what);
  return id;
}
void check(herr_t status, const std::string& what, int) {
  if (status < 0) throw H5Error("HDF5: " + what);
}

Id scalar_space() {
  return Id(H5Screate(H5S_SCALAR), H5Sclose, "create scalar dataspace");
}

}  // namespace

Id::Id(hid_t id, Closer close, const std::string& what) : id_(check(id, what)), close_(close) {}

Id& Id::operator=(Id&& o) noexcept {
  if (this != &o) {
    if (id_ >= 0 && close_) close_(id_);
    id_ = o.id_;
    close_ = o.close_;
    o.id_ = H5I_INVALID_HID;
  }
  return *this;
}

Id::~Id() {
  if (id_ >= 0 && close_) close_(id_);
}

void quiet_hdf5_errors() {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

Id create_file(const std::string& path) {
  quiet_hdf5_errors();
  Id fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, "file access properties");
  // The 1.8 file format: growable chunked datasets and large attributes (the config text), and a
  // superblock without the "open for writing" flag of the 1.10 format, which would make a file
  // left by a killed run unreadable (h5py: "file is already open for write") until h5clear.
  // Between flushes hkam makes no HDF5 calls, so such a file holds everything up to the last one.
  check(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_V18), "libver bounds", 0);
  return Id(H5Fcreate(path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl.get()), H5Fclose,
            "cannot create " + path);
}

void flush(hid_t obj) {
  check(H5Fflush(obj, H5F_SCOPE_GLOBAL), "flush", 0);
}

Id open_file_read(const std::string& path) {
  quiet_hdf5_errors();
  return Id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose,
            "cannot open " + path + " as HDF5");
}

Id create_group(hid_t parent, const std::string& name) {
  return Id(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose,
            "create group " + name);
}

Id open_group(hid_t parent, const std::string& name) {
  return Id(H5Gopen2(parent, name.c_str(), H5P_DEFAULT), H5Gclose, "open group " + name);
}

bool exists(hid_t parent, const std::string& path) {
  // Check each component so that a missing intermediate group is "false", not an error.
  std::size_t pos = 0;
  while (true) {
    const std::size_t next = path.find('/', pos + 1);
    const std::string prefix = path.substr(0, next);
    if (H5Lexists(parent, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (next == std::string::npos) return true;
    pos = next;
  }
}

void set_attr(hid_t obj, const std::string& name, const std::string& value) {
  if (H5Aexists(obj, name.c_str()) > 0) check(H5Adelete(obj, name.c_str()), "replace " + name, 0);
  Id type(H5Tcopy(H5T_C_S1), H5Tclose, "string type");
  check(H5Tset_size(type.get(), std::max<std::size_t>(value.size(), 1)), "string size", 0);
  check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "string charset", 0);
  Id space = scalar_space();
  Id attr(H5Acreate2(obj, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
          H5Aclose, "create attribute " + name);
  const std::string padded = value.empty() ? std::string(1, '\0') : value;
  check(H5Awrite(attr.get(), type.get(), padded.data()), "write attribute " + name, 0);
}

void set_attr(hid_t obj, const std::string& name, double value) {
  if (H5Aexists(obj, name.c_str()) > 0) check(H5Adelete(obj, name.c_str()), "replace " + name, 0);
  Id space = scalar_space();
  Id attr(H5Acreate2(obj, name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT),
          H5Aclose, "create attribute " + name);
  check(H5Awrite(attr.get(), H5T_NATIVE_DOUBLE, &value), "write attribute " + name, 0);
}

void set_attr(hid_t obj, const std::string& name, long long value) {
  if (H5Aexists(obj, name.c_str()) > 0) check(H5Adelete(obj, name.c_str()), "replace " + name, 0);
  Id space = scalar_space();
  Id attr(H5Acreate2(obj, name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT),
          H5Aclose, "create attribute " + name);
  check(H5Awrite(attr.get(), H5T_NATIVE_LLONG, &value), "write attribute " + name, 0);
}

namespace {
// An attribute read into one value must hold exactly one (h5py writes lists as 1-D arrays).
void require_single(hid_t attr, const std::string& name) {
  Id space(H5Aget_space(attr), H5Sclose, "space of attribute " + name);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n != 1)
    throw H5Error(fmt::format("HDF5: attribute {} holds {} values, expected one", name, n));
}
}  // namespace

std::optional<std::string> get_attr_string(hid_t obj, const std::string& name) {
  if (H5Aexists(obj, name.c_str()) <= 0) return std::nullopt;
  Id attr(H5Aopen(obj, name.c_str(), H5P_DEFAULT), H5Aclose, "open attribute " + name);
  Id type(H5Aget_type(attr.get()), H5Tclose, "attribute type");
  if (H5Tget_class(type.get()) != H5T_STRING) return std::nullopt;
  require_single(attr.get(), name);
  if (H5Tis_variable_str(type.get()) > 0) {
    // h5py writes str attributes as variable-length UTF-8: read them in their own character set
    // (HDF5 does not convert between ASCII and UTF-8).
    char* buf = nullptr;
    Id mem(H5Tcopy(H5T_C_S1), H5Tclose, "string type");
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
    check(H5Aread(attr.get(), mem.get(), &buf), "read attribute " + name, 0);
    std::string out = buf ? buf : "";
    H5free_memory(buf);
    return out;
  }
  const std::size_t size = H5Tget_size(type.get());
  if (size == 0 || size > (std::size_t{1} << 30))
    throw H5Error(fmt::format("HDF5: attribute {} declares a string of {} bytes", name, size));
  std::string out(size + 1, '\0');  // + 1: a NUL even when the stored string has none
  check(H5Aread(attr.get(), type.get(), out.data()), "read attribute " + name, 0);
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::optional<double> get_attr_double(hid_t obj, const std::string& name) {
  if (H5Aexists(obj, name.c_str()) <= 0) return std::nullopt;
  Id attr(H5Aopen(obj, name.c_str(), H5P_DEFAULT), H5Aclose, "open attribute " + name);
  require_single(attr.get(), name);
  double v = 0;
  check(H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &v), "read attribute " + name, 0);
  return v;
}

namespace {
extern "C" herr_t collect_attr_name(hid_t, const char* name, const H5A_info_t*, void* out) {
  static_cast<std::vector<std::string>*>(out)->emplace_back(name);
  return 0;
}
}  // namespace

std::vector<std::string> attr_names(hid_t obj) {
  std::vector<std::string> names;
  hsize_t idx = 0;
  check(H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_attr_name, &names),
        "list attributes", 0);
  return names;
}

namespace {
void write_typed(hid_t parent, const std::string& name, const void* data,
                 const std::vector<hsize_t>& dims, hid_t file_type, hid_t mem_type) {
  Id space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose,
           "dataspace for " + name);
  Id ds(H5Dcreate2(parent, name.c_str(), file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT,
                   H5P_DEFAULT),
        H5Dclose, "create dataset " + name);
  hsize_t total = 1;
  for (hsize_t d : dims) total *= d;
  if (total)
    check(H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "write " + name, 0);
}
}  // namespace

void write_array(hid_t parent, const std::string& name, const double* data,
                 const std::vector<hsize_t>& dims) {
  write_typed(parent, name, data, dims, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE);
}

void write_int_array(hid_t parent, const std::string& name, const std::vector<long long>& v,
                     const std::vector<hsize_t>& dims) {
  write_typed(parent, name, v.data(), dims, H5T_STD_I64LE, H5T_NATIVE_LLONG);
}

void write_floats(hid_t parent, const std::string& name, const float* data,
                  const std::vector<hsize_t>& dims) {
  write_typed(parent, name, data, dims, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT);
}

void put_array(hid_t parent, const std::string& name, const double* data,
               const std::vector<hsize_t>& dims) {
  if (exists(parent, name)) {
    Id ds(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), H5Dclose, "open " + name);
    Id space(H5Dget_space(ds.get()), H5Sclose, "space of " + name);
    std::vector<hsize_t> have(static_cast<std::size_t>(H5Sget_simple_extent_ndims(space.get())));
    H5Sget_simple_extent_dims(space.get(), have.data(), nullptr);
    if (have == dims) {
      check(H5Dwrite(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data),
            "write " + name, 0);
      return;
    }
    check(H5Ldelete(parent, name.c_str(), H5P_DEFAULT), "replace " + name, 0);
  }
  write_array(parent, name, data, dims);
}

void write_matrix(hid_t parent, const std::string& name, const Eigen::MatrixXd& m, bool as_vector) {
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rm = m;
  if (as_vector)
    write_array(parent, name, rm.data(), {static_cast<hsize_t>(m.size())});
  else
    write_array(parent, name, rm.data(),
                {static_cast<hsize_t>(m.rows()), static_cast<hsize_t>(m.cols())});
}

void write_ints(hid_t parent, const std::string& name, const std::vector<long long>& v,
                hsize_t cols) {
  const hsize_t dims[2] = {v.size() / cols, cols};
  Id space(H5Screate_simple(cols == 1 ? 1 : 2, dims, nullptr), H5Sclose, "dataspace for " + name);
  Id ds(H5Dcreate2(parent, name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT,
                   H5P_DEFAULT),
        H5Dclose, "create dataset " + name);
  if (!v.empty())
    check(H5Dwrite(ds.get(), H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()),
          "write " + name, 0);
}

void require_finite(const std::vector<double>& v, const std::string& what) {
  for (std::size_t k = 0; k < v.size(); ++k)
    if (!std::isfinite(v[k]))
      throw H5Error(fmt::format("{}: value {} is {}, expected a finite number", what, k, v[k]));
}

void require_integers(const std::vector<double>& v, const std::string& what, double lo, double hi) {
  for (std::size_t k = 0; k < v.size(); ++k)
    if (!(v[k] >= lo && v[k] <= hi && v[k] == std::floor(v[k])))
      throw H5Error(fmt::format("{}: value {} is {}, expected an integer in [{}, {}]", what, k,
                                v[k], lo, hi));
}

double& max_read_bytes() {
  static double bytes = 0.4 * os::physical_memory_bytes();
  return bytes;
}

namespace {
void check_read_size(const std::string& path, const std::vector<hsize_t>& dims) {
  double n = 1;
  for (hsize_t d : dims) n *= static_cast<double>(d);
  if (8 * n > max_read_bytes())
    throw H5Error(
        fmt::format("HDF5: {} declares {:.0f} values ({:.3g} GB), more than hkam reads "
                    "at once ({:.3g} GB): not a file hkam can use",
                    path, n, 8e-9 * n, 1e-9 * max_read_bytes()));
}
}  // namespace

std::vector<double> read_doubles(hid_t parent, const std::string& path,
                                 std::vector<hsize_t>* shape) {
  Id ds(H5Dopen2(parent, path.c_str(), H5P_DEFAULT), H5Dclose, "open dataset " + path);
  Id space(H5Dget_space(ds.get()), H5Sclose, "dataspace of " + path);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) throw H5Error("HDF5: rank of " + path);
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  check_read_size(path, dims);
  const hsize_t n = std::accumulate(dims.begin(), dims.end(), hsize_t{1}, std::multiplies<>());
  std::vector<double> out(n);
  if (n)
    check(H5Dread(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()),
          "read " + path, 0);
  if (shape) *shape = dims;
  return out;
}

std::vector<double> read_rows(hid_t parent, const std::string& path, hsize_t row0, hsize_t rows) {
  Id ds(H5Dopen2(parent, path.c_str(), H5P_DEFAULT), H5Dclose, "open dataset " + path);
  Id space(H5Dget_space(ds.get()), H5Sclose, "dataspace of " + path);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 1) throw H5Error("HDF5: " + path + " has no rows");
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  if (rows > dims[0] || row0 > dims[0] - rows)
    throw H5Error(fmt::format("HDF5: {} has {} rows, not {}", path, dims[0], row0 + rows));
  std::vector<hsize_t> start(dims.size(), 0), count = dims;
  start[0] = row0;
  count[0] = rows;
  check_read_size(path, count);
  const hsize_t n = std::accumulate(count.begin(), count.end(), hsize_t{1}, std::multiplies<>());
  std::vector<double> out(n);
  if (!n) return out;
  check(H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(),
                            nullptr),
        "select rows of " + path, 0);
  Id mem(H5Screate_simple(rank, count.data(), nullptr), H5Sclose, "memory space");
  check(H5Dread(ds.get(), H5T_NATIVE_DOUBLE, mem.get(), space.get(), H5P_DEFAULT, out.data()),
        "read rows of " + path, 0);
  return out;
}

void copy_object(hid_t from, const std::string& name, hid_t to) {
  check(H5Ocopy(from, name.c_str(), to, name.c_str(), H5P_DEFAULT, H5P_DEFAULT), "copy " + name, 0);
}

void copy_attributes(hid_t from, hid_t to) {
  for (const auto& name : attr_names(from)) {
    Id a(H5Aopen(from, name.c_str(), H5P_DEFAULT), H5Aclose, "open attribute " + name);
    Id type(H5Aget_type(a.get()), H5Tclose, "attribute type");
    Id space(H5Aget_space(a.get()), H5Sclose, "attribute space");
    // The in-memory size (not the storage size, which differs for variable-length types); the
    // variable-length parts HDF5 allocates while reading are given back after the write.
    const hssize_t points = H5Sget_simple_extent_npoints(space.get());
    const std::size_t bytes =
        static_cast<std::size_t>(std::max<hssize_t>(points, 0)) * H5Tget_size(type.get());
    if (points < 0 || bytes > (std::size_t{1} << 26))
      throw H5Error(fmt::format("HDF5: attribute {} is too large to copy ({} bytes)", name, bytes));
    std::vector<unsigned char> buf(bytes + 1);
    check(H5Aread(a.get(), type.get(), buf.data()), "read attribute " + name, 0);
    struct Reclaim {
      hid_t type, space;
      void* data;
      ~Reclaim() { H5Dvlen_reclaim(type, space, H5P_DEFAULT, data); }
    } reclaim{type.get(), space.get(), buf.data()};
    if (H5Aexists(to, name.c_str()) > 0) H5Adelete(to, name.c_str());
    Id b(H5Acreate2(to, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
         "create attribute " + name);
    check(H5Awrite(b.get(), type.get(), buf.data()), "write attribute " + name, 0);
  }
}

Growable::Growable(hid_t parent, const std::string& name, std::vector<hsize_t> tail,
                   hsize_t chunk_rows, bool compress)
    : tail_(std::move(tail)) {
  std::vector<hsize_t> dims{0}, maxdims{H5S_UNLIMITED}, chunk{std::max<hsize_t>(chunk_rows, 1)};
  for (hsize_t t : tail_) {
    dims.push_back(t);
    maxdims.push_back(t);
    chunk.push_back(t);
  }
  Id space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), maxdims.data()), H5Sclose,
           "dataspace for " + name);
  Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, "dataset properties");
  check(H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()), "chunk " + name, 0);
  if (compress && H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0) {
    check(H5Pset_shuffle(dcpl.get()), "shuffle " + name, 0);
    check(H5Pset_deflate(dcpl.get(), 1), "deflate " + name, 0);
  }
  ds_ = Id(H5Dcreate2(parent, name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, dcpl.get(),
                      H5P_DEFAULT),
           H5Dclose, "create dataset " + name);
}

void Growable::append(const double* data, hsize_t n_rows) {
  if (n_rows == 0) return;
  std::vector<hsize_t> dims{rows_ + n_rows}, start{rows_}, count{n_rows};
  for (hsize_t t : tail_) {
    dims.push_back(t);
    start.push_back(0);
    count.push_back(t);
  }
  check(H5Dset_extent(ds_.get(), dims.data()), "extend dataset", 0);
  Id file_space(H5Dget_space(ds_.get()), H5Sclose, "dataset space");
  check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(),
                            nullptr),
        "select rows", 0);
  Id mem_space(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), H5Sclose,
               "memory space");
  check(
      H5Dwrite(ds_.get(), H5T_NATIVE_DOUBLE, mem_space.get(), file_space.get(), H5P_DEFAULT, data),
      "append rows", 0);
  rows_ += n_rows;
}

void attach_scale(hid_t scale, const std::string& name,
                  const std::vector<std::pair<hid_t, unsigned>>& uses) {
  check(H5DSset_scale(scale, name.c_str()), "make dimension scale " + name, 0);
  for (const auto& [ds, dim] : uses)
    check(H5DSattach_scale(ds, scale, dim), "attach dimension scale " + name, 0);
}

}  // namespace hkam::io
