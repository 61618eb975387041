//! Builds the rustls client configuration from [`TlsConfig`]: CA roots, client certificate,
//! and the insecure mode that skips server verification.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use crate::config::{PemSource, TlsConfig};
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

fn read(what: &str, source: &PemSource) -> Result<Vec<u8>> {
    match source {
        PemSource::Data(d) => Ok(d.clone()),
        PemSource::File(path) => std::fs::read(path).map_err(|e| Error::Config {
            what: format!("cannot read {what} file {}", path.display()),
            source: Some(Box::new(e)),
        }),
    }
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

/// The rustls configuration for `tls`, with ALPN left to the connector.
pub(crate) fn client_config(tls: &TlsConfig) -> Result<ClientConfig> {
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
        if let Some(ca) = &tls.ca {
            for cert in certs("CA certificate", ca)? {
                roots.add(cert).map_err(|e| {
                    tls_err(format!("unusable {}", describe("CA certificate", ca)), e)
                })?;
            }
        }
        builder.with_root_certificates(roots)
    };
    match (&tls.client_cert, &tls.client_key) {
        (Some(cert), Some(key)) => {
            let chain = certs("client certificate", cert)?;
            let key_pem = read("client key", key)?;
            let key_der = PrivateKeyDer::from_pem_slice(&key_pem)
                .map_err(|e| tls_err(format!("invalid {}", describe("client key", key)), e))?;
            builder
                .with_client_auth_cert(chain, key_der)
                .map_err(|e| tls_err("client certificate and key do not fit", e))
        }
        (None, None) => Ok(builder.with_no_client_auth()),
        _ => Err(Error::Config {
            what: "a client certificate needs a client key, and a key needs a certificate"
                .to_owned(),
            source: None,
        }),
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
