//! TLS for the test server: a CA generated at start (rcgen, ECDSA P-256), a serving
//! certificate it signs, client certificates it issues, and the rustls acceptor that
//! asks for (but does not require) a client certificate signed by that CA or by any
//! extra client CA, as kube-apiserver does with `--client-ca-file`.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// The names the serving certificate is valid for unless the builder says otherwise:
/// what a client reaches a local server by, and kube-apiserver's in-cluster names.
pub(crate) const DEFAULT_SERVER_NAMES: &[&str] = &[
    "localhost",
    "127.0.0.1",
    "::1",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
];

/// A client certificate and its private key, both PEM (the key is PKCS#8).
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCert {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key, PEM (`-----BEGIN PRIVATE KEY-----`).
    pub key_pem: String,
}

impl std::fmt::Debug for ClientCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCert")
            .field("cert_pem", &format_args!("<{} bytes>", self.cert_pem.len()))
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// The generated CA and the acceptor built on it.
pub(crate) struct Tls {
    ca_pem: String,
    issuer: Issuer<'static, KeyPair>,
    pub(crate) acceptor: TlsAcceptor,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").finish_non_exhaustive()
    }
}

fn err(what: &str, e: impl std::fmt::Display) -> String {
    format!("{what}: {e}")
}

impl Tls {
    /// A fresh CA, a serving certificate for `server_names` signed by it, and an
    /// acceptor that verifies client certificates against the CA and `client_cas`
    /// (PEM bundles).
    pub(crate) fn new(server_names: &[String], client_cas: &[String]) -> Result<Tls, String> {
        let ca_key = KeyPair::generate().map_err(|e| err("generating the CA key", e))?;
        let mut ca_params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        // A name of its own, so two servers' CAs are told apart (UnknownIssuer rather
        // than BadSignature when a client trusts the wrong one).
        let mut id = [0u8; 6];
        getrandom::fill(&mut id).map_err(|e| err("randomness", e))?;
        let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
        dn.push(DnType::CommonName, format!("kubecto-testserver-ca-{id}"));
        ca_params.distinguished_name = dn;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params
            .self_signed(&ca_key)
            .map_err(|e| err("signing the CA certificate", e))?;
        let ca_pem = ca_cert.pem();
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().map_err(|e| err("generating the server key", e))?;
        let mut params = CertificateParams::new(server_names.to_vec())
            .map_err(|e| err("the serving certificate's names", e))?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "kube-apiserver");
        params.distinguished_name = dn;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = params
            .signed_by(&server_key, &issuer)
            .map_err(|e| err("signing the serving certificate", e))?;

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        roots
            .add(ca_cert.der().clone())
            .map_err(|e| err("the generated CA", e))?;
        for (i, pem) in client_cas.iter().enumerate() {
            let mut n = 0;
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let cert = cert.map_err(|e| err(&format!("client CA #{i}"), e))?;
                roots
                    .add(cert)
                    .map_err(|e| err(&format!("client CA #{i}"), e))?;
                n += 1;
            }
            if n == 0 {
                return Err(format!("client CA #{i}: no certificate in the PEM text"));
            }
        }
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .allow_unauthenticated()
                .build()
                .map_err(|e| err("the client certificate verifier", e))?;
        let key = PrivateKeyDer::from_pem_slice(server_key.serialize_pem().as_bytes())
            .map_err(|e| err("the serving key", e))?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| err("TLS versions", e))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![server_cert.der().clone(), ca_cert.der().clone()], key)
            .map_err(|e| err("the serving certificate", e))?;
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Tls {
            ca_pem,
            issuer,
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// The CA certificate, PEM.
    pub(crate) fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    fn client_params(user: &str, group: Option<&str>) -> CertificateParams {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, user);
        if let Some(g) = group {
            dn.push(DnType::OrganizationName, g);
        }
        params.distinguished_name = dn;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params
    }

    /// A client certificate for `user` (CN) in `group` (O), with a fresh key.
    pub(crate) fn issue(&self, user: &str, group: Option<&str>) -> Result<ClientCert, String> {
        let key = KeyPair::generate().map_err(|e| err("generating a client key", e))?;
        let cert = Self::client_params(user, group)
            .signed_by(&key, &self.issuer)
            .map_err(|e| err("signing a client certificate", e))?;
        Ok(ClientCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// The user (subject CN) and groups (subject O) of a DER certificate, as
/// kube-apiserver's x509 authenticator reads them.
pub(crate) fn subject_identity(der: &[u8]) -> Option<(String, Vec<String>)> {
    // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL,
    //   serialNumber, signature, issuer, validity, subject, ... }, ... }
    let (_, cert, _) = tlv(der)?;
    let (_, mut tbs, _) = tlv(cert)?;
    let mut fields = Vec::new();
    while !tbs.is_empty() && fields.len() < 6 {
        let (tag, value, rest) = tlv(tbs)?;
        if !(fields.is_empty() && tag == 0xa0) {
            fields.push(value);
        }
        tbs = rest;
    }
    let mut subject = *fields.get(4)?;
    let mut cn = None;
    let mut groups = Vec::new();
    while !subject.is_empty() {
        let (_, mut set, rest) = tlv(subject)?;
        subject = rest;
        while !set.is_empty() {
            let (_, atv, more) = tlv(set)?;
            set = more;
            let (oid_tag, oid, value) = tlv(atv)?;
            if oid_tag != 0x06 {
                return None;
            }
            let (_, text, _) = tlv(value)?;
            let text = String::from_utf8_lossy(text).into_owned();
            match oid {
                [0x55, 0x04, 0x03] => cn = Some(text),
                [0x55, 0x04, 0x0a] => groups.push(text),
                _ => {}
            }
        }
    }
    Some((cn?, groups))
}

/// One DER tag-length-value: (tag, value, rest).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, input) = input.split_first()?;
    let (&first, mut input) = input.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || input.len() < n {
            return None;
        }
        let mut len = 0usize;
        for &b in &input[..n] {
            len = (len << 8) | usize::from(b);
        }
        input = &input[n..];
        len
    };
    if input.len() < len {
        return None;
    }
    Some((tag, &input[..len], &input[len..]))
}
