//! The `kubecto-testserver` binary.
fn main() {}
