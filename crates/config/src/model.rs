//! The kubeconfig file, as serde types.
//!
//! Field names follow `k8s.io/client-go/tools/clientcmd/api/v1` exactly (dashes,
//! `tokenFile`, `current-context`). Unknown fields are ignored, as kubectl ignores
//! them, and `null` is accepted wherever kubectl writes it (`users: null`,
//! `preferences: {}`). Nothing here does I/O: see [`crate::Kubeconfig::read_from`].
//!
//! Secrets (tokens, passwords, private keys, exec environment values and
//! auth-provider configuration) are never printed by `Debug`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize};

/// Deserialize `null` (or a missing field, with `#[serde(default)]`) as `T::default()`.
fn null_default<'de, D, T>(de: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(de)?.unwrap_or_default())
}

/// Placeholder printed by `Debug` instead of a secret value.
const REDACTED: &str = "<redacted>";

/// Prints `Some(<redacted>)` / `None` without looking at the value.
struct Redacted(bool);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 {
            write!(f, "Some({REDACTED})")
        } else {
            f.write_str("None")
        }
    }
}

/// Prints the length of (non-secret but bulky) inline data instead of its content.
struct Bytes(Option<usize>);

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(n) => write!(f, "Some(<{n} bytes>)"),
            None => f.write_str("None"),
        }
    }
}

/// A whole kubeconfig file (`apiVersion: v1`, `kind: Config`).
///
/// After [`crate::Kubeconfig::read_from`] every relative path in it has been resolved
/// against the directory of the file, and every named entry remembers that file
/// (see [`NamedCluster::source`]), so a kubeconfig merged from several files still
/// names the right file in its errors.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Kubeconfig {
    /// `apiVersion`, normally `v1`.
    #[serde(
        rename = "apiVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub api_version: Option<String>,
    /// `kind`, normally `Config`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `preferences` (kept for round-tripping; kubecto does not use them).
    #[serde(default, deserialize_with = "null_default")]
    pub preferences: Preferences,
    /// `clusters`: how to reach each API server.
    #[serde(default, deserialize_with = "null_default")]
    pub clusters: Vec<NamedCluster>,
    /// `users`: credentials (`AuthInfo` in client-go).
    #[serde(default, deserialize_with = "null_default")]
    pub users: Vec<NamedAuthInfo>,
    /// `contexts`: (cluster, user, namespace) triples.
    #[serde(default, deserialize_with = "null_default")]
    pub contexts: Vec<NamedContext>,
    /// `current-context`: the context used when none is named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_context: Option<String>,
    /// `extensions`: opaque, kept for round-tripping.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub extensions: Vec<NamedExtension>,
    /// The file that set `current-context` (none when parsed from a string without origin).
    #[serde(skip)]
    pub current_context_source: Option<PathBuf>,
    /// Every file this kubeconfig was read from, in precedence order.
    #[serde(skip)]
    pub sources: Vec<PathBuf>,
}

/// `preferences`: kubectl display preferences; unused by kubecto.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Preferences {
    /// `colors`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colors: Option<bool>,
    /// `extensions`.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub extensions: Vec<NamedExtension>,
}

/// One entry of an `extensions` list: a name and any value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NamedExtension {
    /// `name`.
    pub name: String,
    /// `extension`: arbitrary YAML, held as its JSON-like value (client-go's
    /// `runtime.RawExtension`).
    #[serde(default)]
    pub extension: serde_json::Value,
}

/// One entry of `clusters`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NamedCluster {
    /// `name`.
    pub name: String,
    /// `cluster`.
    #[serde(default, deserialize_with = "null_default")]
    pub cluster: Cluster,
    /// The file this entry came from.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

impl NamedCluster {
    /// An entry named `name` (no source file).
    #[must_use]
    pub fn new(name: impl Into<String>, cluster: Cluster) -> Self {
        NamedCluster {
            name: name.into(),
            cluster,
            source: None,
        }
    }
}

/// `cluster`: how to reach and trust one API server.
///
/// `Debug` shows `proxy-url` without the credentials it may carry.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Cluster {
    /// `server`: `https://host:port`, optionally with a path prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// `tls-server-name`: the name checked against the server certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_server_name: Option<String>,
    /// `insecure-skip-tls-verify`: do not verify the server certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_skip_tls_verify: Option<bool>,
    /// `certificate-authority`: path to a PEM CA bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_authority: Option<PathBuf>,
    /// `certificate-authority-data`: base64 of a PEM CA bundle; wins over the path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_authority_data: Option<String>,
    /// `proxy-url`: `http`, `https` or `socks5` proxy for this cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_url: Option<String>,
    /// `disable-compression`: do not ask for gzip responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_compression: Option<bool>,
    /// `extensions`.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub extensions: Vec<NamedExtension>,
}

impl fmt::Debug for Cluster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cluster")
            .field("server", &self.server)
            .field("tls_server_name", &self.tls_server_name)
            .field("insecure_skip_tls_verify", &self.insecure_skip_tls_verify)
            .field("certificate_authority", &self.certificate_authority)
            .field(
                "certificate_authority_data",
                &Bytes(self.certificate_authority_data.as_ref().map(String::len)),
            )
            .field(
                "proxy_url",
                &self.proxy_url.as_deref().map(without_userinfo),
            )
            .field("disable_compression", &self.disable_compression)
            .field("extensions", &self.extensions)
            .finish()
    }
}

/// A URL with any `user:password@` replaced by `<redacted>@`.
fn without_userinfo(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}://{REDACTED}{}", &rest[at..]),
        None => url.to_owned(),
    }
}

