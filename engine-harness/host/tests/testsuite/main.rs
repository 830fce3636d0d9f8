//! The integration tests of this crate, in one test binary (cargo's own layout): each
//! former test file is a module, sharing one support module.

mod monitor_service;
