//! The errors of starting, seeding or configuring a test server.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Errors from starting, seeding or configuring a test server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Binding the listening socket failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A manifest file could not be read.
    #[error("cannot read manifest {path}: {source}")]
    ReadManifest {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A manifest is not valid JSON/YAML, or holds something that is not an object.
    #[error("invalid manifest {origin}: {message}")]
    Manifest {
        /// Where the manifest came from (a path, or "inline").
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// The server refused to create a seeded object.
    #[error("cannot seed {kind} {name:?}: {code} {message}")]
    Seed {
        /// The object's kind.
        kind: String,
        /// The object's name.
        name: String,
        /// The HTTP code the server would have answered.
        code: u16,
        /// The server's message.
        message: String,
    },
    /// The TLS material could not be made or used.
    #[error("test server TLS: {message}")]
    Tls {
        /// What went wrong.
        message: String,
    },
}
