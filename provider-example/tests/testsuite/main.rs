//! The integration tests of this crate, in one test binary (cargo's own layout): each
//! former test file is a module, sharing one support module.

#[macro_use]
mod support;

mod command;
mod config_and_functions;
mod directory;
mod file;
mod import;
mod leftovers;
mod random;
mod schema;
mod schema_local;
mod service;
mod static_site;
mod working_directory;
