#pragma once
// `hkam run` of a config with a [network] table: an AKOrN network of the reference (object
// discovery or Sudoku) with weights from a file or a seed, run on synthetic or stored inputs,
// writing per block and step the energies and oscillator states, the outputs and the
// evaluation (docs/akorn.md, docs/config.md §network, docs/trace-format.md §network).

#include <string>

#include "config/reader.hpp"
#include "run/experiment.hpp"

namespace hkam::run {

/// Whether the document describes a network run (it has a [network] table).
bool is_network_config(config::Document& doc);

/// Reads and validates the whole config (throws config::ConfigError); fills the resolved
/// document. Touches no file.
void validate_network(config::Document& doc);

/// Validates, runs and writes; prints a summary unless quiet. Returns the exit status
/// (0 success, 1 non-finite values, 2 bad config or input; config errors are printed with the
/// key and place).
int run_network(config::Document doc, const RunOptions& opt, const char* who);

}  // namespace hkam::run
