//! Shared informers against the test server: handlers told of adds, updates with the old
//! object and deletes (tombstones for deletes missed while away), resyncs, late handlers,
//! one watch shared through the factory; and, under faults while writers race, every
//! handler's view ends at the server's state, for typed and dynamic objects.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use k8s_openapi::api::core::v1::ConfigMap;
use kubecto_dynamic::{GroupVersionResource, Unstructured};
use kubecto_rest_core::{CreateOptions, DeleteOptions, UpdateOptions};
use kubecto_runtime::informer::{Deleted, HandlerFns, InformerFactory};
use kubecto_runtime::{Object, Shutdown};
use kubecto_testserver::{Fault, TestServer};

/// A handler's view: name -> resourceVersion, kept from its notifications only.
type Mirror = Arc<Mutex<BTreeMap<String, String>>>;

fn mirror<K: Object<M>, M: 'static>() -> (Mirror, HandlerFns<K>) {
    let view: Mirror = Arc::default();
    let (a, u, d) = (view.clone(), view.clone(), view.clone());
    let put = |m: &Mirror, o: &K| {
        m.lock().unwrap().insert(
            o.name().unwrap_or_default().to_owned(),
            o.resource_version().unwrap_or_default().to_owned(),
        );
    };
    let handler = HandlerFns::new()
        .on_add(move |o: &Arc<K>, _| put(&a, o))
        .on_update(move |_, o: &Arc<K>| put(&u, o))
        .on_delete(move |del: &Deleted<K>| {
            d.lock()
                .unwrap()
                .remove(del.object().name().unwrap_or_default());
        });
    (view, handler)
}

fn snapshot(m: &Mirror) -> BTreeMap<String, String> {
    m.lock().unwrap().clone()
}

fn factory(server: &TestServer) -> InformerFactory {
    InformerFactory::new(client(server)).with_config(fast_config())
}

#[derive(Debug, PartialEq)]
enum Seen {
    Add(String, bool),
    Update(String, String, String),
    Delete(String, bool),
}

