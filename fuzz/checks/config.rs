//! The check behind the `kubeconfig` fuzz target: parsing a kubeconfig (YAML or JSON)
//! with kubecto-config's public API.
//!
//! Included by `fuzz/src/lib.rs` (the fuzz target) and by
//! `crates/config/tests/fuzz_corpus.rs` (CI's replay of the committed corpus).

#![allow(dead_code)]

use std::path::Path;

use kubecto_config::{Kubeconfig, Overrides};

/// Fuzz target `kubeconfig`. Input: the text of a kubeconfig file (not UTF-8: the file is
/// read from disk instead, which must refuse it).
///
/// Asserts: parsing never panics; a kubeconfig that parses is serialized back to YAML,
/// and that parses to the same kubeconfig (what kubectl's `config view --raw` relies
/// on); merging it with itself changes nothing; selecting its context either works, with
/// a namespace, or fails with an error that displays; so does building its rest-core
/// config (when it names no file to read).
pub fn kubeconfig(data: &[u8]) {
    let origin = Path::new("/fuzz/kubeconfig");
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = match Kubeconfig::from_yaml(text, Some(origin)) {
        Ok(k) => k,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let yaml = serde_saphyr::to_string(&parsed)
        .unwrap_or_else(|e| panic!("a parsed kubeconfig does not serialize: {e}\n{text}"));
    let again = Kubeconfig::from_yaml(&yaml, Some(origin)).unwrap_or_else(|e| {
        panic!("a serialized kubeconfig does not parse: {e}\nserialized:\n{yaml}\nfrom:\n{text}")
    });
    if again != parsed {
        // NaN in an extension is not equal to itself: compare the text instead.
        let yaml_again = serde_saphyr::to_string(&again).expect("serializes");
        assert_eq!(
            yaml_again, yaml,
            "the round trip changed the kubeconfig\nfrom:\n{text}"
        );
    }
    let merged = parsed.clone().merge(parsed.clone());
    assert_eq!(
        serde_saphyr::to_string(&merged).expect("serializes"),
        yaml,
        "merging a kubeconfig with itself changed it\nfrom:\n{text}"
    );
    match parsed.select(&Overrides::default()) {
        Ok(selected) => {
            assert!(!selected.namespace().is_empty(), "an empty namespace");
            // Building the rest-core config reads the files the kubeconfig names: only
            // when it names none (a fuzzer must not read /dev/zero or a FIFO).
            let user = &selected.user;
            let reads_files = selected.cluster.certificate_authority.is_some()
                || user.client_certificate.is_some()
                || user.client_key.is_some()
                || user.token_file.is_some();
            if !reads_files {
                match selected.rest_config() {
                    Ok(config) => {
                        let _ = format!("{config:?}");
                    }
                    Err(e) => {
                        let _ = e.to_string();
                    }
                }
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}
