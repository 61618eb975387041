//! OpenAPI v3: `GET /openapi/v3` (the index, whose URLs carry each document's SHA-512)
//! and `GET /openapi/v3/<path>` (the recorded documents, plus a generated one for each
//! group-version served by CRDs), with kube-apiserver's caching: a stale `hash` is
//! redirected to the current one, a matching one is cacheable forever.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde_json::{Value, json};

use crate::logic::{crd, openapi};
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
