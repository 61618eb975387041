//! SPDY/3.1, the multiplexing protocol kubectl's port-forward (and exec and attach before
//! WebSockets) speaks after `Upgrade: SPDY/3.1`, or inside a WebSocket. There is no
//! well-kept SPDY crate in Rust, so this is a small server side of it: [`frame`] (bytes),
//! [`headers`] (the zlib-compressed name/value blocks) and [`session`] (the tasks), and
//! [`upgrade`] (the HTTP upgrade that starts a session).

pub(crate) mod frame;
pub(crate) mod headers;
pub(crate) mod session;
pub(crate) mod upgrade;

pub(crate) use session::{Stream, serve};
