//! Loading kubeconfigs: the loading rules, the merge, relative paths, context
//! selection, and the rest-core `Config` built from each kind of credential.

mod common;

use std::ffi::OsString;
use std::path::PathBuf;

use common::{CERT_PEM, KEY_PEM, TempDir, b64, simple};
use kubecto_config::{Kubeconfig, LoadingRules, Overrides};
use kubecto_rest_core::{Auth, PemSource};

fn rules() -> LoadingRules {
    // Never the real environment: no KUBECONFIG, no home.
    LoadingRules::default()
}

#[test]
fn token_user_builds_bearer_config_for_current_context() {
    let dir = TempDir::new("token");
    let path = dir.write("config", simple("https://10.0.0.1:6443", "token: abc.def"));
    let selected = rules()
        .explicit_path(&path)
        .load()
        .unwrap()
        .select(&Overrides::default())
        .unwrap();
    assert_eq!(selected.context_name, "ctx");
    assert_eq!(selected.cluster_name, "c1");
    assert_eq!(selected.user_name, "u1");
    assert_eq!(selected.namespace(), "default");
    let config = selected.rest_config().unwrap();
    assert_eq!(config.host, "https://10.0.0.1:6443");
    assert_eq!(config.auth, Auth::Bearer("abc.def".into()));
    assert!(config.credential_provider.is_none());
    assert!(!config.tls.insecure);
    assert_eq!(config.tls.ca, None);
}

#[test]
fn context_namespace_is_exposed_and_overridable() {
    let yaml = "
clusters:
- name: c1
  cluster: {server: 'http://127.0.0.1:8080'}
contexts:
- name: a
  context: {cluster: c1, namespace: kube-system}
- name: b
  context: {cluster: c1}
current-context: a
";
    let kc = Kubeconfig::from_yaml(yaml, None).unwrap();
    assert_eq!(
        kc.select(&Overrides::default()).unwrap().namespace(),
        "kube-system"
    );
    let b = kc.select(&Overrides::default().context("b")).unwrap();
    assert_eq!(b.context_name, "b");
    assert_eq!(b.namespace(), "default");
    let ns = kc
        .select(&Overrides::default().namespace("team-x"))
        .unwrap();
    assert_eq!(ns.namespace(), "team-x");
    let server = kc
        .select(&Overrides::default().server("https://other:6443"))
        .unwrap()
        .rest_config()
        .unwrap();
    assert_eq!(server.host, "https://other:6443");
    // No user in the context: anonymous.
    let anon = kc
        .select(&Overrides::default())
        .unwrap()
        .rest_config()
        .unwrap();
    assert_eq!(anon.auth, Auth::None);
    assert_eq!(anon.host, "http://127.0.0.1:8080");
}

#[test]
fn relative_paths_resolve_against_the_file_that_names_them() {
    let dir = TempDir::new("relative");
    dir.write("sub/pki/ca.crt", CERT_PEM);
    dir.write("sub/pki/client.crt", CERT_PEM);
    dir.write("sub/pki/client.key", KEY_PEM);
    dir.write("sub/token", "file-token\n");
    let yaml = "
clusters:
- name: c1
  cluster:
    server: https://k8s.example:6443
    certificate-authority: pki/ca.crt
users:
- name: u1
  user:
    client-certificate: pki/client.crt
    client-key: ./pki/client.key
    tokenFile: token
    exec:
      command: ./bin/helper
contexts:
- name: ctx
  context: {cluster: c1, user: u1}
current-context: ctx
";
    let path = dir.write("sub/kubeconfig", yaml);
    let kc = Kubeconfig::read_from(&path).unwrap();
    let base = std::path::absolute(dir.path().join("sub")).unwrap();
    assert_eq!(
        kc.clusters[0].cluster.certificate_authority,
        Some(base.join("pki/ca.crt"))
    );
    let user = &kc.users[0].user;
    assert_eq!(user.client_certificate, Some(base.join("pki/client.crt")));
    assert_eq!(user.client_key, Some(base.join("./pki/client.key")));
    assert_eq!(user.token_file, Some(base.join("token")));
    assert_eq!(
        PathBuf::from(&user.exec.as_ref().unwrap().command),
        base.join("./bin/helper")
    );
    assert_eq!(kc.clusters[0].source.as_deref(), Some(path.as_path()));
}

