//! Builds the rustls client configuration from [`TlsConfig`]: CA roots, client certificate,
//! and the insecure mode that skips server verification.

use std::sync::{Arc, Mutex};

use rustls::client::ResolvesClientCert;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use crate::config::{ClientCertificateSource, ClientIdentity, PemSource, TlsConfig};
use crate::error::{Error, Result};

fn tls_err(
    what: impl Into<String>,
    source: impl std::error::Error + Send + Sync + 'static,
) -> Error {
    Error::Tls {
        what: what.into(),
        source: Some(Box::new(source)),
    }
}

/// The most read from a CA, certificate or key file: PEM bundles are kilobytes, and a
/// path that names `/dev/zero` or a huge file must not be read whole.
pub const MAX_PEM_FILE_SIZE: u64 = 4 * 1024 * 1024;

fn read(what: &str, source: &PemSource) -> Result<Vec<u8>> {
    use std::io::Read;
    let path = match source {
        PemSource::Data(d) => return Ok(d.clone()),
        PemSource::File(path) => path,
    };
    let failed = |e: std::io::Error| Error::Config {
        what: format!("cannot read {what} file {}", path.display()),
        source: Some(Box::new(e)),
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_PEM_FILE_SIZE + 1).read_to_end(&mut bytes))
        .map_err(failed)?;
    if bytes.len() as u64 > MAX_PEM_FILE_SIZE {
        return Err(Error::Config {
            what: format!(
                "cannot read {what} file {}: larger than {} MiB, the limit for a PEM file",
                path.display(),
                MAX_PEM_FILE_SIZE / (1024 * 1024)
            ),
            source: None,
        });
    }
    Ok(bytes)
}

fn describe(what: &str, source: &PemSource) -> String {
    match source {
        PemSource::File(p) => format!("{what} in {}", p.display()),
        PemSource::Data(_) => format!("{what} data"),
    }
}

fn certs(what: &str, source: &PemSource) -> Result<Vec<CertificateDer<'static>>> {
    let pem = read(what, source)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_err(format!("invalid PEM {}", describe(what, source)), e))?;
    if certs.is_empty() {
        return Err(Error::Tls {
            what: format!("no certificate found in {}", describe(what, source)),
            source: None,
        });
    }
    Ok(certs)
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The platform's trusted roots. Unreadable or unparsable ones are skipped (and
/// logged); with none at all, verification fails later with a clear TLS error.
fn add_platform_roots(roots: &mut RootCertStore) {
    let found = rustls_native_certs::load_native_certs();
    for error in &found.errors {
        tracing::debug!(%error, "skipping unreadable platform root certificates");
    }
    let (added, skipped) = roots.add_parsable_certificates(found.certs);
    tracing::debug!(added, skipped, "loaded platform root certificates");
}

/// The rustls configuration for `tls` (and a changing client certificate), with ALPN left
/// to the connector. `plain_http`: the server is `http://`, so no handshake will ever
/// verify a server and the platform's roots are not loaded (about 10 M instructions).
pub(crate) fn client_config(
    tls: &TlsConfig,
    cert_source: Option<&Arc<dyn ClientCertificateSource>>,
    plain_http: bool,
) -> Result<(ClientConfig, Option<Arc<DynamicIdentity>>)> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err("no usable TLS protocol version", e))?;
    let builder = if tls.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(
                provider.signature_verification_algorithms,
            )))
    } else {
        let mut roots = RootCertStore::empty();
        match &tls.ca {
            Some(ca) => {
                for cert in certs("CA certificate", ca)? {
                    roots.add(cert).map_err(|e| {
                        tls_err(format!("unusable {}", describe("CA certificate", ca)), e)
                    })?;
                }
            }
            None if plain_http => {}
            None => add_platform_roots(&mut roots),
        }
        builder.with_root_certificates(roots)
    };
    if let Some(source) = cert_source {
        if tls.client_cert.is_some() || tls.client_key.is_some() {
            return Err(Error::Config {
                what: "both a client certificate and a client certificate source are set"
                    .to_owned(),
                source: None,
            });
        }
        let identity = Arc::new(DynamicIdentity {
            source: source.clone(),
            provider,
            cache: Mutex::new(None),
        });
        let mut config = builder.with_client_cert_resolver(identity.clone());
        // A resumed session would keep presenting the identity it was made with.
        config.resumption = rustls::client::Resumption::disabled();
        return Ok((config, Some(identity)));
    }
    match (&tls.client_cert, &tls.client_key) {
        (Some(cert), Some(key)) => {
            let chain = certs("client certificate", cert)?;
            let key_pem = read("client key", key)?;
            let key_der = PrivateKeyDer::from_pem_slice(&key_pem)
                .map_err(|e| tls_err(format!("invalid {}", describe("client key", key)), e))?;
            let config = builder
                .with_client_auth_cert(chain, key_der)
                .map_err(|e| tls_err("client certificate and key do not fit", e))?;
            Ok((config, None))
        }
        (None, None) => Ok((builder.with_no_client_auth(), None)),
        _ => Err(Error::Config {
            what: "a client certificate needs a client key, and a key needs a certificate"
                .to_owned(),
            source: None,
        }),
    }
}

