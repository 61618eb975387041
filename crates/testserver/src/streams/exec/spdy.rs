//! Exec and attach over the `Upgrade: SPDY/3.1` upgrade, as the kubelet serves them
//! (`cri/streaming/remotecommand`, reached through kube-apiserver's upgrade proxy): the
//! client opens an error stream, then one stream per standard stream it asked for (and a
//! resize stream with a terminal, from v3), each named by its `streamType` header; once all
//! have arrived the process runs, its output goes on the stdout and stderr streams, and at
//! its end the Status goes on the error stream (JSON from v4, the failure's text alone
//! before), every stream is finished and the connection closed.

use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::{Launch, Running, STDERR, resizes, status_body};
use crate::shared::body::ResBody;
use crate::streams::process::TerminalSize;
use crate::streams::spdy::session::{StreamReader, StreamWriter};
use crate::streams::spdy::{Stream, frame, upgrade};

/// The protocols served, newest first (`httpstream.Handshake` takes the client's first
/// one that is served). v5 (the close signal) and v1 (`channel.k8s.io`, with its known
/// bugs) are not, so client-go settles on v4.
const PROTOCOLS: &[&str] = &[
    "v4.channel.k8s.io",
    "v3.channel.k8s.io",
    "v2.channel.k8s.io",
];

/// How long the kubelet waits for the client's streams (`DefaultStreamCreationTimeout`).
const STREAM_CREATION_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the server waits, once it has finished, for the client to close.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

/// Answer the upgrade (negotiating the protocol) and run the session on the connection.
pub(super) fn accept<B>(
    req: &mut Request<B>,
    launch: Launch,
    cut: impl Future<Output = ()> + Send + 'static,
) -> Response<ResBody> {
    let protocol = match upgrade::negotiate(req, PROTOCOLS) {
        Ok(p) => p,
        Err(res) => return *res,
    };
    // The session closes the connection itself when it is done (GOAWAY, as the kubelet's
    // `conn.Close()`), besides a stopping server's cut.
    let (close, closed) = oneshot::channel::<()>();
    let end = async move {
        tokio::select! {
            () = cut => {}
            _ = closed => {}
        }
    };
    upgrade::switch(req, protocol, end, move |streams| async move {
        session(streams, protocol, launch).await;
        let _ = close.send(());
    })
}

/// The streams of a session, as they arrive.
#[derive(Default)]
struct Streams {
    error: Option<StreamWriter>,
    stdin: Option<StreamReader>,
    stdout: Option<StreamWriter>,
    stderr: Option<StreamWriter>,
    resize: Option<StreamReader>,
    /// How many of those asked for have arrived.
    arrived: usize,
}

/// A stream's part, from its `streamType` header.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Error,
    Stdin,
    Stdout,
    Stderr,
    Resize,
}

impl Kind {
    fn of(stream: &Stream) -> Option<Kind> {
        Some(match stream.header("streamType")? {
            "error" => Kind::Error,
            "stdin" => Kind::Stdin,
            "stdout" => Kind::Stdout,
            "stderr" => Kind::Stderr,
            "resize" => Kind::Resize,
            _ => return None,
        })
    }
}

/// The streams the kubelet waits for: the error stream, one per standard stream asked
/// for (no stderr with a terminal), and from v3 a resize stream with a terminal.
fn expected(launch: &Launch, protocol: &str) -> Vec<Kind> {
    let o = &launch.opts;
    let mut kinds = vec![Kind::Error];
    for (asked, kind) in [
        (o.stdin, Kind::Stdin),
        (o.stdout, Kind::Stdout),
        (o.stderr && !o.tty, Kind::Stderr),
        (o.tty && protocol != "v2.channel.k8s.io", Kind::Resize),
    ] {
        if asked {
            kinds.push(kind);
        }
    }
    kinds
}

