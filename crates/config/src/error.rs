//! The one error type of kubecto-config.
//!
//! Every message names what a person needs to fix it: the kubeconfig FILE, the
//! ENTRY (`context "prod"`, `cluster "c1"`, `user "admin"`) and the FIELD
//! (`client-key`, `certificate-authority-data`, ...). No message contains a secret.

use std::fmt;
use std::path::{Path, PathBuf};

/// Which list of the kubeconfig an entry lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryKind {
    /// An entry of `clusters`.
    Cluster,
    /// An entry of `users`.
    User,
    /// An entry of `contexts`.
    Context,
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EntryKind::Cluster => "cluster",
            EntryKind::User => "user",
            EntryKind::Context => "context",
        })
    }
}

/// Where in a kubeconfig a problem is: file, entry and field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The kubeconfig file (None when the kubeconfig was parsed from a string).
    pub file: Option<PathBuf>,
    /// The kind of entry.
    pub kind: EntryKind,
    /// The entry's name.
    pub entry: String,
    /// The field, spelled as in the file (`client-key-data`, `tokenFile`).
    pub field: &'static str,
}

impl Location {
    pub(crate) fn new(
        file: Option<&Path>,
        kind: EntryKind,
        entry: &str,
        field: &'static str,
    ) -> Self {
        Location {
            file: file.map(Path::to_path_buf),
            kind,
            entry: entry.to_owned(),
            field,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "kubeconfig {}: {} {:?}, field {}",
            FileName(self.file.as_deref()),
            self.kind,
            self.entry,
            self.field
        )
    }
}

/// Displays an optional file name (`<string>` when there is none).
struct FileName<'a>(Option<&'a Path>);

impl fmt::Display for FileName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(p) => write!(f, "{}", p.display()),
            None => f.write_str("<string>"),
        }
    }
}

/// Displays a list of files: `a, b, c`, or `<none>`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Files(pub Box<[PathBuf]>);

impl fmt::Display for Files {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("<none>");
        }
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}", p.display())?;
        }
        Ok(())
    }
}

