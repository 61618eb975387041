//! What a scripted exec or attach is given and returns: the public face of a command run
//! "in" a container ([`Process`]: its streams as tokio reader and writers, terminal
//! resizes), the handlers a test registers, and the few commands the server runs itself
//! when none is registered.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Buf as _, Bytes};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::sync::mpsc;

/// A terminal size, as the client's resize channel sends it (`{"Width":..,"Height":..}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[non_exhaustive]
pub struct TerminalSize {
    /// Columns.
    #[serde(rename = "Width")]
    pub width: u16,
    /// Rows.
    #[serde(rename = "Height")]
    pub height: u16,
}

/// A command run by `kubectl exec` (or a container's main process met by `kubectl attach`),
/// as a test's handler sees it; see [`crate::TestServerBuilder::exec`].
#[non_exhaustive]
pub struct Process {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's name.
    pub pod: String,
    /// The container (the one named, or the pod's only one).
    pub container: String,
    /// The command and its arguments (`command` parameters, in order); empty for attach.
    pub command: Vec<String>,
    /// Whether the client asked for a terminal (`tty=true`): stderr then goes to stdout, as
    /// a terminal has one output.
    pub tty: bool,
    /// The client's input; it ends when the client closes it (a v5 close of channel 0) or
    /// goes, and at once when the client asked for no stdin.
    pub stdin: Stdin,
    /// Output to the client's stdout (discarded when it asked for none).
    pub stdout: Output,
    /// Output to the client's stderr (its stdout with a terminal; discarded when it asked
    /// for neither).
    pub stderr: Output,
    /// Terminal size changes the client sends (with a terminal only, as kube-apiserver
    /// forwards them only then).
    pub resizes: Resizes,
}

impl fmt::Debug for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Process")
            .field("namespace", &self.namespace)
            .field("pod", &self.pod)
            .field("container", &self.container)
            .field("command", &self.command)
            .field("tty", &self.tty)
            .finish_non_exhaustive()
    }
}

impl Process {
    /// Run the command as the server would without a handler (see `API.md`: `cat`, `echo`,
    /// `true`, `false`, `sh -c`, anything else 127), so a handler can script some commands
    /// and leave the rest. Returns the exit code.
    pub async fn run_builtin(self) -> i32 {
        builtin(self).await
    }
}

/// The client's stdin, read as any tokio reader.
#[derive(Debug)]
pub struct Stdin {
    rx: Option<mpsc::Receiver<Bytes>>,
    chunk: Bytes,
}

impl Stdin {
    pub(crate) fn new(rx: Option<mpsc::Receiver<Bytes>>) -> Stdin {
        Stdin {
            rx,
            chunk: Bytes::new(),
        }
    }
}

impl AsyncRead for Stdin {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        while self.chunk.is_empty() {
            let Some(rx) = self.rx.as_mut() else {
                return Poll::Ready(Ok(()));
            };
            match ready!(rx.poll_recv(cx)) {
                Some(chunk) => self.chunk = chunk,
                None => {
                    self.rx = None;
                    return Poll::Ready(Ok(()));
                }
            }
        }
        let n = self.chunk.len().min(buf.remaining());
        buf.put_slice(&self.chunk[..n]);
        self.chunk.advance(n);
        Poll::Ready(Ok(()))
    }
}

/// A frame of output: the channel and its bytes.
pub(crate) type Frame = (u8, Bytes);

type Reserve = Pin<
    Box<dyn Future<Output = Result<mpsc::OwnedPermit<Frame>, mpsc::error::SendError<()>>> + Send>,
>;

/// Output to one of the client's channels, written as any tokio writer. Writes fail with
/// `BrokenPipe` once the client is gone.
pub struct Output {
    channel: u8,
    tx: Option<mpsc::Sender<Frame>>,
    reserve: Option<Reserve>,
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Output")
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

/// The most one message carries.
const MAX_FRAME: usize = 32 * 1024;

impl Output {
    pub(crate) fn new(channel: u8, tx: Option<mpsc::Sender<Frame>>) -> Output {
        Output {
            channel,
            tx,
            reserve: None,
        }
    }
}

impl AsyncWrite for Output {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let Some(tx) = &this.tx else {
            return Poll::Ready(Ok(buf.len()));
        };
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let reserve = this
            .reserve
            .get_or_insert_with(|| Box::pin(tx.clone().reserve_owned()));
        let permit = ready!(reserve.as_mut().poll(cx));
        this.reserve = None;
        match permit {
            Ok(permit) => {
                let n = buf.len().min(MAX_FRAME);
                permit.send((this.channel, Bytes::copy_from_slice(&buf[..n])));
                Poll::Ready(Ok(n))
            }
            Err(_) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the exec client has gone",
            ))),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Terminal resize events.
