//! `cargo xtask ci`: what CI runs (`.ci/run` less its tool installation), in order,
//! stopping at the first failure: format check, clippy with warnings denied, docs with
//! warnings denied, tests.

use std::process::ExitCode;

use crate::cargo;

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
    ("tests", &["test", "--workspace"]),
];

pub(crate) fn run(args: &[String]) -> ExitCode {
    if let Some(extra) = args.first() {
        eprintln!("xtask ci: unexpected argument {extra:?} (ci takes none)");
        return ExitCode::from(2);
    }
    for (i, (name, cargo_args)) in STEPS.iter().enumerate() {
        eprintln!(
            "xtask ci: [{}/{}] {name}: cargo {}",
            i + 1,
            STEPS.len(),
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
    eprintln!("xtask ci: all {} steps passed", STEPS.len());
    ExitCode::SUCCESS
}
