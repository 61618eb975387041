//! Routing and the resource verbs: get, list, create, update, patch, delete,
//! deletecollection, and the status subresource, with kube-apiserver's semantics.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode, header};
use serde_json::{Map, Value, json};

use crate::RecordedRequest;
use crate::controllers::{crd, gc};
use crate::handlers::{scale, subresource as subres, watch};
use crate::logic::selector::{FieldSelector, LabelSelector};
use crate::logic::{apply, defaults, openapi, patch, table, validation};
use crate::server::faults::Faults;
use crate::shared::body::{ListBody, ResBody, full};
use crate::shared::meta;
use crate::shared::status::{ApiError, delete_success};
use crate::storage::registry::{Registry, ResourceInfo};
use crate::storage::store::{EventType, Obj, ObjKey, Store, Update};

const VERSION: &str = include_str!("../data/discovery/version.json");
const AGGREGATED_CT: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
const NAMESPACES: &str = "/namespaces";

/// Everything a request handler needs.
pub(crate) struct State {
    pub registry: RwLock<Registry>,
    pub store: Store,
    pub faults: Faults,
    pub requests: Mutex<Vec<RecordedRequest>>,
    /// Connections accepted so far.
    pub connections: std::sync::atomic::AtomicUsize,
    pub server_address: String,
    pub bookmark_interval: Duration,
    pub logs: crate::handlers::log::Logs,
    next_service_ip: AtomicU32,
}

impl State {
    pub(crate) fn new(
        history: usize,
        server_address: String,
        bookmark_interval: Duration,
    ) -> State {
        State {
            registry: RwLock::new(Registry::builtin()),
            store: Store::new(history),
            faults: Faults::default(),
            requests: Mutex::new(Vec::new()),
            connections: Default::default(),
            server_address,
            bookmark_interval,
            logs: crate::handlers::log::Logs::default(),
            next_service_ip: AtomicU32::new(1),
        }
    }

    fn resource(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceInfo>> {
        self.registry
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .resource(group, version, plural)
    }

    fn service_ip(&self) -> String {
        let n = self.next_service_ip.fetch_add(1, Ordering::Relaxed);
        format!("10.96.{}.{}", (n / 250) % 250, n % 250 + 1)
    }
}

/// A decoded request: what the handlers look at.
pub(crate) struct Req {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub accept: String,
    pub content_type: String,
    pub body: Bytes,
    /// The `User-Agent` header (server-side apply derives field managers from it).
    pub user_agent: String,
}

impl Req {
    /// The last value of a query parameter.
    pub(crate) fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, key: &str) -> bool {
        matches!(self.param(key), Some("true" | "1"))
    }
}

