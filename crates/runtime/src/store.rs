//! The informer's cache, as client-go's `tools/cache` `ThreadSafeStore` and `Indexer`:
//! objects behind `Arc`, keyed `namespace/name`, with named indexes and snapshots.
//!
//! Objects are stored as `Arc<K>`: reads, handlers and snapshots share them and never
//! copy one. A transform ([`Store::with_transform`]) runs on each object before it is
//! stored, so what it drops (`managedFields`, say) is freed at once and never held.
//! [`Store::snapshot`] is built once per batch of writes and then shared, so taking many
//! snapshots between two writes costs one `Arc` clone each.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::error::Error;
use crate::object::{Accessor, Object, accessor, object_key};

/// An index function: the index values of an object (for a namespace index, the
/// object's namespace; for a label index, the label's value; none to leave it out).
pub type IndexFn<K> = Arc<dyn Fn(&K) -> Vec<String> + Send + Sync>;

/// A transform run on every object before it is stored.
pub type Transform<K> = Arc<dyn Fn(&mut K) + Send + Sync>;

/// The name of the index [`namespace_index`] builds, as client-go's `NamespaceIndex`.
pub const NAMESPACE_INDEX: &str = "namespace";

/// An index function on `metadata.namespace` (client-go's `MetaNamespaceIndexFunc`).
pub fn namespace_index<K: Object<M>, M>() -> impl Fn(&K) -> Vec<String> + Send + Sync + 'static {
    |obj: &K| obj.namespace().map(str::to_owned).into_iter().collect()
}

/// An index function on the value of the label `key` (objects without it are left out).
pub fn label_index<K: Object<M>, M>(
    key: impl Into<String>,
) -> impl Fn(&K) -> Vec<String> + Send + Sync + 'static {
    let key = key.into();
    move |obj: &K| obj.label(&key).map(str::to_owned).into_iter().collect()
}

/// An index function on the uids of an object's owners (`metadata.ownerReferences`).
pub fn owner_uid_index<K: Object<M>, M>() -> impl Fn(&K) -> Vec<String> + Send + Sync + 'static {
    |obj: &K| {
        obj.owner_references()
            .iter()
            .map(|r| r.uid.to_owned())
            .collect()
    }
}

/// An index function on an object's owners as `Kind/namespace/name` (the owner's key, for
/// owners in the object's namespace; `Kind/name` for cluster-scoped objects).
pub fn owner_index<K: Object<M>, M>() -> impl Fn(&K) -> Vec<String> + Send + Sync + 'static {
    |obj: &K| {
        obj.owner_references()
            .iter()
            .map(|r| format!("{}/{}", r.kind, object_key(obj.namespace(), r.name)))
            .collect()
    }
}

/// A transform that clears `metadata.managedFields` (use with [`Store::with_transform`]).
pub fn drop_managed_fields<K: Object<M>, M>() -> impl Fn(&mut K) + Send + Sync + 'static {
    |obj: &mut K| obj.drop_managed_fields()
}

struct Data<K> {
    items: HashMap<String, Arc<K>>,
    indexers: HashMap<String, IndexFn<K>>,
    /// index name -> index value -> keys.
    indices: HashMap<String, HashMap<String, HashSet<String>>>,
    /// Bumped by every write, to tell a cached snapshot is stale.
    generation: u64,
}

struct Inner<K> {
    access: Accessor<K>,
    transform: Option<Transform<K>>,
    data: RwLock<Data<K>>,
    snapshot: Mutex<Option<(u64, Snapshot<K>)>>,
}

/// A thread-safe, indexed cache of objects keyed `namespace/name`. Cheap to clone (clones
/// share it). Informers fill it; controllers read it.
///
/// ```
/// use k8s_openapi::api::core::v1::ConfigMap;
/// use kubecto_runtime::store::{Store, drop_managed_fields, namespace_index, NAMESPACE_INDEX};
///
/// let store = Store::<ConfigMap>::with_transform(drop_managed_fields());
/// store.add_indexer(NAMESPACE_INDEX, namespace_index()).unwrap();
/// let mut cm = ConfigMap::default();
/// cm.metadata.name = Some("settings".into());
/// cm.metadata.namespace = Some("team-a".into());
/// store.insert(cm);
/// assert!(store.get("team-a/settings").is_some());
/// assert_eq!(store.by_index(NAMESPACE_INDEX, "team-a").unwrap().len(), 1);
/// ```
pub struct Store<K> {
    inner: Arc<Inner<K>>,
}

