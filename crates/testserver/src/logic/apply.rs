//! Server-side apply and managedFields bookkeeping, after structured-merge-diff.
//!
//! A field set is a set of paths; each path element is encoded as in `fieldsV1`:
//! `f:<field>`, `k:{<list-map keys>}`, `v:<value>` (set lists). Sets are computed from
//! objects with the kind's OpenAPI schema (`x-kubernetes-list-type`, list-map keys,
//! `x-kubernetes-map-type: atomic`); custom resources, which have none here, get
//! maps merged granularly and lists atomic.
//!
//! Apply: the configuration's field set becomes the manager's `Apply` entry; the
//! configuration is merged into the live object; fields the manager applied before and
//! no longer applies (and no one else owns) are removed; a field another manager owns
//! with a different value is a 409 conflict unless `force=true` takes it over.
//! Other writes record an `Update` entry for the fields they changed.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::logic::openapi::{self, KindSchema};
use crate::logic::patch;
use crate::shared::meta;
use crate::shared::status::ApiError;

/// A path of encoded elements.
pub(crate) type Path = Vec<String>;
/// A set of paths.
pub(crate) type FieldSet = BTreeSet<Path>;

/// Metadata fields the server owns; never part of a field set.
const SERVER_META: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

/// Which part of an object a write touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// Everything but `status` (the main resource).
    Main,
    /// Only `status` (the status subresource).
    Status,
}

/// The field manager of a request: `fieldManager`, else the User-Agent up to its first `/`.
pub(crate) fn manager_for(field_manager: Option<&str>, user_agent: &str) -> Option<String> {
    let m = match field_manager.filter(|m| !m.is_empty()) {
        Some(m) => m.to_owned(),
        None => user_agent.split('/').next().unwrap_or_default().to_owned(),
    };
    let m: String = m.chars().take(128).collect();
    (!m.is_empty()).then_some(m)
}

// ---------------------------------------------------------------------------
// Field sets from objects
// ---------------------------------------------------------------------------

enum ListKind {
    Map(Vec<String>),
    Set,
    Atomic,
}

struct Walker<'a, 's> {
    schema: Option<&'a KindSchema<'s>>,
    out: FieldSet,
    /// An applied configuration's set: maps and lists are not members themselves
    /// (only their leaves and list items are), as structured-merge-diff's `ToFieldSet`.
    applied: bool,
}

