//! Criterion benchmarks of the gstage crate.
fn main() {}
