//! A bearer token read from a file that may be rotated (kubeconfig `tokenFile`, a
//! projected service-account token), as a rest-core [`CredentialProvider`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use kubecto_rest_core::{
    Auth, CredentialError, CredentialFuture, CredentialProvider, SecretString,
};

use crate::limits::{MAX_TOKEN_FILE_BYTES, read_limited};

/// How long a token is used before the file's modification time is looked at again.
const RECHECK: Duration = Duration::from_secs(1);

/// A bearer token taken from a file and re-read when the file changes.
///
/// Before each request the client asks for credentials; at most once a second this
/// provider looks at the file's modification time and length and re-reads it when
/// either changed. After a `401` ([`CredentialProvider::refresh`]) it re-reads
/// unconditionally. When the file cannot be read, the last good token is used (and
/// the kubeconfig's static `token`, if any, before the first good read); with neither,
/// the request fails with an error naming the file.
///
/// At most [`MAX_TOKEN_FILE_BYTES`](crate::MAX_TOKEN_FILE_BYTES) (1 MiB) are read, at
/// every re-read: a larger file is unreadable, with an error naming it and the limit.
pub struct TokenFileProvider {
    path: PathBuf,
    /// What names this file in messages (`kubeconfig F: user "u", field tokenFile`).
    origin: String,
    fallback: Option<SecretString>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    token: Option<SecretString>,
    stamp: Option<(SystemTime, u64)>,
    checked: Option<Instant>,
}

impl fmt::Debug for TokenFileProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenFileProvider")
            .field("path", &self.path)
            .field("origin", &self.origin)
            .field("fallback", &self.fallback)
            .finish_non_exhaustive()
    }
}

impl TokenFileProvider {
    /// A provider reading `path`. `origin` names where the path came from, for
    /// messages; `fallback` is used until the file has been read once successfully.
    pub fn new(
        path: impl Into<PathBuf>,
        origin: impl Into<String>,
        fallback: Option<SecretString>,
    ) -> Self {
        TokenFileProvider {
            path: path.into(),
            origin: origin.into(),
            fallback,
            state: Mutex::new(State::default()),
        }
    }

    /// The file read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Read the file now (ignoring the cache) and remember the token.
    ///
    /// # Errors
    /// When the file cannot be read or holds no token; the error names the file.
    pub fn reload(&self) -> Result<SecretString, CredentialError> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        self.read_into(&mut state)
    }

    fn read_into(&self, state: &mut State) -> Result<SecretString, CredentialError> {
        state.checked = Some(Instant::now());
        let stamp = stamp(&self.path);
        let text = read_limited(&self.path, MAX_TOKEN_FILE_BYTES, "a token file").and_then(|b| {
            String::from_utf8(b)
                .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
        });
        match text {
            Ok(text) if !text.trim().is_empty() => {
                let token = SecretString::new(text.trim());
                state.token = Some(token.clone());
                state.stamp = stamp;
                Ok(token)
            }
            Ok(_) => self.fall_back(state, || {
                CredentialError::new(format!(
                    "{}: token file {} is empty",
                    self.origin,
                    self.path.display()
                ))
            }),
            Err(e) => {
                let message = format!(
                    "{}: cannot read token file {}",
                    self.origin,
                    self.path.display()
                );
                self.fall_back(state, || CredentialError::with_source(message, e))
            }
        }
    }

    fn fall_back(
        &self,
        state: &State,
        err: impl FnOnce() -> CredentialError,
    ) -> Result<SecretString, CredentialError> {
        match state.token.as_ref().or(self.fallback.as_ref()) {
            Some(t) => {
                tracing::warn!(path = %self.path.display(), "token file unreadable; using the last known token");
                Ok(t.clone())
            }
            None => Err(err()),
        }
    }

    fn current(&self) -> Result<SecretString, CredentialError> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(token) = state.token.clone() {
            if state.checked.is_some_and(|t| t.elapsed() < RECHECK) {
                return Ok(token);
            }
            let now = stamp(&self.path);
            if now.is_some() && now == state.stamp {
                state.checked = Some(Instant::now());
                return Ok(token);
            }
        }
        self.read_into(&mut state)
    }
}

/// Modification time and length, which change when a file is rewritten.
fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

impl CredentialProvider for TokenFileProvider {
    fn credentials(&self) -> CredentialFuture<'_> {
        let result = self.current().map(Auth::Bearer);
        Box::pin(std::future::ready(result))
    }

    fn refresh(&self) -> CredentialFuture<'_> {
        let result = self.reload().map(Auth::Bearer);
        Box::pin(std::future::ready(result))
    }
}