/// Parse a query string into decoded pairs.
pub(crate) fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let s = s.replace('+', " ");
        percent_encoding::percent_decode_str(&s)
            .decode_utf8_lossy()
            .into_owned()
    };
    q.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

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
    let reg = || state.registry.read().unwrap_or_else(|p| p.into_inner());
    match segs.as_slice() {
        ["version"] => json_raw(StatusCode::OK, Bytes::from_static(VERSION.as_bytes())),
        ["healthz" | "livez" | "readyz"] => text(StatusCode::OK, "ok"),
        ["openapi", "v3"] => openapi_index(state),
        ["openapi", "v3", rest @ ..] => openapi_document(state, &req, &rest.join("/")),
        ["api"] if wants_aggregated(&req.accept) => aggregated(reg().aggregated_core()),
        ["apis"] if wants_aggregated(&req.accept) => aggregated(reg().aggregated_groups()),
        ["api"] => json_value(
            StatusCode::OK,
            &reg().legacy_core_versions(&state.server_address),
        ),
        ["apis"] => json_value(StatusCode::OK, &reg().legacy_group_list()),
        ["apis", group] => match reg().legacy_group(group) {
            Some(v) => json_value(StatusCode::OK, &v),
            None => page_not_found(),
        },
        ["api", version] => match reg().legacy_resource_list("", version) {
            Some(v) => json_value(StatusCode::OK, &v),
            None => page_not_found(),
        },
        ["apis", group, version] => match reg().legacy_resource_list(group, version) {
            Some(v) => json_value(StatusCode::OK, &v),
            None => page_not_found(),
        },
        ["api", version, rest @ ..] => resource_request(state, &req, "", version, rest).await,
        ["apis", group, version, rest @ ..] => {
            resource_request(state, &req, group, version, rest).await
        }
        _ => page_not_found(),
    }
}

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
fn openapi_index(state: &State) -> Response<ResBody> {
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
fn openapi_document(state: &State, req: &Req, path: &str) -> Response<ResBody> {
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

fn wants_aggregated(accept: &str) -> bool {
    accept.split(',').any(|range| {
        let params: Vec<&str> = range.split(';').map(str::trim).collect();
        params.contains(&"g=apidiscovery.k8s.io")
            && params.contains(&"v=v2")
            && params.contains(&"as=APIGroupDiscoveryList")
    })
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
        None => return error(&not_served()),
    };
    match dispatch(state, req, target).await {
        Ok(res) => res,
        Err(e) => error(&e),
    }
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
    let watching = t.watch_path || req.flag("watch");
    match (&req.method, &t.name, t.sub.as_deref()) {
        (&Method::GET, None, _) if watching => {
            allowed("watch")?;
            watch::serve(state, req, &info, t.namespace.as_deref())
        }
        (&Method::GET, None, _) => {
            allowed("list")?;
            list(state, req, &info, t.namespace.as_deref())
        }
        (&Method::POST, None, _) => {
            allowed("create")?;
            let mut value = decode_body(req, &info)?;
            let dry = dry_run(req)?;
            let warnings = validation::prune(&info, &mut value, validation::directive(req)?)?;
            let manager = apply::manager_for(req.param("fieldManager"), &req.user_agent);
            let managed = match &manager {
                Some(m) => Managed::Update(m),
                None => Managed::None,
            };
            let obj = create_managed(state, &info, t.namespace.as_deref(), value, dry, managed)?;
            Ok(with_warnings(
                json_raw(StatusCode::CREATED, render(&obj.body, &info)),
                &warnings,
            ))
        }
        (&Method::DELETE, None, _) => {
            allowed("deletecollection")?;
            delete_collection(state, req, &info, t.namespace.as_deref())
        }
        (&Method::GET, Some(name), None) => {
            allowed("get")?;
            let output = table::negotiate(&req.accept, false)?;
            let obj = get(state, &info, t.namespace.as_deref(), name)?;
            match output {
                table::Output::Object => Ok(json_raw(StatusCode::OK, render(&obj.body, &info))),
                table::Output::Metadata(v) => Ok(json_value(
                    StatusCode::OK,
                    &table::partial(&obj.value(), &v),
                )),
                table::Output::Table(v) => {
                    let include = table::Include::parse(req.param("includeObject"))?;
                    let meta = json!({"resourceVersion": obj.rv.to_string()});
                    let t = table::table(&info, meta, &[obj.value()], include, &v);
                    Ok(json_value(StatusCode::OK, &t))
                }
            }
        }
        (&Method::GET, Some(name), Some("status")) => {
            allowed("get")?;
            let obj = get(state, &info, t.namespace.as_deref(), name)?;
            Ok(json_raw(StatusCode::OK, render(&obj.body, &info)))
        }
        (&Method::PUT, Some(name), sub @ (None | Some("status"))) => {
            allowed("update")?;
            let mut value = decode_body(req, &info)?;
            let dry = dry_run(req)?;
            let warnings = validation::prune(&info, &mut value, validation::directive(req)?)?;
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
            let obj = update(state, &info, t.namespace.as_deref(), name, value, how)?;
            Ok(with_warnings(
                json_raw(StatusCode::OK, render(&obj.body, &info)),
                &warnings,
            ))
        }
        (&Method::PATCH, Some(name), sub @ (None | Some("status"))) => {
            allowed("patch")?;
            let mode = if sub.is_some() {
                Mode::Status
            } else {
                Mode::Main
            };
            patch_object(state, req, &info, t.namespace.as_deref(), name, mode)
        }
        (&Method::GET, Some(name), Some("scale")) => {
            allowed("get")?;
            scale::get(state, &info, t.namespace.as_deref(), name)
        }
        (&Method::PUT, Some(name), Some("scale")) => {
            allowed("update")?;
            scale::put(state, req, &info, t.namespace.as_deref(), name)
        }
        (&Method::PATCH, Some(name), Some("scale")) => {
            allowed("patch")?;
            scale::patch(state, req, &info, t.namespace.as_deref(), name)
        }
        (&Method::DELETE, Some(name), None) => {
            allowed("delete")?;
            delete(state, req, &info, t.namespace.as_deref(), name)
        }
        (&Method::GET, Some(name), Some("log"))
            if info.group.is_empty() && info.plural == "pods" =>
        {
            crate::handlers::log::serve(state, req, &info, t.namespace.as_deref(), name)
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
        ) if subres::serves(&req.method, sub) => {
            subres::serve(state, req, &info, t.namespace.as_deref(), name, sub)
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

pub(crate) fn decode_body(req: &Req, info: &ResourceInfo) -> Result<Value, ApiError> {
    let ct = req
        .content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    let parsed: Result<Value, String> = match ct {
        "" | "application/json" | "*/*" => {
            serde_json::from_slice(&req.body).map_err(|e| e.to_string())
        }
        "application/yaml" => serde_yaml::from_slice(&req.body).map_err(|e| e.to_string()),
        other => return Err(ApiError::unsupported_media_type(other)),
    };
    let value = parsed.map_err(|e| {
        let excerpt = String::from_utf8_lossy(&req.body[..req.body.len().min(200)]).into_owned();
        ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: {e} ({excerpt})",
            info.kind
        ))
    })?;
    if !value.is_object() {
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): the body is not a JSON object",
            info.kind
        )));
    }
    Ok(value)
}

pub(crate) fn dry_run(req: &Req) -> Result<bool, ApiError> {
    let mut dry = false;
    for (k, v) in &req.query {
        if k == "dryRun" {
            if v != "All" {
                return Err(ApiError::new(
                    422,
                    "Invalid",
                    format!("dryRun: Unsupported value: {v:?}: supported values: \"All\""),
                    None,
                ));
            }
            dry = true;
        }
    }
    Ok(dry)
}

/// Check `kind`/`apiVersion` in a request body against the URL's resource, then
/// drop them. Missing ones default to the URL's, as kube-apiserver's decoder does.
fn check_type(info: &ResourceInfo, value: &mut Value) -> Result<(), ApiError> {
    let Some(map) = value.as_object_mut() else {
        return Err(ApiError::bad_request("the body is not a JSON object"));
    };
    let kind = map.remove("kind");
    let api_version = map.remove("apiVersion");
    if let Some(k) = kind
        .as_ref()
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
        && k != info.kind
    {
        return Err(ApiError::bad_request(format!(
            "the kind in the data ({k}) does not match the expected kind ({})",
            info.kind
        )));
    }
    if let Some(v) = api_version
        .as_ref()
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        && v != info.api_version()
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({v}) does not match the expected API version ({})",
            info.api_version()
        )));
    }
    Ok(())
}

