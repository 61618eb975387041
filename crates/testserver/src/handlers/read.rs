//! Reads: `GET` of one object (as itself, a `Table` or `PartialObjectMetadata`) and of a
//! collection (LIST), with selectors and `limit`/`continue` pages over consistent
//! snapshots, as kube-apiserver serves them.

use std::sync::Arc;

use http::{Response, StatusCode};
use serde_json::{Map, Value, json};

use crate::handlers::input::{matches_selectors, selectors};
use crate::logic::table;
use crate::objects;
use crate::shared::body::ResBody;
use crate::shared::media::{self, Output};
use crate::shared::request::Req;
use crate::shared::response::{json_raw, json_value, list_response, render};
use crate::shared::state::State;
use crate::shared::status::ApiError;
use crate::storage::registry::ResourceInfo;
use crate::storage::store::{Obj, ObjKey};

/// `GET` one object: itself, a one-row `Table`, or its `PartialObjectMetadata`.
pub(crate) fn get(
    state: &State,
    req: &Req,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
) -> Result<Response<ResBody>, ApiError> {
    let output = media::negotiate(&req.accept, false)?;
    let obj = objects::get(state, info, namespace, name)?;
    match output {
        Output::Object => Ok(json_raw(StatusCode::OK, render(&obj.body, info))),
        Output::Metadata(v) => Ok(json_value(
            StatusCode::OK,
            &table::partial(&obj.value(), &v),
        )),
        Output::Table(v) => {
            let include = table::Include::parse(req.param("includeObject"))?;
            let meta = json!({"resourceVersion": obj.rv.to_string()});
            let t = table::table(info, meta, &[obj.value()], include, &v);
            Ok(json_value(StatusCode::OK, &t))
        }
    }
}

/// `GET .../{name}/status`: the whole object, as kube-apiserver answers it.
pub(crate) fn get_status(
    state: &State,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
) -> Result<Response<ResBody>, ApiError> {
    let obj = objects::get(state, info, namespace, name)?;
    Ok(json_raw(StatusCode::OK, render(&obj.body, info)))
}

/// A LIST from a resourceVersion the server has not reached (not `Exact`, no `continue`)
/// waits for it, as the watch cache does, for 3 s; then 504 `Too large resource version`.
pub(crate) async fn wait_for_list(state: &State, req: &Req) -> Result<(), ApiError> {
    if req.param("continue").is_some_and(|c| !c.is_empty())
        || req.param("resourceVersionMatch") == Some("Exact")
    {
        return Ok(());
    }
    let Some(rv) = req
        .param("resourceVersion")
        .and_then(|r| r.parse::<u64>().ok())
    else {
        return Ok(());
    };
    let mut changed = state.store.subscribe();
    let give_up = tokio::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        changed.borrow_and_update();
        let current = state.store.current_rv();
        if current >= rv {
            return Ok(());
        }
        tokio::select! {
            res = changed.changed() => if res.is_err() { return Ok(()) },
            _ = tokio::time::sleep_until(give_up) => {
                return Err(ApiError::too_large_resource_version(rv, current));
            }
        }
    }
}

