#pragma once
// What `validate()` returns: every problem found, joined with "; " ("" when there is none).
// Shared by the Params and Options structs (models/params.cpp, integrate/batch_solve.cpp).

#include <fmt/format.h>

#include <string>
#include <utility>
#include <vector>

namespace hkam::detail {

struct Problems {
  std::vector<std::string> list;
  template <class... Args>
  void add(fmt::format_string<Args...> f, Args&&... args) {
    list.push_back(fmt::format(f, std::forward<Args>(args)...));
  }
  void add_prefixed(const std::string& prefix, const std::string& text) {
    if (!text.empty()) list.push_back(prefix + text);
  }
  std::string str() const {
    std::string out;
    for (const auto& s : list) out += (out.empty() ? "" : "; ") + s;
    return out;
  }
};

}  // namespace hkam::detail
