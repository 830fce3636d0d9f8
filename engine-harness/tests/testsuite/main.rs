//! The integration tests of this crate, in one test binary (cargo's own layout): each
//! former test file is a module, sharing one support module.

mod support;

mod cli_commands;
mod cli_watch;
mod component_sdks;
mod components;
mod config_cmd;
mod config_paths_and_language_plugins;
mod engine_crash;
// The longest test (kill rounds for a fixed 75 s budget). libtest starts tests in name order,
// so this name has it start among the first rather than last, where the whole suite would wait
// on it alone (BENCHMARKS.md, "Test suite time").
mod engine_kills;
mod engine_lifecycle;
mod engine_options;
mod engine_plugins;
mod engine_scale;
mod engine_semantics;
mod fault_plugin_dies;
mod monitor_programs;
mod output_snapshots;
mod programs_three_languages;
mod release;
mod reliability_create_errors;
mod reliability_inputs;
mod reliability_lock;
mod reliability_nesting;
mod reliability_pending;
mod reliability_replace;
mod reliability_secret_errors;
mod reliability_signals;
mod secrets;
mod yaml_features;