#[test]
fn certificate_files_and_data_become_pem_sources() {
    let dir = TempDir::new("certs");
    let ca = dir.write("ca.crt", CERT_PEM);
    let user = format!(
        "client-certificate-data: {}\nclient-key-data: {}",
        b64(CERT_PEM),
        b64(KEY_PEM)
    );
    let yaml = simple("https://k:6443", &user).replace(
        "    server: https://k:6443\n",
        "    server: https://k:6443\n    certificate-authority: ca.crt\n    tls-server-name: kubernetes\n",
    );
    let path = dir.write("config", yaml);
    let config = rules()
        .explicit_path(&path)
        .load()
        .unwrap()
        .select(&Overrides::default())
        .unwrap()
        .rest_config()
        .unwrap();
    assert_eq!(
        config.tls.ca,
        Some(PemSource::File(std::path::absolute(ca).unwrap()))
    );
    assert_eq!(
        config.tls.client_cert,
        Some(PemSource::Data(CERT_PEM.as_bytes().to_vec()))
    );
    assert_eq!(
        config.tls.client_key,
        Some(PemSource::Data(KEY_PEM.as_bytes().to_vec()))
    );
    assert_eq!(config.tls.server_name.as_deref(), Some("kubernetes"));
    assert_eq!(config.auth, Auth::None);
}

#[test]
fn ca_data_wins_over_ca_file_and_may_be_wrapped() {
    let encoded = b64(CERT_PEM);
    let (a, b) = encoded.split_at(20);
    let yaml = format!(
        "
clusters:
- name: c1
  cluster:
    server: https://k:6443
    certificate-authority: /does/not/matter
    certificate-authority-data: |
      {a}
      {b}
contexts:
- name: ctx
  context: {{cluster: c1}}
current-context: ctx
"
    );
    let config = Kubeconfig::from_yaml(&yaml, None)
        .unwrap()
        .select(&Overrides::default())
        .unwrap()
        .rest_config()
        .unwrap();
    assert_eq!(
        config.tls.ca,
        Some(PemSource::Data(CERT_PEM.as_bytes().to_vec()))
    );
    assert!(!config.tls.insecure);
}

#[test]
fn client_certificate_and_key_files() {
    let dir = TempDir::new("clientfiles");
    let cert = dir.write("c.crt", CERT_PEM);
    let key = dir.write("c.key", KEY_PEM);
    let path = dir.write(
        "config",
        simple(
            "https://k:6443",
            "client-certificate: c.crt\nclient-key: c.key",
        ),
    );
    let config = Kubeconfig::read_from(&path)
        .unwrap()
        .select(&Overrides::default())
        .unwrap()
        .rest_config()
        .unwrap();
    assert_eq!(
        config.tls.client_cert,
        Some(PemSource::File(std::path::absolute(cert).unwrap()))
    );
    assert_eq!(
        config.tls.client_key,
        Some(PemSource::File(std::path::absolute(key).unwrap()))
    );
}

#[test]
fn basic_auth_and_impersonation() {
    let yaml = simple(
        "https://k:6443",
        "username: admin\npassword: hunter2\nas: jane\nas-uid: '42'\nas-groups: [devs, ops]\nas-user-extra:\n  scopes: [view]",
    );
    let config = Kubeconfig::from_yaml(&yaml, None)
        .unwrap()
        .select(&Overrides::default())
        .unwrap()
        .rest_config()
        .unwrap();
    match &config.auth {
        Auth::Basic { username, password } => {
            assert_eq!(username, "admin");
            assert_eq!(password.expose(), "hunter2");
        }
        other => panic!("expected basic auth, got {other:?}"),
    }
    assert_eq!(config.impersonate.user.as_deref(), Some("jane"));
    assert_eq!(config.impersonate.uid.as_deref(), Some("42"));
    assert_eq!(
        config.impersonate.groups,
        vec!["devs".to_owned(), "ops".to_owned()]
    );
    assert_eq!(config.impersonate.extra["scopes"], vec!["view".to_owned()]);
}

