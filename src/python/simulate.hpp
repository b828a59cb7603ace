#pragma once
// Solves from Python: `_hkam.simulate` (one trajectory through hkam::simulate, as `hkam run`; a
// batch or float32 through the batched solver) and `_hkam.gradient` (reverse mode through a
// batched solve). `options` is the dict the `hkam` package builds from its keyword arguments.

#include <pybind11/pybind11.h>

#include "python/model.hpp"

namespace hkam::python {

/// Integrates z0 ((dim,) or (B, dim)); returns t, z, energy at the recorded steps, the audit of
/// every accepted step, the end reason and counts. Ctrl-C stops the solve at the next check: the
/// result then has `keyboard_interrupt` set (the package raises hkam.Interrupted with it).
py::dict simulate(const Model& m, const py::handle& z0, const py::dict& options);

/// (z_end, dL/dz0, dL/dθ) of a loss L(z(t_end)) given dloss = dL/dz(t_end) (same shape as z0).
py::tuple gradient(const Model& m, const py::handle& z0, const py::handle& dloss,
                   const py::dict& options);

}  // namespace hkam::python
