#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "hkam/models/graph.hpp"

namespace hkam {
namespace {

void expect_csr_consistent(const Graph& g) {
  const auto& off = g.csr_offsets();
  ASSERT_EQ(Index(off.size()), g.num_nodes() + 1);
  ASSERT_EQ(off.back(), 2 * g.num_edges());
  for (Index v = 0; v < g.num_nodes(); ++v)
    for (auto q = off[v]; q < off[v + 1]; ++q) {
      const Edge e = g.edges()[g.csr_edge_ids()[q]];
      const Index other = g.csr_neighbors()[q];
      EXPECT_TRUE((e.i == v && e.j == other) || (e.j == v && e.i == other));
    }
}

TEST(Graph, RingHasDegreeKAndNkOver2Edges) {
  const Graph g = Graph::ring(20, 6);
  EXPECT_EQ(g.num_edges(), 60);
  for (Index d : g.degrees()) EXPECT_EQ(d, 6);
  EXPECT_TRUE(g.connected());
  expect_csr_consistent(g);
}

TEST(Graph, RingRejectsOddOrTooLargeK) {
  EXPECT_THROW(Graph::ring(10, 3), std::invalid_argument);
  EXPECT_THROW(Graph::ring(10, 10), std::invalid_argument);
}

TEST(Graph, WattsStrogatzIsSeededConnectedAndKeepsTheEdgeCount) {
  const Graph a = Graph::watts_strogatz(300, 8, 0.1, 11);
  const Graph b = Graph::watts_strogatz(300, 8, 0.1, 11);
  const Graph c = Graph::watts_strogatz(300, 8, 0.1, 12);
  EXPECT_EQ(a.num_edges(), 300 * 4);
  EXPECT_TRUE(a.connected());
  ASSERT_EQ(a.edges().size(), b.edges().size());
  bool same_as_c = true;
  for (std::size_t e = 0; e < a.edges().size(); ++e) {
    EXPECT_EQ(a.edges()[e].i, b.edges()[e].i);
    EXPECT_EQ(a.edges()[e].j, b.edges()[e].j);
    same_as_c = same_as_c && a.edges()[e].i == c.edges()[e].i && a.edges()[e].j == c.edges()[e].j;
  }
  EXPECT_FALSE(same_as_c);
  // About p·|E| edges leave the lattice: 120 expected, binomial sd ≈ 10.4.
  const Graph ring = Graph::ring(300, 8);
  std::set<std::pair<int, int>> lattice;
  for (const Edge& e : ring.edges()) lattice.insert({e.i, e.j});
  int rewired = 0;
  for (const Edge& e : a.edges()) rewired += !lattice.count({e.i, e.j});
  EXPECT_GT(rewired, 70);
  EXPECT_LT(rewired, 170);
  expect_csr_consistent(a);
}

TEST(Graph, WattsStrogatzWithZeroProbabilityIsTheRing) {
  const Graph a = Graph::watts_strogatz(50, 4, 0.0, 3);
  const Graph r = Graph::ring(50, 4);
  ASSERT_EQ(a.edges().size(), r.edges().size());
  for (std::size_t e = 0; e < a.edges().size(); ++e) EXPECT_EQ(a.edges()[e].j, r.edges()[e].j);
}

TEST(Graph, CompleteIsImplicitUntilMaterialized) {
  const Graph g = Graph::complete(30);
  EXPECT_TRUE(g.is_complete());
  EXPECT_TRUE(g.edges().empty());
  EXPECT_EQ(g.num_edges(), 435);
  const Graph m = g.materialized();
  EXPECT_FALSE(m.is_complete());
  EXPECT_EQ(Index(m.edges().size()), 435);
  expect_csr_consistent(m);
}

TEST(Graph, FromEdgesRejectsSelfLoopsDuplicatesAndOutOfRangeNodes) {
  EXPECT_THROW(Graph::from_edges(3, {{0, 0}}), std::invalid_argument);
  EXPECT_THROW(Graph::from_edges(3, {{0, 1}, {1, 0}}), std::invalid_argument);
  EXPECT_THROW(Graph::from_edges(3, {{0, 3}}), std::invalid_argument);
  const Graph g = Graph::from_edges(4, {{2, 1}, {0, 3}});
  EXPECT_EQ(g.edges()[0].i, 1);  // stored with i < j
  EXPECT_FALSE(g.connected());
}

class EdgeListFileTest : public ::testing::Test {
 protected:
  std::string write(const std::string& text) {
    const auto path =
        std::filesystem::temp_directory_path() /
        ("hkam_edges_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
         ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".txt");
    std::ofstream(path) << text;
    paths_.push_back(path);
    return path.string();
  }
  void TearDown() override {
    for (const auto& p : paths_) std::filesystem::remove(p);
  }
  std::vector<std::filesystem::path> paths_;
};

TEST_F(EdgeListFileTest, ReadsEdgesAndValueColumns) {
  const auto f = read_edge_list(write("# i j A B\n0 1 -1.5 2\n\n2 1 0.25 3  # trailing comment\n"));
  EXPECT_EQ(f.graph.num_nodes(), 3);
  EXPECT_EQ(f.graph.num_edges(), 2);
  ASSERT_EQ(f.columns.size(), 2u);
  EXPECT_DOUBLE_EQ(f.columns[0][1], 0.25);
  EXPECT_DOUBLE_EQ(f.columns[1][0], 2.0);
}

TEST_F(EdgeListFileTest, ErrorsNameTheFileAndLine) {
  const std::string p = write("0 1\n1 x\n");
  try {
    read_edge_list(p);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(p + ":2:"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_edge_list(write("0 1 2.0\n1 2\n")), std::runtime_error);  // ragged columns
  EXPECT_THROW(read_edge_list(write("0 1\n1 0\n")), std::runtime_error);      // duplicate
  EXPECT_THROW(read_edge_list("/nonexistent/edges.txt"), std::runtime_error);
}

}  // namespace
}  // namespace hkam
