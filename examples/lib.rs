//! Shared helpers for the examples (argument parsing); each example is its own file.