impl<K> Clone for Store<K> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<K> Store<K> {
    fn read(&self) -> RwLockReadGuard<'_, Data<K>> {
        self.inner.data.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Data<K>> {
        self.inner.data.write().unwrap_or_else(|p| p.into_inner())
    }
}

impl<K> fmt::Debug for Store<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.read();
        f.debug_struct("Store")
            .field("len", &d.items.len())
            .field("indexers", &d.indexers.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A consistent, immutable view of a store at one moment; cheap to clone.
pub struct Snapshot<K> {
    items: Arc<HashMap<String, Arc<K>>>,
}

impl<K> Clone for Snapshot<K> {
    fn clone(&self) -> Self {
        Self {
            items: Arc::clone(&self.items),
        }
    }
}

impl<K> fmt::Debug for Snapshot<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("len", &self.items.len())
            .finish()
    }
}

impl<K> Snapshot<K> {
    /// The object with this key.
    pub fn get(&self, key: &str) -> Option<&Arc<K>> {
        self.items.get(key)
    }

    /// How many objects.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Every `(key, object)`, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Arc<K>)> {
        self.items.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Every key, in no particular order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.items.keys().map(String::as_str)
    }
}

fn unindex(
    indices: &mut HashMap<String, HashMap<String, HashSet<String>>>,
    name: &str,
    values: Vec<String>,
    key: &str,
) {
    let Some(index) = indices.get_mut(name) else {
        return;
    };
    for v in values {
        if let Some(keys) = index.get_mut(&v) {
            keys.remove(key);
            if keys.is_empty() {
                index.remove(&v);
            }
        }
    }
}

