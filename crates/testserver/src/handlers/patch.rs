//! `PATCH`: JSON patch, merge patch and strategic merge patch of an object or its
//! status, and server-side apply (`application/apply-patch+yaml`), which creates an
//! object that does not exist yet.

use http::{Response, StatusCode};
use serde_json::json;

use crate::handlers::input::{apply_patch_doc, parse_patch};
use crate::logic::patch::strategic_unsupported;
use crate::logic::{apply, rules, types, validation};
use crate::objects::create::{Managed, create_managed};
use crate::objects::update::{How, Mode, write_update};
use crate::objects::{self, meta_mut, schema_of, str_field, with_type};
use crate::shared::body::ResBody;
use crate::shared::request::Req;
use crate::shared::response::{json_raw, render, with_warnings};
use crate::shared::state::State;
use crate::shared::status::ApiError;
use crate::storage::registry::ResourceInfo;

/// `PATCH` an object (`sub` is `None`) or its status (`Some("status")`): JSON, merge or
/// strategic merge patch, or server-side apply (which creates a missing object).
pub(crate) fn patch(
    state: &State,
    req: &Req,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
    sub: Option<&str>,
) -> Result<Response<ResBody>, ApiError> {
    let mode = if sub.is_some() {
        Mode::Status
    } else {
        Mode::Main
    };
    let mut p = parse_patch(req)?;
    let validate = validation::directive(req)?;
    if p.is_apply {
        if !p.doc.is_object() {
            return Err(ApiError::bad_request(format!(
                "error decoding YAML: the applied configuration must be an object, not {}",
                p.doc
            )));
        }
        // The configuration names the URL's apiVersion and kind (versionCheckManager).
        types::check_applied(info, &p.doc)?;
    }
    // An applied configuration is checked as sent; other patches once applied.
    let mut warnings = if p.is_apply {
        validation::prune(info, &mut p.doc, validate)?
    } else {
        Vec::new()
    };
    // Server-side apply of an object that does not exist yet creates it.
    if p.is_apply && mode == Mode::Main && objects::get(state, info, namespace, name).is_err() {
        let mut value = p.doc.clone();
        if str_field(&value, &["metadata", "name"]).is_some_and(|n| n != name) {
            return Err(ApiError::bad_request(
                "the name of the object does not match the name on the URL",
            ));
        }
        meta_mut(&mut value)?.insert("name".into(), json!(name));
        let manager = req.param("fieldManager").unwrap_or_default();
        let obj = create_managed(
            state,
            info,
            namespace,
            value,
            p.dry,
            Managed::Apply(manager, &p.doc),
        )?;
        return Ok(with_warnings(
            json_raw(StatusCode::CREATED, render(&obj.body, info)),
            &warnings,
        ));
    }
    let api_version = info.api_version();
    // Strategic merge patch needs the kind's OpenAPI schema (merge keys, strategies);
    // kinds without one (custom resources) refuse it with 415, as kube-apiserver does.
    let schema = schema_of(info);
    if p.ct == "application/strategic-merge-patch+json"
        && (info.custom.is_some() || schema.is_none())
    {
        return Err(strategic_unsupported());
    }
    let manager = if p.is_apply {
        None
    } else {
        apply::manager_for(req.param("fieldManager"), &req.user_agent)
    };
    let force = matches!(req.param("force"), Some("true" | "1"));
    let apply_manager = req.param("fieldManager").unwrap_or_default();
    let how = How {
        mode,
        dry_run: p.dry,
        manager: manager.as_deref(),
        subresource: "",
    };
    let obj = write_update(state, info, namespace, name, how, |current, cur| {
        let full = with_type(cur, &info.kind, &api_version);
        let mut patched = if p.is_apply {
            apply::apply(
                &full,
                &p.doc,
                &apply::ApplyRequest {
                    manager: apply_manager,
                    api_version: &api_version,
                    subresource: if mode == Mode::Status { "status" } else { "" },
                    force,
                    schema: schema.as_ref(),
                },
            )?
        } else {
            let mut patched = apply_patch_doc(&p, full, schema)?;
            if p.ct != "application/strategic-merge-patch+json" {
                // What a JSON or merge patch made of the type must still decode.
                let registry = state.registry.read().unwrap_or_else(|e| e.into_inner());
                let served = |api_version: &str, kind: &str| {
                    registry.resource_for_kind(api_version, kind).is_some()
                };
                types::check_patched(info, name, &patched, &served)?;
            }
            warnings = validation::prune(info, &mut patched, validate)?;
            patched
        };
        if let Some(m) = patched.as_object_mut() {
            m.remove("kind");
            m.remove("apiVersion");
        }
        if !p.is_apply {
            rules::check_patched_identity(info, namespace, name, &current.uid, &patched)?;
        }
        Ok(patched)
    })?;
    Ok(with_warnings(
        json_raw(StatusCode::OK, render(&obj.body, info)),
        &warnings,
    ))
}
