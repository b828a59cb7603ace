#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "io/trace.hpp"
#include "support/numeric.hpp"

namespace hkam {
namespace {

namespace fs = std::filesystem;

class TraceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("hkam_trace_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

// Writes a small trace whose per-step energies are `energies`.
void write_trace(const std::string& p, const std::vector<double>& energies) {
  const StateLayout lay{3, 2, 2};
  io::TraceWriter w(p, lay, {"a", "b"}, {{"r", 0, ""}});
  EnergyAudit audit(1e-8);
  for (std::size_t k = 0; k < energies.size(); ++k) {
    Eigen::VectorXd z = Eigen::VectorXd::LinSpaced(lay.size(), double(k), double(k) + 1.0);
    w.audit_step(0.1 * double(k), energies[k]);
    audit.add(static_cast<long>(k), 0.1 * double(k), energies[k]);
    w.record(0.1 * double(k), z, energies[k],
             {{"a", 0.25 * energies[k]}, {"b", 0.75 * energies[k]}},
             std::vector<double>{double(k)}.data());
  }
  Summary s;
  s.steps = static_cast<long>(energies.size());
  w.finish(audit.result(), audit.relative_tolerance(), Guarantee{}, s, SimulateOptions{});
}

TEST_F(TraceTest, RoundTripKeepsTimesEnergiesAndStates) {
  const std::string p = path("t.h5");
  std::vector<double> e;
  for (int k = 0; k < 600; ++k) e.push_back(10.0 - 0.01 * k);  // more than one buffer of 256
  write_trace(p, e);
  io::Id f = io::open_file_read(p);
  std::vector<hsize_t> shape;
  const auto t = io::read_doubles(f.get(), "trace/time");
  const auto en = io::read_doubles(f.get(), "trace/energy");
  const auto b = io::read_doubles(f.get(), "trace/energy_parts/b");
  const auto x = io::read_doubles(f.get(), "trace/x", &shape);
  ASSERT_EQ(t.size(), 600u);
  EXPECT_EQ(shape, (std::vector<hsize_t>{600, 3}));
  EXPECT_DOUBLE_EQ(t[599], 59.9);
  EXPECT_DOUBLE_EQ(en[123], e[123]);
  EXPECT_DOUBLE_EQ(b[7], 0.75 * e[7]);
  EXPECT_DOUBLE_EQ(x[3 * 5 + 1], 5.0 + 1.0 / 6.0);  // LinSpaced(7, 5, 6)[1]
  io::read_doubles(f.get(), "trace/sigma", &shape);
  EXPECT_EQ(shape, (std::vector<hsize_t>{600, 2, 2}));
  io::read_doubles(f.get(), "audit/energy", &shape);
  EXPECT_EQ(shape, (std::vector<hsize_t>{600, 2}));
  io::Id summary = io::open_group(f.get(), "summary");
  EXPECT_EQ(io::get_attr_string(summary.get(), "end_reason").value(), "t_end");
  EXPECT_EQ(io::get_attr_double(summary.get(), "steps").value(), 600.0);
}

TEST_F(TraceTest, CheckEnergyPassesAMonotoneTraceAndFlagsARise) {
  write_trace(path("good.h5"), {3.0, 2.0, 1.5, 1.4});
  const io::EnergyCheck good = io::check_trace_energy(path("good.h5"));
  EXPECT_TRUE(good.audit.monotone());
  EXPECT_EQ(good.samples, 4);
  EXPECT_TRUE(good.guaranteed_known && good.guaranteed);

  write_trace(path("bad.h5"), {3.0, 2.0, 2.5, 1.0});
  const io::EnergyCheck bad = io::check_trace_energy(path("bad.h5"));
  EXPECT_EQ(bad.audit.violations, 1);
  EXPECT_EQ(bad.audit.first_violation_step, 2);
  EXPECT_DOUBLE_EQ(bad.audit.max_increase, 0.5);
}

TEST_F(TraceTest, NeverOverwritesAnExistingFile) {
  const std::string p = path("keep.h5");
  std::ofstream(p) << "precious";
  EXPECT_THROW(io::TraceWriter(p, StateLayout{1, 0, 0}, {}, {}), io::H5Error);
  std::ifstream in(p);
  std::string content;
  in >> content;
  EXPECT_EQ(content, "precious");
}

TEST_F(TraceTest, FilesThatAreNotTracesAreRejected) {
  std::ofstream(path("junk.h5")) << "not hdf5";
  EXPECT_THROW(io::check_trace_energy(path("junk.h5")), io::H5Error);
  { io::Id empty = io::create_file(path("empty.h5")); }
  EXPECT_THROW(io::check_trace_energy(path("empty.h5")), io::H5Error);
  EXPECT_THROW(io::check_trace_energy(path("missing.h5")), io::H5Error);
}

}  // namespace
}  // namespace hkam
