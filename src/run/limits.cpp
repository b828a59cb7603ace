#include "run/limits.hpp"

#include <fmt/format.h>

#include <cmath>

#include "os.hpp"

namespace hkam::run {

Limits& default_limits() {
  static Limits limits = [] {
    Limits l;
    l.memory_bytes = 0.8 * os::physical_memory_bytes();
    l.output_bytes = 20e9;
    return l;
  }();
  return limits;
}

std::string format_bytes(double bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  int k = 0;
  while (bytes >= 1000 && k < 6) bytes /= 1000, ++k;
  if (!std::isfinite(bytes) || bytes >= 1000) return "more than 1000 EB";
  return k == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.3g} {}", bytes, units[k]);
}

Budget::Budget(config::Section& root) : limits_(default_limits()) {
  if (!root.has("limits")) return;
  config::Section s = root.section("limits");
  memory_given_ = s.has("memory_gb");
  output_given_ = s.has("output_gb");
  if (memory_given_) limits_.memory_bytes = 1e9 * s.number("memory_gb", 1.0, config::positive());
  if (output_given_) limits_.output_bytes = 1e9 * s.number("output_gb", 1.0, config::positive());
  s.done();
}

namespace {
void add(const config::Section& s, const std::string& key, double bytes, const std::string& what,
         double& total, double limit, bool given, const char* resource, const char* limit_key,
         const char* default_text) {
  total += bytes;
  if (total <= limit) return;  // NaN and inf fail here too
  s.fail(key,
         fmt::format("the run would need about {} of {} ({} {}), above the limit of {} ({}): "
                     "reduce it, or raise limits.{} if you mean it",
                     format_bytes(total), resource, format_bytes(bytes), what, format_bytes(limit),
                     given ? fmt::format("limits.{}", limit_key) : std::string(default_text),
                     limit_key));
}
}  // namespace

void Budget::memory(const config::Section& s, const std::string& key, double bytes,
                    const std::string& what) {
  add(s, key, bytes, what, memory_, limits_.memory_bytes, memory_given_, "memory", "memory_gb",
      "80 % of this machine's memory");
}

void Budget::output(const config::Section& s, const std::string& key, double bytes,
                    const std::string& what) {
  add(s, key, bytes, what, output_, limits_.output_bytes, output_given_, "output", "output_gb",
      "the default");
}

}  // namespace hkam::run
