//! Port-forward over SPDY, as the kubelet serves it (`portforward/httpstream.go`): the
//! client opens an error stream and a data stream per forwarded connection, with headers
//! `streamType`, `port` and `requestID`; once both of a request are open the port is
//! dialled and bytes piped on the data stream, and a failure is written on the error
//! stream. The same streams serve the SPDY upgrade and the SPDY tunnelled in a WebSocket.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{FromClient, PORT_FORWARD_V1, Pod, ToClient, forward};
use crate::shared::body::ResBody;
use crate::streams::spdy::session::{StreamReader, StreamWriter};
use crate::streams::spdy::{Stream, frame, upgrade};

/// How long the kubelet waits for the second stream of a request
/// (`DefaultStreamCreationTimeout`).
const STREAM_CREATION_TIMEOUT: Duration = Duration::from_secs(30);

/// Answer `Upgrade: SPDY/3.1`: negotiate `X-Stream-Protocol-Version` as
/// `httpstream.Handshake` does, answer 101, and serve the session on the connection.
pub(super) fn accept<B>(
    req: &mut Request<B>,
    pod: Arc<Pod>,
    cut: impl Future<Output = ()> + Send + 'static,
) -> Response<ResBody> {
    match upgrade::negotiate(req, &[PORT_FORWARD_V1]) {
        Ok(protocol) => upgrade::switch(req, protocol, cut, move |streams| {
            serve_session(streams, pod)
        }),
        Err(res) => *res,
    }
}

/// A request's streams while the second is awaited.
struct Pair {
    port: u16,
    data: Option<Stream>,
    /// Only the writing side: what a client sends on its error stream is dropped.
    error: Option<StreamWriter>,
    deadline: Instant,
}

/// Pair the streams the client opens by `requestID` and forward each complete pair;
/// ends with the session.
pub(super) async fn serve_session(mut streams: mpsc::Receiver<Stream>, pod: Arc<Pod>) {
    let mut pairs: HashMap<String, Pair> = HashMap::new();
    loop {
        let next_deadline = pairs.values().map(|p| p.deadline).min();
        let expire = async {
            match next_deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        let stream = tokio::select! {
            stream = streams.recv() => match stream {
                Some(stream) => stream,
                None => return,
            },
            () = expire => {
                let now = Instant::now();
                let expired: Vec<String> = pairs
                    .iter()
                    .filter(|(_, p)| p.deadline <= now)
                    .map(|(id, _)| id.clone())
                    .collect();
                for id in expired {
                    if let Some(Pair { error: Some(e), .. }) = pairs.remove(&id) {
                        let message = format!("(conn=spdy, request={id}) timed out waiting for streams");
                        let _ = e.write(Bytes::from(message)).await;
                        let _ = e.finish().await;
                    }
                }
                continue;
            }
        };
        let (port, kind) = match check_stream(&stream) {
            Ok(found) => found,
            Err(e) => {
                tracing::debug!(stream = stream.id(), error = %e, "port-forward stream rejected");
                let _ = stream.writer.reset(frame::CANCEL).await;
                continue;
            }
        };
        if stream.writer.reply().await.is_err() {
            return;
        }
        let id = request_id(&stream, kind);
        let pair = pairs.entry(id.clone()).or_insert_with(|| Pair {
            port,
            data: None,
            error: None,
            deadline: Instant::now() + STREAM_CREATION_TIMEOUT,
        });
        let taken = match kind {
            Kind::Data => pair.data.is_some(),
            Kind::Error => pair.error.is_some(),
        };
        if taken {
            let message = format!(
                "error processing stream for request {id}: {} stream already assigned",
                kind.name()
            );
            if let Some(e) = &pair.error {
                let _ = e.write(Bytes::from(message)).await;
            }
            continue;
        }
        match kind {
            Kind::Data => pair.data = Some(stream),
            Kind::Error => pair.error = Some(stream.writer),
        }
        if pair.data.is_some()
            && pair.error.is_some()
            && let Some(Pair {
                port,
                data: Some(data),
                error: Some(error),
                ..
            }) = pairs.remove(&id)
        {
            tokio::spawn(forward_pair(Arc::clone(&pod), port, data, error));
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Data,
    Error,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Data => "data",
            Kind::Error => "error",
        }
    }
}

/// The kubelet's checks of a new stream's headers (`httpStreamReceived`).
fn check_stream(stream: &Stream) -> Result<(u16, Kind), String> {
    let port = stream.header("port").unwrap_or_default();
    if port.is_empty() {
        return Err("\"port\" header is required".to_owned());
    }
    let port = match port.parse::<u16>() {
        Ok(0) => return Err(format!("port {port:?} must be > 0")),
        Ok(p) => p,
        Err(_) => return Err(format!("unable to parse {port:?} as a port")),
    };
    match stream.header("streamType").unwrap_or_default() {
        "" => Err("\"streamType\" header is required".to_owned()),
        "data" => Ok((port, Kind::Data)),
        "error" => Ok((port, Kind::Error)),
        other => Err(format!("invalid stream type {other:?}")),
    }
}

/// The stream's `requestID`, or for clients too old to send one the kubelet's guess from
/// the stream ids (the error stream's id; the data stream's minus 2).
fn request_id(stream: &Stream, kind: Kind) -> String {
    match stream.header("requestID") {
        Some(id) if !id.is_empty() => id.to_owned(),
        _ => match kind {
            Kind::Error => stream.id().to_string(),
            Kind::Data => stream.id().saturating_sub(2).to_string(),
        },
    }
}

/// Forward one connection: dial, pipe, then close both streams.
async fn forward_pair(pod: Arc<Pod>, port: u16, data: Stream, error: StreamWriter) {
    let mut from_client = data.reader;
    let to_client = data.writer;
    match pod.dial(port).await {
        Ok(conn) => forward(conn, &mut from_client, &to_client).await,
        Err(message) => {
            let _ = error.write(Bytes::from(message)).await;
        }
    }
    let _ = to_client.finish().await;
    let _ = error.finish().await;
}

impl FromClient for StreamReader {
    async fn recv(&mut self) -> Option<Bytes> {
        StreamReader::recv(self).await
    }
}

impl ToClient for StreamWriter {
    async fn send(&self, data: Bytes) -> bool {
        self.write(data).await.is_ok()
    }
}
