//! The patch body ([`Patch`]) and server-side apply options ([`ApplyOptions`]).

use kubecto_rest_core::{PatchOptions, PatchType};
use serde::Serialize;

/// A patch and how the server is to read it. `T` is anything serializable: a
/// `serde_json::Value`, a typed object, or a list of JSON Patch operations.
///
/// ```
/// use kubecto_clientset::Patch;
/// let labels = Patch::Merge(serde_json::json!({"metadata": {"labels": {"tier": "web"}}}));
/// let ops = Patch::Json(serde_json::json!([
///     {"op": "replace", "path": "/spec/replicas", "value": 3}
/// ]));
/// # let _ = (labels, ops);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Patch<T> {
    /// RFC 6902 JSON Patch: a list of operations.
    Json(T),
    /// RFC 7386 JSON Merge Patch: `null` deletes, objects merge, lists are replaced.
    Merge(T),
    /// Kubernetes strategic merge patch: lists merge by their merge keys (built-in kinds
    /// only; custom resources answer 415).
    Strategic(T),
    /// Server-side apply of a (partial) object; needs a field manager in the options.
    Apply(T),
}

impl<T> Patch<T> {
    /// The patch type rest-core sends it as.
    pub fn patch_type(&self) -> PatchType {
        match self {
            Patch::Json(_) => PatchType::Json,
            Patch::Merge(_) => PatchType::Merge,
            Patch::Strategic(_) => PatchType::Strategic,
            Patch::Apply(_) => PatchType::Apply,
        }
    }

    /// The patch body.
    pub fn body(&self) -> &T {
        match self {
            Patch::Json(b) | Patch::Merge(b) | Patch::Strategic(b) | Patch::Apply(b) => b,
        }
    }
}

impl<T: Serialize> Patch<T> {
    pub(crate) fn to_bytes(&self) -> kubecto_rest_core::Result<Vec<u8>> {
        serde_json::to_vec(self.body()).map_err(|e| kubecto_rest_core::Error::InvalidRequest {
            what: format!("cannot serialize the patch as JSON: {e}"),
        })
    }
}

/// Options of a server-side apply: the field manager is required, so it is the one
/// argument of [`ApplyOptions::new`].
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplyOptions {
    /// The manager that owns the applied fields (`fieldManager`).
    pub field_manager: String,
    /// Take ownership of fields other managers own instead of failing with a conflict.
    pub force: bool,
    /// Validate and answer, but persist nothing (`dryRun=All`).
    pub dry_run: bool,
    /// `Ignore`, `Warn` or `Strict` handling of unknown fields.
    pub field_validation: Option<String>,
}

impl ApplyOptions {
    /// Apply as `field_manager`, without force.
    pub fn new(field_manager: impl Into<String>) -> Self {
        Self {
            field_manager: field_manager.into(),
            force: false,
            dry_run: false,
            field_validation: None,
        }
    }

    /// Sets force (take over conflicting fields).
    #[must_use]
    pub fn force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// Sets dry run.
    #[must_use]
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Sets field validation (`Ignore`, `Warn`, `Strict`).
    #[must_use]
    pub fn field_validation(mut self, field_validation: impl Into<String>) -> Self {
        self.field_validation = Some(field_validation.into());
        self
    }

    /// The equivalent [`PatchOptions`].
    pub fn to_patch_options(&self) -> PatchOptions {
        let mut opts = PatchOptions::new()
            .field_manager(self.field_manager.clone())
            .dry_run(self.dry_run);
        if self.force {
            opts = opts.force(true);
        }
        if let Some(v) = &self.field_validation {
            opts = opts.field_validation(v.clone());
        }
        opts
    }
}
