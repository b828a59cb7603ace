#include "run/network_inputs.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <cmath>
#include <numeric>
#include <optional>
#include <stdexcept>

#include "analysis/segmentation.hpp"
#include "hkam/random.hpp"
#include "io/h5.hpp"

namespace hkam::run {

using akorn::Mat;

namespace {

/// A valid solved Sudoku grid shuffled by digit, row-in-band, band, column-in-stack and stack
/// permutations of the pattern (3·(r mod 3) + r div 3 + c) mod 9.
std::array<int, 81> random_solution(Rng& rng) {
  const auto perm = [&](int n) {
    std::vector<int> p(static_cast<std::size_t>(n));
    std::iota(p.begin(), p.end(), 0);
    for (int i = n - 1; i > 0; --i)
      std::swap(p[static_cast<std::size_t>(i)],
                p[static_cast<std::size_t>(rng.below(static_cast<std::uint64_t>(i + 1)))]);
    return p;
  };
  const auto digits = perm(9), bands = perm(3), stacks = perm(3);
  std::array<int, 9> rows{}, cols{};
  for (int b = 0; b < 3; ++b) {
    const auto r = perm(3), c = perm(3);
    for (int i = 0; i < 3; ++i) {
      rows[static_cast<std::size_t>(b * 3 + i)] =
          bands[static_cast<std::size_t>(b)] * 3 + r[static_cast<std::size_t>(i)];
      cols[static_cast<std::size_t>(b * 3 + i)] =
          stacks[static_cast<std::size_t>(b)] * 3 + c[static_cast<std::size_t>(i)];
    }
  }
  std::array<int, 81> g{};
  for (int r = 0; r < 9; ++r)
    for (int c = 0; c < 9; ++c) {
      const int rr = rows[static_cast<std::size_t>(r)], cc = cols[static_cast<std::size_t>(c)];
      g[static_cast<std::size_t>(r * 9 + c)] =
          digits[static_cast<std::size_t>((3 * (rr % 3) + rr / 3 + cc) % 9)] + 1;
    }
  return g;
}

NetInputs read_images(const NetSpec& n, Rng& rng) {
  NetInputs in;
  const Index S = image_size(n), P = S * S;
  if (n.input_kind == "shapes") {
    in.batch = n.batch;
    in.images.resize(3, in.batch * P);
    for (Index b = 0; b < in.batch; ++b) {
      auto sc = analysis::make_shapes(S, S, n.objects, n.pixel_noise, rng);
      in.images.middleCols(b * P, P) = sc.rgb.cwiseMax(0.0).cwiseMin(1.0);
      in.masks.push_back(sc.mask);
    }
    return in;
  }
  const io::Id f = io::open_file_read(n.input_file);
  std::vector<hsize_t> d;
  const auto v = io::read_doubles(f.get(), "images", &d);
  io::require_finite(v, n.input_file + ": images");
  if (d.size() != 4 || d[1] != 3 || static_cast<Index>(d[2]) != S || static_cast<Index>(d[3]) != S)
    throw std::runtime_error(
        fmt::format("{}: 'images' must be [B, 3, {}, {}] ({}), got [{}]", n.input_file, S, S,
                    n.objects_config() ? "network.input_size, default imsize" : "network.imsize",
                    fmt::join(d, ", ")));
  in.batch = static_cast<Index>(d[0]);
  in.images.resize(3, in.batch * P);
  for (Index b = 0; b < in.batch; ++b)
    for (Index c = 0; c < 3; ++c)
      for (Index p = 0; p < P; ++p)
        in.images(c, b * P + p) = v[static_cast<std::size_t>((b * 3 + c) * P + p)];
  if (io::exists(f.get(), "labels")) {
    std::vector<hsize_t> ld;
    const auto lab = io::read_doubles(f.get(), "labels", &ld);
    io::require_integers(lab, n.input_file + ": labels", -1, 1e9);
    if (ld.size() != 1 || static_cast<Index>(ld[0]) != in.batch)
      throw std::runtime_error(fmt::format("{}: 'labels' must be [{}], got [{}]", n.input_file,
                                           in.batch, fmt::join(ld, ", ")));
    for (double v : lab) in.labels.push_back(static_cast<int>(v));
  }
  if (io::exists(f.get(), "masks")) {
    std::vector<hsize_t> md;
    const auto m = io::read_doubles(f.get(), "masks", &md);
    io::require_integers(m, n.input_file + ": masks", -1, 1e9);
    if (md.size() != 3 || static_cast<Index>(md[0]) != in.batch || static_cast<Index>(md[1]) != S ||
        static_cast<Index>(md[2]) != S)
      throw std::runtime_error(fmt::format("{}: 'masks' must be [{}, {}, {}], got [{}]",
                                           n.input_file, in.batch, S, S, fmt::join(md, ", ")));
    for (Index b = 0; b < in.batch; ++b) {
      std::vector<int> mk(static_cast<std::size_t>(P));
      for (Index p = 0; p < P; ++p)
        mk[static_cast<std::size_t>(p)] = static_cast<int>(m[static_cast<std::size_t>(b * P + p)]);
      in.masks.push_back(std::move(mk));
    }
  }
  return in;
}

NetInputs read_puzzles(const NetSpec& n, Rng& rng) {
  NetInputs in;
  if (n.input_kind == "puzzles") {
    in.batch = n.batch;
    in.boards.resize(in.batch, 81);
    in.solutions.resize(in.batch, 81);
    for (Index b = 0; b < in.batch; ++b) {
      const auto sol = random_solution(rng);
      std::vector<int> cells(81);
      std::iota(cells.begin(), cells.end(), 0);
      for (int i = 80; i > 0; --i)
        std::swap(cells[static_cast<std::size_t>(i)],
                  cells[static_cast<std::size_t>(rng.below(static_cast<std::uint64_t>(i + 1)))]);
      for (int p = 0; p < 81; ++p)
        in.solutions(b, p) = in.boards(b, p) = sol[static_cast<std::size_t>(p)];
      for (int i = 0; i < n.blanks; ++i) in.boards(b, cells[static_cast<std::size_t>(i)]) = 0;
    }
    return in;
  }
  const io::Id f = io::open_file_read(n.input_file);
  const auto load = [&](const std::string& name, Eigen::MatrixXi& out) {
    std::vector<hsize_t> d;
    const auto v = io::read_doubles(f.get(), name, &d);
    const hsize_t cells = d.size() == 3 ? d[1] * d[2] : d.size() == 2 ? d[1] : 0;
    if (cells != 81 || (d.size() == 3 && d[1] != 9))
      throw std::runtime_error(fmt::format("{}: '{}' must be [B, 9, 9] or [B, 81], got [{}]",
                                           n.input_file, name, fmt::join(d, ", ")));
    out.resize(static_cast<Index>(d[0]), 81);
    for (Index b = 0; b < out.rows(); ++b)
      for (Index p = 0; p < 81; ++p) {
        const double x = v[static_cast<std::size_t>(b * 81 + p)];
        if (!(x >= 0 && x <= 9 && x == std::floor(x)))
          throw std::runtime_error(fmt::format("{}: '{}'[{}][{}] = {}: expected a digit 0-9",
                                               n.input_file, name, b, p, x));
        out(b, p) = static_cast<int>(x);
      }
  };
  load("boards", in.boards);
  in.batch = in.boards.rows();
  if (io::exists(f.get(), "solutions")) {
    load("solutions", in.solutions);
    if (in.solutions.rows() != in.batch)
      throw std::runtime_error(n.input_file + ": 'solutions' and 'boards' differ in length");
  }
  return in;
}

}  // namespace

Index image_size(const NetSpec& n) {
  if (const auto* o = n.objects_config()) return o->input_side();
  return std::get<akorn::CifarNetConfig>(n.net).imsize;
}

NetInputs read_inputs(const NetSpec& n, std::uint64_t seed) {
  Rng rng(Rng::derive(seed, kNetInputs));
  return n.kind() == "sudoku" ? read_puzzles(n, rng) : read_images(n, rng);
}

template <class T>
Mat<T> noise_for(const NetSpec& n, Index C, Index cols, Index batch, Index positions,
                 std::uint64_t seed, const char* name, std::uint64_t stream, bool required) {
  Mat<T> x(C, cols);
  std::optional<io::Id> f;
  if (!n.noise_file.empty()) {
    f.emplace(io::open_file_read(n.noise_file));
    if (!required && !io::exists(f->get(), name)) f.reset();
  }
  if (!f) {
    Rng rng(Rng::derive(seed, stream));
    for (Index j = 0; j < cols; ++j)  // sample by sample, channel-first order as randn_like
      for (Index c = 0; c < C; ++c) x(c, j) = static_cast<T>(rng.normal());
    return x;
  }
  std::vector<hsize_t> d;
  const auto v = io::read_doubles(f->get(), name, &d);
  io::require_finite(v, n.noise_file + ": " + name);
  const Index h = static_cast<Index>(std::lround(std::sqrt(static_cast<double>(positions))));
  if (d.size() != 4 || static_cast<Index>(d[0]) != batch || static_cast<Index>(d[1]) != C ||
      static_cast<Index>(d[2] * d[3]) != positions)
    throw std::runtime_error(fmt::format("{}: '{}' must be [{}, {}, {}, {}], got [{}]",
                                         n.noise_file, name, batch, C, h, positions / h,
                                         fmt::join(d, ", ")));
  for (Index b = 0; b < batch; ++b)
    for (Index c = 0; c < C; ++c)
      for (Index p = 0; p < positions; ++p)
        x(c, b * positions + p) =
            static_cast<T>(v[static_cast<std::size_t>((b * C + c) * positions + p)]);
  return x;
}

template Mat<float> noise_for<float>(const NetSpec&, Index, Index, Index, Index, std::uint64_t,
                                     const char*, std::uint64_t, bool);
template Mat<double> noise_for<double>(const NetSpec&, Index, Index, Index, Index, std::uint64_t,
                                       const char*, std::uint64_t, bool);

}  // namespace hkam::run
