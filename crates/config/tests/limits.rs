//! Hostile sizes: every file kubecto-config reads is read up to a stated limit, and a
//! larger one (a big file, `/dev/zero`) is an error naming the file, the field and the
//! limit instead of a process that grows until it is killed.

mod common;

use std::path::Path;

use common::{CERT_PEM, KEY_PEM, TempDir, b64, chain, config_from, simple};
use kubecto_config::{
    Error, InCluster, Kubeconfig, MAX_KUBECONFIG_BYTES, MAX_PEM_FILE_BYTES, MAX_TOKEN_FILE_BYTES,
    TokenFileProvider,
};

const SERVER: &str = "https://127.0.0.1:1";

/// A file of `len` bytes of `x`.
fn big_file(dir: &TempDir, name: &str, len: u64) -> std::path::PathBuf {
    dir.write(name, vec![b'x'; usize::try_from(len).unwrap()])
}

fn assert_names(err: &(dyn std::error::Error + 'static), parts: &[&str]) {
    let text = chain(err);
    for part in parts {
        assert!(text.contains(part), "{part:?} not in {text}");
    }
}

#[test]
fn a_token_file_of_dev_zero_is_refused_naming_the_file_and_the_limit() {
    let dir = TempDir::new("limits-dev-zero");
    let err = config_from(&dir, &simple(SERVER, "tokenFile: /dev/zero")).unwrap_err();
    assert!(matches!(err, Error::ReferencedFile { .. }), "{err:?}");
    assert_names(
        &err,
        &[
            "user \"u1\", field tokenFile",
            "/dev/zero",
            "larger than 1 MiB, the limit for a token file",
        ],
    );
}

#[test]
fn token_ca_certificate_and_key_files_one_byte_over_the_limit_are_refused() {
    let dir = TempDir::new("limits-files");
    let token = big_file(&dir, "token", MAX_TOKEN_FILE_BYTES + 1);
    let pem = big_file(&dir, "big.pem", MAX_PEM_FILE_BYTES + 1);
    dir.write("ok.crt", CERT_PEM);
    dir.write("ok.key", KEY_PEM);
    // At the limit exactly, a token file is read.
    let at_limit = big_file(&dir, "token-at-limit", MAX_TOKEN_FILE_BYTES);
    config_from(
        &dir,
        &simple(SERVER, &format!("tokenFile: {}", at_limit.display())),
    )
    .unwrap();

    let token_user = "tokenFile: token".to_owned();
    let ca_yaml = simple(SERVER, "token: t").replace(
        &format!("    server: {SERVER}\n"),
        &format!("    server: {SERVER}\n    certificate-authority: big.pem\n"),
    );
    let cert_user = "client-certificate: big.pem\nclient-key: ok.key".to_owned();
    let key_user = format!(
        "client-certificate-data: {}\nclient-key: big.pem",
        b64(CERT_PEM)
    );
    for (yaml, field, file, limit) in [
        (
            simple(SERVER, &token_user),
            "user \"u1\", field tokenFile",
            &token,
            "larger than 1 MiB, the limit for a token file",
        ),
        (
            ca_yaml,
            "cluster \"c1\", field certificate-authority",
            &pem,
            "larger than 4 MiB, the limit for a certificate or key file",
        ),
        (
            simple(SERVER, &cert_user),
            "user \"u1\", field client-certificate",
            &pem,
            "larger than 4 MiB",
        ),
        (
            simple(SERVER, &key_user),
            "user \"u1\", field client-key",
            &pem,
            "larger than 4 MiB",
        ),
    ] {
        let err = config_from(&dir, &yaml).unwrap_err();
        assert_names(&err, &[field, &file.display().to_string(), limit]);
    }
}

#[test]
fn a_token_file_rotated_to_a_huge_one_is_refused_at_the_re_read() {
    let dir = TempDir::new("limits-rotation");
    let path = dir.write("token", "good-token\n");
    let provider = TokenFileProvider::new(&path, "user \"u1\"", None);
    assert_eq!(provider.reload().unwrap().expose(), "good-token");

    // Rotated to something huge: the last good token is kept (as for any unreadable
    // file), and the huge file is read no further than the limit.
    big_file(&dir, "token", 3 * MAX_TOKEN_FILE_BYTES);
    assert_eq!(provider.reload().unwrap().expose(), "good-token");

    // With no good token yet, the error names the file and the limit.
    let fresh = TokenFileProvider::new(Path::new("/dev/zero"), "user \"u2\"", None);
    let err = fresh.reload().unwrap_err();
    assert_names(
        &err,
        &[
            "user \"u2\"",
            "/dev/zero",
            "larger than 1 MiB, the limit for a token file",
        ],
    );
}

#[cfg(unix)]
#[test]
fn in_cluster_files_linked_to_dev_zero_are_refused() {
    let dir = TempDir::new("limits-in-cluster");
    let sa = dir.path().join("sa");
    std::fs::create_dir_all(&sa).unwrap();
    std::os::unix::fs::symlink("/dev/zero", sa.join("token")).unwrap();
    let in_cluster = InCluster::default().service("127.0.0.1", "443").dir(&sa);
    let err = in_cluster.load().unwrap_err();
    assert!(matches!(err, Error::InClusterFile { .. }), "{err:?}");
    assert_names(
        &err,
        &[
            &sa.join("token").display().to_string(),
            "larger than 1 MiB, the limit for a token file",
        ],
    );

    // A CA or namespace file of /dev/zero is not used (a warning), as an unreadable one.
    std::fs::remove_file(sa.join("token")).unwrap();
    dir.write("sa/token", "sa-token");
    std::os::unix::fs::symlink("/dev/zero", sa.join("ca.crt")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", sa.join("namespace")).unwrap();
    let inferred = in_cluster.load().unwrap();
    assert_eq!(inferred.config.tls.ca, None);
    assert_eq!(inferred.namespace, "default");
}

#[test]
fn a_kubeconfig_over_the_limit_is_refused_naming_it() {
    let dir = TempDir::new("limits-kubeconfig");
    // Valid YAML all the way: a comment line repeated past the limit.
    let mut text = simple(SERVER, "token: t");
    let line = "# padding padding padding padding padding padding padding padding\n";
    while (text.len() as u64) <= MAX_KUBECONFIG_BYTES {
        text.push_str(line);
    }
    let path = dir.write("config", &text);
    let err = Kubeconfig::read_from(&path).unwrap_err();
    assert!(matches!(err, Error::Read { .. }), "{err:?}");
    assert_names(
        &err,
        &[
            &path.display().to_string(),
            "larger than 16 MiB, the limit for a kubeconfig file",
        ],
    );
    let err = Kubeconfig::read_from("/dev/zero").unwrap_err();
    assert_names(&err, &["/dev/zero", "larger than 16 MiB"]);
}
