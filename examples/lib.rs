//! Shared helpers for the examples: hand-rolled argument parsing (no CLI framework,
//! so each example reads like the Go program it mirrors) and error reporting.
//! Each example is its own file.

use std::error::Error;
use std::fmt::Write as _;
use std::path::PathBuf;

/// What `--kubeconfig` was given as, or the seed's default `~/.kube/config`.
///
/// Accepts Go's `flag` spellings: `--kubeconfig PATH`, `--kubeconfig=PATH`,
/// `-kubeconfig PATH` and `-kubeconfig=PATH`. `-h`/`--help` returns `Ok(None)` after
/// the caller should print [`usage`].
///
/// # Errors
/// A message for an unknown argument, a missing value, or no home directory to
/// default from.
pub fn kubeconfig_arg(args: impl IntoIterator<Item = String>) -> Result<Option<PathBuf>, String> {
    let mut args = args.into_iter();
    let mut path = None;
    while let Some(arg) = args.next() {
        let flag = arg.trim_start_matches('-');
        if arg.starts_with('-') && (flag == "h" || flag == "help") {
            return Ok(None);
        }
        if !arg.starts_with('-') {
            return Err(format!("unexpected argument {arg:?}"));
        }
        match flag.split_once('=') {
            Some(("kubeconfig", value)) => path = Some(PathBuf::from(value)),
            None if flag == "kubeconfig" => match args.next() {
                Some(value) => path = Some(PathBuf::from(value)),
                None => return Err("--kubeconfig needs a value: --kubeconfig PATH".to_owned()),
            },
            _ => return Err(format!("unknown flag {arg:?}")),
        }
    }
    match path {
        Some(p) if p.as_os_str().is_empty() => {
            Err("--kubeconfig needs a non-empty path".to_owned())
        }
        Some(p) => Ok(Some(p)),
        None => match home::home_dir() {
            Some(home) => Ok(Some(home.join(".kube").join("config"))),
            None => Err(
                "no home directory to find ~/.kube/config in; pass --kubeconfig PATH".to_owned(),
            ),
        },
    }
}

/// The `--kubeconfig` path from this process's arguments, or the exit code to end with:
/// success after printing the usage for `--help`, 2 after a usage error.
pub fn kubeconfig_or_exit(program: &str) -> Result<PathBuf, std::process::ExitCode> {
    match kubeconfig_arg(std::env::args().skip(1)) {
        Ok(Some(path)) => Ok(path),
        Ok(None) => {
            println!("{}", usage(program));
            Err(std::process::ExitCode::SUCCESS)
        }
        Err(message) => {
            eprintln!("{program}: {message}\n\n{}", usage(program));
            Err(std::process::ExitCode::from(2))
        }
    }
}

/// The usage line of an example that takes only `--kubeconfig`.
#[must_use]
pub fn usage(program: &str) -> String {
    format!(
        "usage: {program} [--kubeconfig PATH]\n\n  --kubeconfig PATH   (optional) absolute path to the kubeconfig file (default ~/.kube/config)"
    )
}

/// An error and its chain of causes, one per line: `error: ...` then `caused by: ...`.
#[must_use]
pub fn describe(error: &(dyn Error + 'static)) -> String {
    let mut text = format!("error: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        // A cause already spelled out in its parent's message adds nothing.
        if !text.contains(&cause.to_string()) {
            let _ = write!(text, "\n  caused by: {cause}");
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<PathBuf>, String> {
        kubeconfig_arg(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn go_flag_spellings() {
        for args in [
            &["--kubeconfig", "/k"][..],
            &["--kubeconfig=/k"],
            &["-kubeconfig", "/k"],
            &["-kubeconfig=/k"],
        ] {
            assert_eq!(parse(args), Ok(Some(PathBuf::from("/k"))), "{args:?}");
        }
    }

    #[test]
    fn help_and_mistakes() {
        assert_eq!(parse(&["--help"]), Ok(None));
        assert_eq!(parse(&["-h"]), Ok(None));
        assert!(
            parse(&["--kubeconfig"])
                .unwrap_err()
                .contains("needs a value")
        );
        assert!(parse(&["--kubeconfig="]).is_err());
        assert!(
            parse(&["--context", "x"])
                .unwrap_err()
                .contains("unknown flag")
        );
        assert!(
            parse(&["stray"])
                .unwrap_err()
                .contains("unexpected argument")
        );
    }

    #[test]
    fn default_is_home_kube_config() {
        if let Some(home) = home::home_dir() {
            assert_eq!(parse(&[]), Ok(Some(home.join(".kube").join("config"))));
        }
    }

    #[test]
    fn describe_prints_the_chain_once() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("cannot load")
            }
        }
        impl Error for Outer {
            fn source(&self) -> Option<&(dyn Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(std::io::Error::other("disk on fire"));
        assert_eq!(
            describe(&e),
            "error: cannot load\n  caused by: disk on fire"
        );
    }
}