impl<'s> Walker<'_, 's> {
    /// The schema that describes `spath`: a custom resource's metadata is the built-in
    /// ObjectMeta (finalizers a set, ownerReferences keyed by uid), as kube-apiserver
    /// merges it into every CRD schema.
    fn schema_for(&self, spath: &[String]) -> Option<KindSchema<'s>> {
        let schema = *self.schema?;
        if schema.is_custom() && spath.first().is_some_and(|f| f == "metadata") {
            return openapi::kind_schema("", "v1", "ConfigMap");
        }
        Some(schema)
    }

    /// The property schema of the field at `spath` (field names; list items implicit).
    fn prop(&self, spath: &[String]) -> Option<&'s Value> {
        if spath.is_empty() {
            return None;
        }
        let p: Vec<&str> = spath.iter().map(String::as_str).collect();
        self.schema_for(spath)?.field(&p)
    }

    fn resolved(&self, spath: &[String]) -> Option<&'s Value> {
        let p = self.prop(spath)?;
        Some(self.schema_for(spath)?.resolve_node(p))
    }

    fn list_kind(&self, spath: &[String]) -> ListKind {
        let Some(p) = self.prop(spath) else {
            return ListKind::Atomic;
        };
        match p["x-kubernetes-list-type"].as_str() {
            Some("map") => {
                let keys = p["x-kubernetes-list-map-keys"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|k| k.as_str().map(str::to_owned))
                    .collect();
                ListKind::Map(keys)
            }
            Some("set") => ListKind::Set,
            Some(_) => ListKind::Atomic,
            None => {
                let merge = p["x-kubernetes-patch-strategy"]
                    .as_str()
                    .is_some_and(|s| s.split(',').any(|x| x == "merge"));
                match p["x-kubernetes-patch-merge-key"].as_str() {
                    Some(k) if merge => ListKind::Map(vec![k.to_owned()]),
                    None if merge => ListKind::Set,
                    _ => ListKind::Atomic,
                }
            }
        }
    }

    fn atomic_map(&self, spath: &[String]) -> bool {
        let (Some(p), Some(r)) = (self.prop(spath), self.resolved(spath)) else {
            return false;
        };
        p["x-kubernetes-map-type"] == "atomic"
            || r["x-kubernetes-map-type"] == "atomic"
            || (r["type"] == "object"
                && r["x-kubernetes-preserve-unknown-fields"] != true
                && r.get("properties").is_none()
                && r.get("additionalProperties").is_none()
                && r.get("allOf").is_none())
    }

    /// Whether a map or list node is itself a member of the set, as observed on
    /// kube-apiserver: not for non-pointer structs (`default: {}` in the schema) nor for
    /// required fields; yes for optional maps, lists and pointer structs.
    fn member_node(&self, spath: &[String]) -> bool {
        let Some((last, parent)) = spath.split_last() else {
            return false;
        };
        if self.applied {
            return false;
        }
        if spath.len() == 1 && spath[0] == "metadata" {
            return false;
        }
        let Some(schema) = self.schema_for(spath) else {
            return true;
        };
        let required = if parent.is_empty() {
            Some(schema.root())
        } else {
            self.resolved(parent)
        }
        .map(|r| {
            let mut r = r;
            while r["type"] == "array" {
                r = schema.resolve_node(&r["items"]);
            }
            r["required"]
                .as_array()
                .is_some_and(|req| req.iter().any(|f| f == last.as_str()))
        })
        .unwrap_or(false);
        if required {
            return false;
        }
        match self.prop(spath) {
            Some(p) => p.get("default").is_none_or(|d| !d.is_object()),
            None => true,
        }
    }

    fn walk(&mut self, v: &Value, path: &mut Path, spath: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if m.is_empty() || self.atomic_map(spath) {
                    self.out.insert(path.clone());
                    return;
                }
                if self.member_node(spath) {
                    self.out.insert(path.clone());
                }
                for (k, child) in m {
                    path.push(format!("f:{k}"));
                    spath.push(k.clone());
                    self.walk(child, path, spath);
                    spath.pop();
                    path.pop();
                }
            }
            Value::Array(items) => {
                let kind = self.list_kind(spath);
                if items.is_empty() || matches!(kind, ListKind::Atomic) {
                    self.out.insert(path.clone());
                    return;
                }
                if self.member_node(spath) {
                    self.out.insert(path.clone());
                }
                for item in items {
                    match &kind {
                        ListKind::Set => {
                            path.push(format!("v:{item}"));
                            self.out.insert(path.clone());
                            path.pop();
                        }
                        ListKind::Map(keys) => {
                            path.push(key_element(item, keys));
                            self.out.insert(path.clone());
                            let atomic_item = self
                                .resolved(spath)
                                .and_then(|r| {
                                    let items = self.schema_for(spath)?.resolve_node(&r["items"]);
                                    Some(items["x-kubernetes-map-type"] == "atomic")
                                })
                                .unwrap_or(false);
                            if let (Some(m), false) = (item.as_object(), atomic_item) {
                                for (k, child) in m {
                                    path.push(format!("f:{k}"));
                                    spath.push(k.clone());
                                    self.walk(child, path, spath);
                                    spath.pop();
                                    path.pop();
                                }
                            }
                            path.pop();
                        }
                        ListKind::Atomic => {}
                    }
                }
            }
            // A null in a written object is a Go nil (`"endpoints": null` of an empty
            // EndpointSlice): no field to own. In an applied configuration it is one.
            Value::Null if !self.applied => {}
            _ => {
                self.out.insert(path.clone());
            }
        }
    }
}

