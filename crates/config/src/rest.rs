//! From a selected context to a [`kubecto_rest_core::Config`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kubecto_rest_core::{Config, Impersonate, PemSource, Proxy, SecretString};

use crate::error::{Error, Location, Result};
use crate::exec::{CLUSTER_EXEC_EXTENSION, ExecClusterInfo, ExecProvider};
use crate::identity::{self, Problem};
use crate::material::{decode_data, expect_pem, read_file, read_token_file};
use crate::select::{SelectedContext, non_empty};
use crate::token_file::TokenFileProvider;

/// A non-empty string field.
fn set(s: Option<&String>) -> Option<&str> {
    s.map(String::as_str).filter(|s| !s.is_empty())
}

impl SelectedContext {
    /// Build the rest-core `Config` for this context: `host` from the cluster's
    /// `server`, TLS from its CA / `tls-server-name` / `insecure-skip-tls-verify` and
    /// the user's client certificate and key, authentication from the user's token,
    /// token file or user name and password, and impersonation from `as*`.
    ///
    /// Inline `*-data` fields win over the matching path fields (with a warning when
    /// both are set). Files named by the kubeconfig are checked here, so a missing or
    /// non-PEM file is reported against its field now rather than as a TLS failure
    /// later. A token file becomes a [`TokenFileProvider`], re-read when it is rotated.
    ///
    /// The API path and group/version are rest-core's defaults (`api`, `v1`); set them
    /// on the result for other groups.
    ///
    /// # Errors
    /// [`Error::MissingField`] (no `server`, a certificate without its key),
    /// [`Error::InvalidValue`] (a `server` that is not an http(s) URL, non-PEM data, a
    /// client certificate or key that does not parse or a key that is not the
    /// certificate's,
    /// two authentication methods, an `exec` section without `apiVersion`),
    /// [`Error::InvalidBase64`], [`Error::ReferencedFile`], and
    /// [`Error::Unsupported`] for `auth-provider`, which this version does not implement.
    ///
    /// An `exec` plugin becomes an [`ExecProvider`], both the credential provider
    /// (tokens) and the client-certificate source (certificates) of the config; it
    /// runs on the first request, when its credential expires and after a 401.
    pub fn rest_config(&self) -> Result<Config> {
        self.build().map(|(config, _)| config)
    }

    /// [`SelectedContext::rest_config`], and for a user with an `exec` plugin, run the
    /// plugin now (off the async runtime's threads), so that a failing plugin is
    /// reported here rather than by the first request. The credential is cached by the
    /// config's provider: the first request does not run the plugin again.
    ///
    /// # Errors
    /// As [`SelectedContext::rest_config`], and [`Error::Credential`] when the plugin
    /// fails.
    pub async fn rest_config_async(&self) -> Result<Config> {
        let (config, exec) = self.build()?;
        if let Some(exec) = exec {
            exec.credential(false)
                .await
                .map_err(|source| Error::Credential { source })?;
        }
        Ok(config)
    }