#[tokio::test]
async fn token_file_is_a_provider_that_sees_rotation() {
    let dir = TempDir::new("tokenfile");
    let token = dir.write("token", "first-token\n");
    let path = dir.write("config", simple("https://k:6443", "tokenFile: token"));
    let config = Kubeconfig::read_from(&path)
        .unwrap()
        .select(&Overrides::default())
        .unwrap()
        .rest_config()
        .unwrap();
    assert_eq!(config.auth, Auth::None);
    let provider = config
        .credential_provider
        .clone()
        .expect("token file provider");
    assert_eq!(
        provider.credentials().await.unwrap(),
        Auth::Bearer("first-token".into())
    );

    // Rotate: after a 401 the client calls refresh(), which re-reads at once.
    std::fs::write(&token, "second-token-longer").unwrap();
    assert_eq!(
        provider.refresh().await.unwrap(),
        Auth::Bearer("second-token-longer".into())
    );

    // Without a 401, the change is seen within about a second.
    std::fs::write(&token, "third").unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        provider.credentials().await.unwrap(),
        Auth::Bearer("third".into())
    );

    // A file that disappears keeps the last good token.
    std::fs::remove_file(&token).unwrap();
    assert_eq!(
        provider.refresh().await.unwrap(),
        Auth::Bearer("third".into())
    );
}

#[test]
fn unknown_fields_nulls_and_extensions_are_tolerated() {
    let yaml = "
apiVersion: v1
kind: Config
preferences: {}
someFutureField: {a: 1}
clusters:
- name: c1
  cluster:
    server: https://k:6443
    disable-compression: true
    extensions:
    - name: client.authentication.k8s.io/exec
      extension: {audience: foo}
    brandNewClusterField: yes
  extraEntryField: 1
users: null
contexts:
- name: ctx
  context:
    cluster: c1
    extensions: null
current-context: ctx
extensions:
- name: x
  extension: [1, 2]
";
    let kc = Kubeconfig::from_yaml(yaml, None).unwrap();
    assert!(kc.users.is_empty());
    assert_eq!(kc.clusters[0].cluster.extensions.len(), 1);
    assert_eq!(kc.extensions.len(), 1);
    let config = kc
        .select(&Overrides::default())
        .unwrap()
        .rest_config()
        .unwrap();
    assert_eq!(config.host, "https://k:6443");
}

#[test]
fn empty_file_is_an_empty_kubeconfig() {
    let dir = TempDir::new("empty");
    let path = dir.write("config", "\n");
    let kc = Kubeconfig::read_from(&path).unwrap();
    assert!(kc.contexts.is_empty());
    assert_eq!(kc.sources, vec![path]);
}

#[test]
fn server_without_scheme_gets_https() {
    let kc = Kubeconfig::from_yaml(&simple("10.1.2.3:6443/", "token: t"), None).unwrap();
    let config = kc
        .select(&Overrides::default())
        .unwrap()
        .rest_config()
        .unwrap();
    assert_eq!(config.host, "https://10.1.2.3:6443");
}

#[test]
fn explicit_path_wins_over_kubeconfig_var_and_home() {
    let dir = TempDir::new("explicit");
    let explicit = dir.write("explicit", simple("https://explicit:1", "token: e"));
    let listed = dir.write("listed", simple("https://listed:1", "token: l"));
    dir.write("home/.kube/config", simple("https://home:1", "token: h"));
    let base = LoadingRules::default()
        .kubeconfig_var(Some(listed.clone().into_os_string()))
        .home_dir(Some(dir.path().join("home")));

    let kc = base.clone().explicit_path(&explicit).load().unwrap();
    assert_eq!(
        kc.clusters[0].cluster.server.as_deref(),
        Some("https://explicit:1")
    );
    let kc = base.clone().load().unwrap();
    assert_eq!(
        kc.clusters[0].cluster.server.as_deref(),
        Some("https://listed:1")
    );
    let kc = base.kubeconfig_var(None).load().unwrap();
    assert_eq!(
        kc.clusters[0].cluster.server.as_deref(),
        Some("https://home:1")
    );
}

