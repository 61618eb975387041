//! exec and attach (client-go's `tools/remotecommand`): a command's stdin, stdout and
//! stderr, its terminal size and its exit status, over `v5.channel.k8s.io` (which can also
//! close stdin) or, from older servers, `v4.channel.k8s.io`.
//!
//! The channels are 0 stdin, 1 stdout, 2 stderr, 3 the error channel (a `metav1.Status`
//! once the command has ended: `Success`, or `NonZeroExitCode` with the code in its
//! causes) and 4 terminal sizes (`{"Width":..,"Height":..}`).

use std::collections::HashMap;

use std::pin::Pin;
use std::task::{Context, Poll};

use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, DuplexStream, ReadBuf};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

use super::channels::{self, Channels, Sink};
use crate::error::{Error, Result};
use crate::request::Request;
use crate::status::Status;

/// The protocols offered, newest first.
pub const PROTOCOLS: [&str; 2] = [V5, V4];
const V5: &str = "v5.channel.k8s.io";
const V4: &str = "v4.channel.k8s.io";

const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const ERROR: u8 = 3;
const RESIZE: u8 = 4;

/// How much output waits in a pipe for its reader before the connection waits too.
const PIPE_SIZE: usize = 64 * 1024;
/// The most the error channel may carry (a `Status`; the server's are a few hundred bytes).
const MAX_STATUS_SIZE: usize = 64 * 1024;

/// The read end of a command's stdout or stderr. Dropping it discards what the command
/// writes there from then on.
#[derive(Debug)]
pub struct OutputReader(DuplexStream);

impl AsyncRead for OutputReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

/// The write end of a command's stdin: shut it down or drop it to close stdin.
#[derive(Debug)]
pub struct InputWriter(DuplexStream);

impl AsyncWrite for InputWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

/// Which streams to attach and how (the query of `pods/exec` and `pods/attach`). The
/// default attaches stdout and stderr, without stdin or a terminal.
///
/// ```
/// use kubecto_rest_core::upgrade::remote_command::AttachParams;
/// let params = AttachParams::default().container("app").stdin(true);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AttachParams {
    /// The container; the server picks the pod's default one when `None`.
    pub container: Option<String>,
    /// Whether to send stdin.
    pub stdin: bool,
    /// Whether to receive stdout.
    pub stdout: bool,
    /// Whether to receive stderr (not with a terminal, which merges it into stdout).
    pub stderr: bool,
    /// Whether the command runs in a terminal.
    pub tty: bool,
}

impl Default for AttachParams {
    fn default() -> Self {
        Self {
            container: None,
            stdin: false,
            stdout: true,
            stderr: true,
            tty: false,
        }
    }
}

impl AttachParams {
    /// An interactive terminal: stdin, stdout and a TTY (stderr is merged into stdout).
    pub fn interactive_tty() -> Self {
        Self {
            stdin: true,
            stdout: true,
            stderr: false,
            tty: true,
            ..Self::default()
        }
    }

    /// Sets the container.
    #[must_use]
    pub fn container(mut self, container: impl Into<String>) -> Self {
        self.container = Some(container.into());
        self
    }

    /// Sets whether stdin is sent.
    #[must_use]
    pub fn stdin(mut self, on: bool) -> Self {
        self.stdin = on;
        self
    }

    /// Sets whether stdout is received.
    #[must_use]
    pub fn stdout(mut self, on: bool) -> Self {
        self.stdout = on;
        self
    }

    /// Sets whether stderr is received.
    #[must_use]
    pub fn stderr(mut self, on: bool) -> Self {
        self.stderr = on;
        self
    }

    /// Sets whether the command runs in a terminal.
    #[must_use]
    pub fn tty(mut self, on: bool) -> Self {
        self.tty = on;
        self
    }

    fn check(&self) -> Result<()> {
        if !(self.stdin || self.stdout || self.stderr) {
            return Err(Error::invalid(
                "attach parameters: at least one of stdin, stdout and stderr must be set",
            ));
        }
        if self.tty && self.stderr {
            return Err(Error::invalid(
                "attach parameters: a terminal merges stderr into stdout, so stderr cannot be set with tty",
            ));
        }
        Ok(())
    }

    fn apply(&self, mut req: Request) -> Request {
        if let Some(c) = &self.container {
            req = req.param("container", c);
        }
        for (key, on) in [
            ("stdin", self.stdin),
            ("stdout", self.stdout),
            ("stderr", self.stderr),
            ("tty", self.tty),
        ] {
            if on {
                req = req.param(key, true);
            }
        }
        req
    }
}

