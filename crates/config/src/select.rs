//! Choosing a context: the current one or a named one, with kubectl-style overrides,
//! and looking up its cluster and user.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{EntryKind, Error, Files, Location, Result};
use crate::model::{AuthInfo, Cluster, Context, Kubeconfig};

/// The namespace used when a context names none.
pub const DEFAULT_NAMESPACE: &str = "default";

/// What to pick instead of what the kubeconfig says (kubectl's `--context`,
/// `--cluster`, `--user`, `--namespace`, `--server`).
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Overrides {
    /// Use this context instead of `current-context`.
    pub context: Option<String>,
    /// Use this cluster instead of the context's.
    pub cluster: Option<String>,
    /// Use this user instead of the context's.
    pub user: Option<String>,
    /// Use this namespace instead of the context's.
    pub namespace: Option<String>,
    /// Use this server URL instead of the cluster's.
    pub server: Option<String>,
    /// Use this name to check the server certificate (`--tls-server-name`).
    pub tls_server_name: Option<String>,
    /// Use this CA file instead of the cluster's (`--certificate-authority`).
    pub certificate_authority: Option<std::path::PathBuf>,
    /// Skip (or not) the server certificate check (`--insecure-skip-tls-verify`);
    /// `Some(true)` also drops the cluster's CA, as kubectl does.
    pub insecure_skip_tls_verify: Option<bool>,
    /// Use this bearer token instead of the user's credentials (`--token`).
    pub token: Option<String>,
    /// Impersonate this user (`--as`).
    pub impersonate: Option<String>,
    /// Impersonate these groups (`--as-group`).
    pub impersonate_groups: Vec<String>,
    /// Impersonate this UID (`--as-uid`).
    pub impersonate_uid: Option<String>,
}

impl fmt::Debug for Overrides {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Overrides")
            .field("context", &self.context)
            .field("cluster", &self.cluster)
            .field("user", &self.user)
            .field("namespace", &self.namespace)
            .field("server", &self.server)
            .field("tls_server_name", &self.tls_server_name)
            .field("certificate_authority", &self.certificate_authority)
            .field("insecure_skip_tls_verify", &self.insecure_skip_tls_verify)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("impersonate", &self.impersonate)
            .field("impersonate_groups", &self.impersonate_groups)
            .field("impersonate_uid", &self.impersonate_uid)
            .finish()
    }
}

impl Overrides {
    /// Pick the named context.
    #[must_use]
    pub fn context(mut self, name: impl Into<String>) -> Self {
        self.context = Some(name.into());
        self
    }

    /// Pick the named cluster.
    #[must_use]
    pub fn cluster(mut self, name: impl Into<String>) -> Self {
        self.cluster = Some(name.into());
        self
    }

    /// Pick the named user.
    #[must_use]
    pub fn user(mut self, name: impl Into<String>) -> Self {
        self.user = Some(name.into());
        self
    }

    /// Use this namespace.
    #[must_use]
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Use this server URL.
    #[must_use]
    pub fn server(mut self, server: impl Into<String>) -> Self {
        self.server = Some(server.into());
        self
    }

    /// Check the server certificate against this name.
    #[must_use]
    pub fn tls_server_name(mut self, name: impl Into<String>) -> Self {
        self.tls_server_name = Some(name.into());
        self
    }

    /// Trust this CA file (relative paths are taken as they are, against the
    /// current directory, as kubectl takes its flags).
    #[must_use]
    pub fn certificate_authority(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.certificate_authority = Some(path.into());
        self
    }

    /// Skip, or do not skip, the server certificate check.
    #[must_use]
    pub fn insecure_skip_tls_verify(mut self, insecure: bool) -> Self {
        self.insecure_skip_tls_verify = Some(insecure);
        self
    }

    /// Authenticate with this bearer token (the user's token file, user name and
    /// password, and exec plugin are not used).
    #[must_use]
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Impersonate this user.
    #[must_use]
    pub fn impersonate(mut self, user: impl Into<String>) -> Self {
        self.impersonate = Some(user.into());
        self
    }

    /// Impersonate this group too (repeatable).
    #[must_use]
    pub fn impersonate_group(mut self, group: impl Into<String>) -> Self {
        self.impersonate_groups.push(group.into());
        self
    }

    /// Impersonate this UID.
    #[must_use]
    pub fn impersonate_uid(mut self, uid: impl Into<String>) -> Self {
        self.impersonate_uid = Some(uid.into());
        self
    }
}

/// A context with its cluster and user looked up: everything needed to build a
/// rest-core `Config` (see [`SelectedContext::rest_config`]).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SelectedContext {
    /// The context's name.
    pub context_name: String,
    /// The context (after overrides).
    pub context: Context,
    /// The file that defines the context.
    pub context_source: Option<PathBuf>,
    /// The cluster's name.
    pub cluster_name: String,
    /// The cluster (after overrides).
    pub cluster: Cluster,
    /// The file that defines the cluster.
    pub cluster_source: Option<PathBuf>,
    /// The user's name (empty: no user, anonymous).
    pub user_name: String,
    /// The user's credentials (empty when anonymous).
    pub user: AuthInfo,
    /// The file that defines the user.
    pub user_source: Option<PathBuf>,
    /// Every file of the kubeconfig, for messages.
    pub files: Files,
    /// How long an exec credential plugin may run (default
    /// [`crate::DEFAULT_EXEC_TIMEOUT`]).
    pub exec_timeout: std::time::Duration,
    /// Whether the user's token came from [`Overrides::token`], for messages.
    pub(crate) token_from_overrides: bool,
}