/// `k:{...}` for a list item: its key fields in key order.
fn key_element(item: &Value, keys: &[String]) -> String {
    let mut m = Map::new();
    for k in keys {
        if let Some(v) = item.get(k) {
            m.insert(k.clone(), v.clone());
        }
    }
    format!("k:{}", Value::Object(m))
}

/// The field set of an object (with or without `kind`/`apiVersion`), as writes record it.
pub(crate) fn fieldset(obj: &Value, schema: Option<&KindSchema<'_>>, part: Part) -> FieldSet {
    walk_set(obj, schema, part, false)
}

/// The field set of an applied configuration.
pub(crate) fn applied_set(obj: &Value, schema: Option<&KindSchema<'_>>, part: Part) -> FieldSet {
    walk_set(obj, schema, part, true)
}

fn walk_set(obj: &Value, schema: Option<&KindSchema<'_>>, part: Part, applied: bool) -> FieldSet {
    let mut w = Walker {
        schema,
        out: FieldSet::new(),
        applied,
    };
    let Some(m) = obj.as_object() else {
        return w.out;
    };
    for (k, v) in m {
        let wanted = match part {
            Part::Main => !matches!(k.as_str(), "kind" | "apiVersion" | "status"),
            Part::Status => k == "status",
        };
        if !wanted {
            continue;
        }
        let v = if k == "metadata" {
            let mut meta = v.clone();
            if let Some(mm) = meta.as_object_mut() {
                for f in SERVER_META {
                    mm.remove(*f);
                }
                if mm.is_empty() {
                    continue;
                }
            }
            meta
        } else {
            v.clone()
        };
        let mut path = vec![format!("f:{k}")];
        let mut spath = vec![k.clone()];
        w.walk(&v, &mut path, &mut spath);
    }
    w.out
}

/// A set as `fieldsV1` JSON (keys sorted, `.` for members that have children).
pub(crate) fn encode(set: &FieldSet) -> Value {
    #[derive(Default)]
    struct Node {
        member: bool,
        children: BTreeMap<String, Node>,
    }
    let mut root = Node::default();
    for path in set {
        let mut n = &mut root;
        for e in path {
            n = n.children.entry(e.clone()).or_default();
        }
        n.member = true;
    }
    fn render(n: &Node) -> Value {
        let mut m = Map::new();
        if n.member && !n.children.is_empty() {
            m.insert(".".into(), json!({}));
        }
        for (k, c) in &n.children {
            m.insert(k.clone(), render(c));
        }
        Value::Object(m)
    }
    render(&root)
}

/// `fieldsV1` JSON back to a set.
pub(crate) fn decode(v: &Value) -> FieldSet {
    fn go(v: &Value, path: &mut Path, out: &mut FieldSet) {
        let Some(m) = v.as_object() else {
            return;
        };
        for (k, child) in m {
            if k == "." {
                out.insert(path.clone());
                continue;
            }
            path.push(k.clone());
            if child.as_object().is_some_and(Map::is_empty) {
                out.insert(path.clone());
            } else {
                go(child, path, out);
            }
            path.pop();
        }
    }
    let mut out = FieldSet::new();
    go(v, &mut Vec::new(), &mut out);
    out
}

// ---------------------------------------------------------------------------
// Navigating objects by encoded paths
// ---------------------------------------------------------------------------

fn item_matches(item: &Value, e: &str) -> bool {
    if let Some(k) = e.strip_prefix("k:") {
        let Ok(Value::Object(keys)) = serde_json::from_str::<Value>(k) else {
            return false;
        };
        keys.iter().all(|(k, v)| item.get(k) == Some(v))
    } else if let Some(v) = e.strip_prefix("v:") {
        serde_json::from_str::<Value>(v).is_ok_and(|v| *item == v)
    } else {
        false
    }
}

