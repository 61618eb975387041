//! Exec credential plugins end to end over TLS. Each plugin is a small shell script
//! the test writes: it appends its arguments to a `runs` file (so runs are counted),
//! saves `KUBERNETES_EXEC_INFO` and prints the `cred.json` the test prepared.
#![cfg(unix)]

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{TempDir, b64, chain, list_namespaces, tls_kubeconfig};
use kubecto_config::{Error, Overrides, SelectedContext};
use kubecto_rest_core::RestClient;
use kubecto_testserver::TestServer;
use serde_json::{Value, json};

const V1: &str = "client.authentication.k8s.io/v1";
const V1BETA1: &str = "client.authentication.k8s.io/v1beta1";

/// Write an executable script `name` in `dir` with `body` after the shebang.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// The standard plugin: counts runs, records its environment, prints `cred.json`.
fn counting_plugin(dir: &TempDir) -> PathBuf {
    let d = dir.path().display();
    script(
        dir.path(),
        "bin/plugin",
        &format!(
            "echo \"$*\" >> {d}/runs\nprintf '%s' \"$KUBERNETES_EXEC_INFO\" > {d}/exec-info.json\nprintf '%s' \"$PLUGIN_SETTING\" > {d}/setting\ncat {d}/cred.json"
        ),
    )
}

fn runs(dir: &TempDir) -> usize {
    std::fs::read_to_string(dir.path().join("runs"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

fn write_cred(dir: &TempDir, api_version: &str, status: Value) {
    let cred = json!({"kind": "ExecCredential", "apiVersion": api_version, "status": status});
    dir.write("cred.json", cred.to_string());
}

/// `t` as RFC 3339 (UTC, whole seconds).
fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).unwrap().as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil from days (Howard Hinnant).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The user part of a kubeconfig running `command` with `extra` exec lines.
fn exec_user(command: &str, api_version: &str, extra: &str) -> String {
    let extra: String = extra.lines().map(|l| format!("\n  {l}")).collect();
    format!("exec:\n  command: {command}\n  apiVersion: {api_version}{extra}")
}

fn select(dir: &TempDir, yaml: &str) -> SelectedContext {
    let path = dir.write("config", yaml);
    kubecto_config::load(Some(&path), &Overrides::default()).unwrap()
}

async fn get(client: &RestClient) -> Result<(), kubecto_rest_core::Error> {
    client.get().resource("namespaces").send().await.map(|_| ())
}

#[tokio::test]
async fn a_token_plugin_runs_once_gets_cluster_info_and_reruns_after_a_401() {
    let server = TestServer::builder()
        .tls()
        .require_token("exec-token-1")
        .start()
        .await
        .unwrap();
    let dir = TempDir::new("exec-token");
    counting_plugin(&dir);
    write_cred(&dir, V1, json!({"token": "exec-token-1"}));
    // A relative command with a slash is resolved against the kubeconfig's directory.
    let user = exec_user(
        "./bin/plugin",
        V1,
        "args: [--region, eu-west-1]\nenv:\n- name: PLUGIN_SETTING\n  value: from-kubeconfig\ninteractiveMode: Never\nprovideClusterInfo: true\ninstallHint: install the plugin",
    );
    let extension = "extensions:\n- name: client.authentication.k8s.io/exec\n  extension:\n    audience: kubecto-tests";
    let yaml = tls_kubeconfig(&server, extension, &user);
    let config = select(&dir, &yaml).rest_config().unwrap();
    assert_eq!(
        runs(&dir),
        0,
        "the plugin runs on the first request, not before"
    );
    let client = RestClient::for_config(&config.without_rate_limit()).unwrap();
    for _ in 0..3 {
        get(&client).await.unwrap();
    }
    assert_eq!(runs(&dir), 1, "the token is cached (it has no expiry)");
    let args = std::fs::read_to_string(dir.path().join("runs")).unwrap();
    assert_eq!(args.trim(), "--region eu-west-1");
    let setting = std::fs::read_to_string(dir.path().join("setting")).unwrap();
    assert_eq!(setting, "from-kubeconfig");
    let info: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("exec-info.json")).unwrap())
            .unwrap();
    assert_eq!(info["kind"], "ExecCredential");
    assert_eq!(info["apiVersion"], V1);
    assert_eq!(info["spec"]["interactive"], false);
    let cluster = &info["spec"]["cluster"];
    assert_eq!(cluster["server"], server.url());
    assert_eq!(
        cluster["certificate-authority-data"],
        b64(&server.ca_pem().unwrap())
    );
    assert_eq!(cluster["config"], json!({"audience": "kubecto-tests"}));

    // The server rotates; the plugin now prints the new token. The cached one gets a
    // 401, the plugin runs again, the request is retried once and succeeds.
    server.rotate_token("exec-token-2");
    write_cred(&dir, V1, json!({"token": "exec-token-2"}));
    get(&client).await.unwrap();
    assert_eq!(runs(&dir), 2);
    get(&client).await.unwrap();
    assert_eq!(runs(&dir), 2);
}