#[derive(Debug)]
pub struct Resizes {
    rx: Option<mpsc::Receiver<TerminalSize>>,
}

impl Resizes {
    pub(crate) fn new(rx: Option<mpsc::Receiver<TerminalSize>>) -> Resizes {
        Resizes { rx }
    }

    /// The next size the client sends; `None` once it can send no more.
    pub async fn next(&mut self) -> Option<TerminalSize> {
        self.rx.as_mut()?.recv().await
    }
}

/// A registered exec or attach handler.
pub(crate) type HandlerFn =
    dyn Fn(Process) -> Pin<Box<dyn Future<Output = i32> + Send>> + Send + Sync;

/// A handler as the builder keeps it.
#[derive(Clone)]
pub(crate) struct Handler(pub Arc<HandlerFn>);

impl fmt::Debug for Handler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Handler(..)")
    }
}

impl Handler {
    pub(crate) fn new<F, Fut>(f: F) -> Handler
    where
        F: Fn(Process) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = i32> + Send + 'static,
    {
        Handler(Arc::new(move |p| Box::pin(f(p))))
    }
}

/// Copy stdin to stdout until it ends; 0.
pub(crate) async fn echo_stdin(mut p: Process) -> i32 {
    let mut buf = vec![0; MAX_FRAME];
    loop {
        match p.stdin.read(&mut buf).await {
            Ok(0) | Err(_) => return 0,
            Ok(n) => {
                if p.stdout.write_all(&buf[..n]).await.is_err() {
                    return 0;
                }
            }
        }
    }
}

/// The commands the server runs without a handler.
async fn builtin(mut p: Process) -> i32 {
    let command = std::mem::take(&mut p.command);
    let Some((name, args)) = command.split_first() else {
        return echo_stdin(p).await;
    };
    let base = name.rsplit('/').next().unwrap_or(name);
    if base == "sh" || base == "bash" {
        if args.first().map(String::as_str) != Some("-c") {
            return echo_stdin(p).await;
        }
        let script = args.get(1).map(String::as_str).unwrap_or_default();
        return run_script(&mut p, script).await;
    }
    if base == "cat" && args.is_empty() {
        return echo_stdin(p).await;
    }
    let words: Vec<&str> = command.iter().map(String::as_str).collect();
    simple(&mut p, &words, false).await.unwrap_or(0)
}

/// `sh -c SCRIPT`: simple commands separated by `;`, words split at white space (no
/// quoting or expansion), each optionally ending in `>&2`; `exit N` ends it.
async fn run_script(p: &mut Process, script: &str) -> i32 {
    let mut code = 0;
    for command in script.split(['\n', ';']) {
        let mut words: Vec<&str> = command.split_whitespace().collect();
        let to_stderr = words.last() == Some(&">&2") || words.last() == Some(&"1>&2");
        if to_stderr {
            words.pop();
        }
        if words.is_empty() {
            continue;
        }
        match simple(p, &words, to_stderr).await {
            Some(c) => code = c,
            None => return code_of_exit(&words, code),
        }
    }
    code
}

fn code_of_exit(words: &[&str], last: i32) -> i32 {
    words
        .get(1)
        .and_then(|n| n.parse::<i32>().ok())
        .map_or(last, |n| n & 0xff)
}

/// One simple command; `None` for `exit`.
async fn simple(p: &mut Process, words: &[&str], to_stderr: bool) -> Option<i32> {
    let (name, args) = words.split_first()?;
    let out = if to_stderr {
        &mut p.stderr
    } else {
        &mut p.stdout
    };
    let code = match name.rsplit('/').next().unwrap_or(name) {
        "exit" => return None,
        "true" => 0,
        "false" => 1,
        "echo" => {
            let (newline, args) = match args.first() {
                Some(&"-n") => (false, &args[1..]),
                _ => (true, args),
            };
            let mut text = args.join(" ");
            if newline {
                text.push('\n');
            }
            let _ = out.write_all(text.as_bytes()).await;
            0
        }
        "cat" if !args.is_empty() => {
            let text = format!("cat: {}: No such file or directory\n", args[0]);
            let _ = p.stderr.write_all(text.as_bytes()).await;
            1
        }
        _ => {
            let text = format!("{name}: command not found\n");
            let _ = p.stderr.write_all(text.as_bytes()).await;
            127
        }
    };
    Some(code)
}