impl<K: Send + Sync + 'static> Store<K> {
    /// An empty store of objects `K` (a `k8s-openapi` type, your own, or `Unstructured`).
    pub fn new<M: 'static>() -> Self
    where
        K: Object<M>,
    {
        Self::build(accessor::<K, M>(), None)
    }

    /// An empty store that runs `transform` on every object before storing it.
    pub fn with_transform<M: 'static>(transform: impl Fn(&mut K) + Send + Sync + 'static) -> Self
    where
        K: Object<M>,
    {
        Self::build(accessor::<K, M>(), Some(Arc::new(transform)))
    }

    pub(crate) fn build(access: Accessor<K>, transform: Option<Transform<K>>) -> Self {
        Self {
            inner: Arc::new(Inner {
                access,
                transform,
                data: RwLock::new(Data {
                    items: HashMap::new(),
                    indexers: HashMap::new(),
                    indices: HashMap::new(),
                    generation: 0,
                }),
                snapshot: Mutex::new(None),
            }),
        }
    }

    pub(crate) fn access(&self) -> &Accessor<K> {
        &self.inner.access
    }

    /// The key of `obj`: `namespace/name`, or `name` when cluster-scoped.
    pub fn key_of(&self, obj: &K) -> String {
        let a = &self.inner.access;
        object_key(a.namespace(obj), a.name(obj).unwrap_or_default())
    }

    /// Runs the store's transform on `obj` and wraps it for storing.
    pub fn prepare(&self, mut obj: K) -> Arc<K> {
        if let Some(t) = &self.inner.transform {
            t(&mut obj);
        }
        Arc::new(obj)
    }

    /// Adds a named index and indexes the objects already stored.
    ///
    /// # Errors
    /// [`Error::IndexExists`] when an index of that name exists.
    pub fn add_indexer(
        &self,
        name: impl Into<String>,
        index: impl Fn(&K) -> Vec<String> + Send + Sync + 'static,
    ) -> Result<(), Error> {
        let name = name.into();
        let mut d = self.write();
        if d.indexers.contains_key(&name) {
            return Err(Error::IndexExists { name });
        }
        let mut values: HashMap<String, HashSet<String>> = HashMap::new();
        for (key, obj) in &d.items {
            for v in index(obj) {
                values.entry(v).or_default().insert(key.clone());
            }
        }
        d.indices.insert(name.clone(), values);
        d.indexers.insert(name, Arc::new(index));
        Ok(())
    }

    /// Stores `obj` (after the transform) under its key; returns the stored object and the
    /// one it replaced.
    pub fn insert(&self, obj: K) -> (Arc<K>, Option<Arc<K>>) {
        let obj = self.prepare(obj);
        let old = self.insert_arc(Arc::clone(&obj));
        (obj, old)
    }

    /// Stores an object as it is (no transform: see [`prepare`](Self::prepare)); returns
    /// the one it replaced.
    pub fn insert_arc(&self, obj: Arc<K>) -> Option<Arc<K>> {
        let key = self.key_of(&obj);
        let mut guard = self.write();
        let d = &mut *guard;
        d.generation += 1;
        for (name, index) in &d.indexers {
            let old_values = d.items.get(&key).map(|o| index(o)).unwrap_or_default();
            let new_values = index(&obj);
            if old_values == new_values {
                continue;
            }
            unindex(&mut d.indices, name, old_values, &key);
            let idx = d.indices.entry(name.clone()).or_default();
            for v in new_values {
                idx.entry(v).or_default().insert(key.clone());
            }
        }
        d.items.insert(key, obj)
    }

    /// Removes the object with this key; returns it.
    pub fn remove(&self, key: &str) -> Option<Arc<K>> {
        let mut guard = self.write();
        let d = &mut *guard;
        let old = d.items.remove(key)?;
        d.generation += 1;
        for (name, index) in &d.indexers {
            unindex(&mut d.indices, name, index(&old), key);
        }
        Some(old)
    }

    /// Replaces every object with `items` (already [`prepare`](Self::prepare)d); returns
    /// what the store held before.
    pub fn replace(&self, items: Vec<Arc<K>>) -> HashMap<String, Arc<K>> {
        let mut new: HashMap<String, Arc<K>> = HashMap::with_capacity(items.len());
        for obj in items {
            new.insert(self.key_of(&obj), obj);
        }
        let mut guard = self.write();
        let d = &mut *guard;
        d.generation += 1;
        let mut indices: HashMap<String, HashMap<String, HashSet<String>>> = HashMap::new();
        for (name, index) in &d.indexers {
            let values = indices.entry(name.clone()).or_default();
            for (key, obj) in &new {
                for v in index(obj) {
                    values.entry(v).or_default().insert(key.clone());
                }
            }
        }
        d.indices = indices;
        std::mem::replace(&mut d.items, new)
    }

    /// The object with this key (`namespace/name`, or `name` when cluster-scoped).
    pub fn get(&self, key: &str) -> Option<Arc<K>> {
        self.read().items.get(key).cloned()
    }

    /// The object `name` in `namespace` (`None` for cluster-scoped objects).
    pub fn get_named(&self, namespace: Option<&str>, name: &str) -> Option<Arc<K>> {
        self.get(&object_key(namespace, name))
    }

    /// Every object, in no particular order.
    pub fn list(&self) -> Vec<Arc<K>> {
        self.read().items.values().cloned().collect()
    }

    /// Every key, in no particular order.
    pub fn keys(&self) -> Vec<String> {
        self.read().items.keys().cloned().collect()
    }

    /// How many objects.
    pub fn len(&self) -> usize {
        self.read().items.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The store as it is now. Built once per batch of writes, then shared.
    pub fn snapshot(&self) -> Snapshot<K> {
        let d = self.read();
        let mut cached = self
            .inner
            .snapshot
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some((generation, snap)) = &*cached
            && *generation == d.generation
        {
            return snap.clone();
        }
        let snap = Snapshot {
            items: Arc::new(d.items.clone()),
        };
        *cached = Some((d.generation, snap.clone()));
        snap
    }

    /// The objects whose index `index` has the value `value` (client-go's `ByIndex`).
    ///
    /// # Errors
    /// [`Error::NoSuchIndex`] when the store has no such index.
    pub fn by_index(&self, index: &str, value: &str) -> Result<Vec<Arc<K>>, Error> {
        let d = self.read();
        let idx = d.indices.get(index).ok_or_else(|| Error::NoSuchIndex {
            name: index.to_owned(),
        })?;
        Ok(idx
            .get(value)
            .into_iter()
            .flatten()
            .filter_map(|k| d.items.get(k).cloned())
            .collect())
    }

    /// The keys whose index `index` has the value `value` (client-go's `IndexKeys`).
    ///
    /// # Errors
    /// [`Error::NoSuchIndex`] when the store has no such index.
    pub fn index_keys(&self, index: &str, value: &str) -> Result<Vec<String>, Error> {
        let d = self.read();
        let idx = d.indices.get(index).ok_or_else(|| Error::NoSuchIndex {
            name: index.to_owned(),
        })?;
        Ok(idx.get(value).into_iter().flatten().cloned().collect())
    }

    /// Every value index `index` has (client-go's `ListIndexFuncValues`).
    ///
    /// # Errors
    /// [`Error::NoSuchIndex`] when the store has no such index.
    pub fn index_values(&self, index: &str) -> Result<Vec<String>, Error> {
        let d = self.read();
        let idx = d.indices.get(index).ok_or_else(|| Error::NoSuchIndex {
            name: index.to_owned(),
        })?;
        Ok(idx.keys().cloned().collect())
    }
}

#[cfg(test)]
mod tests;
