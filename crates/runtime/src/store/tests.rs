//! The store's contract: keys, indexes kept right through updates, removals and
//! replaces, transforms before storing, cheap snapshots, and typed and dynamic objects.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, OwnerReference};
use kubecto_dynamic::Unstructured;
use serde_json::json;

use super::*;

fn pod(ns: &str, name: &str, app: &str) -> Pod {
    let mut p = Pod::default();
    p.metadata.name = Some(name.to_owned());
    p.metadata.namespace = Some(ns.to_owned());
    p.metadata.labels = Some(BTreeMap::from([("app".to_owned(), app.to_owned())]));
    p
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn names(v: Vec<Arc<Pod>>) -> Vec<String> {
    sorted(
        v.iter()
            .map(|p| p.metadata.name.clone().unwrap_or_default())
            .collect(),
    )
}

#[test]
fn indexes_follow_updates_removals_and_replaces() {
    let store = Store::<Pod>::new();
    store
        .add_indexer(NAMESPACE_INDEX, namespace_index())
        .unwrap();
    store.add_indexer("app", label_index("app")).unwrap();
    assert!(matches!(
        store.add_indexer("app", label_index("app")),
        Err(Error::IndexExists { .. })
    ));
    store.insert(pod("a", "p1", "web"));
    store.insert(pod("a", "p2", "db"));
    store.insert(pod("b", "p3", "web"));
    assert_eq!(names(store.by_index("app", "web").unwrap()), ["p1", "p3"]);
    assert_eq!(
        names(store.by_index(NAMESPACE_INDEX, "a").unwrap()),
        ["p1", "p2"]
    );
    // p1 changes app: it leaves the old bucket.
    let (_, old) = store.insert(pod("a", "p1", "db"));
    assert_eq!(old.unwrap().metadata.labels.as_ref().unwrap()["app"], "web");
    assert_eq!(names(store.by_index("app", "web").unwrap()), ["p3"]);
    assert_eq!(
        sorted(store.index_keys("app", "db").unwrap()),
        ["a/p1", "a/p2"]
    );
    store.remove("b/p3");
    assert!(store.by_index("app", "web").unwrap().is_empty());
    assert_eq!(sorted(store.index_values("app").unwrap()), ["db"]);
    let before = store.replace(vec![store.prepare(pod("c", "p9", "web"))]);
    assert_eq!(sorted(before.into_keys().collect()), ["a/p1", "a/p2"]);
    assert_eq!(store.keys(), ["c/p9"]);
    assert_eq!(names(store.by_index("app", "web").unwrap()), ["p9"]);
    assert!(store.by_index("app", "db").unwrap().is_empty());
    assert!(matches!(
        store.by_index("nope", "x"),
        Err(Error::NoSuchIndex { .. })
    ));
}

#[test]
fn an_index_added_late_covers_what_is_stored() {
    let store = Store::<Pod>::new();
    store.insert(pod("a", "p1", "web"));
    store.add_indexer("app", label_index("app")).unwrap();
    assert_eq!(names(store.by_index("app", "web").unwrap()), ["p1"]);
}

#[test]
fn owner_indexes() {
    let store = Store::<Pod>::new();
    store.add_indexer("owner", owner_index()).unwrap();
    store.add_indexer("owner-uid", owner_uid_index()).unwrap();
    let mut p = pod("a", "p1", "web");
    p.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "apps/v1".into(),
        kind: "ReplicaSet".into(),
        name: "rs".into(),
        uid: "u-rs".into(),
        ..Default::default()
    }]);
    store.insert(p);
    assert_eq!(
        names(store.by_index("owner", "ReplicaSet/a/rs").unwrap()),
        ["p1"]
    );
    assert_eq!(names(store.by_index("owner-uid", "u-rs").unwrap()), ["p1"]);
}

#[test]
fn the_transform_runs_before_storing() {
    let store = Store::<Pod>::with_transform(drop_managed_fields());
    let mut p = pod("a", "p1", "web");
    p.metadata.managed_fields = Some(vec![ManagedFieldsEntry::default()]);
    let (stored, _) = store.insert(p);
    assert!(stored.metadata.managed_fields.is_none());
    assert!(store.get("a/p1").unwrap().metadata.managed_fields.is_none());
}

#[test]
fn snapshots_are_shared_until_the_next_write_and_never_change() {
    let store = Store::<Pod>::new();
    store.insert(pod("a", "p1", "web"));
    let s1 = store.snapshot();
    let s2 = store.snapshot();
    assert!(
        Arc::ptr_eq(&s1.items, &s2.items),
        "no write in between: one map"
    );
    store.insert(pod("a", "p2", "web"));
    let s3 = store.snapshot();
    assert_eq!((s1.len(), s3.len()), (1, 2));
    assert!(s1.get("a/p2").is_none());
    // The objects themselves are shared, not copied.
    assert!(Arc::ptr_eq(
        s1.get("a/p1").unwrap(),
        s3.get("a/p1").unwrap()
    ));
}

#[test]
fn dynamic_objects_and_cluster_scoped_keys() {
    let store = Store::<Unstructured>::with_transform(drop_managed_fields());
    store.add_indexer("app", label_index("app")).unwrap();
    let cm = Unstructured::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "ns", "labels": {"app": "web"}, "managedFields": [{}]}
    }))
    .unwrap();
    let node = Unstructured::from_value(
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}),
    )
    .unwrap();
    store.insert(cm);
    store.insert(node);
    assert!(store.get_named(None, "n1").is_some());
    let c = store.get_named(Some("ns"), "c").unwrap();
    assert!(c.nested(&["metadata", "managedFields"]).is_none());
    assert_eq!(store.by_index("app", "web").unwrap().len(), 1);
}

#[test]
fn readers_and_writers_on_many_threads() {
    let store = Store::<Pod>::new();
    store.add_indexer("app", label_index("app")).unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let store = store.clone();
            s.spawn(move || {
                for i in 0..500 {
                    let name = format!("p{t}-{i}");
                    store.insert(pod("a", &name, if i % 2 == 0 { "even" } else { "odd" }));
                    if i % 3 == 0 {
                        store.remove(&format!("a/{name}"));
                    }
                    let _ = store.by_index("app", "even").unwrap();
                    let _ = store.snapshot();
                }
            });
        }
    });
    let expected = 4 * (500 - 167);
    assert_eq!(store.len(), expected);
    let even = store.by_index("app", "even").unwrap().len();
    let odd = store.by_index("app", "odd").unwrap().len();
    assert_eq!(even + odd, expected);
}