/// A terminal size, sent with [`AttachedProcess::terminal_size`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TerminalSize {
    /// Columns.
    #[serde(rename = "Width")]
    pub width: u16,
    /// Rows.
    #[serde(rename = "Height")]
    pub height: u16,
}

/// Sends terminal sizes to a process started with a TTY.
#[derive(Clone, Debug)]
pub struct TerminalSizeSender(mpsc::Sender<Message>);

impl TerminalSizeSender {
    /// Sends a new size; it reaches the process in order with the others.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] when the connection has ended.
    pub async fn send(&self, size: TerminalSize) -> Result<()> {
        let json =
            serde_json::to_vec(&size).map_err(|e| Error::invalid(format!("terminal size: {e}")))?;
        let mut msg = Vec::with_capacity(json.len() + 1);
        msg.push(RESIZE);
        msg.extend_from_slice(&json);
        self.0
            .send(Message::Binary(msg.into()))
            .await
            .map_err(|_| Error::invalid("the terminal size cannot be sent: the process has ended"))
    }
}

/// How a command ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExitStatus {
    /// The exit code: 0, or the code of a `NonZeroExitCode` status.
    pub code: i32,
    /// The `Status` the server sent on the error channel.
    pub status: Status,
}

impl ExitStatus {
    /// Whether the command exited with 0.
    pub fn success(&self) -> bool {
        self.code == 0
    }
}

/// A command's collected output and exit status ([`AttachedProcess::output`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// What it wrote to stdout.
    pub stdout: Vec<u8>,
    /// What it wrote to stderr.
    pub stderr: Vec<u8>,
    /// How it ended.
    pub status: ExitStatus,
}

/// A running command (exec) or a container's process (attach): take its streams with
/// [`stdin`](Self::stdin), [`stdout`](Self::stdout) and [`stderr`](Self::stderr), then
/// wait for its end with [`status`](Self::status); or collect everything with
/// [`output`](Self::output).
///
/// Output waits in a 64 KiB pipe for its reader; a stream nobody reads holds the
/// connection up once that pipe is full, as an unread pipe does a process. A stream that
/// is taken and dropped is discarded.
#[derive(Debug)]
pub struct AttachedProcess {
    protocol: String,
    stdin: Option<InputWriter>,
    stdout: Option<OutputReader>,
    stderr: Option<OutputReader>,
    resize: Option<TerminalSizeSender>,
    ended: oneshot::Receiver<Result<ExitStatus>>,
}

impl AttachedProcess {
    /// The protocol the server chose (`v5.channel.k8s.io` or `v4.channel.k8s.io`).
    pub fn protocol(&self) -> &str {
        &self.protocol
    }

    /// Takes stdin (when it was asked for). Shutting it down or dropping it closes the
    /// command's stdin — with `v5.channel.k8s.io`; with v4 the server cannot be told, and
    /// a command that reads stdin to its end never sees it.
    pub fn stdin(&mut self) -> Option<InputWriter> {
        self.stdin.take()
    }

    /// Takes stdout (when it was asked for).
    pub fn stdout(&mut self) -> Option<OutputReader> {
        self.stdout.take()
    }

    /// Takes stderr (when it was asked for).
    pub fn stderr(&mut self) -> Option<OutputReader> {
        self.stderr.take()
    }

    /// Takes the sender of terminal sizes (when a TTY was asked for).
    pub fn terminal_size(&mut self) -> Option<TerminalSizeSender> {
        self.resize.take()
    }

    /// Waits for the command to end.
    ///
    /// # Errors
    /// [`Error::Api`] when the server reports a failure that is not an exit code (the
    /// container is not running, say); [`Error::Stream`] when the connection broke or
    /// closed before the exit status arrived, or the status is not a `Status`.
    pub async fn status(mut self) -> Result<ExitStatus> {
        // Dropping stdin, stdout and stderr still held here: stdin closes, and output
        // nobody took is not waited on.
        self.stdin = None;
        self.stdout = None;
        self.stderr = None;
        match self.ended.await {
            Ok(r) => r,
            Err(_) => Err(Error::invalid(
                "the connection's task ended without a result",
            )),
        }
    }

    /// Closes stdin (unless taken), reads stdout and stderr (those not taken) to their
    /// ends and waits for the command to end.
    ///
    /// # Errors
    /// As [`status`](Self::status).
    pub async fn output(mut self) -> Result<Output> {
        self.stdin = None;
        let out = read_all(self.stdout.take());
        let err = read_all(self.stderr.take());
        let (stdout, stderr) = tokio::join!(out, err);
        let status = self.status().await?;
        Ok(Output {
            stdout,
            stderr,
            status,
        })
    }
}

