//! The channel framing of Kubernetes' WebSocket streams (`channel.k8s.io`): every binary
//! message starts with one byte naming its channel, and the rest is that channel's data.
//! One task per connection carries the messages between the WebSocket and pipes the
//! caller reads and writes, with back-pressure both ways: output waits for its reader,
//! input is read only as fast as the connection takes it.

use std::collections::HashMap;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::WebSocket;
use crate::error::Error;

/// How much input is read into one message.
const INPUT_CHUNK: usize = 32 * 1024;

/// How often a ping is sent (client-go's `pingPeriod`): a load balancer or proxy that cuts
/// idle connections sees traffic, and a dead peer is noticed.
const PING_EVERY: std::time::Duration = std::time::Duration::from_secs(5);
/// How long the server may stay silent — no message, no pong — before the connection is
/// taken for dead (client-go's `pingReadDeadline`: twelve pings and a second).
const SILENCE_LIMIT: std::time::Duration = std::time::Duration::from_secs(61);

/// v5's channel for closing another channel: a message `[255, channel]`.
pub(crate) const CLOSE_CHANNEL: u8 = 255;

/// Where a channel's data from the server goes.
pub(crate) enum Sink {
    /// Into a pipe its reader drains; dropped (the reader sees its end) when the stream
    /// ends. Data for a reader that went away is discarded.
    Pipe(Box<dyn AsyncWrite + Send + Unpin>),
    /// Kept, up to `max` bytes (the error channel's `Status`, a port's error text).
    Collect { max: usize },
}

/// What one connection carries.
pub(crate) struct Channels {
    /// The server's channels, by number.
    pub(crate) outputs: HashMap<u8, Sink>,
    /// The caller's input, by the channel it is sent on.
    pub(crate) inputs: Vec<(u8, Box<dyn AsyncRead + Send + Unpin>)>,
    /// Whole messages to send besides the inputs (terminal sizes).
    pub(crate) control: Option<mpsc::Receiver<Message>>,
    /// Whether an input that ends is announced with `[255, channel]` (v5).
    pub(crate) announce_close: bool,
    /// Whether the connection is closed once every input has ended (port-forward: the
    /// local side of each forwarded connection is done).
    pub(crate) close_when_inputs_end: bool,
    /// Whether the server's first message on each channel starts with the port number (2
    /// bytes, little-endian) to take off (port-forward).
    pub(crate) port_prefix: bool,
}

/// How a connection ended.
pub(crate) struct Ended {
    /// What the [`Sink::Collect`] channels received.
    pub(crate) collected: HashMap<u8, Vec<u8>>,
    /// Why it ended, if not by a close from either side.
    pub(crate) error: Option<Error>,
}

enum Event {
    Input(u8, Option<Bytes>),
    Failed(u8, std::io::Error),
}

