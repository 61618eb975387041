//! Broken kubeconfigs: every error names the file, the entry and the field, and
//! nothing panics.

mod common;

use common::{CERT_PEM, TempDir, b64, simple};
use kubecto_config::{EntryKind, Error, Kubeconfig, LoadingRules, Overrides};

/// Load `yaml` from a file and build the rest config for its current context.
fn build(dir: &TempDir, yaml: &str) -> (std::path::PathBuf, Error) {
    let path = dir.write("config", yaml);
    let err = Kubeconfig::read_from(&path)
        .and_then(|kc| kc.select(&Overrides::default()))
        .and_then(|s| s.rest_config())
        .expect_err("expected an error");
    (path, err)
}

fn assert_mentions(err: &Error, parts: &[&str]) {
    let msg = err.to_string();
    for p in parts {
        assert!(msg.contains(p), "message {msg:?} does not mention {p:?}");
    }
}

#[test]
fn not_yaml_names_file_line_and_column() {
    let dir = TempDir::new("notyaml");
    let (path, err) = build(
        &dir,
        "clusters:\n- name: c1\n  cluster: {server: [unclosed\n",
    );
    match &err {
        Error::Parse {
            path: Some(p),
            line,
            column,
            ..
        } => {
            assert_eq!(p, &path);
            assert!(line.is_some() && column.is_some(), "{err}");
        }
        other => panic!("expected Parse, got {other:?}"),
    }
    assert_mentions(&err, &[&path.display().to_string(), "line "]);
}

#[test]
fn wrong_type_names_the_field_path() {
    let dir = TempDir::new("wrongtype");
    let yaml = "clusters:\n- name: c1\n  cluster:\n    server: https://k\n    insecure-skip-tls-verify: maybe\n";
    let (path, err) = build(&dir, yaml);
    assert!(matches!(err, Error::Parse { line: Some(5), .. }), "{err:?}");
    assert_mentions(
        &err,
        &[
            &path.display().to_string(),
            "clusters[0].cluster.insecure-skip-tls-verify",
            "line 5",
        ],
    );
}

#[test]
fn a_list_where_a_map_belongs_is_a_parse_error() {
    let err = Kubeconfig::from_yaml("clusters: {c1: {}}\n", None).unwrap_err();
    assert!(matches!(err, Error::Parse { path: None, .. }), "{err:?}");
    assert_mentions(&err, &["<string>", "clusters"]);
}

#[test]
fn no_current_context() {
    let dir = TempDir::new("nocurrent");
    let (path, err) = build(
        &dir,
        &simple("https://k", "token: t").replace("current-context: ctx\n", ""),
    );
    assert!(matches!(err, Error::NoCurrentContext { .. }), "{err:?}");
    assert_mentions(&err, &[&path.display().to_string(), "current-context"]);
}

#[test]
fn missing_context_from_current_context_names_the_file_that_set_it() {
    let dir = TempDir::new("missingctx");
    let (path, err) = build(
        &dir,
        &simple("https://k", "token: t").replace("current-context: ctx", "current-context: prod"),
    );
    assert!(
        matches!(err, Error::MissingContext { ref name, .. } if name == "prod"),
        "{err:?}"
    );
    assert_mentions(
        &err,
        &["\"prod\"", &path.display().to_string(), "current-context"],
    );
}

#[test]
fn missing_named_context() {
    let dir = TempDir::new("namedctx");
    let path = dir.write("config", simple("https://k", "token: t"));
    let err = Kubeconfig::read_from(&path)
        .unwrap()
        .select(&Overrides::default().context("nope"))
        .unwrap_err();
    assert_mentions(
        &err,
        &["context \"nope\" not found", &path.display().to_string()],
    );
}

#[test]
fn missing_cluster_names_context_and_field() {
    let dir = TempDir::new("missingcluster");
    let (path, err) = build(
        &dir,
        &simple("https://k", "token: t").replace("cluster: c1", "cluster: gone"),
    );
    match &err {
        Error::MissingCluster { at, name, .. } => {
            assert_eq!(name, "gone");
            assert_eq!(at.kind, EntryKind::Context);
            assert_eq!(at.entry, "ctx");
            assert_eq!(at.field, "cluster");
            assert_eq!(at.file.as_deref(), Some(path.as_path()));
        }
        other => panic!("expected MissingCluster, got {other:?}"),
    }
    assert_mentions(
        &err,
        &[
            &path.display().to_string(),
            "context \"ctx\"",
            "field cluster",
            "\"gone\"",
        ],
    );
}

