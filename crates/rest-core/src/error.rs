//! The crate's one error type.

use std::fmt;
use std::time::Duration;

use crate::config::CredentialError;
use crate::status::Status;

/// A boxed error from a lower layer (hyper, rustls, std::io), kept as a `source`.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong making a request.
///
/// Each message says what failed and where (the URL, the file); [`source`] leads to the
/// causes it does not already spell out. A transport or TLS failure quotes its innermost
/// cause (`Connection refused (os error 111)`) and its `source` is that cause itself, so
/// the wrapper layers in between (hyper's "client error (Connect)", the connector's "tcp
/// connect error") are neither printed nor repeated when a chain is printed.
///
/// [`source`]: std::error::Error::source
#[non_exhaustive]
#[derive(Debug)]
pub enum Error {
    /// The server answered with a non-2xx status; its `metav1.Status` (or one synthesised
    /// from the code and body, with the reason client-go would give). On a `401` the
    /// message also says whose credentials were refused (see
    /// [`Config::credential_origin`](crate::Config::credential_origin)).
    Api(Box<Status>),

    /// The request could not be sent or its answer not received.
    Transport {
        /// The URL requested.
        url: String,
        /// What kind of failure this was.
        kind: TransportKind,
        /// The underlying error, as the lower layers returned it. `source()` returns its
        /// innermost cause.
        source: BoxError,
    },

    /// TLS could not be set up (bad CA, certificate or key) or the handshake failed.
    Tls {
        /// What failed.
        what: String,
        /// The underlying error, if any. `source()` returns its innermost cause.
        source: Option<BoxError>,
    },

    /// The request's timeout elapsed.
    Timeout {
        /// The URL requested.
        url: String,
        /// The timeout.
        after: Duration,
    },

    /// The answer's body is not what was expected.
    Decode {
        /// The URL requested.
        url: String,
        /// The start of the offending body (or item).
        body_excerpt: String,
        /// The byte offset of the failure in the body, when known.
        offset: Option<u64>,
        /// The decoder's error.
        source: BoxError,
    },

    /// The request was built wrongly (an invalid path segment, header or query).
    InvalidRequest {
        /// What is wrong.
        what: String,
    },

    /// The [`Config`](crate::Config) cannot be used (bad host URL, unreadable file).
    Config {
        /// What is wrong.
        what: String,
        /// The underlying error, if any.
        source: Option<BoxError>,
    },

    /// The credential provider failed.
    Credentials(CredentialError),

    /// An upgraded connection (exec, attach, port-forward) could not be set up or broke:
    /// the server did not switch protocols, chose none of those offered, or broke the
    /// protocol or the connection mid-stream.
    Stream {
        /// The URL requested.
        url: String,
        /// What went wrong.
        what: String,
        /// The underlying error, if any.
        source: Option<BoxError>,
    },

    /// The request was retried and still failed; `last` is the final attempt's error and
    /// `history` what the earlier attempts saw.
    Retried {
        /// How many attempts were made.
        attempts: u32,
        /// One line per earlier attempt.
        history: Vec<String>,
        /// The final attempt's error.
        last: Box<Error>,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Api(status) => DisplayStatus(status).fmt(f),
            Error::Transport { url, kind, source } => {
                write!(f, "{kind} talking to {url}: {}", innermost(source.as_ref()))
            }
            Error::Tls { what, .. } => write!(f, "TLS: {what}"),
            Error::Timeout { url, after } => {
                write!(f, "request to {url} timed out after {after:?}")
            }
            Error::Decode {
                url,
                body_excerpt,
                offset,
                source,
            } => {
                write!(f, "cannot decode the answer from {url}")?;
                if let Some(o) = offset {
                    write!(f, " at byte {o}")?;
                }
                write!(f, ": {source} (body: {body_excerpt:?})")
            }
            Error::InvalidRequest { what } => write!(f, "invalid request: {what}"),
            Error::Config { what, .. } => write!(f, "invalid config: {what}"),
            Error::Credentials(e) => write!(f, "credentials: {e}"),
            Error::Stream { url, what, source } => {
                write!(f, "stream from {url}: {what}")?;
                match source {
                    Some(s) => write!(f, ": {}", innermost(s.as_ref())),
                    None => Ok(()),
                }
            }
            Error::Retried {
                attempts,
                history,
                last,
            } => write!(
                f,
                "{last} (after {attempts} attempts; earlier: {})",
                history.join("; ")
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Transport { source, .. } => Some(innermost_error(source.as_ref())),
            Error::Tls { source, .. } => source.as_deref().map(|e| innermost_error(e)),
            Error::Decode { source, .. } => Some(source.as_ref()),
            Error::Config { source, .. } => source.as_deref().map(|e| e as _),
            Error::Stream { source, .. } => source.as_deref().map(|e| innermost_error(e)),
            Error::Credentials(e) => Some(e),
            Error::Retried { last, .. } => Some(last.as_ref()),
            Error::Api(_) | Error::Timeout { .. } | Error::InvalidRequest { .. } => None,
        }
    }
}

impl From<CredentialError> for Error {
    fn from(e: CredentialError) -> Self {
        Error::Credentials(e)
    }
}

