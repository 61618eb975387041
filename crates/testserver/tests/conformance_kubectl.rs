//! Conformance: kubectl, a client nobody here wrote, against the server binary.
//!
//! Runs with the kubectl `cargo xtask test` chose (`common/tools.rs`: the one in
//! `target/conformance-venv`, else the one on PATH) and, where the Google Cloud SDK
//! ships them, the oldest and newest versioned kubectl binaries beside it. Without a
//! kubectl of at least v1.27 this fails with one line that says to run `cargo xtask test`.
//! Every kubectl runs with validation on: before 1.29 kubectl validates and computes the
//! patches of `apply` with the `/openapi/v2` document in protobuf, newer ones with v3.

#[path = "common/binary.rs"]
mod binary;
#[path = "common/proxied.rs"]
mod proxied;
#[path = "common/tools.rs"]
mod tools;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use binary::ServerProcess;

/// Each kubectl to drive the server with, and its minor version.
fn kubectls() -> Vec<(PathBuf, u32)> {
    let mut found = vec![tools::checked_kubectl().unwrap_or_else(|e| panic!("{e}"))];
    let sdk = Path::new("/usr/lib/google-cloud-sdk/bin");
    if let Ok(entries) = std::fs::read_dir(sdk) {
        let mut versioned: Vec<(PathBuf, u32)> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter_map(|p| {
                let minor = p
                    .file_name()?
                    .to_str()?
                    .strip_prefix("kubectl.1.")?
                    .parse()
                    .ok()?;
                Some((p, minor))
            })
            .filter(|(_, minor)| *minor >= tools::KUBECTL_MIN_MINOR)
            .collect();
        versioned.sort_by_key(|(_, minor)| *minor);
        if let Some(oldest) = versioned.first() {
            found.push(oldest.clone());
        }
        if versioned.len() > 1
            && let Some(newest) = versioned.last()
        {
            found.push(newest.clone());
        }
    }
    found
}

struct Kubectl<'a> {
    bin: &'a Path,
    minor: u32,
    server: &'a ServerProcess,
}

impl Kubectl<'_> {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(self.bin);
        cmd.arg("--kubeconfig")
            .arg(&self.server.kubeconfig)
            .args(args);
        cmd
    }

    /// Run, require success, return stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self
            .command(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.bin.display()));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{} {args:?} failed: {stdout}{stderr}",
            self.bin.display()
        );
        stdout
    }
}

/// kubectl's answer to deleting `what` in the default namespace: `<what> deleted`, or
/// `<what> deleted from default namespace` from newer ones (v1.37 says so).
fn assert_deleted(out: &str, what: &str) {
    let out = out.trim();
    let plain = format!("{what} deleted");
    assert!(
        out == plain || out == format!("{plain} from default namespace"),
        "{out:?} is not {plain:?}"
    );
}

const POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: nginx
    image: nginx:1.27
";

