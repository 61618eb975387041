//! Exec credential plugins (`client.authentication.k8s.io/v1` and `v1beta1`), as
//! client-go's `plugin/pkg/client/auth/exec` runs them, behind rest-core's
//! [`CredentialProvider`].

use std::fmt;
use std::io::IsTerminal as _;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use kubecto_rest_core::{
    Auth, ClientCertificateSource, ClientIdentity, CredentialError, CredentialFuture,
    CredentialProvider, SecretString,
};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::identity::{self, Problem};
use crate::limits::{MAX_EXEC_STDOUT_BYTES, human};
use crate::model::ExecConfig;
use crate::plugin_process::{self, Failure, StderrHead};

/// How long a plugin may run before it (and, on Unix, its process group) is killed
/// and the request fails: 60 s.
pub const DEFAULT_EXEC_TIMEOUT: Duration = Duration::from_secs(60);

/// The extension of a cluster whose value is passed to the plugin as
/// `spec.cluster.config` (client-go's `client.authentication.k8s.io/exec`).
pub const CLUSTER_EXEC_EXTENSION: &str = "client.authentication.k8s.io/exec";

/// `interactiveMode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InteractiveMode {
    /// The plugin never gets the terminal.
    Never,
    /// The plugin gets the terminal when there is one (v1beta1's default).
    IfAvailable,
    /// The plugin needs the terminal: without one, running it is an error.
    Always,
}

impl InteractiveMode {
    /// Parse a kubeconfig value (`Never`, `IfAvailable`, `Always`).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Never" => Some(InteractiveMode::Never),
            "IfAvailable" => Some(InteractiveMode::IfAvailable),
            "Always" => Some(InteractiveMode::Always),
            _ => None,
        }
    }
}

/// What a plugin returned: a bearer token and/or a client certificate and key (PEM).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExecCredential {
    /// `status.token`.
    pub token: Option<SecretString>,
    /// `status.clientCertificateData` (PEM).
    pub client_certificate_data: Option<String>,
    /// `status.clientKeyData` (PEM). Secret.
    pub client_key_data: Option<SecretString>,
    /// `status.expirationTimestamp`; `None`: valid until the server says 401.
    pub expiration: Option<SystemTime>,
}

impl fmt::Debug for ExecCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExecCredential")
            .field("token", &self.token)
            .field(
                "client_certificate_data",
                &self.client_certificate_data.as_ref().map(String::len),
            )
            .field("client_key_data", &self.client_key_data)
            .field("expiration", &self.expiration)
            .finish()
    }
}

impl ExecCredential {
    fn expired(&self) -> bool {
        self.expiration.is_some_and(|e| SystemTime::now() >= e)
    }
}

/// The cluster as the plugin sees it in `KUBERNETES_EXEC_INFO` (with
/// `provideClusterInfo: true`).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ExecClusterInfo {
    /// `server`.
    pub server: String,
    /// `tls-server-name`.
    pub tls_server_name: Option<String>,
    /// `insecure-skip-tls-verify`.
    pub insecure_skip_tls_verify: bool,
    /// The CA bundle (PEM), from `certificate-authority-data` or the file.
    pub certificate_authority_data: Option<Vec<u8>>,
    /// `proxy-url`.
    pub proxy_url: Option<String>,
    /// `disable-compression`.
    pub disable_compression: bool,
    /// The cluster's `client.authentication.k8s.io/exec` extension.
    pub config: Option<Value>,
}

/// An exec credential plugin as a rest-core [`CredentialProvider`].
///
/// The plugin runs (on tokio's process support, never blocking the runtime) the first
/// time credentials are needed, again when its credential's `expirationTimestamp` has
/// passed, and again after a `401` ([`CredentialProvider::refresh`]). Concurrent
/// requests wait for one run. A plugin that runs longer than the timeout
/// ([`DEFAULT_EXEC_TIMEOUT`]) is killed, on Unix together with the processes it started
/// (it runs in its own process group unless it is given the terminal). A plugin that
/// printed its credential and exited succeeds even when a process it left in the
/// background still holds its stdout. Its stdout is read up to
/// [`MAX_EXEC_STDOUT_BYTES`](crate::MAX_EXEC_STDOUT_BYTES) (1 MiB, more is an error);
/// of its stderr the first [`MAX_EXEC_STDERR_BYTES`](crate::MAX_EXEC_STDERR_BYTES)
/// (4 KiB) are kept for error messages and the rest is discarded as it is read.
/// Errors name the kubeconfig entry, the command, its exit status and stderr, and the
/// kubeconfig's `installHint`.
pub struct ExecProvider {
    exec: ExecConfig,
    api_version: String,
    mode: InteractiveMode,
    cluster: Option<ExecClusterInfo>,
    origin: String,
    timeout: Duration,
    cache: tokio::sync::Mutex<Cache>,
    /// The client certificate of the latest credential, for TLS handshakes.
    identity: std::sync::Mutex<Option<ClientIdentity>>,
}

