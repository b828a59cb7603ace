#include "hkam/models/graph.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <unordered_set>

#include "hkam/random.hpp"
#include "os.hpp"

namespace hkam {
namespace {

std::uint64_t edge_key(std::int64_t i, std::int64_t j) {
  if (i > j) std::swap(i, j);
  return (static_cast<std::uint64_t>(i) << 32) | static_cast<std::uint64_t>(j);
}

void check_nodes(Index n) {
  if (n < 0 || n > INT32_MAX) throw std::invalid_argument("graph: node count out of range");
}

}  // namespace

Graph Graph::complete(Index n) {
  check_nodes(n);
  Graph g;
  g.n_ = n;
  g.complete_ = true;
  return g;
}

Graph Graph::ring(Index n, Index k) {
  check_nodes(n);
  if (k <= 0 || k % 2 != 0 || k >= n)
    throw std::invalid_argument("graph: ring needs an even k with 0 < k < n (got k = " +
                                std::to_string(k) + ", n = " + std::to_string(n) + ")");
  std::vector<Edge> edges;
  edges.reserve(static_cast<std::size_t>(n * k / 2));
  for (Index m = 1; m <= k / 2; ++m)
    for (Index i = 0; i < n; ++i) {
      const Index j = (i + m) % n;
      edges.push_back(
          {static_cast<std::int32_t>(std::min(i, j)), static_cast<std::int32_t>(std::max(i, j))});
    }
  return from_edges(n, std::move(edges));
}

Graph Graph::watts_strogatz(Index n, Index k, double p, std::uint64_t seed) {
  if (!(p >= 0.0 && p <= 1.0))
    throw std::invalid_argument("graph: rewiring probability p must be in [0, 1]");
  const Graph lattice = ring(n, k);
  for (std::uint64_t attempt = 0; attempt < 1000; ++attempt) {
    Rng rng(attempt == 0 ? seed : Rng::derive(seed, attempt));
    std::unordered_set<std::uint64_t> present;
    present.reserve(lattice.edges_.size() * 2);
    // Ring edges in lattice order: m = 1..k/2 outer, i inner; the "near end" is i.
    std::vector<std::pair<std::int64_t, std::int64_t>> directed;
    directed.reserve(lattice.edges_.size());
    for (Index m = 1; m <= k / 2; ++m)
      for (Index i = 0; i < n; ++i) {
        directed.emplace_back(i, (i + m) % n);
        present.insert(edge_key(i, (i + m) % n));
      }
    for (auto& [i, j] : directed) {
      if (rng.uniform() >= p) continue;
      // A node of full degree has nowhere to go; leave the edge where it is.
      for (int tries = 0; tries < 64; ++tries) {
        const auto t = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(n)));
        if (t == i || present.count(edge_key(i, t))) continue;
        present.erase(edge_key(i, j));
        present.insert(edge_key(i, t));
        j = t;
        break;
      }
    }
    std::vector<Edge> edges;
    edges.reserve(directed.size());
    for (const auto& [i, j] : directed)
      edges.push_back(
          {static_cast<std::int32_t>(std::min(i, j)), static_cast<std::int32_t>(std::max(i, j))});
    Graph g = from_edges(n, std::move(edges));
    if (g.connected()) return g;
  }
  throw std::runtime_error("graph: no connected Watts-Strogatz graph after 1000 attempts");
}

Graph Graph::from_edges(Index n, std::vector<Edge> edges) {
  check_nodes(n);
  std::unordered_set<std::uint64_t> seen;
  seen.reserve(edges.size() * 2);
  for (std::size_t e = 0; e < edges.size(); ++e) {
    Edge& ed = edges[e];
    if (ed.i > ed.j) std::swap(ed.i, ed.j);
    const std::string where = "graph: edge #" + std::to_string(e) + " (" + std::to_string(ed.i) +
                              ", " + std::to_string(ed.j) + ")";
    if (ed.i < 0 || ed.j >= n)
      throw std::invalid_argument(where + " has a node outside [0, " + std::to_string(n) + ")");
    if (ed.i == ed.j) throw std::invalid_argument(where + " is a self-loop");
    if (!seen.insert(edge_key(ed.i, ed.j)).second)
      throw std::invalid_argument(where + " is a duplicate");
  }
  Graph g;
  g.n_ = n;
  g.edges_ = std::move(edges);
  g.build_csr();
  return g;
}

Graph Graph::materialized() const {
  if (!complete_) return *this;
  std::vector<Edge> edges;
  edges.reserve(static_cast<std::size_t>(num_edges()));
  for (Index i = 0; i < n_; ++i)
    for (Index j = i + 1; j < n_; ++j)
      edges.push_back({static_cast<std::int32_t>(i), static_cast<std::int32_t>(j)});
  return from_edges(n_, std::move(edges));
}

