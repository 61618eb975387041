//! SPDY/3.1 frames as bytes: the 8-byte head every frame starts with, the control frames
//! a server reads (parsed from their payload) and the ones it writes. Pure functions; the
//! session does the I/O. The layouts are those of draft-mbelshe-httpbis-spdy-00 §2.2 and
//! §2.6, as spdystream (the SPDY of client-go, kubectl and the kubelet) reads and writes them.

/// The only version spoken.
pub(crate) const VERSION: u16 = 3;
/// Every frame starts with 8 bytes.
pub(crate) const HEAD_LEN: usize = 8;
/// The largest control frame payload accepted: enough for any header block kubectl or
/// client-go sends, small enough that a client cannot make the server buffer much.
pub(crate) const MAX_CONTROL_PAYLOAD: u32 = 64 * 1024;

pub(crate) const FLAG_FIN: u8 = 0x01;

pub(crate) const SYN_STREAM: u16 = 1;
pub(crate) const SYN_REPLY: u16 = 2;
pub(crate) const RST_STREAM: u16 = 3;
pub(crate) const SETTINGS: u16 = 4;
pub(crate) const PING: u16 = 6;
pub(crate) const GOAWAY: u16 = 7;
pub(crate) const HEADERS: u16 = 8;
pub(crate) const WINDOW_UPDATE: u16 = 9;

/// RST_STREAM status codes used here (§2.6.3).
pub(crate) const PROTOCOL_ERROR: u32 = 1;
pub(crate) const INVALID_STREAM: u32 = 2;
pub(crate) const REFUSED_STREAM: u32 = 3;
pub(crate) const CANCEL: u32 = 5;

/// GOAWAY status codes (§2.6.6).
pub(crate) const GOAWAY_OK: u32 = 0;
pub(crate) const GOAWAY_PROTOCOL_ERROR: u32 = 1;

/// The first 8 bytes of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Head {
    Control {
        version: u16,
        kind: u16,
        flags: u8,
        len: u32,
    },
    Data {
        stream_id: u32,
        flags: u8,
        len: u32,
    },
}

pub(crate) fn parse_head(b: [u8; HEAD_LEN]) -> Head {
    let first = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let flags = b[4];
    let len = u32::from_be_bytes([0, b[5], b[6], b[7]]);
    if first & 0x8000_0000 != 0 {
        Head::Control {
            version: ((first >> 16) & 0x7fff) as u16,
            kind: (first & 0xffff) as u16,
            flags,
            len,
        }
    } else {
        Head::Data {
            stream_id: first & 0x7fff_ffff,
            flags,
            len,
        }
    }
}

/// A control frame a client may send, parsed from its payload. Header blocks stay
/// compressed: the session decompresses them in order.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Control<'a> {
    SynStream {
        stream_id: u32,
        flags: u8,
        block: &'a [u8],
    },
    SynReply {
        stream_id: u32,
        block: &'a [u8],
    },
    RstStream {
        stream_id: u32,
        status: u32,
    },
    Settings,
    Ping {
        id: u32,
    },
    GoAway {
        last_good: u32,
        status: u32,
    },
    Headers {
        stream_id: u32,
        block: &'a [u8],
    },
    WindowUpdate {
        stream_id: u32,
        delta: u32,
    },
    /// A type this version does not define: ignored, as §2.2.1 asks.
    Unknown {
        kind: u16,
    },
}

/// Why a frame is not valid SPDY/3.1.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FrameError {
    #[error("SPDY version {0} is not spoken here (only 3)")]
    Version(u16),
    #[error("a {kind} frame needs {need} bytes of payload, it has {len}")]
    Short {
        kind: &'static str,
        need: usize,
        len: usize,
    },
    #[error("a {kind} frame has {len} bytes of payload, {need} expected")]
    Length {
        kind: &'static str,
        need: usize,
        len: usize,
    },
    #[error("a control frame of {0} bytes is larger than the {MAX_CONTROL_PAYLOAD} accepted")]
    TooLarge(u32),
    #[error("a {0} frame names stream 0")]
    ZeroStream(&'static str),
    #[error("a SETTINGS frame declares {count} entries in {len} bytes")]
    Settings { count: u32, len: usize },
}

