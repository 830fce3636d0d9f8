//! Plugin binaries for the tests (see `src/bin/`); this library is intentionally empty.
