#pragma once
#include <string_view>

namespace hkam {
/// The library version, e.g. "0.1.0".
std::string_view version();
/// The git revision the library was configured from ("unknown" outside a checkout).
std::string_view git_revision();
}  // namespace hkam
