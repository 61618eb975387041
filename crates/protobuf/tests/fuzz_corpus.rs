//! Replays the committed corpus of the `protobuf` fuzz target (`fuzz/corpus/protobuf`)
//! with the target's own check (`fuzz/checks/protobuf.rs`): objects, envelopes, watch
//! events and lists decoded from arbitrary bytes. CI runs this as an ordinary test; it
//! never fuzzes (see `fuzz/README.md`).

#[path = "../../../fuzz/checks/protobuf.rs"]
mod checks;

#[test]
fn protobuf_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/protobuf");
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the corpus {} is missing: {e}", dir.display()));
    let mut failed = Vec::new();
    let mut n = 0;
    for entry in entries {
        let path = entry.expect("a corpus entry").path();
        let data = std::fs::read(&path).expect("a corpus file");
        if std::panic::catch_unwind(|| checks::protobuf(&data)).is_err() {
            failed.push(path.display().to_string());
        }
        n += 1;
    }
    assert!(n > 0, "the corpus {} is empty", dir.display());
    assert!(failed.is_empty(), "these inputs fail: {failed:#?}");
}