fn scenario(bin: &Path, minor: u32) {
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/manifests");
    let server = ServerProcess::start(
        &format!("kubectl-{}", bin.display().to_string().replace('/', "_")),
        Some(seed),
    );
    let k = Kubectl {
        bin,
        minor,
        server: &server,
    };

    let ns = k.ok(&["get", "namespaces", "-o", "name"]);
    for want in [
        "namespace/default",
        "namespace/kube-system",
        "namespace/kube-public",
        "namespace/kube-node-lease",
    ] {
        assert!(ns.lines().any(|l| l == want), "{want} missing from {ns}");
    }
    let system = k.ok(&["get", "pods", "-n", "kube-system", "-o", "name"]);
    assert!(
        system.lines().any(|l| l.starts_with("pod/coredns-")),
        "seeded pods missing: {system}"
    );

    let manifest = server.kubeconfig.with_file_name("pod.yaml");
    std::fs::write(&manifest, POD).unwrap();
    let manifest = manifest.to_str().unwrap();
    assert_eq!(k.ok(&["create", "-f", manifest]).trim(), "pod/web created");

    let json: serde_json::Value =
        serde_json::from_str(&k.ok(&["get", "pods", "-o", "json"])).unwrap();
    let items = json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["metadata"]["name"], "web");
    assert_eq!(items[0]["metadata"]["namespace"], "default");
    assert_eq!(items[0]["spec"]["containers"][0]["image"], "nginx:1.27");
    assert_eq!(items[0]["status"]["phase"], "Pending");

    // Watch for a while: a label change and a second pod show up as events.
    let mut watch = k
        .command(&["get", "pods", "-w", "--output-watch-events", "-o", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    k.ok(&["label", "pod", "web", "tier=front"]);
    k.ok(&["run", "second", "--image=busybox:1.36", "--restart=Never"]);
    std::thread::sleep(Duration::from_millis(700));
    let _ = watch.kill();
    let out = watch.wait_with_output().unwrap();
    let events = String::from_utf8_lossy(&out.stdout);
    let seen: Vec<(String, String)> = serde_json::Deserializer::from_str(&events)
        .into_iter::<serde_json::Value>()
        .filter_map(Result::ok)
        .map(|e| {
            (
                e["type"].as_str().unwrap_or_default().to_owned(),
                e["object"]["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    assert!(seen.contains(&("ADDED".into(), "web".into())), "{seen:?}");
    assert!(
        seen.contains(&("MODIFIED".into(), "web".into())),
        "{seen:?}"
    );
    assert!(
        seen.contains(&("ADDED".into(), "second".into())),
        "{seen:?}"
    );

    // apply: the second apply is a no-op.
    std::fs::write(manifest, POD.replace("name: web", "name: applied")).unwrap();
    assert_eq!(
        k.ok(&["apply", "-f", manifest]).trim(),
        "pod/applied created"
    );
    assert_eq!(
        k.ok(&["apply", "-f", manifest]).trim(),
        "pod/applied unchanged"
    );

    let started = Instant::now();
    assert_deleted(&k.ok(&["delete", "pod", "web"]), "pod \"web\"");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "delete waited {:?}",
        started.elapsed()
    );
    let left = k.ok(&["get", "pods", "-o", "name"]);
    assert!(!left.contains("pod/web\n"), "{left}");
    assert!(left.contains("pod/second"), "{left}");

    workloads(&k, &server);
    creates(&k);

    let resources = k.ok(&["api-resources", "--no-headers"]);
    assert!(
        resources
            .lines()
            .any(|l| l.starts_with("deployments ") && l.contains("apps/v1")),
        "{resources}"
    );
}

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: nginx, image: \"nginx:1.27\"}
";

const CRD: &str = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: integer}}}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
";

/// Deployments, patches of every type, scale, server-side apply, foreground deletion,
/// server-side printing and a CRD, each checked by what kubectl then reports.
fn workloads(k: &Kubectl<'_>, server: &ServerProcess) {
    let dir = server.kubeconfig.parent().unwrap().to_owned();
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let deployment = write("deployment.yaml", DEPLOYMENT);
    assert_eq!(
        k.ok(&["apply", "-f", &deployment]).trim(),
        "deployment.apps/web created"
    );
    assert_eq!(
        k.ok(&["apply", "-f", &deployment]).trim(),
        "deployment.apps/web unchanged"
    );
    let get = |jsonpath: &str| {
        k.ok(&[
            "get",
            "deployment",
            "web",
            "-o",
            &format!("jsonpath={jsonpath}"),
        ])
    };

    // Patches of the three types.
    k.ok(&[
        "patch",
        "deployment",
        "web",
        "--type",
        "merge",
        "-p",
        r#"{"metadata":{"labels":{"merge":"yes"}}}"#,
    ]);
    k.ok(&[
        "patch",
        "deployment",
        "web",
        "--type",
        "json",
        "-p",
        r#"[{"op":"add","path":"/metadata/labels/json","value":"yes"}]"#,
    ]);
    k.ok(&["patch", "deployment", "web", "--type", "strategic", "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox:1.36"}]}}}}"#]);
    assert_eq!(
        get("{.metadata.labels.merge},{.metadata.labels.json}"),
        "yes,yes"
    );
    // Strategic merge added a container by name instead of replacing the list.
    assert_eq!(
        get("{.spec.template.spec.containers[*].name}"),
        "sidecar nginx"
    );
    // A JSON patch whose test fails changes nothing.
    let failed = k
        .command(&["patch", "deployment", "web", "--type", "json", "-p",
            r#"[{"op":"replace","path":"/spec/replicas","value":9},{"op":"test","path":"/spec/replicas","value":7}]"#])
        .output()
        .unwrap();
    assert!(!failed.status.success());
    assert_eq!(get("{.spec.replicas}"), "2");

    // scale goes through the scale subresource.
    assert_eq!(
        k.ok(&["scale", "deployment", "web", "--replicas=3"]).trim(),
        "deployment.apps/web scaled"
    );
    assert_eq!(get("{.spec.replicas}"), "3");

    // Server-side printing: the real columns, wide ones too.
    let wide = k.ok(&["get", "deployments", "-o", "wide"]);
    let header: Vec<&str> = wide.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR"
        ]
    );
    assert!(wide.lines().nth(1).unwrap().starts_with("web "), "{wide}");
    assert!(wide.contains("0/3"), "{wide}");
    let pods = k.ok(&["get", "pods", "-o", "wide"]);
    let header = pods.lines().next().unwrap();
    for col in [
        "READY",
        "STATUS",
        "RESTARTS",
        "IP",
        "NODE",
        "NOMINATED NODE",
        "READINESS GATES",
    ] {
        assert!(header.contains(col), "{col} missing: {pods}");
    }

    // A dependent of the deployment goes with it under foreground deletion.
    let uid = get("{.metadata.uid}");
    let owned = write(
        "owned.yaml",
        &format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: owned\n  ownerReferences:\n  - {{apiVersion: apps/v1, kind: Deployment, name: web, uid: {uid}}}\ndata: {{a: b}}\n"
        ),
    );
    k.ok(&["apply", "-f", &owned]);
    assert_deleted(
        &k.ok(&["delete", "deployment", "web", "--cascade=foreground"]),
        "deployment.apps \"web\"",
    );
    let left = k.ok(&["get", "deployments,configmaps", "-o", "name"]);
    assert!(!left.contains("deployment.apps/web"), "{left}");
    assert!(!left.contains("configmap/owned"), "{left}");

    // A CRD: established, served, printed with its columns, in api-resources.
    let crd = write("crd.yaml", CRD);
    k.ok(&["apply", "-f", &crd]);
    k.ok(&[
        "wait",
        "--for",
        "condition=established",
        "crd/widgets.example.com",
    ]);
    let widget = write(
        "widget.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 3}\n",
    );
    k.ok(&["apply", "-f", &widget]);
    let widgets = k.ok(&["get", "wd"]);
    assert_eq!(
        widgets
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["NAME", "SIZE"]
    );
    assert!(
        widgets.lines().nth(1).unwrap().starts_with("w1 "),
        "{widgets}"
    );
    let resources = k.ok(&["api-resources", "--api-group=example.com", "--no-headers"]);
    assert!(resources.starts_with("widgets "), "{resources}");

    // Server-side apply, twice, is stable.
    if k.minor >= 29 {
        let ssa = write("ssa.yaml", &POD.replace("name: web", "name: ssa"));
        for _ in 0..2 {
            assert_eq!(
                k.ok(&["apply", "--server-side", "-f", &ssa]).trim(),
                "pod/ssa serverside-applied"
            );
        }
        let managers = k.ok(&[
            "get",
            "pod",
            "ssa",
            "-o",
            "jsonpath={.metadata.managedFields[*].manager}",
            "--show-managed-fields",
        ]);
        assert_eq!(managers, "kubectl");
    }
}

