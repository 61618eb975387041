//! Watch: a chunked stream of `{"type":..,"object":..}` lines, as kube-apiserver writes it.
//!
//! A watch from resourceVersion `X` replays the history after `X` (an ERROR event
//! with 410 Expired when `X` is older than the history), then follows new writes.
//! Without a resourceVersion, or with `sendInitialEvents=true`, it first sends the
//! current objects as ADDED events. A watch ends at its `timeoutSeconds`, when its
//! client goes, or when a test ends or cuts every open watch (`shared::watches`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response, header};
use http_body_util::BodyExt as _;
use serde_json::json;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::handlers::input::{matches_selectors, selectors};
use crate::logic::selector::{FieldSelector, LabelSelector};
use crate::logic::table;
use crate::shared::body::{ChannelBody, ResBody};
use crate::shared::media::{self, Output};
use crate::shared::request::Req;
use crate::shared::response::render;
use crate::shared::state::State;
use crate::shared::status::ApiError;
use crate::shared::watches::OpenWatch;
use crate::storage::registry::ResourceInfo;
use crate::storage::store::{Event, EventType, Obj};

struct Watcher {
    state: Arc<State>,
    info: Arc<ResourceInfo>,
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
    tx: mpsc::Sender<Bytes>,
    /// Events as `Table`s (`Accept: ...;as=Table`); only the first carries the columns.
    table: Option<(String, table::Include)>,
    headers_sent: AtomicBool,
    /// Counts this watch as open while it runs.
    _open: OpenWatch,
}

/// Start a watch and return its streaming response.
pub(crate) fn serve(
    state: &Arc<State>,
    req: &Req,
    info: &Arc<ResourceInfo>,
    namespace: Option<&str>,
) -> Result<Response<ResBody>, ApiError> {
    let (labels, fields) = selectors(req, info)?;
    let table = match media::negotiate(&req.accept, true)? {
        Output::Table(v) => Some((v, table::Include::parse(req.param("includeObject"))?)),
        _ => None,
    };
    let bookmarks = matches!(req.param("allowWatchBookmarks"), Some("true" | "1"));
    let send_initial = match req.param("sendInitialEvents") {
        Some("true" | "1") => true,
        Some("false" | "0") | None => false,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "invalid sendInitialEvents: {other:?}"
            )));
        }
    };
    let rv = req.param("resourceVersion").filter(|s| !s.is_empty());
    let rv_match = req.param("resourceVersionMatch").filter(|s| !s.is_empty());
    if send_initial && rv_match != Some("NotOlderThan") {
        return Err(ApiError::new(
            422,
            "Invalid",
            "ListOptions.meta.k8s.io \"\" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless resourceVersionMatch is set to NotOlderThan",
            None,
        ));
    }
    if send_initial && !bookmarks {
        return Err(ApiError::new(
            422,
            "Invalid",
            "ListOptions.meta.k8s.io \"\" is invalid: allowWatchBookmarks: Forbidden: allowWatchBookmarks is required when sendInitialEvents is set",
            None,
        ));
    }
    if !send_initial && rv_match.is_some() {
        return Err(ApiError::new(
            422,
            "Invalid",
            "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
            None,
        ));
    }
    let timeout = match req.param("timeoutSeconds") {
        None | Some("") => None,
        Some(t) => match t.parse::<u64>() {
            Ok(s) => Some(Duration::from_secs(s)),
            Err(_) => {
                return Err(ApiError::bad_request(format!(
                    "invalid timeoutSeconds: {t:?}"
                )));
            }
        },
    };
    // Where the stream starts, and which objects it first reports as ADDED.
    let (cursor, initial) = match rv {
        Some(rv) if !send_initial && rv != "0" => {
            let rv = rv
                .parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv:?}")))?;
            (rv, Vec::new())
        }
        _ => {
            let (rv, items) = state
                .store
                .list(&info.storage_key(), namespace, None)
                .unwrap_or_default();
            let items = items
                .into_iter()
                .filter(|o| matches_selectors(o, &labels, &fields, info))
                .collect();
            (rv, items)
        }
    };
    let (tx, body) = ChannelBody::new(64);
    // Both signals are taken now, so a watch answered before a cut or an end is counted.
    let body = body.cut_when(state.watches.on_cut());
    let end = Box::pin(state.watches.on_end());
    let watcher = Watcher {
        state: Arc::clone(state),
        info: Arc::clone(info),
        namespace: namespace.map(str::to_owned),
        labels,
        fields,
        tx,
        table,
        headers_sent: AtomicBool::new(false),
        _open: state.watches.open(),
    };
    let deadline = timeout.map(|t| Instant::now() + t);
    tokio::spawn(watcher.run(cursor, initial, send_initial, bookmarks, deadline, end));
    let mut res = Response::new(body.boxed_unsync());
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    Ok(res)
}