impl fmt::Debug for ExecProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `exec` redacts env values; the cache holds secrets and is not printed.
        f.debug_struct("ExecProvider")
            .field("exec", &self.exec)
            .field("origin", &self.origin)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The last credential, and when a 401 last made the plugin run.
#[derive(Default)]
struct Cache {
    cred: Option<ExecCredential>,
    forced_at: Option<Instant>,
}

/// How long a credential fetched after a 401 is handed to other refused requests.
const FORCED_REUSE: Duration = Duration::from_secs(1);

/// Why an exec section cannot be used as it is, for the caller to turn into an
/// error against the right field.
#[derive(Debug)]
pub(crate) struct ExecConfigError {
    pub field: &'static str,
    pub reason: String,
}

impl ExecProvider {
    /// A provider for `exec`. `cluster` is passed to the plugin when the kubeconfig
    /// sets `provideClusterInfo`; `origin` names the kubeconfig entry in messages.
    pub(crate) fn new(
        exec: &ExecConfig,
        cluster: Option<ExecClusterInfo>,
        origin: String,
    ) -> Result<Self, ExecConfigError> {
        if exec.command.trim().is_empty() {
            return Err(ExecConfigError {
                field: "exec.command",
                reason: "must be set".to_owned(),
            });
        }
        let api_version = match exec.api_version.as_deref().unwrap_or_default() {
            v @ ("client.authentication.k8s.io/v1" | "client.authentication.k8s.io/v1beta1") => {
                v.to_owned()
            }
            "" => {
                return Err(ExecConfigError {
                    field: "exec.apiVersion",
                    reason: "must be set (client.authentication.k8s.io/v1 or v1beta1)".to_owned(),
                });
            }
            other => {
                return Err(ExecConfigError {
                    field: "exec.apiVersion",
                    reason: format!(
                        "{other:?} is not supported (use client.authentication.k8s.io/v1 or v1beta1)"
                    ),
                });
            }
        };
        let mode = match exec.interactive_mode.as_deref() {
            None | Some("") if api_version.ends_with("/v1") => {
                return Err(ExecConfigError {
                    field: "exec.interactiveMode",
                    reason: "must be set for client.authentication.k8s.io/v1 (Never, IfAvailable or Always)".to_owned(),
                });
            }
            None | Some("") => InteractiveMode::IfAvailable,
            Some(m) => InteractiveMode::parse(m).ok_or_else(|| ExecConfigError {
                field: "exec.interactiveMode",
                reason: format!("{m:?} is not one of Never, IfAvailable, Always"),
            })?,
        };
        let cluster = if exec.provide_cluster_info.unwrap_or(false) {
            cluster
        } else {
            None
        };
        Ok(ExecProvider {
            exec: exec.clone(),
            api_version,
            mode,
            cluster,
            origin,
            timeout: DEFAULT_EXEC_TIMEOUT,
            cache: tokio::sync::Mutex::new(Cache::default()),
            identity: std::sync::Mutex::new(None),
        })
    }

    /// Kill the plugin and fail when it runs longer than `timeout`.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The cached credential if still valid, else a fresh one from the plugin.
    ///
    /// With `force` (after a 401) the plugin runs again, unless another forced run
    /// finished less than a second ago: requests that were refused together share
    /// one new credential instead of running the plugin once each.
    ///
    /// # Errors
    /// When the plugin cannot be run, fails, times out or prints something that is
    /// not a valid `ExecCredential`.
    pub async fn credential(&self, force: bool) -> Result<ExecCredential, CredentialError> {
        let mut cache = self.cache.lock().await;
        let recently_forced = cache.forced_at.is_some_and(|t| t.elapsed() < FORCED_REUSE);
        if (!force || recently_forced)
            && let Some(c) = cache.cred.as_ref().filter(|c| !c.expired())
        {
            return Ok(c.clone());
        }
        let fresh = self.run().await?;
        cache.cred = Some(fresh.clone());
        *self.identity.lock().unwrap_or_else(|p| p.into_inner()) =
            match (&fresh.client_certificate_data, &fresh.client_key_data) {
                (Some(cert), Some(key)) => Some(ClientIdentity::new(
                    cert.as_bytes().to_vec(),
                    key.expose().as_bytes().to_vec(),
                )),
                _ => None,
            };
        if force {
            cache.forced_at = Some(Instant::now());
        }
        Ok(fresh)
    }

