//! `GET pods/{name}/log`. A real kube-apiserver proxies this to the kubelet; here the
//! text comes from the library (`TestServer::set_pod_log` and friends), kept in
//! `storage::logs`. `follow=true` streams appended text until the pod goes.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::BodyExt as _;

use crate::objects;
use crate::shared::body::{ChannelBody, ResBody, full};
use crate::shared::meta;
use crate::shared::request::Req;
use crate::shared::state::State;
use crate::shared::status::ApiError;
use crate::storage::logs::{Text, key};
use crate::storage::registry::ResourceInfo;

/// The text as served (optionally with timestamps), from line `from` on.
fn render(text: &Text, from: usize, timestamps: bool) -> String {
    let mut out = String::new();
    for (at, line) in text.lines.iter().skip(from) {
        if timestamps {
            out.push_str(&timestamp(*at));
            out.push(' ');
        }
        out.push_str(line);
    }
    out
}

/// A line's time as the kubelet writes it: RFC 3339 with nanoseconds.
fn timestamp(at: Duration) -> String {
    let secs = meta::rfc3339(at.as_secs());
    format!("{}.{:09}Z", secs.trim_end_matches('Z'), at.subsec_nanos())
}

fn invalid(name: &str, field: &str, value: &str, msg: &str) -> ApiError {
    ApiError::invalid(
        "PodLogOptions",
        "",
        name,
        &[(
            field.into(),
            "FieldValueInvalid",
            format!("Invalid value: {value}: {msg}"),
        )],
    )
}

fn number(req: &Req, name: &str, param: &str, min: i64) -> Result<Option<usize>, ApiError> {
    let Some(v) = req.param(param).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let n: i64 = v.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "couldn't parse {param} {v:?}: strconv.ParseInt: parsing {v:?}: invalid syntax"
        ))
    })?;
    if n < min {
        let msg = if min == 0 {
            "must be greater than or equal to 0"
        } else {
            "must be greater than 0"
        };
        return Err(invalid(name, param, &n.to_string(), msg));
    }
    Ok(Some(usize::try_from(n).unwrap_or(usize::MAX)))
}

/// `GET pods/{name}/log`.
pub(crate) fn serve(
    state: &Arc<State>,
    req: &Req,
    info: &Arc<ResourceInfo>,
    namespace: Option<&str>,
    name: &str,
) -> Result<Response<ResBody>, ApiError> {
    let ns = namespace.unwrap_or_default().to_owned();
    let pod = objects::get(state, info, namespace, name)?;
    let pod_value = pod.value();
    let container = crate::logic::pods::container(&pod_value, name, req.param("container"))?;
    let tail = number(req, name, "tailLines", 0)?;
    let limit = number(req, name, "limitBytes", 1)?;
    let timestamps = matches!(req.param("timestamps"), Some("true" | "1"));
    let previous = matches!(req.param("previous"), Some("true" | "1"));
    let follow = matches!(req.param("follow"), Some("true" | "1"));
    let k = key(&ns, name, &container);
    let text = state.logs.text(&k, previous).ok_or_else(|| {
        ApiError::bad_request(format!(
            "previous terminated container \"{container}\" in pod \"{name}\" not found"
        ))
    })?;
    let from = tail.map_or(0, |t| text.lines.len().saturating_sub(t));
    let mut first = render(&text, from, timestamps).into_bytes();
    if let Some(l) = limit {
        first.truncate(l);
    }
    let text_plain = |body: ResBody| {
        let mut res = Response::new(body);
        *res.status_mut() = StatusCode::OK;
        res.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        res
    };
    if !follow || previous {
        return Ok(text_plain(full(first)));
    }
    let (tx, body) = ChannelBody::new(16);
    let state = Arc::clone(state);
    let info_key = (pod.uid.clone(), Arc::clone(info));
    tokio::spawn(async move {
        let (uid, info) = info_key;
        let mut log_changed = state.logs.subscribe();
        let mut store_changed = state.store.subscribe();
        let mut sent_lines = text.lines.len();
        let mut partial = text.lines.last().map_or(0, |(_, l)| l.len());
        let mut budget = limit.map(|l| l.saturating_sub(first.len()));
        if !first.is_empty() && tx.send(Bytes::from(first)).await.is_err() {
            return;
        }
        loop {
            if budget == Some(0) {
                return;
            }
            log_changed.borrow_and_update();
            store_changed.borrow_and_update();
            // New text since what was sent: the rest of the last partial line, then new lines.
            let now = state.logs.text(&k, false).unwrap_or_default();
            let mut out = String::new();
            if sent_lines > 0
                && let Some((_, l)) = now.lines.get(sent_lines - 1)
                && l.len() > partial
                && l.is_char_boundary(partial)
            {
                out.push_str(&l[partial..]);
            }
            if now.lines.len() >= sent_lines {
                out.push_str(&render(&now, sent_lines, timestamps));
                sent_lines = now.lines.len();
                partial = now.lines.last().map_or(0, |(_, l)| l.len());
            } else {
                // The log was replaced by a shorter one: start over.
                out = render(&now, 0, timestamps);
                sent_lines = now.lines.len();
                partial = now.lines.last().map_or(0, |(_, l)| l.len());
            }
            let mut out = out.into_bytes();
            if let Some(b) = budget.as_mut() {
                out.truncate(*b);
                *b -= out.len();
            }
            if !out.is_empty() && tx.send(Bytes::from(out)).await.is_err() {
                return;
            }
            let gone = match objects::get(&state, &info, Some(&k.0), &k.1) {
                Ok(p) => p.uid != uid,
                Err(_) => true,
            };
            if gone {
                return;
            }
            tokio::select! {
                r = log_changed.changed() => if r.is_err() { return },
                r = store_changed.changed() => if r.is_err() { return },
                _ = tx.closed() => return,
            }
        }
    });
    Ok(text_plain(body.boxed_unsync()))
}