pub(crate) fn meta_mut(value: &mut Value) -> Result<&mut Map<String, Value>, ApiError> {
    if value.get("metadata").is_none() || value["metadata"].is_null() {
        value["metadata"] = json!({});
    }
    value["metadata"]
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request("metadata must be an object"))
}

fn str_field<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_str)
}

pub(crate) fn collection(info: &ResourceInfo) -> Arc<str> {
    Arc::from(info.storage_key())
}

pub(crate) fn key(info: &ResourceInfo, namespace: Option<&str>, name: &str) -> ObjKey {
    let ns = if info.namespaced {
        namespace.unwrap_or_default()
    } else {
        ""
    };
    (ns.to_owned(), name.to_owned())
}

pub(crate) fn get(
    state: &State,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
) -> Result<Arc<Obj>, ApiError> {
    state
        .store
        .get(&info.storage_key(), &key(info, namespace, name))
        .ok_or_else(|| ApiError::not_found(&info.plural, &info.group, name))
}

/// Create an object: validation, server-set fields and defaults, then the store.
pub(crate) fn create(
    state: &State,
    info: &ResourceInfo,
    url_namespace: Option<&str>,
    value: Value,
    dry_run: bool,
) -> Result<Arc<Obj>, ApiError> {
    create_managed(state, info, url_namespace, value, dry_run, Managed::None)
}

/// Who a write's managedFields entry goes to.
pub(crate) enum Managed<'a> {
    /// No entry (seeding, the server's own writes).
    None,
    /// An `Update` by this manager.
    Update(&'a str),
    /// An `Apply` of this configuration by this manager.
    Apply(&'a str, &'a Value),
}

/// The OpenAPI schema of a resource's kind: the recorded one, or a CRD version's.
pub(crate) fn schema_of(info: &ResourceInfo) -> Option<openapi::KindSchema<'_>> {
    match &info.custom {
        Some(version) => {
            let root = &version["schema"]["openAPIV3Schema"];
            root.is_object().then(|| openapi::custom_schema(root))
        }
        None => openapi::kind_schema(&info.group, &info.version, &info.kind),
    }
}

/// [`create`], recording managedFields.
pub(crate) fn create_managed(
    state: &State,
    info: &ResourceInfo,
    url_namespace: Option<&str>,
    mut value: Value,
    dry_run: bool,
    managed: Managed<'_>,
) -> Result<Arc<Obj>, ApiError> {
    check_type(info, &mut value)?;
    let user_tolerations = value["spec"].get("tolerations").is_some();
    let meta = meta_mut(&mut value)?;
    // Namespace: the URL's, which the body may repeat but not contradict.
    let body_ns = meta
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if info.namespaced {
        let url_ns = url_namespace.unwrap_or_default();
        if !body_ns.is_empty() && body_ns != url_ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        if url_ns.is_empty() {
            return Err(ApiError::bad_request(
                "a namespace is required to create this resource",
            ));
        }
        meta.insert("namespace".into(), json!(url_ns));
    } else {
        meta.remove("namespace");
    }
    // Name, possibly generated.
    let mut name = meta
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if name.is_empty()
        && let Some(prefix) = meta.get("generateName").and_then(Value::as_str)
        && !prefix.is_empty()
    {
        name = format!("{prefix}{}", meta::random_suffix());
        meta.insert("name".into(), json!(name));
    }
    if let Err((reason, message)) = meta::validate_name(&info.group, &info.plural, &name) {
        return Err(ApiError::invalid(
            &info.kind,
            &info.group,
            &name,
            &[("metadata.name".into(), reason, message)],
        ));
    }
    // Server-owned metadata.
    for k in [
        "resourceVersion",
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
        "managedFields",
        "generation",
    ] {
        meta.remove(k);
    }
    meta.insert("uid".into(), json!(meta::new_uid()));
    meta.insert("creationTimestamp".into(), json!(meta::now_rfc3339()));
    if info.has_subresource("status")
        && let Some(m) = value.as_object_mut()
    {
        m.remove("status");
    }
    if crd::is_crd(info) {
        crd::prepare(&mut value)?;
        value["status"] = crd::initial_status(&value);
    }
    defaults::apply(&info.group, &info.kind, &mut value, || state.service_ip());
    match managed {
        Managed::None => {}
        Managed::Update(manager) => {
            // Admission plugins add these to pods after field management has run.
            let mut exclude: Vec<&[&str]> = Vec::new();
            if info.group.is_empty() && info.kind == "Pod" {
                exclude.extend([&["spec", "priority"][..], &["spec", "preemptionPolicy"][..]]);
                if !user_tolerations {
                    exclude.push(&["spec", "tolerations"][..]);
                }
            }
            let schema = schema_of(info);
            apply::record_create(
                &mut value,
                manager,
                &info.api_version(),
                schema.as_ref(),
                &exclude,
            );
        }
        Managed::Apply(manager, config) => {
            let schema = schema_of(info);
            apply::record_apply_create(
                &mut value,
                config,
                manager,
                &info.api_version(),
                schema.as_ref(),
            );
        }
    }
    if (info.custom.is_some() || defaults::has_generation(&info.group, &info.kind, &value))
        && let Ok(meta) = meta_mut(&mut value)
    {
        meta.insert("generation".into(), json!(1));
    }
    let value = normalize(value);
    // The namespace must exist (and not be terminating).
    if info.namespaced {
        let ns = url_namespace.unwrap_or_default();
        if state
            .store
            .get(NAMESPACES, &(String::new(), ns.to_owned()))
            .is_none()
        {
            return Err(ApiError::not_found("namespaces", "", ns));
        }
    }
    if dry_run {
        return Ok(Arc::new(Obj::from_value(&value, state.store.current_rv())));
    }
    let obj = state.store.create(&collection(info), value, || {
        ApiError::already_exists(&info.plural, &info.group, &name)
    })?;
    if crd::is_crd(info) {
        crd::sync(state, info, &obj);
    }
    Ok(obj)
}