    fn exec_info(&self, interactive: bool) -> Value {
        let mut spec = json!({ "interactive": interactive });
        if let Some(c) = &self.cluster {
            let mut cluster = json!({ "server": c.server });
            if let Some(n) = &c.tls_server_name {
                cluster["tls-server-name"] = json!(n);
            }
            if c.insecure_skip_tls_verify {
                cluster["insecure-skip-tls-verify"] = json!(true);
            }
            if let Some(ca) = &c.certificate_authority_data {
                cluster["certificate-authority-data"] =
                    json!(base64::engine::general_purpose::STANDARD.encode(ca));
            }
            if let Some(p) = &c.proxy_url {
                cluster["proxy-url"] = json!(p);
            }
            if c.disable_compression {
                cluster["disable-compression"] = json!(true);
            }
            if let Some(cfg) = &c.config {
                cluster["config"] = cfg.clone();
            }
            spec["cluster"] = cluster;
        }
        json!({
            "kind": "ExecCredential",
            "apiVersion": self.api_version,
            "spec": spec,
        })
    }

    fn failure(&self, what: String, stderr: &StderrHead) -> CredentialError {
        let mut message = format!(
            "{}: exec plugin {:?} {what}",
            self.origin, self.exec.command
        );
        let head = String::from_utf8_lossy(&stderr.head);
        let head = head.trim();
        if !head.is_empty() {
            message.push_str("\nstderr:\n");
            message.push_str(head);
            if stderr.dropped > 0 {
                message.push_str(&format!("\n[{} more bytes not shown]", stderr.dropped));
            }
        }
        if let Some(hint) = self.exec.install_hint.as_deref().filter(|h| !h.is_empty()) {
            message.push_str("\n\n");
            message.push_str(hint.trim_end());
        }
        CredentialError::new(message)
    }

    async fn run(&self) -> Result<ExecCredential, CredentialError> {
        let terminal = std::io::stdin().is_terminal();
        let interactive = match self.mode {
            InteractiveMode::Never => false,
            InteractiveMode::IfAvailable => terminal,
            InteractiveMode::Always if terminal => true,
            InteractiveMode::Always => {
                return Err(self.failure(
                    "needs a terminal (interactiveMode: Always) but standard input is not a terminal".to_owned(),
                    &StderrHead::default(),
                ));
            }
        };
        let mut cmd = tokio::process::Command::new(&self.exec.command);
        cmd.args(&self.exec.args)
            .envs(self.exec.env.iter().map(|e| (&e.name, &e.value)))
            .env(
                "KUBERNETES_EXEC_INFO",
                self.exec_info(interactive).to_string(),
            )
            .stdin(if interactive {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            // An interactive plugin talks to the user on stderr (prompts, a URL to
            // open), so it keeps the terminal's; otherwise the head of stderr is kept
            // for the error message.
            .stderr(if interactive {
                Stdio::inherit()
            } else {
                Stdio::piped()
            });
        tracing::debug!(
            command = %self.exec.command,
            args = self.exec.args.len(),
            interactive,
            "running exec credential plugin"
        );
        let output = match plugin_process::run(cmd, interactive, self.timeout).await {
            Ok(o) => o,
            Err(Failure::Io(e)) => {
                return Err(self.failure(format!("could not be run: {e}"), &StderrHead::default()));
            }
            Err(Failure::TimedOut(stderr)) => {
                return Err(self.failure(
                    format!("did not finish within {:?} and was killed", self.timeout),
                    &stderr,
                ));
            }
            Err(Failure::StdoutTooLarge(stderr)) => {
                return Err(self.failure(
                    format!(
                        "printed more than {} on stdout (the limit for an ExecCredential) and was killed",
                        human(MAX_EXEC_STDOUT_BYTES as u64)
                    ),
                    &stderr,
                ));
            }
        };
        if !output.status.success() {
            return Err(self.failure(format!("failed: {}", output.status), &output.stderr));
        }
        let cred = self.parse(&output.stdout).map_err(|why| {
            self.failure(
                format!("returned an invalid credential: {why}"),
                &StderrHead::default(),
            )
        })?;
        tracing::debug!(
            command = %self.exec.command,
            token = cred.token.is_some(),
            client_certificate = cred.client_certificate_data.is_some(),
            expires = ?cred.expiration,
            "exec credential plugin succeeded"
        );
        Ok(cred)
    }

    fn parse(&self, stdout: &[u8]) -> Result<ExecCredential, String> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Output {
            #[serde(default)]
            kind: String,
            #[serde(default)]
            api_version: String,
            status: Option<Status>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Status {
            expiration_timestamp: Option<String>,
            token: Option<String>,
            client_certificate_data: Option<String>,
            client_key_data: Option<String>,
        }
        // serde_json's messages quote at most a short piece of the input; a token could
        // be in it, so only the position is kept.
        let out: Output = serde_json::from_slice(stdout).map_err(|e| {
            format!(
                "its output is not ExecCredential JSON (line {}, column {})",
                e.line(),
                e.column()
            )
        })?;
        if out.kind != "ExecCredential" {
            return Err(format!("kind is {:?}, not \"ExecCredential\"", out.kind));
        }
        if out.api_version != self.api_version {
            return Err(format!(
                "apiVersion is {:?} but the kubeconfig asks for {:?}",
                out.api_version, self.api_version
            ));
        }
        let status = out.status.ok_or("it has no status")?;
        let nonempty = |s: Option<String>| s.filter(|s| !s.is_empty());
        let token = nonempty(status.token).map(SecretString::from);
        let cert = nonempty(status.client_certificate_data);
        let key = nonempty(status.client_key_data).map(SecretString::from);
        if cert.as_ref().is_some_and(|c| !c.contains("-----BEGIN ")) {
            return Err("status.clientCertificateData is not PEM".to_owned());
        }
        if key
            .as_ref()
            .is_some_and(|k| !k.expose().contains("-----BEGIN "))
        {
            return Err("status.clientKeyData is not PEM".to_owned());
        }
        match (&cert, &key) {
            // As client-go ("failed parsing client key/certificate"): an identity that
            // cannot be presented fails now; it must not become an anonymous connection.
            (Some(c), Some(k)) => identity::check(c.as_bytes(), k.expose().as_bytes())
                .map_err(|problem| match problem {
                    Problem::Certificate(why) => format!("status.clientCertificateData {why}"),
                    Problem::Key(why) => format!("status.clientKeyData {why}"),
                    Problem::Mismatch => "status.clientKeyData is not the key of the certificate in status.clientCertificateData".to_owned(),
                })?,
            (Some(_), None) => return Err("status.clientKeyData is missing".to_owned()),
            (None, Some(_)) => {
                return Err("status.clientCertificateData is missing".to_owned());
            }
            (None, None) if token.is_none() => {
                return Err(
                    "status has neither a token nor clientCertificateData/clientKeyData".to_owned(),
                );
            }
            _ => {}
        }
        let expiration = match status.expiration_timestamp.as_deref() {
            None | Some("") => None,
            Some(ts) => Some(parse_rfc3339(ts).ok_or_else(|| {
                format!("status.expirationTimestamp {ts:?} is not an RFC 3339 time")
            })?),
        };
        Ok(ExecCredential {
            token,
            client_certificate_data: cert,
            client_key_data: key,
            expiration,
        })
    }
}

/// A token becomes a bearer header; a certificate-only credential sends no header
/// (its certificate is presented at the TLS handshake, see
/// [`ClientCertificateSource`]).
fn to_auth(c: ExecCredential) -> Auth {
    match c.token {
        Some(t) => Auth::Bearer(t),
        None => Auth::None,
    }
}

impl CredentialProvider for ExecProvider {
    fn credentials(&self) -> CredentialFuture<'_> {
        Box::pin(async move { self.credential(false).await.map(to_auth) })
    }

    fn refresh(&self) -> CredentialFuture<'_> {
        Box::pin(async move { self.credential(true).await.map(to_auth) })
    }
}

