//! [`Patch`] bodies and [`ApplyOptions`] for server-side apply.

use kubecto_rest_core::{PatchOptions, PatchType};
use serde_json::Value;

/// A patch and how the server is to read it.
#[derive(Clone, Debug, PartialEq)]
pub enum Patch {
    /// RFC 6902 JSON Patch: an array of operations
    /// (`[{"op": "replace", "path": "/data/mode", "value": "slow"}]`).
    Json(Value),
    /// RFC 7386 JSON Merge Patch: fields to set, `null` to remove.
    Merge(Value),
    /// Kubernetes strategic merge patch (built-in kinds only: lists merge by their keys).
    Strategic(Value),
    /// Server-side apply of a full or partial object; needs a field manager
    /// (use [`DynamicResource::apply`](crate::DynamicResource::apply)).
    Apply(Value),
}

impl Patch {
    /// The patch type.
    pub fn patch_type(&self) -> PatchType {
        match self {
            Patch::Json(_) => PatchType::Json,
            Patch::Merge(_) => PatchType::Merge,
            Patch::Strategic(_) => PatchType::Strategic,
            Patch::Apply(_) => PatchType::Apply,
        }
    }

    /// The body.
    pub fn body(&self) -> &Value {
        match self {
            Patch::Json(v) | Patch::Merge(v) | Patch::Strategic(v) | Patch::Apply(v) => v,
        }
    }
}

/// Server-side apply options: who applies (required), whether to take fields other
/// managers own, dry run.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplyOptions {
    /// The field manager recorded in `managedFields`.
    pub field_manager: String,
    /// Take ownership of fields another manager owns instead of failing with a conflict.
    pub force: bool,
    /// Validate and answer, but persist nothing.
    pub dry_run: bool,
}

impl ApplyOptions {
    /// Apply as `field_manager`, without force.
    pub fn new(field_manager: impl Into<String>) -> Self {
        Self {
            field_manager: field_manager.into(),
            force: false,
            dry_run: false,
        }
    }

    /// Sets force.
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

    pub(crate) fn patch_options(&self) -> PatchOptions {
        let opts = PatchOptions::new()
            .field_manager(self.field_manager.clone())
            .dry_run(self.dry_run);
        if self.force { opts.force(true) } else { opts }
    }
}