/// What follows a write the way controllers would follow it: garbage collection of a
/// removed object's dependents, serving (or no longer serving) a CRD's resource.
pub(crate) fn after_write(state: &State, info: &ResourceInfo, obj: &Obj, kind: EventType) {
    let removed = kind == EventType::Deleted;
    if crd::is_crd(info) {
        if removed {
            crd::removed(state, obj);
        } else {
            crd::sync(state, info, obj);
        }
    }
    gc::after_delete(state, info, obj, removed);
}

/// Order an object's keys as kube-apiserver writes them: metadata first, its
/// fields in Go struct order, the rest as given.
pub(crate) fn normalize(value: Value) -> Value {
    const META_ORDER: &[&str] = &[
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    ];
    let Value::Object(mut map) = value else {
        return value;
    };
    let mut out = Map::new();
    if let Some(Value::Object(mut meta)) = map.remove("metadata") {
        let mut m = Map::new();
        for k in META_ORDER {
            if let Some(v) = meta.remove(*k) {
                m.insert((*k).to_owned(), v);
            }
        }
        m.extend(meta);
        out.insert("metadata".into(), Value::Object(m));
    }
    let status = map.remove("status");
    out.extend(map);
    if let Some(s) = status {
        out.insert("status".into(), s);
    }
    Value::Object(out)
}

#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Mode {
    Main,
    Status,
    /// A server-internal write of the whole object, as kube-apiserver's storage-level
    /// updates make them (pods/binding): no strategy, so `generation` does not move.
    Raw,
}

/// Build the object an update writes from the current object and the sent one.
fn merge_update(info: &ResourceInfo, current: &Value, mut sent: Value, mode: Mode) -> Value {
    let has_status = info.has_subresource("status");
    if let Some(meta) = sent.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "namespace",
            "name",
        ] {
            match current["metadata"].get(k) {
                Some(v) => meta.insert(k.to_owned(), v.clone()),
                None => meta.remove(k),
            };
        }
    }
    // managedFields: the current ones, unless the writer sent a list (apply computes it;
    // a client may also replace them, as with kube-apiserver).
    if let Some(meta) = sent.get_mut("metadata").and_then(Value::as_object_mut)
        && !meta.get("managedFields").is_some_and(Value::is_array)
    {
        match current["metadata"].get("managedFields") {
            Some(v) => meta.insert("managedFields".into(), v.clone()),
            None => meta.remove("managedFields"),
        };
    }
    let Some(map) = sent.as_object_mut() else {
        return current.clone();
    };
    if mode == Mode::Raw {
        return normalize(sent);
    }
    match mode {
        Mode::Main if has_status => match current.get("status") {
            Some(s) => {
                map.insert("status".into(), s.clone());
            }
            None => {
                map.remove("status");
            }
        },
        Mode::Main | Mode::Raw => {}
        Mode::Status => {
            // Only status (and user metadata) change through /status.
            let status = map.remove("status");
            let metadata = map.remove("metadata");
            map.clear();
            if let Some(cur) = current.as_object() {
                for (k, v) in cur {
                    map.insert(k.clone(), v.clone());
                }
            }
            if let Some(m) = metadata {
                map.insert("metadata".into(), m);
            }
            match status {
                Some(s) => map.insert("status".into(), s),
                None => map.remove("status"),
            };
        }
    }
    // Generation moves when anything but metadata and status changes (for a custom
    // resource without a status subresource, status changes count too).
    if current["metadata"].get("generation").is_some() {
        let status_counts = info.custom.is_some() && !has_status;
        let strip = |v: &Value| {
            let mut v = v.clone();
            if let Some(m) = v.as_object_mut() {
                m.remove("metadata");
                if !status_counts {
                    m.remove("status");
                }
            }
            v
        };
        if strip(&sent) != strip(current) {
            let g = current["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
            sent["metadata"]["generation"] = json!(g);
        }
    }
    normalize(sent)
}

/// Compare two objects ignoring `metadata.resourceVersion`.
fn same_object(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("resourceVersion");
        }
        v
    };
    strip(a) == strip(b)
}

fn update(
    state: &State,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
    mut value: Value,
    how: How<'_>,
) -> Result<Arc<Obj>, ApiError> {
    check_type(info, &mut value)?;
    let meta = meta_mut(&mut value)?;
    let sent_name = meta.get("name").and_then(Value::as_str).unwrap_or_default();
    if sent_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({sent_name}) does not match the name on the URL ({name})"
        )));
    }
    if info.namespaced {
        let sent_ns = meta
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !sent_ns.is_empty() && Some(sent_ns) != namespace {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
    }
    write_update(state, info, namespace, name, how, move |_, _| Ok(value))
}