#[tokio::test]
async fn without_provide_cluster_info_the_plugin_gets_no_cluster() {
    let server = TestServer::builder()
        .tls()
        .require_token("t")
        .start()
        .await
        .unwrap();
    let dir = TempDir::new("exec-no-cluster");
    let plugin = counting_plugin(&dir);
    write_cred(&dir, V1BETA1, json!({"token": "t"}));
    // v1beta1 needs no interactiveMode (IfAvailable).
    let user = exec_user(&plugin.display().to_string(), V1BETA1, "");
    let config = select(&dir, &tls_kubeconfig(&server, "", &user))
        .rest_config()
        .unwrap();
    list_namespaces(&config).await.unwrap();
    let info: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("exec-info.json")).unwrap())
            .unwrap();
    assert_eq!(info["apiVersion"], V1BETA1);
    assert!(info["spec"].get("cluster").is_none(), "{info}");
}

#[tokio::test]
async fn an_expired_credential_is_refreshed() {
    let server = TestServer::builder()
        .tls()
        .require_token("t")
        .start()
        .await
        .unwrap();
    let dir = TempDir::new("exec-expiry");
    let plugin = counting_plugin(&dir);
    let user = exec_user(
        &plugin.display().to_string(),
        V1,
        "interactiveMode: IfAvailable",
    );
    let config = select(&dir, &tls_kubeconfig(&server, "", &user))
        .rest_config()
        .unwrap();
    let client = RestClient::for_config(&config.without_rate_limit()).unwrap();

    // Already expired: every request runs the plugin.
    write_cred(
        &dir,
        V1,
        json!({"token": "t", "expirationTimestamp": "2000-01-01T00:00:00Z"}),
    );
    get(&client).await.unwrap();
    get(&client).await.unwrap();
    assert_eq!(runs(&dir), 2);

    // Valid for a few more seconds: cached until then, then run again.
    let soon = rfc3339(SystemTime::now() + Duration::from_secs(3));
    write_cred(&dir, V1, json!({"token": "t", "expirationTimestamp": soon}));
    get(&client).await.unwrap(); // the previous credential expired: run 3
    get(&client).await.unwrap();
    get(&client).await.unwrap();
    assert_eq!(runs(&dir), 3);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    get(&client).await.unwrap();
    assert_eq!(runs(&dir), 4);
    assert!(
        server.requests().iter().all(|r| r.user.is_some()),
        "no request went out with an expired token"
    );
}

#[tokio::test]
async fn a_failing_plugin_shows_its_stderr_and_install_hint() {
    let server = TestServer::builder()
        .tls()
        .require_token("t")
        .start()
        .await
        .unwrap();
    let dir = TempDir::new("exec-fail");
    let plugin = script(
        dir.path(),
        "failing-plugin",
        "echo 'error: the refresh token has expired; run \"acme login\"' >&2\nexit 3",
    );
    let user = exec_user(
        &plugin.display().to_string(),
        V1,
        "interactiveMode: Never\ninstallHint: |\n    acme-auth is needed: brew install acme-auth",
    );
    let config = select(&dir, &tls_kubeconfig(&server, "", &user))
        .rest_config()
        .unwrap();
    let err = list_namespaces(&config).await.unwrap_err();
    let text = chain(&err);
    for part in [
        "user \"u1\", field exec",
        "failing-plugin",
        "exit status: 3",
        "the refresh token has expired; run \"acme login\"",
        "acme-auth is needed: brew install acme-auth",
    ] {
        assert!(text.contains(part), "{part:?} not in {text}");
    }
    assert!(server.requests().is_empty(), "no request was sent");

    // rest_config_async runs the plugin now and reports the same.
    let err = select(&dir, &tls_kubeconfig(&server, "", &user))
        .rest_config_async()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Credential { .. }), "{err:?}");
    assert!(err.to_string().contains("exit status: 3"), "{err}");
}

