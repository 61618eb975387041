//! A SPDY/3.1 server session over any byte stream: one task reads frames and hands each
//! stream the client opens to the caller, one task writes the frames the streams send.
//!
//! It speaks what spdystream (client-go's SPDY) speaks: streams opened by the client
//! (odd ids, increasing), SYN_REPLY with an empty header block, DATA with FIN for a
//! half-close, RST_STREAM, PING echoed, GOAWAY. Like spdystream it does no flow control:
//! WINDOW_UPDATE and SETTINGS are read and ignored, and spdystream never sends
//! WINDOW_UPDATE, so holding DATA back for a window would stall every client after 64 KiB.
//! Memory is bounded instead: control frames by [`MAX_CONTROL_PAYLOAD`] and their header
//! blocks by [`MAX_DECOMPRESSED`](super::headers::MAX_DECOMPRESSED), DATA is passed on in
//! pieces of at most [`CHUNK`] bytes through bounded queues (a stream that is not read
//! holds the session back, as TCP would), and at most [`MAX_STREAMS`] streams are open.

use std::collections::HashMap;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::frame::{self, Control, FrameError, Head, MAX_CONTROL_PAYLOAD};
use super::headers::{self, Compressor, Decompressor, HeaderError, Headers};

/// DATA is passed on, and written, in pieces of at most this many bytes.
pub(crate) const CHUNK: usize = 32 * 1024;
/// Pieces of DATA queued for a stream before the session waits for its reader.
const INBOUND_CHUNKS: usize = 8;
/// Frames queued for writing before a stream's writer waits.
const OUTBOUND_FRAMES: usize = 32;
/// Streams open at once; more are refused with RST_STREAM REFUSED_STREAM.
pub(crate) const MAX_STREAMS: usize = 1024;