/// Everything that can go wrong turning kubeconfig files into a rest-core `Config`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A kubeconfig file could not be read.
    #[error("cannot read kubeconfig {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },

    /// A kubeconfig file is not YAML, or does not have the shape of a kubeconfig.
    #[error("kubeconfig {} is not a valid kubeconfig{}: {message}", FileName(path.as_deref()), LineCol(*line, *column))]
    Parse {
        /// The file (None when parsed from a string).
        path: Option<PathBuf>,
        /// 1-based line of the problem, when known.
        line: Option<usize>,
        /// 1-based column of the problem, when known.
        column: Option<usize>,
        /// The parser's message, with the path of the field (e.g. `clusters[0].cluster.server`).
        /// The value of a secret field is never quoted in it; for that reason the parser's
        /// own error is not kept as a source.
        message: String,
    },

    /// No kubeconfig file was found by the loading rules.
    #[error("no kubeconfig found (looked at: {tried}); pass a path or set KUBECONFIG")]
    NotFound {
        /// Every place looked at, in order.
        tried: Files,
    },

    /// The kubeconfig files hold nothing: no contexts, clusters, users or
    /// `current-context` (an empty file, or one with only comments).
    #[error("{}", IsEmpty(files))]
    Empty {
        /// The files the kubeconfig came from.
        files: Files,
    },

    /// No context was asked for and the kubeconfig has no `current-context`.
    #[error("kubeconfig {files} has no current-context and no context was named")]
    NoCurrentContext {
        /// The files the kubeconfig came from.
        files: Files,
    },

    /// The named context is not in `contexts`.
    #[error("context {name:?} not found in kubeconfig {files}{}", From(origin.as_deref()))]
    MissingContext {
        /// The context that was asked for.
        name: String,
        /// The file whose `current-context` named it, if that is where the name came from.
        origin: Option<PathBuf>,
        /// The files searched.
        files: Files,
    },

    /// A context names a cluster that is not in `clusters` (or names none).
    #[error("{at}: cluster {name:?} not found in kubeconfig {files}")]
    MissingCluster {
        /// The context and its `cluster` field.
        at: Location,
        /// The missing cluster's name.
        name: String,
        /// The files searched.
        files: Files,
    },

    /// A context names a user that is not in `users`.
    #[error("{at}: user {name:?} not found in kubeconfig {files}")]
    MissingUser {
        /// The context and its `user` field.
        at: Location,
        /// The missing user's name.
        name: String,
        /// The files searched.
        files: Files,
    },

    /// A field that must be set is empty (e.g. a cluster without `server`).
    #[error("{at}: must be set")]
    MissingField {
        /// Where.
        at: Location,
    },

    /// A file named by the kubeconfig (CA, certificate, key, token file) cannot be read.
    #[error("{at}: cannot read {}: {source}", path.display())]
    ReferencedFile {
        /// The entry and field naming the file.
        at: Location,
        /// The file, after resolution against the kubeconfig's directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },

    /// A `*-data` field is not valid base64.
    #[error("{at}: invalid base64: {source}")]
    InvalidBase64 {
        /// The entry and field.
        at: Location,
        /// The decoder's error (positions only, never content).
        #[source]
        source: base64::DecodeError,
    },

    /// A field has a value kubecto cannot use (a malformed URL, a token file with no token).
    #[error("{at}: {reason}")]
    InvalidValue {
        /// The entry and field.
        at: Location,
        /// What is wrong with it (never the value itself when it is a secret).
        reason: String,
    },

    /// Credentials could not be obtained (an exec plugin failed, a token file is
    /// unreadable); the message names the kubeconfig entry.
    #[error("{source}")]
    Credential {
        /// The provider's error.
        #[source]
        source: kubecto_rest_core::CredentialError,
    },

    /// Not running in a Kubernetes pod: `KUBERNETES_SERVICE_HOST` or
    /// `KUBERNETES_SERVICE_PORT` is unset.
    #[error("not running in a cluster: {missing} is not set")]
    NotInCluster {
        /// The unset variable.
        missing: &'static str,
    },

    /// A file of the in-cluster configuration (service-account token, CA) cannot be read.
    #[error("in-cluster config: cannot read {}: {source}", path.display())]
    InClusterFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },

    /// Neither a kubeconfig nor an in-cluster configuration was found.
    #[error("no configuration found: {kubeconfig}; and {in_cluster}")]
    NoConfig {
        /// Why no kubeconfig was used.
        kubeconfig: Box<Error>,
        /// Why the in-cluster configuration was not used.
        in_cluster: Box<Error>,
    },

    /// A field asks for something this version of kubecto does not do yet.
    #[error("{at}: {what} is not supported yet")]
    Unsupported {
        /// The entry and field.
        at: Location,
        /// What is not supported.
        what: String,
    },
}

/// `kubeconfig FILE is empty`, or `kubeconfig files A, B are empty`.
struct IsEmpty<'a>(&'a Files);

impl fmt::Display for IsEmpty<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.0.len() {
            0 => f.write_str("the kubeconfig is empty"),
            1 => write!(f, "kubeconfig {} is empty", self.0),
            _ => write!(f, "kubeconfig files {} are empty", self.0),
        }
    }
}

/// `" at line L column C"` or nothing.
struct LineCol(Option<usize>, Option<usize>);

impl fmt::Display for LineCol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0, self.1) {
            (Some(l), Some(c)) => write!(f, " (line {l}, column {c})"),
            (Some(l), None) => write!(f, " (line {l})"),
            _ => Ok(()),
        }
    }
}

/// `" (current-context of FILE)"` or nothing.
struct From<'a>(Option<&'a Path>);

impl fmt::Display for From<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(p) => write!(f, " (named by current-context of {})", p.display()),
            None => Ok(()),
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