#[tokio::test]
async fn a_missing_command_a_hanging_plugin_and_bad_output() {
    let dir = TempDir::new("exec-bad");
    let server = "https://127.0.0.1:1";
    let missing = exec_user(
        "kubecto-no-such-plugin",
        V1,
        "interactiveMode: Never\ninstallHint: get it from example.invalid",
    );
    let err = select(&dir, &common::simple(server, &missing))
        .rest_config_async()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("could not be run"), "{text}");
    assert!(text.contains("get it from example.invalid"), "{text}");

    let hang = script(dir.path(), "hang", "sleep 5");
    let user = exec_user(&hang.display().to_string(), V1, "interactiveMode: Never");
    let started = Instant::now();
    let err = select(&dir, &common::simple(server, &user))
        .with_exec_timeout(Duration::from_millis(300))
        .rest_config_async()
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the plugin was killed"
    );
    assert!(
        err.to_string().contains("did not finish within 300ms"),
        "{err}"
    );

    for (output, expected) in [
        ("not json", "is not ExecCredential JSON"),
        (
            r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","status":{"token":"x"}}"#,
            "apiVersion is \"client.authentication.k8s.io/v1beta1\" but the kubeconfig asks for \"client.authentication.k8s.io/v1\"",
        ),
        (
            r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{}}"#,
            "neither a token nor clientCertificateData",
        ),
        (
            r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"token":"x","expirationTimestamp":"tomorrow"}}"#,
            "is not an RFC 3339 time",
        ),
    ] {
        dir.write("out.json", output);
        let plugin = script(
            dir.path(),
            "printer",
            &format!("cat {}/out.json", dir.path().display()),
        );
        let user = exec_user(&plugin.display().to_string(), V1, "interactiveMode: Never");
        let err = select(&dir, &common::simple(server, &user))
            .rest_config_async()
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains(expected),
            "{expected:?} not in {err}"
        );
        assert!(
            !err.to_string().contains("\"x\""),
            "the token is not quoted"
        );
    }
}

#[tokio::test]
async fn interactive_mode_always_without_a_terminal_fails_clearly() {
    use std::io::IsTerminal as _;
    if std::io::stdin().is_terminal() {
        return; // run by hand in a terminal: the plugin would get it
    }
    let dir = TempDir::new("exec-interactive");
    let plugin = counting_plugin(&dir);
    write_cred(&dir, V1, json!({"token": "t"}));
    let user = exec_user(&plugin.display().to_string(), V1, "interactiveMode: Always");
    let err = select(&dir, &common::simple("https://127.0.0.1:1", &user))
        .rest_config_async()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains(
            "needs a terminal (interactiveMode: Always) but standard input is not a terminal"
        ),
        "{err}"
    );
    assert_eq!(runs(&dir), 0);
}

#[tokio::test]
async fn a_plugin_returning_a_client_certificate() {
    let server = TestServer::builder()
        .tls()
        .require_auth()
        .start()
        .await
        .unwrap();
    let cert = server.issue_client_cert("exec-cert-user", None).unwrap();
    let dir = TempDir::new("exec-cert");
    let plugin = counting_plugin(&dir);
    write_cred(
        &dir,
        V1,
        json!({"clientCertificateData": cert.cert_pem, "clientKeyData": cert.key_pem}),
    );
    let user = exec_user(&plugin.display().to_string(), V1, "interactiveMode: Never");
    let selected = select(&dir, &tls_kubeconfig(&server, "", &user));

    // rest_config_async runs the plugin now; requests reuse its credential.
    let config = selected.rest_config_async().await.unwrap();
    assert_eq!(runs(&dir), 1);
    assert!(!format!("{config:?}").contains(cert.key_pem.trim()));
    let client = RestClient::for_config(&config.without_rate_limit()).unwrap();
    get(&client).await.unwrap();
    get(&client).await.unwrap();
    assert_eq!(
        runs(&dir),
        1,
        "the credential is cached by the config's provider"
    );
    assert_eq!(server.requests()[0].user.as_deref(), Some("exec-cert-user"));

    // The plain rest_config works too: the plugin runs before the first handshake.
    let config = selected.rest_config().unwrap();
    list_namespaces(&config).await.unwrap();
    assert_eq!(runs(&dir), 2);
}

