//! OpenAPI v3: `GET /openapi/v3` (the index, whose URLs carry each document's SHA-512)
//! and `GET /openapi/v3/<path>` (the recorded documents, plus a generated one for each
//! group-version served by CRDs), with kube-apiserver's caching: a stale `hash` is
//! redirected to the current one, a matching one is cacheable forever.
//!
//! OpenAPI v2: `GET /openapi/v2`, one Swagger 2.0 document built from the same schemas
//! (CRDs' included), as JSON or as gnostic protobuf, negotiated as kube-openapi's handler
//! does (the first acceptable type of the Accept header by quality; 406 when none is).

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde_json::{Value, json};

use crate::logic::{crd, openapi, openapi_v2};
use crate::shared::body::{ResBody, full};
use crate::shared::request::Req;
use crate::shared::response::{json_raw, json_value, page_not_found};
use crate::shared::state::State;

/// Documents for group-versions served by CRDs, by index path.
fn crd_documents(state: &State) -> Vec<(String, Vec<u8>)> {
    let gvs = state
        .registry
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .custom_group_versions();
    gvs.into_iter()
        .filter_map(|(g, v, rs)| Some((format!("apis/{g}/{v}"), crd::openapi_document(&rs)?)))
        .collect()
}

fn sha512_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha512::digest(bytes)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// The v2 media types kube-openapi serves, in its order of preference for `*/*`.
const V2_JSON: &str = "json";
const V2_PROTOBUF: &str = "com.github.proto-openapi.spec.v2.v1.0+protobuf";
/// The older name client-go still asks for; answered with [`V2_PROTOBUF`].
const V2_PROTOBUF_DEPRECATED: &str = "com.github.proto-openapi.spec.v2@v1.0+protobuf";

/// The v2 document in both forms, with the ETag kube-openapi gives both (the SHA-512
/// of the JSON).
struct V2 {
    json: Bytes,
    protobuf: Bytes,
    etag: String,
}

/// The v2 document for the CRD documents served now; built again only when they change.
fn v2_document(crds: &[(String, Vec<u8>)]) -> Arc<V2> {
    type Cache = Option<(Vec<(String, Vec<u8>)>, Arc<V2>)>;
    static LAST: Mutex<Cache> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((key, doc)) = last.as_ref()
        && key.as_slice() == crds
    {
        return Arc::clone(doc);
    }
    let docs: Vec<Value> = crds
        .iter()
        .filter_map(|(_, d)| serde_json::from_slice(d).ok())
        .collect();
    let json = openapi_v2::document_json(&docs);
    let doc = Arc::new(V2 {
        etag: sha512_hex(&json),
        protobuf: Bytes::from(openapi_v2::document_protobuf(&docs)),
        json: Bytes::from(json),
    });
    *last = Some((crds.to_vec(), Arc::clone(&doc)));
    doc
}

/// The media type to answer an Accept header with, as kube-openapi's handler picks it:
/// clauses by quality (then the more specific first), the first of JSON, protobuf
/// (either name) that a clause matches. `None`: 406.
fn v2_media_type(accept: &str) -> Option<&'static str> {
    let accept = if accept.trim().is_empty() {
        "*/*"
    } else {
        accept
    };
    let mut clauses: Vec<(f64, &str, &str)> = accept
        .split(',')
        .filter_map(|clause| {
            let mut parts = clause.split(';');
            let range = parts.next()?.trim();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f64>().ok())
                .unwrap_or(1.0);
            let (t, sub) = match range.split_once('/') {
                Some((t, sub)) => (t.trim(), sub.trim()),
                None if range == "*" => ("*", "*"),
                None => return None,
            };
            Some((q, t, sub))
        })
        .filter(|(q, _, _)| *q > 0.0)
        .collect();
    // Stable: equal clauses keep their order.
    clauses.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then((a.1 == "*").cmp(&(b.1 == "*")))
            .then((a.2 == "*").cmp(&(b.2 == "*")))
    });
    for (_, t, sub) in clauses {
        for offered in [V2_JSON, V2_PROTOBUF_DEPRECATED, V2_PROTOBUF] {
            if (t == "application" || t == "*") && (sub == offered || sub == "*") {
                return Some(offered);
            }
        }
    }
    None
}

/// `GET /openapi/v2`: JSON or protobuf as the Accept header asks, else 406.
pub(crate) fn v2(state: &State, req: &Req) -> Response<ResBody> {
    let Some(media) = v2_media_type(&req.accept) else {
        let mut res = Response::new(full(Bytes::new()));
        *res.status_mut() = StatusCode::NOT_ACCEPTABLE;
        res.headers_mut()
            .insert(header::VARY, HeaderValue::from_static("Accept"));
        return res;
    };
    let doc = v2_document(&crd_documents(state));
    let (body, content_type) = if media == V2_JSON {
        (doc.json.clone(), "application/json")
    } else {
        (
            doc.protobuf.clone(),
            "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
        )
    };
    let mut res = json_raw(StatusCode::OK, body);
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", doc.etag)) {
        headers.insert(header::ETAG, etag);
    }
    res
}

/// `GET /openapi/v3`: the built-in documents' index plus one entry per CRD group-version.
pub(crate) fn index(state: &State) -> Response<ResBody> {
    let crds = crd_documents(state);
    if crds.is_empty() {
        return json_raw(StatusCode::OK, Bytes::from_static(openapi::INDEX));
    }
    let mut index: Value = serde_json::from_slice(openapi::INDEX).unwrap_or_else(|_| json!({}));
    for (path, doc) in crds {
        index["paths"][path.as_str()] = json!({
            "serverRelativeURL": format!("/openapi/v3/{path}?hash={}", sha512_hex(&doc))
        });
    }
    json_value(StatusCode::OK, &index)
}

/// `GET /openapi/v3/<path>`: the document; a stale `hash` is redirected to the current one,
/// a matching one is cacheable forever, as kube-apiserver does.
pub(crate) fn document(state: &State, req: &Req, path: &str) -> Response<ResBody> {
    let (doc, hash) = match (openapi::document(path), openapi::index_hash(path)) {
        (Some(doc), Some(hash)) => (Bytes::from_static(doc), hash),
        _ => match crd_documents(state).into_iter().find(|(p, _)| p == path) {
            Some((_, doc)) => {
                let hash = sha512_hex(&doc);
                (Bytes::from(doc), hash)
            }
            None => return page_not_found(),
        },
    };
    let mut res = json_raw(StatusCode::OK, doc);
    match req.param("hash") {
        Some(h) if h == hash => {
            res.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, immutable"),
            );
        }
        Some(_) => {
            *res.status_mut() = StatusCode::MOVED_PERMANENTLY;
            *res.body_mut() = full(Bytes::new());
            if let Ok(v) = HeaderValue::from_str(&format!("/openapi/v3/{path}?hash={hash}")) {
                res.headers_mut().insert(header::LOCATION, v);
            }
        }
        None => {}
    }
    res.headers_mut().insert(
        header::ETAG,
        HeaderValue::from_str(&format!("\"{hash}\"")).unwrap_or(HeaderValue::from_static("\"\"")),
    );
    res
}
