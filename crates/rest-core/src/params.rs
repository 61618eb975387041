//! Option structs sent as query parameters (`metav1.ListOptions` and friends) and the small
//! serializer that turns any flat `Serialize` struct into query pairs.
//!
//! Build an option struct with `new()` and its setters:
//! `ListOptions::new().limit(100).label_selector("app=web")`.

use serde::Serialize;

use crate::error::{Error, Result};

/// Serializes a flat struct (or map) into `(key, value)` query pairs: `None` and `null` are
/// skipped, sequences repeat the key, nested objects are rejected.
pub(crate) fn to_pairs<P: Serialize + ?Sized>(params: &P) -> Result<Vec<(String, String)>> {
    let value = serde_json::to_value(params)
        .map_err(|e| Error::invalid(format!("cannot serialize query parameters: {e}")))?;
    let serde_json::Value::Object(map) = value else {
        return Err(Error::invalid(
            "query parameters must serialize to a struct or map",
        ));
    };
    let mut pairs = Vec::with_capacity(map.len());
    for (key, value) in map {
        push_value(&mut pairs, &key, value)?;
    }
    Ok(pairs)
}

fn push_value(
    pairs: &mut Vec<(String, String)>,
    key: &str,
    value: serde_json::Value,
) -> Result<()> {
    use serde_json::Value;
    match value {
        Value::Null => {}
        Value::Bool(b) => pairs.push((key.to_owned(), b.to_string())),
        Value::Number(n) => pairs.push((key.to_owned(), n.to_string())),
        Value::String(s) => pairs.push((key.to_owned(), s)),
        Value::Array(items) => {
            for item in items {
                if matches!(item, Value::Array(_) | Value::Object(_)) {
                    return Err(Error::invalid(format!(
                        "query parameter {key:?} holds a nested list or object"
                    )));
                }
                push_value(pairs, key, item)?;
            }
        }
        Value::Object(_) => {
            return Err(Error::invalid(format!(
                "query parameter {key:?} is an object; only scalars and lists of scalars fit in a query"
            )));
        }
    }
    Ok(())
}

fn dry_run_all<S: serde::Serializer>(dry_run: &bool, s: S) -> std::result::Result<S::Ok, S::Error> {
    if *dry_run {
        s.serialize_some("All")
    } else {
        s.serialize_none()
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

macro_rules! setters {
    ($ty:ident { $($(#[$doc:meta])* $field:ident : $arg:ty => $conv:expr;)* }) => {
        impl $ty {
            /// Options with every field unset.
            pub fn new() -> Self {
                Self::default()
            }
            $(
                $(#[$doc])*
                #[must_use]
                pub fn $field(mut self, value: $arg) -> Self {
                    #[allow(clippy::redundant_closure_call)]
                    {
                        self.$field = ($conv)(value.into());
                    }
                    self
                }
            )*
        }
    };
}

/// `metav1.ListOptions` for a LIST (the seed's `&metav1.ListOptions{Limit: 100}`).
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListOptions {
    /// Only objects whose labels match (`app=web,tier!=db`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
    /// Only objects whose fields match (`status.phase=Running`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_selector: Option<String>,
    /// At most this many items per page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// The continue token of the previous page.
    #[serde(rename = "continue", skip_serializing_if = "Option::is_none")]
    pub continue_token: Option<String>,
    /// The resourceVersion to list at (with `resource_version_match`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    /// How `resource_version` applies: `Exact` or `NotOlderThan`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_version_match: Option<String>,
    /// A server-side timeout for the call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
}

setters!(ListOptions {
    /// Sets the label selector.
    label_selector: impl Into<String> => |v: String| Some(v);
    /// Sets the field selector.
    field_selector: impl Into<String> => |v: String| Some(v);
    /// Sets the page size.
    limit: u64 => Some;
    /// Sets the continue token.
    continue_token: impl Into<String> => |v: String| Some(v);
    /// Sets the resourceVersion.
    resource_version: impl Into<String> => |v: String| Some(v);
    /// Sets the resourceVersionMatch.
    resource_version_match: impl Into<String> => |v: String| Some(v);
    /// Sets the server-side timeout.
    timeout_seconds: u64 => Some;
});

/// `metav1.ListOptions` for a WATCH (`watch=true` is added by [`Request::watch`](crate::Request::watch)).
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchOptions {
    /// Only objects whose labels match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
    /// Only objects whose fields match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_selector: Option<String>,
    /// Start after this resourceVersion.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    /// How `resource_version` is matched; with `send_initial_events`, `NotOlderThan`
    /// (a streaming list: client-go's default since 1.35).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_version_match: Option<String>,
    /// Ask for BOOKMARK events.
    #[serde(skip_serializing_if = "is_false")]
    pub allow_watch_bookmarks: bool,
    /// Start with synthetic ADDED events for the current state (then a bookmark).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_initial_events: Option<bool>,
    /// Close the watch after this many seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
}

setters!(WatchOptions {
    /// Sets the label selector.
    label_selector: impl Into<String> => |v: String| Some(v);
    /// Sets the field selector.
    field_selector: impl Into<String> => |v: String| Some(v);
    /// Sets the resourceVersion to start after.
    resource_version: impl Into<String> => |v: String| Some(v);
    /// Sets how the resourceVersion is matched (`NotOlderThan` for a streaming list).
    resource_version_match: impl Into<String> => |v: String| Some(v);
    /// Asks for bookmarks.
    allow_watch_bookmarks: bool => |v| v;
    /// Asks for initial events.
    send_initial_events: bool => Some;
    /// Sets the server-side timeout.
    timeout_seconds: u64 => Some;
});

/// `metav1.GetOptions`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GetOptions {
    /// Serve from the cache at least this fresh (`"0"`: any).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
}

setters!(GetOptions {
    /// Sets the resourceVersion.
    resource_version: impl Into<String> => |v: String| Some(v);
});

/// `metav1.CreateOptions`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateOptions {
    /// Validate and answer, but persist nothing (`dryRun=All`).
    #[serde(serialize_with = "dry_run_all", skip_serializing_if = "is_false")]
    pub dry_run: bool,
    /// The field manager recorded in managedFields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_manager: Option<String>,
    /// `Ignore`, `Warn` or `Strict` handling of unknown fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_validation: Option<String>,
}

setters!(CreateOptions {
    /// Sets dry run.
    dry_run: bool => |v| v;
    /// Sets the field manager.
    field_manager: impl Into<String> => |v: String| Some(v);
    /// Sets field validation.
    field_validation: impl Into<String> => |v: String| Some(v);
});

/// `metav1.UpdateOptions`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateOptions {
    /// Validate and answer, but persist nothing (`dryRun=All`).
    #[serde(serialize_with = "dry_run_all", skip_serializing_if = "is_false")]
    pub dry_run: bool,
    /// The field manager recorded in managedFields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_manager: Option<String>,
    /// `Ignore`, `Warn` or `Strict` handling of unknown fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_validation: Option<String>,
}

setters!(UpdateOptions {
    /// Sets dry run.
    dry_run: bool => |v| v;
    /// Sets the field manager.
    field_manager: impl Into<String> => |v: String| Some(v);
    /// Sets field validation.
    field_validation: impl Into<String> => |v: String| Some(v);
});

/// `metav1.PatchOptions`.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PatchOptions {
    /// Validate and answer, but persist nothing (`dryRun=All`).
    #[serde(serialize_with = "dry_run_all", skip_serializing_if = "is_false")]
    pub dry_run: bool,
    /// Server-side apply: take ownership of conflicting fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub force: Option<bool>,
    /// The field manager (required for server-side apply).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_manager: Option<String>,
    /// `Ignore`, `Warn` or `Strict` handling of unknown fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_validation: Option<String>,
}

setters!(PatchOptions {
    /// Sets dry run.
    dry_run: bool => |v| v;
    /// Sets force.
    force: bool => Some;
    /// Sets the field manager.
    field_manager: impl Into<String> => |v: String| Some(v);
    /// Sets field validation.
    field_validation: impl Into<String> => |v: String| Some(v);
});

/// What happens to an object's dependents when it is deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum PropagationPolicy {
    /// Leave dependents alone.
    Orphan,
    /// Delete the object now, its dependents in the background.
    Background,
    /// Delete dependents first, then the object.
    Foreground,
}

/// Conditions a delete must meet.
#[non_exhaustive]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Preconditions {
    /// The object's UID must be this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The object's resourceVersion must be this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
}