struct DisplayStatus<'a>(&'a Status);

impl fmt::Display for DisplayStatus<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let reason = if s.reason.is_empty() {
            "Unknown"
        } else {
            &s.reason
        };
        write!(f, "{} ({reason}, {})", s.message, s.code)
    }
}

/// Every error in `err`'s chain, including those wrapped inside `std::io::Error`s (whose
/// `source()` skips the wrapped error itself).
pub(crate) fn chain<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> Vec<&'a (dyn std::error::Error + 'static)> {
    let mut out = Vec::new();
    let mut stack = vec![err];
    while let Some(e) = stack.pop() {
        if out.len() > 32 {
            break;
        }
        out.push(e);
        if let Some(next) = e.source() {
            stack.push(next);
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            stack.push(inner);
        }
    }
    out
}

/// The innermost error of `err`'s chain ("Connection refused (os error 111)" rather
/// than "client error (Connect)"): the one cause worth printing.
fn innermost_error<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> &'a (dyn std::error::Error + 'static) {
    chain(err).last().copied().unwrap_or(err)
}

/// The message of [`innermost_error`].
fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    innermost_error(err).to_string()
}

/// The kind of a transport failure, which decides whether it may be retried.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    /// Nobody listens there; never retried.
    ConnectionRefused,
    /// The connection was reset or closed before the answer was complete (reset by peer,
    /// premature EOF, incomplete message): a GET is retried.
    ConnectionReset,
    /// Connecting failed otherwise (DNS, unreachable network).
    Connect,
    /// The server said it did not process the request: an HTTP/2 stream refused with
    /// `REFUSED_STREAM`, or above the last stream a graceful `GOAWAY` let through (RFC
    /// 9113 §8.7). Any verb is retried, at once, on another stream or connection.
    Unprocessed,
    /// Anything else.
    Other,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::ConnectionRefused => "connection refused",
            TransportKind::ConnectionReset => "connection reset or closed early",
            TransportKind::Connect => "cannot connect",
            TransportKind::Unprocessed => "the server did not process the request",
            TransportKind::Other => "transport error",
        })
    }
}

impl Error {
    /// The final error, looking through [`Error::Retried`].
    pub fn last(&self) -> &Error {
        match self {
            Error::Retried { last, .. } => last.last(),
            other => other,
        }
    }

    /// The server's Status, if the server answered with an error.
    pub fn status(&self) -> Option<&Status> {
        match self.last() {
            Error::Api(s) => Some(s),
            _ => None,
        }
    }

    /// The HTTP code of the server's error answer.
    pub fn code(&self) -> Option<u16> {
        self.status().map(|s| s.code)
    }

    fn reason_is(&self, reason: &str) -> bool {
        self.status().is_some_and(|s| s.reason == reason)
    }

    /// `404 NotFound`.
    pub fn is_not_found(&self) -> bool {
        self.reason_is("NotFound") || (self.code() == Some(404) && self.reason_is(""))
    }

    /// `409 Conflict` (an update lost a race on `resourceVersion`).
    pub fn is_conflict(&self) -> bool {
        self.reason_is("Conflict") || (self.code() == Some(409) && !self.is_already_exists())
    }

    /// `409 AlreadyExists` (a create of an existing name).
    pub fn is_already_exists(&self) -> bool {
        self.reason_is("AlreadyExists")
    }

    /// `410 Gone`.
    pub fn is_gone(&self) -> bool {
        self.reason_is("Gone") || self.code() == Some(410)
    }

    /// `410 Expired`: a `resourceVersion` or `continue` token is too old.
    pub fn is_expired(&self) -> bool {
        self.reason_is("Expired")
    }

    /// `429 TooManyRequests`.
    pub fn is_too_many_requests(&self) -> bool {
        self.reason_is("TooManyRequests") || self.code() == Some(429)
    }

    /// `422 Invalid`.
    pub fn is_invalid(&self) -> bool {
        self.reason_is("Invalid") || self.code() == Some(422)
    }

    /// `401 Unauthorized`.
    pub fn is_unauthorized(&self) -> bool {
        self.reason_is("Unauthorized") || self.code() == Some(401)
    }

    /// `403 Forbidden`.
    pub fn is_forbidden(&self) -> bool {
        self.reason_is("Forbidden") || self.code() == Some(403)
    }

    /// A timeout: the client's own, or the server's `504`/`Timeout`.
    pub fn is_timeout(&self) -> bool {
        matches!(self.last(), Error::Timeout { .. })
            || self.reason_is("Timeout")
            || self.code() == Some(504)
    }

    pub(crate) fn invalid(what: impl Into<String>) -> Self {
        Error::InvalidRequest { what: what.into() }
    }
}

/// The crate's `Result`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_look_through_retries() {
        let e = Error::Retried {
            attempts: 3,
            history: vec!["429".into(), "429".into()],
            last: Box::new(Error::Api(Box::new(Status::failure(
                429,
                "TooManyRequests",
                "slow down",
            )))),
        };
        assert!(e.is_too_many_requests());
        assert!(!e.is_not_found());
        let text = e.to_string();
        assert!(text.contains("after 3 attempts"), "{text}");
        assert!(text.contains("slow down"), "{text}");
    }
}
