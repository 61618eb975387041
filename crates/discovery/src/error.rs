//! The crate's errors: a failed request names its path, a partial answer lists each
//! group-version that failed with its own reason, a cache problem names its file.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use kubecto_rest_core::GroupVersion;

/// Everything that can go wrong discovering what a server serves.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A discovery request failed as a whole (`/api`, `/apis`, `/version`, or the one
    /// group-version asked for).
    #[error("discovery request GET {path} failed: {source}")]
    Request {
        /// The path requested (`/apis`, `/apis/apps/v1`).
        path: String,
        /// What rest-core reported; `source.is_not_found()` says the path is not served.
        #[source]
        source: Box<kubecto_rest_core::Error>,
    },

    /// Some group-versions could not be discovered (see
    /// [`Discovery::into_complete`](crate::Discovery::into_complete)).
    #[error(transparent)]
    Partial(#[from] FailedGroupVersions),

    /// The REST client for discovery could not be built from the config.
    #[error("cannot build the discovery client: {0}")]
    Client(#[source] Box<kubecto_rest_core::Error>),

    /// The disk cache could not be used (only reported where a caller asked for the cache
    /// explicitly; discovery itself treats an unusable cache as a miss).
    #[error("discovery cache {}: {source}", path.display())]
    Cache {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The RESTMapper found no resource or kind for the input, even after refreshing
    /// discovery once.
    #[error("no matches for {what} in the server's discovery information")]
    NoMatch {
        /// What was looked up (`kind Widget in group example.com`, `resource "wdgt"`).
        what: String,
    },
}

impl Error {
    /// Whether the server answered 404 (the group-version is not served).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Request { source, .. } if source.is_not_found())
    }

    /// Whether this is a RESTMapper miss.
    pub fn is_no_match(&self) -> bool {
        matches!(self, Error::NoMatch { .. })
    }
}

/// The crate's `Result`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why one group-version is missing from a discovery answer.
#[non_exhaustive]
#[derive(Clone, Debug, thiserror::Error)]
pub enum GroupVersionError {
    /// Aggregated discovery listed it as `Stale`: the API service behind it (an aggregated
    /// API server such as metrics-server) is not answering.
    #[error("stale: the aggregated API service behind it is not answering")]
    Stale,
    /// Its legacy `GET /apis/{group}/{version}` failed.
    #[error("GET {path}: {source}")]
    Request {
        /// The path requested.
        path: String,
        /// What rest-core reported (shared, so a cached answer can hand it out again).
        #[source]
        source: Arc<kubecto_rest_core::Error>,
    },
}

/// The group-versions that failed, each with its reason, in the server's order: the
/// typed counterpart of client-go's `ErrGroupDiscoveryFailed`.
#[derive(Clone, Debug, Default)]
pub struct FailedGroupVersions {
    failures: Vec<(GroupVersion, GroupVersionError)>,
}

impl FailedGroupVersions {
    pub(crate) fn push(&mut self, gv: GroupVersion, error: GroupVersionError) {
        self.failures.push((gv, error));
    }

    /// Whether nothing failed.
    pub fn is_empty(&self) -> bool {
        self.failures.is_empty()
    }

    /// How many group-versions failed.
    pub fn len(&self) -> usize {
        self.failures.len()
    }

    /// The reason `gv` failed, if it did.
    pub fn get(&self, gv: &GroupVersion) -> Option<&GroupVersionError> {
        self.failures.iter().find(|(g, _)| g == gv).map(|(_, e)| e)
    }

    /// Whether `gv` failed.
    pub fn contains(&self, gv: &GroupVersion) -> bool {
        self.get(gv).is_some()
    }

    /// Each failed group-version and why.
    pub fn iter(&self) -> impl Iterator<Item = (&GroupVersion, &GroupVersionError)> {
        self.failures.iter().map(|(g, e)| (g, e))
    }
}

impl fmt::Display for FailedGroupVersions {
    /// kubectl's wording: `unable to retrieve the complete list of server APIs: g/v: why, ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unable to retrieve the complete list of server APIs: ")?;
        for (i, (gv, e)) in self.failures.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{gv}: {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for FailedGroupVersions {}
