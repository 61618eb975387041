//! The configuration of a program running in a pod: the API server from
//! `KUBERNETES_SERVICE_HOST`/`KUBERNETES_SERVICE_PORT`, the service-account token,
//! CA and namespace from the files Kubernetes mounts into every pod (client-go's
//! `rest.InClusterConfig`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kubecto_rest_core::{Config, PemSource};

use crate::error::{Error, Result};
use crate::infer::{Inferred, Source};
use crate::limits::{MAX_PEM_FILE_BYTES, MAX_TOKEN_FILE_BYTES, read_limited};
use crate::select::DEFAULT_NAMESPACE;
use crate::token_file::TokenFileProvider;

/// Where Kubernetes mounts the service-account token, CA and namespace.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The inputs of the in-cluster configuration, read from the environment by
/// [`InCluster::from_env`]; tests set them instead.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct InCluster {
    /// `KUBERNETES_SERVICE_HOST`.
    pub host: Option<OsString>,
    /// `KUBERNETES_SERVICE_PORT`.
    pub port: Option<OsString>,
    /// `POD_NAMESPACE`, which wins over the namespace file (as for kubectl).
    pub pod_namespace: Option<OsString>,
    /// The directory holding `token`, `ca.crt` and `namespace`
    /// ([`SERVICE_ACCOUNT_DIR`]).
    pub dir: PathBuf,
}

impl Default for InCluster {
    fn default() -> Self {
        InCluster {
            host: None,
            port: None,
            pod_namespace: None,
            dir: PathBuf::from(SERVICE_ACCOUNT_DIR),
        }
    }
}

impl InCluster {
    /// The inputs from this process's environment and the standard directory.
    #[must_use]
    pub fn from_env() -> Self {
        InCluster {
            host: std::env::var_os("KUBERNETES_SERVICE_HOST"),
            port: std::env::var_os("KUBERNETES_SERVICE_PORT"),
            pod_namespace: std::env::var_os("POD_NAMESPACE"),
            dir: PathBuf::from(SERVICE_ACCOUNT_DIR),
        }
    }

    /// Pretend the service host and port are these.
    #[must_use]
    pub fn service(mut self, host: impl Into<OsString>, port: impl Into<OsString>) -> Self {
        self.host = Some(host.into());
        self.port = Some(port.into());
        self
    }

    /// Read `token`, `ca.crt` and `namespace` from `dir`.
    #[must_use]
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = dir.into();
        self
    }

    /// Pretend `POD_NAMESPACE` is `ns` (None: unset).
    #[must_use]
    pub fn pod_namespace(mut self, ns: Option<OsString>) -> Self {
        self.pod_namespace = ns;
        self
    }

    /// Build the configuration: `https://HOST:PORT`, the token file as a
    /// [`TokenFileProvider`] (re-read when kubelet rotates it, and after a 401),
    /// `ca.crt` as the CA when it is readable PEM (otherwise a warning, as client-go
    /// logs it, and no CA), and the namespace from `POD_NAMESPACE`, else the
    /// `namespace` file, else `default`.
    ///
    /// The token and namespace files are read up to
    /// [`MAX_TOKEN_FILE_BYTES`](crate::MAX_TOKEN_FILE_BYTES) (1 MiB), `ca.crt` up to
    /// [`MAX_PEM_FILE_BYTES`](crate::MAX_PEM_FILE_BYTES) (4 MiB); a larger file is an
    /// unreadable one.
    ///
    /// # Errors
    /// [`Error::NotInCluster`] when the host or port variable is unset or empty;
    /// [`Error::InClusterFile`] when the token cannot be read or is empty.
    pub fn load(&self) -> Result<Inferred> {
        let var = |v: &Option<OsString>, name: &'static str| {
            v.as_ref()
                .and_then(|s| s.to_str())
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .ok_or(Error::NotInCluster { missing: name })
        };
        let host = var(&self.host, "KUBERNETES_SERVICE_HOST")?;
        let port = var(&self.port, "KUBERNETES_SERVICE_PORT")?;
        let authority = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let mut config = Config::new(format!("https://{authority}"));

        let token_path = self.dir.join("token");
        let token = read_limited(&token_path, MAX_TOKEN_FILE_BYTES, "a token file")
            .and_then(|b| {
                String::from_utf8(b).map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text")
                })
            })
            .map_err(|source| Error::InClusterFile {
                path: token_path.clone(),
                source,
            })?;
        if token.trim().is_empty() {
            return Err(Error::InClusterFile {
                path: token_path,
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, "the file is empty"),
            });
        }
        let provider = TokenFileProvider::new(
            &token_path,
            "in-cluster service-account token".to_owned(),
            None,
        );
        let _ = provider.reload();
        config = config.with_credential_provider(Arc::new(provider));
        config.credential_origin = Some(format!(
            "the pod's service account token (from file {})",
            token_path.display()
        ));

        let ca = self.dir.join("ca.crt");
        match read_limited(&ca, MAX_PEM_FILE_BYTES, "a CA file") {
            Ok(pem) if String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") => {
                config.tls.ca = Some(PemSource::File(ca));
            }
            Ok(_) => {
                tracing::warn!(path = %ca.display(), "in-cluster CA file holds no PEM certificate; not used")
            }
            Err(e) => {
                tracing::warn!(path = %ca.display(), "cannot read the in-cluster CA file: {e}; not used")
            }
        }

        let namespace = self
            .pod_namespace
            .as_ref()
            .and_then(|s| s.to_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .or_else(|| read_namespace(&self.dir.join("namespace")))
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        Ok(Inferred {
            config,
            namespace,
            source: Source::InCluster,
        })
    }
}

fn read_namespace(path: &Path) -> Option<String> {
    let bytes = read_limited(path, MAX_TOKEN_FILE_BYTES, "a namespace file")
        .inspect_err(|e| {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %path.display(), "cannot read the in-cluster namespace file: {e}; not used");
            }
        })
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let ns = text.trim();
    (!ns.is_empty()).then(|| ns.to_owned())
}