/// `kubectl create <kind>` sends its object in protobuf and reads the answer in protobuf
/// (before the server spoke it, these failed with 415): each object is then as kubectl
/// meant it, with the defaults kube-apiserver adds.
fn creates(k: &Kubectl<'_>) {
    let json = |args: &[&str]| -> serde_json::Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        serde_json::from_str(&k.ok(&all)).unwrap()
    };
    assert_eq!(
        k.ok(&["create", "namespace", "made"]).trim(),
        "namespace/made created"
    );
    let ns = json(&["get", "namespace", "made"]);
    assert_eq!(ns["status"]["phase"], "Active");

    assert_eq!(
        k.ok(&["create", "configmap", "x", "--from-literal=a=b"])
            .trim(),
        "configmap/x created"
    );
    assert_eq!(
        json(&["get", "configmap", "x"])["data"],
        serde_json::json!({"a": "b"})
    );

    assert_eq!(
        k.ok(&[
            "create",
            "secret",
            "generic",
            "s",
            "--from-literal=password=hunter2"
        ])
        .trim(),
        "secret/s created"
    );
    let secret = json(&["get", "secret", "s"]);
    assert_eq!(secret["type"], "Opaque");
    assert_eq!(secret["data"]["password"], "aHVudGVyMg==");

    assert_eq!(
        k.ok(&["create", "deployment", "web", "--image=nginx"])
            .trim(),
        "deployment.apps/web created"
    );
    let d = json(&["get", "deployment", "web"]);
    assert_eq!(d["metadata"]["labels"]["app"], "web");
    assert_eq!(d["spec"]["replicas"], 1);
    assert_eq!(d["spec"]["selector"]["matchLabels"]["app"], "web");
    let container = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "nginx");
    assert_eq!(container["name"], "nginx");
    // kube-apiserver's defaults, into the empty strategy kubectl sends.
    assert_eq!(
        d["spec"]["strategy"],
        serde_json::json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
    );
    assert_eq!(container["imagePullPolicy"], "Always");
}

