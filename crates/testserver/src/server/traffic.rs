//! What the HTTP stage keeps for tests to look at and steer: the requests it received,
//! the connections it accepted, and the faults waiting for requests.

use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;

use crate::server::faults::Faults;

/// One request the server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `GET`.
    pub method: String,
    /// The path, e.g. `/api/v1/namespaces/default/pods`.
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    /// The authenticated user (after impersonation), if any; `None` for anonymous
    /// and refused requests.
    pub user: Option<String>,
}

/// Requests seen, connections accepted, faults pending.
#[derive(Default)]
pub(crate) struct Traffic {
    pub faults: Faults,
    pub requests: Mutex<Vec<RecordedRequest>>,
    /// Connections accepted so far.
    pub connections: AtomicUsize,
}
