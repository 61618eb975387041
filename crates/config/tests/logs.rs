//! Secrets never reach the logs: every credential type is used end to end over TLS
//! (and made to fail) while a tracing subscriber at TRACE level writes everything to a
//! buffer, which is then searched for each secret. `Debug` of every value a caller
//! holds is searched too.
#![cfg(unix)]

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt as _;
use std::sync::{Arc, Mutex};

use common::{TempDir, b64, list_namespaces, tls_kubeconfig};
use kubecto_config::{InCluster, Overrides};
use kubecto_testserver::TestServer;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const TOKEN: &str = "static-SECRET-token";
const FILE_TOKEN: &str = "file-SECRET-token";
const EXEC_TOKEN: &str = "exec-SECRET-token";
const EXEC_ENV: &str = "env-SECRET-value";
const PASSWORD: &str = "basic-SECRET-password";

#[tokio::test(flavor = "current_thread")]
async fn no_secret_in_trace_logs_or_debug_output() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = TestServer::builder()
        .tls()
        .token(TOKEN, "static")
        .token(FILE_TOKEN, "file")
        .token(EXEC_TOKEN, "exec")
        .start()
        .await
        .unwrap();
    let cert = server.issue_client_cert("cert-user", None).unwrap();
    let key_marker = cert.key_pem.lines().nth(1).expect("a key line").to_owned();
    let dir = TempDir::new("logs");
    dir.write("token", FILE_TOKEN);
    dir.write("cred.json", format!(r#"{{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{{"token":"{EXEC_TOKEN}"}}}}"#));
    let plugin = dir.path().join("plugin");
    std::fs::write(
        &plugin,
        format!("#!/bin/sh\ncat {}/cred.json\n", dir.path().display()),
    )
    .unwrap();
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let failing = dir.path().join("failing");
    std::fs::write(&failing, "#!/bin/sh\necho 'no luck' >&2\nexit 1\n").unwrap();
    std::fs::set_permissions(&failing, std::fs::Permissions::from_mode(0o755)).unwrap();

    let users = [
        format!("token: {TOKEN}"),
        "tokenFile: token".to_owned(),
        format!(
            "exec:\n  command: {}\n  apiVersion: client.authentication.k8s.io/v1\n  interactiveMode: Never\n  env:\n  - name: API_KEY\n    value: {EXEC_ENV}",
            plugin.display()
        ),
        format!(
            "client-certificate-data: {}\nclient-key-data: {}",
            b64(&cert.cert_pem),
            b64(&cert.key_pem)
        ),
        // Refused by the server (401): errors are logged and returned.
        format!("username: admin\npassword: {PASSWORD}"),
        format!("token: {TOKEN}-but-wrong"),
        format!(
            "exec:\n  command: {}\n  apiVersion: client.authentication.k8s.io/v1\n  interactiveMode: Never\n  env:\n  - name: API_KEY\n    value: {EXEC_ENV}",
            failing.display()
        ),
    ];
    let mut outputs = Vec::new();
    for user in &users {
        let path = dir.write("config", tls_kubeconfig(&server, "", user));
        let selected = kubecto_config::load(Some(&path), &Overrides::default()).unwrap();
        outputs.push(format!("{selected:?}"));
        let config = selected.rest_config().unwrap();
        outputs.push(format!("{config:?}"));
        match list_namespaces(&config).await {
            Ok(_) => {}
            Err(e) => outputs.push(format!("{e} {e:?} {}", common::chain(&e))),
        }
        let kubeconfig = kubecto_config::Kubeconfig::read_from(&path).unwrap();
        outputs.push(format!("{kubeconfig:?}"));
    }
    dir.write("sa/token", FILE_TOKEN);
    let inferred = InCluster::default()
        .service("127.0.0.1", server.addr().port().to_string())
        .dir(dir.path().join("sa"))
        .load()
        .unwrap();
    outputs.push(format!("{inferred:?}"));
    let users_seen: Vec<_> = server.requests().into_iter().map(|r| r.user).collect();
    assert!(
        ["static", "file", "exec", "cert-user"]
            .iter()
            .all(|u| users_seen.contains(&Some((*u).to_owned()))),
        "{users_seen:?}"
    );

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "logs were captured: {logs}"
    );
    assert!(logs.contains("exec credential plugin"), "{logs}");
    for (what, text) in [
        ("logs", logs.as_str()),
        ("debug output", &outputs.join("\n")),
    ] {
        for secret in [
            TOKEN,
            FILE_TOKEN,
            EXEC_TOKEN,
            EXEC_ENV,
            PASSWORD,
            key_marker.as_str(),
        ] {
            assert!(!text.contains(secret), "{what} leak {secret:?}:\n{text}");
        }
        assert!(
            !text.contains(&b64(&cert.key_pem)),
            "{what} leak the key's base64"
        );
    }
}