fn child<'a>(v: &'a Value, e: &str) -> Option<&'a Value> {
    if let Some(f) = e.strip_prefix("f:") {
        v.as_object()?.get(f)
    } else if let Some(i) = e.strip_prefix("i:") {
        v.as_array()?.get(i.parse::<usize>().ok()?)
    } else {
        v.as_array()?.iter().find(|item| item_matches(item, e))
    }
}

/// The value at a path, if present.
pub(crate) fn value_at<'a>(v: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, e| child(v, e))
}

/// Remove the value at a path (a map key, or a list item).
fn remove_at(v: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = v;
    for e in parents {
        let next = if let Some(f) = e.strip_prefix("f:") {
            cur.as_object_mut().and_then(|m| m.get_mut(f))
        } else {
            cur.as_array_mut()
                .and_then(|a| a.iter_mut().find(|item| item_matches(item, e)))
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    if let Some(f) = last.strip_prefix("f:") {
        if let Some(m) = cur.as_object_mut() {
            m.shift_remove(f);
        }
    } else if let Some(a) = cur.as_array_mut() {
        a.retain(|item| !item_matches(item, last));
    }
}

/// A path as Kubernetes prints it in conflicts: `.spec.containers[name="nginx"].image`.
pub(crate) fn path_string(path: &[String]) -> String {
    let mut out = String::new();
    for e in path {
        if let Some(f) = e.strip_prefix("f:") {
            out.push('.');
            out.push_str(f);
        } else if let Some(k) = e.strip_prefix("k:") {
            let keys: Vec<String> = match serde_json::from_str::<Value>(k) {
                Ok(Value::Object(m)) => m.iter().map(|(k, v)| format!("{k}={v}")).collect(),
                _ => vec![k.to_owned()],
            };
            out.push_str(&format!("[{}]", keys.join(",")));
        } else if let Some(v) = e.strip_prefix("v:") {
            out.push_str(&format!("[={v}]"));
        } else if let Some(i) = e.strip_prefix("i:") {
            out.push_str(&format!("[{i}]"));
        }
    }
    out
}

// ---------------------------------------------------------------------------
// managedFields entries
// ---------------------------------------------------------------------------

/// One `managedFields` entry with its set decoded.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    manager: String,
    operation: String,
    api_version: String,
    time: Option<Value>,
    subresource: String,
    set: FieldSet,
}

impl Entry {
    fn same_owner(&self, manager: &str, operation: &str, subresource: &str) -> bool {
        self.manager == manager && self.operation == operation && self.subresource == subresource
    }

    fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("manager".into(), json!(self.manager));
        m.insert("operation".into(), json!(self.operation));
        m.insert("apiVersion".into(), json!(self.api_version));
        if let Some(t) = &self.time {
            m.insert("time".into(), t.clone());
        }
        m.insert("fieldsType".into(), json!("FieldsV1"));
        m.insert("fieldsV1".into(), encode(&self.set));
        if !self.subresource.is_empty() {
            m.insert("subresource".into(), json!(self.subresource));
        }
        Value::Object(m)
    }
}

fn entries(obj: &Value) -> Vec<Entry> {
    obj["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            let manager = s("manager");
            if manager.is_empty() && e["operation"].is_null() {
                return None;
            }
            Some(Entry {
                manager,
                operation: s("operation"),
                api_version: s("apiVersion"),
                time: e.get("time").cloned(),
                subresource: s("subresource"),
                set: decode(&e["fieldsV1"]),
            })
        })
        .collect()
}

