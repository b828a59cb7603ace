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

  CLI11_PARSE(app, argc, argv);
  try {
    if (*demo_cmd) return hkam::cli::run_demo(demo);
  } catch (const std::exception& e) {
    fmt::print(stderr, "hkam: error: {}\n", e.what());
    return 2;
  }
  return 0;
}
