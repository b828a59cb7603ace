#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <exception>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "cli/commands.hpp"
#include "hkam/version.hpp"
#include "run/sweep.hpp"

namespace {

// hkam analyze: its options, forwarded to the Python analysis module.
struct AnalyzeArgs {
  std::string sweep_dir, x, y, by, theory, success, out;
  std::vector<std::string> command() const {
    std::vector<std::string> a{"analyze", sweep_dir};
    for (const auto& [flag, v] : {std::pair<const char*, const std::string*>{"--x", &x},
                                  {"--y", &y},
                                  {"--by", &by},
                                  {"--theory", &theory},
                                  {"--success", &success},
                                  {"--out", &out}})
      if (!v->empty()) a.push_back(std::string(flag) + "=" + *v);  // "--x=-k*n": not an option
    return a;
  }
};

CLI::App* add_analyze_command(CLI::App& app, AnalyzeArgs& a) {
  auto* cmd = app.add_subcommand(
      "analyze", "A sweep's results against its swept keys: table and PNG (Python)");
  cmd->add_option("SWEEP_DIR", a.sweep_dir, "Folder made by hkam sweep")->required();
  cmd->add_option("--x", a.x,
                  "Expression over manifest columns and config keys for the x axis, "
                  "e.g. patterns.count/hopfield.units (default: the first swept key)");
  cmd->add_option("--y", a.y,
                  "Result to plot (default: cue_overlap, order_parameter or energy_final)");
  cmd->add_option("--by", a.by, "One line per value of this key");
  cmd->add_option("--theory", a.theory, "Analytic line: capacity or lorentzian")
      ->check(CLI::IsMember({"capacity", "lorentzian"}));
  cmd->add_option("--success", a.success, "Also show the fraction of runs whose result is >= this");
  cmd->add_option("-o,--out", a.out, "Folder for the PNG (default: SWEEP_DIR/figures)");
  return cmd;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "hkam - Hopfield-Kuramoto associative memories and AKOrN dynamics with audited energies.\n"
      "Docs: docs/config.md (experiment files), docs/trace-format.md (output)."};
  app.set_version_flag("--version",
                       fmt::format("hkam {} ({})", hkam::version(), hkam::git_revision()));
  app.require_subcommand(1);

  hkam::cli::RunArgs run;
  auto add_threads = [&](CLI::App* cmd) {
    cmd->add_option("--threads", run.threads,
                    "OpenMP threads (default: OMP_NUM_THREADS, else one per core; loops too small "
                    "to gain from threads run on one either way)")
        ->check(CLI::Range(1, 4096));
  };
  // The exit statuses of the commands that run (docs/config.md), shown by --help.
  const char* const kRunExits =
      "Exit status: 0 the run ended normally (t_end, converged, energy_plateau, order_parameter) "
      "and a guaranteed energy never rose; 1 the run failed (max_steps, step_collapse, non_finite) "
      "or a guaranteed energy rose; 2 bad config or input, or the output exists (without "
      "--force); 128 + signal when interrupted (the trace is kept up to that moment).";
  auto add_run_flags = [&](CLI::App* cmd) {
    cmd->footer(kRunExits);
    cmd->add_option("-o,--output", run.output, "Trace file to write (overrides `output`)");
    cmd->add_flag("--force", run.force, "Overwrite an existing output file");
    cmd->add_flag("-q,--quiet", run.quiet, "Print nothing but errors");
    cmd->add_flag("-v,--verbose", run.verbose,
                  "Also print the resolved configuration and the model's guarantee details");
    cmd->add_option("--set", run.sets,
                    "Override a config value, e.g. --set integrator.t_end=10 (repeatable)");
    add_threads(cmd);
  };
  auto* run_cmd = app.add_subcommand(
      "run", "Run the experiment described by a TOML config and write an HDF5 trace");
  run_cmd->add_option("CONFIG", run.config, "Experiment config (TOML)")->required();
  add_run_flags(run_cmd);
  run_cmd->add_flag("--ignore-sweep", run.ignore_sweep,
                    "Run the base point of a sweep config (its [sweep] table left out)");
  auto* demo_cmd =
      app.add_subcommand("demo", "Run the default experiment (experiments/demo.toml, built in)");
  add_run_flags(demo_cmd);

