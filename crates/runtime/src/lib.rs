//! kubecto-runtime: the machinery of controllers, as client-go's `tools/*` and
//! `util/workqueue`.
//!
//! It stands on [`kubecto_clientset`] (typed objects, `k8s-openapi` types and your own
//! `Resource` types) and [`kubecto_dynamic`] (`Unstructured` objects of any resource), and
//! through them on [`kubecto_rest_core`]; no other kubecto crate depends on it.
//!
//! - [`queue`]: the deduplicating, rate-limited work queue of controllers (client-go's
//!   `util/workqueue`), with its rate limiters in [`queue::rate_limiter`].
//! - [`retry`]: read-modify-write that survives conflicts ([`retry::retry_on_conflict`],
//!   client-go's `util/retry`).

pub mod queue;
mod rand;
pub mod retry;

pub use queue::WorkQueue;
pub use retry::{Backoff, retry_on_conflict};
