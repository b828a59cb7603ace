#pragma once
// SIGINT/SIGTERM caught for the lifetime of a guard: they set a flag that the run, the sweep loop
// or an MPI rank polls, so work ends cleanly. Internal to hkam.

#include <csignal>

namespace hkam::run {

class SignalGuard {
 public:
  /// Installs the handlers (clearing any earlier signal); the destructor restores the old ones.
  SignalGuard();
  ~SignalGuard();
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;
  /// The signal received since construction, 0 if none.
  static int received();

 private:
  struct sigaction old_int_ {
  }, old_term_{};
};

}  // namespace hkam::run
