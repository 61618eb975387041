//! The list_pods example against the embedded test server: the seed's table, and
//! clear errors (never a panic) when the kubeconfig or the server is wrong.

// The example itself, so its `run` is tested exactly as it ships.
#[allow(dead_code)]
#[path = "../list_pods.rs"]
mod list_pods;

mod common;

use common::TempDir;

use k8s_openapi::api::core::v1::Pod;
use kubecto_testserver::TestServer;

const MANIFESTS: &str = include_str!("../manifests/kube-system-pods.yaml");

async fn run(kubeconfig: &std::path::Path) -> (String, Result<(), String>) {
    let mut out = Vec::new();
    let result = list_pods::run(Some(kubeconfig), &mut out)
        .await
        .map_err(|e| kubecto_examples::describe(&e));
    (String::from_utf8(out).unwrap(), result)
}

#[test]
fn manifests_are_realistic_running_kube_system_pods() {
    let mut names = Vec::new();
    for pod in serde_saphyr::from_multiple::<Pod>(MANIFESTS).expect("every document is a Pod") {
        assert_eq!(pod.metadata.namespace.as_deref(), Some("kube-system"));
        assert_eq!(
            pod.status.as_ref().and_then(|s| s.phase.as_deref()),
            Some("Running")
        );
        assert!(!pod.spec.as_ref().unwrap().containers.is_empty());
        names.push(pod.metadata.name.unwrap());
    }
    for prefix in [
        "coredns-",
        "coredns-",
        "etcd-",
        "kube-apiserver-",
        "kube-controller-manager-",
        "kube-scheduler-",
        "kube-proxy-",
    ] {
        let i = names
            .iter()
            .position(|n| n.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} pod"));
        names.remove(i);
    }
    assert!(names.is_empty(), "unexpected pods {names:?}");
}

#[tokio::test]
async fn prints_the_seed_table() {
    let server = TestServer::start().await.unwrap();
    for (i, name) in ["coredns-abc", "etcd-cp"].into_iter().enumerate() {
        server
            .seed(serde_json::json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": "kube-system"},
                "spec": {"containers": [{"name": "c", "image": format!("img:{i}")}]},
            }))
            .unwrap();
    }
    // A pod elsewhere is not listed.
    server
        .seed(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]},
        }))
        .unwrap();
    let dir = TempDir::new("table");
    let kubeconfig = dir.0.join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();

    let (out, result) = run(&kubeconfig).await;
    assert_eq!(result, Ok(()));
    let mut lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.remove(0), "Namespace\t Status\t\t Name");
    lines.sort_unstable();
    assert_eq!(
        lines,
        [
            "kube-system\t Pending\t coredns-abc",
            "kube-system\t Pending\t etcd-cp"
        ]
    );
    assert!(out.ends_with('\n'));

    // Exactly one LIST of kube-system pods, with limit=100.
    let lists: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path == "/api/v1/namespaces/kube-system/pods")
        .collect();
    assert_eq!(lists.len(), 1, "{lists:?}");
    assert!(lists[0].query.contains("limit=100"), "{:?}", lists[0].query);
    server.shutdown().await;
}

#[tokio::test]
async fn empty_namespace_prints_only_the_header() {
    let server = TestServer::start().await.unwrap();
    let dir = TempDir::new("empty");
    let kubeconfig = dir.0.join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    let (out, result) = run(&kubeconfig).await;
    assert_eq!(result, Ok(()));
    assert_eq!(out, "Namespace\t Status\t\t Name\n");
    server.shutdown().await;
}

#[tokio::test]
async fn missing_kubeconfig_is_a_clear_error() {
    let dir = TempDir::new("missing");
    let kubeconfig = dir.0.join("nope");
    let (out, result) = run(&kubeconfig).await;
    assert_eq!(
        result,
        Err(format!(
            "error: cannot read kubeconfig {}: No such file or directory (os error 2)",
            kubeconfig.display()
        ))
    );
    assert!(out.is_empty());
}

