//! The in-memory object store: collections, one global resourceVersion, and a
//! bounded history of events that serves watches and consistent list snapshots.
//!
//! Objects are kept serialized (without `kind`/`apiVersion`, which depend on the
//! version a request names), so GET, LIST and watch write stored bytes instead
//! of re-encoding. Every write bumps the resourceVersion by exactly one and
//! appends exactly one event, so the event for resourceVersion `rv` sits at a
//! known offset in the history.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

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
        Obj {
            body: Bytes::from(serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec())),
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
}

struct Inner {
    rv: u64,
    collections: HashMap<Arc<str>, BTreeMap<ObjKey, Arc<Obj>>>,
    history: VecDeque<Arc<Event>>,
    /// Every event with a resourceVersion above this one is still in `history`.
    history_floor: u64,
    history_cap: usize,
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
    /// An empty store whose history keeps `history_cap` events.
    pub(crate) fn new(history_cap: usize) -> Store {
        let (changed, _) = watch::channel(1);
        Store {
            inner: Mutex::new(Inner {
                rv: 1,
                collections: HashMap::new(),
                history: VecDeque::new(),
                history_floor: 1,
                history_cap: history_cap.max(1),
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
    /// (`None`: now), sorted by key. Errors with 410 when `at` is older than the history.
    pub(crate) fn list(
        &self,
        collection: &str,
        namespace: Option<&str>,
        at: Option<u64>,
    ) -> Result<(u64, Vec<Arc<Obj>>), u64> {
        let inner = self.lock();
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
            return Err(inner.history_floor + 1);
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

    /// Events after resourceVersion `after`, at most `max`. `Err(oldest)` when `after`
    /// is older than the history keeps.
    pub(crate) fn events_since(&self, after: u64, max: usize) -> Result<Vec<Arc<Event>>, u64> {
        let inner = self.lock();
        if after < inner.history_floor {
            return Err(inner.history_floor + 1);
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
        inner.history.push_back(Arc::new(Event {
            rv,
            kind,
            collection: Arc::clone(collection),
            obj,
            prev,
        }));
        while inner.history.len() > inner.history_cap {
            if let Some(ev) = inner.history.pop_front() {
                inner.history_floor = ev.rv;
            }
        }
        self.changed.send_replace(rv);
    }
}

fn key_of(value: &Value) -> ObjKey {
    let meta = &value["metadata"];
    (
        meta["namespace"].as_str().unwrap_or_default().to_owned(),
        meta["name"].as_str().unwrap_or_default().to_owned(),
    )
}

fn set_rv(value: &mut Value, rv: u64) {
    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cm(name: &str, v: &str) -> Value {
        json!({"metadata": {"name": name, "namespace": "ns"}, "data": {"v": v}})
    }

    #[test]
    fn snapshots_undo_later_writes() {
        let store = Store::new(100);
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
    fn history_is_bounded() {
        let store = Store::new(2);
        let col: Arc<str> = Arc::from("/configmaps");
        for i in 0..5 {
            store
                .create(&col, cm(&format!("c{i}"), "1"), || "exists")
                .unwrap();
        }
        let rv = store.current_rv();
        assert_eq!(store.events_since(rv - 2, 10).unwrap().len(), 2);
        assert!(store.events_since(1, 10).is_err());
        assert!(store.list("/configmaps", None, Some(2)).is_err());
    }
}
