//! Secrets never appear in Debug output.

use kubecto_rest_core::{Auth, Config, PemSource, SecretString};

#[test]
fn debug_hides_tokens_passwords_and_key_data() {
    let token = "tok-3f9a7c";
    let config = Config::new("https://h:6443")
        .with_bearer_token(token)
        .with_client_cert(
            PemSource::Data(b"-----BEGIN CERTIFICATE-----\nCERTDATA\n".to_vec()),
            PemSource::Data(b"-----BEGIN PRIVATE KEY-----\nKEYDATA\n".to_vec()),
        );
    let text = format!("{config:?}");
    assert!(!text.contains(token), "{text}");
    assert!(!text.contains("KEYDATA"), "{text}");
    assert!(!text.contains("CERTDATA"), "{text}");
    assert!(text.contains("redacted"), "{text}");
    assert!(text.contains("https://h:6443"), "{text}");

    let basic = Config::new("https://h").with_basic_auth("alice", "pa55w0rd");
    let text = format!("{basic:?}");
    assert!(!text.contains("pa55w0rd"), "{text}");
    assert!(text.contains("alice"), "{text}");

    let text = format!("{:?}", Auth::Bearer(SecretString::new(token)));
    assert!(!text.contains(token), "{text}");
    assert_eq!(SecretString::new(token).expose(), token);
}

#[test]
fn file_paths_are_shown() {
    let config = Config::new("https://h").with_ca(PemSource::File("/etc/ca.crt".into()));
    assert!(format!("{config:?}").contains("/etc/ca.crt"));
}

#[test]
fn clients_requests_and_errors_do_not_print_the_token() {
    let token = "tok-9b1e55";
    let client =
        kubecto_rest_core::RestClient::new(Config::new("https://h:6443").with_bearer_token(token))
            .unwrap();
    assert!(!format!("{client:?}").contains(token));
    let req = client.get().resource("pods").name("..");
    assert!(!format!("{req:?}").contains(token));
    let err = futures_util::FutureExt::now_or_never(req.send())
        .expect("a builder error needs no I/O")
        .unwrap_err();
    assert!(!format!("{err:?} {err}").contains(token));
}
