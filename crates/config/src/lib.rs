//! kubecto-config: kubeconfig files (or a pod's service account) turned into a
//! [`kubecto_rest_core::Config`].
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
//! 4. **Build the rest-core config** ([`SelectedContext::rest_config`], or
//!    [`SelectedContext::rest_config_async`] to run an exec plugin now): server, TLS
//!    (CA, client certificate and key, server name, insecure flag), credentials
//!    (token, token file, basic auth, exec plugin) and impersonation.
//!
//! [`from_flags`] does all of that the way kubectl does (`--kubeconfig`, then
//! `$KUBECONFIG`, then `~/.kube/config`), or reads the in-cluster configuration
//! ([`InCluster`]) when there is no kubeconfig file at all; [`infer`] is
//! `from_flags(None, ..)`. Programs that take a `--kubeconfig` flag pass it on:
//!
//! ```no_run
//! # async fn run(kubeconfig_flag: Option<std::path::PathBuf>) -> Result<(), kubecto_config::Error> {
//! let overrides = kubecto_config::Overrides::default();
//! let inferred = kubecto_config::from_flags(kubeconfig_flag.as_deref(), &overrides).await?;
//! println!("namespace {}", inferred.namespace);
//! let client = kubecto_rest_core::RestClient::for_config(&inferred.config);
//! # let _ = client; Ok(()) }
//! ```
//!
//! Errors ([`Error`]) name the file, the entry and the field; secrets (tokens,
//! passwords, private keys, exec environment values, plugin output) never appear in
//! `Debug` output, in error messages or in logs.
//!
//! # Kubeconfig fields
//!
//! Honoured:
//!
//! - top level: `clusters`, `users`, `contexts`, `current-context`; `apiVersion`,
//!   `kind`, `preferences` and `extensions` are kept (merged, round-tripped) but
//!   have no effect;
//! - `contexts[].context`: `cluster`, `user` (empty: anonymous), `namespace`;
//! - `clusters[].cluster`: `server` (path prefix kept), `certificate-authority`,
//!   `certificate-authority-data` (wins over the path), `tls-server-name`,
//!   `insecure-skip-tls-verify` (refused together with a CA, as kubectl refuses it),
//!   `proxy-url` (`http://`, `https://`, `socks5://`, `socks5h://`, with optional
//!   credentials; it wins over the environment's `HTTPS_PROXY`/`NO_PROXY`, which
//!   rest-core follows otherwise, as client-go does),
//!   `disable-compression` (rest-core then does not ask for gzip answers),
//!   `extensions` named `client.authentication.k8s.io/exec` (passed to exec plugins
//!   as `spec.cluster.config`);
//! - `users[].user`: `token`, `tokenFile` (re-read when it changes, and after a 401),
//!   `client-certificate`, `client-certificate-data`, `client-key`,
//!   `client-key-data` (PEM: PKCS#8, PKCS#1 RSA, SEC1 EC), `username`/`password`,
//!   `as`, `as-uid`, `as-groups`, `as-user-extra`, and `exec`: `command` (relative
//!   paths against the kubeconfig's directory), `args`, `env`, `apiVersion` (`v1`,
//!   `v1beta1`), `interactiveMode`, `provideClusterInfo`, `installHint`.
//!
//! Refused with [`Error::Unsupported`], naming the field: `auth-provider` (the legacy
//! gcp/azure/oidc providers; use their exec plugins).
//! Knowingly ignored: `preferences`, extensions other than the one above, and the
//! location fields kubectl itself does not read (`LocationOfOrigin`).
//!
//! # Limits
//!
//! A kubeconfig is untrusted input, so everything read because of it is bounded, and
//! going over a bound is an error naming the file (or plugin) and the limit:
//! kubeconfig files up to [`MAX_KUBECONFIG_BYTES`] (16 MiB) whose YAML nests at most
//! [`MAX_YAML_DEPTH`] (64) levels deep; token files, including
//! every re-read after a rotation and the in-cluster token, up to
//! [`MAX_TOKEN_FILE_BYTES`] (1 MiB); CA, certificate and key files up to
//! [`MAX_PEM_FILE_BYTES`] (4 MiB); an exec plugin's stdout up to
//! [`MAX_EXEC_STDOUT_BYTES`] (1 MiB), of its stderr the first
//! [`MAX_EXEC_STDERR_BYTES`] (4 KiB) are kept and the rest discarded.

pub mod error;
mod exec;
mod identity;
mod in_cluster;
mod infer;
mod limits;
mod load;
mod material;
pub mod model;
mod plugin_process;
mod rest;
mod select;
mod token_file;

pub use error::{EntryKind, Error, Files, Location, Result};
pub use exec::{
    CLUSTER_EXEC_EXTENSION, DEFAULT_EXEC_TIMEOUT, ExecClusterInfo, ExecCredential, ExecProvider,
    InteractiveMode,
};
pub use in_cluster::{InCluster, SERVICE_ACCOUNT_DIR};
pub use infer::{Inferred, Source, from_flags, infer, infer_with};
pub use limits::{
    MAX_EXEC_STDERR_BYTES, MAX_EXEC_STDOUT_BYTES, MAX_KUBECONFIG_BYTES, MAX_PEM_FILE_BYTES,
    MAX_TOKEN_FILE_BYTES, MAX_YAML_DEPTH,
};
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
