//! Replays the committed corpora of the rest-core fuzz targets (`fuzz/corpus/<target>`)
//! with the targets' own checks (`fuzz/checks/rest_core.rs`): bodies read whole and item
//! by item in arbitrary chunks, watch framing, Status decoding and URL building. CI runs
//! these as ordinary tests; it never fuzzes (see `fuzz/README.md`).

#[path = "../../../fuzz/checks/rest_core.rs"]
mod checks;

/// Runs `check` on every file of the target's corpus; fails if the corpus is missing or
/// empty, naming every input that fails.
fn replay(target: &str, check: fn(&[u8])) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the corpus {} is missing: {e}", dir.display()));
    let mut failed = Vec::new();
    let mut n = 0;
    for entry in entries {
        let path = entry.expect("a corpus entry").path();
        let data = std::fs::read(&path).expect("a corpus file");
        if std::panic::catch_unwind(|| check(&data)).is_err() {
            failed.push(path.display().to_string());
        }
        n += 1;
    }
    assert!(n > 0, "the corpus {} is empty", dir.display());
    assert!(
        failed.is_empty(),
        "{target}: these inputs fail: {failed:#?}"
    );
}

#[test]
fn list_body_corpus() {
    replay("list_body", checks::list_body);
}

#[test]
fn watch_corpus() {
    replay("watch", checks::watch);
}

#[test]
fn protobuf_stream_corpus() {
    replay("protobuf_stream", checks::protobuf_stream);
}

#[test]
fn status_corpus() {
    replay("status", checks::status);
}

#[test]
fn request_url_corpus() {
    replay("request_url", checks::request_url);
}