/// The plugin's client certificate, read by rest-core at each TLS handshake. The
/// [`CredentialProvider`] side runs before every request, so the certificate here is
/// the one of a credential that has not expired (or was just fetched after a 401);
/// new connections present it.
impl ClientCertificateSource for ExecProvider {
    fn current(&self) -> Option<ClientIdentity> {
        self.identity
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Parse an RFC 3339 timestamp (`2026-01-02T03:04:05Z`, with optional fraction and
/// numeric offset).
pub(crate) fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if !t.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut nanos: u64 = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let mut scale = 100_000_000u64;
        for c in frac[..digits.min(9)].bytes() {
            nanos += u64::from(c - b'0') * scale;
            scale /= 10;
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let ob = rest.as_bytes();
            if ob.len() != 6 || ob[3] != b':' {
                return None;
            }
            let sign = match ob[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let h: i64 = rest.get(1..3)?.parse().ok()?;
            let m: i64 = rest.get(4..6)?.parse().ok()?;
            sign * (h * 3600 + m * 60)
        }
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec - offset;
    let base = if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    };
    Some(base + Duration::from_nanos(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        let t = |s| parse_rfc3339(s).map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_secs_f64());
        assert_eq!(t("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(t("2026-11-27T03:40:38Z"), Some(1_795_750_838.0));
        assert_eq!(t("2026-11-27T04:40:38+01:00"), Some(1_795_750_838.0));
        assert_eq!(t("2000-02-29T00:00:00.5Z"), Some(951_782_400.5));
        assert_eq!(t("2026-11-27"), None);
        assert_eq!(t("2026-13-01T00:00:00Z"), None);
        assert_eq!(t("2026-11-27T03:40:38"), None);
        assert_eq!(t("2026-11-27T03:40:38.Z"), None);
    }
}
