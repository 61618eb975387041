//! Discovery: `/version`, the health checks, and the API groups and resources in both
//! forms, legacy (`/api`, `/apis`, `/apis/G`, `/api/V`, `/apis/G/V`) and aggregated
//! (`apidiscovery.k8s.io/v2`, chosen by the Accept header), rendered from the registry.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde_json::Value;

use crate::shared::body::ResBody;
use crate::shared::media::{AGGREGATED_CT, wants_aggregated};
use crate::shared::request::Req;
use crate::shared::response::{json_raw, json_value, page_not_found, text};
use crate::shared::state::State;
use crate::storage::registry::Registry;

const VERSION: &str = include_str!("../../data/discovery/version.json");

fn registry(state: &State) -> std::sync::RwLockReadGuard<'_, Registry> {
    state.registry.read().unwrap_or_else(|p| p.into_inner())
}

/// `GET /version`: the recorded kube-apiserver's version.
pub(crate) fn version() -> Response<ResBody> {
    json_raw(StatusCode::OK, Bytes::from_static(VERSION.as_bytes()))
}

/// `GET /healthz`, `/livez`, `/readyz`.
pub(crate) fn health() -> Response<ResBody> {
    text(StatusCode::OK, "ok")
}

/// `GET /api`: the core group's versions, or aggregated discovery of the core group.
pub(crate) fn core(state: &State, req: &Req) -> Response<ResBody> {
    if wants_aggregated(&req.accept) {
        return aggregated(registry(state).aggregated_core());
    }
    json_value(
        StatusCode::OK,
        &registry(state).legacy_core_versions(&state.server_address),
    )
}

/// `GET /apis`: the named groups, or aggregated discovery of every named group.
pub(crate) fn groups(state: &State, req: &Req) -> Response<ResBody> {
    if wants_aggregated(&req.accept) {
        return aggregated(registry(state).aggregated_groups());
    }
    json_value(StatusCode::OK, &registry(state).legacy_group_list())
}

/// `GET /apis/{group}`.
pub(crate) fn group(state: &State, group: &str) -> Response<ResBody> {
    match registry(state).legacy_group(group) {
        Some(v) => json_value(StatusCode::OK, &v),
        None => page_not_found(),
    }
}

/// `GET /api/{version}` (group `""`) or `/apis/{group}/{version}`: the resource list.
pub(crate) fn resources(state: &State, group: &str, version: &str) -> Response<ResBody> {
    match registry(state).legacy_resource_list(group, version) {
        Some(v) => json_value(StatusCode::OK, &v),
        None => page_not_found(),
    }
}

fn aggregated(v: Value) -> Response<ResBody> {
    let mut res = json_value(StatusCode::OK, &v);
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(AGGREGATED_CT),
    );
    res.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Accept"));
    res
}
