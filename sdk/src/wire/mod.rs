//! Conversion between the SDK's types and the `pulumirpc` wire types.
//!
//! This is the only module that touches prost types; the provider API above it never does.
//! [`values`] is public so that tools (and fuzzers) can decode and encode `Struct`s directly.

pub mod values;

pub(crate) mod component;
pub(crate) mod requests;

pub use values::{DecodeError, decode_struct, decode_value, encode_map, encode_value};
