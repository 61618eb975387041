//! Building responses: JSON bodies, `Status` errors, `Warning` headers, stored objects
//! with their `kind` and `apiVersion`, and lists streamed from stored objects.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde_json::{Map, Value, json};

use crate::shared::body::{ListBody, ResBody, full};
use crate::shared::status::ApiError;
use crate::storage::registry::ResourceInfo;
use crate::storage::store::Obj;

/// A JSON body that is already serialized.
pub(crate) fn json_raw(code: StatusCode, body: Bytes) -> Response<ResBody> {
    let mut res = Response::new(full(body));
    *res.status_mut() = code;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    res
}

/// A JSON body.
pub(crate) fn json_value(code: StatusCode, v: &Value) -> Response<ResBody> {
    json_raw(code, Bytes::from(serde_json::to_vec(v).unwrap_or_default()))
}

/// A `Status` error response.
pub(crate) fn error(e: &ApiError) -> Response<ResBody> {
    json_value(
        StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        &e.body,
    )
}

/// Add `Warning: 299 - "<text>"` headers, as kube-apiserver sends warnings.
pub(crate) fn with_warnings(mut res: Response<ResBody>, warnings: &[String]) -> Response<ResBody> {
    for w in warnings {
        let text = format!("299 - {}", json!(w));
        if let Ok(v) = HeaderValue::from_str(&text) {
            res.headers_mut().append(header::WARNING, v);
        }
    }
    res
}

/// `{"kind":K,"apiVersion":V,` + the stored body (which has neither).
pub(crate) fn render(body: &Bytes, info: &ResourceInfo) -> Bytes {
    let head = format!(
        "{{\"kind\":{},\"apiVersion\":{}",
        json!(info.kind),
        json!(info.api_version())
    );
    let mut out = Vec::with_capacity(head.len() + body.len() + 1);
    out.extend_from_slice(head.as_bytes());
    if body.len() > 2 {
        out.push(b',');
        out.extend_from_slice(&body[1..]);
    } else {
        out.push(b'}');
    }
    Bytes::from(out)
}

/// A `<Kind>List` of stored objects, written item by item.
pub(crate) fn list_response(
    info: &ResourceInfo,
    rv: u64,
    cont: Option<String>,
    remaining: Option<usize>,
    items: Vec<Arc<Obj>>,
) -> Response<ResBody> {
    let mut meta = Map::new();
    meta.insert("resourceVersion".into(), json!(rv.to_string()));
    if let Some(c) = cont {
        meta.insert("continue".into(), json!(c));
    }
    if let Some(r) = remaining {
        meta.insert("remainingItemCount".into(), json!(r));
    }
    let head = format!(
        "{{\"kind\":{},\"apiVersion\":{},\"metadata\":{},\"items\":[",
        json!(format!("{}List", info.kind)),
        json!(info.api_version()),
        Value::Object(meta)
    );
    let body = ListBody::new(Bytes::from(head), items, Bytes::from_static(b"]}"));
    let mut res = Response::new(http_body_util::BodyExt::boxed_unsync(body));
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

/// A `text/plain` body.
pub(crate) fn text(code: StatusCode, body: impl Into<Bytes>) -> Response<ResBody> {
    let mut res = Response::new(full(body.into()));
    *res.status_mut() = code;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

/// What kube-apiserver answers for a path it does not route at all (an unknown group or
/// version among them): Go's `http.NotFound`, plain text with `nosniff`.
pub(crate) fn page_not_found() -> Response<ResBody> {
    let mut res = text(StatusCode::NOT_FOUND, "404 page not found\n");
    res.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}