/// Write entries back, sorted as kube-apiserver sorts them; empty sets are dropped.
fn store_entries(obj: &mut Value, mut list: Vec<Entry>) {
    list.retain(|e| !e.set.is_empty());
    let secs = |e: &Entry| {
        e.time
            .as_ref()
            .and_then(Value::as_str)
            .and_then(crate::logic::table::parse_rfc3339)
            .unwrap_or(0)
    };
    list.sort_by(|p, q| {
        p.operation
            .cmp(&q.operation)
            .then(secs(p).cmp(&secs(q)))
            .then(p.manager.cmp(&q.manager))
            .then(p.api_version.cmp(&q.api_version))
            .then(p.subresource.cmp(&q.subresource))
    });
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    if list.is_empty() {
        meta.remove("managedFields");
    } else {
        meta.insert(
            "managedFields".into(),
            Value::Array(list.iter().map(Entry::to_value).collect()),
        );
    }
}

fn part_of(subresource: &str) -> Part {
    if subresource == "status" {
        Part::Status
    } else {
        Part::Main
    }
}

/// The `Update` entry of a create: every field of the new object.
pub(crate) fn record_create(
    obj: &mut Value,
    manager: &str,
    api_version: &str,
    schema: Option<&KindSchema<'_>>,
    exclude: &[&[&str]],
) {
    let mut set = fieldset(obj, schema, Part::Main);
    for path in exclude {
        let p: Path = path.iter().map(|f| format!("f:{f}")).collect();
        set.retain(|q| !q.starts_with(&p));
    }
    store_entries(
        obj,
        vec![Entry {
            manager: manager.to_owned(),
            operation: "Update".into(),
            api_version: api_version.to_owned(),
            time: Some(json!(meta::now_rfc3339())),
            subresource: String::new(),
            set,
        }],
    );
}

/// The `Apply` entry of an object created by server-side apply: the configuration's fields.
pub(crate) fn record_apply_create(
    obj: &mut Value,
    config: &Value,
    manager: &str,
    api_version: &str,
    schema: Option<&KindSchema<'_>>,
) {
    let set = applied_set(config, schema, Part::Main);
    store_entries(
        obj,
        vec![Entry {
            manager: manager.to_owned(),
            operation: "Apply".into(),
            api_version: api_version.to_owned(),
            time: Some(json!(meta::now_rfc3339())),
            subresource: String::new(),
            set,
        }],
    );
}

/// Leaf-level differences between two objects' sets: added or changed paths, removed paths.
fn diff(
    old: &Value,
    new: &Value,
    schema: Option<&KindSchema<'_>>,
    part: Part,
) -> (FieldSet, FieldSet) {
    let before = fieldset(old, schema, part);
    let after = fieldset(new, schema, part);
    let changed: FieldSet = after
        .iter()
        .filter(|p| {
            !before.contains(*p) || {
                let a = value_at(old, p);
                let b = value_at(new, p);
                // Members with children compare through their children.
                let leaf = !after
                    .range((*p).clone()..)
                    .nth(1)
                    .is_some_and(|q| q.starts_with(p));
                leaf && a != b
            }
        })
        .cloned()
        .collect();
    let removed: FieldSet = before.difference(&after).cloned().collect();
    (changed, removed)
}

/// Record an `Update` by `manager`: it owns what it changed, others lose it; removed
/// fields leave every set. `new` gets the resulting `managedFields`.
pub(crate) fn record_update(
    old: &Value,
    new: &mut Value,
    manager: &str,
    api_version: &str,
    subresource: &str,
    schema: Option<&KindSchema<'_>>,
) {
    let part = part_of(subresource);
    let (changed, removed) = diff(old, new, schema, part);
    if changed.is_empty() && removed.is_empty() {
        return;
    }
    // managedFields the writer sent (edited directly) are the base, as kube-apiserver
    // uses them; otherwise (none sent, or a subresource) the live object's.
    let sent = entries(new);
    let mut list = if sent.is_empty() || !subresource.is_empty() {
        entries(old)
    } else {
        sent
    };
    for e in &mut list {
        e.set
            .retain(|p| !changed.contains(p) && !removed.contains(p));
    }
    match list
        .iter_mut()
        .find(|e| e.same_owner(manager, "Update", subresource))
    {
        Some(e) => {
            e.set.extend(changed);
            e.api_version = api_version.to_owned();
            e.time = Some(json!(meta::now_rfc3339()));
        }
        None => list.push(Entry {
            manager: manager.to_owned(),
            operation: "Update".into(),
            api_version: api_version.to_owned(),
            time: Some(json!(meta::now_rfc3339())),
            subresource: subresource.to_owned(),
            set: changed,
        }),
    }
    store_entries(new, list);
}

