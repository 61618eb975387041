//! Bearer tokens end to end over TLS: a static token, a token file rotated while the
//! client runs (re-read on change, and after a 401 before one retry), kube-apiserver's
//! 401 and 403, and impersonation as the server sees it.

mod common;

use std::time::Duration;

use common::{TempDir, config_from, list_namespaces, tls_kubeconfig};
use kubecto_rest_core::RestClient;
use kubecto_testserver::TestServer;

async fn server_with_token(token: &str) -> TestServer {
    TestServer::builder()
        .tls()
        .require_token(token)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_static_token_is_accepted_and_a_wrong_one_gets_401() {
    let server = server_with_token("s3cret").await;
    let dir = TempDir::new("token");
    let ok = config_from(&dir, &tls_kubeconfig(&server, "", "token: s3cret")).unwrap();
    list_namespaces(&ok).await.unwrap();
    assert_eq!(server.requests()[0].user.as_deref(), Some("kubecto-admin"));

    let bad = config_from(&dir, &tls_kubeconfig(&server, "", "token: wrong")).unwrap();
    let err = list_namespaces(&bad).await.unwrap_err();
    let status = err.status().expect("an API error");
    assert_eq!((status.code, status.reason.as_str()), (401, "Unauthorized"));
    // The message names the user and where its credentials come from, never the token.
    let file = dir.path().join("config");
    assert_eq!(
        err.to_string(),
        format!(
            "Unauthorized: the server refused the credentials of user \"u1\" (bearer token in kubeconfig {}) (Unauthorized, 401)",
            file.display()
        )
    );
    assert!(!format!("{err} {err:?}").contains("wrong"), "{err:?}");

    let anonymous = config_from(&dir, &tls_kubeconfig(&server, "", "{}")).unwrap();
    let err = list_namespaces(&anonymous).await.unwrap_err();
    assert_eq!(err.code(), Some(401));
    assert_eq!(
        err.to_string(),
        format!(
            "Unauthorized: the server refused anonymous access (user \"u1\" in kubeconfig {} has no credentials) (Unauthorized, 401)",
            file.display()
        )
    );
}

#[tokio::test]
async fn a_401_names_the_user_and_the_source_of_its_credentials() {
    let server = server_with_token("s3cret").await;
    let dir = TempDir::new("origin");
    let refused = async |user_yaml: &str| {
        let config = config_from(&dir, &tls_kubeconfig(&server, "", user_yaml)).unwrap();
        list_namespaces(&config).await.unwrap_err().to_string()
    };
    let token = dir.write("token", "wrong-token\n");
    assert_eq!(
        refused("tokenFile: token").await,
        format!(
            "Unauthorized: the server refused the credentials of user \"u1\" (bearer token from file {}) (Unauthorized, 401) (after 2 attempts; earlier: attempt 1: 401 Unauthorized, credentials refreshed)",
            token.display()
        )
    );
    let config = dir.path().join("config");
    assert_eq!(
        refused("username: admin\npassword: wrong-password").await,
        format!(
            "Unauthorized: the server refused the credentials of user \"u1\" (user name \"admin\" and password in kubeconfig {}) (Unauthorized, 401)",
            config.display()
        )
    );
    // A certificate the server issued, then stopped accepting.
    let issued = server.issue_client_cert("alice", None).unwrap();
    server.revoke_client_certs("alice");
    let cert = dir.write("client.crt", &issued.cert_pem);
    let key = dir.write("client.key", &issued.key_pem);
    assert_eq!(
        refused("client-certificate: client.crt\nclient-key: client.key").await,
        format!(
            "Unauthorized: the server refused the credentials of user \"u1\" (client certificate from file {}) (Unauthorized, 401)",
            cert.display()
        )
    );
    let _ = key;
    // A context with no user at all.
    let yaml = tls_kubeconfig(&server, "", "{}").replace("    user: u1\n", "");
    let config = config_from(&dir, &yaml).unwrap();
    assert_eq!(
        list_namespaces(&config).await.unwrap_err().to_string(),
        "Unauthorized: the server refused anonymous access (context \"ctx\" names no user) (Unauthorized, 401)"
    );
}

#[tokio::test]
async fn the_test_servers_own_kubeconfig_carries_ca_and_token() {
    let server = server_with_token("own-token").await;
    let dir = TempDir::new("own");
    let config = config_from(&dir, &server.kubeconfig()).unwrap();
    list_namespaces(&config).await.unwrap();
}

#[tokio::test]
async fn forbidden_users_get_403_and_impersonation_reaches_the_server() {
    let server = TestServer::builder()
        .tls()
        .token("bob-token", "bob")
        .token("admin-token", "admin")
        .forbid_user("bob")
        .start()
        .await
        .unwrap();
    let dir = TempDir::new("forbidden");
    let bob = config_from(&dir, &tls_kubeconfig(&server, "", "token: bob-token")).unwrap();
    let err = list_namespaces(&bob).await.unwrap_err();
    let status = err.status().unwrap();
    assert_eq!((status.code, status.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        status.message,
        "namespaces is forbidden: User \"bob\" cannot list resource \"namespaces\" in API group \"\" at the cluster scope"
    );

    let yaml = tls_kubeconfig(
        &server,
        "",
        "token: admin-token\nas: jane\nas-groups: [devs]",
    );
    let admin_as_jane = config_from(&dir, &yaml).unwrap();
    list_namespaces(&admin_as_jane).await.unwrap();
    assert_eq!(server.requests()[1].user.as_deref(), Some("jane"));

    let yaml = tls_kubeconfig(&server, "", "token: admin-token\nas: bob");
    let admin_as_bob = config_from(&dir, &yaml).unwrap();
    assert_eq!(
        list_namespaces(&admin_as_bob).await.unwrap_err().code(),
        Some(403)
    );
}

#[tokio::test]
async fn a_token_file_rotated_mid_run_is_picked_up() {
    let server = server_with_token("token-1").await;
    let dir = TempDir::new("token-file");
    let token = dir.write("token", "token-1\n");
    let config = config_from(&dir, &tls_kubeconfig(&server, "", "tokenFile: token")).unwrap();
    let client = RestClient::for_config(&config.without_rate_limit()).unwrap();
    let get = || async { client.get().resource("namespaces").send().await.map(|_| ()) };
    get().await.unwrap();
    get().await.unwrap();

    // The server rotates first: the client's cached token gets a 401, the provider
    // re-reads the file, which already holds the new token, and the retry succeeds.
    server.rotate_token("token-2");
    std::fs::write(&token, "token-2\n").unwrap();
    get().await.unwrap();
    let users: Vec<Option<String>> = server.requests().iter().map(|r| r.user.clone()).collect();
    // Two good requests, the refused one (no user) and its retry.
    assert_eq!(users.len(), 4, "{users:?}");
    assert_eq!(users[2], None);
    assert_eq!(users[3].as_deref(), Some("kubecto-admin"));

    // The file rotates first: after the recheck interval the new token is sent
    // without a 401.
    std::fs::write(&token, "token-3\n").unwrap();
    server.add_token("token-3", "kubecto-admin");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    server.clear_requests();
    get().await.unwrap();
    assert_eq!(server.requests().len(), 1, "{:?}", server.requests());
    server.revoke_token("token-2");
    get().await.unwrap();

    // A file that disappears: the last good token is kept.
    std::fs::remove_file(&token).unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    get().await.unwrap();
}
