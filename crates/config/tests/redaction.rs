//! Secrets (tokens, passwords, private keys, exec environment values, auth-provider
//! configuration) never appear in `Debug` output or in error messages.

mod common;

use common::{CERT_PEM, KEY_PEM, TempDir, b64, simple};
use kubecto_config::{Kubeconfig, Overrides};

const SECRETS: &[&str] = &[
    "tok-SECRET-1",
    "pw-SECRET-2",
    "env-SECRET-3",
    "idp-SECRET-4",
];

fn assert_clean(what: &str, text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "{what} leaks {s:?}: {text}");
    }
    // Neither the key's PEM body nor the base64 of the whole key may leak.
    for line in KEY_PEM.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!text.contains(line), "{what} leaks the client key: {text}");
    }
    assert!(
        !text.contains(&b64(KEY_PEM)),
        "{what} leaks client-key-data: {text}"
    );
}

#[test]
fn debug_of_the_model_hides_secrets() {
    let yaml = format!(
        "
clusters:
- name: c1
  cluster: {{server: 'https://k'}}
users:
- name: u1
  user:
    token: tok-SECRET-1
    password: pw-SECRET-2
    username: admin
    client-certificate-data: {cert}
    client-key-data: {key}
    exec:
      command: helper
      env:
      - name: API_KEY
        value: env-SECRET-3
    auth-provider:
      name: oidc
      config:
        id-token: idp-SECRET-4
contexts:
- name: ctx
  context: {{cluster: c1, user: u1}}
current-context: ctx
",
        cert = b64(CERT_PEM),
        key = b64(KEY_PEM),
    );
    let kc = Kubeconfig::from_yaml(&yaml, None).unwrap();
    assert_clean("Kubeconfig {:?}", &format!("{kc:?}"));
    assert_clean("Kubeconfig {:#?}", &format!("{kc:#?}"));
    let selected = kc.select(&Overrides::default()).unwrap();
    assert_clean("SelectedContext", &format!("{selected:?}"));
    // Debug still says what is there.
    let user = format!("{:?}", kc.users[0].user);
    assert!(user.contains("token: Some(<redacted>)"), "{user}");
    assert!(user.contains("API_KEY"), "{user}");
    assert!(user.contains("id-token"), "{user}");
    // The unsupported exec plugin is an error that does not quote secrets.
    let err = selected.rest_config().unwrap_err();
    assert_clean("error", &format!("{err} {err:?}"));
}

#[test]
fn rest_config_debug_hides_secrets() {
    let user = format!(
        "token: tok-SECRET-1\nclient-certificate-data: {}\nclient-key-data: {}\nas: jane",
        b64(CERT_PEM),
        b64(KEY_PEM)
    );
    let config = Kubeconfig::from_yaml(&simple("https://k", &user), None)
        .unwrap()
        .select(&Overrides::default())
        .unwrap()
        .rest_config()
        .unwrap();
    assert_clean("rest Config", &format!("{config:?}"));

    let basic = Kubeconfig::from_yaml(
        &simple("https://k", "username: a\npassword: pw-SECRET-2"),
        None,
    )
    .unwrap()
    .select(&Overrides::default())
    .unwrap()
    .rest_config()
    .unwrap();
    assert_clean("rest Config (basic)", &format!("{basic:?}"));
}

#[test]
fn token_file_provider_debug_hides_the_token() {
    let dir = TempDir::new("redact-tokenfile");
    dir.write("token", "tok-SECRET-1");
    let path = dir.write(
        "config",
        simple("https://k", "tokenFile: token\ntoken: pw-SECRET-2"),
    );
    let config = Kubeconfig::read_from(&path)
        .unwrap()
        .select(&Overrides::default())
        .unwrap()
        .rest_config()
        .unwrap();
    let text = format!("{config:?}");
    assert!(text.contains("TokenFileProvider"), "{text}");
    assert_clean("rest Config (token file)", &text);
}

#[test]
fn parse_errors_do_not_quote_secret_values() {
    for user in [
        "token: [tok-SECRET-1]",
        "token: {a: tok-SECRET-1}",
        "password: {p: pw-SECRET-2}",
        "exec:\n  command: x\n  env:\n  - name: K\n    value: {v: env-SECRET-3}",
        "auth-provider:\n  name: oidc\n  config:\n    id-token: [idp-SECRET-4]",
    ] {
        let err = Kubeconfig::from_yaml(&simple("https://k", user), None).unwrap_err();
        assert_clean("parse error", &format!("{err} {err:?}"));
    }
    // An all-digit token is a YAML integer; it is accepted as the string it spells
    // (kubectl would refuse it) and still redacted.
    let kc = Kubeconfig::from_yaml(&simple("https://k", "token: 123456789"), None).unwrap();
    assert_eq!(kc.users[0].user.token.as_deref(), Some("123456789"));
    assert!(!format!("{kc:?}").contains("123456789"));
}
