//! Plugin binaries for the tests (see `src/bin/`), and [`raw`], the raw-tonic provider that the
//! `broken-*` binaries share, with [`whole`], its configuration and function.

pub mod raw;
pub mod whole;
