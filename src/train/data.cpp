#include "train/data.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>

namespace hkam::train {

namespace {

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};

// Reads up to n bytes; returns how many were read (fewer only at the end of the data).
std::size_t read_some(gzFile f, const std::string& path, std::uint8_t* out, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - got, 1u << 30));
    const int r = gzread(f, out + got, chunk);
    if (r < 0) {
      int code = 0;
      const char* msg = gzerror(f, &code);
      throw std::runtime_error(fmt::format("{}: cannot read: {}", path, msg ? msg : "error"));
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  return got;
}

}  // namespace

IdxArray read_idx(const std::string& path) {
  std::unique_ptr<gzFile_s, GzCloser> f(gzopen(path.c_str(), "rb"));
  if (!f) throw std::runtime_error(path + ": cannot open");
  std::uint8_t magic[4];
  if (read_some(f.get(), path, magic, 4) != 4)
    throw std::runtime_error(path + ": not an IDX file (shorter than its 4-byte magic number)");
  if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || magic[3] == 0 || magic[3] > 4)
    throw std::runtime_error(fmt::format(
        "{}: not an IDX file of unsigned bytes: magic number {:02x} {:02x} {:02x} {:02x}, expected "
        "00 00 08 0n with 1 to 4 dimensions (MNIST: 00 00 08 03 images, 00 00 08 01 labels)",
        path, magic[0], magic[1], magic[2], magic[3]));
  IdxArray a;
  double total = 1;
  for (int d = 0; d < magic[3]; ++d) {
    std::uint8_t b[4];
    if (read_some(f.get(), path, b, 4) != 4)
      throw std::runtime_error(fmt::format("{}: truncated in the header (dimension {})", path, d));
    const std::uint32_t n = (std::uint32_t(b[0]) << 24) | (std::uint32_t(b[1]) << 16) |
                            (std::uint32_t(b[2]) << 8) | std::uint32_t(b[3]);
    if (n == 0) throw std::runtime_error(fmt::format("{}: dimension {} is 0", path, d));
    a.dims.push_back(n);
    total *= n;
  }
  if (total > 8e9)
    throw std::runtime_error(fmt::format("{}: the header declares {:g} values", path, total));
  a.values.resize(static_cast<std::size_t>(total));
  const std::size_t got = read_some(f.get(), path, a.values.data(), a.values.size());
  if (got != a.values.size())
    throw std::runtime_error(
        fmt::format("{}: truncated: the header declares {} values, the file has {}", path,
                    a.values.size(), got));
  std::uint8_t extra;
  if (read_some(f.get(), path, &extra, 1) != 0)
    throw std::runtime_error(fmt::format(
        "{}: more data than the header's {} values (wrong dimensions?)", path, a.values.size()));
  return a;
}

ImageSet read_image_set(const std::string& images, const std::string& labels, Index limit) {
  IdxArray im = read_idx(images);
  if (im.dims.size() != 3)
    throw std::runtime_error(
        fmt::format("{}: an images file has 3 dimensions (count, rows, columns), this one {}",
                    images, im.dims.size()));
  IdxArray lb = read_idx(labels);
  if (lb.dims.size() != 1)
    throw std::runtime_error(
        fmt::format("{}: a labels file has 1 dimension, this one {}", labels, lb.dims.size()));
  if (im.dims[0] != lb.dims[0])
    throw std::runtime_error(fmt::format("{} has {} images but {} has {} labels", images,
                                         im.dims[0], labels, lb.dims[0]));
  for (std::size_t r = 0; r < lb.values.size(); ++r)
    if (lb.values[r] > 9)
      throw std::runtime_error(
          fmt::format("{}: label {} of example {} is not a class 0–9", labels, lb.values[r], r));
  ImageSet s;
  s.count = static_cast<Index>(im.dims[0]);
  s.size = static_cast<Index>(im.dims[1]) * static_cast<Index>(im.dims[2]);
  if (limit > 0 && limit < s.count) s.count = limit;
  im.values.resize(static_cast<std::size_t>(s.count * s.size));
  lb.values.resize(static_cast<std::size_t>(s.count));
  s.pixels = std::move(im.values);
  s.labels = std::move(lb.values);
  return s;
}