fn word(p: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([p[at], p[at + 1], p[at + 2], p[at + 3]])
}

fn at_least(kind: &'static str, p: &[u8], need: usize) -> Result<(), FrameError> {
    if p.len() < need {
        return Err(FrameError::Short {
            kind,
            need,
            len: p.len(),
        });
    }
    Ok(())
}

fn exactly(kind: &'static str, p: &[u8], need: usize) -> Result<(), FrameError> {
    if p.len() != need {
        return Err(FrameError::Length {
            kind,
            need,
            len: p.len(),
        });
    }
    Ok(())
}

fn stream(kind: &'static str, id: u32) -> Result<u32, FrameError> {
    match id & 0x7fff_ffff {
        0 => Err(FrameError::ZeroStream(kind)),
        id => Ok(id),
    }
}

/// Checks a control frame's head before its payload is read.
pub(crate) fn check_control(version: u16, len: u32) -> Result<(), FrameError> {
    if version != VERSION {
        return Err(FrameError::Version(version));
    }
    if len > MAX_CONTROL_PAYLOAD {
        return Err(FrameError::TooLarge(len));
    }
    Ok(())
}

/// Parses the payload of a control frame of type `kind`.
pub(crate) fn parse_control(kind: u16, flags: u8, p: &[u8]) -> Result<Control<'_>, FrameError> {
    Ok(match kind {
        SYN_STREAM => {
            at_least("SYN_STREAM", p, 10)?;
            Control::SynStream {
                stream_id: stream("SYN_STREAM", word(p, 0))?,
                flags,
                block: &p[10..],
            }
        }
        SYN_REPLY => {
            at_least("SYN_REPLY", p, 4)?;
            Control::SynReply {
                stream_id: stream("SYN_REPLY", word(p, 0))?,
                block: &p[4..],
            }
        }
        RST_STREAM => {
            exactly("RST_STREAM", p, 8)?;
            Control::RstStream {
                stream_id: stream("RST_STREAM", word(p, 0))?,
                status: word(p, 4),
            }
        }
        SETTINGS => {
            at_least("SETTINGS", p, 4)?;
            let count = word(p, 0);
            if (p.len() - 4) as u64 != u64::from(count) * 8 {
                return Err(FrameError::Settings {
                    count,
                    len: p.len(),
                });
            }
            Control::Settings
        }
        PING => {
            exactly("PING", p, 4)?;
            Control::Ping { id: word(p, 0) }
        }
        GOAWAY => {
            exactly("GOAWAY", p, 8)?;
            Control::GoAway {
                last_good: word(p, 0) & 0x7fff_ffff,
                status: word(p, 4),
            }
        }
        HEADERS => {
            at_least("HEADERS", p, 4)?;
            Control::Headers {
                stream_id: stream("HEADERS", word(p, 0))?,
                block: &p[4..],
            }
        }
        WINDOW_UPDATE => {
            exactly("WINDOW_UPDATE", p, 8)?;
            Control::WindowUpdate {
                stream_id: word(p, 0) & 0x7fff_ffff,
                delta: word(p, 4) & 0x7fff_ffff,
            }
        }
        kind => Control::Unknown { kind },
    })
}

/// A control frame of type `kind` with this payload.
pub(crate) fn control(kind: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEAD_LEN + payload.len());
    out.extend_from_slice(
        &(0x8000_0000 | (u32::from(VERSION) << 16) | u32::from(kind)).to_be_bytes(),
    );
    out.extend_from_slice(&length_word(flags, payload.len()));
    out.extend_from_slice(payload);
    out
}

/// The head of a DATA frame; the payload follows it.
pub(crate) fn data_head(stream_id: u32, flags: u8, len: usize) -> [u8; HEAD_LEN] {
    let mut out = [0u8; HEAD_LEN];
    out[..4].copy_from_slice(&(stream_id & 0x7fff_ffff).to_be_bytes());
    out[4..].copy_from_slice(&length_word(flags, len));
    out
}

