//! Shared helpers for the examples: hand-rolled argument parsing (no CLI framework,
//! so each example reads like the Go program it mirrors) and error reporting.
//! Each example is its own file.

use std::error::Error;
use std::fmt::Write as _;
use std::path::PathBuf;

/// What `--kubeconfig` was given as: `Ok(Some(Some(path)))`, or `Ok(Some(None))` when
/// it was not given (then [`kubecto_config::from_flags`] looks at `$KUBECONFIG`, then
/// `~/.kube/config`, then the pod's service account, as kubectl does).
///
/// Accepts Go's `flag` spellings: `--kubeconfig PATH`, `--kubeconfig=PATH`,
/// `-kubeconfig PATH` and `-kubeconfig=PATH`. `-h`/`--help` returns `Ok(None)`, after
/// which the caller should print [`usage`].
///
/// # Errors
/// A message for an unknown argument or a missing or empty value.
pub fn kubeconfig_arg(
    args: impl IntoIterator<Item = String>,
) -> Result<Option<Option<PathBuf>>, String> {
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
        path => Ok(Some(path)),
    }
}

/// The `--kubeconfig` path from this process's arguments (`None`: not given), or the
/// exit code to end with: success after printing the usage for `--help`, 2 after a
/// usage error.
pub fn kubeconfig_or_exit(program: &str) -> Result<Option<PathBuf>, std::process::ExitCode> {
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
        "usage: {program} [--kubeconfig PATH]\n\n  --kubeconfig PATH   (optional) the kubeconfig file to use; without it, as kubectl:\n                      the files in $KUBECONFIG, else ~/.kube/config, else the\n                      pod's service account"
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

    fn parse(args: &[&str]) -> Result<Option<Option<PathBuf>>, String> {
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
            assert_eq!(parse(args), Ok(Some(Some(PathBuf::from("/k")))), "{args:?}");
        }
    }

    #[test]
    fn help_and_mistakes() {
        assert_eq!(parse(&["--help"]), Ok(None));
        assert_eq!(parse(&["-h"]), Ok(None));
        assert_eq!(
            parse(&["--kubeconfig"]),
            Err("--kubeconfig needs a value: --kubeconfig PATH".to_owned())
        );
        assert_eq!(
            parse(&["--kubeconfig="]),
            Err("--kubeconfig needs a non-empty path".to_owned())
        );
        assert_eq!(
            parse(&["--context", "x"]),
            Err("unknown flag \"--context\"".to_owned())
        );
        assert_eq!(
            parse(&["stray"]),
            Err("unexpected argument \"stray\"".to_owned())
        );
    }

    /// Without the flag nothing is decided here: `$KUBECONFIG` and `~/.kube/config` are
    /// kubecto-config's to look at (the seed's default of `~/.kube/config` hid
    /// `$KUBECONFIG`).
    #[test]
    fn no_flag_leaves_the_choice_to_the_loading_rules() {
        assert_eq!(parse(&[]), Ok(Some(None)));
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