/// What an apply request carries.
pub(crate) struct ApplyRequest<'a> {
    pub manager: &'a str,
    pub api_version: &'a str,
    pub subresource: &'a str,
    pub force: bool,
    pub schema: Option<&'a KindSchema<'a>>,
}

/// Server-side apply of `config` (with kind/apiVersion) to `live` (with kind/apiVersion,
/// or a new object's skeleton). Returns the new object, `managedFields` included.
pub(crate) fn apply(
    live: &Value,
    config: &Value,
    req: &ApplyRequest<'_>,
) -> Result<Value, ApiError> {
    if !config.is_object() {
        return Err(ApiError::bad_request(
            "error decoding YAML: the applied configuration is not an object",
        ));
    }
    let part = part_of(req.subresource);
    let applied = applied_set(config, req.schema, part);
    // Merge the configuration in: lists by their keys for built-in kinds.
    let mut cfg = config.clone();
    if let Some(m) = cfg.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
        m.remove("resourceVersion");
    }
    let mut merged = match req.schema {
        Some(schema) => patch::strategic_merge_patch(live, &cfg, &|path| schema.patch_meta(path))
            .map_err(crate::logic::patch::patch_error)?,
        None => {
            let mut v = live.clone();
            patch::merge_patch(&mut v, &cfg);
            v
        }
    };
    let mut list = entries(live);
    let previous = list
        .iter()
        .find(|e| e.same_owner(req.manager, "Apply", req.subresource))
        .map(|e| e.set.clone())
        .unwrap_or_default();
    // Conflicts: another manager owns a leaf this config sets to a different value.
    let is_leaf = |set: &FieldSet, p: &Path| {
        !set.range(p.clone()..)
            .nth(1)
            .is_some_and(|q| q.starts_with(p))
    };
    let mut conflicts: Vec<(String, Path)> = Vec::new();
    for e in &list {
        if e.same_owner(req.manager, "Apply", req.subresource) {
            continue;
        }
        for p in applied.intersection(&e.set) {
            if is_leaf(&applied, p) && value_at(live, p) != value_at(&merged, p) {
                conflicts.push((conflict_manager(e), p.clone()));
            }
        }
    }
    if !conflicts.is_empty() && !req.force {
        return Err(conflict_error(&conflicts));
    }
    if req.force {
        for e in &mut list {
            if !e.same_owner(req.manager, "Apply", req.subresource) {
                e.set.retain(|p| {
                    !(applied.contains(p) && value_at(live, p) != value_at(&merged, p))
                });
            }
        }
    }
    // Fields this manager applied before and no longer does, that nobody else owns, go.
    let others: FieldSet = list
        .iter()
        .filter(|e| !e.same_owner(req.manager, "Apply", req.subresource))
        .flat_map(|e| e.set.iter().cloned())
        .collect();
    let kept: FieldSet = applied.union(&others).cloned().collect();
    let mut gone: Vec<&Path> = previous
        .difference(&applied)
        .filter(|p| !others.contains(*p))
        .filter(|p| !kept.iter().any(|q| q.len() > p.len() && q.starts_with(p)))
        .collect();
    // A removed list item or map goes whole: its own removed descendants need no visit.
    let whole: Vec<&Path> = gone.clone();
    gone.retain(|p| !whole.iter().any(|q| q.len() < p.len() && p.starts_with(q)));
    for p in gone {
        remove_at(&mut merged, p);
    }
    // The manager's Apply entry: the configuration's set.
    let changed_set = previous != applied;
    let same_object = {
        let strip = |v: &Value| {
            let mut v = v.clone();
            if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
                m.remove("managedFields");
            }
            v
        };
        strip(live) == strip(&merged)
    };
    match list
        .iter_mut()
        .find(|e| e.same_owner(req.manager, "Apply", req.subresource))
    {
        Some(e) => {
            if changed_set || !same_object {
                e.time = Some(json!(meta::now_rfc3339()));
            }
            e.set = applied;
            e.api_version = req.api_version.to_owned();
        }
        None => list.push(Entry {
            manager: req.manager.to_owned(),
            operation: "Apply".into(),
            api_version: req.api_version.to_owned(),
            time: Some(json!(meta::now_rfc3339())),
            subresource: req.subresource.to_owned(),
            set: applied,
        }),
    }
    store_entries(&mut merged, list);
    Ok(merged)
}