    fn build(&self) -> Result<(Config, Option<Arc<ExecProvider>>)> {
        let cluster = &self.cluster;
        let user = &self.user;

        let server = set(cluster.server.as_ref()).ok_or_else(|| Error::MissingField {
            at: self.cluster_at("server"),
        })?;
        let host = check_server(server, || self.cluster_at("server"))?;
        let mut config = Config::new(host);

        // --- cluster: TLS --------------------------------------------------------
        config.tls.ca = self
            .pem(
                set(cluster.certificate_authority_data.as_ref()),
                non_empty(cluster.certificate_authority.as_ref()),
                ("certificate-authority-data", "certificate-authority"),
                |f| self.cluster_at(f),
            )?
            .map(|(source, _, _)| source);
        if let Some(name) = set(cluster.tls_server_name.as_ref()) {
            config.tls.server_name = Some(name.to_owned());
        }
        config.tls.insecure = cluster.insecure_skip_tls_verify.unwrap_or(false);
        config.disable_compression = cluster.disable_compression.unwrap_or(false);
        if config.tls.insecure && config.tls.ca.is_some() {
            // kubectl refuses this combination ("specifying a root certificates file
            // with the insecure flag is not allowed").
            return Err(Error::InvalidValue {
                at: self.cluster_at("insecure-skip-tls-verify"),
                reason: "cannot be true when a certificate authority is also set".to_owned(),
            });
        }
        // --- cluster: proxy ------------------------------------------------------
        // `proxy-url` wins over the environment; without it rest-core follows
        // HTTPS_PROXY/HTTP_PROXY/NO_PROXY as client-go does.
        if let Some(url) = set(cluster.proxy_url.as_ref()) {
            config.proxy = Proxy::Url(check_proxy_url(url, || self.cluster_at("proxy-url"))?);
        }

        // --- user: unsupported plugins first, so the message is about them --------
        if let Some(p) = &user.auth_provider {
            let advice = match p.name.as_str() {
                "gcp" => {
                    " (kubectl removed it in 1.26: use the gke-gcloud-auth-plugin exec plugin)"
                }
                "azure" => " (kubectl removed it in 1.26: use the kubelogin exec plugin)",
                "oidc" => " (use an OIDC exec plugin such as kubelogin's oidc-login)",
                _ => " (use an exec credential plugin)",
            };
            return Err(Error::Unsupported {
                at: self.user_at("auth-provider"),
                what: format!("the {:?} auth provider{advice}", p.name),
            });
        }

        // --- user: client certificate ---------------------------------------------
        let cert = self.pem(
            set(user.client_certificate_data.as_ref()),
            non_empty(user.client_certificate.as_ref()),
            ("client-certificate-data", "client-certificate"),
            |f| self.user_at(f),
        )?;
        let key = self.pem(
            set(user.client_key_data.as_ref()),
            non_empty(user.client_key.as_ref()),
            ("client-key-data", "client-key"),
            |f| self.user_at(f),
        )?;
        // What the credentials are and where they come from, for the message of a 401.
        let mut origin = Vec::new();
        match (cert, key) {
            (Some((cert, cert_pem, cert_field)), Some((key, key_pem, key_field))) => {
                origin.push(match &cert {
                    PemSource::File(path) => {
                        format!("client certificate from file {}", path.display())
                    }
                    PemSource::Data(_) => {
                        format!("client certificate in kubeconfig {}", self.user_file())
                    }
                });
                // As client-go's X509KeyPair: a pair that cannot be presented is an error
                // against its field now, not a TLS failure (or none) later.
                identity::check(&cert_pem, &key_pem).map_err(|problem| {
                    let (field, reason) = match problem {
                        Problem::Certificate(why) => {
                            (cert_field, format!("the client certificate {why}"))
                        }
                        Problem::Key(why) => (key_field, format!("the client key {why}")),
                        Problem::Mismatch => (
                            key_field,
                            format!(
                                "the client key is not the key of the certificate in {cert_field}"
                            ),
                        ),
                    };
                    Error::InvalidValue {
                        at: self.user_at(field),
                        reason,
                    }
                })?;
                config = config.with_client_cert(cert, key);
            }
            (Some(_), None) => {
                return Err(Error::MissingField {
                    at: self.user_at("client-key"),
                });
            }
            (None, Some(_)) => {
                return Err(Error::MissingField {
                    at: self.user_at("client-certificate"),
                });
            }
            (None, None) => {}
        }

        // --- user: token, token file, basic auth, exec -----------------------------
        let token = set(user.token.as_ref());
        let token_file = non_empty(user.token_file.as_ref());
        let basic = set(user.username.as_ref()).is_some() || set(user.password.as_ref()).is_some();
        let mut exec_provider = None;
        if let Some(exec) = &user.exec {
            let provider = ExecProvider::new(
                exec,
                Some(self.exec_cluster_info(&config)?),
                self.user_at("exec").to_string(),
            )
            .map_err(|e| Error::InvalidValue {
                at: self.user_at(e.field),
                reason: e.reason,
            })?
            .with_timeout(self.exec_timeout);
            if token.is_some() || token_file.is_some() || basic {
                // As client-go: a static credential wins and the plugin is not run.
                tracing::warn!(
                    "{}: a token or user name/password is also set; the exec plugin is not used",
                    self.user_at("exec")
                );
            } else {
                exec_provider = Some(Arc::new(provider));
            }
        }
        if basic && (token.is_some() || token_file.is_some()) {
            return Err(Error::InvalidValue {
                at: self.user_at("username"),
                reason: "more than one authentication method: both a token and a user name/password are set".to_owned(),
            });
        }
        if let Some(path) = token_file {
            let at = || self.user_at("tokenFile");
            if token.is_none() {
                // Read once now so a missing or empty file is reported against its field.
                read_token_file(at, path)?;
            }
            let fallback = token.map(SecretString::from);
            origin.insert(0, format!("bearer token from file {}", path.display()));
            let provider = TokenFileProvider::new(path, at().to_string(), fallback);
            // Prime the cache; with a static token as fallback this cannot fail.
            let _ = provider.reload();
            config = config.with_credential_provider(Arc::new(provider));
        } else if let Some(token) = token {
            origin.insert(
                0,
                if self.token_from_overrides {
                    "bearer token given as an override".to_owned()
                } else {
                    format!("bearer token in kubeconfig {}", self.user_file())
                },
            );
            config = config.with_bearer_token(token);
        } else if basic {
            let username = user.username.clone().unwrap_or_default();
            origin.insert(
                0,
                format!(
                    "user name {username:?} and password in kubeconfig {}",
                    self.user_file()
                ),
            );
            let password = user.password.clone().unwrap_or_default();
            config = config.with_basic_auth(username, password);
        } else if let Some(provider) = &exec_provider {
            let command = user.exec.as_ref().map_or("", |e| e.command.as_str());
            origin.insert(0, format!("exec plugin {command}"));
            config = config.with_credential_provider(provider.clone());
            // A certificate in the kubeconfig wins over one from the plugin (rest-core
            // takes one or the other).
            if config.tls.client_cert.is_none() {
                config = config.with_client_cert_source(provider.clone());
            }
        }

        // --- user: impersonation -----------------------------------------------------
        // `Impersonate` is non-exhaustive in rest-core: build it through Default.
        let mut imp = Impersonate::default();
        imp.user = set(user.impersonate.as_ref()).map(str::to_owned);
        imp.uid = set(user.impersonate_uid.as_ref()).map(str::to_owned);
        imp.groups.clone_from(&user.impersonate_groups);
        imp.extra.clone_from(&user.impersonate_user_extra);
        if !imp.is_empty() {
            config = config.with_impersonate(imp);
        }

        config.credential_origin = Some(self.credential_origin(&origin));
        Ok((config, exec_provider))
    }