/// How an update writes: which part, for real or not, recorded for which manager.
#[derive(Clone, Copy)]
pub(crate) struct How<'a> {
    pub mode: Mode,
    pub dry_run: bool,
    pub manager: Option<&'a str>,
    /// The subresource written through, for managedFields (`status` follows from `mode`).
    pub subresource: &'a str,
}

/// Give an object the status a seed manifest shows, as a `PUT .../status` would: a seed
/// is a fixture, so a pod seeded as Running stays Running.
pub(crate) fn seed_status(
    state: &State,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
    status: Value,
) -> Result<Arc<Obj>, ApiError> {
    let how = How {
        mode: Mode::Status,
        dry_run: false,
        manager: None,
        subresource: "status",
    };
    write_update(state, info, namespace, name, how, move |_, cur| {
        let mut next = cur.clone();
        next["status"] = status;
        Ok(next)
    })
}

/// The shared read-modify-write of update and patch.
pub(crate) fn write_update(
    state: &State,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
    how: How<'_>,
    make: impl FnOnce(&Obj, &Value) -> Result<Value, ApiError>,
) -> Result<Arc<Obj>, ApiError> {
    let How {
        mode,
        dry_run,
        manager,
        subresource,
    } = how;
    let k = key(info, namespace, name);
    let on_missing = || ApiError::not_found(&info.plural, &info.group, name);
    let mut preview = None;
    let (obj, kind, changed) =
        state
            .store
            .update(&collection(info), &k, on_missing, |cur, cur_val| {
                let sent = make(cur, &cur_val)?;
                if let Some(rv) = str_field(&sent, &["metadata", "resourceVersion"])
                    && !rv.is_empty()
                    && rv != cur.rv.to_string()
                {
                    return Err(ApiError::conflict(&info.plural, &info.group, name));
                }
                let mut next = merge_update(info, &cur_val, sent, mode);
                if info.group.is_empty() && info.kind == "Secret" {
                    defaults::secret(&mut next);
                }
                if crd::is_crd(info) && mode == Mode::Main {
                    crd::prepare(&mut next)?;
                }
                if let Some(m) = manager {
                    let sub = if mode == Mode::Status {
                        "status"
                    } else {
                        subresource
                    };
                    let schema = schema_of(info);
                    apply::record_update(
                        &cur_val,
                        &mut next,
                        m,
                        &info.api_version(),
                        sub,
                        schema.as_ref(),
                    );
                }
                if same_object(&next, &cur_val) {
                    return Ok(Update::Unchanged);
                }
                if dry_run {
                    preview = Some(next);
                    return Ok(Update::Unchanged);
                }
                let terminating = next["metadata"].get("deletionTimestamp").is_some();
                let no_finalizers = next["metadata"]["finalizers"]
                    .as_array()
                    .is_none_or(|f| f.is_empty());
                Ok(if terminating && no_finalizers {
                    Update::Remove(next)
                } else {
                    Update::Write(next)
                })
            })?;
    if preview.is_none() && changed {
        after_write(state, info, &obj, kind);
    }
    Ok(match preview {
        Some(v) => Arc::new(Obj::from_value(&v, obj.rv)),
        None => obj,
    })
}

/// A decoded PATCH request: its type, document and options.
pub(crate) struct PatchRequest {
    /// The media type (without parameters).
    pub ct: String,
    /// Server-side apply?
    pub is_apply: bool,
    /// The patch document (YAML decoded for apply).
    pub doc: Value,
    /// `dryRun=All`.
    pub dry: bool,
}

/// Check a PATCH's media type and options and decode its document.
pub(crate) fn parse_patch(req: &Req) -> Result<PatchRequest, ApiError> {
    let ct = req
        .content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let is_apply = ct == "application/apply-patch+yaml" || ct == "application/apply-patch+cbor";
    if !matches!(
        ct.as_str(),
        "application/json-patch+json"
            | "application/merge-patch+json"
            | "application/strategic-merge-patch+json"
    ) && !is_apply
    {
        return Err(ApiError::unsupported_media_type(&ct));
    }
    if is_apply && req.param("fieldManager").is_none_or(str::is_empty) {
        return Err(ApiError::new(
            422,
            "Invalid",
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
            None,
        ));
    }
    if !is_apply && req.param("force").is_some() {
        return Err(ApiError::new(
            422,
            "Invalid",
            "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch",
            None,
        ));
    }
    let dry = dry_run(req)?;
    let doc: Value = if is_apply {
        serde_yaml::from_slice(&req.body)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?
    } else {
        serde_json::from_slice(&req.body)
            .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?
    };
    Ok(PatchRequest {
        ct,
        is_apply,
        doc,
        dry,
    })
}

/// Apply a (non-apply) patch to a full object (with `kind`/`apiVersion`); `schema` is the
/// kind's OpenAPI schema, which strategic merge patch needs.
pub(crate) fn apply_patch_doc(
    p: &PatchRequest,
    full: Value,
    schema: Option<openapi::KindSchema<'_>>,
) -> Result<Value, ApiError> {
    Ok(match p.ct.as_str() {
        "application/json-patch+json" => patch::json_patch(&full, &p.doc).map_err(patch_error)?,
        "application/merge-patch+json" => {
            if !p.doc.is_object() {
                return Err(ApiError::bad_request("Invalid JSON Patch"));
            }
            let mut v = full;
            patch::merge_patch(&mut v, &p.doc);
            v
        }
        "application/strategic-merge-patch+json" => {
            let schema = schema.ok_or_else(strategic_unsupported)?;
            patch::strategic_merge_patch(&full, &p.doc, &|path| schema.patch_meta(path))
                .map_err(patch_error)?
        }
        // Apply to the scale subresource (the main resource and status go through
        // `apply::apply`): a merge of the applied Scale.
        _ => {
            let mut v = full;
            patch::merge_patch(&mut v, &p.doc);
            v
        }
    })
}

