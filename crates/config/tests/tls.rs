//! TLS end to end against the test server with its generated CA: the CA from the
//! kubeconfig is trusted, `tls-server-name` is checked, a certificate for another
//! name or from another CA is refused, `insecure-skip-tls-verify` skips the check.

mod common;

use common::{TempDir, chain, config_from, list_namespaces, tls_kubeconfig};
use kubecto_testserver::TestServer;

async fn tls_server() -> TestServer {
    TestServer::builder().tls().start().await.unwrap()
}

#[tokio::test]
async fn the_ca_in_the_kubeconfig_is_trusted() {
    let server = tls_server().await;
    let dir = TempDir::new("tls-ok");
    // The test server's own kubeconfig embeds its CA.
    let path = dir.write("server-kubeconfig", server.kubeconfig());
    let config = kubecto_config::load(Some(&path), &Default::default())
        .unwrap()
        .rest_config()
        .unwrap();
    assert!(config.host.starts_with("https://"));
    let list = list_namespaces(&config).await.unwrap();
    assert_eq!(list["kind"], "NamespaceList");

    // The CA as a file, relative to the kubeconfig.
    dir.write("pki/ca.crt", server.ca_pem().unwrap());
    let yaml = common::simple(&server.url(), "{}")
        .replace("    user:\n    {}\n", "    user: {}\n")
        .replace(
            &format!("    server: {}\n", server.url()),
            &format!(
                "    server: {}\n    certificate-authority: pki/ca.crt\n",
                server.url()
            ),
        );
    let config = config_from(&dir, &yaml).unwrap();
    list_namespaces(&config).await.unwrap();
}

#[tokio::test]
async fn tls_server_name_is_what_the_certificate_is_checked_against() {
    let server = tls_server().await;
    let dir = TempDir::new("tls-name");
    // The serving certificate is valid for kubernetes.default.svc, not for this name.
    let good = tls_kubeconfig(&server, "tls-server-name: kubernetes.default.svc", "{}");
    list_namespaces(&config_from(&dir, &good).unwrap())
        .await
        .unwrap();

    let bad = tls_kubeconfig(&server, "tls-server-name: wrong.example.com", "{}");
    let err = list_namespaces(&config_from(&dir, &bad).unwrap())
        .await
        .unwrap_err();
    let text = chain(&err);
    assert!(
        text.contains("NotValidForName") || text.contains("not valid for name"),
        "{text}"
    );
    assert_eq!(server.requests().len(), 1, "no request got through");
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused() {
    // A server whose certificate names only api.example.test, reached as 127.0.0.1.
    let server = TestServer::builder()
        .tls_server_names(["api.example.test"])
        .start()
        .await
        .unwrap();
    let dir = TempDir::new("tls-wrong-name");
    let yaml = tls_kubeconfig(&server, "", "{}");
    let err = list_namespaces(&config_from(&dir, &yaml).unwrap())
        .await
        .unwrap_err();
    let text = chain(&err);
    assert!(
        text.contains("NotValidForName") || text.contains("not valid for name"),
        "{text}"
    );
    // ... and accepted under the right name.
    let yaml = tls_kubeconfig(&server, "tls-server-name: api.example.test", "{}");
    list_namespaces(&config_from(&dir, &yaml).unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_ca_mismatch_is_refused_and_insecure_skips_the_check() {
    let server = tls_server().await;
    let other = tls_server().await;
    let dir = TempDir::new("tls-ca");
    // The other server's CA does not sign this server's certificate.
    let yaml = tls_kubeconfig(&other, "", "{}").replace(&other.url(), &server.url());
    let err = list_namespaces(&config_from(&dir, &yaml).unwrap())
        .await
        .unwrap_err();
    let text = chain(&err);
    assert!(
        text.contains("UnknownIssuer") || text.contains("issuer"),
        "{text}"
    );
    assert!(server.requests().is_empty());

    // No CA at all: the built-in roots do not know the test CA either.
    let yaml = common::simple(&server.url(), "{}");
    assert!(
        list_namespaces(&config_from(&dir, &yaml).unwrap())
            .await
            .is_err()
    );

    // insecure-skip-tls-verify: accepted without any check.
    let yaml = common::simple(&server.url(), "{}").replace(
        &format!("    server: {}\n", server.url()),
        &format!(
            "    server: {}\n    insecure-skip-tls-verify: true\n",
            server.url()
        ),
    );
    list_namespaces(&config_from(&dir, &yaml).unwrap())
        .await
        .unwrap();
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn plain_http_servers_still_work() {
    let server = TestServer::start().await.unwrap();
    let dir = TempDir::new("plain");
    let config = config_from(&dir, &server.kubeconfig()).unwrap();
    list_namespaces(&config).await.unwrap();
}

#[tokio::test]
async fn disable_compression_reaches_the_rest_config() {
    let server = TestServer::start().await.unwrap();
    let dir = TempDir::new("compression");
    let yaml = common::simple(&server.url(), "{}");
    assert!(!config_from(&dir, &yaml).unwrap().disable_compression);
    let yaml = yaml.replace(
        &format!("    server: {}\n", server.url()),
        &format!(
            "    server: {}\n    disable-compression: true\n",
            server.url()
        ),
    );
    assert!(config_from(&dir, &yaml).unwrap().disable_compression);
}
