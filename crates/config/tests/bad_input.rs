//! Whatever a kubeconfig holds, loading it returns a value or an error: it never
//! panics. A rich kubeconfig is cut at every character, has each line replaced by
//! junk, and has each scalar replaced by values of the wrong type; every variant goes
//! through parsing, context selection and `rest_config`.

mod common;

use common::{CERT_PEM, KEY_PEM, TempDir, b64};
use kubecto_config::{Kubeconfig, Overrides};

fn rich() -> String {
    format!(
        "apiVersion: v1
kind: Config
preferences: {{colors: true}}
clusters:
- name: c1
  cluster:
    server: https://k.example:6443/prefix
    certificate-authority-data: {ca}
    tls-server-name: kubernetes.default.svc
    disable-compression: true
    extensions:
    - name: client.authentication.k8s.io/exec
      extension: {{audience: x}}
- name: c2
  cluster:
    server: http://127.0.0.1:8080
    insecure-skip-tls-verify: true
users:
- name: u1
  user:
    client-certificate-data: {cert}
    client-key-data: {key}
    as: jane
    as-groups: [a, b]
    as-user-extra: {{scopes: [view]}}
- name: u2
  user:
    exec:
      command: ./plugin
      args: [get-token]
      env: [{{name: K, value: v}}]
      apiVersion: client.authentication.k8s.io/v1
      interactiveMode: Never
      provideClusterInfo: true
      installHint: install it
- name: u3
  user: {{token: abc, tokenFile: tok}}
contexts:
- name: ctx1
  context: {{cluster: c1, user: u1, namespace: ns1}}
- name: ctx2
  context: {{cluster: c2, user: u2}}
- name: ctx3
  context: {{cluster: c1, user: u3}}
current-context: ctx1
",
        ca = b64(CERT_PEM),
        cert = b64(CERT_PEM),
        key = b64(KEY_PEM)
    )
}

/// Parse, select each context and build its config; only panics matter here.
fn exercise(text: &str, dir: &std::path::Path) -> usize {
    let mut ok = 0;
    let Ok(mut kc) = Kubeconfig::from_yaml(text, Some(&dir.join("config"))) else {
        return 0;
    };
    kc.resolve_relative_paths(dir);
    for ctx in ["", "ctx1", "ctx2", "ctx3", "nope"] {
        let overrides = if ctx.is_empty() {
            Overrides::default()
        } else {
            Overrides::default().context(ctx)
        };
        if let Ok(selected) = kc.select(&overrides) {
            let _ = selected.namespace();
            if selected.rest_config().is_ok() {
                ok += 1;
            }
        }
    }
    ok
}

#[test]
fn the_rich_kubeconfig_is_valid() {
    let dir = TempDir::new("bad-input-rich");
    dir.write("tok", "file-token");
    assert_eq!(
        exercise(&rich(), dir.path()),
        4,
        "current, ctx1, ctx2, ctx3"
    );
}

#[test]
fn cut_at_every_character() {
    let dir = TempDir::new("bad-input-cut");
    dir.write("tok", "file-token");
    let text = rich();
    for (i, _) in text.char_indices() {
        exercise(&text[..i], dir.path());
    }
}

#[test]
fn each_line_replaced_by_junk() {
    let dir = TempDir::new("bad-input-junk");
    dir.write("tok", "file-token");
    let text = rich();
    let lines: Vec<&str> = text.lines().collect();
    let junk = [
        "",
        "- [",
        "}{",
        "  : :",
        "\t",
        "    server: ''",
        "    server: '::'",
        "    server: https://",
        "    certificate-authority-data: '%%%'",
        "    client-key-data: bm90IHBlbQ==",
        "    tokenFile: /does/not/exist",
        "    tokenFile: ''",
        "      command: ''",
        "      apiVersion: 7",
        "      interactiveMode: Sometimes",
        "  context: {cluster: '', user: ''}",
        "current-context: ''",
        "users: 3",
        "*anchor",
        "&a [*a]",
        "\u{0}",
        "name: \u{1F600}",
    ];
    for i in 0..lines.len() {
        for j in &junk {
            let mut variant = lines.clone();
            variant[i] = j;
            exercise(&variant.join("\n"), dir.path());
        }
    }
}

#[test]
fn scalars_of_the_wrong_type() {
    let dir = TempDir::new("bad-input-types");
    let text = rich();
    for (i, line) in text.lines().enumerate() {
        let Some((key, _)) = line.split_once(": ") else {
            continue;
        };
        for value in ["7", "true", "[]", "{}", "null", "-1", "1e999", "'\\x'"] {
            let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
            lines[i] = format!("{key}: {value}");
            exercise(&lines.join("\n"), dir.path());
        }
    }
}

#[test]
fn a_binary_file_is_an_error_naming_it() {
    let dir = TempDir::new("bad-input-binary");
    let path = dir.write("config", [0xff, 0xfe, 0x00, 0x80]);
    let err = Kubeconfig::read_from(&path).unwrap_err();
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
}

#[test]
fn deeply_nested_flow_collections_are_refused_quickly_naming_the_line() {
    let dir = TempDir::new("bad-input-deep");
    // 200 KB of `[` took serde_yaml's parser 20 s in a release build; `{a: `, block
    // nesting and nesting under a field kubecto ignores must be refused as quickly.
    for (name, text) in [
        (
            "seq",
            format!("apiVersion: v1\nclusters: {}", "[".repeat(200_000)),
        ),
        (
            "map",
            format!("apiVersion: v1\nclusters: [{}", "{a: ".repeat(50_000)),
        ),
        (
            "block",
            format!(
                "apiVersion: v1\nclusters:\n{}",
                (0..200)
                    .map(|i| format!("{}- a:\n", " ".repeat(2 * i + 2)))
                    .collect::<String>()
            ),
        ),
        (
            "ignored",
            format!(
                "apiVersion: v1\nsomething-else:\n  x: {}",
                "[ '[', ".repeat(20_000)
            ),
        ),
    ] {
        let path = dir.write(name, &text);
        let started = std::time::Instant::now();
        let err = Kubeconfig::read_from(&path).unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("kubeconfig {} ", path.display())),
            "{message}"
        );
        assert!(
            message.contains("the YAML is nested deeper than 64 levels"),
            "{message}"
        );
        let line = match name {
            "ignored" => 3,
            // The 65th level: the first `- ` is the second level.
            "block" => 2 + 32,
            _ => 2,
        };
        assert!(
            message.contains(&format!("(line {line}, column ")),
            "{message}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{name} took {:?}",
            started.elapsed()
        );
    }
    // As deep as kubeconfigs go, and then some, still parses, on a thread with the
    // stack of an async task (2 MiB).
    let fine = format!(
        "apiVersion: v1\nsomething-else: {}{}\n",
        "[".repeat(62),
        "]".repeat(62)
    );
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || Kubeconfig::from_yaml(&fine, None).unwrap())
        .unwrap()
        .join()
        .unwrap();
}