#[test]
fn kubeconfig_var_merges_first_file_wins_and_skips_missing_files() {
    let dir = TempDir::new("merge");
    let first = dir.write(
        "first",
        "
clusters:
- name: shared
  cluster: {server: 'https://first:1'}
users:
- name: shared
  user: {token: first-token}
contexts:
- name: one
  context: {cluster: shared, user: shared, namespace: first-ns}
",
    );
    let second = dir.write(
        "second",
        "
clusters:
- name: shared
  cluster: {server: 'https://second:1'}
- name: only-second
  cluster: {server: 'https://only-second:1'}
users:
- name: shared
  user: {token: second-token}
contexts:
- name: one
  context: {cluster: only-second, namespace: second-ns}
- name: two
  context: {cluster: only-second, user: shared}
current-context: two
",
    );
    let third = dir.write("third", "current-context: one\n");
    let missing = dir.path().join("missing");
    let var = std::env::join_paths([&missing, &first, &second, &third, &first]).unwrap();
    let kc = LoadingRules::default()
        .kubeconfig_var(Some(var))
        .load()
        .unwrap();

    assert_eq!(kc.sources, vec![first.clone(), second.clone(), third]);
    // current-context: the first file that sets one (second, not third).
    assert_eq!(kc.current_context.as_deref(), Some("two"));
    assert_eq!(kc.current_context_source.as_deref(), Some(second.as_path()));
    // Map entries: the first file that defines a name wins, whole.
    assert_eq!(kc.clusters.len(), 2);
    let shared = kc.clusters.iter().find(|c| c.name == "shared").unwrap();
    assert_eq!(shared.cluster.server.as_deref(), Some("https://first:1"));
    assert_eq!(shared.source.as_deref(), Some(first.as_path()));

    let two = kc.select(&Overrides::default()).unwrap();
    assert_eq!(two.cluster.server.as_deref(), Some("https://only-second:1"));
    assert_eq!(two.user_source.as_deref(), Some(first.as_path()));
    assert_eq!(
        two.rest_config().unwrap().auth,
        Auth::Bearer("first-token".into())
    );

    let one = kc.select(&Overrides::default().context("one")).unwrap();
    assert_eq!(one.namespace(), "first-ns");
    assert_eq!(one.cluster.server.as_deref(), Some("https://first:1"));
}

#[test]
fn kubeconfig_var_set_but_empty_falls_back_to_home() {
    let dir = TempDir::new("emptyvar");
    dir.write("home/.kube/config", simple("https://home:1", "token: h"));
    let kc = LoadingRules::default()
        .kubeconfig_var(Some(OsString::new()))
        .home_dir(Some(dir.path().join("home")))
        .load()
        .unwrap();
    assert_eq!(
        kc.clusters[0].cluster.server.as_deref(),
        Some("https://home:1")
    );
}

#[test]
fn load_helper_reads_an_explicit_file() {
    let dir = TempDir::new("helper");
    let path = dir.write("config", simple("https://k:6443", "token: t"));
    let selected = kubecto_config::load(Some(&path), &Overrides::default()).unwrap();
    assert_eq!(selected.rest_config().unwrap().host, "https://k:6443");
}

#[test]
fn a_kubeconfig_built_in_code_round_trips_through_yaml() {
    use kubecto_config::{AuthInfo, Cluster, Context, NamedAuthInfo, NamedCluster, NamedContext};
    let mut cluster = Cluster::default();
    cluster.server = Some("https://k:6443".to_owned());
    cluster.insecure_skip_tls_verify = Some(true);
    let mut user = AuthInfo::default();
    user.token = Some("t".to_owned());
    user.impersonate_groups = vec!["g".to_owned()];
    let mut context = Context::default();
    context.cluster = "c".to_owned();
    context.user = "u".to_owned();
    context.namespace = Some("ns".to_owned());
    let mut kc = Kubeconfig::default();
    kc.api_version = Some("v1".to_owned());
    kc.kind = Some("Config".to_owned());
    kc.clusters.push(NamedCluster::new("c", cluster));
    kc.users.push(NamedAuthInfo::new("u", user));
    kc.contexts.push(NamedContext::new("x", context));
    kc.current_context = Some("x".to_owned());

    let yaml = serde_saphyr::to_string(&kc).unwrap();
    assert!(yaml.contains("insecure-skip-tls-verify: true"), "{yaml}");
    assert!(yaml.contains("current-context: x"), "{yaml}");
    assert!(yaml.contains("as-groups:"), "{yaml}");
    let back = Kubeconfig::from_yaml(&yaml, None).unwrap();
    assert_eq!(back, kc);
    let selected = back.select(&Overrides::default()).unwrap();
    assert_eq!(selected.namespace(), "ns");
}

