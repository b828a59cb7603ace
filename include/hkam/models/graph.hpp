#pragma once
/// Undirected simple graphs for oscillator–oscillator (ℰ_K) and unit–oscillator (ℰ_HK) couplings.
///
/// Each edge is stored once as (i, j) with i < j; per-edge parameters are vectors indexed by the
/// edge's position in `edges()`. A compressed adjacency (CSR) lists, for every node, its
/// neighbours and the id of the connecting edge, so right-hand sides loop over nodes in parallel
/// without atomics. Memory is O(nodes + edges). The complete graph is implicit (no edge list)
/// until `materialized()` is asked for: models with a low-rank path never build its N² edges.

#include <cstdint>
#include <string>
#include <vector>

#include "hkam/core.hpp"

namespace hkam {

struct Edge {
  std::int32_t i = 0;
  std::int32_t j = 0;  ///< always i < j
};

class Graph {
 public:
  Graph() = default;

  /// All n(n−1)/2 pairs, implicit.
  static Graph complete(Index n);
  /// Ring lattice: each node linked to its k/2 nearest neighbours on each side (k even, 0 < k < n).
  static Graph ring(Index n, Index k);
  /// Watts–Strogatz small world: ring(n, k), then each lattice edge (i, i+m) has its far end
  /// rewired with probability p to a uniformly chosen node (no self-loops, no duplicates). Draws
  /// come from `seed`; if the result is disconnected, a new attempt is made from the derived seed
  /// Rng::derive(seed, attempt) (up to 1000 attempts), so the returned graph is always connected.
  static Graph watts_strogatz(Index n, Index k, double p, std::uint64_t seed);
  /// From an explicit list; (i, j) and (j, i) are the same edge. Throws std::invalid_argument on a
  /// self-loop, a duplicate or a node out of range [0, n).
  static Graph from_edges(Index n, std::vector<Edge> edges);

  Index num_nodes() const { return n_; }
  Index num_edges() const { return complete_ ? n_ * (n_ - 1) / 2 : Index(edges_.size()); }
  bool is_complete() const { return complete_; }
  /// The explicit edge list (empty for an implicit complete graph).
  const std::vector<Edge>& edges() const { return edges_; }
  /// Same graph with an explicit edge list, in lexicographic (i, j) order for the complete graph.
  Graph materialized() const;
  /// Degree of every node.
  std::vector<Index> degrees() const;
  bool connected() const;

  // CSR adjacency (explicit graphs only): neighbours of node v are nbr[off[v] .. off[v+1]).
  const std::vector<std::int64_t>& csr_offsets() const { return off_; }
  const std::vector<std::int32_t>& csr_neighbors() const { return nbr_; }
  const std::vector<std::int32_t>& csr_edge_ids() const { return eid_; }

 private:
  void build_csr();

  Index n_ = 0;
  bool complete_ = false;
  std::vector<Edge> edges_;
  std::vector<std::int64_t> off_;
  std::vector<std::int32_t> nbr_;
  std::vector<std::int32_t> eid_;
};

/// An edge-list file read from disk: the graph, and any numeric columns after "i j" per line.
struct EdgeListFile {
  Graph graph;
  std::vector<std::vector<double>> columns;  ///< columns[c][e]: extra column c of edge e
};

/// Reads "i j [value ...]" lines (0-based nodes; '#' starts a comment; blank lines skipped).
/// n < 0 means "1 + the largest node id" (at most 2^24 nodes inferred that way). Every line must
/// have the same number of columns; values must be finite; the file must be a regular file.
/// Throws std::runtime_error naming the file and line on malformed input.
EdgeListFile read_edge_list(const std::string& path, Index n = -1);

}  // namespace hkam