#[tokio::test]
async fn a_rotated_client_certificate_is_used_by_new_connections() {
    let server = TestServer::builder()
        .tls()
        .require_auth()
        .start()
        .await
        .unwrap();
    let dir = TempDir::new("exec-cert-rotation");
    let plugin = counting_plugin(&dir);
    let expired = "2000-01-01T00:00:00Z";
    let first = server.issue_client_cert("first-identity", None).unwrap();
    write_cred(
        &dir,
        V1,
        json!({"clientCertificateData": first.cert_pem, "clientKeyData": first.key_pem, "expirationTimestamp": expired}),
    );
    let user = exec_user(&plugin.display().to_string(), V1, "interactiveMode: Never");
    let config = select(&dir, &tls_kubeconfig(&server, "", &user))
        .rest_config()
        .unwrap();
    list_namespaces(&config).await.unwrap();

    let second = server.issue_client_cert("second-identity", None).unwrap();
    write_cred(
        &dir,
        V1,
        json!({"clientCertificateData": second.cert_pem, "clientKeyData": second.key_pem}),
    );
    // A new client (new connections) from the same config: the expired credential is
    // replaced before the handshake, which presents the new certificate.
    list_namespaces(&config).await.unwrap();
    let users: Vec<_> = server.requests().into_iter().map(|r| r.user).collect();
    assert_eq!(
        users,
        [
            Some("first-identity".to_owned()),
            Some("second-identity".to_owned())
        ]
    );
    assert_eq!(runs(&dir), 2);

    // A plugin whose certificate is not PEM is reported as such.
    write_cred(
        &dir,
        V1,
        json!({"clientCertificateData": "bm90IHBlbQ==", "clientKeyData": second.key_pem}),
    );
    std::fs::remove_file(dir.path().join("runs")).unwrap();
    let err = select(&dir, &tls_kubeconfig(&server, "", &user))
        .rest_config_async()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("clientCertificateData is not PEM"),
        "{err}"
    );
    assert!(!err.to_string().contains("PRIVATE KEY"), "{err}");
}

#[tokio::test]
async fn a_certificate_refused_with_401_is_replaced_on_a_new_connection_by_the_same_client() {
    let server = TestServer::builder()
        .tls()
        .require_auth()
        .start()
        .await
        .unwrap();
    let dir = TempDir::new("exec-cert-401");
    let plugin = counting_plugin(&dir);
    let first = server.issue_client_cert("first-identity", None).unwrap();
    write_cred(
        &dir,
        V1,
        json!({"clientCertificateData": first.cert_pem, "clientKeyData": first.key_pem}),
    );
    let user = exec_user(&plugin.display().to_string(), V1, "interactiveMode: Never");
    let config = select(&dir, &tls_kubeconfig(&server, "", &user))
        .rest_config()
        .unwrap();
    let client = RestClient::new(config).unwrap();
    get(&client).await.unwrap();
    get(&client).await.unwrap();
    assert_eq!(
        server.connections(),
        1,
        "the first identity's connection is reused"
    );

    // The server stops trusting the first certificate; the plugin now gives a second one.
    server.revoke_client_certs("first-identity");
    let second = server.issue_client_cert("second-identity", None).unwrap();
    write_cred(
        &dir,
        V1,
        json!({"clientCertificateData": second.cert_pem, "clientKeyData": second.key_pem}),
    );
    get(&client).await.expect(
        "after the 401 the plugin runs again and a new connection presents its certificate",
    );
    let users: Vec<_> = server.requests().into_iter().map(|r| r.user).collect();
    assert_eq!(
        users,
        [
            Some("first-identity".to_owned()),
            Some("first-identity".to_owned()),
            None,
            Some("second-identity".to_owned())
        ]
    );
    assert_eq!(server.connections(), 2);
    assert_eq!(runs(&dir), 2);
}

#[tokio::test]
async fn infer_runs_the_plugin_of_the_kubeconfig() {
    let server = TestServer::builder()
        .tls()
        .require_token("t")
        .start()
        .await
        .unwrap();
    let dir = TempDir::new("exec-infer");
    let plugin = counting_plugin(&dir);
    write_cred(&dir, V1, json!({"token": "t"}));
    let user = exec_user(&plugin.display().to_string(), V1, "interactiveMode: Never");
    let path = dir.write("config", tls_kubeconfig(&server, "", &user));
    let rules = kubecto_config::LoadingRules::default().explicit_path(&path);
    let inferred = kubecto_config::infer_with(
        &rules,
        &kubecto_config::InCluster::default(),
        &Overrides::default(),
    )
    .await
    .unwrap();
    assert_eq!(runs(&dir), 1);
    list_namespaces(&inferred.config).await.unwrap();
    assert_eq!(runs(&dir), 1);
}