async fn read_all(reader: Option<OutputReader>) -> Vec<u8> {
    let mut buf = Vec::new();
    if let Some(mut r) = reader {
        let _ = r.read_to_end(&mut buf).await;
    }
    buf
}

impl Request {
    /// Runs `command` on a `pods/exec` request: adds it to the query (one `command`
    /// parameter per word) and starts it with [`remote_command`](Self::remote_command).
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for an empty command; otherwise as
    /// [`remote_command`](Self::remote_command).
    pub async fn exec<I, S>(self, command: I, params: &AttachParams) -> Result<AttachedProcess>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut req = self;
        let mut words = 0;
        for word in command {
            req = req.param("command", word.as_ref());
            words += 1;
        }
        if words == 0 {
            return Err(Error::invalid("exec: the command is empty"));
        }
        req.remote_command(params).await
    }

    /// Starts a remote command on a `pods/exec` or `pods/attach` request: upgrades the
    /// connection ([`Request::upgrade`], offering v5 then v4 of `channel.k8s.io`) with
    /// `params` in the query. For exec, [`exec`](Self::exec) adds the command first.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for parameters that ask for no stream, or stderr with a
    /// terminal; otherwise as [`Request::upgrade`].
    pub async fn remote_command(self, params: &AttachParams) -> Result<AttachedProcess> {
        params.check()?;
        let ws = params.apply(self).upgrade(&PROTOCOLS).await?;
        let protocol = ws.protocol.clone();
        let url = ws.url.clone();
        let mut outputs = HashMap::new();
        outputs.insert(
            ERROR,
            Sink::Collect {
                max: MAX_STATUS_SIZE,
            },
        );
        let mut inputs: Vec<(u8, Box<dyn AsyncRead + Send + Unpin>)> = Vec::new();
        // Duplex pipes, not simplex ones: dropping one end ends the other (a reader gone
        // fails the writes; a writer gone is the end of input).
        let mut pipe = |ch: u8, on: bool| {
            on.then(|| {
                let (ours, theirs) = tokio::io::duplex(PIPE_SIZE);
                outputs.insert(ch, Sink::Pipe(Box::new(theirs)));
                OutputReader(ours)
            })
        };
        let stdout = pipe(STDOUT, params.stdout);
        let stderr = pipe(STDERR, params.stderr);
        let stdin = params.stdin.then(|| {
            let (ours, theirs) = tokio::io::duplex(PIPE_SIZE);
            inputs.push((STDIN, Box::new(theirs)));
            InputWriter(ours)
        });
        let (resize, control) = if params.tty {
            let (tx, rx) = mpsc::channel(4);
            (Some(TerminalSizeSender(tx)), Some(rx))
        } else {
            (None, None)
        };
        let channels = Channels {
            outputs,
            inputs,
            control,
            announce_close: protocol == V5,
            close_when_inputs_end: false,
            port_prefix: false,
        };
        let (tx, ended) = oneshot::channel();
        tokio::spawn(async move {
            let end = channels::run(ws, channels).await;
            let _ = tx.send(exit_status(&url, end));
        });
        Ok(AttachedProcess {
            protocol,
            stdin,
            stdout,
            stderr,
            resize,
            ended,
        })
    }
}

/// The exit status the error channel carried.
fn exit_status(url: &str, end: channels::Ended) -> Result<ExitStatus> {
    let raw = end.collected.get(&ERROR).cloned().unwrap_or_default();
    if raw.is_empty() {
        return Err(end.error.unwrap_or_else(|| Error::Stream {
            url: url.to_owned(),
            what: "the connection closed before the command's exit status arrived".to_owned(),
            source: None,
        }));
    }
    let status: Status = serde_json::from_slice(&raw).map_err(|e| Error::Stream {
        url: url.to_owned(),
        what: format!(
            "the error channel does not hold a Status: {:?}",
            String::from_utf8_lossy(&raw[..raw.len().min(200)])
        ),
        source: Some(Box::new(e)),
    })?;
    if status.status == "Success" {
        return Ok(ExitStatus { code: 0, status });
    }
    if status.reason == "NonZeroExitCode" {
        let code = status.details.as_ref().and_then(|d| {
            d.causes
                .iter()
                .find(|c| c.reason == "ExitCode")
                .and_then(|c| c.message.trim().parse::<i32>().ok())
        });
        if let Some(code) = code {
            return Ok(ExitStatus { code, status });
        }
    }
    Err(Error::Api(Box::new(status)))
}
