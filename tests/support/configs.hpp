#pragma once
// Config texts shared by the tests that validate and run configs.

#include <string>

namespace hkam::test {

/// The smallest complete experiment: a Hopfield network of 20 units, integrated to t = 1 with
/// every other key at its default. Tests append keys or tables, or override with --set.
inline const std::string kSmallHopfieldConfig = R"([model]
kind = "hopfield"
[hopfield]
units = 20
[integrator]
t_end = 1.0
)";

}  // namespace hkam::test