#[test]
fn exec_sections_kubectl_refuses_are_refused() {
    let dir = TempDir::new("exec-config");
    for (user, field, reason) in [
        (
            "exec:\n  command: x".to_owned(),
            "exec.apiVersion",
            "must be set",
        ),
        (
            exec_user("x", "client.authentication.k8s.io/v1alpha1", ""),
            "exec.apiVersion",
            "is not supported",
        ),
        (
            exec_user("x", V1, ""),
            "exec.interactiveMode",
            "must be set",
        ),
        (
            exec_user("x", V1, "interactiveMode: Sometimes"),
            "exec.interactiveMode",
            "is not one of Never, IfAvailable, Always",
        ),
        (
            format!("exec:\n  apiVersion: {V1}\n  interactiveMode: Never"),
            "exec.command",
            "must be set",
        ),
    ] {
        let err = select(&dir, &common::simple("https://k", &user))
            .rest_config()
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("field {field}")) && text.contains(reason),
            "{user}: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_wait_for_one_run() {
    let server = TestServer::builder()
        .tls()
        .require_token("t")
        .start()
        .await
        .unwrap();
    let dir = TempDir::new("exec-concurrent");
    let d = dir.path().display();
    let plugin = script(
        dir.path(),
        "slow-plugin",
        &format!("echo run >> {d}/runs\nsleep 0.3\ncat {d}/cred.json"),
    );
    write_cred(&dir, V1, json!({"token": "t"}));
    let user = exec_user(&plugin.display().to_string(), V1, "interactiveMode: Never");
    let config = select(&dir, &tls_kubeconfig(&server, "", &user))
        .rest_config()
        .unwrap();
    let client = RestClient::for_config(&config.without_rate_limit()).unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { get(&client).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(runs(&dir), 1);
    assert_eq!(server.requests().len(), 8);

    // All refused together after a rotation: one new run serves every retry.
    server.rotate_token("t2");
    write_cred(&dir, V1, json!({"token": "t2"}));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { get(&client).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(runs(&dir), 2);
}

/// Whether process `pid` is still running (a zombie waiting to be reaped is not).
fn running(pid: i32) -> bool {
    let proc = Path::new("/proc");
    if proc.is_dir() {
        return std::fs::read_to_string(proc.join(pid.to_string()).join("stat")).is_ok_and(
            |stat| {
                let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
                !matches!(state.and_then(|s| s.chars().next()), Some('Z' | 'X') | None)
            },
        );
    }
    rustix::process::Pid::from_raw(pid)
        .is_some_and(|p| rustix::process::test_kill_process(p).is_ok())
}

/// The pid a plugin wrote to `dir/name`.
fn pid_in(dir: &TempDir, name: &str) -> i32 {
    std::fs::read_to_string(dir.path().join(name))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Wait up to two seconds for `pid` to be gone.
async fn gone(pid: i32) -> bool {
    for _ in 0..40 {
        if !running(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn a_plugin_that_leaves_a_background_child_holding_stdout_succeeds() {
    let dir = TempDir::new("exec-background");
    let d = dir.path().display();
    write_cred(&dir, V1, json!({"token": "t"}));
    // The child inherits stdout and keeps it open for 30 s after the plugin exits 0.
    let plugin = script(
        dir.path(),
        "leaves-a-child",
        &format!("sleep 30 &\necho $! > {d}/bg.pid\ncat {d}/cred.json"),
    );
    let user = exec_user(&plugin.display().to_string(), V1, "interactiveMode: Never");
    let started = Instant::now();
    let result = select(&dir, &common::simple("https://127.0.0.1:1", &user))
        .with_exec_timeout(Duration::from_secs(5))
        .rest_config_async()
        .await;
    let background = pid_in(&dir, "bg.pid");
    result.expect("the plugin printed a credential and exited 0");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}: the held pipe was waited for",
        started.elapsed()
    );
    assert!(
        gone(background).await,
        "the child still holding the plugin's stdout is killed"
    );
}

#[tokio::test]
async fn a_timed_out_plugin_is_killed_with_the_processes_it_started() {
    let dir = TempDir::new("exec-group-kill");
    let d = dir.path().display();
    // One child holds the plugin's pipes, one has let go of them; both must die.
    let plugin = script(
        dir.path(),
        "hangs-with-children",
        &format!(
            "sleep 30 &\necho $! > {d}/holder.pid\nsleep 30 >/dev/null 2>&1 </dev/null &\necho $! > {d}/detached.pid\necho about to hang >&2\nsleep 30"
        ),
    );
    let user = exec_user(&plugin.display().to_string(), V1, "interactiveMode: Never");
    let err = select(&dir, &common::simple("https://127.0.0.1:1", &user))
        .with_exec_timeout(Duration::from_millis(500))
        .rest_config_async()
        .await
        .unwrap_err();
    for name in ["holder.pid", "detached.pid"] {
        let pid = pid_in(&dir, name);
        assert!(
            gone(pid).await,
            "{name}: process {pid} outlived the timeout"
        );
    }
    let text = err.to_string();
    assert!(text.contains("did not finish within 500ms"), "{text}");
    assert!(
        text.contains("about to hang"),
        "stderr so far is shown: {text}"
    );
}

#[tokio::test]
async fn a_plugin_flooding_stderr_keeps_its_head_and_does_not_grow_the_process() {
    let dir = TempDir::new("exec-stderr-flood");
    // 256 MiB of stderr after a first line, then a failure.
    let plugin = script(
        dir.path(),
        "floods-stderr",
        "echo 'first line: the real error' >&2\nhead -c 268435456 /dev/zero | tr '\\0' x >&2\nexit 4",
    );
    let user = exec_user(&plugin.display().to_string(), V1, "interactiveMode: Never");
    let before = reset_peak_rss_kib();
    let err = select(&dir, &common::simple("https://127.0.0.1:1", &user))
        .with_exec_timeout(Duration::from_secs(60))
        .rest_config_async()
        .await
        .unwrap_err();
    if let (Some(before), Some(after)) = (before, peak_rss_kib()) {
        assert!(
            after.saturating_sub(before) < 128 << 10,
            "peak RSS grew by {} MiB reading 256 MiB of stderr",
            after.saturating_sub(before) >> 10
        );
    }
    let text = err.to_string();
    assert!(text.contains("exit status: 4"), "{text}");
    assert!(text.contains("first line: the real error"), "{text}");
    assert!(text.contains("more bytes not shown]"), "{text}");
    assert!(text.len() < 8 << 10, "{} bytes of message", text.len());
}

#[tokio::test]
async fn a_plugin_printing_more_than_1_mib_on_stdout_is_refused() {
    let dir = TempDir::new("exec-stdout-flood");
    for (name, body) in [
        ("two-mib", "head -c 2097152 /dev/zero"),
        ("endless", "echo starting >&2\ncat /dev/zero"),
    ] {
        let plugin = script(dir.path(), name, body);
        let user = exec_user(&plugin.display().to_string(), V1, "interactiveMode: Never");
        let started = Instant::now();
        let err = select(&dir, &common::simple("https://127.0.0.1:1", &user))
            .with_exec_timeout(Duration::from_secs(20))
            .rest_config_async()
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("printed more than 1 MiB on stdout (the limit for an ExecCredential)"),
            "{name}: {text}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{name}: refused at the limit, not at the timeout"
        );
    }
}

/// Reset this process's peak resident set size to the current one (Linux), and return it.
fn reset_peak_rss_kib() -> Option<u64> {
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    peak_rss_kib()
}

/// This process's peak resident set size in KiB (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test]
async fn an_unusable_client_key_or_certificate_from_a_plugin_is_an_error_not_an_anonymous_call() {
    // Client certificates are optional on this server: a call without one succeeds
    // anonymously, which is what must not happen.
    let server = TestServer::builder().tls().start().await.unwrap();
    let good = server.issue_client_cert("exec-cert-user", None).unwrap();
    let other = server.issue_client_cert("someone-else", None).unwrap();
    let garbage_key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    let garbage_cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    let dir = TempDir::new("exec-bad-identity");
    let plugin = counting_plugin(&dir);
    let user = exec_user(&plugin.display().to_string(), V1, "interactiveMode: Never");
    for (cert, key, expected) in [
        (
            good.cert_pem.as_str(),
            garbage_key,
            "status.clientKeyData is not a usable private key",
        ),
        (
            garbage_cert,
            good.key_pem.as_str(),
            "status.clientCertificateData is not a usable certificate",
        ),
        (
            good.cert_pem.as_str(),
            other.key_pem.as_str(),
            "status.clientKeyData is not the key of the certificate in status.clientCertificateData",
        ),
    ] {
        write_cred(
            &dir,
            V1,
            json!({"clientCertificateData": cert, "clientKeyData": key}),
        );
        let config = select(&dir, &tls_kubeconfig(&server, "", &user))
            .rest_config()
            .unwrap();
        let err = list_namespaces(&config).await.unwrap_err();
        let text = chain(&err);
        for part in [
            "user \"u1\", field exec",
            "returned an invalid credential",
            expected,
        ] {
            assert!(text.contains(part), "{part:?} not in {text}");
        }
        assert!(!text.contains("PRIVATE KEY"), "{text}");
        assert!(
            server.requests().is_empty(),
            "{expected}: a request went out: {:?}",
            server.requests()
        );
    }
}

#[tokio::test]
async fn a_401_after_the_plugins_token_names_the_user_and_the_plugin() {
    let server = TestServer::builder()
        .tls()
        .require_token("right-token")
        .start()
        .await
        .unwrap();
    let dir = TempDir::new("exec-refused");
    counting_plugin(&dir);
    // The command as the kubeconfig names it, resolved against the kubeconfig's directory.
    let plugin = dir.path().join("./bin/plugin");
    write_cred(&dir, V1, json!({"token": "plugin-token-SECRET"}));
    let user = exec_user("./bin/plugin", V1, "interactiveMode: Never");
    let config = select(&dir, &tls_kubeconfig(&server, "", &user))
        .rest_config()
        .unwrap()
        .with_max_retries(0);
    let client = RestClient::new(config).unwrap();
    let err = get(&client).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "Unauthorized: the server refused the credentials of user \"u1\" (exec plugin {}) (Unauthorized, 401)",
            plugin.display()
        )),
        "{text}"
    );
    assert!(!format!("{err} {err:?}").contains("plugin-token-SECRET"));
}

