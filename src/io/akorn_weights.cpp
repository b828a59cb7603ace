// AKOrN weight files (docs/akorn-weights.md): HDF5 datasets named by the state_dict keys.
#include "io/akorn_weights.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "io/h5.hpp"

namespace hkam::io {

akorn::ParamStore load_akorn_weights(const std::string& path) {
  quiet_hdf5_errors();
  akorn::ParamStore s;
  try {
    const Id f = open_file_read(path);
    std::vector<std::string> names;
    H5Ovisit(
        f.get(), H5_INDEX_NAME, H5_ITER_INC,
        [](hid_t, const char* name, const H5O_info_t* info, void* data) -> herr_t {
          if (info->type == H5O_TYPE_DATASET)
            static_cast<std::vector<std::string>*>(data)->push_back(name);
          return 0;
        },
        &names);
    for (const auto& n : names) {
      std::vector<hsize_t> dims;
      auto values = read_doubles(f.get(), n, &dims);
      require_finite(values, n);
      std::vector<Index> shape(dims.begin(), dims.end());
      s.set(n, std::move(shape), std::move(values));
    }
  } catch (const H5Error& e) {
    throw std::runtime_error(fmt::format("cannot read the weight file {}: {}", path, e.what()));
  }
  if (s.size() == 0)
    throw std::runtime_error(fmt::format("the weight file {} holds no datasets", path));
  return s;
}

void save_akorn_weights(const akorn::ParamStore& store, const std::string& path, bool single) {
  quiet_hdf5_errors();
  const Id f = create_file(path);
  set_attr(f.get(), "format", std::string("hkam-akorn-weights"));
  set_attr(f.get(), "format_version", 1LL);
  for (const auto& [name, p] : store.all()) {
    std::vector<hsize_t> dims(p.shape.begin(), p.shape.end());
    if (single) {
      std::vector<float> v(p.values.begin(), p.values.end());
      write_floats(f.get(), name, v.data(), dims);
    } else {
      write_array(f.get(), name, p.values.data(), dims);
    }
  }
}

}  // namespace hkam::io