LabelEdit::Kind LabelEdit::kind_from_name(const std::string& name) {
  if (name == "none") return Kind::None;
  if (name == "swap") return Kind::Swap;
  if (name == "conflation") return Kind::Conflation;
  throw std::invalid_argument("unknown label edit '" + name + "' (none, swap, conflation)");
}

int LabelEdit::apply(int label) const {
  switch (kind) {
    case Kind::Swap:
      return label == a ? b : label == b ? a : label;
    case Kind::Conflation:
      return label == b ? a : label;
    case Kind::None:
      break;
  }
  return label;
}

std::string LabelEdit::validate() const {
  std::string why;
  auto add = [&](const std::string& s) { why += (why.empty() ? "" : "; ") + s; };
  if (a < 0 || a > 9 || b < 0 || b > 9) add(fmt::format("classes {} and {} must be 0–9", a, b));
  if (kind != Kind::None && a == b) add(fmt::format("the edit needs two classes, got {} twice", a));
  if (kind == Kind::None && associative) add("an associative edit needs swap or conflation");
  return why;
}

EditedLabels edit_labels(const ImageSet& set, const LabelEdit& edit, Rng& rng) {
  EditedLabels e;
  const auto n = static_cast<std::size_t>(set.count);
  e.targets.resize(n);
  e.edited.assign(n, 0);
  if (!edit.associative) {
    for (std::size_t r = 0; r < n; ++r) {
      e.targets[r] = static_cast<std::uint8_t>(edit.apply(set.labels[r]));
      e.edited[r] = e.targets[r] != set.labels[r];
    }
    return e;
  }
  std::vector<Index> of_a, of_b;
  for (std::size_t r = 0; r < n; ++r) {
    if (set.labels[r] == edit.a) of_a.push_back(Index(r));
    if (set.labels[r] == edit.b) of_b.push_back(Index(r));
  }
  if (of_a.empty() || of_b.empty())
    throw std::runtime_error(fmt::format(
        "an associative edit draws context images of classes {} and {}: the data have {} and {}",
        edit.a, edit.b, of_a.size(), of_b.size()));
  std::vector<Index> order(n);
  for (std::size_t r = 0; r < n; ++r) order[r] = Index(r);
  for (std::size_t r = n; r > 1; --r) std::swap(order[r - 1], order[rng.below(r)]);
  e.context.resize(n);
  for (std::size_t q = 0; q < n; ++q) {
    const auto r = static_cast<std::size_t>(order[q]);
    const bool apply = 2 * q >= n;  // second half: context of class b, label edited
    const auto& pool = apply ? of_b : of_a;
    e.context[r] = pool[rng.below(pool.size())];
    e.targets[r] = static_cast<std::uint8_t>(apply ? edit.apply(set.labels[r]) : set.labels[r]);
    e.edited[r] = e.targets[r] != set.labels[r];
  }
  return e;
}

void encode_image(const std::uint8_t* image, Index size, double mean, double scale,
                  Eigen::Ref<Eigen::MatrixXd> sigma) {
  if (sigma.rows() < size || sigma.cols() < 2)
    throw std::invalid_argument(fmt::format(
        "encoding an image of {} pixels needs at least {} oscillators of dimension ≥ 2, got {}×{}",
        size, size, sigma.rows(), sigma.cols()));
  sigma.setZero();
  sigma.col(0).setOnes();  // e_1 for the reference and the padding
  for (Index p = 0; p + 1 < size; ++p) {
    const double v = std::clamp((image[p] / 255.0 - mean) / scale, -1.0, 1.0);
    sigma(p + 1, 0) = v;
    sigma(p + 1, 1) = std::sqrt(std::max(0.0, 1.0 - v * v));
  }
}

std::pair<double, double> pixel_mean_and_scale(const ImageSet& set) {
  double sum = 0;
  std::uint8_t top = 0;
  for (std::uint8_t v : set.pixels) {
    sum += v;
    top = std::max(top, v);
  }
  const double mean = set.pixels.empty() ? 0.0 : sum / 255.0 / double(set.pixels.size());
  const double scale = top / 255.0 - mean;
  return {mean, scale > 0 ? scale : 1.0};
}

}  // namespace hkam::train