    /// Whose credentials these are, as a noun phrase for the message of a 401:
    /// `the credentials of user "alice" (bearer token from file /run/token)`.
    fn credential_origin(&self, sources: &[String]) -> String {
        if self.user_name.is_empty() {
            format!(
                "anonymous access (context {:?} names no user)",
                self.context_name
            )
        } else if sources.is_empty() {
            format!(
                "anonymous access (user {:?} in kubeconfig {} has no credentials)",
                self.user_name,
                self.user_file()
            )
        } else {
            format!(
                "the credentials of user {:?} ({})",
                self.user_name,
                sources.join(" and ")
            )
        }
    }

    /// The file that defines the user, for messages.
    fn user_file(&self) -> String {
        match &self.user_source {
            Some(p) => p.display().to_string(),
            None => "<string>".to_owned(),
        }
    }

    /// The cluster as an exec plugin sees it (`KUBERNETES_EXEC_INFO.spec.cluster`).
    fn exec_cluster_info(&self, config: &Config) -> Result<ExecClusterInfo> {
        let cluster = &self.cluster;
        let ca = match &config.tls.ca {
            Some(PemSource::Data(d)) => Some(d.clone()),
            Some(PemSource::File(p)) => {
                Some(read_file(|| self.cluster_at("certificate-authority"), p)?)
            }
            None => None,
        };
        let ext = cluster
            .extensions
            .iter()
            .find(|e| e.name == CLUSTER_EXEC_EXTENSION)
            .map(|e| serde_json::to_value(&e.extension))
            .transpose()
            .map_err(|e| Error::InvalidValue {
                at: self.cluster_at("extensions"),
                reason: format!("the {CLUSTER_EXEC_EXTENSION} extension is not JSON-like: {e}"),
            })?;
        let mut info = ExecClusterInfo::default();
        info.server.clone_from(&config.host);
        info.tls_server_name.clone_from(&config.tls.server_name);
        info.insecure_skip_tls_verify = config.tls.insecure;
        info.certificate_authority_data = ca;
        info.proxy_url = set(cluster.proxy_url.as_ref()).map(str::to_owned);
        info.disable_compression = cluster.disable_compression.unwrap_or(false);
        info.config = ext;
        Ok(info)
    }