#[test]
fn kubectl_drives_the_server() {
    for (bin, minor) in kubectls() {
        scenario(&bin, minor);
    }
}

/// With `--controllers`, kubectl's commands that wait on controllers finish: a created
/// deployment rolls out and scales, an exposed one gets EndpointSlices, and
/// `kubectl delete namespace` waits until the namespace controller emptied it and it went.
/// One kubectl (the chosen one), to keep it cheap.
#[test]
fn kubectl_drives_the_server_with_controllers() {
    let (bin, minor) = tools::checked_kubectl().unwrap_or_else(|e| panic!("{e}"));
    let server = ServerProcess::start_with("kubectl-controllers", None, &["--controllers"]);
    let k = Kubectl {
        bin: &bin,
        minor,
        server: &server,
    };
    let n = ["-n", "ctl"];
    let run = |args: &[&str]| k.ok(&[&n[..], args].concat());
    assert_eq!(
        k.ok(&["create", "namespace", "ctl"]).trim(),
        "namespace/ctl created"
    );
    assert_eq!(
        run(&["create", "deployment", "web", "--image=nginx", "--port=80"]).trim(),
        "deployment.apps/web created"
    );
    assert_eq!(
        run(&["scale", "deployment", "web", "--replicas=3"]).trim(),
        "deployment.apps/web scaled"
    );
    let rolled = run(&["rollout", "status", "deployment/web", "--timeout=60s"]);
    assert!(
        rolled
            .trim_end()
            .ends_with("deployment \"web\" successfully rolled out"),
        "{rolled}"
    );
    let ready = run(&[
        "get",
        "deployment",
        "web",
        "-o",
        "jsonpath={.status.readyReplicas}",
    ]);
    assert_eq!(ready, "3");

    assert_eq!(
        run(&[
            "expose",
            "deployment",
            "web",
            "--port=8080",
            "--target-port=80"
        ])
        .trim(),
        "service/web exposed"
    );
    let start = Instant::now();
    let table = loop {
        let table = run(&[
            "get",
            "endpointslices",
            "-l",
            "kubernetes.io/service-name=web",
        ]);
        if table.contains(" 80 ") || start.elapsed() > Duration::from_secs(30) {
            break table;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let lines: Vec<&str> = table.lines().collect();
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"],
        "{table}"
    );
    assert_eq!(lines.len(), 2, "{table}");
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert!(row[0].starts_with("web-"), "{table}");
    assert_eq!(row[1..3], ["IPv4", "80"], "{table}");
    // Three pod IPs, joined by commas.
    assert_eq!(row[3].split(',').count(), 3, "{table}");

    // kubectl waits until the namespace is gone (its content first).
    let deleted = k.ok(&["delete", "namespace", "ctl", "--timeout=60s"]);
    assert_eq!(deleted.trim(), "namespace \"ctl\" deleted");
    let out = k.command(&["get", "namespace", "ctl"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("namespaces \"ctl\" not found"), "{stderr}");
}

/// `kubectl exec` and `kubectl attach` against a server in this process, so a command can
/// be scripted: a binary payload round-trips byte for byte through `cat`, exit codes become
/// kubectl's, stderr stays apart from stdout, a scripted command sees its pod and
/// container, and attach echoes stdin. Each check runs twice: over WebSocket
/// (v5.channel.k8s.io), then with `KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false`, which makes
/// kubectl upgrade to SPDY/3.1 (v4.channel.k8s.io streams) as kubectl before 1.30 does.
#[test]
fn kubectl_exec_and_attach() {
    use std::io::Write as _;
    use tokio::io::AsyncWriteExt as _;

    let (bin, _) = tools::checked_kubectl().unwrap_or_else(|e| panic!("{e}"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt
        .block_on(
            kubecto_testserver::TestServer::builder()
                .exec(|mut p| async move {
                    if p.command == ["whereami"] {
                        let line = format!("{}/{} in {}\n", p.namespace, p.pod, p.container);
                        let _ = p.stdout.write_all(line.as_bytes()).await;
                        return 0;
                    }
                    p.run_builtin().await
                })
                .start(),
        )
        .unwrap();
    for (name, containers) in [("web", vec!["app"]), ("duo", vec!["first", "second"])] {
        let containers: Vec<serde_json::Value> = containers
            .iter()
            .map(|c| serde_json::json!({"name": c, "image": "busybox"}))
            .collect();
        server
            .seed(serde_json::json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": "default"},
                "spec": {"nodeName": "node-1", "containers": containers},
                "status": {"phase": "Running"}}))
            .unwrap();
    }
    let dir = std::env::temp_dir().join(format!("kubecto-kubectl-exec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    for spdy in [false, true] {
        let run = |args: &[&str], stdin: &[u8]| {
            let mut child = Command::new(&bin)
                .env(
                    "KUBECTL_REMOTE_COMMAND_WEBSOCKETS",
                    if spdy { "false" } else { "true" },
                )
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .args(args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut input = child.stdin.take().unwrap();
            let stdin = stdin.to_vec();
            let writer = std::thread::spawn(move || {
                let _ = input.write_all(&stdin);
            });
            let out = child.wait_with_output().unwrap();
            writer.join().unwrap();
            out
        };

        let payload: Vec<u8> = (0..2_000_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let out = run(&["exec", "-i", "web", "--", "cat"], &payload);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout.len(), payload.len());
        assert!(out.stdout == payload, "the payload came back changed");

        let out = run(
            &[
                "exec",
                "web",
                "--",
                "sh",
                "-c",
                "echo out; echo err >&2; exit 3",
            ],
            b"",
        );
        assert_eq!(
            out.status.code(),
            Some(3),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, b"out\n");
        // kubectl's own line after the command's stderr.
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "err\ncommand terminated with exit code 3\n"
        );

        let out = run(&["exec", "web", "--", "false"], b"");
        assert_eq!(out.status.code(), Some(1));
        let out = run(&["exec", "web", "--", "true"], b"");
        assert_eq!(out.status.code(), Some(0));
        let out = run(&["exec", "web", "--", "nosuchtool"], b"");
        assert_eq!(out.status.code(), Some(127));
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "nosuchtool: command not found\ncommand terminated with exit code 127\n"
        );

        let out = run(&["exec", "duo", "-c", "second", "--", "whereami"], b"");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "default/duo in second\n"
        );
        // No container named: kubectl picks the first and says so.
        let out = run(&["exec", "duo", "--", "whereami"], b"");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "default/duo in first\n"
        );
        assert!(
            String::from_utf8_lossy(&out.stderr)
                .contains("Defaulted container \"first\" out of: first, second"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );

        let out = run(&["exec", "nope", "--", "true"], b"");
        assert!(!out.status.success());
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim(),
            "Error from server (NotFound): pods \"nope\" not found"
        );

        let out = run(&["attach", "-i", "web"], b"hello attach\n");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), "hello attach\n");
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `kubectl port-forward` against a server in this process whose pod port leads to an echo
/// server the test started: kubectl chooses a local port, several connections in turn
/// each carry a binary payload there and back byte for byte, and kubectl stops cleanly on
/// SIGINT. Newer kubectls tunnel SPDY in a WebSocket first; each also runs with
/// `KUBECTL_PORT_FORWARD_WEBSOCKETS=false`, which makes it upgrade to SPDY/3.1 directly.
#[test]
fn kubectl_port_forward() {
    use std::io::{BufRead as _, Read as _, Write as _};

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let echo = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut rd, mut wr) = conn.into_split();
                    let _ = tokio::io::copy(&mut rd, &mut wr).await;
                });
            }
        });
        addr
    });
    let server = rt
        .block_on(
            kubecto_testserver::TestServer::builder()
                .port_forward(move |ns, pod, port| {
                    (ns == "default" && pod == "web" && port == 7000).then_some(echo)
                })
                .start(),
        )
        .unwrap();
    server
        .seed(serde_json::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "busybox"}]},
            "status": {"phase": "Running"}}))
        .unwrap();
    let dir = std::env::temp_dir().join(format!("kubecto-kubectl-pf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    let payload: Vec<u8> = (0..1_500_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();

    for (bin, minor) in kubectls() {
        for websockets in [true, false] {
            let what = format!("{} (websockets {websockets})", bin.display());
            let mut child = Command::new(&bin)
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .args(["port-forward", "pod/web", ":7000"])
                .env(
                    "KUBECTL_PORT_FORWARD_WEBSOCKETS",
                    if websockets { "true" } else { "false" },
                )
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            // "Forwarding from 127.0.0.1:PORT -> 7000"
            let port: u16 = line
                .strip_prefix("Forwarding from 127.0.0.1:")
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|p| p.parse().ok())
                .unwrap_or_else(|| {
                    let _ = child.kill();
                    let mut err = String::new();
                    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
                    panic!("{what}: unexpected first line {line:?}: {err}")
                });
            for round in 0..3 {
                let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
                conn.set_read_timeout(Some(Duration::from_secs(20)))
                    .unwrap();
                let mut writer = conn.try_clone().unwrap();
                let sent = payload.clone();
                let feeder = std::thread::spawn(move || writer.write_all(&sent));
                let mut back = vec![0u8; payload.len()];
                conn.read_exact(&mut back)
                    .unwrap_or_else(|e| panic!("{what}: round {round}: {e}"));
                feeder.join().unwrap().unwrap();
                assert!(
                    back == payload,
                    "{what}: round {round}: the payload came back changed"
                );
            }
            // Stop it as a person would, with Ctrl-C.
            let _ = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status();
            let start = Instant::now();
            let status = loop {
                if let Some(status) = child.try_wait().unwrap() {
                    break status;
                }
                assert!(
                    start.elapsed() < Duration::from_secs(10),
                    "{what}: still running after SIGINT"
                );
                std::thread::sleep(Duration::from_millis(50));
            };
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            assert!(status.success(), "{what}: {status}: {err}");
            assert!(!err.contains("error"), "{what} (1.{minor}): {err}");
        }
    }
}

