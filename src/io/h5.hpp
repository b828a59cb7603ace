#pragma once
// A small RAII layer over the HDF5 C API. Internal to hkam: HDF5 types never appear in public
// headers. Every failing HDF5 call becomes one exception type, H5Error, here and nowhere else.

#include <hdf5.h>

#include <Eigen/Core>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace hkam::io {

struct H5Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Owns one HDF5 identifier and closes it with the matching H5?close.
class Id {
 public:
  using Closer = herr_t (*)(hid_t);
  Id() = default;
  Id(hid_t id, Closer close, const std::string& what);
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  Id(Id&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = H5I_INVALID_HID; }
  Id& operator=(Id&& o) noexcept;
  ~Id();
  hid_t get() const { return id_; }
  explicit operator bool() const { return id_ >= 0; }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer close_ = nullptr;
};

/// Silences HDF5's own error printing (errors arrive as H5Error instead). Idempotent.
void quiet_hdf5_errors();

/// Creates a new file; fails if it exists (never overwrites).
Id create_file(const std::string& path);
Id open_file_read(const std::string& path);
/// Writes everything buffered for the file that holds `obj` to disk.
void flush(hid_t obj);
Id create_group(hid_t parent, const std::string& name);
Id open_group(hid_t parent, const std::string& name);
bool exists(hid_t parent, const std::string& path);

void set_attr(hid_t obj, const std::string& name, const std::string& value);
void set_attr(hid_t obj, const std::string& name, double value);
void set_attr(hid_t obj, const std::string& name, long long value);
std::optional<std::string> get_attr_string(hid_t obj, const std::string& name);
std::optional<double> get_attr_double(hid_t obj, const std::string& name);
/// Names of the attributes of `obj`, in creation order.
std::vector<std::string> attr_names(hid_t obj);

/// Writes a fixed dataset of any rank from row-major `data`.
void write_array(hid_t parent, const std::string& name, const double* data,
                 const std::vector<hsize_t>& dims);
/// An int64 dataset of any rank from row-major `v`.
void write_int_array(hid_t parent, const std::string& name, const std::vector<long long>& v,
                     const std::vector<hsize_t>& dims);
/// The same, stored as float32.
void write_floats(hid_t parent, const std::string& name, const float* data,
                  const std::vector<hsize_t>& dims);
/// Writes a fixed dataset, overwriting it in place when it exists with the same shape.
void put_array(hid_t parent, const std::string& name, const double* data,
               const std::vector<hsize_t>& dims);
/// Writes a fixed dataset (row-major order of `m`, shape rows×cols, or 1-D when `as_vector`).
void write_matrix(hid_t parent, const std::string& name, const Eigen::MatrixXd& m,
                  bool as_vector = false);
void write_ints(hid_t parent, const std::string& name, const std::vector<long long>& v,
                hsize_t cols = 1);
/// Reads rows [row0, row0 + rows) of a double dataset (all of its other dimensions), row-major.
std::vector<double> read_rows(hid_t parent, const std::string& path, hsize_t row0, hsize_t rows);
/// Copies object `name` (a group with everything in it, or a dataset) from one file to another.
void copy_object(hid_t from, const std::string& name, hid_t to);
/// Copies every attribute of `from` onto `to` (replacing ones of the same name).
void copy_attributes(hid_t from, hid_t to);
/// Largest dataset (in bytes, as doubles) the readers load at once; a file declaring a larger one
/// is refused with an H5Error instead of exhausting memory. Default: 40 % of physical memory.
double& max_read_bytes();

/// Throws H5Error naming `what` and the first offending index unless every value is finite.
void require_finite(const std::vector<double>& v, const std::string& what);
/// The same, and every value an integer in [lo, hi] (labels, masks: cast to int afterwards).
void require_integers(const std::vector<double>& v, const std::string& what, double lo, double hi);

/// Reads a whole double dataset, flattened in row-major order; `shape` receives its dimensions.
std::vector<double> read_doubles(hid_t parent, const std::string& path,
                                 std::vector<hsize_t>* shape = nullptr);

/// A double dataset that grows along its first dimension: shape (T, tail...), chunked, with
/// optional deflate compression.
class Growable {
 public:
  Growable() = default;
  Growable(hid_t parent, const std::string& name, std::vector<hsize_t> tail, hsize_t chunk_rows,
           bool compress);
  /// Appends `n_rows` rows stored contiguously (row-major) at `data`.
  void append(const double* data, hsize_t n_rows);
  hsize_t rows() const { return rows_; }
  /// Values in one row (the product of the dimensions after the first).
  hsize_t row_size() const {
    hsize_t n = 1;
    for (hsize_t t : tail_) n *= t;
    return n;
  }
  hid_t id() const { return ds_.get(); }

 private:
  Id ds_;
  std::vector<hsize_t> tail_;
  hsize_t rows_ = 0;
};

/// Makes `scale` a dimension scale named `name` and attaches it to dimension `dim` of each dataset.
void attach_scale(hid_t scale, const std::string& name,
                  const std::vector<std::pair<hid_t, unsigned>>& uses);

}  // namespace hkam::io
