//! Plugin binaries for the tests (see `src/bin/`), and [`raw`], the raw-tonic provider that the
//! `broken-*` binaries share.

pub mod raw;
