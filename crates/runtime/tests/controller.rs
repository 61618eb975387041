//! The controller loop against the test server: owned objects map to their owner's key,
//! failures retry with backoff, requeue-after repeats, shutdown waits for reconciles in
//! flight; and, while writers race and the server injects faults, no key is ever
//! reconciled twice at once and the last reconcile of every key saw its final state.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kubecto_clientset::Api;
use kubecto_rest_core::CreateOptions;
use kubecto_runtime::informer::InformerFactory;
use kubecto_runtime::{Action, Controller, Shutdown};
use kubecto_testserver::TestServer;

#[derive(Default)]
struct Record {
    in_flight: HashSet<String>,
    overlaps: Vec<String>,
    calls: HashMap<String, usize>,
    /// key -> resourceVersion the last reconcile saw in the store ("" for none).
    last_seen: BTreeMap<String, String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_runs_twice_at_once_and_the_last_reconcile_sees_the_final_state() {
    let server = Arc::new(
        TestServer::builder()
            .watch_history(30)
            .start()
            .await
            .unwrap(),
    );
    let api = configmaps(&server);
    let factory = InformerFactory::new(client(&server)).with_config(fast_config());
    let informer = factory.namespaced::<ConfigMap, _>(NS);
    let store = informer.store().clone();
    let record = Arc::new(Mutex::new(Record::default()));
    let stop = Shutdown::new();
    let controller = Controller::new(informer).workers(4);
    let run = tokio::spawn({
        let record = record.clone();
        let stop = stop.clone();
        controller.run(
            move |key: String| {
                let (record, store) = (record.clone(), store.clone());
                async move {
                    {
                        let mut r = record.lock().unwrap();
                        if !r.in_flight.insert(key.clone()) {
                            r.overlaps.push(key.clone());
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    let rv = store
                        .get(&key)
                        .and_then(|c| c.metadata.resource_version.clone())
                        .unwrap_or_default();
                    let mut r = record.lock().unwrap();
                    r.in_flight.remove(&key);
                    *r.calls.entry(key.clone()).or_default() += 1;
                    r.last_seen.insert(key, rv);
                    Ok::<_, String>(Action::Done)
                }
            },
            stop,
        )
    });
    let writing_done = Arc::new(AtomicBool::new(false));
    let writers = spawn_writers(&api, 3, writing_done.clone());
    let faults = spawn_faults(
        server.clone(),
        Duration::from_millis(200),
        writing_done.clone(),
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    writing_done.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    faults.await.unwrap();
    server.clear_faults();
    // The last reconcile of each key saw what the server holds (deleted keys: nothing).
    converge(&api, "last reconciles", || {
        record
            .lock()
            .unwrap()
            .last_seen
            .iter()
            .filter(|(_, rv)| !rv.is_empty())
            .map(|(k, rv)| (k.trim_start_matches("default/").to_owned(), rv.clone()))
            .collect()
    })
    .await;
    stop.trigger();
    tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .unwrap()
        .unwrap();
    let r = record.lock().unwrap();
    assert!(
        r.overlaps.is_empty(),
        "reconciled twice at once: {:?}",
        r.overlaps
    );
    assert!(r.calls.len() >= 10, "{:?}", r.calls);
}

#[tokio::test]
async fn owned_objects_failures_requeues_and_a_graceful_stop() {
    let server = TestServer::start().await.unwrap();
    let api = configmaps(&server);
    let owner = api
        .create(&cm("owner", "1"), &CreateOptions::new())
        .await
        .unwrap();
    api.create(&cm("fails", "1"), &CreateOptions::new())
        .await
        .unwrap();
    api.create(&cm("again", "1"), &CreateOptions::new())
        .await
        .unwrap();
    let factory = InformerFactory::new(client(&server)).with_config(fast_config());
    let calls: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Shutdown::new();
    let controller = Controller::new(factory.namespaced::<ConfigMap, _>(NS))
        .owns(factory.namespaced::<Secret, _>(NS), "ConfigMap")
        .workers(2);
    let run = tokio::spawn({
        let calls = calls.clone();
        controller.run(
            move |key: String| {
                let calls = calls.clone();
                async move {
                    let n = {
                        let mut c = calls.lock().unwrap();
                        c.push(key.clone());
                        c.iter().filter(|k| **k == key).count()
                    };
                    match key.as_str() {
                        "default/fails" if n <= 3 => Err(format!("attempt {n} fails")),
                        "default/again" if n <= 3 => {
                            Ok(Action::RequeueAfter(Duration::from_millis(100)))
                        }
                        "default/slow" => {
                            tokio::time::sleep(Duration::from_millis(500)).await;
                            calls.lock().unwrap().push("slow finished".to_owned());
                            Ok(Action::Done)
                        }
                        _ => Ok(Action::Done),
                    }
                }
            },
            stop.clone(),
        )
    });
    let count = |key: &str| calls.lock().unwrap().iter().filter(|k| *k == key).count();
    for _ in 0..100 {
        if count("default/fails") >= 4 && count("default/again") >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(count("default/fails"), 4, "three failures, then success");
    assert_eq!(count("default/again"), 4, "three requeues, then done");
    // A Secret owned by the config map `owner` reconciles `owner`.
    let before = count("default/owner");
    let mut secret = Secret::default();
    secret.metadata.name = Some("owned".into());
    secret.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        name: "owner".into(),
        uid: owner.metadata.uid.clone().unwrap(),
        controller: Some(true),
        ..Default::default()
    }]);
    Api::<Secret>::namespaced(client(&server), NS)
        .create(&secret, &CreateOptions::new())
        .await
        .unwrap();
    for _ in 0..100 {
        if count("default/owner") > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(count("default/owner") > before);
    assert_eq!(
        count("default/owned"),
        0,
        "the secret's own key is not queued"
    );
    // Stopping during a slow reconcile waits for it.
    api.create(&cm("slow", "1"), &CreateOptions::new())
        .await
        .unwrap();
    for _ in 0..100 {
        if count("default/slow") == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.trigger();
    tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        count("slow finished"),
        1,
        "the reconcile in flight finished"
    );
}

#[tokio::test]
async fn a_panicking_reconcile_is_retried_and_the_worker_goes_on() {
    let server = TestServer::start().await.unwrap();
    let api = configmaps(&server);
    for name in ["panics", "sync-panic", "fine"] {
        api.create(&cm(name, "1"), &CreateOptions::new())
            .await
            .unwrap();
    }
    let factory = InformerFactory::new(client(&server)).with_config(fast_config());
    let calls: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Shutdown::new();
    // One worker: if a panic killed it, nothing after the panic would be reconciled.
    let controller = Controller::new(factory.namespaced::<ConfigMap, _>(NS)).workers(1);
    let queue = controller.queue().clone();
    let run = tokio::spawn({
        let calls = calls.clone();
        controller.run(
            move |key: String| {
                let n = {
                    let mut c = calls.lock().unwrap();
                    c.push(key.clone());
                    c.iter().filter(|k| **k == key).count()
                };
                // A panic before the future exists is caught as well.
                if key == "default/sync-panic" && n == 1 {
                    panic!("building the reconcile of {key} failed");
                }
                async move {
                    tokio::task::yield_now().await;
                    if key == "default/panics" && n <= 2 {
                        panic!("attempt {n} of {key} panicked");
                    }
                    Ok::<_, String>(Action::Done)
                }
            },
            stop.clone(),
        )
    });
    let count = |key: &str| calls.lock().unwrap().iter().filter(|k| *k == key).count();
    for _ in 0..200 {
        if count("default/panics") >= 3 && count("default/sync-panic") >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(count("default/panics"), 3, "two panics, then success");
    assert_eq!(count("default/sync-panic"), 2, "one panic, then success");
    assert!(count("default/fine") >= 1);
    assert_eq!(
        queue.num_requeues(&"default/panics".to_owned()),
        0,
        "forgotten once it succeeded"
    );
    // The key is not stuck as processing: a change reconciles it again.
    let before = count("default/panics");
    let mut c = api.get("panics").await.unwrap();
    c.data = Some(BTreeMap::from([("v".to_owned(), "2".to_owned())]));
    api.update(&c, &kubecto_rest_core::UpdateOptions::new())
        .await
        .unwrap();
    for _ in 0..200 {
        if count("default/panics") > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(count("default/panics"), before + 1);
    stop.trigger();
    tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .unwrap()
        .unwrap();
}
