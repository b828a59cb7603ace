#pragma once
/// Umbrella header: everything public in hkam.
#include "hkam/core.hpp"
#include "hkam/integrate/simulate.hpp"
#include "hkam/linalg.hpp"
#include "hkam/models/akorn_kuramoto.hpp"
#include "hkam/models/graph.hpp"
#include "hkam/models/hopfield.hpp"
#include "hkam/models/hopfield_kuramoto.hpp"
#include "hkam/models/kuramoto.hpp"
#include "hkam/models/lagrangian.hpp"
#include "hkam/observe/energy_audit.hpp"
#include "hkam/random.hpp"
#include "hkam/version.hpp"