fn length_word(flags: u8, len: usize) -> [u8; 4] {
    debug_assert!(len < 1 << 24, "a SPDY frame holds less than 16 MiB");
    ((u32::from(flags) << 24) | (len as u32 & 0x00ff_ffff)).to_be_bytes()
}

pub(crate) fn syn_reply(stream_id: u32, flags: u8, block: &[u8]) -> Vec<u8> {
    let mut payload = stream_id.to_be_bytes().to_vec();
    payload.extend_from_slice(block);
    control(SYN_REPLY, flags, &payload)
}

pub(crate) fn rst_stream(stream_id: u32, status: u32) -> Vec<u8> {
    let mut payload = stream_id.to_be_bytes().to_vec();
    payload.extend_from_slice(&status.to_be_bytes());
    control(RST_STREAM, 0, &payload)
}

pub(crate) fn ping(id: u32) -> Vec<u8> {
    control(PING, 0, &id.to_be_bytes())
}

pub(crate) fn goaway(last_good: u32, status: u32) -> Vec<u8> {
    let mut payload = last_good.to_be_bytes().to_vec();
    payload.extend_from_slice(&status.to_be_bytes());
    control(GOAWAY, 0, &payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_tell_control_from_data() {
        let f = ping(7);
        assert_eq!(f, [0x80, 3, 0, 6, 0, 0, 0, 4, 0, 0, 0, 7]);
        let head = parse_head(f[..8].try_into().unwrap());
        assert_eq!(
            head,
            Head::Control {
                version: 3,
                kind: PING,
                flags: 0,
                len: 4
            }
        );
        assert_eq!(parse_control(PING, 0, &f[8..]), Ok(Control::Ping { id: 7 }));
        let d = data_head(5, FLAG_FIN, 0x01_0203);
        assert_eq!(d, [0, 0, 0, 5, 1, 1, 2, 3]);
        assert_eq!(
            parse_head(d),
            Head::Data {
                stream_id: 5,
                flags: FLAG_FIN,
                len: 0x01_0203
            }
        );
    }

    #[test]
    fn control_frames_parse_and_bad_ones_say_why() {
        let mut syn = vec![0, 0, 0, 3, 0, 0, 0, 0, 0x60, 0];
        syn.extend_from_slice(b"zlib");
        assert_eq!(
            parse_control(SYN_STREAM, FLAG_FIN, &syn),
            Ok(Control::SynStream {
                stream_id: 3,
                flags: FLAG_FIN,
                block: b"zlib"
            })
        );
        let rst = rst_stream(3, CANCEL);
        assert_eq!(
            parse_control(RST_STREAM, 0, &rst[8..]),
            Ok(Control::RstStream {
                stream_id: 3,
                status: CANCEL
            })
        );
        let away = goaway(9, GOAWAY_OK);
        assert_eq!(
            parse_control(GOAWAY, 0, &away[8..]),
            Ok(Control::GoAway {
                last_good: 9,
                status: 0
            })
        );
        assert_eq!(
            parse_control(SETTINGS, 0, &[0, 0, 0, 1, 0, 0, 0, 7, 0, 1, 0, 0]),
            Ok(Control::Settings)
        );
        assert_eq!(
            parse_control(SETTINGS, 0, &[0, 0, 0, 2, 0, 0, 0, 7, 0, 1, 0, 0]),
            Err(FrameError::Settings { count: 2, len: 12 })
        );
        assert_eq!(
            parse_control(SYN_STREAM, 0, &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(FrameError::ZeroStream("SYN_STREAM"))
        );
        assert_eq!(
            parse_control(PING, 0, &[0, 0, 1]),
            Err(FrameError::Length {
                kind: "PING",
                need: 4,
                len: 3
            })
        );
        assert_eq!(
            parse_control(0x20, 0, b""),
            Ok(Control::Unknown { kind: 0x20 })
        );
        assert_eq!(check_control(2, 4), Err(FrameError::Version(2)));
        assert_eq!(
            check_control(3, 1 << 20),
            Err(FrameError::TooLarge(1 << 20))
        );
    }
}