    /// PEM material from an inline `*-data` field (wins) or a path field: the source
    /// for rest-core, the bytes read now, and the field they came from.
    fn pem(
        &self,
        data: Option<&str>,
        path: Option<&Path>,
        (data_field, path_field): (&'static str, &'static str),
        at: impl Fn(&'static str) -> Location,
    ) -> Result<Option<(PemSource, Vec<u8>, &'static str)>> {
        if let Some(data) = data {
            if path.is_some() {
                tracing::warn!(
                    "{}: both {data_field} and {path_field} are set; {data_field} is used",
                    at(data_field)
                );
            }
            let bytes = decode_data(|| at(data_field), data)?;
            expect_pem(|| at(data_field), &bytes)?;
            return Ok(Some((PemSource::Data(bytes.clone()), bytes, data_field)));
        }
        if let Some(path) = path {
            let bytes = read_file(|| at(path_field), path)?;
            expect_pem(|| at(path_field), &bytes)?;
            return Ok(Some((
                PemSource::File(PathBuf::from(path)),
                bytes,
                path_field,
            )));
        }
        Ok(None)
    }
}

/// Check that `server` is an `http://` or `https://` URL with a host; a bare
/// `host:port` gets `https://`, as client-go does when TLS is in use.
fn check_server(server: &str, at: impl Fn() -> Location) -> Result<String> {
    let server = server.trim();
    let url = if server.contains("://") {
        server.to_owned()
    } else {
        format!("https://{server}")
    };
    let (scheme, rest) = url.split_once("://").unwrap_or(("", ""));
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(Error::InvalidValue {
            at: at(),
            reason: format!("{server:?} is not an http:// or https:// URL"),
        });
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains(char::is_whitespace) {
        return Err(Error::InvalidValue {
            at: at(),
            reason: format!("{server:?} has no host"),
        });
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// Check a `proxy-url`: an `http://`, `https://`, `socks5://` or `socks5h://`
/// `host[:port]` URL, optionally with credentials (client-go takes `http`, `https` and
/// `socks5`). Messages never quote the URL, which may hold a password.
fn check_proxy_url(url: &str, at: impl Fn() -> Location) -> Result<String> {
    let url = url.trim();
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(Error::InvalidValue {
            at: at(),
            reason: "not a URL (expected http://host:port)".to_owned(),
        });
    };
    match scheme.to_ascii_lowercase().as_str() {
        "http" | "https" | "socks5" | "socks5h" => {}
        _ => {
            return Err(Error::InvalidValue {
                at: at(),
                reason: format!(
                    "unknown proxy scheme {scheme:?} (expected http, https, socks5 or socks5h)"
                ),
            });
        }
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host.is_empty() || host.starts_with(':') || host.contains(char::is_whitespace) {
        return Err(Error::InvalidValue {
            at: at(),
            reason: "the proxy URL has no host".to_owned(),
        });
    }
    Ok(url.to_owned())
}