#[test]
fn missing_user_names_context_and_field() {
    let dir = TempDir::new("missinguser");
    let (path, err) = build(
        &dir,
        &simple("https://k", "token: t").replace("user: u1", "user: ghost"),
    );
    assert!(
        matches!(err, Error::MissingUser { ref name, .. } if name == "ghost"),
        "{err:?}"
    );
    assert_mentions(
        &err,
        &[
            &path.display().to_string(),
            "context \"ctx\"",
            "field user",
            "\"ghost\"",
        ],
    );
}

#[test]
fn context_without_cluster() {
    let dir = TempDir::new("nocluster");
    let (path, err) = build(
        &dir,
        &simple("https://k", "token: t").replace("    cluster: c1\n", ""),
    );
    assert!(matches!(err, Error::MissingField { .. }), "{err:?}");
    assert_mentions(
        &err,
        &[
            &path.display().to_string(),
            "context \"ctx\"",
            "field cluster",
        ],
    );
}

#[test]
fn cluster_without_server() {
    let dir = TempDir::new("noserver");
    let (path, err) = build(&dir, &simple("''", "token: t"));
    assert!(matches!(err, Error::MissingField { .. }), "{err:?}");
    assert_mentions(
        &err,
        &[
            &path.display().to_string(),
            "cluster \"c1\"",
            "field server",
        ],
    );
}

#[test]
fn server_that_is_not_http() {
    let dir = TempDir::new("badserver");
    let (_, err) = build(&dir, &simple("ftp://k:21", "token: t"));
    assert!(matches!(err, Error::InvalidValue { .. }), "{err:?}");
    assert_mentions(&err, &["cluster \"c1\"", "field server", "ftp://k:21"]);
}

