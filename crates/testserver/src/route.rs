//! Routing: which handler answers a path. The discovery, OpenAPI and health paths go
//! to their handlers; a resource path is resolved against the registry into a target
//! (resource, namespace, name, subresource) and sent, by method, to the handler of its
//! verb family, once the resource is known to allow the verb.

use std::sync::Arc;

use http::{Method, Response};
use serde_json::json;

use crate::handlers::{
    delete, discovery, log, openapi, patch, protobuf, read, scale, subresource, watch, write,
};
use crate::shared::body::ResBody;
use crate::shared::request::Req;
use crate::shared::response::{error, page_not_found};
use crate::shared::state::State;
use crate::shared::status::ApiError;
use crate::storage::registry::ResourceInfo;

/// Which resource a path names, and how.
struct Target {
    info: Arc<ResourceInfo>,
    namespace: Option<String>,
    name: Option<String>,
    sub: Option<String>,
    watch_path: bool,
}

/// Answer one request.
pub(crate) async fn route(state: &Arc<State>, req: Req) -> Response<ResBody> {
    let raw: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    let mut segs = Vec::with_capacity(raw.len());
    for s in raw {
        match percent_encoding::percent_decode_str(s).decode_utf8() {
            Ok(s) => segs.push(s.into_owned()),
            Err(_) => return page_not_found(),
        }
    }
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    match segs.as_slice() {
        ["version"] => discovery::version(),
        ["healthz" | "livez" | "readyz"] => discovery::health(),
        ["openapi", "v2"] => openapi::v2(state, &req),
        ["openapi", "v3"] => openapi::index(state),
        ["openapi", "v3", rest @ ..] => openapi::document(state, &req, &rest.join("/")),
        ["api"] => discovery::core(state, &req),
        ["apis"] => discovery::groups(state, &req),
        ["apis", group] => discovery::group(state, group),
        ["api", version] => discovery::resources(state, "", version),
        ["apis", group, version] => discovery::resources(state, group, version),
        ["api", version, rest @ ..] => resource_request(state, &req, "", version, rest).await,
        ["apis", group, version, rest @ ..] => {
            resource_request(state, &req, group, version, rest).await
        }
        _ => page_not_found(),
    }
}

async fn resource_request(
    state: &Arc<State>,
    req: &Req,
    group: &str,
    version: &str,
    rest: &[&str],
) -> Response<ResBody> {
    let serves = state
        .registry
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .serves_group_version(group, version);
    if !serves {
        return page_not_found();
    }
    let target = match resolve(state, group, version, rest) {
        Some(t) => t,
        None => return protobuf::answer(req, error(&not_served()), None).await,
    };
    if let Some(e) = protobuf::refuse_early(req, &target.info) {
        return protobuf::answer(req, error(&e), None).await;
    }
    let watching = req.method == Method::GET
        && target.name.is_none()
        && (target.watch_path || req.flag("watch"));
    let info = Arc::clone(&target.info);
    let res = match dispatch(state, req, target).await {
        Ok(res) => res,
        Err(e) => error(&e),
    };
    protobuf::answer(req, res, watching.then_some(&*info)).await
}

fn not_served() -> ApiError {
    ApiError::new(
        404,
        "NotFound",
        "the server could not find the requested resource",
        Some(json!({})),
    )
}

