//! Port-forward over a WebSocket, both ways kube-apiserver serves it: the kubelet's
//! `v4.channel.k8s.io` channels (`portforward/websocket.go`: for the i-th port, channel 2i
//! carries data and 2i+1 errors, and the first message on each is the port, 2 bytes
//! little-endian), and SPDY tunnelled in binary messages (`SPDY/3.1+portforward.k8s.io`,
//! apiserver's `util/proxy/streamtunnel.go`), which kubectl ≥ 1.31 tries first.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _};
use http::{HeaderMap, Request, Response, header};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

use super::{FromClient, Pod, TUNNEL, ToClient, forward};
use crate::shared::body::ResBody;
use crate::streams::spdy;
use crate::streams::websocket::{WebSocket, accept};

/// The channel protocols served: none named, or `v4.channel.k8s.io`. (The kubelet also
/// serves `v4.base64.channel.k8s.io`, which no client here speaks.)
const CHANNEL_PROTOCOLS: &[&str] = &["", "v4.channel.k8s.io"];

/// Whether the client offers a SPDY tunnel (`wsstream.IsWebSocketRequestWithTunnelingProtocol`:
/// a subprotocol starting `SPDY/3.1+` and ending `.k8s.io`).
pub(super) fn offers_tunnel(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|p| p.starts_with("SPDY/3.1+") && p.ends_with(".k8s.io"))
}

/// Accept the SPDY tunnel and serve port-forward streams inside it.
pub(super) fn accept_tunnel<B>(
    req: &mut Request<B>,
    pod: Arc<Pod>,
    cut: impl Future<Output = ()> + Send + 'static,
) -> Response<ResBody> {
    accept(req, &[TUNNEL], move |ws, _| async move {
        let (session_end, bridge_end) = tokio::io::duplex(64 * 1024);
        let streams = spdy::serve(session_end, std::future::pending());
        tokio::spawn(super::spdy::serve_session(streams, pod));
        // Dropping the WebSocket and the bridge's end of the pipe ends the session.
        tokio::select! {
            () = bridge(ws, bridge_end) => {}
            () = cut => {}
        }
    })
}

/// Carry a byte stream in binary messages both ways, as client-go's `TunnelingConnection`
/// does on its side: message boundaries mean nothing.
async fn bridge(ws: WebSocket, io: tokio::io::DuplexStream) {
    let (mut sink, mut messages) = ws.split();
    let (mut rd, mut wr) = tokio::io::split(io);
    let inbound = async {
        while let Some(Ok(msg)) = messages.next().await {
            match msg {
                Message::Binary(bytes) if wr.write_all(&bytes).await.is_err() => break,
                Message::Close(_) => break,
                _ => {}
            }
        }
        let _ = wr.shutdown().await;
    };
    let outbound = async {
        let mut buf = vec![0u8; spdy::session::CHUNK + 64];
        while let Ok(n @ 1..) = rd.read(&mut buf).await {
            let bytes = Bytes::copy_from_slice(&buf[..n]);
            if sink.send(Message::Binary(bytes)).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    };
    tokio::join!(inbound, outbound);
}

/// Accept a channel WebSocket forwarding `ports`.
pub(super) fn accept_channels<B>(
    req: &mut Request<B>,
    pod: Arc<Pod>,
    ports: Vec<u16>,
    cut: impl Future<Output = ()> + Send + 'static,
) -> Response<ResBody> {
    accept(req, CHANNEL_PROTOCOLS, move |ws, _| async move {
        tokio::select! {
            () = channels(ws, pod, ports) => {}
            () = cut => {}
        }
    })
}

/// Serve the channels: announce each port on its two channels, forward each port on one
/// connection, and close the WebSocket when every forward has ended or the client goes.
async fn channels(ws: WebSocket, pod: Arc<Pod>, ports: Vec<u16>) {
    let (mut sink, mut messages) = ws.split();
    let (out, mut outgoing) = mpsc::channel::<Message>(32);
    let writer = tokio::spawn(async move {
        while let Some(msg) = outgoing.recv().await {
            if sink.send(msg).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let mut inbound = Vec::with_capacity(ports.len());
    let mut forwards = JoinSet::new();
    for (i, &port) in ports.iter().enumerate() {
        let [lo, hi] = port.to_le_bytes();
        for channel in [data_channel(i), data_channel(i).wrapping_add(1)] {
            let _ = out
                .send(Message::Binary(Bytes::from(vec![channel, lo, hi])))
                .await;
        }
        let (tx, rx) = mpsc::channel(8);
        inbound.push(Some(tx));
        let (pod, out) = (Arc::clone(&pod), out.clone());
        forwards.spawn(async move {
            let channel = data_channel(i);
            let to_client = ChannelOut { channel, out };
            match pod.dial(port).await {
                Ok(conn) => forward(conn, &mut ChannelIn(rx), &to_client).await,
                Err(message) => {
                    let mut msg = vec![channel.wrapping_add(1)];
                    msg.extend_from_slice(message.as_bytes());
                    let _ = to_client.out.send(Message::Binary(Bytes::from(msg))).await;
                }
            }
        });
    }
    drop(out);
    loop {
        tokio::select! {
            msg = messages.next() => match msg {
                Some(Ok(Message::Binary(bytes))) => {
                    // The first byte names the channel; only data channels are read.
                    let Some(&channel) = bytes.first() else { continue };
                    let slot = (channel % 2 == 0)
                        .then(|| inbound.get_mut(usize::from(channel / 2)))
                        .flatten();
                    if let Some(slot) = slot
                        && let Some(tx) = slot
                        && tx.send(bytes.slice(1..)).await.is_err()
                    {
                        *slot = None;
                    }
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            done = forwards.join_next() => if done.is_none() { break },
        }
    }
    // The client has gone or every port is done: the forwards see the end of their
    // input, finish, and the writer closes the WebSocket once they have.
    drop(inbound);
    while forwards.join_next().await.is_some() {}
    let _ = writer.await;
}

/// The data channel of the i-th port (its error channel is the next).
fn data_channel(i: usize) -> u8 {
    (i * 2) as u8
}

struct ChannelIn(mpsc::Receiver<Bytes>);

impl FromClient for ChannelIn {
    async fn recv(&mut self) -> Option<Bytes> {
        self.0.recv().await
    }
}

struct ChannelOut {
    channel: u8,
    out: mpsc::Sender<Message>,
}

impl ToClient for ChannelOut {
    async fn send(&self, data: Bytes) -> bool {
        let mut msg = Vec::with_capacity(data.len() + 1);
        msg.push(self.channel);
        msg.extend_from_slice(&data);
        self.out
            .send(Message::Binary(Bytes::from(msg)))
            .await
            .is_ok()
    }
}