/// `GET` a collection: selectors, `limit`/`continue` over a consistent snapshot,
/// `resourceVersion` (+`Exact`), and Table or metadata-only output.
pub(crate) fn list(
    state: &State,
    req: &Req,
    info: &ResourceInfo,
    namespace: Option<&str>,
) -> Result<Response<ResBody>, ApiError> {
    let (labels, fields) = selectors(req, info)?;
    let output = media::negotiate(&req.accept, true)?;
    // includeObject belongs to TableOptions: only a Table request reads it.
    let include = match output {
        Output::Table(_) => table::Include::parse(req.param("includeObject"))?,
        _ => table::Include::Metadata,
    };
    let limit = match req.param("limit") {
        None | Some("") => None,
        Some(l) => match l.parse::<i64>() {
            Ok(n) if n > 0 => Some(n as usize),
            Ok(_) => None,
            Err(_) => return Err(ApiError::bad_request(format!("invalid limit: {l:?}"))),
        },
    };
    let (at, after) = match req.param("continue").filter(|c| !c.is_empty()) {
        Some(token) => {
            let (rv, start) = decode_continue(token)?;
            // `None`: a token kube-apiserver hands out with a 410 (resourceVersion -1)
            // continues at the latest resourceVersion.
            (rv, Some(start))
        }
        None => match (
            req.param("resourceVersion").filter(|r| !r.is_empty()),
            req.param("resourceVersionMatch"),
        ) {
            (Some(rv), Some("Exact")) => (Some(parse_rv(rv)?), None),
            (Some(rv), _) => {
                parse_rv(rv)?;
                (None, None)
            }
            (None, Some(m)) if !m.is_empty() => {
                return Err(ApiError::new(
                    422,
                    "Invalid",
                    "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
                    None,
                ));
            }
            _ => (None, None),
        },
    };
    let (rv, items) = state
        .store
        .list(&info.storage_key(), namespace, at)
        .map_err(|_| compacted(after.as_ref()))?;
    let selected = !labels.is_empty() || !fields.is_empty();
    let mut matching = items
        .into_iter()
        .filter(|o| {
            after.as_ref().is_none_or(|a| {
                (o.namespace.as_str(), o.name.as_str()) > (a.0.as_str(), a.1.as_str())
            })
        })
        .filter(|o| matches_selectors(o, &labels, &fields, info));
    let page: Vec<Arc<Obj>> = match limit {
        Some(n) => matching.by_ref().take(n).collect(),
        None => matching.by_ref().collect(),
    };
    let rest: Vec<Arc<Obj>> = matching.collect();
    let (cont, remaining) = match page.last() {
        Some(last) if !rest.is_empty() => (
            Some(encode_continue(rv, &last.key())),
            if selected { None } else { Some(rest.len()) },
        ),
        _ => (None, None),
    };
    let (as_table, version) = match output {
        Output::Object => return Ok(list_response(info, rv, cont, remaining, page)),
        Output::Table(v) => (true, v),
        Output::Metadata(v) => (false, v),
    };
    let mut meta = Map::new();
    meta.insert("resourceVersion".into(), json!(rv.to_string()));
    if let Some(c) = cont {
        meta.insert("continue".into(), json!(c));
    }
    if let Some(r) = remaining {
        meta.insert("remainingItemCount".into(), json!(r));
    }
    let items: Vec<Value> = page.iter().map(|o| o.value()).collect();
    let body = if as_table {
        table::table(info, Value::Object(meta), &items, include, &version)
    } else {
        table::partial_list(Value::Object(meta), &items, &version)
    };
    Ok(json_value(StatusCode::OK, &body))
}

/// The 410 for a snapshot the history no longer reaches, as etcd3's store answers a
/// compacted revision (`interpretListError`): for a page, with a token that continues
/// at the latest resourceVersion in `metadata.continue`.
fn compacted(after: Option<&ObjKey>) -> ApiError {
    let Some(after) = after else {
        return ApiError::expired("The resourceVersion for the provided list is too old.");
    };
    let mut err = ApiError::expired(
        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
    );
    err.body["metadata"] = json!({"continue": continue_token(-1, after)});
    err
}

/// The continue token: which snapshot (-1: the latest), and the last key returned.
#[derive(serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    v: String,
    rv: i64,
    start: String,
}

fn encode_continue(rv: u64, last: &ObjKey) -> String {
    continue_token(i64::try_from(rv).unwrap_or(i64::MAX), last)
}

fn continue_token(rv: i64, last: &ObjKey) -> String {
    use base64::Engine as _;
    let token = ContinueToken {
        v: "meta.k8s.io/v1".into(),
        rv,
        start: format!("{}/{}\u{0}", last.0, last.1),
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&token).unwrap_or_default())
}

/// The snapshot a token names (`None`: the latest) and the key it continues after.
fn decode_continue(s: &str) -> Result<(Option<u64>, ObjKey), ApiError> {
    use base64::Engine as _;
    let bad = |why: &str| ApiError::bad_request(format!("continue key is not valid: {why}"));
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| bad("not base64"))?;
    let token: ContinueToken =
        serde_json::from_slice(&raw).map_err(|_| bad("not a continue token"))?;
    if token.v != "meta.k8s.io/v1" {
        return Err(bad(&format!(
            "server does not recognize this encoded version {:?}",
            token.v
        )));
    }
    let rv = match token.rv {
        -1 => None,
        rv => Some(u64::try_from(rv).ok().filter(|rv| *rv > 0).ok_or_else(|| {
            bad("incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
        })?),
    };
    let start = token
        .start
        .strip_suffix('\u{0}')
        .ok_or_else(|| bad("malformed start key"))?;
    let (ns, name) = start
        .split_once('/')
        .ok_or_else(|| bad("malformed start key"))?;
    Ok((rv, (ns.to_owned(), name.to_owned())))
}

fn parse_rv(s: &str) -> Result<u64, ApiError> {
    s.parse()
        .map_err(|_| ApiError::bad_request(format!("invalid resource version: {s:?}")))
}