/// `value` with `kind` and `apiVersion` in front.
pub(crate) fn with_type(value: &Value, kind: &str, api_version: &str) -> Value {
    let mut full = json!({"kind": kind, "apiVersion": api_version});
    if let (Some(m), Some(c)) = (full.as_object_mut(), value.as_object()) {
        m.extend(c.clone());
    }
    full
}

fn patch_object(
    state: &State,
    req: &Req,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
    mode: Mode,
) -> Result<Response<ResBody>, ApiError> {
    let mut p = parse_patch(req)?;
    let validate = validation::directive(req)?;
    if p.is_apply {
        if !p.doc.is_object() {
            return Err(ApiError::bad_request(format!(
                "error decoding YAML: the applied configuration must be an object, not {}",
                p.doc
            )));
        }
        // kind and apiVersion, when given, must be the URL's.
        check_type(info, &mut p.doc.clone())?;
    }
    // An applied configuration is checked as sent; other patches once applied.
    let mut warnings = if p.is_apply {
        validation::prune(info, &mut p.doc, validate)?
    } else {
        Vec::new()
    };
    // Server-side apply of an object that does not exist yet creates it.
    if p.is_apply && mode == Mode::Main && get(state, info, namespace, name).is_err() {
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
    let obj = write_update(state, info, namespace, name, how, |_, cur| {
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
            warnings = validation::prune(info, &mut patched, validate)?;
            patched
        };
        if let Some(m) = patched.as_object_mut() {
            m.remove("kind");
            m.remove("apiVersion");
        }
        Ok(patched)
    })?;
    Ok(with_warnings(
        json_raw(StatusCode::OK, render(&obj.body, info)),
        &warnings,
    ))
}

/// 415 for a strategic merge patch of a kind without a Go type (custom resources).
pub(crate) fn strategic_unsupported() -> ApiError {
    ApiError::new(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/apply-patch+cbor",
        None,
    )
}

/// Patch failures as kube-apiserver answers them.
pub(crate) fn patch_error(e: patch::PatchError) -> ApiError {
    match e {
        patch::PatchError::Invalid(m) => ApiError::new(422, "Invalid", m, Some(json!({}))),
        patch::PatchError::BadRequest(m) => ApiError::bad_request(m),
        patch::PatchError::Conflict(m) => ApiError::new(409, "Conflict", m, None),
        // kube-apiserver sends these 500s with no reason and the bare message.
        patch::PatchError::Internal(m) => {
            let mut e = ApiError::new(500, "", m, None);
            if let Some(body) = e.body.as_object_mut() {
                body.remove("reason");
            }
            e
        }
    }
}

/// How dependents (objects whose `ownerReferences` name the deleted object) are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Propagation {
    /// The owner goes now; the garbage collector deletes dependents after it.
    Background,
    /// The owner gets the `foregroundDeletion` finalizer; dependents go first, then it.
    Foreground,
    /// The owner gets the `orphan` finalizer; dependents lose their reference to it, then it goes.
    Orphan,
}

/// `DeleteOptions` from the body and the query.
pub(crate) struct DeleteOpts {
    pub uid: Option<String>,
    pub resource_version: Option<String>,
    pub dry_run: bool,
    /// `None`: the resource's default (background, or orphan when the object carries
    /// the `orphan` finalizer).
    pub propagation: Option<Propagation>,
    pub grace_period: Option<i64>,
}

impl DeleteOpts {
    /// Options of a deletion the server makes itself (garbage collection).
    pub(crate) fn internal(propagation: Propagation) -> DeleteOpts {
        DeleteOpts {
            uid: None,
            resource_version: None,
            dry_run: false,
            propagation: Some(propagation),
            grace_period: None,
        }
    }
}

fn delete_opts(req: &Req) -> Result<DeleteOpts, ApiError> {
    let body: Value = if req.body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(&req.body)
            .map_err(|e| ApiError::bad_request(format!("error decoding DeleteOptions: {e}")))?
    };
    delete_opts_from(req, &body)
}

