//! Without a CA in the config, the platform's trusted roots verify the server, as in
//! client-go. The platform store is pointed at the test server's CA with
//! `SSL_CERT_FILE`, which must be set before the process starts: the test re-runs this
//! binary as a child with that variable.

use std::process::Command;

use kubecto_rest_core::{Config, RestClient};
use kubecto_testserver::TestServer;

const URL_VAR: &str = "KUBECTO_PLATFORM_ROOTS_URL";

#[tokio::test]
async fn no_configured_ca_uses_the_platform_roots() {
    let server = TestServer::builder().tls().start().await.unwrap();
    let url = server.url();
    assert!(url.starts_with("https://"), "{url}");

    // The test server's CA is not a platform root here: verification fails.
    let client = RestClient::new(Config::new(url.as_str())).unwrap();
    let err = client.get().abs_path("/version").send().await.unwrap_err();
    assert!(
        format!("{err:?}").to_lowercase().contains("certificate"),
        "{err:?}"
    );

    // Trusted through the platform store, the same config verifies.
    let dir = std::env::temp_dir().join(format!("kubecto-roots-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bundle = dir.join("ca.pem");
    std::fs::write(&bundle, server.ca_pem().unwrap()).unwrap();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "connects_through_platform_roots",
                "--nocapture",
            ])
            .env("SSL_CERT_FILE", &bundle)
            .env(URL_VAR, &url)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "the child test did not run: {stdout}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
#[ignore = "run by no_configured_ca_uses_the_platform_roots in a child process with SSL_CERT_FILE set"]
async fn connects_through_platform_roots() {
    let url = std::env::var(URL_VAR).expect("started by no_configured_ca_uses_the_platform_roots");
    let client = RestClient::new(Config::new(url.as_str())).unwrap();
    let res = client.get().abs_path("/version").send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
}