void Graph::build_csr() {
  off_.assign(static_cast<std::size_t>(n_ + 1), 0);
  for (const Edge& e : edges_) {
    ++off_[e.i + 1];
    ++off_[e.j + 1];
  }
  for (Index v = 0; v < n_; ++v) off_[v + 1] += off_[v];
  nbr_.resize(2 * edges_.size());
  eid_.resize(2 * edges_.size());
  std::vector<std::int64_t> cursor(off_.begin(), off_.end() - 1);
  for (std::size_t e = 0; e < edges_.size(); ++e) {
    const Edge& ed = edges_[e];
    nbr_[cursor[ed.i]] = ed.j;
    eid_[cursor[ed.i]++] = static_cast<std::int32_t>(e);
    nbr_[cursor[ed.j]] = ed.i;
    eid_[cursor[ed.j]++] = static_cast<std::int32_t>(e);
  }
}

std::vector<Index> Graph::degrees() const {
  std::vector<Index> d(static_cast<std::size_t>(n_), complete_ ? n_ - 1 : 0);
  if (!complete_)
    for (Index v = 0; v < n_; ++v) d[v] = off_[v + 1] - off_[v];
  return d;
}

bool Graph::connected() const {
  if (n_ <= 1 || complete_) return true;
  std::vector<char> seen(static_cast<std::size_t>(n_), 0);
  std::vector<std::int32_t> stack{0};
  seen[0] = 1;
  Index count = 1;
  while (!stack.empty()) {
    const std::int32_t v = stack.back();
    stack.pop_back();
    for (std::int64_t k = off_[v]; k < off_[v + 1]; ++k)
      if (!seen[nbr_[k]]) {
        seen[nbr_[k]] = 1;
        ++count;
        stack.push_back(nbr_[k]);
      }
  }
  return count == n_;
}

EdgeListFile read_edge_list(const std::string& path, Index n) {
  os::require_regular_file(path);
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open edge-list file");
  std::vector<Edge> edges;
  std::vector<std::vector<double>> columns;
  std::string line;
  long line_no = 0;
  long expected_cols = -1;
  std::int64_t max_node = -1;
  while (std::getline(in, line)) {
    ++line_no;
    if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    std::istringstream ls(line);
    std::vector<std::string> tokens;
    for (std::string t; ls >> t;) tokens.push_back(t);
    if (tokens.empty()) continue;
    const std::string where = path + ":" + std::to_string(line_no) + ": ";
    if (tokens.size() < 2) throw std::runtime_error(where + "expected 'i j [value ...]'");
    auto parse_node = [&](const std::string& t) {
      std::size_t used = 0;
      long long v = -1;
      try {
        v = std::stoll(t, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != t.size() || v < 0 || v > INT32_MAX)
        throw std::runtime_error(where + "node id '" + t + "' is not a non-negative integer");
      return static_cast<std::int32_t>(v);
    };
    const Edge e{parse_node(tokens[0]), parse_node(tokens[1])};
    const long cols = static_cast<long>(tokens.size()) - 2;
    if (expected_cols < 0) {
      expected_cols = cols;
      columns.resize(static_cast<std::size_t>(cols));
    } else if (cols != expected_cols) {
      throw std::runtime_error(where + "has " + std::to_string(cols) +
                               " value columns, earlier lines have " +
                               std::to_string(expected_cols));
    }
    for (long c = 0; c < cols; ++c) {
      const std::string& t = tokens[static_cast<std::size_t>(c + 2)];
      std::size_t used = 0;
      double v = 0;
      try {
        v = std::stod(t, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != t.size() || !std::isfinite(v))
        throw std::runtime_error(where + "value '" + t + "' is not a finite number");
      columns[static_cast<std::size_t>(c)].push_back(v);
    }
    max_node = std::max<std::int64_t>(max_node, std::max(e.i, e.j));
    edges.push_back(e);
  }
  // An inferred node count is bounded (a single line "0 2147483647" would otherwise ask for a
  // 16 GB adjacency); callers that know the size pass it and get their own bound checked.
  constexpr std::int64_t kMaxInferredNodes = std::int64_t{1} << 24;
  if (n < 0 && max_node + 1 > kMaxInferredNodes)
    throw std::runtime_error(path + ": node id " + std::to_string(max_node) +
                             " implies more nodes than an edge list may infer (2^24)");
  if (n < 0) n = max_node + 1;
  try {
    return {Graph::from_edges(n, std::move(edges)), std::move(columns)};
  } catch (const std::invalid_argument& err) {
    throw std::runtime_error(path + ": " + err.what());
  }
}

}  // namespace hkam