/// `kubectl get --raw` through the proxy subresources of a pod and a service, against a
/// server in this process whose pod `web` (10.1.0.5) listens on 8080 at a backend the test
/// started: the backend's answer is printed as it sent it, and a port where nothing
/// listens is kubectl's `Error from server (ServiceUnavailable): error trying to reach
/// service: ...`.
#[test]
fn kubectl_get_raw_through_proxy() {
    let proxied = proxied::start("kubectl-proxy");
    let (server, kubeconfig) = (&proxied.server, &proxied.kubeconfig);
    server
        .seed(serde_json::json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"selector": {"app": "web"},
                "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}))
        .unwrap();

    for (bin, minor) in kubectls() {
        let raw = |path: &str| {
            Command::new(&bin)
                .arg("--kubeconfig")
                .arg(kubeconfig)
                .args(["get", "--raw", path])
                .output()
                .unwrap()
        };
        for (path, expected) in [
            (
                "/api/v1/namespaces/default/pods/web:8080/proxy/hello?x=1",
                "backend got GET /hello?x=1 HTTP/1.1\n",
            ),
            (
                "/api/v1/namespaces/default/services/web:80/proxy/hello",
                "backend got GET /hello HTTP/1.1\n",
            ),
            (
                "/api/v1/namespaces/default/services/http:web:http/proxy/a/b/",
                "backend got GET /a/b/ HTTP/1.1\n",
            ),
        ] {
            let out = raw(path);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "1.{minor} {path}: {stderr}");
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                expected,
                "1.{minor} {path}"
            );
        }
        let out = raw("/api/v1/namespaces/default/pods/web:9999/proxy/");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "1.{minor}: a refused port succeeded");
        assert!(
            stderr.contains(
                "Error from server (ServiceUnavailable): error trying to reach service: \
                 dial tcp 10.1.0.5:9999: connect: connection refused"
            ),
            "1.{minor}: {stderr}"
        );
    }
    if let Some(dir) = proxied.kubeconfig.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}