fn resolve(state: &State, group: &str, version: &str, rest: &[&str]) -> Option<Target> {
    let (watch_path, rest) = match rest {
        ["watch", tail @ ..] => (true, tail),
        _ => (false, rest),
    };
    let (namespace, plural, tail) = match rest {
        ["namespaces", name, sub @ ("status" | "finalize")] if group.is_empty() => {
            (None, "namespaces", vec![*name, *sub])
        }
        ["namespaces", ns, plural, tail @ ..] => (Some((*ns).to_owned()), *plural, tail.to_vec()),
        [plural, tail @ ..] => (None, *plural, tail.to_vec()),
        [] => return None,
    };
    let info = state.resource(group, version, plural)?;
    if namespace.is_some() && !info.namespaced {
        return None;
    }
    let (name, sub) = match tail.as_slice() {
        [] => (None, None),
        [name] => (Some((*name).to_owned()), None),
        [name, sub] => (Some((*name).to_owned()), Some((*sub).to_owned())),
        _ => return None,
    };
    if info.namespaced && namespace.is_none() && name.is_some() {
        return None;
    }
    if let Some(sub) = &sub
        && !info.has_subresource(sub)
    {
        return None;
    }
    if name.as_deref() == Some("") || namespace.as_deref() == Some("") {
        return None;
    }
    Some(Target {
        info,
        namespace,
        name,
        sub,
        watch_path,
    })
}

async fn dispatch(state: &Arc<State>, req: &Req, t: Target) -> Result<Response<ResBody>, ApiError> {
    let info = Arc::clone(&t.info);
    let allowed = |verb: &str| {
        if info.has_verb(verb) {
            Ok(())
        } else {
            Err(ApiError::method_not_allowed(req.method.as_str()))
        }
    };
    let ns = t.namespace.as_deref();
    let watching = t.watch_path || req.flag("watch");
    match (&req.method, &t.name, t.sub.as_deref()) {
        (&Method::GET, None, _) if watching => {
            allowed("watch")?;
            watch::serve(state, req, &info, ns)
        }
        (&Method::GET, None, _) => {
            allowed("list")?;
            read::wait_for_list(state, req).await?;
            read::list(state, req, &info, ns)
        }
        (&Method::POST, None, _) => {
            allowed("create")?;
            write::create(state, req, &info, ns)
        }
        (&Method::DELETE, None, _) => {
            allowed("deletecollection")?;
            delete::collection(state, req, &info, ns)
        }
        (&Method::GET, Some(name), None) => {
            allowed("get")?;
            read::get(state, req, &info, ns, name)
        }
        (&Method::GET, Some(name), Some("status")) => {
            allowed("get")?;
            read::get_status(state, &info, ns, name)
        }
        (&Method::PUT, Some(name), sub @ (None | Some("status"))) => {
            allowed("update")?;
            write::update(state, req, &info, ns, name, sub)
        }
        (&Method::PATCH, Some(name), sub @ (None | Some("status"))) => {
            allowed("patch")?;
            patch::patch(state, req, &info, ns, name, sub)
        }
        (&Method::GET, Some(name), Some("scale")) => {
            allowed("get")?;
            scale::get(state, &info, ns, name)
        }
        (&Method::PUT, Some(name), Some("scale")) => {
            allowed("update")?;
            scale::put(state, req, &info, ns, name)
        }
        (&Method::PATCH, Some(name), Some("scale")) => {
            allowed("patch")?;
            scale::patch(state, req, &info, ns, name)
        }
        (&Method::DELETE, Some(name), None) => {
            allowed("delete")?;
            delete::delete(state, req, &info, ns, name)
        }
        (&Method::GET, Some(name), Some("log"))
            if info.group.is_empty() && info.plural == "pods" =>
        {
            log::serve(state, req, &info, ns, name)
        }
        (
            _,
            Some(name),
            Some(
                sub @ ("eviction"
                | "binding"
                | "ephemeralcontainers"
                | "finalize"
                | "approval"
                | "token"),
            ),
        ) if subresource::serves(&req.method, sub) => {
            subresource::serve(state, req, &info, ns, name, sub)
        }
        (_, Some(_), Some(sub)) => Err(ApiError::new(
            405,
            "MethodNotAllowed",
            format!(
                "kubecto-testserver does not serve {} on the {sub} subresource of {}",
                req.method, info.plural
            ),
            None,
        )),
        _ => Err(ApiError::method_not_allowed(req.method.as_str())),
    }
}