/// Presents whatever identity the source gives now, parsing each new one once.
///
/// The client certificate of a [`ClientCertificateSource`], read at each handshake.
/// [`check`](Self::check) runs before the handshake, so an identity that cannot be used
/// fails the connection instead of making it anonymous (client-go: "failed parsing client
/// key/certificate").
pub(crate) struct DynamicIdentity {
    source: Arc<dyn ClientCertificateSource>,
    provider: Arc<CryptoProvider>,
    cache: Mutex<Option<(ClientIdentity, Arc<CertifiedKey>)>>,
}

impl std::fmt::Debug for DynamicIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamicIdentity").finish_non_exhaustive()
    }
}

/// The client certificate a source gave cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("the client certificate from its source cannot be used: {0}")]
pub(crate) struct UnusableIdentity(String);

impl DynamicIdentity {
    /// The key to present now (cached while the source's identity stays the same), or why
    /// the source's identity cannot be used.
    pub(crate) fn check(&self) -> std::result::Result<Option<Arc<CertifiedKey>>, UnusableIdentity> {
        let Some(id) = self.source.current() else {
            return Ok(None);
        };
        let mut cache = match self.cache.lock() {
            Ok(c) => c,
            Err(p) => p.into_inner(),
        };
        if let Some((cached_id, key)) = cache.as_ref()
            && *cached_id == id
        {
            return Ok(Some(key.clone()));
        }
        let key = self.load(&id).map_err(UnusableIdentity)?;
        *cache = Some((id, key.clone()));
        Ok(Some(key))
    }

    fn load(&self, id: &ClientIdentity) -> std::result::Result<Arc<CertifiedKey>, String> {
        let chain = CertificateDer::pem_slice_iter(&id.cert_pem)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| format!("invalid client certificate PEM: {e}"))?;
        if chain.is_empty() {
            return Err("no certificate in the client certificate PEM".to_owned());
        }
        let key = PrivateKeyDer::from_pem_slice(&id.key_pem)
            .map_err(|e| format!("invalid client key PEM: {e}"))?;
        let signing = self
            .provider
            .key_provider
            .load_private_key(key)
            .map_err(|e| format!("unusable client key: {e}"))?;
        Ok(Arc::new(CertifiedKey::new(chain, signing)))
    }
}

impl ResolvesClientCert for DynamicIdentity {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        // Checked just before the handshake; only an identity that changed in between
        // and cannot be used is not presented here.
        match self.check() {
            Ok(key) => key,
            Err(e) => {
                tracing::warn!(target: "kubecto::tls", "{e}; presenting none");
                None
            }
        }
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// The server name to verify, when the config overrides the URL's host.
pub(crate) fn server_name(name: &str) -> Result<ServerName<'static>> {
    let trimmed = name
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(name);
    ServerName::try_from(trimmed.to_owned())
        .map_err(|e| tls_err(format!("invalid TLS server name {name:?}"), e))
}

/// Accepts any server certificate (still checking handshake signatures). Insecure mode only.
#[derive(Debug)]
struct NoVerification(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}