/// Why a session ended other than by the client closing it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SessionError {
    #[error("reading the SPDY session: {0}")]
    Io(#[from] std::io::Error),
    #[error("a SPDY frame is malformed: {0}")]
    Frame(#[from] FrameError),
    #[error("the header block of stream {stream_id}: {source}")]
    Header {
        stream_id: u32,
        #[source]
        source: HeaderError,
    },
}

/// The session has ended: nothing more can be sent.
#[derive(Debug, thiserror::Error)]
#[error("the SPDY session has ended")]
pub(crate) struct Gone;

/// A stream the client opened: its headers, what it sends, and a way to answer.
pub(crate) struct Stream {
    pub(crate) headers: Headers,
    pub(crate) reader: StreamReader,
    pub(crate) writer: StreamWriter,
}

impl Stream {
    /// The stream's id.
    pub(crate) fn id(&self) -> u32 {
        self.writer.id
    }

    /// The first value of header `name` (any case), as Go's `Header.Get`.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The client's side of a stream: its DATA, until FIN, RST_STREAM or the session's end.
pub(crate) struct StreamReader(mpsc::Receiver<Bytes>);

impl StreamReader {
    /// The next piece of DATA; `None` once the client has finished.
    pub(crate) async fn recv(&mut self) -> Option<Bytes> {
        self.0.recv().await
    }
}

/// The server's side of a stream.
pub(crate) struct StreamWriter {
    id: u32,
    out: mpsc::Sender<Out>,
}

impl StreamWriter {
    async fn send(&self, out: Out) -> Result<(), Gone> {
        self.out.send(out).await.map_err(|_| Gone)
    }

    /// Accept the stream: SYN_REPLY with no headers, as apimachinery's server answers.
    pub(crate) async fn reply(&self) -> Result<(), Gone> {
        self.send(Out::Reply(self.id)).await
    }

    /// Send `data` as DATA frames of at most [`CHUNK`] bytes.
    pub(crate) async fn write(&self, mut data: Bytes) -> Result<(), Gone> {
        while !data.is_empty() {
            let piece = data.split_to(data.len().min(CHUNK));
            self.send(Out::Data(self.id, piece, false)).await?;
        }
        Ok(())
    }

    /// Half-close: an empty DATA frame with FIN.
    pub(crate) async fn finish(&self) -> Result<(), Gone> {
        self.send(Out::Data(self.id, Bytes::new(), true)).await
    }

    /// Refuse or abort the stream with RST_STREAM and `status`.
    pub(crate) async fn reset(&self, status: u32) -> Result<(), Gone> {
        self.send(Out::Rst(self.id, status)).await
    }
}

/// A frame for the writing task.
enum Out {
    Reply(u32),
    Data(u32, Bytes, bool),
    Rst(u32, u32),
    Ping(u32),
    GoAway(u32, u32),
}

/// Serve a SPDY/3.1 session on `io`: the streams the client opens come out of the
/// receiver, which ends with the session. When `end` resolves the server says GOAWAY and
/// closes the connection, as a stopping kubelet does.
pub(crate) fn serve<IO, End>(io: IO, end: End) -> mpsc::Receiver<Stream>
where
    IO: AsyncRead + AsyncWrite + Send + 'static,
    End: Future<Output = ()> + Send + 'static,
{
    let (read, write) = tokio::io::split(io);
    let (out, outgoing) = mpsc::channel(OUTBOUND_FRAMES);
    let (streams, accepted) = mpsc::channel(16);
    tokio::spawn(write_frames(write, outgoing));
    tokio::spawn(async move {
        let mut reader = Reader {
            decompressor: Decompressor::new(),
            open: HashMap::new(),
            last_id: 0,
            out: out.clone(),
            streams,
        };
        let mut read = read;
        let status = tokio::select! {
            result = reader.run(&mut read) => match result {
                Ok(()) => None,
                Err(SessionError::Io(e)) => {
                    tracing::debug!(error = %e, "SPDY session ended");
                    None
                }
                Err(e) => {
                    tracing::debug!(error = %e, "SPDY session refused");
                    Some(frame::GOAWAY_PROTOCOL_ERROR)
                }
            },
            () = end => Some(frame::GOAWAY_OK),
        };
        if let Some(status) = status {
            let _ = out.send(Out::GoAway(reader.last_id, status)).await;
        }
    });
    accepted
}

/// The reading half of a session and what it knows of the open streams.
struct Reader {
    decompressor: Decompressor,
    /// Streams the client may still send DATA on; `None` once their reader is gone
    /// (their DATA is then dropped).
    open: HashMap<u32, Option<mpsc::Sender<Bytes>>>,
    last_id: u32,
    out: mpsc::Sender<Out>,
    streams: mpsc::Sender<Stream>,
}

impl Reader {
    /// Read frames until the client closes the connection or sends GOAWAY.
    async fn run<R: AsyncRead + Unpin>(&mut self, r: &mut R) -> Result<(), SessionError> {
        loop {
            let mut head = [0u8; frame::HEAD_LEN];
            match r.read_exact(&mut head).await {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) => return Err(e.into()),
            }
            match frame::parse_head(head) {
                Head::Control {
                    version,
                    kind,
                    flags,
                    len,
                } => {
                    frame::check_control(version, len)?;
                    debug_assert!(len <= MAX_CONTROL_PAYLOAD);
                    let mut payload = vec![0u8; len as usize];
                    r.read_exact(&mut payload).await?;
                    if !self
                        .control(frame::parse_control(kind, flags, &payload)?)
                        .await?
                    {
                        return Ok(());
                    }
                }
                Head::Data {
                    stream_id,
                    flags,
                    len,
                } => self.data(r, stream_id, flags, len as usize).await?,
            }
        }
    }

    /// Act on a control frame; `false` when the session is to end (GOAWAY).
    async fn control(&mut self, frame: Control<'_>) -> Result<bool, SessionError> {
        match frame {
            Control::SynStream {
                stream_id,
                flags,
                block,
            } => self.open_stream(stream_id, flags, block).await?,
            // The header blocks of frames that are otherwise ignored are still read:
            // the zlib stream runs through every block.
            Control::SynReply { stream_id, block } | Control::Headers { stream_id, block } => {
                self.headers(stream_id, block)?;
            }
            Control::RstStream { stream_id, .. } => {
                self.open.remove(&stream_id);
            }
            // Only the client's own pings (odd ids) are echoed; the server sends none.
            Control::Ping { id } if !id.is_multiple_of(2) => {
                let _ = self.out.send(Out::Ping(id)).await;
            }
            Control::GoAway { .. } => return Ok(false),
            Control::Ping { .. }
            | Control::Settings
            | Control::WindowUpdate { .. }
            | Control::Unknown { .. } => {}
        }
        Ok(true)
    }

    fn headers(&mut self, stream_id: u32, block: &[u8]) -> Result<Vec<u8>, SessionError> {
        self.decompressor
            .decompress(block)
            .map_err(|source| SessionError::Header { stream_id, source })
    }

    async fn open_stream(&mut self, id: u32, flags: u8, block: &[u8]) -> Result<(), SessionError> {
        let block = self.headers(id, block)?;
        let refuse = |status| Out::Rst(id, status);
        let headers = match headers::decode_block(&block) {
            Ok(h) => h,
            Err(e) => {
                tracing::debug!(stream = id, error = %e, "SPDY stream refused");
                let _ = self.out.send(refuse(frame::PROTOCOL_ERROR)).await;
                return Ok(());
            }
        };
        if id.is_multiple_of(2) || id <= self.last_id {
            tracing::debug!(
                stream = id,
                last = self.last_id,
                "SPDY stream id out of order"
            );
            let _ = self.out.send(refuse(frame::PROTOCOL_ERROR)).await;
            return Ok(());
        }
        self.last_id = id;
        if self.open.len() >= MAX_STREAMS {
            let _ = self.out.send(refuse(frame::REFUSED_STREAM)).await;
            return Ok(());
        }
        let (tx, rx) = mpsc::channel(INBOUND_CHUNKS);
        if flags & frame::FLAG_FIN == 0 {
            self.open.insert(id, Some(tx));
        }
        let stream = Stream {
            headers,
            reader: StreamReader(rx),
            writer: StreamWriter {
                id,
                out: self.out.clone(),
            },
        };
        if self.streams.send(stream).await.is_err() {
            self.open.remove(&id);
            let _ = self.out.send(refuse(frame::REFUSED_STREAM)).await;
        }
        Ok(())
    }

    /// Pass a DATA frame's payload on in pieces, or drop it when nobody reads the stream.
    async fn data<R: AsyncRead + Unpin>(
        &mut self,
        r: &mut R,
        id: u32,
        flags: u8,
        len: usize,
    ) -> Result<(), SessionError> {
        if !self.open.contains_key(&id) && id > self.last_id {
            let _ = self.out.send(Out::Rst(id, frame::INVALID_STREAM)).await;
        }
        let mut left = len;
        while left > 0 {
            let mut piece = BytesMut::zeroed(left.min(CHUNK));
            r.read_exact(&mut piece).await?;
            left -= piece.len();
            if let Some(slot) = self.open.get_mut(&id)
                && let Some(tx) = slot
                && tx.send(piece.freeze()).await.is_err()
            {
                *slot = None;
            }
        }
        if flags & frame::FLAG_FIN != 0 {
            self.open.remove(&id);
        }
        Ok(())
    }
}

/// Write the frames the streams send until every sender is gone, a GOAWAY is sent or the
/// client stops reading; then close the connection's writing side.
async fn write_frames<W: AsyncWrite + Unpin>(mut w: W, mut outgoing: mpsc::Receiver<Out>) {
    let mut compressor = Compressor::new();
    let empty = headers::encode_block(&[]);
    while let Some(out) = outgoing.recv().await {
        let (bytes, last) = match out {
            Out::Reply(id) => match compressor.compress(&empty) {
                Ok(block) => (frame::syn_reply(id, 0, &block), false),
                Err(e) => {
                    tracing::debug!(error = %e, "SPDY header compression failed");
                    break;
                }
            },
            Out::Data(id, data, fin) => {
                let flags = if fin { frame::FLAG_FIN } else { 0 };
                let mut bytes = Vec::with_capacity(frame::HEAD_LEN + data.len());
                bytes.extend_from_slice(&frame::data_head(id, flags, data.len()));
                bytes.extend_from_slice(&data);
                (bytes, false)
            }
            Out::Rst(id, status) => (frame::rst_stream(id, status), false),
            Out::Ping(id) => (frame::ping(id), false),
            Out::GoAway(last, status) => (frame::goaway(last, status), true),
        };
        if w.write_all(&bytes).await.is_err() {
            break;
        }
        if (last || outgoing.is_empty()) && w.flush().await.is_err() {
            break;
        }
        if last {
            break;
        }
    }
    let _ = w.shutdown().await;
}
