//! `cargo xtask ci`: what CI runs (`.ci/run` less its system packages), in order,
//! stopping at the first failure: format check, clippy with warnings denied, docs with
//! warnings denied, then `cargo xtask test`.

use std::process::ExitCode;

use crate::{cargo, test};

/// The steps: a name and cargo's arguments.
const STEPS: &[(&str, &[&str])] = &[
    ("format", &["fmt", "--all", "--", "--check"]),
    (
        "clippy",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    ),
    ("docs", &["doc", "--workspace", "--no-deps"]),
];

pub(crate) fn run(args: &[String]) -> ExitCode {
    if let Some(extra) = args.first() {
        eprintln!("xtask ci: unexpected argument {extra:?} (ci takes none)");
        return ExitCode::from(2);
    }
    let total = STEPS.len() + 1;
    for (i, (name, cargo_args)) in STEPS.iter().enumerate() {
        eprintln!(
            "xtask ci: [{}/{total}] {name}: cargo {}",
            i + 1,
            cargo_args.join(" ")
        );
        let mut cmd = cargo();
        cmd.args(*cargo_args);
        if *name == "docs" {
            // Broken intra-doc links and missing docs fail CI, as in .ci/run.
            cmd.env("RUSTDOCFLAGS", "-D warnings");
        }
        match cmd.status() {
            Ok(status) if status.success() => {}
            Ok(status) => {
                eprintln!("xtask ci: {name} failed ({status})");
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("xtask ci: cannot run cargo for {name}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    eprintln!("xtask ci: [{total}/{total}] tests: cargo xtask test");
    if !test::tests(&[]) {
        return ExitCode::FAILURE;
    }
    eprintln!("xtask ci: all {total} steps passed");
    ExitCode::SUCCESS
}
