//! exec: run a command in a pod's container, as `kubectl exec` does — a one-shot command,
//! or an interactive shell in a terminal.
//!
//! ```text
//! cargo run --example exec -- [--kubeconfig PATH] [-n NAMESPACE] [-c CONTAINER] [-i] [-t] POD -- COMMAND [ARG...]
//! cargo run --example exec -- web-0 -- date
//! cargo run --example exec -- -it web-0 -- sh
//! ```
//!
//! `-i` sends this program's stdin to the command; `-t` runs it in a terminal: this
//! terminal is put in raw mode (and restored at the end), its size is sent at the start
//! and again whenever it changes (SIGWINCH). The program exits with the command's exit
//! code; a failure to run it prints what went wrong and exits with 1, a usage error with 2.
//! The streams travel over WebSocket (`v5.channel.k8s.io`, or v4 from older servers).

use std::path::PathBuf;
use std::process::ExitCode;

use kubecto_clientset::{AttachParams, Clientset, TerminalSize};
use kubecto_config::Overrides;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};

pub(crate) type Failure = Box<dyn std::error::Error + Send + Sync>;

/// What the command line asks for.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Options {
    pub(crate) kubeconfig: Option<PathBuf>,
    pub(crate) namespace: Option<String>,
    pub(crate) container: Option<String>,
    pub(crate) stdin: bool,
    pub(crate) tty: bool,
    pub(crate) pod: String,
    pub(crate) command: Vec<String>,
}

const USAGE: &str = "usage: exec [--kubeconfig PATH] [-n NAMESPACE] [-c CONTAINER] [-i] [-t] POD -- COMMAND [ARG...]

  --kubeconfig PATH   the kubeconfig to use (default: as kubectl: $KUBECONFIG, ~/.kube/config, in-cluster)
  -n NAMESPACE        the pod's namespace (default: the context's)
  -c CONTAINER        the container (default: the pod's default container)
  -i                  send stdin to the command
  -t                  run the command in a terminal (with -i: an interactive shell)";

/// Parses the arguments after the program name.
pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    let mut opts = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--" {
            opts.command = args.by_ref().collect();
            break;
        }
        let mut value = |flag: &str| {
            args.next()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match arg.as_str() {
            "--kubeconfig" => opts.kubeconfig = Some(PathBuf::from(value("--kubeconfig")?)),
            "-n" | "--namespace" => opts.namespace = Some(value("-n")?),
            "-c" | "--container" => opts.container = Some(value("-c")?),
            "-i" | "--stdin" => opts.stdin = true,
            "-t" | "--tty" => opts.tty = true,
            "-it" | "-ti" => (opts.stdin, opts.tty) = (true, true),
            "-h" | "--help" => return Err(String::new()),
            flag if flag.starts_with('-') => return Err(format!("unknown flag {flag:?}")),
            pod if opts.pod.is_empty() => opts.pod = pod.to_owned(),
            extra => {
                return Err(format!(
                    "unexpected argument {extra:?} (the command goes after --)"
                ));
            }
        }
    }
    if opts.pod.is_empty() {
        return Err("which pod? POD is missing".to_owned());
    }
    if opts.command.is_empty() {
        return Err("which command? put it after --".to_owned());
    }
    Ok(opts)
}

fn main() -> ExitCode {
    let opts = match parse(std::env::args().skip(1)) {
        Ok(opts) => opts,
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("exec: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("exec: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let terminal = opts.tty.then(terminal::Raw::enter).flatten();
    let result = runtime.block_on(run(
        &opts,
        tokio::io::stdin(),
        tokio::io::stdout(),
        tokio::io::stderr(),
    ));
    drop(terminal);
    // Reading stdin blocks a thread the runtime would wait for: leave without waiting.
    runtime.shutdown_background();
    match result {
        Ok(code) => ExitCode::from(u8::try_from(code.clamp(0, 255)).unwrap_or(1)),
        Err(failure) => {
            eprintln!("exec: {}", kubecto_examples::describe(&*failure));
            ExitCode::FAILURE
        }
    }
}

/// Runs the command with these streams standing for the terminal's, and returns its exit
/// code.
pub(crate) async fn run(
    opts: &Options,
    stdin: impl AsyncRead + Send + Unpin + 'static,
    mut stdout: impl AsyncWrite + Send + Unpin,
    mut stderr: impl AsyncWrite + Send + Unpin,
) -> Result<i32, Failure> {
    let mut overrides = Overrides::default();
    overrides.namespace = opts.namespace.clone();
    let context = kubecto_config::from_flags(opts.kubeconfig.as_deref(), &overrides).await?;
    let clientset = Clientset::new(context.config)?;
    let pods = clientset.core_v1().pods(&context.namespace);
    let mut params = AttachParams::default()
        .stdin(opts.stdin)
        .tty(opts.tty)
        .stderr(!opts.tty);
    if let Some(c) = &opts.container {
        params = params.container(c);
    }
    let mut process = pods.exec(&opts.pod, &opts.command, &params).await?;
    if let Some(sizes) = process.terminal_size() {
        tokio::spawn(terminal::follow_size(sizes));
    }
    if let Some(mut input) = process.stdin() {
        let mut stdin = stdin;
        tokio::spawn(async move {
            // The end of our stdin closes the command's (v5).
            let _ = tokio::io::copy(&mut stdin, &mut input).await;
            let _ = input.shutdown().await;
        });
    }
    let (process_out, process_err) = (process.stdout(), process.stderr());
    let out = async {
        if let Some(mut r) = process_out {
            tokio::io::copy(&mut r, &mut stdout).await?;
        }
        stdout.flush().await
    };
    let err = async {
        if let Some(mut r) = process_err {
            tokio::io::copy(&mut r, &mut stderr).await?;
        }
        stderr.flush().await
    };
    let (out, err) = tokio::join!(out, err);
    out?;
    err?;
    Ok(process.status().await?.code)
}

/// This terminal: raw mode and its size.
mod terminal {
    use std::io::IsTerminal as _;

    use kubecto_clientset::TerminalSizeSender;
    use rustix::termios::{self, OptionalActions, Termios};

    use super::TerminalSize;

    /// Raw mode, undone when dropped.
    pub(crate) struct Raw(Termios);

    impl Raw {
        /// Puts stdin's terminal in raw mode; `None` when stdin is not a terminal.
        pub(crate) fn enter() -> Option<Raw> {
            let stdin = std::io::stdin();
            if !stdin.is_terminal() {
                return None;
            }
            let saved = termios::tcgetattr(&stdin).ok()?;
            let mut raw = saved.clone();
            raw.make_raw();
            termios::tcsetattr(&stdin, OptionalActions::Now, &raw).ok()?;
            Some(Raw(saved))
        }
    }

    impl Drop for Raw {
        fn drop(&mut self) {
            let _ = termios::tcsetattr(std::io::stdin(), OptionalActions::Now, &self.0);
        }
    }

    fn size() -> Option<TerminalSize> {
        let ws = termios::tcgetwinsize(std::io::stdout()).ok()?;
        Some(TerminalSize {
            width: ws.ws_col,
            height: ws.ws_row,
        })
    }

    /// Sends the terminal's size now and after every SIGWINCH, until the process ends.
    pub(crate) async fn follow_size(sizes: TerminalSizeSender) {
        let Ok(mut changes) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())
        else {
            return;
        };
        loop {
            if let Some(s) = size()
                && sizes.send(s).await.is_err()
            {
                return;
            }
            if changes.recv().await.is_none() {
                return;
            }
        }
    }
}
