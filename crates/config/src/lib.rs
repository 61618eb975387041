//! kubecto-config: kubeconfig files turned into a [`kubecto_rest_core::Config`].
//!
//! This crate sits beside `kubecto-rest-core` and feeds it: rest-core never parses a
//! kubeconfig, and this crate never sends a request. It does what kubectl's
//! `clientcmd` does:
//!
//! 1. **Find the files** ([`LoadingRules`]): an explicit path, else every file in
//!    `$KUBECONFIG` merged first-file-wins, else `~/.kube/config`.
//! 2. **Read them** ([`Kubeconfig::read_from`]): the serde model in [`model`],
//!    tolerant of unknown fields, with relative paths resolved against the directory
//!    of the file that names them.
//! 3. **Pick a context** ([`Kubeconfig::select`] with [`Overrides`]): the current
//!    context or a named one, its cluster and user, its namespace
//!    ([`SelectedContext::namespace`], `default` when unset).
//! 4. **Build the rest-core config** ([`SelectedContext::rest_config`]): server, TLS
//!    (CA, client certificate and key, server name, insecure flag), credentials
//!    (token, token file, basic auth) and impersonation.
//!
//! ```no_run
//! # fn main() -> Result<(), kubecto_config::Error> {
//! let selected = kubecto_config::load(None, &Default::default())?;
//! let config = selected.rest_config()?;
//! println!("namespace {}", selected.namespace());
//! # let _ = config; Ok(()) }
//! ```
//!
//! Errors ([`Error`]) name the file, the entry and the field; secrets (tokens,
//! passwords, private keys) never appear in `Debug` output or in error messages.

pub mod error;
mod exec;
mod in_cluster;
mod infer;
mod load;
mod material;
pub mod model;
mod rest;
mod select;
mod token_file;

pub use error::{EntryKind, Error, Files, Location, Result};
pub use exec::{
    CLUSTER_EXEC_EXTENSION, DEFAULT_EXEC_TIMEOUT, ExecClusterInfo, ExecCredential, ExecProvider,
    InteractiveMode,
};
pub use in_cluster::{InCluster, SERVICE_ACCOUNT_DIR};
pub use infer::{Inferred, Source, infer, infer_with};
pub use load::LoadingRules;
pub use model::{
    AuthInfo, AuthProviderConfig, Cluster, Context, ExecConfig, ExecEnvVar, Kubeconfig,
    NamedAuthInfo, NamedCluster, NamedContext, NamedExtension, Preferences,
};
pub use select::{DEFAULT_NAMESPACE, Overrides, SelectedContext};
pub use token_file::TokenFileProvider;

/// Load a kubeconfig and select a context, the way kubectl does with `--kubeconfig`
/// and `--context`: `path` if given (that file alone), else the default
/// [`LoadingRules::from_env`]; then [`Kubeconfig::select`] with `overrides`.
///
/// Call [`SelectedContext::rest_config`] on the result for a rest-core `Config`, and
/// [`SelectedContext::namespace`] for the context's namespace.
///
/// # Errors
/// As [`LoadingRules::load`] and [`Kubeconfig::select`].
pub fn load(path: Option<&std::path::Path>, overrides: &Overrides) -> Result<SelectedContext> {
    let rules = match path {
        Some(p) => LoadingRules::from_env().explicit_path(p),
        None => LoadingRules::from_env(),
    };
    rules.load()?.select(overrides)
}
