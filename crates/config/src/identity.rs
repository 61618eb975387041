//! Checking a client certificate and its private key before they are used, as
//! client-go's `tls.X509KeyPair` does ("failed parsing client key/certificate"): an
//! identity that cannot be presented must be an error, never a connection without one.

use rustls::sign::CertifiedKey;
use rustls::{Error as TlsError, InconsistentKeys};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Which half of an identity is wrong, and how. Messages never quote key material.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Problem {
    /// The certificate chain does not parse.
    Certificate(String),
    /// The key does not parse or cannot sign.
    Key(String),
    /// The key is not the certificate's.
    Mismatch,
}

/// Parse `cert_pem` (a chain, end-entity first) and `key_pem` (PKCS#8, PKCS#1 RSA or
/// SEC1 EC), load the key with the crypto provider rest-core uses, and check that it is
/// the key of the certificate.
pub(crate) fn check(cert_pem: &[u8], key_pem: &[u8]) -> Result<(), Problem> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Problem::Certificate(format!("is not PEM: {e}")))?;
    if chain.is_empty() {
        return Err(Problem::Certificate(
            "holds no CERTIFICATE block".to_owned(),
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| {
        Problem::Key(format!(
            "holds no PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC): {e}"
        ))
    })?;
    let signing = rustls::crypto::ring::default_provider()
        .key_provider
        .load_private_key(key)
        .map_err(|e| Problem::Key(format!("is not a usable private key: {e}")))?;
    match CertifiedKey::new(chain, signing).keys_match() {
        Ok(()) | Err(TlsError::InconsistentKeys(InconsistentKeys::Unknown)) => Ok(()),
        Err(TlsError::InconsistentKeys(_)) => Err(Problem::Mismatch),
        Err(e) => Err(Problem::Certificate(format!(
            "is not a usable certificate: {e}"
        ))),
    }
}
