//! Entry points for the fuzz targets in `fuzz/`: the label and field selector parsers and
//! the JSON, merge and strategic merge patch appliers, reached without a server (through
//! HTTP they are too slow to fuzz). Compiled with the `fuzzing` feature (off by default)
//! and in this crate's own tests, where `corpus` replays the committed fuzz corpora.
//!
//! Not part of the API: hidden from the docs, thin wrappers with no stability promise.

use serde_json::{Map, Value};

use crate::logic::patch::{self, PatchError};
use crate::logic::selector;

/// A parsed `labelSelector`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelSelector(selector::LabelSelector);

impl LabelSelector {
    /// Parses a `labelSelector` query value; the error is apimachinery's text.
    pub fn parse(s: &str) -> Result<Self, String> {
        selector::LabelSelector::parse(s).map(Self)
    }

    /// Whether these labels (`metadata.labels`, `None` when absent) match.
    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        self.0.matches(labels)
    }
}

/// A parsed `fieldSelector`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSelector(selector::FieldSelector);

impl FieldSelector {
    /// Parses a `fieldSelector` query value; the error is apimachinery's text.
    pub fn parse(s: &str) -> Result<Self, String> {
        selector::FieldSelector::parse(s).map(Self)
    }

    /// Whether every field label is supported for the resource.
    pub fn validate(&self, group: &str, resource: &str) -> Result<(), String> {
        self.0.validate(group, resource)
    }

    /// Whether the object matches.
    pub fn matches(&self, group: &str, resource: &str, obj: &Value) -> bool {
        self.0.matches(group, resource, obj)
    }
}

/// A patch failure: the HTTP code kube-apiserver answers with and the Status message.
pub type PatchFailure = (u16, String);

fn failure(e: PatchError) -> PatchFailure {
    match e {
        PatchError::Invalid(m) => (422, m),
        PatchError::BadRequest(m) => (400, m),
        PatchError::Conflict(m) => (409, m),
        PatchError::Internal(m) => (500, m),
    }
}

/// RFC 6902 JSON patch.
pub fn json_patch(target: &Value, patch: &Value) -> Result<Value, PatchFailure> {
    patch::json_patch(target, patch).map_err(failure)
}

/// RFC 7386 merge patch (the caller rejects a patch that is not an object first).
pub fn merge_patch(target: &mut Value, patch: &Value) {
    patch::merge_patch(target, patch);
}

/// Strategic merge patch with the patch metadata of the built-in kind `kind` (core/v1,
/// `Pod` say), or with none.
pub fn strategic_merge_patch(
    target: &Value,
    patch: &Value,
    kind: Option<&str>,
) -> Result<Value, PatchFailure> {
    let schema = kind.and_then(|k| crate::logic::openapi::kind_schema("", "v1", k));
    let meta = |path: &[&str]| schema.as_ref().and_then(|s| s.patch_meta(path));
    patch::strategic_merge_patch(target, patch, &meta).map_err(failure)
}

/// The fuzz targets' checks, for the replay below (they reach the hooks as `super::hooks`).
#[cfg(test)]
#[path = "../../../fuzz/checks/testserver.rs"]
mod checks;
#[cfg(test)]
use crate::__fuzz as hooks;

/// Replays the committed fuzz corpora of the selector and patch targets
/// (`fuzz/corpus/{selectors,patches}`) with the targets' own checks.
#[cfg(test)]
mod corpus {
    use super::checks;

    fn replay(target: &str, check: fn(&[u8])) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus")
            .join(target);
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("the corpus {} is missing: {e}", dir.display()));
        let mut n = 0;
        for entry in entries {
            let path = entry.expect("a corpus entry").path();
            let data = std::fs::read(&path).expect("a corpus file");
            let result = std::panic::catch_unwind(|| check(&data));
            assert!(result.is_ok(), "{target}: {} fails", path.display());
            n += 1;
        }
        assert!(n > 0, "the corpus {} is empty", dir.display());
    }

    #[test]
    fn selectors_corpus() {
        replay("selectors", checks::selectors);
    }

    #[test]
    fn patches_corpus() {
        replay("patches", checks::patches);
    }
}