/// One entry of `contexts`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NamedContext {
    /// `name`.
    pub name: String,
    /// `context`.
    #[serde(default, deserialize_with = "null_default")]
    pub context: Context,
    /// The file this entry came from.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

impl NamedContext {
    /// An entry named `name` (no source file).
    #[must_use]
    pub fn new(name: impl Into<String>, context: Context) -> Self {
        NamedContext {
            name: name.into(),
            context,
            source: None,
        }
    }
}

/// `context`: which cluster, which user, which namespace.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Context {
    /// `cluster`: name of an entry in `clusters`.
    #[serde(default)]
    pub cluster: String,
    /// `user`: name of an entry in `users`.
    #[serde(default)]
    pub user: String,
    /// `namespace`: the default namespace (empty means `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `extensions`.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub extensions: Vec<NamedExtension>,
}

/// One entry of `users`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NamedAuthInfo {
    /// `name`.
    pub name: String,
    /// `user`.
    #[serde(default, deserialize_with = "null_default")]
    pub user: AuthInfo,
    /// The file this entry came from.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

impl NamedAuthInfo {
    /// An entry named `name` (no source file).
    #[must_use]
    pub fn new(name: impl Into<String>, user: AuthInfo) -> Self {
        NamedAuthInfo {
            name: name.into(),
            user,
            source: None,
        }
    }
}

/// `user`: the credentials of one identity (client-go's `AuthInfo`).
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub struct AuthInfo {
    /// `client-certificate`: path to a PEM client certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<PathBuf>,
    /// `client-certificate-data`: base64 of a PEM client certificate; wins over the path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate_data: Option<String>,
    /// `client-key`: path to a PEM private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key: Option<PathBuf>,
    /// `client-key-data`: base64 of a PEM private key; wins over the path. Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key_data: Option<String>,
    /// `token`: a bearer token. Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// `tokenFile`: path to a file holding a bearer token; `token` wins over it.
    #[serde(rename = "tokenFile", default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// `as`: user to impersonate.
    #[serde(rename = "as", default, skip_serializing_if = "Option::is_none")]
    pub impersonate: Option<String>,
    /// `as-uid`: UID to impersonate.
    #[serde(rename = "as-uid", default, skip_serializing_if = "Option::is_none")]
    pub impersonate_uid: Option<String>,
    /// `as-groups`: groups to impersonate.
    #[serde(
        rename = "as-groups",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub impersonate_groups: Vec<String>,
    /// `as-user-extra`: extra fields to impersonate.
    #[serde(
        rename = "as-user-extra",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub impersonate_user_extra: BTreeMap<String, Vec<String>>,
    /// `username`: HTTP basic auth user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `password`: HTTP basic auth password. Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// `auth-provider`: legacy auth provider plugin (oidc, gcp, azure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_provider: Option<AuthProviderConfig>,
    /// `exec`: external credential plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecConfig>,
    /// `extensions`.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub extensions: Vec<NamedExtension>,
}

impl fmt::Debug for AuthInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthInfo")
            .field("client_certificate", &self.client_certificate)
            .field(
                "client_certificate_data",
                &Bytes(self.client_certificate_data.as_ref().map(String::len)),
            )
            .field("client_key", &self.client_key)
            .field("client_key_data", &Redacted(self.client_key_data.is_some()))
            .field("token", &Redacted(self.token.is_some()))
            .field("token_file", &self.token_file)
            .field("impersonate", &self.impersonate)
            .field("impersonate_uid", &self.impersonate_uid)
            .field("impersonate_groups", &self.impersonate_groups)
            .field("impersonate_user_extra", &self.impersonate_user_extra)
            .field("username", &self.username)
            .field("password", &Redacted(self.password.is_some()))
            .field("auth_provider", &self.auth_provider)
            .field("exec", &self.exec)
            .field("extensions", &self.extensions)
            .finish()
    }
}

/// `auth-provider`: a legacy in-tree auth provider and its configuration.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuthProviderConfig {
    /// `name`: `oidc`, `gcp`, `azure`, ...
    #[serde(default)]
    pub name: String,
    /// `config`: provider settings, which hold tokens. Values are secret.
    #[serde(default, deserialize_with = "null_default")]
    pub config: BTreeMap<String, String>,
}

impl fmt::Debug for AuthProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<&String> = self.config.keys().collect();
        f.debug_struct("AuthProviderConfig")
            .field("name", &self.name)
            .field("config_keys", &keys)
            .finish_non_exhaustive()
    }
}

/// `exec`: an external credential plugin (`client.authentication.k8s.io`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ExecConfig {
    /// `command`: the program to run (a relative path containing `/` is resolved
    /// against the kubeconfig's directory; a bare name is looked up in `PATH`).
    #[serde(default)]
    pub command: String,
    /// `args`.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub args: Vec<String>,
    /// `env`: extra environment for the plugin. Values are secret.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub env: Vec<ExecEnvVar>,
    /// `apiVersion`: `client.authentication.k8s.io/v1` or `v1beta1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// `installHint`: shown when the command cannot be run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install_hint: Option<String>,
    /// `provideClusterInfo`: pass the cluster in `KUBERNETES_EXEC_INFO`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provide_cluster_info: Option<bool>,
    /// `interactiveMode`: `Never`, `IfAvailable` or `Always`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interactive_mode: Option<String>,
}

/// One `env` entry of an [`ExecConfig`].
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ExecEnvVar {
    /// `name`.
    pub name: String,
    /// `value`. Secret: often an API key.
    #[serde(default)]
    pub value: String,
}

impl fmt::Debug for ExecEnvVar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecEnvVar")
            .field("name", &self.name)
            .field("value", &Redacted(true))
            .finish()
    }
}