impl SelectedContext {
    /// Let an exec credential plugin run at most `timeout`.
    #[must_use]
    pub fn with_exec_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.exec_timeout = timeout;
        self
    }

    /// The namespace to use: the override, else the context's, else `default`.
    #[must_use]
    pub fn namespace(&self) -> &str {
        match self.context.namespace.as_deref() {
            Some(ns) if !ns.is_empty() => ns,
            _ => DEFAULT_NAMESPACE,
        }
    }

    /// Where a cluster field is, for errors.
    pub(crate) fn cluster_at(&self, field: &'static str) -> Location {
        Location::new(
            self.cluster_source.as_deref(),
            EntryKind::Cluster,
            &self.cluster_name,
            field,
        )
    }

    /// Where a user field is, for errors.
    pub(crate) fn user_at(&self, field: &'static str) -> Location {
        Location::new(
            self.user_source.as_deref(),
            EntryKind::User,
            &self.user_name,
            field,
        )
    }
}

impl Kubeconfig {
    /// The context named by `overrides.context`, else by `current-context`, with its
    /// cluster and user looked up and the overrides applied.
    ///
    /// A context without a `user` is anonymous (as for kubectl); a context without a
    /// `cluster` is an error.
    ///
    /// # Errors
    /// [`Error::Empty`] for a kubeconfig with nothing in it,
    /// [`Error::NoCurrentContext`], [`Error::MissingContext`],
    /// [`Error::MissingCluster`], [`Error::MissingUser`], and [`Error::MissingField`]
    /// for a context that names no cluster.
    pub fn select(&self, overrides: &Overrides) -> Result<SelectedContext> {
        let files = self.files();
        let (name, origin) = match overrides.context.as_deref().filter(|c| !c.is_empty()) {
            Some(name) => (name, None),
            None => match self.current_context.as_deref().filter(|c| !c.is_empty()) {
                Some(name) => (name, self.current_context_source.clone()),
                None if self.is_empty() => return Err(Error::Empty { files }),
                None => return Err(Error::NoCurrentContext { files }),
            },
        };
        let named = self
            .contexts
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| Error::MissingContext {
                name: name.to_owned(),
                origin,
                files: files.clone(),
            })?;
        let mut context = named.context.clone();
        let context_source = named.source.clone();
        let at = |field| Location::new(context_source.as_deref(), EntryKind::Context, name, field);

        if let Some(c) = overrides.cluster.as_ref().filter(|c| !c.is_empty()) {
            context.cluster.clone_from(c);
        }
        if let Some(u) = overrides.user.as_ref().filter(|u| !u.is_empty()) {
            context.user.clone_from(u);
        }
        if let Some(ns) = overrides.namespace.as_ref().filter(|n| !n.is_empty()) {
            context.namespace = Some(ns.clone());
        }

        if context.cluster.is_empty() {
            return Err(Error::MissingField { at: at("cluster") });
        }
        let cluster = self
            .clusters
            .iter()
            .find(|c| c.name == context.cluster)
            .ok_or_else(|| Error::MissingCluster {
                at: at("cluster"),
                name: context.cluster.clone(),
                files: files.clone(),
            })?;
        let mut cluster_def = cluster.cluster.clone();
        if let Some(server) = overrides.server.as_ref().filter(|s| !s.is_empty()) {
            cluster_def.server = Some(server.clone());
        }
        if let Some(name) = overrides.tls_server_name.as_ref().filter(|s| !s.is_empty()) {
            cluster_def.tls_server_name = Some(name.clone());
        }
        if let Some(ca) = overrides
            .certificate_authority
            .as_ref()
            .filter(|p| !p.as_os_str().is_empty())
        {
            cluster_def.certificate_authority = Some(ca.clone());
            cluster_def.certificate_authority_data = None;
        }
        if let Some(insecure) = overrides.insecure_skip_tls_verify {
            cluster_def.insecure_skip_tls_verify = Some(insecure);
            if insecure {
                cluster_def.certificate_authority = None;
                cluster_def.certificate_authority_data = None;
            }
        }

        let (user, user_source) = if context.user.is_empty() {
            (AuthInfo::default(), None)
        } else {
            let u = self
                .users
                .iter()
                .find(|u| u.name == context.user)
                .ok_or_else(|| Error::MissingUser {
                    at: at("user"),
                    name: context.user.clone(),
                    files: files.clone(),
                })?;
            (u.user.clone(), u.source.clone())
        };
        let mut user = user;
        let token_from_overrides = overrides.token.as_ref().is_some_and(|t| !t.is_empty());
        if let Some(token) = overrides.token.as_ref().filter(|t| !t.is_empty()) {
            user.token = Some(token.clone());
            user.token_file = None;
            user.username = None;
            user.password = None;
            user.exec = None;
            user.auth_provider = None;
        }
        if let Some(u) = overrides.impersonate.as_ref().filter(|u| !u.is_empty()) {
            user.impersonate = Some(u.clone());
        }
        if !overrides.impersonate_groups.is_empty() {
            user.impersonate_groups
                .clone_from(&overrides.impersonate_groups);
        }
        if let Some(uid) = overrides.impersonate_uid.as_ref().filter(|u| !u.is_empty()) {
            user.impersonate_uid = Some(uid.clone());
        }

        Ok(SelectedContext {
            context_name: name.to_owned(),
            cluster_name: context.cluster.clone(),
            user_name: context.user.clone(),
            context,
            context_source,
            cluster: cluster_def,
            cluster_source: cluster.source.clone(),
            user,
            user_source,
            files,
            exec_timeout: crate::exec::DEFAULT_EXEC_TIMEOUT,
            token_from_overrides,
        })
    }
}

/// `path` unless it is empty.
pub(crate) fn non_empty(path: Option<&PathBuf>) -> Option<&Path> {
    path.map(PathBuf::as_path)
        .filter(|p| !p.as_os_str().is_empty())
}
