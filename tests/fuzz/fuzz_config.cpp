// libFuzzer harness (a): config text -> validated run description.
//
// The bytes are a TOML config. It is parsed and validated exactly as `hkam run` / `hkam sweep`
// validate before writing anything: a [network] config by the network reader, a [sweep] config
// by the sweep expansion (every point's settings), any other by building the Experiment. The
// memory limit is lowered to 1 MB so the size estimate, not the allocator, refuses big models
// (the estimate is what is under test; a model that fits is built, which is cheap at that size).
// Any ConfigError / runtime_error is a clean refusal; a crash, a sanitizer report, a leak or a
// hang is a finding.

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>

#include "config/reader.hpp"
#include "io/h5.hpp"
#include "run/experiment.hpp"
#include "run/limits.hpp"
#include "run/network_run.hpp"
#include "run/sweep.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  hkam::run::default_limits().memory_bytes = 1e6;
  hkam::run::default_limits().output_bytes = 1e9;
  hkam::io::max_read_bytes() = 16e6;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return -1;  // configs are small; keep the corpus that way
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    hkam::config::Document doc = hkam::config::Document::from_string(text, "fuzz.toml");
    if (hkam::run::is_network_config(doc)) {
      hkam::run::validate_network(doc);
    } else if (doc.root().has("sweep")) {
      const hkam::run::SweepPlan plan = hkam::run::expand_sweep(doc);
      // The first points as `hkam sweep` runs them: the base config with the point's settings.
      for (std::size_t k = 0; k < plan.points.size() && k < 3; ++k) {
        hkam::config::Document point = hkam::config::Document::from_string(text, "fuzz.toml");
        point.erase("sweep");
        for (const auto& s : plan.points[k].sets) point.set(s);
        hkam::run::Experiment e(std::move(point));
      }
    } else {
      hkam::run::Experiment e(std::move(doc));
    }
  } catch (const std::exception&) {
    // a clean refusal
  }
  return 0;
}
