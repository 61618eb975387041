//! `DELETE` of one object and of a collection (deletecollection), with
//! `DeleteOptions` (preconditions, `dryRun`, propagation, grace period). Deleting a
//! namespace makes it Terminating; when no namespace controller runs, what it holds and
//! then the namespace itself are removed at once.

use http::{Response, StatusCode};

use crate::handlers::input::{delete_opts, matches_selectors, selectors};
use crate::objects::delete::{delete_one, finish_namespace};
use crate::shared::body::ResBody;
use crate::shared::request::Req;
use crate::shared::response::{json_raw, json_value, list_response, render};
use crate::shared::state::State;
use crate::shared::status::{ApiError, delete_success};
use crate::storage::registry::ResourceInfo;
use crate::storage::store::EventType;

/// `DELETE` one object: the object when it stays (finalizers, grace) or is a pod or a
/// namespace, else a `Status` Success.
pub(crate) fn delete(
    state: &State,
    req: &Req,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
) -> Result<Response<ResBody>, ApiError> {
    let opts = delete_opts(req)?;
    let (obj, kind) = delete_one(state, info, namespace, name, &opts)?;
    if !opts.dry_run {
        state.after_write(info, &obj, kind);
        // A namespace is now Terminating; without a namespace controller to empty it,
        // the server finishes its deletion at once.
        let is_namespace = info.group.is_empty() && info.plural == "namespaces";
        if is_namespace && kind != EventType::Deleted && !state.namespace_controller {
            finish_namespace(state, info, name);
        }
    }
    let returns_object = kind != EventType::Deleted
        || (info.group.is_empty() && matches!(info.plural.as_str(), "pods" | "namespaces"));
    if returns_object {
        Ok(json_raw(StatusCode::OK, render(&obj.body, info)))
    } else {
        Ok(json_value(
            StatusCode::OK,
            &delete_success(&info.plural, &info.group, name, &obj.uid),
        ))
    }
}

/// `DELETE` a collection: every object the selectors match, as one delete each.
pub(crate) fn collection(
    state: &State,
    req: &Req,
    info: &ResourceInfo,
    namespace: Option<&str>,
) -> Result<Response<ResBody>, ApiError> {
    let opts = delete_opts(req)?;
    let (labels, fields) = selectors(req, info)?;
    let (_, items) = state
        .store
        .list(&info.storage_key(), namespace, None)
        .map_err(expired_rv)?;
    let mut deleted = Vec::new();
    for item in items
        .iter()
        .filter(|o| matches_selectors(o, &labels, &fields, info))
    {
        match delete_one(state, info, Some(&item.namespace), &item.name, &opts) {
            Ok((obj, kind)) => {
                if !opts.dry_run {
                    state.after_write(info, &obj, kind);
                }
                deleted.push(obj)
            }
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    let rv = state.store.current_rv();
    Ok(list_response(info, rv, None, None, deleted))
}

fn expired_rv(oldest: u64) -> ApiError {
    ApiError::expired(format!(
        "too old resource version (oldest available: {oldest})"
    ))
}