impl Streams {
    /// Take `stream` as its kind's if that is expected and not yet taken: reply to it and
    /// keep it. Any other stream is reset (the kubelet logs and ignores it).
    async fn take(&mut self, stream: Stream, expected: &[Kind]) {
        let kind = Kind::of(&stream);
        let free = match kind {
            Some(Kind::Error) => self.error.is_none(),
            Some(Kind::Stdin) => self.stdin.is_none(),
            Some(Kind::Stdout) => self.stdout.is_none(),
            Some(Kind::Stderr) => self.stderr.is_none(),
            Some(Kind::Resize) => self.resize.is_none(),
            None => false,
        };
        if !free || !kind.is_some_and(|k| expected.contains(&k)) {
            tracing::debug!(
                stream = stream.id(),
                stream_type = stream.header("streamType"),
                "exec stream unexpected, duplicated or without a streamType: reset"
            );
            let _ = stream.writer.reset(frame::REFUSED_STREAM).await;
            return;
        }
        if stream.writer.reply().await.is_err() {
            return;
        }
        self.arrived += 1;
        match kind {
            Some(Kind::Error) => self.error = Some(stream.writer),
            Some(Kind::Stdin) => self.stdin = Some(stream.reader),
            Some(Kind::Stdout) => self.stdout = Some(stream.writer),
            Some(Kind::Stderr) => self.stderr = Some(stream.writer),
            Some(Kind::Resize) => self.resize = Some(stream.reader),
            None => {}
        }
    }
}

/// Wait for the streams, run the process, write its Status and finish the streams.
async fn session(mut incoming: mpsc::Receiver<Stream>, protocol: &'static str, launch: Launch) {
    let expected = expected(&launch, protocol);
    let mut streams = Streams::default();
    let deadline = Instant::now() + STREAM_CREATION_TIMEOUT;
    while streams.arrived < expected.len() {
        match tokio::time::timeout_at(deadline, incoming.recv()).await {
            Ok(Some(stream)) => streams.take(stream, &expected).await,
            // The client went.
            Ok(None) => return,
            Err(_) => {
                tracing::debug!("exec: timed out waiting for client to create streams");
                return;
            }
        }
    }
    let Running {
        mut output,
        stdin,
        resizes: resize_tx,
        mut task,
    } = launch.start();
    let pumps = [
        stdin
            .zip(streams.stdin.take())
            .map(|(tx, rx)| tokio::spawn(pump_stdin(rx, tx))),
        resize_tx
            .zip(streams.resize.take())
            .map(|(tx, rx)| tokio::spawn(pump_resizes(rx, tx))),
    ];
    let mut output_open = true;
    let code = loop {
        tokio::select! {
            biased;
            frame = output.recv(), if output_open => {
                let Some((channel, data)) = frame else {
                    output_open = false;
                    continue;
                };
                if !write(&streams, channel, data).await {
                    task.abort();
                    return;
                }
            }
            stream = incoming.recv() => match stream {
                Some(stream) => streams.take(stream, &[]).await,
                None => {
                    // The client went: its streams end, the process is stopped.
                    task.abort();
                    return;
                }
            },
            done = &mut task => break done.unwrap_or(-1),
        }
    };
    for pump in pumps.into_iter().flatten() {
        pump.abort();
    }
    // What the process wrote before it ended goes out before the status.
    while let Ok((channel, data)) = output.try_recv() {
        if !write(&streams, channel, data).await {
            return;
        }
    }
    let status = launch.end_status(code, false);
    if let Some(error) = &streams.error
        && let Some(body) = status_body(&status, protocol == "v4.channel.k8s.io")
        && error.write(Bytes::from(body)).await.is_err()
    {
        return;
    }
    for writer in [&streams.stdout, &streams.stderr, &streams.error]
        .into_iter()
        .flatten()
    {
        let _ = writer.finish().await;
    }
    // The client closes the connection once it has read the Status; a client that does
    // not is closed on after a while.
    let _ = tokio::time::timeout(CLOSE_WAIT, async {
        while let Some(stream) = incoming.recv().await {
            streams.take(stream, &[]).await;
        }
    })
    .await;
}

/// Write one piece of output on its stream; false once the client is gone.
async fn write(streams: &Streams, channel: u8, data: Bytes) -> bool {
    let writer = if channel == STDERR {
        &streams.stderr
    } else {
        &streams.stdout
    };
    match writer {
        Some(w) => w.write(data).await.is_ok(),
        None => true,
    }
}

/// The client's stdin stream to the process, until either ends.
async fn pump_stdin(mut from: StreamReader, to: mpsc::Sender<Bytes>) {
    while let Some(data) = from.recv().await {
        if !data.is_empty() && to.send(data).await.is_err() {
            return;
        }
    }
}

/// The client's resize stream (`{"Width":..,"Height":..}` values) to the process.
async fn pump_resizes(mut from: StreamReader, to: mpsc::Sender<TerminalSize>) {
    let mut buf = Vec::new();
    while let Some(data) = from.recv().await {
        buf.extend_from_slice(&data);
        if !resizes(&mut buf, &to).await {
            return;
        }
    }
}
