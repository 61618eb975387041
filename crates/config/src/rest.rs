//! From a selected context to a [`kubecto_rest_core::Config`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kubecto_rest_core::{Config, Impersonate, PemSource, SecretString};

use crate::error::{Error, Location, Result};
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
    /// [`Error::InvalidValue`] (a `server` that is not an http(s) URL, non-PEM data,
    /// two authentication methods), [`Error::InvalidBase64`], [`Error::ReferencedFile`],
    /// and [`Error::Unsupported`] for `exec`, `auth-provider` and `proxy-url`, which
    /// this version does not implement.
    pub fn rest_config(&self) -> Result<Config> {
        let cluster = &self.cluster;
        let user = &self.user;

        let server = set(cluster.server.as_ref()).ok_or_else(|| Error::MissingField {
            at: self.cluster_at("server"),
        })?;
        let host = check_server(server, || self.cluster_at("server"))?;
        let mut config = Config::new(host);

        // --- cluster: TLS --------------------------------------------------------
        config.tls.ca = self.pem(
            set(cluster.certificate_authority_data.as_ref()),
            non_empty(cluster.certificate_authority.as_ref()),
            ("certificate-authority-data", "certificate-authority"),
            |f| self.cluster_at(f),
        )?;
        if let Some(name) = set(cluster.tls_server_name.as_ref()) {
            config.tls.server_name = Some(name.to_owned());
        }
        config.tls.insecure = cluster.insecure_skip_tls_verify.unwrap_or(false);
        if set(cluster.proxy_url.as_ref()).is_some() {
            return Err(Error::Unsupported {
                at: self.cluster_at("proxy-url"),
                what: "connecting through a proxy".to_owned(),
            });
        }

        // --- user: unsupported plugins first, so the message is about them --------
        if user.exec.is_some() {
            return Err(Error::Unsupported {
                at: self.user_at("exec"),
                what: "an exec credential plugin".to_owned(),
            });
        }
        if let Some(p) = &user.auth_provider {
            return Err(Error::Unsupported {
                at: self.user_at("auth-provider"),
                what: format!("the {:?} auth provider", p.name),
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
        match (cert, key) {
            (Some(cert), Some(key)) => config = config.with_client_cert(cert, key),
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

        // --- user: token, token file, basic auth -----------------------------------
        let token = set(user.token.as_ref());
        let token_file = non_empty(user.token_file.as_ref());
        let basic = set(user.username.as_ref()).is_some() || set(user.password.as_ref()).is_some();
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
            let provider = TokenFileProvider::new(path, at().to_string(), fallback);
            // Prime the cache; with a static token as fallback this cannot fail.
            let _ = provider.reload();
            config = config.with_credential_provider(Arc::new(provider));
        } else if let Some(token) = token {
            config = config.with_bearer_token(token);
        } else if basic {
            let username = user.username.clone().unwrap_or_default();
            let password = user.password.clone().unwrap_or_default();
            config = config.with_basic_auth(username, password);
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

        Ok(config)
    }

    /// PEM material from an inline `*-data` field (wins) or a path field.
    fn pem(
        &self,
        data: Option<&str>,
        path: Option<&Path>,
        (data_field, path_field): (&'static str, &'static str),
        at: impl Fn(&'static str) -> Location,
    ) -> Result<Option<PemSource>> {
        if let Some(data) = data {
            if path.is_some() {
                tracing::warn!(
                    "{}: both {data_field} and {path_field} are set; {data_field} is used",
                    at(data_field)
                );
            }
            let bytes = decode_data(|| at(data_field), data)?;
            expect_pem(|| at(data_field), &bytes)?;
            return Ok(Some(PemSource::Data(bytes)));
        }
        if let Some(path) = path {
            let bytes = read_file(|| at(path_field), path)?;
            expect_pem(|| at(path_field), &bytes)?;
            return Ok(Some(PemSource::File(PathBuf::from(path))));
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
