//! kubecto-runtime: the machinery of controllers, as client-go's `tools/*` and
//! `util/workqueue`.
//!
//! It stands on [`kubecto_clientset`] (typed objects, `k8s-openapi` types and your own
//! `Resource` types) and [`kubecto_dynamic`] (`Unstructured` objects of any resource), and
//! through them on [`kubecto_rest_core`]; no other kubecto crate depends on it.
//!
//! - [`store`]: the thread-safe, indexed cache informers fill (client-go's
//!   `ThreadSafeStore`/`Indexer`), objects behind `Arc`, with cheap snapshots and a
//!   transform applied before storing. [`Object`] is what it reads from an object, for
//!   `k8s-openapi` types, your own types and `Unstructured` alike.
//! - [`watcher`]: the reflector, which keeps a store equal to the server (streaming list
//!   or LIST, then WATCH resumed from the last resourceVersion, relisting only on 410).
//! - [`informer`]: shared informers and their factory: one watch per resource and
//!   selector, handlers told of adds, updates and deletes (tombstones included), resyncs.
//! - [`controller`]: informers on a primary resource and on what it owns feed a work queue
//!   of keys; N workers reconcile them, retrying with backoff, until shutdown.
//! - [`leader`]: leader election on `coordination.k8s.io/v1` Leases with client-go's
//!   timing rules, callbacks on start and stop of leading, release on shutdown.
//! - [`queue`]: the deduplicating, rate-limited work queue of controllers (client-go's
//!   `util/workqueue`), with its rate limiters in [`queue::rate_limiter`].
//! - [`events`]: an event recorder for `events.k8s.io/v1` (client-go's `tools/events`),
//!   asynchronous, with series, spam filtering and aggregation.
//! - [`retry`]: read-modify-write that survives conflicts ([`retry::retry_on_conflict`],
//!   client-go's `util/retry`).

pub mod controller;
mod error;
pub mod events;
pub mod informer;
pub mod leader;
pub mod object;
pub mod queue;
mod rand;
pub mod retry;
mod shutdown;
pub mod store;
pub mod watcher;

pub use controller::{Action, Controller};
pub use error::Error;
pub use events::{EventRecorder, EventType};
pub use informer::{InformerFactory, SharedInformer};
pub use object::{Object, OwnerRef, key_of, object_key, split_key};
pub use queue::WorkQueue;
pub use retry::{Backoff, retry_on_conflict};
pub use shutdown::Shutdown;
pub use store::{Snapshot, Store};
