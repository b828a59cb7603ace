#pragma once
// Resource limits of a run (the [limits] table, docs/config.md): the memory a config will need
// and the size of the trace it will write are estimated from its sizes before anything is
// allocated or written, and a config above a limit is refused at the key that makes it large.
// Internal to hkam.

#include <string>

#include "config/reader.hpp"

namespace hkam::run {

struct Limits {
  double memory_bytes = 0;  ///< default: 80 % of the machine's physical memory
  double output_bytes = 0;  ///< default: 20 GB
};

/// The limits used when a config has no [limits] table. Tools that check many configs (the fuzz
/// harnesses) lower them; the first call reads the machine's memory size.
Limits& default_limits();

/// Human-readable size: "512 B", "3.2 MB", "1.5 TB".
std::string format_bytes(double bytes);

class Budget {
 public:
  /// Reads [limits] memory_gb and output_gb from `root` (both optional, > 0).
  explicit Budget(config::Section& root);
  /// Adds `bytes` (of `what`, made large by `key` of `s`) to the memory estimate; fails at `key`
  /// when the total goes above the limit.
  void memory(const config::Section& s, const std::string& key, double bytes,
              const std::string& what);
  /// The same for the size of the output file.
  void output(const config::Section& s, const std::string& key, double bytes,
              const std::string& what);
  double memory_total() const { return memory_; }
  double output_total() const { return output_; }

 private:
  Limits limits_;
  bool memory_given_ = false, output_given_ = false;
  double memory_ = 0, output_ = 0;
};

}  // namespace hkam::run
