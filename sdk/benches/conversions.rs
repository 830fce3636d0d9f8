//! Benchmarks of value conversions (filled in later).
fn main() {}