/// `DeleteOptions` from a decoded body (an `Eviction`'s `deleteOptions`) and the query.
pub(crate) fn delete_opts_from(req: &Req, body: &Value) -> Result<DeleteOpts, ApiError> {
    let pre = &body["preconditions"];
    let body_dry = body["dryRun"]
        .as_array()
        .is_some_and(|a| a.iter().any(|v| v == "All"));
    let invalid = |msg: String| {
        ApiError::new(
            422,
            "Invalid",
            format!("DeleteOptions.meta.k8s.io \"\" is invalid: {msg}"),
            None,
        )
    };
    let policy = body["propagationPolicy"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| req.param("propagationPolicy").map(str::to_owned));
    let orphan = body["orphanDependents"]
        .as_bool()
        .or_else(|| req.param("orphanDependents").map(|v| v == "true"));
    let mut propagation = match policy.as_deref() {
        None | Some("") => None,
        Some("Background") => Some(Propagation::Background),
        Some("Foreground") => Some(Propagation::Foreground),
        Some("Orphan") => Some(Propagation::Orphan),
        Some(other) => {
            return Err(invalid(format!(
                "propagationPolicy: Unsupported value: {other:?}: supported values: \"Foreground\", \"Background\", \"Orphan\""
            )));
        }
    };
    if let Some(o) = orphan {
        if propagation.is_some() {
            return Err(invalid(
                "propagationPolicy: Invalid value: \"orphanDependents\": orphanDependents and deletionPropagation cannot be both set".into(),
            ));
        }
        propagation = Some(if o {
            Propagation::Orphan
        } else {
            Propagation::Background
        });
    }
    let grace_period = match (&body["gracePeriodSeconds"], req.param("gracePeriodSeconds")) {
        (Value::Number(n), _) => n.as_i64(),
        (_, Some(q)) if !q.is_empty() => Some(
            q.parse::<i64>()
                .map_err(|_| ApiError::bad_request(format!("invalid gracePeriodSeconds: {q:?}")))?,
        ),
        _ => None,
    };
    Ok(DeleteOpts {
        uid: pre["uid"].as_str().map(str::to_owned),
        resource_version: pre["resourceVersion"].as_str().map(str::to_owned),
        dry_run: dry_run(req)? || body_dry,
        propagation,
        grace_period,
    })
}

fn delete(
    state: &State,
    req: &Req,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
) -> Result<Response<ResBody>, ApiError> {
    let opts = delete_opts(req)?;
    if info.group.is_empty() && info.plural == "namespaces" && !opts.dry_run {
        delete_namespace_contents(state, name);
    }
    let (obj, kind) = delete_one(state, info, namespace, name, &opts)?;
    if !opts.dry_run {
        after_write(state, info, &obj, kind);
    }
    let returns_object = kind != EventType::Deleted
        || (info.group.is_empty() && matches!(info.plural.as_str(), "pods" | "namespaces"));
    if returns_object {
        Ok(json_raw(StatusCode::OK, render(&obj.body, info)))
    } else {
        Ok(json_value(
            StatusCode::OK,
            &delete_success(&info.plural, &info.group, name, &obj.uid),
        ))
    }
}

pub(crate) fn delete_one(
    state: &State,
    info: &ResourceInfo,
    namespace: Option<&str>,
    name: &str,
    opts: &DeleteOpts,
) -> Result<(Arc<Obj>, EventType), ApiError> {
    let k = key(info, namespace, name);
    let on_missing = || ApiError::not_found(&info.plural, &info.group, name);
    let mut preview = None;
    let (obj, kind, _) = state.store.update(&collection(info), &k, on_missing, |cur, cur_val| {
        if let Some(uid) = &opts.uid
            && *uid != cur.uid
        {
            return Err(ApiError::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} \"{name}\": Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    crate::shared::status::qualified(&info.plural, &info.group),
                    cur.uid
                ),
                None,
            ));
        }
        if let Some(rv) = &opts.resource_version
            && *rv != cur.rv.to_string()
        {
            return Err(ApiError::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} \"{name}\": Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                    crate::shared::status::qualified(&info.plural, &info.group),
                    cur.rv
                ),
                None,
            ));
        }
        let mut next = cur_val.clone();
        let terminating = next["metadata"].get("deletionTimestamp").is_some();
        // Foreground and orphan deletion hand the object to the garbage collector through
        // a finalizer; an `orphan` finalizer already there makes orphaning the default.
        let has_orphan = gc::has_finalizer(&next, gc::ORPHAN);
        let policy = opts.propagation.unwrap_or(if has_orphan {
            Propagation::Orphan
        } else {
            Propagation::Background
        });
        let gc_finalizer = match policy {
            Propagation::Foreground => Some(gc::FOREGROUND),
            Propagation::Orphan => Some(gc::ORPHAN),
            Propagation::Background => None,
        };
        let mut added = false;
        if let Some(f) = gc_finalizer
            && !gc::has_finalizer(&next, f)
        {
            let list = next["metadata"]["finalizers"].as_array().cloned().unwrap_or_default();
            let mut list: Vec<Value> = list;
            list.push(json!(f));
            next["metadata"]["finalizers"] = json!(list);
            added = true;
        }
        let has_finalizers = next["metadata"]["finalizers"].as_array().is_some_and(|f| !f.is_empty());
        if has_finalizers && terminating && !added {
            return Ok(Update::Unchanged);
        }
        let is_pod = info.group.is_empty() && info.plural == "pods";
        let graceful = has_finalizers || is_pod;
        if graceful && !terminating {
            // Without a kubelet nothing waits out a grace period: an unscheduled pod goes at
            // once (grace 0, as kube-apiserver forces), a scheduled one reports its grace.
            let grace = if is_pod && next["spec"]["nodeName"].as_str().is_some_and(|n| !n.is_empty()) {
                opts.grace_period
                    .or_else(|| next["spec"]["terminationGracePeriodSeconds"].as_i64())
                    .unwrap_or(30)
                    .max(0)
            } else {
                0
            };
            next["metadata"]["deletionTimestamp"] = json!(meta::now_rfc3339());
            next["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
            if let Some(g) = next["metadata"]["generation"].as_i64() {
                next["metadata"]["generation"] = json!(g + 1);
            }
        }
        if info.group.is_empty() && info.plural == "namespaces" {
            if !next["status"].is_object() {
                next["status"] = json!({});
            }
            next["status"]["phase"] = json!("Terminating");
        }
        let next = normalize(next);
        if opts.dry_run {
            preview = Some(next);
            return Ok(Update::Unchanged);
        }
        Ok(if has_finalizers { Update::Write(next) } else { Update::Remove(next) })
    })?;
    Ok(match preview {
        Some(v) => (Arc::new(Obj::from_value(&v, obj.rv)), EventType::Deleted),
        None => (obj, kind),
    })
}

