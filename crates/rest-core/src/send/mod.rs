//! Sending: the send loop of [`RestClient`](crate::RestClient) (`client.rs`) and what it
//! consults on each attempt — when to wait and try again (`retry.rs`, client-go's rules),
//! the client-side rate limit (`throttle.rs`), the per-host backoff (`backoff.rs`), and
//! the warning and metrics hooks (`observe.rs`).

pub(crate) mod backoff;
pub(crate) mod client;
pub(crate) mod observe;
pub(crate) mod retry;
pub(crate) mod throttle;
