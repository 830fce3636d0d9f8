//! Plugin binaries for the tests (see `src/bin/`), and [`raw`], the raw-tonic provider that the
//! `broken-*` binaries share, with [`whole`], its configuration and function; [`component`],
//! a raw-tonic component provider.

pub mod component;
pub mod raw;
pub mod whole;
