#pragma once
// AKOrN weight files (docs/akorn-weights.md): every parameter of a `ParamStore` as an HDF5
// dataset named by its state_dict key, with the torch shape.

#include <string>

#include "hkam/akorn/params.hpp"

namespace hkam::io {

/// Reads every dataset of an HDF5 weight file (any float or integer type; names are the dataset
/// paths without the leading '/'). Values must be finite. Throws std::runtime_error naming the
/// file.
akorn::ParamStore load_akorn_weights(const std::string& path);
/// Writes a new HDF5 weight file (never overwrites) with every parameter as a dataset named by
/// its key, float32 (as the reference trains) or float64.
void save_akorn_weights(const akorn::ParamStore& store, const std::string& path,
                        bool single = true);

}  // namespace hkam::io
