//! Exec and attach over WebSocket: the channel protocols (a channel byte before each
//! message, or a digit and base64), as kube-apiserver's stream translator (v5) and the
//! kubelet (v4 and older) speak them.

use std::time::Duration;

use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt as _, StreamExt as _};
use http::{Request, Response, StatusCode};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::{Launch, Running, STDERR, STDOUT, internal_error, resizes, status_body};
use crate::shared::body::ResBody;
use crate::shared::response;
use crate::streams::websocket::{self, WebSocket};

/// The subprotocols served, newest first (the client's order decides).
const PROTOCOLS: &[&str] = &[
    "v5.channel.k8s.io",
    "v4.channel.k8s.io",
    "v4.base64.channel.k8s.io",
    "channel.k8s.io",
    "base64.channel.k8s.io",
    "",
];

const STDIN: u8 = 0;
const ERROR: u8 = 3;
const RESIZE: u8 = 4;
/// v5: `[CLOSE, channel]` closes that channel.
const CLOSE: u8 = 255;

/// How long the server waits for the client to answer its close.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

/// Upgrade to a WebSocket and run the session; a refusal of the kubelet's is its plain
/// answer before the upgrade, or after it for v5 (the translator upgraded first).
pub(super) fn accept<B>(
    req: &mut Request<B>,
    launch: Launch,
    refusal: Option<(StatusCode, String)>,
    cut: impl Future<Output = ()> + Send + 'static,
) -> Response<ResBody> {
    let v5 = websocket::choose_protocol(req.headers(), PROTOCOLS).as_deref()
        == Some("v5.channel.k8s.io");
    if let Some((code, text)) = &refusal
        && !v5
    {
        return response::text(*code, text.clone());
    }
    websocket::accept(req, PROTOCOLS, move |ws, protocol| async move {
        let session = Session {
            ws,
            proto: Protocol::of(&protocol),
            launch,
        };
        let run = session.run(refusal.map(|(_, t)| t));
        tokio::select! {
            () = run => {}
            () = cut => {}
        }
    })
}

/// How the negotiated subprotocol frames channels and reports the end.
#[derive(Clone, Copy)]
struct Protocol {
    base64: bool,
    /// `[255, channel]` closes a channel.
    close: bool,
    /// The error channel carries a JSON Status (v4, v5), else the failure's text only.
    status: bool,
    v5: bool,
}

impl Protocol {
    fn of(name: &str) -> Protocol {
        Protocol {
            base64: name.contains("base64"),
            close: name == "v5.channel.k8s.io",
            status: name.starts_with("v4.") || name.starts_with("v5."),
            v5: name == "v5.channel.k8s.io",
        }
    }

    fn frame(self, channel: u8, data: &[u8]) -> Message {
        if self.base64 {
            let mut s = String::with_capacity(1 + data.len() * 4 / 3 + 4);
            s.push(char::from(b'0' + channel));
            base64::engine::general_purpose::STANDARD.encode_string(data, &mut s);
            Message::text(s)
        } else {
            let mut b = BytesMut::with_capacity(1 + data.len());
            b.extend_from_slice(&[channel]);
            b.extend_from_slice(data);
            Message::Binary(b.freeze())
        }
    }

    /// A client message as (channel, data); `None` for one to ignore.
    fn unframe(self, msg: Message) -> Option<(u8, Bytes)> {
        let data: Bytes = match msg {
            Message::Binary(b) => b,
            Message::Text(t) => Bytes::copy_from_slice(t.as_bytes()),
            _ => return None,
        };
        let (&first, rest) = data.split_first()?;
        if self.close && first == CLOSE {
            return Some((CLOSE, data.slice(1..)));
        }
        if self.base64 {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest)
                .ok()?;
            return Some((first.wrapping_sub(b'0'), Bytes::from(decoded)));
        }
        Some((first, data.slice(1..)))
    }
}

struct Session {
    ws: WebSocket,
    proto: Protocol,
    launch: Launch,
}

impl Session {
    async fn run(mut self, refusal: Option<String>) {
        let proto = self.proto;
        let opts = &self.launch.opts;
        // wsstream's first message: an empty one on the lowest channel written to.
        let first = if opts.stdout {
            STDOUT
        } else if opts.stderr {
            STDERR
        } else {
            ERROR
        };
        if self.ws.send(proto.frame(first, &[])).await.is_err() {
            return;
        }
        if let Some(text) = refusal {
            let status = internal_error(&format!("unable to upgrade connection: {text}"));
            self.finish(status).await;
            return;
        }
        let Running {
            output: mut out_rx,
            stdin: mut stdin_tx,
            resizes: mut resize_tx,
            mut task,
        } = self.launch.start();
        let mut resize_buf = Vec::new();
        let mut output_open = true;
        let code = loop {
            tokio::select! {
                biased;
                frame = out_rx.recv(), if output_open => {
                    let Some((channel, data)) = frame else {
                        output_open = false;
                        continue;
                    };
                    if self.ws.send(proto.frame(channel, &data)).await.is_err() {
                        task.abort();
                        return;
                    }
                }
                msg = self.ws.next() => {
                    let Some(Ok(msg)) = msg else {
                        // The client went: its streams end, the process is stopped.
                        task.abort();
                        return;
                    };
                    if let Message::Close(_) = msg {
                        task.abort();
                        let _ = self.ws.close(None).await;
                        return;
                    }
                    match proto.unframe(msg) {
                        Some((STDIN, data)) => {
                            if let Some(tx) = &stdin_tx && !data.is_empty() && tx.send(data).await.is_err() {
                                stdin_tx = None;
                            }
                        }
                        Some((RESIZE, data)) => {
                            if let Some(tx) = &resize_tx {
                                resize_buf.extend_from_slice(&data);
                                if !resizes(&mut resize_buf, tx).await {
                                    resize_tx = None;
                                }
                            }
                        }
                        Some((CLOSE, data)) => match data.first() {
                            Some(&STDIN) => stdin_tx = None,
                            Some(&RESIZE) => resize_tx = None,
                            _ => {}
                        },
                        _ => {}
                    }
                }
                done = &mut task => break done.unwrap_or(-1),
            }
        };
        // What the process wrote before it ended goes out before the status.
        while let Ok((channel, data)) = out_rx.try_recv() {
            if self.ws.send(proto.frame(channel, &data)).await.is_err() {
                return;
            }
        }
        let status = self.launch.end_status(code, proto.v5);
        self.finish(status).await;
    }

    /// Write the Status (its text alone before v4, nothing for a success), close, and wait
    /// for the client to close too.
    async fn finish(mut self, status: Value) {
        if let Some(body) = status_body(&status, self.proto.status)
            && self.ws.send(self.proto.frame(ERROR, &body)).await.is_err()
        {
            return;
        }
        // x/net/websocket closes with 1000 (normal); gorilla, kubectl's, takes a close
        // without a code (1005) for an error.
        let normal = CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        };
        let _ = self.ws.close(Some(normal)).await;
        let _ = tokio::time::timeout(CLOSE_WAIT, async {
            while let Some(Ok(_)) = self.ws.next().await {}
        })
        .await;
    }
}
