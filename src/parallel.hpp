#pragma once
// When a loop of the single-trajectory models is worth splitting over OpenMP threads.
//
// A fork/join costs a few microseconds on a quiet machine, but when the other cores are busy the
// team waits for a descheduled thread: ~0.3 ms per parallel region was measured on a loaded
// 2-core VM, which made the demo (512 units) 3× slower with 2 threads than with 1. A loop is
// therefore split only when its estimated single-thread time is well above that (≥ 0.2 ms), so
// small problems never pay for threads and large ones lose at most a fraction on a busy machine.
// The per-item costs are rough single-core figures of this code on the development machine.

namespace hkam::detail {

inline constexpr double kParallelNs = 2e5;   // split a loop above ~0.2 ms of one core
inline constexpr double kNsPerEdge = 15;     // one pair-potential edge (a tanh, D ≤ 8)
inline constexpr double kNsPerEntry = 0.15;  // one matrix entry of a matrix–vector product
inline constexpr double kNsPerElement = 1;   // one state entry of a pointwise pass

/// True when `items` items of `ns_each` nanoseconds are worth a parallel region.
constexpr bool worth_threads(double items, double ns_each) {
  return items * ns_each > kParallelNs;
}

}  // namespace hkam::detail
