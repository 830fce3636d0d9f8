//! The integration tests of this crate, in one test binary (cargo's own layout): each
//! former test file is a module, sharing one support module.

mod support;

mod assets;
mod cancel;
mod construct;
mod database_provider;
mod declarations;
mod dies_with_engine;
mod every_bad_field;
mod log_queue;
mod roundtrip_props;
mod typed_grpc;
mod typed_import;
mod validation;
