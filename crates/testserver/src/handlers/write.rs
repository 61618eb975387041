//! Writes of a whole object: `POST` (create) and `PUT` (replace, of the object or its
//! `status`), with `dryRun`, `fieldValidation` warnings and the `fieldManager` that
//! managedFields records.

use http::{Response, StatusCode};

use crate::handlers::input::{decode_body, dry_run};
use crate::logic::{apply, validation};
use crate::objects;
use crate::objects::create::{Managed, create_managed};
use crate::objects::update::{How, Mode};
use crate::shared::body::ResBody;
use crate::shared::request::Req;
use crate::shared::response::{json_raw, render, with_warnings};
use crate::shared::state::State;
use crate::shared::status::ApiError;
use crate::storage::registry::ResourceInfo;

/// `POST` to a collection: create the object sent.
pub(crate) fn create(
    state: &State,
    req: &Req,
    info: &ResourceInfo,
    namespace: Option<&str>,
) -> Result<Response<ResBody>, ApiError> {
    let mut value = decode_body(req, info)?;
    let dry = dry_run(req)?;
    let warnings = validation::prune(info, &mut value, validation::directive(req)?)?;
    let manager = apply::manager_for(req.param("fieldManager"), &req.user_agent);
    let managed = match &manager {
        Some(m) => Managed::Update(m),
        None => Managed::None,
    };
    let obj = create_managed(state, info, namespace, value, dry, managed)?;
    Ok(with_warnings(
        json_raw(StatusCode::CREATED, render(&obj.body, info)),
        &warnings,
    ))
}

/// `PUT` an object (`sub` is `None`) or its status (`Some("status")`).
pub(crate) fn update(
    state: &State,
    req: &Req,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
    sub: Option<&str>,
) -> Result<Response<ResBody>, ApiError> {
    let mut value = decode_body(req, info)?;
    let dry = dry_run(req)?;
    let warnings = validation::prune(info, &mut value, validation::directive(req)?)?;
    let mode = if sub.is_some() {
        Mode::Status
    } else {
        Mode::Main
    };
    let manager = apply::manager_for(req.param("fieldManager"), &req.user_agent);
    let how = How {
        mode,
        dry_run: dry,
        manager: manager.as_deref(),
        subresource: "",
    };
    let obj = objects::update::update(state, info, namespace, name, value, how)?;
    Ok(with_warnings(
        json_raw(StatusCode::OK, render(&obj.body, info)),
        &warnings,
    ))
}