/// Carries `channels` over `ws` until the server closes the connection or it breaks.
pub(crate) async fn run(ws: WebSocket, channels: Channels) -> Ended {
    let WebSocket {
        mut stream, url, ..
    } = ws;
    let Channels {
        outputs,
        inputs,
        control,
        announce_close,
        close_when_inputs_end,
        port_prefix,
    } = channels;
    let mut pipes: HashMap<u8, Box<dyn AsyncWrite + Send + Unpin>> = HashMap::new();
    let mut collect: HashMap<u8, (usize, Vec<u8>)> = HashMap::new();
    for (ch, out) in outputs {
        match out {
            Sink::Pipe(w) => {
                pipes.insert(ch, w);
            }
            Sink::Collect { max } => {
                collect.insert(ch, (max, Vec::new()));
            }
        }
    }
    let mut open_inputs = inputs.len();
    let (tx, mut rx) = mpsc::channel::<Event>(4);
    let readers: Vec<_> = inputs
        .into_iter()
        .map(|(ch, reader)| tokio::spawn(read_input(ch, reader, tx.clone())))
        .collect();
    drop(tx);
    let mut control = control;
    let mut prefixed: Vec<u8> = Vec::new();
    let stream_error = |what: &str, source: Option<crate::error::BoxError>| Error::Stream {
        url: url.clone(),
        what: what.to_owned(),
        source,
    };
    let mut error = None;
    // Once this side has closed, a peer that drops the connection instead of answering
    // the close is no error: nothing more was coming.
    let mut closing = false;
    if close_when_inputs_end && open_inputs == 0 {
        closing = true;
        let _ = stream.close(None).await;
    }
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut heard = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = ping.tick() => {
                if heard.elapsed() > SILENCE_LIMIT {
                    error = Some(stream_error(
                        &format!("the server answered nothing, not even a ping, for {} s", heard.elapsed().as_secs()),
                        None,
                    ));
                    break;
                }
                if let Err(e) = send(&mut stream, Message::Ping(Bytes::new())).await {
                    error = Some(stream_error("sending on the connection failed", Some(e)));
                    break;
                }
            }
            msg = stream.next() => match msg {
                None | Some(Ok(Message::Close(_))) => break,
                Some(Ok(Message::Binary(data))) => {
                    heard = tokio::time::Instant::now();
                    let Some((&ch, mut body)) = data.split_first() else {
                        continue;
                    };
                    if port_prefix && !prefixed.contains(&ch) {
                        prefixed.push(ch);
                        if body.len() < 2 {
                            error = Some(stream_error(
                                &format!("the first message on channel {ch} is too short to hold a port number ({} bytes)", body.len()),
                                None,
                            ));
                            break;
                        }
                        body = &body[2..];
                    }
                    if body.is_empty() {
                        continue;
                    }
                    if let Some((max, buf)) = collect.get_mut(&ch) {
                        let room = max.saturating_sub(buf.len());
                        buf.extend_from_slice(&body[..body.len().min(room)]);
                    } else if let Some(pipe) = pipes.get_mut(&ch) {
                        if pipe.write_all(body).await.is_err() {
                            // The reader went away: what it would have read is dropped.
                            pipes.remove(&ch);
                        }
                        // However long the reader took, the server was not silent meanwhile:
                        // it was not being read.
                        heard = tokio::time::Instant::now();
                    } else {
                        tracing::debug!(target: "kubecto::upgrade", channel = ch, bytes = body.len(), "data on a channel not asked for; dropped");
                    }
                }
                Some(Ok(Message::Text(text))) => {
                    error = Some(stream_error(
                        &format!("the server sent a text message ({} bytes) where the protocol has only binary ones", text.len()),
                        None,
                    ));
                    break;
                }
                Some(Ok(_)) => heard = tokio::time::Instant::now(),
                Some(Err(_)) if closing => break,
                Some(Err(e)) => {
                    error = Some(stream_error("the connection broke mid-stream", Some(Box::new(e))));
                    break;
                }
            },
            event = rx.recv(), if open_inputs > 0 => {
                let sent = match event {
                    Some(Event::Input(ch, Some(data))) => {
                        let mut msg = BytesMut::with_capacity(data.len() + 1);
                        msg.put_u8(ch);
                        msg.put_slice(&data);
                        let sent = send(&mut stream, Message::Binary(msg.freeze())).await;
                        // Nothing was read while the server took the data.
                        heard = tokio::time::Instant::now();
                        sent
                    }
                    Some(Event::Input(ch, None)) => {
                        open_inputs -= 1;
                        if close_when_inputs_end && open_inputs == 0 {
                            closing = true;
                            stream.close(None).await.map_err(Into::into)
                        } else if announce_close {
                            send(&mut stream, Message::Binary(Bytes::copy_from_slice(&[CLOSE_CHANNEL, ch]))).await
                        } else {
                            Ok(())
                        }
                    }
                    Some(Event::Failed(ch, e)) => {
                        open_inputs -= 1;
                        tracing::debug!(target: "kubecto::upgrade", channel = ch, error = %e, "reading input failed; it ends here");
                        if announce_close {
                            send(&mut stream, Message::Binary(Bytes::copy_from_slice(&[CLOSE_CHANNEL, ch]))).await
                        } else {
                            Ok(())
                        }
                    }
                    None => {
                        open_inputs = 0;
                        Ok(())
                    }
                };
                if let Err(e) = sent {
                    error = Some(stream_error("sending on the connection failed", Some(e)));
                    break;
                }
            },
            msg = recv_control(&mut control) => match msg {
                Some(msg) => {
                    if let Err(e) = send(&mut stream, msg).await {
                        error = Some(stream_error("sending on the connection failed", Some(e)));
                        break;
                    }
                }
                None => control = None,
            },
        }
    }
    for reader in readers {
        reader.abort();
    }
    // Answer (or finish) the closing handshake, without waiting on a peer that is gone.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), stream.close(None)).await;
    for (_, mut pipe) in pipes {
        let _ = pipe.shutdown().await;
    }
    Ended {
        collected: collect
            .into_iter()
            .map(|(ch, (_, buf))| (ch, buf))
            .collect(),
        error,
    }
}

/// Sends one message, giving up when the server takes nothing for [`SILENCE_LIMIT`] (a
/// peer that is gone while the connection's buffers are full).
async fn send(
    stream: &mut super::WebSocketStream,
    msg: Message,
) -> Result<(), crate::error::BoxError> {
    match tokio::time::timeout(SILENCE_LIMIT, stream.send(msg)).await {
        Ok(r) => r.map_err(Into::into),
        Err(_) => Err(format!("the server took no data for {} s", SILENCE_LIMIT.as_secs()).into()),
    }
}

async fn recv_control(control: &mut Option<mpsc::Receiver<Message>>) -> Option<Message> {
    match control {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Reads `reader` in chunks and hands them on, then its end.
async fn read_input(
    ch: u8,
    mut reader: Box<dyn AsyncRead + Send + Unpin>,
    tx: mpsc::Sender<Event>,
) {
    let mut buf = BytesMut::with_capacity(INPUT_CHUNK);
    loop {
        buf.reserve(INPUT_CHUNK);
        match reader.read_buf(&mut buf).await {
            Ok(0) => {
                let _ = tx.send(Event::Input(ch, None)).await;
                return;
            }
            Ok(_) => {
                if tx
                    .send(Event::Input(ch, Some(buf.split().freeze())))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.send(Event::Failed(ch, e)).await;
                return;
            }
        }
    }
}