#[test]
fn kubectl_flag_overrides_for_tls_token_and_impersonation() {
    let dir = TempDir::new("flag-overrides");
    let ca = dir.write("ca.crt", CERT_PEM);
    let yaml = format!(
        "
clusters:
- name: c1
  cluster:
    server: https://k:6443
    certificate-authority-data: {}
users:
- name: u1
  user:
    tokenFile: /does/not/exist
    exec: {{command: x, apiVersion: client.authentication.k8s.io/v1, interactiveMode: Never}}
contexts:
- name: ctx
  context: {{cluster: c1, user: u1}}
current-context: ctx
",
        b64(CERT_PEM)
    );
    let kc = Kubeconfig::from_yaml(&yaml, None).unwrap();
    let overrides = Overrides::default()
        .token("flag-token")
        .tls_server_name("api.internal")
        .certificate_authority(&ca)
        .impersonate("jane")
        .impersonate_group("devs")
        .impersonate_uid("42");
    assert!(!format!("{overrides:?}").contains("flag-token"));
    let config = kc.select(&overrides).unwrap().rest_config().unwrap();
    // The token replaces the token file and the exec plugin.
    assert_eq!(config.auth, Auth::Bearer("flag-token".into()));
    assert!(config.credential_provider.is_none());
    assert_eq!(config.tls.server_name.as_deref(), Some("api.internal"));
    assert_eq!(config.tls.ca, Some(PemSource::File(ca)));
    assert_eq!(config.impersonate.user.as_deref(), Some("jane"));
    assert_eq!(config.impersonate.groups, ["devs"]);
    assert_eq!(config.impersonate.uid.as_deref(), Some("42"));

    // --insecure-skip-tls-verify drops the CA, as kubectl does.
    let overrides = Overrides::default()
        .token("t")
        .insecure_skip_tls_verify(true);
    let config = kc.select(&overrides).unwrap().rest_config().unwrap();
    assert!(config.tls.insecure);
    assert_eq!(config.tls.ca, None);
}

/// YAML as kubectl reads it: anchors and aliases, merge keys (`<<`), several
/// documents' worth of comments and `---`, and numbers past 64 bits in an extension.
#[test]
fn anchors_merge_keys_and_large_numbers() {
    let yaml = r#"---
# one exec definition shared by two users
apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster: &prod
    server: https://prod.example:6443
    insecure-skip-tls-verify: true
    extensions:
    - name: numbers
      extension: {big: 18446744073709551616, max: 18446744073709551615, octal: 0644}
- name: prod-internal
  cluster:
    <<: *prod
    server: https://10.0.0.1:6443
users:
- name: alice
  user:
    exec: &exec
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: [eks, get-token, --cluster-name, prod]
- name: bob
  user:
    exec: *exec
contexts:
- name: prod
  context: {cluster: prod-internal, user: bob}
current-context: prod
"#;
    let kc = Kubeconfig::from_yaml(yaml, None).unwrap();
    let internal = &kc.clusters[1].cluster;
    assert_eq!(internal.server.as_deref(), Some("https://10.0.0.1:6443"));
    assert_eq!(
        internal.insecure_skip_tls_verify,
        Some(true),
        "merged from *prod"
    );
    let numbers = &kc.clusters[0].cluster.extensions[0].extension;
    assert_eq!(numbers["max"], serde_json::json!(u64::MAX));
    assert_eq!(numbers["big"].as_f64(), Some(18_446_744_073_709_551_616.0));
    assert_eq!(
        numbers["octal"],
        serde_json::json!(0o644),
        "YAML 1.1, as kubectl"
    );
    assert_eq!(kc.users[0].user.exec, kc.users[1].user.exec);
    assert_eq!(
        kc.users[1].user.exec.as_ref().unwrap().args,
        ["eks", "get-token", "--cluster-name", "prod"]
    );
}
