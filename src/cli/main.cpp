#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <exception>

#include "demo.hpp"
#include "hkam/version.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "hkam - Hopfield-Kuramoto associative memories and AKOrN dynamics with audited energies"};
  app.set_version_flag("--version",
                       fmt::format("hkam {} ({})", hkam::version(), hkam::git_revision()));
  app.require_subcommand(1);

  hkam::cli::DemoOptions demo;
  auto* demo_cmd = app.add_subcommand(
      "demo", "Run the default experiment (HK retrieval with an energy check per step)");
  demo_cmd->add_option("-o,--out", demo.out_dir, "Output directory")->capture_default_str();
  demo_cmd->add_flag("--force", demo.force, "Overwrite an existing output");
  demo_cmd->add_flag("-q,--quiet", demo.quiet, "Print nothing but errors");
  demo_cmd->add_option("--seed", demo.seed, "Seed of every random quantity")->capture_default_str();

  std::string trace_path;
  auto* check_cmd = app.add_subcommand(
      "check-energy",
      "Audit the energies recorded in a trace (exit 0 monotone, 1 not, 2 unreadable)");
  check_cmd->add_option("TRACE", trace_path, "hkam trace file (HDF5)")->required();

  CLI11_PARSE(app, argc, argv);
  for (int k = 0; k < argc; ++k) demo.command_line += (k ? " " : "") + std::string(argv[k]);
  try {
    if (*demo_cmd) return hkam::cli::run_demo(demo);
    if (*check_cmd) return hkam::cli::run_check_energy(trace_path);
  } catch (const std::exception& e) {
    fmt::print(stderr, "hkam: error: {}\n", e.what());
    return 2;
  }
  return 0;
}
