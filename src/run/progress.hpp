#pragma once
// Pieces the runners (`hkam run`, `hkam train`) share around their loops: a live progress line
// on stderr and a wall-clock timer for periodic work (checkpoints, redraws).

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>

namespace hkam::run {

/// True once every `seconds` of wall time (0: every time it is asked).
class Periodic {
 public:
  explicit Periodic(double seconds) : seconds_(seconds) {}
  double since() const { return std::chrono::duration<double>(Clock::now() - last_).count(); }
  bool due() const { return since() >= seconds_; }
  void reset() { last_ = Clock::now(); }

 private:
  using Clock = std::chrono::steady_clock;
  double seconds_;
  Clock::time_point last_ = Clock::now();
};

/// A status line on stderr redrawn in place (enabled on a terminal: RunOptions::progress and
/// not quiet), at most every `min_seconds`. end() clears it (`keep` false) or moves past it.
class ProgressLine {
 public:
  ProgressLine(bool enabled, double min_seconds, bool keep)
      : enabled_(enabled), keep_(keep), redraw_(min_seconds) {}
  ~ProgressLine() { end(); }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  bool enabled() const { return enabled_; }
  /// Whether a redraw is due (always false when disabled).
  bool due() const { return enabled_ && (!drawn_ || redraw_.due()); }
  template <class... Args>
  void show(fmt::format_string<Args...> f, const Args&... args) {
    if (!enabled_) return;
    fmt::print(stderr, "\r{}   ", fmt::vformat(f, fmt::make_format_args(args...)));
    std::fflush(stderr);
    drawn_ = true;
    redraw_.reset();
  }
  /// Ends the line (idempotent): before any other output on stderr.
  void end() {
    if (!drawn_) return;
    std::fputs(keep_ ? "\n" : "\r\033[K", stderr);
    drawn_ = false;
  }

 private:
  bool enabled_, keep_;
  bool drawn_ = false;
  Periodic redraw_;
};

/// "1h05m" or "3m07s" ("?" for a negative or non-finite time).
inline std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long t = std::lround(seconds);
  return t >= 3600 ? fmt::format("{}h{:02d}m", t / 3600, (t / 60) % 60)
                   : fmt::format("{}m{:02d}s", t / 60, t % 60);
}

}  // namespace hkam::run