  auto* train_cmd = app.add_subcommand(
      "train", "Train a model through its dynamics on labelled images (docs/training.md)");
  train_cmd->add_option("CONFIG", run.config, "Training config (TOML)")->required();
  add_run_flags(train_cmd);
  train_cmd->footer(
      "Exit status: 0 done; 1 the training failed (non-finite loss or gradient, or a failed "
      "solve; the file keeps the updates before it); 2 bad config or input, or the output exists "
      "(without --force); 128 + signal when interrupted (after a checkpoint: `hkam resume FILE` "
      "continues it).");

  auto* resume_cmd = app.add_subcommand(
      "resume",
      "Continue an interrupted run (trace) or training (training file) from its checkpoint "
      "(bit-identical)");
  resume_cmd->add_option("TRACE", run.config, "Trace or training file to continue")->required();
  resume_cmd->add_flag("-q,--quiet", run.quiet, "Print nothing but errors");
  resume_cmd->add_flag("-v,--verbose", run.verbose, "Also print the resolved configuration");
  add_threads(resume_cmd);
  resume_cmd->footer(std::string(kRunExits) +
                     " 2 also when the trace has no checkpoint or its run has finished.");

  std::string trace_path;
  auto* check_cmd = app.add_subcommand(
      "check-energy",
      "Audit the energies recorded in a trace (exit 0 monotone, 1 not, 2 unreadable)");
  check_cmd->add_option("TRACE", trace_path, "hkam trace file (HDF5)")->required();
  auto* info_cmd =
      app.add_subcommand("info", "What a trace holds: the run, how it ended, audit, observables");
  info_cmd->add_option("TRACE", trace_path, "hkam trace file (HDF5)")->required();

  std::string plot_out;
  auto* plot_cmd = app.add_subcommand(
      "plot", "Standard figures of a trace as PNG (Python: numpy, h5py, matplotlib)");
  plot_cmd->add_option("TRACE", trace_path, "hkam trace file (HDF5)")->required();
  plot_cmd->add_option("-o,--out", plot_out, "Folder for the PNGs (default: TRACE_figures/)");

  AnalyzeArgs analyze;
  auto* analyze_cmd = add_analyze_command(app, analyze);

  hkam::run::SweepArgs sw;
  auto* sweep_cmd = app.add_subcommand(
      "sweep", "Run every point of a config's [sweep] table (resumable; manifest.csv)");
  sweep_cmd->add_option("CONFIG", sw.config, "Sweep config (TOML with a [sweep] table)")
      ->required();
  sweep_cmd->add_option("-o,--out", sw.out_dir, "Folder of the sweep (default: out/CONFIG_STEM/)");
  sweep_cmd->add_option("-j,--jobs", sw.jobs, "Runs at a time (default 1)")
      ->check(CLI::Range(1, 4096));
  sweep_cmd
      ->add_option("--threads", sw.threads,
                   "OpenMP threads per run (default: 1 when -j > 1, else OpenMP's default)")
      ->check(CLI::Range(1, 4096));
  sweep_cmd->add_option("--set", sw.sets, "Override a config value (repeatable)");
  sweep_cmd->add_flag("--force", sw.force,
                      "Continue a folder made from another config: redo runs whose config "
                      "changed");
  sweep_cmd->add_flag("--list", sw.list, "Print the runs (name, seed, trace) and stop");
  bool use_mpi = false;
  sweep_cmd->add_flag("--mpi", use_mpi,
                      "Spread the runs over MPI ranks (mpirun -n K hkam sweep --mpi ...); -j is "
                      "then per rank");
  sweep_cmd->add_flag("-q,--quiet", sw.quiet, "Print nothing but errors");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version end here with 0; every command-line error exits 2, as documented.
    return app.exit(e) == 0 ? 0 : 2;
  }
  for (int k = 0; k < argc; ++k) run.command_line += (k ? " " : "") + std::string(argv[k]);
  try {
    if (*run_cmd) return hkam::cli::run(run);
    if (*demo_cmd) return hkam::cli::demo(run);
    if (*train_cmd) return hkam::cli::train(run);
    if (*resume_cmd) return hkam::cli::resume(run);
    if (*check_cmd) return hkam::cli::check_energy(trace_path);
    if (*info_cmd) return hkam::cli::info(trace_path);
    if (*plot_cmd) return hkam::cli::plot(trace_path, plot_out);
    if (*analyze_cmd) return hkam::cli::python_analysis("analyze", analyze.command());
    if (*sweep_cmd) {
      sw.hkam_exe = std::filesystem::read_symlink("/proc/self/exe").string();
      return use_mpi ? hkam::cli::mpi_sweep(sw) : hkam::run::sweep(sw);
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "hkam: error: {}\n", e.what());
    return 2;
  }
  return 0;
}