#[test]
fn missing_referenced_files_name_entry_field_and_resolved_path() {
    let dir = TempDir::new("missingfile");
    let yaml = simple("https://k", "token: t").replace(
        "    server: https://k\n",
        "    server: https://k\n    certificate-authority: pki/nope.crt\n",
    );
    let (path, err) = build(&dir, &yaml);
    let expected = std::path::absolute(dir.path().join("pki/nope.crt")).unwrap();
    match &err {
        Error::ReferencedFile {
            at,
            path: missing,
            source,
        } => {
            assert_eq!(at.field, "certificate-authority");
            assert_eq!(missing, &expected);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected ReferencedFile, got {other:?}"),
    }
    assert_mentions(
        &err,
        &[
            &path.display().to_string(),
            "cluster \"c1\"",
            "field certificate-authority",
            &expected.display().to_string(),
        ],
    );

    for (user, field) in [
        (
            "client-certificate: c.crt\nclient-key: c.key",
            "client-certificate",
        ),
        ("tokenFile: no-such-token", "tokenFile"),
    ] {
        let (_, err) = build(&dir, &simple("https://k", user));
        assert!(matches!(err, Error::ReferencedFile { .. }), "{err:?}");
        assert_mentions(&err, &["user \"u1\"", &format!("field {field}")]);
    }
}

#[test]
fn invalid_base64_names_the_data_field() {
    let dir = TempDir::new("base64");
    let yaml = simple("https://k", "token: t").replace(
        "    server: https://k\n",
        "    server: https://k\n    certificate-authority-data: not*base64!\n",
    );
    let (path, err) = build(&dir, &yaml);
    assert!(matches!(err, Error::InvalidBase64 { .. }), "{err:?}");
    assert_mentions(
        &err,
        &[
            &path.display().to_string(),
            "cluster \"c1\"",
            "field certificate-authority-data",
            "base64",
        ],
    );

    let (_, err) = build(
        &dir,
        &simple(
            "https://k",
            &format!(
                "client-certificate-data: {}\nclient-key-data: '%%%'",
                b64(CERT_PEM)
            ),
        ),
    );
    assert!(matches!(err, Error::InvalidBase64 { .. }), "{err:?}");
    assert_mentions(&err, &["user \"u1\"", "field client-key-data"]);
}

#[test]
fn data_that_is_not_pem_is_reported_against_its_field() {
    let dir = TempDir::new("notpem");
    let yaml = simple("https://k", "token: t").replace(
        "    server: https://k\n",
        &format!(
            "    server: https://k\n    certificate-authority-data: {}\n",
            b64("just text")
        ),
    );
    let (_, err) = build(&dir, &yaml);
    assert!(matches!(err, Error::InvalidValue { .. }), "{err:?}");
    assert_mentions(&err, &["field certificate-authority-data", "PEM"]);
}

#[test]
fn certificate_without_key() {
    let dir = TempDir::new("nokey");
    dir.write("c.crt", CERT_PEM);
    let (_, err) = build(&dir, &simple("https://k", "client-certificate: c.crt"));
    assert!(matches!(err, Error::MissingField { .. }), "{err:?}");
    assert_mentions(&err, &["user \"u1\"", "field client-key"]);
}

#[test]
fn empty_token_file() {
    let dir = TempDir::new("emptytoken");
    dir.write("token", "  \n");
    let (_, err) = build(&dir, &simple("https://k", "tokenFile: token"));
    assert!(matches!(err, Error::InvalidValue { .. }), "{err:?}");
    assert_mentions(&err, &["user \"u1\"", "field tokenFile", "empty"]);
}

#[test]
fn token_and_basic_auth_together() {
    let dir = TempDir::new("twoauth");
    let (_, err) = build(
        &dir,
        &simple("https://k", "token: t\nusername: a\npassword: b"),
    );
    assert!(matches!(err, Error::InvalidValue { .. }), "{err:?}");
    assert_mentions(
        &err,
        &["user \"u1\"", "more than one authentication method"],
    );
}

#[test]
fn unsupported_features_say_so() {
    let dir = TempDir::new("unsupported");
    let (_, err) = build(
        &dir,
        &simple(
            "https://k",
            "exec:\n  command: aws\n  apiVersion: client.authentication.k8s.io/v1",
        ),
    );
    // exec is supported now; client.authentication.k8s.io/v1 requires interactiveMode.
    assert!(matches!(err, Error::InvalidValue { .. }), "{err:?}");
    assert_mentions(
        &err,
        &["user \"u1\"", "field exec.interactiveMode", "must be set"],
    );

    let (_, err) = build(
        &dir,
        &simple(
            "https://k",
            "auth-provider:\n  name: oidc\n  config: {id-token: x}",
        ),
    );
    assert_mentions(&err, &["field auth-provider", "oidc", "not supported yet"]);
    let (_, err) = build(&dir, &simple("https://k", "auth-provider:\n  name: gcp"));
    assert_mentions(&err, &["\"gcp\" auth provider", "gke-gcloud-auth-plugin"]);

    let yaml = simple("https://k", "token: t").replace(
        "    server: https://k\n",
        "    server: https://k\n    proxy-url: ftp://proxy:3128\n",
    );
    let (_, err) = build(&dir, &yaml);
    assert_mentions(
        &err,
        &["cluster \"c1\"", "field proxy-url", "unknown proxy scheme"],
    );
}

#[test]
fn loading_rules_errors() {
    let dir = TempDir::new("rules");
    let missing = dir.path().join("nope");
    let err = LoadingRules::default()
        .explicit_path(&missing)
        .load()
        .unwrap_err();
    assert!(matches!(err, Error::Read { .. }), "{err:?}");
    assert_mentions(&err, &[&missing.display().to_string()]);

    let err = LoadingRules::default()
        .kubeconfig_var(Some(missing.clone().into_os_string()))
        .load()
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert_mentions(&err, &[&missing.display().to_string(), "KUBECONFIG"]);

    let err = LoadingRules::default()
        .home_dir(Some(dir.path().to_path_buf()))
        .load()
        .unwrap_err();
    assert_mentions(
        &err,
        &[&dir
            .path()
            .join(".kube")
            .join("config")
            .display()
            .to_string()],
    );

    let err = LoadingRules::default().load().unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

#[test]
fn a_bad_file_in_kubeconfig_var_names_that_file() {
    let dir = TempDir::new("badlisted");
    let good = dir.write("good", simple("https://k", "token: t"));
    let bad = dir.write("bad", "users: [\n");
    let var = std::env::join_paths([&good, &bad]).unwrap();
    let err = LoadingRules::default()
        .kubeconfig_var(Some(var))
        .load()
        .unwrap_err();
    assert!(
        matches!(err, Error::Parse { path: Some(ref p), .. } if p == &bad),
        "{err:?}"
    );
}

#[test]
fn an_empty_kubeconfig_is_reported_as_empty() {
    let dir = TempDir::new("emptyfile");
    for text in ["", "\n\n", "# only a comment\n"] {
        let (path, err) = build(&dir, text);
        assert!(matches!(err, Error::Empty { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!("kubeconfig {} is empty", path.display())
        );
    }
    // Two empty files of $KUBECONFIG.
    let a = dir.write("a", "");
    let b = dir.write("b", "");
    let var = std::env::join_paths([&a, &b]).unwrap();
    let err = LoadingRules::default()
        .kubeconfig_var(Some(var))
        .load()
        .and_then(|kc| kc.select(&Overrides::default()))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "kubeconfig files {}, {} are empty",
            a.display(),
            b.display()
        )
    );
}