fn conflict_manager(e: &Entry) -> String {
    let mut m = format!("{:?}", e.manager);
    if !e.subresource.is_empty() {
        m = format!("{m} with subresource {:?}", e.subresource);
    }
    if e.operation == "Update" {
        m = match e.time.as_ref().and_then(Value::as_str) {
            Some(t) => format!("{m} using {} at {t}", e.api_version),
            None => format!("{m} using {}", e.api_version),
        };
    }
    m
}

/// 409 Conflict worded as kube-apiserver words apply conflicts.
fn conflict_error(conflicts: &[(String, Path)]) -> ApiError {
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(m, p)| {
            json!({"reason": "FieldManagerConflict", "message": format!("conflict with {m}"), "field": path_string(p)})
        })
        .collect();
    let message = if let [(m, p)] = conflicts {
        format!(
            "Apply failed with 1 conflict: conflict with {m}: {}",
            path_string(p)
        )
    } else {
        let mut by: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (m, p) in conflicts {
            by.entry(m.as_str()).or_default().push(path_string(p));
        }
        let mut lines = Vec::new();
        for (m, paths) in by {
            lines.push(format!("conflicts with {m}:"));
            lines.extend(paths.into_iter().map(|p| format!("- {p}")));
        }
        format!(
            "Apply failed with {} conflicts: {}",
            conflicts.len(),
            lines.join("\n")
        )
    };
    ApiError::new(409, "Conflict", message, Some(json!({"causes": causes})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logic::openapi::kind_schema;

    #[test]
    fn a_created_pod_has_the_recorded_field_set() {
        let sample: Value =
            serde_json::from_str(include_str!("../../tests/fixtures/samples/table-pods.json"))
                .unwrap();
        let want = &sample["rows"][0]["object"]["metadata"]["managedFields"][0]["fieldsV1"];
        let schema = kind_schema("", "v1", "Pod").unwrap();
        let mut pod = json!({"metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}});
        crate::logic::defaults::apply("", "Pod", &mut pod, String::new);
        record_create(
            &mut pod,
            "Python-urllib",
            "v1",
            Some(&schema),
            &[
                &["spec", "tolerations"],
                &["spec", "priority"],
                &["spec", "preemptionPolicy"],
            ],
        );
        assert_eq!(&pod["metadata"]["managedFields"][0]["fieldsV1"], want);
    }

    #[test]
    fn sets_round_trip_and_print() {
        let v = json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {".": {}, "f:image": {}}}}});
        let set = decode(&v);
        assert_eq!(encode(&set), v);
        let p: Path = vec![
            "f:spec".into(),
            "f:containers".into(),
            "k:{\"name\":\"c\"}".into(),
            "f:image".into(),
        ];
        assert_eq!(path_string(&p), ".spec.containers[name=\"c\"].image");
    }
}
