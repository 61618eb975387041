//! The crate's one error type: a failed request names the verb and the resource it was for.

use kubecto_rest_core::Status;

/// Everything that can go wrong in a dynamic call.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request failed: the server answered an error, or it could not be sent or read.
    #[error("{verb} {target}: {source}")]
    Request {
        /// The verb (`get`, `list`, `create`, ...).
        verb: &'static str,
        /// What it was for: `configmaps.v1. "settings" in namespace "default"`.
        target: String,
        /// What rest-core reported (boxed: it is large and errors are rare).
        #[source]
        source: Box<kubecto_rest_core::Error>,
    },

    /// The object given cannot be sent (no name for an update, not a JSON object).
    #[error("invalid object: {what}")]
    InvalidObject {
        /// What is wrong.
        what: String,
    },

    /// The group, version or resource cannot be part of a URL (empty, `..`, a `/`).
    #[error("invalid resource {gvr}: {what}")]
    InvalidResource {
        /// The resource as given.
        gvr: String,
        /// What is wrong.
        what: String,
    },

    /// An object does not convert to or from a typed value.
    #[error("cannot convert between an unstructured object and {type_name}: {source}")]
    Convert {
        /// The typed value's type.
        type_name: &'static str,
        /// serde's error (it names the field).
        #[source]
        source: serde_json::Error,
    },

    /// The REST client could not be built from the config.
    #[error("cannot build the dynamic client: {0}")]
    Client(#[source] Box<kubecto_rest_core::Error>),
}

impl Error {
    /// The rest-core error of a failed request.
    pub fn request_error(&self) -> Option<&kubecto_rest_core::Error> {
        match self {
            Error::Request { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }

    /// The server's Status, if it answered with an error.
    pub fn status(&self) -> Option<&Status> {
        self.request_error()?.status()
    }

    /// The HTTP code of the server's error answer.
    pub fn code(&self) -> Option<u16> {
        self.request_error()?.code()
    }

    /// `404 NotFound`: no such object, or the server does not serve the resource.
    pub fn is_not_found(&self) -> bool {
        self.request_error()
            .is_some_and(kubecto_rest_core::Error::is_not_found)
    }

    /// `409 Conflict` (an update lost a race on `resourceVersion`, or a failed precondition).
    pub fn is_conflict(&self) -> bool {
        self.request_error()
            .is_some_and(kubecto_rest_core::Error::is_conflict)
    }

    /// `409 AlreadyExists`.
    pub fn is_already_exists(&self) -> bool {
        self.request_error()
            .is_some_and(kubecto_rest_core::Error::is_already_exists)
    }

    /// `422 Invalid`.
    pub fn is_invalid(&self) -> bool {
        self.request_error()
            .is_some_and(kubecto_rest_core::Error::is_invalid)
    }

    /// `410 Gone` or `Expired`.
    pub fn is_gone(&self) -> bool {
        self.request_error()
            .is_some_and(kubecto_rest_core::Error::is_gone)
    }
}

/// The crate's `Result`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