#[tokio::test]
async fn unreachable_server_is_a_clear_error() {
    let dir = TempDir::new("down");
    let (kubeconfig, port) = common::unreachable_kubeconfig(&dir);
    let (out, result) = run(&kubeconfig).await;
    let message = result.unwrap_err();
    // What failed, then where and why, once: no "cannot connect", no "tcp connect error".
    let refused = std::io::Error::from_raw_os_error(libc_econnrefused());
    assert_eq!(
        message,
        format!(
            "error: cannot list the pods of kube-system\n  caused by: connection refused talking to http://127.0.0.1:{port}/api/v1/namespaces/kube-system/pods?limit=100: {refused}"
        )
    );
    assert!(out.is_empty());
}

/// ECONNREFUSED, whose message the operating system words.
fn libc_econnrefused() -> i32 {
    if cfg!(target_os = "linux") {
        111
    } else if cfg!(windows) {
        10061
    } else {
        61
    }
}

/// Set in the copy of this test binary that [`kubeconfig_variable`] runs.
const CHILD: &str = "KUBECTO_LIST_PODS_CHILD";

/// In the child: list_pods as its `main` runs it without `--kubeconfig`, the result
/// between markers on stdout.
async fn child() {
    let mut out = Vec::new();
    let result = list_pods::run(None, &mut out)
        .await
        .map_err(|e| kubecto_examples::describe(&e));
    let text = match result {
        Ok(()) => String::from_utf8(out).unwrap(),
        Err(e) => e,
    };
    println!("<<<{text}>>>");
}

/// This test binary running only `kubeconfig_variable`, as a child with `env`.
fn run_child(env: &[(&str, &std::ffi::OsStr)]) -> String {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "kubeconfig_variable",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD, "1")
    .env_remove("KUBECONFIG")
    .env_remove("KUBERNETES_SERVICE_HOST")
    .env_remove("KUBERNETES_SERVICE_PORT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let start = stdout
        .find("<<<")
        .unwrap_or_else(|| panic!("no result: {stdout}"));
    let end = stdout.rfind(">>>").unwrap();
    stdout[start + 3..end].to_owned()
}

/// `KUBECONFIG=a:b list_pods` uses the files of `$KUBECONFIG` (the seed's flag default
/// of `~/.kube/config` used to hide it), `~/.kube/config` comes next, and with neither
/// the error says where it looked.
#[tokio::test]
async fn kubeconfig_variable() {
    if std::env::var_os(CHILD).is_some() {
        return child().await;
    }
    let server = TestServer::start().await.unwrap();
    server
        .seed(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "etcd-cp", "namespace": "kube-system"},
            "spec": {"containers": [{"name": "c", "image": "etcd"}]},
        }))
        .unwrap();
    let dir = TempDir::new("kubeconfig-var");
    let kubeconfig = dir.0.join("test-server");
    server.write_kubeconfig(&kubeconfig).unwrap();
    // ~/.kube/config points elsewhere: $KUBECONFIG must win over it.
    let home = dir.0.join("home");
    std::fs::create_dir_all(home.join(".kube")).unwrap();
    let (unreachable, port) = common::unreachable_kubeconfig(&dir);
    std::fs::rename(&unreachable, home.join(".kube/config")).unwrap();
    // A missing file in the list is skipped, as kubectl skips it.
    let var = std::env::join_paths([dir.0.join("missing"), kubeconfig.clone()]).unwrap();

    let server_url = server.url();
    let (with_var, with_home, with_nothing) = tokio::task::spawn_blocking(move || {
        let with_var = run_child(&[("KUBECONFIG", &var), ("HOME", home.as_os_str())]);
        let with_home = run_child(&[("HOME", home.as_os_str())]);
        let empty_home = home.join("empty");
        std::fs::create_dir_all(&empty_home).unwrap();
        let with_nothing = run_child(&[("HOME", empty_home.as_os_str())]);
        (with_var, with_home, (with_nothing, empty_home))
    })
    .await
    .unwrap();
    assert_eq!(
        with_var, "Namespace\t Status\t\t Name\nkube-system\t Pending\t etcd-cp\n",
        "{server_url}"
    );
    assert!(
        with_home.contains(&format!("http://127.0.0.1:{port}/")),
        "{with_home}"
    );
    let (with_nothing, empty_home) = with_nothing;
    assert_eq!(
        with_nothing,
        format!(
            "error: no configuration found: no kubeconfig found (looked at: {}); pass a path or set KUBECONFIG; and not running in a cluster: KUBERNETES_SERVICE_HOST is not set",
            empty_home.join(".kube").join("config").display()
        )
    );
    server.shutdown().await;
}