#[tokio::test]
async fn handlers_see_adds_updates_with_the_old_object_and_deletes() {
    let server = TestServer::start().await.unwrap();
    let api = configmaps(&server);
    api.create(&cm("before", "1"), &CreateOptions::new())
        .await
        .unwrap();
    let factory = factory(&server);
    let informer = factory.namespaced::<ConfigMap, _>(NS);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (s1, s2, s3) = (seen.clone(), seen.clone(), seen.clone());
    let value = |c: &ConfigMap| c.data.as_ref().unwrap()["v"].clone();
    let registration = informer.add_handler(
        HandlerFns::new()
            .on_add(move |c: &Arc<ConfigMap>, initial| {
                s1.lock().unwrap().push(Seen::Add(value(c), initial))
            })
            .on_update(move |old, new| {
                s2.lock().unwrap().push(Seen::Update(
                    new.metadata.name.clone().unwrap(),
                    value(old),
                    value(new),
                ))
            })
            .on_delete(move |d| {
                s3.lock().unwrap().push(Seen::Delete(
                    d.object().metadata.name.clone().unwrap(),
                    d.is_final_state_unknown(),
                ))
            }),
    );
    let stop = Shutdown::new();
    factory.start(&stop);
    assert!(factory.wait_for_cache_sync(Duration::from_secs(10)).await);
    tokio::time::timeout(Duration::from_secs(5), registration.wait_for_sync())
        .await
        .unwrap();
    assert!(registration.has_synced() && informer.has_synced());
    let mut c = api
        .create(&cm("x", "2"), &CreateOptions::new())
        .await
        .unwrap();
    c.data = Some(BTreeMap::from([("v".to_owned(), "3".to_owned())]));
    api.update(&c, &UpdateOptions::new()).await.unwrap();
    api.delete("x", &DeleteOptions::new()).await.unwrap();
    let want = vec![
        Seen::Add("1".into(), true),
        Seen::Add("2".into(), false),
        Seen::Update("x".into(), "2".into(), "3".into()),
        Seen::Delete("x".into(), false),
    ];
    for _ in 0..100 {
        if seen.lock().unwrap().len() >= want.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(*seen.lock().unwrap(), want);

    // A handler added now first hears of everything already stored.
    let (late, handler) = mirror::<ConfigMap, _>();
    let registration = informer.add_handler(handler);
    tokio::time::timeout(Duration::from_secs(5), registration.wait_for_sync())
        .await
        .unwrap();
    assert_eq!(snapshot(&late), server_state(&api).await);
    stop.trigger();
}

#[tokio::test]
async fn deletes_missed_while_away_arrive_as_tombstones() {
    let server = TestServer::builder()
        .watch_history(5)
        .start()
        .await
        .unwrap();
    let api = configmaps(&server);
    for name in ["keep", "gone"] {
        api.create(&cm(name, "1"), &CreateOptions::new())
            .await
            .unwrap();
    }
    let factory = factory(&server);
    let informer = factory.namespaced::<ConfigMap, _>(NS);
    let tombstones = Arc::new(Mutex::new(Vec::new()));
    let t = tombstones.clone();
    informer.add_handler(HandlerFns::new().on_delete(move |d: &Deleted<ConfigMap>| {
        if let Deleted::FinalStateUnknown { key, last_known } = d {
            t.lock()
                .unwrap()
                .push((key.clone(), last_known.data.clone().unwrap()["v"].clone()));
        }
    }));
    let stop = Shutdown::new();
    factory.start(&stop);
    assert!(informer.wait_for_sync(Duration::from_secs(10)).await);
    // The next watch connects late; meanwhile "gone" is deleted and enough is written
    // that the watch's version expires: the informer lists again and finds it missing.
    server.inject(
        Fault::delay(Duration::from_millis(1500))
            .method("GET")
            .path(CM_PATH),
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    api.delete("gone", &DeleteOptions::new()).await.unwrap();
    for i in 0..10 {
        api.create(&cm(&format!("c{i}"), "x"), &CreateOptions::new())
            .await
            .unwrap();
    }
    converge(&api, "store", || store_state(informer.store())).await;
    for _ in 0..100 {
        if !tombstones.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        *tombstones.lock().unwrap(),
        [("default/gone".to_owned(), "1".to_owned())]
    );
    stop.trigger();
}

#[tokio::test]
async fn resync_repeats_every_object_as_an_update() {
    let server = TestServer::start().await.unwrap();
    let api = configmaps(&server);
    for name in ["a", "b"] {
        api.create(&cm(name, "1"), &CreateOptions::new())
            .await
            .unwrap();
    }
    let factory = factory(&server);
    let informer = factory.namespaced::<ConfigMap, _>(NS);
    let resyncs = Arc::new(AtomicUsize::new(0));
    let r = resyncs.clone();
    informer.add_handler_with_resync(
        HandlerFns::new().on_update(move |old: &Arc<ConfigMap>, new| {
            if Arc::ptr_eq(old, new) {
                r.fetch_add(1, Ordering::SeqCst);
            }
        }),
        Duration::from_millis(200),
    );
    let stop = Shutdown::new();
    factory.start(&stop);
    assert!(informer.wait_for_sync(Duration::from_secs(10)).await);
    tokio::time::sleep(Duration::from_millis(700)).await;
    let n = resyncs.load(Ordering::SeqCst);
    assert!(
        (4..=8).contains(&n),
        "two objects, about three resyncs: {n}"
    );
    stop.trigger();
}

#[tokio::test]
async fn the_factory_shares_one_watch_among_handlers() {
    let server = TestServer::start().await.unwrap();
    let api = configmaps(&server);
    let factory = factory(&server);
    let a = factory.namespaced::<ConfigMap, _>(NS);
    let b = factory.namespaced::<ConfigMap, _>(NS);
    let (view_a, ha) = mirror::<ConfigMap, _>();
    let (view_b, hb) = mirror::<ConfigMap, _>();
    a.add_handler(ha);
    b.add_handler(hb);
    let stop = Shutdown::new();
    factory.start(&stop);
    assert!(factory.wait_for_cache_sync(Duration::from_secs(10)).await);
    api.create(&cm("one", "1"), &CreateOptions::new())
        .await
        .unwrap();
    converge(&api, "handler a", || snapshot(&view_a)).await;
    converge(&api, "handler b", || snapshot(&view_b)).await;
    let streaming = server
        .requests()
        .iter()
        .filter(|r| r.path == CM_PATH && r.query.contains("sendInitialEvents"))
        .count();
    assert_eq!(streaming, 1, "one watch for both handlers");
    // A selector makes another informer.
    let c = factory.informer(kubecto_runtime::watcher::ListWatch::new(&api).labels("app=x"));
    assert!(c.store().is_empty());
    stop.trigger();
}

/// The fault test for informers: writers race while the server drops, truncates,
/// throttles (429 storms), fails and expires the informers' requests, and its history is
/// short. Afterwards every handler (two typed, two dynamic) has seen the final state of
/// every object, and each store equals the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_faults_every_handler_ends_at_the_servers_state() {
    let server = Arc::new(
        TestServer::builder()
            .watch_history(30)
            .start()
            .await
            .unwrap(),
    );
    let api = configmaps(&server);
    let factory = InformerFactory::new(client(&server))
        .with_config(fast_config().page_size(4))
        .drop_managed_fields(true);
    let typed = factory.namespaced::<ConfigMap, _>(NS);
    let dynamic = factory.dynamic(&GroupVersionResource::new("", "v1", "configmaps"), Some(NS));
    let mut views = Vec::new();
    for _ in 0..2 {
        let (view, h) = mirror::<ConfigMap, _>();
        typed.add_handler(h);
        views.push(view);
        let (view, h) = mirror::<Unstructured, _>();
        dynamic.add_handler(h);
        views.push(view);
    }
    let stop = Shutdown::new();
    factory.start(&stop);
    let writing_done = Arc::new(AtomicBool::new(false));
    let writers = spawn_writers(&api, 3, writing_done.clone());
    let faults = spawn_faults(
        server.clone(),
        Duration::from_millis(150),
        writing_done.clone(),
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    writing_done.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    assert!(faults.await.unwrap() > 10);
    server.clear_faults();
    converge(&api, "typed store", || store_state(typed.store())).await;
    for (i, view) in views.iter().enumerate() {
        converge(&api, &format!("handler {i}"), || snapshot(view)).await;
    }
    let stored = dynamic.store().list();
    assert!(
        stored
            .iter()
            .all(|u| u.nested(&["metadata", "managedFields"]).is_none())
    );
    stop.trigger();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_falls_behind_pauses_the_watch_instead_of_queueing_without_bound() {
    use kubecto_runtime::informer::{InformerOptions, SharedInformer};
    use kubecto_runtime::watcher::ListWatch;

    let server = TestServer::start().await.unwrap();
    let api = configmaps(&server);
    let informer = SharedInformer::with_options(
        ListWatch::new(&api),
        InformerOptions::new()
            .config(fast_config())
            .max_handler_backlog(Some(8)),
    );
    // The handler is stuck in its first add until the gate opens.
    let gate = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
    let seen = Arc::new(AtomicUsize::new(0));
    informer.add_handler(HandlerFns::new().on_add({
        let (gate, seen) = (gate.clone(), seen.clone());
        move |_, _| {
            let (open, cv) = &*gate;
            let mut open = open.lock().unwrap();
            while !*open {
                open = cv.wait(open).unwrap();
            }
            seen.fetch_add(1, Ordering::SeqCst);
        }
    }));
    let stop = Shutdown::new();
    informer.start(&stop);
    assert!(informer.wait_for_sync(Duration::from_secs(10)).await);
    for i in 0..40 {
        api.create(&cm(&format!("c{i}"), "x"), &CreateOptions::new())
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let held = informer.store().len();
    assert!(
        held <= 12,
        "the watch waits for the handler: {held} objects applied"
    );
    {
        let (open, cv) = &*gate;
        *open.lock().unwrap() = true;
        cv.notify_all();
    }
    converge(&api, "store", || store_state(informer.store())).await;
    for _ in 0..100 {
        if seen.load(Ordering::SeqCst) == 40 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        seen.load(Ordering::SeqCst),
        40,
        "every add reached the handler"
    );
    stop.trigger();
}
