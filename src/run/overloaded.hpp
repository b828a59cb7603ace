#pragma once
// Overloaded{f, g, …}: one visitor for std::visit from several lambdas.

namespace hkam::run {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

}  // namespace hkam::run