/// Namespace deletion removes everything in the namespace (the namespace
/// controller's job in a real cluster), ignoring finalizers.
fn delete_namespace_contents(state: &State, namespace: &str) {
    for (col, keys) in state.store.collections_with_namespace(namespace) {
        for k in keys {
            let _ = state.store.update(
                &col,
                &k,
                || ApiError::internal("gone"),
                |_, v| Ok(Update::Remove(v)),
            );
        }
    }
}

fn delete_collection(
    state: &State,
    req: &Req,
    info: &ResourceInfo,
    namespace: Option<&str>,
) -> Result<Response<ResBody>, ApiError> {
    let opts = delete_opts(req)?;
    let (labels, fields) = selectors(req, info)?;
    let (_, items) = state
        .store
        .list(&info.storage_key(), namespace, None)
        .map_err(expired_rv)?;
    let mut deleted = Vec::new();
    for item in items
        .iter()
        .filter(|o| matches_selectors(o, &labels, &fields, info))
    {
        match delete_one(state, info, Some(&item.namespace), &item.name, &opts) {
            Ok((obj, kind)) => {
                if !opts.dry_run {
                    after_write(state, info, &obj, kind);
                }
                deleted.push(obj)
            }
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    let rv = state.store.current_rv();
    Ok(list_response(info, rv, None, None, deleted))
}

fn expired_rv(oldest: u64) -> ApiError {
    ApiError::expired(format!(
        "too old resource version (oldest available: {oldest})"
    ))
}

/// Parse `labelSelector` and `fieldSelector`.
pub(crate) fn selectors(
    req: &Req,
    info: &ResourceInfo,
) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let labels = LabelSelector::parse(req.param("labelSelector").unwrap_or_default())
        .map_err(ApiError::bad_request)?;
    let fields = FieldSelector::parse(req.param("fieldSelector").unwrap_or_default())
        .map_err(ApiError::bad_request)?;
    fields
        .validate(&info.group, &info.plural)
        .map_err(ApiError::bad_request)?;
    Ok((labels, fields))
}

/// Does a stored object pass both selectors?
pub(crate) fn matches_selectors(
    obj: &Obj,
    labels: &LabelSelector,
    fields: &FieldSelector,
    info: &ResourceInfo,
) -> bool {
    (labels.is_empty() || labels.matches(obj.labels.as_ref()))
        && (fields.is_empty() || fields.matches(&info.group, &info.plural, &obj.value()))
}

/// The continue token: which snapshot, and the last key returned.
#[derive(serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    v: String,
    rv: u64,
    start: String,
}

fn encode_continue(rv: u64, last: &ObjKey) -> String {
    use base64::Engine as _;
    let token = ContinueToken {
        v: "meta.k8s.io/v1".into(),
        rv,
        start: format!("{}/{}\u{0}", last.0, last.1),
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&token).unwrap_or_default())
}

fn decode_continue(s: &str) -> Result<(u64, ObjKey), ApiError> {
    use base64::Engine as _;
    let bad = |why: &str| ApiError::bad_request(format!("continue key is not valid: {why}"));
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| bad("not base64"))?;
    let token: ContinueToken =
        serde_json::from_slice(&raw).map_err(|_| bad("not a continue token"))?;
    if token.v != "meta.k8s.io/v1" {
        return Err(bad(
            "incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        ));
    }
    let start = token
        .start
        .strip_suffix('\u{0}')
        .ok_or_else(|| bad("malformed start key"))?;
    let (ns, name) = start
        .split_once('/')
        .ok_or_else(|| bad("malformed start key"))?;
    Ok((token.rv, (ns.to_owned(), name.to_owned())))
}

fn parse_rv(s: &str) -> Result<u64, ApiError> {
    s.parse()
        .map_err(|_| ApiError::bad_request(format!("invalid resource version: {s:?}")))
}

fn list(
    state: &State,
    req: &Req,
    info: &ResourceInfo,
    namespace: Option<&str>,
) -> Result<Response<ResBody>, ApiError> {
    let (labels, fields) = selectors(req, info)?;
    let output = table::negotiate(&req.accept, true)?;
    // includeObject belongs to TableOptions: only a Table request reads it.
    let include = match output {
        table::Output::Table(_) => table::Include::parse(req.param("includeObject"))?,
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
            (Some(rv), Some(start))
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
    let (rv, items) = state.store.list(&info.storage_key(), namespace, at).map_err(|_| {
        if after.is_some() {
            ApiError::expired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.")
        } else {
            ApiError::expired(format!("too old resource version: {} ({})", at.unwrap_or_default(), state.store.current_rv()))
        }
    })?;
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
        table::Output::Object => return Ok(list_response(info, rv, cont, remaining, page)),
        table::Output::Table(v) => (true, v),
        table::Output::Metadata(v) => (false, v),
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

fn list_response(
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

// ---- responses ----

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

fn text(code: StatusCode, body: &'static str) -> Response<ResBody> {
    let mut res = Response::new(full(Bytes::from_static(body.as_bytes())));
    *res.status_mut() = code;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

/// What kube-apiserver answers for a path it does not route at all.
pub(crate) fn page_not_found() -> Response<ResBody> {
    text(StatusCode::NOT_FOUND, "404 page not found\n")
}