setters!(Preconditions {
    /// Requires this UID.
    uid: impl Into<String> => |v: String| Some(v);
    /// Requires this resourceVersion.
    resource_version: impl Into<String> => |v: String| Some(v);
});

/// `metav1.DeleteOptions`. Send it as the body: `client.delete()...json(&opts)`; it
/// serializes with its `kind` and `apiVersion`. Its scalar fields also work as `params`,
/// but `preconditions` only fits in the body.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteOptions {
    /// Always `DeleteOptions`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    /// Always `v1`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<&'static str>,
    /// Seconds to wait before deletion; 0 deletes now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grace_period_seconds: Option<i64>,
    /// Conditions the object must meet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preconditions: Option<Preconditions>,
    /// What happens to dependents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub propagation_policy: Option<PropagationPolicy>,
    /// Validate and answer, but delete nothing.
    #[serde(serialize_with = "dry_run_all_list", skip_serializing_if = "is_false")]
    pub dry_run: bool,
}

fn dry_run_all_list<S: serde::Serializer>(
    dry_run: &bool,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    if *dry_run {
        ["All"].serialize(s)
    } else {
        s.serialize_none()
    }
}

impl Default for DeleteOptions {
    fn default() -> Self {
        Self {
            kind: Some("DeleteOptions"),
            api_version: Some("v1"),
            grace_period_seconds: None,
            preconditions: None,
            propagation_policy: None,
            dry_run: false,
        }
    }
}

setters!(DeleteOptions {
    /// Sets the grace period.
    grace_period_seconds: i64 => Some;
    /// Sets preconditions.
    preconditions: Preconditions => Some;
    /// Sets the propagation policy.
    propagation_policy: PropagationPolicy => Some;
    /// Sets dry run.
    dry_run: bool => |v| v;
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_options_to_pairs() {
        let mut pairs = to_pairs(&ListOptions::new().limit(100).continue_token("abc")).unwrap();
        pairs.sort();
        assert_eq!(
            pairs,
            vec![
                ("continue".to_owned(), "abc".to_owned()),
                ("limit".to_owned(), "100".to_owned())
            ]
        );
    }

    #[test]
    fn nested_object_is_rejected() {
        let opts = DeleteOptions::new().preconditions(Preconditions::new().uid("u"));
        assert!(to_pairs(&opts).is_err());
    }
}
