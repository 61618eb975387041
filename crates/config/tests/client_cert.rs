//! Client certificates end to end over TLS: the test server authenticates the
//! certificate's CN. Certificate and key from files and from `*-data`, and keys as
//! PKCS#8 (EC and RSA), PKCS#1 (`RSA PRIVATE KEY`) and SEC1 (`EC PRIVATE KEY`).

mod common;

use common::{TempDir, b64, config_from, list_namespaces, tls_kubeconfig};
use kubecto_testserver::TestServer;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/certs");

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap()
}

/// A TLS server that requires authentication and also trusts the fixture CA.
async fn server() -> TestServer {
    TestServer::builder()
        .tls()
        .client_ca(fixture("ca.crt"))
        .require_auth()
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_generated_ec_pkcs8_certificate_as_data_and_as_files() {
    let server = server().await;
    let alice = server.issue_client_cert("alice", Some("devs")).unwrap();
    let dir = TempDir::new("cert");

    let data = format!(
        "client-certificate-data: {}\nclient-key-data: {}",
        b64(&alice.cert_pem),
        b64(&alice.key_pem)
    );
    let config = config_from(&dir, &tls_kubeconfig(&server, "", &data)).unwrap();
    list_namespaces(&config).await.unwrap();

    dir.write("certs/alice.crt", &alice.cert_pem);
    dir.write("certs/alice.key", &alice.key_pem);
    let files = "client-certificate: certs/alice.crt\nclient-key: certs/alice.key";
    let config = config_from(&dir, &tls_kubeconfig(&server, "", files)).unwrap();
    list_namespaces(&config).await.unwrap();

    let users: Vec<_> = server.requests().into_iter().map(|r| r.user).collect();
    assert_eq!(users, [Some("alice".to_owned()), Some("alice".to_owned())]);
}

#[tokio::test]
async fn rsa_pkcs1_rsa_pkcs8_and_ec_sec1_keys() {
    let server = server().await;
    let dir = TempDir::new("cert-formats");
    for (cert, key, user) in [
        ("rsa.crt", "rsa-pkcs1.key", "rsa-user"),
        ("rsa.crt", "rsa-pkcs8.key", "rsa-user"),
        ("ec.crt", "ec-sec1.key", "ec-user"),
    ] {
        server.clear_requests();
        let data = format!(
            "client-certificate-data: {}\nclient-key-data: {}",
            b64(&fixture(cert)),
            b64(&fixture(key))
        );
        let config = config_from(&dir, &tls_kubeconfig(&server, "", &data)).unwrap();
        list_namespaces(&config)
            .await
            .unwrap_or_else(|e| panic!("{key}: {}", common::chain(&e)));
        assert_eq!(server.requests()[0].user.as_deref(), Some(user), "{key}");
    }
}

#[tokio::test]
async fn a_certificate_from_an_untrusted_ca_or_a_mismatched_key_fails() {
    let server = TestServer::builder()
        .tls()
        .require_auth()
        .start()
        .await
        .unwrap();
    let dir = TempDir::new("cert-untrusted");
    // The fixture CA is not trusted by this server.
    let data = format!(
        "client-certificate-data: {}\nclient-key-data: {}",
        b64(&fixture("ec.crt")),
        b64(&fixture("ec-sec1.key"))
    );
    let config = config_from(&dir, &tls_kubeconfig(&server, "", &data)).unwrap();
    assert!(list_namespaces(&config).await.is_err());

    // A certificate with another certificate's key: refused by `rest_config`, against
    // the key's field.
    let alice = server.issue_client_cert("alice", None).unwrap();
    let data = format!(
        "client-certificate-data: {}\nclient-key-data: {}",
        b64(&alice.cert_pem),
        b64(&fixture("ec-sec1.key"))
    );
    let err = config_from(&dir, &tls_kubeconfig(&server, "", &data)).unwrap_err();
    assert!(
        err.to_string().ends_with(
            "user \"u1\", field client-key-data: the client key is not the key of the certificate in client-certificate-data"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_kubeconfig_key_or_certificate_that_does_not_parse_is_refused_naming_its_field() {
    let server = TestServer::builder().tls().start().await.unwrap();
    let alice = server.issue_client_cert("alice", None).unwrap();
    let garbage_key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    let garbage_cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    let dir = TempDir::new("cert-garbage");
    dir.write("garbage.key", garbage_key);
    dir.write("garbage.crt", garbage_cert);
    dir.write("alice.crt", &alice.cert_pem);
    dir.write("alice.key", &alice.key_pem);
    for (user, expected) in [
        (
            format!(
                "client-certificate-data: {}\nclient-key-data: {}",
                b64(&alice.cert_pem),
                b64(garbage_key)
            ),
            "field client-key-data: the client key is not a usable private key",
        ),
        (
            "client-certificate: alice.crt\nclient-key: garbage.key".to_owned(),
            "field client-key: the client key is not a usable private key",
        ),
        (
            "client-certificate: garbage.crt\nclient-key: alice.key".to_owned(),
            "field client-certificate: the client certificate is not a usable certificate",
        ),
    ] {
        let err = config_from(&dir, &tls_kubeconfig(&server, "", &user)).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("user \"u1\""), "{text}");
        assert!(text.contains(expected), "{expected:?} not in {text}");
        assert!(!text.contains("PRIVATE KEY"), "{text}");
    }
}
