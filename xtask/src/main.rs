//! `cargo xtask <task>`: demo, bench, codegen, ci.
fn main() {}