/// An exec (a WebSocket upgrade) carries the plugin's token like any request, and after
/// the server rotates its token the 401 to the upgrade runs the plugin again and the
/// upgrade is tried once more with the new token.
#[tokio::test]
async fn an_exec_upgrade_uses_the_plugins_token_and_reruns_it_after_a_401() {
    use kubecto_rest_core::upgrade::remote_command::AttachParams;
    use kubecto_testserver::Process;
    use tokio::io::AsyncWriteExt as _;

    let server = TestServer::builder()
        .tls()
        .require_token("exec-token-1")
        .exec(|mut p: Process| async move {
            p.stdout
                .write_all(p.command.join(" ").as_bytes())
                .await
                .unwrap();
            0
        })
        .start()
        .await
        .unwrap();
    server
        .seed(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-0", "namespace": "default"},
            "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "busybox"}]},
            "status": {"phase": "Running"}
        }))
        .unwrap();
    let dir = TempDir::new("exec-upgrade-token");
    let plugin = counting_plugin(&dir);
    write_cred(&dir, V1, json!({"token": "exec-token-1"}));
    let user = exec_user(&plugin.display().to_string(), V1, "interactiveMode: Never");
    let config = select(&dir, &tls_kubeconfig(&server, "", &user))
        .rest_config()
        .unwrap();
    let client = RestClient::for_config(&config.without_rate_limit()).unwrap();
    let params = AttachParams::default();
    let exec = |word: &str| {
        client
            .get()
            .abs_path("/api/v1")
            .namespace("default")
            .resource("pods")
            .name("web-0")
            .sub_resource("exec")
            .param("command", "echo")
            .param("command", word)
            .remote_command(&params)
    };
    let out = exec("one").await.unwrap().output().await.unwrap();
    assert_eq!(out.stdout, b"echo one");
    assert_eq!(runs(&dir), 1);

    server.rotate_token("exec-token-2");
    write_cred(&dir, V1, json!({"token": "exec-token-2"}));
    let out = exec("two").await.unwrap().output().await.unwrap();
    assert_eq!(out.stdout, b"echo two");
    assert_eq!(runs(&dir), 2, "the 401 to the upgrade ran the plugin again");
}