impl Watcher {
    async fn run(
        self,
        mut cursor: u64,
        initial: Vec<Arc<Obj>>,
        initial_end: bool,
        bookmarks: bool,
        deadline: Option<Instant>,
        mut end: Pin<Box<dyn Future<Output = ()> + Send>>,
    ) {
        let mut changed = self.state.store.subscribe();
        if !self.wait_for(cursor, &mut changed).await {
            return;
        }
        for obj in &initial {
            if !self.send("ADDED", self.encode(obj)).await {
                return;
            }
        }
        if initial_end && !self.send_bookmark(cursor, true).await {
            return;
        }
        let mut tick = tokio::time::interval(self.state.bookmark_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.reset();
        let far = Instant::now() + Duration::from_secs(86_400 * 365);
        let deadline = deadline.unwrap_or(far);
        loop {
            changed.borrow_and_update();
            loop {
                match self.state.store.events_since(cursor, 512) {
                    Err(oldest) => {
                        let status = ApiError::expired(format!(
                            "too old resource version: {cursor} ({oldest})"
                        ));
                        self.send("ERROR", Bytes::from(status.body.to_string()))
                            .await;
                        return;
                    }
                    Ok(events) if events.is_empty() => break,
                    Ok(events) => {
                        for ev in events {
                            cursor = ev.rv;
                            if let Some((kind, obj)) = self.translate(&ev)
                                && !self.send(kind, self.encode(&obj)).await
                            {
                                return;
                            }
                        }
                    }
                }
            }
            // A custom resource whose CRD was deleted is no longer served: the watch ends.
            if self.info.custom.is_some() && !self.still_served() {
                return;
            }
            tokio::select! {
                res = changed.changed() => if res.is_err() { return },
                _ = tick.tick(), if bookmarks => {
                    if !self.send_bookmark(cursor, false).await { return }
                }
                _ = tokio::time::sleep_until(deadline) => return,
                _ = &mut end => return,
                _ = self.tx.closed() => return,
            }
        }
    }

    /// A watch from a resourceVersion the server has not reached waits for it, as the
    /// watch cache does, for 3 s; then it ends with an ERROR event `504 Timeout` (`Too
    /// large resource version`). False when the watch is over.
    async fn wait_for(&self, rv: u64, changed: &mut tokio::sync::watch::Receiver<u64>) -> bool {
        let give_up = Instant::now() + Duration::from_secs(3);
        loop {
            changed.borrow_and_update();
            let current = self.state.store.current_rv();
            if current >= rv {
                return true;
            }
            tokio::select! {
                res = changed.changed() => if res.is_err() { return false },
                _ = self.tx.closed() => return false,
                _ = tokio::time::sleep_until(give_up) => {
                    let status = ApiError::too_large_resource_version(rv, current);
                    self.send("ERROR", Bytes::from(status.body.to_string())).await;
                    return false;
                }
            }
        }
    }

    /// What this watcher reports for a write, if anything: selector transitions
    /// turn a MODIFIED into ADDED or DELETED, as kube-apiserver's cacheWatcher does. An
    /// object that stops matching leaves as it was before the write (the previous
    /// object with the write's resourceVersion), the state the watcher last matched.
    fn translate(&self, ev: &Event) -> Option<(&'static str, Arc<Obj>)> {
        if *ev.collection != *self.info.storage_key() {
            return None;
        }
        if let Some(ns) = &self.namespace
            && ev.obj.namespace != *ns
        {
            return None;
        }
        let now = matches_selectors(&ev.obj, &self.labels, &self.fields, &self.info);
        let before = ev
            .prev
            .as_ref()
            .is_some_and(|p| matches_selectors(p, &self.labels, &self.fields, &self.info));
        match ev.kind {
            EventType::Added if now => Some(("ADDED", Arc::clone(&ev.obj))),
            EventType::Modified => match (before, now) {
                (true, true) => Some(("MODIFIED", Arc::clone(&ev.obj))),
                (false, true) => Some(("ADDED", Arc::clone(&ev.obj))),
                (true, false) => Some(("DELETED", as_it_was(ev))),
                (false, false) => None,
            },
            EventType::Deleted if now || before => Some(("DELETED", Arc::clone(&ev.obj))),
            _ => None,
        }
    }

    fn still_served(&self) -> bool {
        self.state
            .registry
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .resource(&self.info.group, &self.info.version, &self.info.plural)
            .is_some()
    }

    /// An event's object: the object itself, or a one-row `Table`.
    fn encode(&self, obj: &Obj) -> Bytes {
        let Some((version, include)) = &self.table else {
            return render(&obj.body, &self.info);
        };
        let meta = json!({"resourceVersion": obj.rv.to_string()});
        let mut t = table::table(&self.info, meta, &[obj.value()], *include, version);
        if self.headers_sent.swap(true, Ordering::Relaxed) {
            t["columnDefinitions"] = serde_json::Value::Null;
        }
        Bytes::from(t.to_string())
    }

    async fn send_bookmark(&self, rv: u64, initial_end: bool) -> bool {
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let obj = json!({"kind": self.info.kind, "apiVersion": self.info.api_version(), "metadata": meta});
        self.send("BOOKMARK", Bytes::from(obj.to_string())).await
    }

    async fn send(&self, kind: &str, object: Bytes) -> bool {
        let mut line = Vec::with_capacity(object.len() + 32);
        line.extend_from_slice(b"{\"type\":\"");
        line.extend_from_slice(kind.as_bytes());
        line.extend_from_slice(b"\",\"object\":");
        line.extend_from_slice(&object);
        line.extend_from_slice(b"}\n");
        self.tx.send(Bytes::from(line)).await.is_ok()
    }
}

/// The object before a write, with the write's resourceVersion.
fn as_it_was(ev: &Event) -> Arc<Obj> {
    let Some(prev) = &ev.prev else {
        return Arc::clone(&ev.obj);
    };
    let mut value = prev.value();
    if let Some(meta) = value
        .get_mut("metadata")
        .and_then(serde_json::Value::as_object_mut)
    {
        meta.insert("resourceVersion".into(), json!(ev.rv.to_string()));
    }
    Arc::new(Obj::from_value(&value, ev.rv))
}
