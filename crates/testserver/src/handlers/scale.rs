//! The `scale` subresource (deployments, replicasets, statefulsets,
//! replicationcontrollers): an `autoscaling/v1` `Scale` view of `spec.replicas`,
//! `status.replicas` and the selector, as kube-apiserver's registries build it.

use http::{Response, StatusCode};
use serde_json::{Value, json};

use crate::handlers::input::{apply_patch_doc, decode_body, dry_run, parse_patch};
use crate::logic::{apply, openapi, scale};
use crate::objects;
use crate::objects::update::{How, Mode, write_update};
use crate::shared::body::ResBody;
use crate::shared::request::Req;
use crate::shared::response::json_value;
use crate::shared::state::State;
use crate::shared::status::ApiError;
use crate::storage::registry::ResourceInfo;

/// `GET .../{name}/scale`.
pub(crate) fn get(
    state: &State,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
) -> Result<Response<ResBody>, ApiError> {
    let obj = objects::get(state, info, namespace, name)?;
    Ok(json_value(
        StatusCode::OK,
        &scale::to_scale(info, &obj.value()),
    ))
}

/// `PUT .../{name}/scale` with a `Scale` body.
pub(crate) fn put(
    state: &State,
    req: &Req,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
) -> Result<Response<ResBody>, ApiError> {
    let sent = decode_body(req, info)?;
    check_scale_type(&sent)?;
    let sent_name = sent["metadata"]["name"].as_str().unwrap_or_default();
    if sent_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({sent_name}) does not match the name on the URL ({name})"
        )));
    }
    let dry = dry_run(req)?;
    let manager = apply::manager_for(req.param("fieldManager"), &req.user_agent);
    write_scale(
        state,
        info,
        namespace,
        name,
        dry,
        manager.as_deref(),
        |_| Ok(sent),
    )
}

/// `PATCH .../{name}/scale`: the patch applies to the `Scale`, whose replicas are written back.
pub(crate) fn patch(
    state: &State,
    req: &Req,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
) -> Result<Response<ResBody>, ApiError> {
    let p = parse_patch(req)?;
    let schema = openapi::kind_schema("autoscaling", "v1", "Scale");
    let manager = apply::manager_for(req.param("fieldManager"), &req.user_agent);
    write_scale(
        state,
        info,
        namespace,
        name,
        p.dry,
        manager.as_deref(),
        |scale| apply_patch_doc(&p, scale, schema),
    )
}

fn check_scale_type(v: &Value) -> Result<(), ApiError> {
    if let Some(k) = v["kind"]
        .as_str()
        .filter(|k| !k.is_empty() && *k != "Scale")
    {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({k}) does not match the expected kind (Scale)"
        )));
    }
    Ok(())
}

/// Read-modify-write the object through its `Scale`: `make` gets the current `Scale`
/// and answers the new one; its `spec.replicas` (and `resourceVersion` precondition) apply.
fn write_scale(
    state: &State,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
    dry: bool,
    manager: Option<&str>,
    make: impl FnOnce(Value) -> Result<Value, ApiError>,
) -> Result<Response<ResBody>, ApiError> {
    let how = How {
        mode: Mode::Main,
        dry_run: dry,
        manager,
        subresource: "scale",
    };
    let obj = write_update(state, info, namespace, name, how, |_, cur| {
        let scale = make(scale::to_scale(info, cur))?;
        check_scale_type(&scale)?;
        let replicas = match &scale["spec"]["replicas"] {
                Value::Null => 0,
                v => v.as_i64().ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "Scale in version \"v1\" cannot be handled as a Scale: json: cannot unmarshal {v} into Go struct field ScaleSpec.spec.replicas of type int32"
                    ))
                })?,
            };
        if replicas < 0 {
            return Err(ApiError::invalid(
                "Scale",
                "autoscaling",
                name,
                &[(
                    "spec.replicas".into(),
                    "FieldValueInvalid",
                    format!("Invalid value: {replicas}: must be greater than or equal to 0"),
                )],
            ));
        }
        let mut next = cur.clone();
        scale::set_replicas(info, &mut next, replicas);
        if let Some(rv) = scale["metadata"]["resourceVersion"]
            .as_str()
            .filter(|r| !r.is_empty())
        {
            next["metadata"]["resourceVersion"] = json!(rv);
        }
        Ok(next)
    })?;
    Ok(json_value(
        StatusCode::OK,
        &scale::to_scale(info, &obj.value()),
    ))
}
