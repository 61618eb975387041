//! The in-memory object store: collections, one global resourceVersion, and a
//! bounded history of events that serves watches and consistent list snapshots.
//!
//! Objects are kept serialized (without `kind`/`apiVersion`, which depend on the
//! version a request names), so GET, LIST and watch write stored bytes instead
//! of re-encoding. Every write bumps the resourceVersion by exactly one and
//! appends exactly one event, so the event for resourceVersion `rv` sits at a
//! known offset in the history. An event holds the very objects the collections
//! hold (`Arc`s), so history costs one body per write, not a copy.
//!
//! The history is compacted the way etcd and kube-apiserver's watch cache bound
//! theirs ([`HistoryLimits`]): it keeps at most a number of events, of body bytes, and
//! events younger than an age. Compaction drops the oldest events and raises the
//! floor: a watch or a list snapshot from a resourceVersion below it is 410 Expired.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Map, Value};
use tokio::sync::watch;

/// `(namespace, name)`; the namespace is empty for cluster-scoped objects.
pub(crate) type ObjKey = (String, String);

/// One stored object.
#[derive(Debug)]
pub(crate) struct Obj {
    /// The object as JSON, without `kind` and `apiVersion`; starts with `{`.
    pub body: Bytes,
    /// `metadata.namespace` ("" for cluster-scoped).
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.uid`.
    pub uid: String,
    /// `metadata.resourceVersion`.
    pub rv: u64,
    /// `metadata.labels`, kept parsed for selector matching.
    pub labels: Option<Map<String, Value>>,
}

impl Obj {
    /// Serialize a value (whose `kind`/`apiVersion` were removed) into a stored object.
    pub(crate) fn from_value(value: &Value, rv: u64) -> Obj {
        let meta = &value["metadata"];
        let s = |k: &str| meta[k].as_str().unwrap_or_default().to_owned();
        // A boxed slice, not the Vec: `Bytes::from(Vec)` keeps the spare capacity
        // serialization left (up to half the allocation), for as long as history holds it.
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
        Obj {
            body: Bytes::from(body.into_boxed_slice()),
            namespace: s("namespace"),
            name: s("name"),
            uid: s("uid"),
            rv,
            labels: meta["labels"].as_object().cloned(),
        }
    }

    /// The stored JSON parsed back into a value (for updates, patches and field selectors).
    pub(crate) fn value(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The object's key.
    pub(crate) fn key(&self) -> ObjKey {
        (self.namespace.clone(), self.name.clone())
    }
}

/// Watch event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventType {
    /// Created.
    Added,
    /// Changed.
    Modified,
    /// Removed.
    Deleted,
}

/// One write, as watchers see it.
#[derive(Debug)]
pub(crate) struct Event {
    /// The resourceVersion this write produced.
    pub rv: u64,
    /// What happened.
    pub kind: EventType,
    /// Storage key of the collection (`group/plural`).
    pub collection: Arc<str>,
    /// The object after the write (for a delete: its last state, at `rv`).
    pub obj: Arc<Obj>,
    /// The object before the write, if it existed.
    pub prev: Option<Arc<Obj>>,
    /// When the write happened (for [`HistoryLimits::age`]).
    pub at: Instant,
}

impl Event {
    /// What keeping this event costs, roughly: its object's body plus the structures
    /// around it (the event, the object's parsed name, namespace, uid and labels).
    fn cost(&self) -> usize {
        self.obj.body.len() + EVENT_OVERHEAD
    }
}

/// Bytes an event costs beyond its object's body: the event, the object's parsed
/// fields and labels, and the allocator's share. Measured as peak RSS per kept event
/// of a labelled 1.5 KB ConfigMap, less its body: about 1.7 KB.
const EVENT_OVERHEAD: usize = 1024;

/// How much history the store keeps; the oldest events go first when any limit is
/// passed (see `TestServerBuilder::watch_history`, `history_bytes` and `history_age`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HistoryLimits {
    /// At most this many events (at least one is kept).
    pub events: usize,
    /// At most about this many bytes of events ([`Event::cost`]).
    pub bytes: usize,
    /// Events older than this are dropped (`None`: no age limit).
    pub age: Option<Duration>,
}

impl HistoryLimits {
    /// The defaults: 10,000 events, 32 MiB, 5 minutes.
    pub(crate) const DEFAULT: HistoryLimits = HistoryLimits {
        events: 10_000,
        bytes: 32 * 1024 * 1024,
        age: Some(Duration::from_secs(5 * 60)),
    };
}

struct Inner {
    rv: u64,
    collections: HashMap<Arc<str>, BTreeMap<ObjKey, Arc<Obj>>>,
    history: VecDeque<Arc<Event>>,
    /// Every event with a resourceVersion above this one is still in `history`.
    history_floor: u64,
    /// The sum of [`Event::cost`] over `history` (reset when `history` is empty).
    history_bytes: usize,
    limits: HistoryLimits,
}

/// The store. Cheap to share behind an `Arc`.
pub(crate) struct Store {
    inner: Mutex<Inner>,
    changed: watch::Sender<u64>,
}

/// The outcome of an update closure.
pub(crate) enum Update {
    /// Write this value (without `kind`/`apiVersion`; `metadata.resourceVersion` is set by the store).
    Write(Value),
    /// Remove the object (finalizers cleared on a terminating object).
    Remove(Value),
    /// Nothing changed: keep the current object and resourceVersion.
    Unchanged,
}

impl Store {
    /// An empty store whose history is bounded by `limits`.
    pub(crate) fn new(limits: HistoryLimits) -> Store {
        let (changed, _) = watch::channel(1);
        Store {
            inner: Mutex::new(Inner {
                rv: 1,
                collections: HashMap::new(),
                history: VecDeque::new(),
                history_floor: 1,
                history_bytes: 0,
                limits: HistoryLimits {
                    events: limits.events.max(1),
                    ..limits
                },
            }),
            changed,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a collection half-written (every
        // write is a single insert), so a poisoned lock is still safe to use.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current resourceVersion.
    pub(crate) fn current_rv(&self) -> u64 {
        self.lock().rv
    }

    /// Drops the history, as a restarted kube-apiserver's watch cache starts empty at the
    /// current resourceVersion: watches and lists from before it are then 410 Expired.
    pub(crate) fn forget_history(&self) {
        let mut inner = self.lock();
        inner.history.clear();
        inner.history_bytes = 0;
        inner.history_floor = inner.rv;
    }

    /// A receiver woken after each write.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Get one object.
    pub(crate) fn get(&self, collection: &str, key: &ObjKey) -> Option<Arc<Obj>> {
        self.lock()
            .collections
            .get(collection)
            .and_then(|c| c.get(key))
            .cloned()
    }

    /// Create an object. `value.metadata.resourceVersion` is set here.
    pub(crate) fn create<E>(
        &self,
        collection: &Arc<str>,
        mut value: Value,
        on_exists: impl FnOnce() -> E,
    ) -> Result<Arc<Obj>, E> {
        let mut inner = self.lock();
        let key = key_of(&value);
        if inner
            .collections
            .get(collection.as_ref())
            .is_some_and(|c| c.contains_key(&key))
        {
            return Err(on_exists());
        }
        let rv = inner.rv + 1;
        set_rv(&mut value, rv);
        let obj = Arc::new(Obj::from_value(&value, rv));
        inner
            .collections
            .entry(Arc::clone(collection))
            .or_default()
            .insert(key, Arc::clone(&obj));
        self.record(
            &mut inner,
            EventType::Added,
            collection,
            Arc::clone(&obj),
            None,
        );
        Ok(obj)
    }

    /// Read-modify-write one object under the store lock.
    ///
    /// `f` gets the current object and decides; the store assigns the resourceVersion.
    /// Returns the object after the write and whether anything was written.
    pub(crate) fn update<E>(
        &self,
        collection: &Arc<str>,
        key: &ObjKey,
        on_missing: impl FnOnce() -> E,
        f: impl FnOnce(&Obj, Value) -> Result<Update, E>,
    ) -> Result<(Arc<Obj>, EventType, bool), E> {
        let mut inner = self.lock();
        let Some(current) = inner
            .collections
            .get(collection.as_ref())
            .and_then(|c| c.get(key))
            .cloned()
        else {
            return Err(on_missing());
        };
        match f(&current, current.value())? {
            Update::Unchanged => Ok((current, EventType::Modified, false)),
            Update::Write(mut value) => {
                let rv = inner.rv + 1;
                set_rv(&mut value, rv);
                let obj = Arc::new(Obj::from_value(&value, rv));
                inner
                    .collections
                    .entry(Arc::clone(collection))
                    .or_default()
                    .insert(key.clone(), Arc::clone(&obj));
                self.record(
                    &mut inner,
                    EventType::Modified,
                    collection,
                    Arc::clone(&obj),
                    Some(current),
                );
                Ok((obj, EventType::Modified, true))
            }
            Update::Remove(mut value) => {
                let rv = inner.rv + 1;
                set_rv(&mut value, rv);
                let obj = Arc::new(Obj::from_value(&value, rv));
                if let Some(c) = inner.collections.get_mut(collection.as_ref()) {
                    c.remove(key);
                }
                self.record(
                    &mut inner,
                    EventType::Deleted,
                    collection,
                    Arc::clone(&obj),
                    Some(current),
                );
                Ok((obj, EventType::Deleted, true))
            }
        }
    }

    /// Every object of a collection (optionally one namespace) as of resourceVersion `at`
    /// (`None`: now), sorted by key. `Err(floor)` when `at` is older than the history
    /// keeps (it was compacted).
    pub(crate) fn list(
        &self,
        collection: &str,
        namespace: Option<&str>,
        at: Option<u64>,
    ) -> Result<(u64, Vec<Arc<Obj>>), u64> {
        let mut inner = self.lock();
        if at.is_some() {
            compact(&mut inner, Instant::now());
        }
        let in_ns = |k: &ObjKey| namespace.is_none_or(|ns| k.0 == ns);
        let current = inner.collections.get(collection);
        let at = match at {
            Some(at) if at < inner.rv => at,
            _ => {
                let items = current
                    .into_iter()
                    .flat_map(|c| c.iter())
                    .filter(|(k, _)| in_ns(k))
                    .map(|(_, v)| Arc::clone(v))
                    .collect();
                return Ok((inner.rv, items));
            }
        };
        if at < inner.history_floor {
            return Err(inner.history_floor);
        }
        // Undo the writes after `at`: the first event after `at` for a key holds the
        // key's state at `at` in `prev`.
        let mut overlay: BTreeMap<ObjKey, Option<Arc<Obj>>> = BTreeMap::new();
        let start = (at - inner.history_floor) as usize;
        for ev in inner.history.iter().skip(start) {
            if ev.collection.as_ref() != collection {
                continue;
            }
            let key = ev.obj.key();
            if in_ns(&key) {
                overlay.entry(key).or_insert_with(|| ev.prev.clone());
            }
        }
        let mut snapshot: BTreeMap<ObjKey, Arc<Obj>> = current
            .into_iter()
            .flat_map(|c| c.iter())
            .filter(|(k, _)| in_ns(k))
            .map(|(k, v)| (k.clone(), Arc::clone(v)))
            .collect();
        for (key, state) in overlay {
            match state {
                Some(obj) => snapshot.insert(key, obj),
                None => snapshot.remove(&key),
            };
        }
        Ok((at, snapshot.into_values().collect()))
    }

    /// Events after resourceVersion `after`, at most `max`. `Err(floor)` when `after`
    /// is older than the history keeps: a watch can start at `floor` or later.
    pub(crate) fn events_since(&self, after: u64, max: usize) -> Result<Vec<Arc<Event>>, u64> {
        let mut inner = self.lock();
        compact(&mut inner, Instant::now());
        if after < inner.history_floor {
            return Err(inner.history_floor);
        }
        let start = (after - inner.history_floor) as usize;
        Ok(inner
            .history
            .iter()
            .skip(start)
            .take(max)
            .cloned()
            .collect())
    }

    /// Names of all collections that hold objects in a namespace.
    pub(crate) fn collections_with_namespace(
        &self,
        namespace: &str,
    ) -> Vec<(Arc<str>, Vec<ObjKey>)> {
        let inner = self.lock();
        inner
            .collections
            .iter()
            .map(|(name, c)| {
                let keys: Vec<ObjKey> = c.keys().filter(|k| k.0 == namespace).cloned().collect();
                (Arc::clone(name), keys)
            })
            .filter(|(_, keys)| !keys.is_empty())
            .collect()
    }

    /// Remove every object of a collection, one DELETED event each.
    pub(crate) fn drop_collection(&self, collection: &str) {
        let mut inner = self.lock();
        let Some((name, objects)) = inner.collections.remove_entry(collection) else {
            return;
        };
        for (_, obj) in objects {
            let rv = inner.rv + 1;
            let mut value = obj.value();
            set_rv(&mut value, rv);
            let gone = Arc::new(Obj::from_value(&value, rv));
            self.record(&mut inner, EventType::Deleted, &name, gone, Some(obj));
        }
    }

    /// Every object whose serialized form contains `needle` (a cheap pre-filter for
    /// searches by UID), with its collection.
    pub(crate) fn containing(&self, needle: &str) -> Vec<(Arc<str>, Arc<Obj>)> {
        let inner = self.lock();
        let needle = needle.as_bytes();
        let mut out = Vec::new();
        for (name, c) in &inner.collections {
            for obj in c.values() {
                if needle.is_empty() || obj.body.windows(needle.len()).any(|w| w == needle) {
                    out.push((Arc::clone(name), Arc::clone(obj)));
                }
            }
        }
        out
    }

    fn record(
        &self,
        inner: &mut Inner,
        kind: EventType,
        collection: &Arc<str>,
        obj: Arc<Obj>,
        prev: Option<Arc<Obj>>,
    ) {
        inner.rv += 1;
        let rv = inner.rv;
        let now = Instant::now();
        let event = Event {
            rv,
            kind,
            collection: Arc::clone(collection),
            obj,
            prev,
            at: now,
        };
        if inner.history.is_empty() {
            inner.history_bytes = 0;
        }
        inner.history_bytes += event.cost();
        inner.history.push_back(Arc::new(event));
        compact(inner, now);
        self.changed.send_replace(rv);
    }
}

/// Drop the oldest events while the history passes a limit, raising the floor to the
/// last one dropped. The newest event stays unless it is older than the age limit.
fn compact(inner: &mut Inner, now: Instant) {
    let limits = inner.limits;
    let too_old = |ev: &Event| {
        limits
            .age
            .is_some_and(|age| now.saturating_duration_since(ev.at) > age)
    };
    while let Some(oldest) = inner.history.front() {
        let over = inner.history.len() > limits.events
            || (inner.history_bytes > limits.bytes && inner.history.len() > 1);
        if !over && !too_old(oldest) {
            break;
        }
        inner.history_bytes = inner.history_bytes.saturating_sub(oldest.cost());
        inner.history_floor = oldest.rv;
        inner.history.pop_front();
    }
    if inner.history.is_empty() {
        inner.history_bytes = 0;
    }
}

fn key_of(value: &Value) -> ObjKey {
    let meta = &value["metadata"];
    (
        meta["namespace"].as_str().unwrap_or_default().to_owned(),
        meta["name"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Set `metadata.resourceVersion`; a new one goes where Go's ObjectMeta has it (after
/// `uid`, before `generation` and the rest), as kube-apiserver writes it.
fn set_rv(value: &mut Value, rv: u64) {
    const AFTER: &[&str] = &[
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
    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        let rv = Value::String(rv.to_string());
        if let Some(slot) = meta.get_mut("resourceVersion") {
            *slot = rv;
            return;
        }
        let at = meta
            .keys()
            .position(|k| AFTER.contains(&k.as_str()))
            .unwrap_or(meta.len());
        meta.shift_insert(at, "resourceVersion".into(), rv);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cm(name: &str, v: &str) -> Value {
        json!({"metadata": {"name": name, "namespace": "ns"}, "data": {"v": v}})
    }

    fn events(n: usize) -> HistoryLimits {
        HistoryLimits {
            events: n,
            ..HistoryLimits::DEFAULT
        }
    }

    #[test]
    fn snapshots_undo_later_writes() {
        let store = Store::new(events(100));
        let col: Arc<str> = Arc::from("/configmaps");
        store.create(&col, cm("a", "1"), || "exists").unwrap();
        let (at, items) = store.list("/configmaps", None, None).unwrap();
        assert_eq!(items.len(), 1);
        store.create(&col, cm("b", "1"), || "exists").unwrap();
        let key = ("ns".to_owned(), "a".to_owned());
        store
            .update(
                &col,
                &key,
                || "missing",
                |_, _| Ok::<_, &str>(Update::Write(cm("a", "2"))),
            )
            .unwrap();
        let (_, old) = store.list("/configmaps", Some("ns"), Some(at)).unwrap();
        assert_eq!(old.len(), 1);
        assert_eq!(old[0].value()["data"]["v"], "1");
        let (now, new) = store.list("/configmaps", Some("ns"), None).unwrap();
        assert_eq!(new.len(), 2);
        assert_eq!(now, store.current_rv());
    }

    #[test]
    fn a_new_resource_version_goes_where_go_writes_it() {
        let mut v = json!({"metadata": {"name": "a", "uid": "u", "creationTimestamp": "t", "managedFields": []}});
        set_rv(&mut v, 7);
        let keys: Vec<&String> = v["metadata"].as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "name",
                "uid",
                "resourceVersion",
                "creationTimestamp",
                "managedFields"
            ]
        );
        set_rv(&mut v, 8);
        assert_eq!(v["metadata"]["resourceVersion"], "8");
    }

    #[test]
    fn history_is_bounded() {
        let store = Store::new(events(2));
        let col: Arc<str> = Arc::from("/configmaps");
        for i in 0..5 {
            store
                .create(&col, cm(&format!("c{i}"), "1"), || "exists")
                .unwrap();
        }
        let rv = store.current_rv();
        assert_eq!(store.events_since(rv - 2, 10).unwrap().len(), 2);
        assert_eq!(store.events_since(1, 10).unwrap_err(), rv - 2);
        assert_eq!(
            store.list("/configmaps", None, Some(2)).unwrap_err(),
            rv - 2
        );
    }

    #[test]
    fn history_is_bounded_in_bytes() {
        let one = Arc::new(Obj::from_value(&cm("a", &"x".repeat(1000)), 2));
        let cost = one.body.len() + EVENT_OVERHEAD;
        // Room for three such events, not four.
        let store = Store::new(HistoryLimits {
            bytes: cost * 3 + cost / 2,
            ..HistoryLimits::DEFAULT
        });
        let col: Arc<str> = Arc::from("/configmaps");
        for i in 0..10 {
            let name = format!("c{i}");
            store
                .create(&col, cm(&name, &"x".repeat(1000)), || "exists")
                .unwrap();
        }
        let rv = store.current_rv();
        assert_eq!(store.events_since(rv - 3, 10).unwrap().len(), 3);
        assert_eq!(store.events_since(rv - 4, 10).unwrap_err(), rv - 3);
        // The newest event stays even when it alone passes the limit.
        let tiny = Store::new(HistoryLimits {
            bytes: 1,
            ..HistoryLimits::DEFAULT
        });
        tiny.create(&col, cm("a", "1"), || "exists").unwrap();
        let rv = tiny.current_rv();
        assert_eq!(tiny.events_since(rv - 1, 10).unwrap().len(), 1);
    }

    #[test]
    fn history_forgets_old_events() {
        let store = Store::new(HistoryLimits {
            age: Some(Duration::from_millis(30)),
            ..HistoryLimits::DEFAULT
        });
        let col: Arc<str> = Arc::from("/configmaps");
        store.create(&col, cm("a", "1"), || "exists").unwrap();
        let first = store.current_rv();
        assert_eq!(store.events_since(first - 1, 10).unwrap().len(), 1);
        std::thread::sleep(Duration::from_millis(60));
        store.create(&col, cm("b", "1"), || "exists").unwrap();
        // The first write aged out; a watch from just before it is too old, one from
        // it still sees the second write.
        assert_eq!(store.events_since(first - 1, 10).unwrap_err(), first);
        assert_eq!(store.events_since(first, 10).unwrap().len(), 1);
        assert!(store.list("/configmaps", None, Some(first - 1)).is_err());
        // Once every event aged out, a watch from the current resourceVersion still works.
        std::thread::sleep(Duration::from_millis(60));
        let now = store.current_rv();
        assert!(store.events_since(now, 10).unwrap().is_empty());
        assert!(store.events_since(now - 1, 10).is_err());
    }
}
