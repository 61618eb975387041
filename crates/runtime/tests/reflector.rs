//! The reflector against the test server: streaming list or paged LIST, then a watch that
//! resumes from the last resourceVersion; and, under every fault the server can inject
//! while writers race, a store that ends equal to the server.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::*;
use k8s_openapi::api::core::v1::ConfigMap;
use kubecto_dynamic::{DynamicClient, GroupVersionResource, Unstructured};
use kubecto_rest_core::{CreateOptions, DeleteOptions};
use kubecto_runtime::watcher::{ListWatch, Reflector};
use kubecto_runtime::{Shutdown, Store};
use kubecto_testserver::{Fault, TestServer};

fn watch_requests(server: &TestServer) -> Vec<String> {
    server
        .requests()
        .into_iter()
        // The test's own LISTs (to compare with the store) have no query.
        .filter(|r| r.method == "GET" && r.path == CM_PATH && !r.query.is_empty())
        .map(|r| r.query)
        .collect()
}

#[tokio::test]
async fn a_streaming_list_fills_the_store_then_writes_follow() {
    let server = TestServer::start().await.unwrap();
    let api = configmaps(&server);
    for i in 0..5 {
        api.create(&cm(&format!("c{i}"), "x"), &CreateOptions::new())
            .await
            .unwrap();
    }
    let store = Store::<ConfigMap>::new();
    let reflector = Reflector::new(ListWatch::new(&api), store.clone()).config(fast_config());
    let synced = reflector.synced();
    let stop = Shutdown::new();
    let task = tokio::spawn(reflector.run(stop.clone()));
    assert!(synced.wait_timeout(Duration::from_secs(10)).await);
    assert_eq!(store.len(), 5);
    api.create(&cm("late", "y"), &CreateOptions::new())
        .await
        .unwrap();
    api.delete("c0", &DeleteOptions::new()).await.unwrap();
    converge(&api, "store", || store_state(&store)).await;
    stop.trigger();
    task.await.unwrap();
    let queries = watch_requests(&server);
    assert!(
        queries[0].contains("sendInitialEvents=true")
            && queries[0].contains("resourceVersionMatch=NotOlderThan"),
        "{queries:?}"
    );
    assert!(
        queries.iter().all(|q| q.contains("watch=true")),
        "no LIST at all: {queries:?}"
    );
}

#[tokio::test]
async fn a_server_without_streaming_lists_gets_a_paged_list() {
    let server = TestServer::start().await.unwrap();
    let api = configmaps(&server);
    for i in 0..5 {
        api.create(&cm(&format!("c{i}"), "x"), &CreateOptions::new())
            .await
            .unwrap();
    }
    // The streaming list is refused as a server without the feature refuses it.
    server.inject(Fault::status(422).method("GET").path(CM_PATH));
    let store = Store::<ConfigMap>::new();
    let reflector =
        Reflector::new(ListWatch::new(&api), store.clone()).config(fast_config().page_size(2));
    let synced = reflector.synced();
    let stop = Shutdown::new();
    let task = tokio::spawn(reflector.run(stop.clone()));
    assert!(synced.wait_timeout(Duration::from_secs(10)).await);
    assert_eq!(store.len(), 5);
    api.create(&cm("late", "y"), &CreateOptions::new())
        .await
        .unwrap();
    converge(&api, "store", || store_state(&store)).await;
    stop.trigger();
    task.await.unwrap();
    let queries = watch_requests(&server);
    let lists: Vec<&String> = queries
        .iter()
        .filter(|q| !q.contains("watch=true"))
        .collect();
    assert_eq!(lists.len(), 3, "5 items in pages of 2: {queries:?}");
    assert!(lists.iter().all(|q| q.contains("limit=2")));
    assert!(lists[1].contains("continue="));
    let streaming = queries
        .iter()
        .filter(|q| q.contains("sendInitialEvents"))
        .count();
    assert_eq!(streaming, 1, "refused once, never tried again: {queries:?}");
}

#[tokio::test]
async fn watches_resume_from_the_last_version_without_listing_again() {
    let server = TestServer::builder()
        .bookmark_interval(Duration::from_millis(200))
        .start()
        .await
        .unwrap();
    let api = configmaps(&server);
    let store = Store::<ConfigMap>::new();
    let reflector = Reflector::new(ListWatch::new(&api), store.clone()).config(fast_config());
    let synced = reflector.synced();
    let stop = Shutdown::new();
    let task = tokio::spawn(reflector.run(stop.clone()));
    assert!(synced.wait_timeout(Duration::from_secs(10)).await);
    // Watches time out every 1-2 s on the server's side; the next is cut short once and
    // fails to connect once.
    server.inject(Fault::truncate_body(40).method("GET").path(CM_PATH));
    server.inject(Fault::drop_connection().method("GET").path(CM_PATH));
    for i in 0..40 {
        api.create(&cm(&format!("c{i}"), "x"), &CreateOptions::new())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    converge(&api, "store", || store_state(&store)).await;
    stop.trigger();
    task.await.unwrap();
    let queries = watch_requests(&server);
    let resumed = queries
        .iter()
        .filter(|q| q.contains("watch=true") && !q.contains("sendInitialEvents"))
        .count();
    assert!(resumed >= 2, "{queries:?}");
    assert!(
        queries
            .iter()
            .filter(|q| q.contains("sendInitialEvents") || !q.contains("watch=true"))
            .count()
            == 1,
        "listed once only: {queries:?}"
    );
}

#[tokio::test]
async fn an_expired_version_lists_again() {
    // A short history: while the watch is away, enough writes happen that its version
    // falls out of it, and the resumed watch gets 410 Expired.
    let server = TestServer::builder()
        .watch_history(5)
        .start()
        .await
        .unwrap();
    let api = configmaps(&server);
    let store = Store::<ConfigMap>::new();
    let reflector = Reflector::new(ListWatch::new(&api), store.clone()).config(fast_config());
    let synced = reflector.synced();
    let stop = Shutdown::new();
    let task = tokio::spawn(reflector.run(stop.clone()));
    assert!(synced.wait_timeout(Duration::from_secs(10)).await);
    // The next watch connects late, after 20 writes.
    server.inject(
        Fault::delay(Duration::from_millis(1500))
            .method("GET")
            .path(CM_PATH),
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    for i in 0..20 {
        api.create(&cm(&format!("c{i}"), "x"), &CreateOptions::new())
            .await
            .unwrap();
    }
    converge(&api, "store", || store_state(&store)).await;
    stop.trigger();
    task.await.unwrap();
    let relists = watch_requests(&server)
        .iter()
        .filter(|q| q.contains("sendInitialEvents"))
        .count();
    assert!(relists >= 2, "listed again after 410");
}

/// The fault test: several writers create, update and delete config maps while the
/// reflector's lists and watches are dropped, truncated, throttled with 429 storms,
/// failed with 500 and expired with 410 (and the server's history is short enough for
/// real 410s): once the writers stop, the store equals the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_every_fault_the_store_ends_equal_to_the_server() {
    for streaming in [true, false] {
        let server = Arc::new(
            TestServer::builder()
                .watch_history(30)
                .start()
                .await
                .unwrap(),
        );
        let api = configmaps(&server);
        let store = Store::<ConfigMap>::new();
        let reflector = Reflector::new(ListWatch::new(&api), store.clone())
            .config(fast_config().streaming_list(streaming).page_size(3));
        let stop = Shutdown::new();
        let task = tokio::spawn(reflector.run(stop.clone()));
        let writing = Arc::new(AtomicBool::new(false));
        let writers = spawn_writers(&api, 3, writing.clone());
        let faults = spawn_faults(server.clone(), Duration::from_millis(150), writing.clone());
        tokio::time::sleep(Duration::from_secs(4)).await;
        writing.store(true, Ordering::Relaxed);
        let mut writes = 0;
        for w in writers {
            writes += w.await.unwrap();
        }
        let injected = faults.await.unwrap();
        server.clear_faults();
        assert!(
            writes > 50 && injected > 10,
            "{writes} writes, {injected} faults"
        );
        converge(&api, "store", || store_state(&store)).await;
        stop.trigger();
        task.await.unwrap();
        let queries = watch_requests(&server);
        // A sync is a streaming list or the first page of a LIST.
        let syncs = queries
            .iter()
            .filter(|q| {
                q.contains("sendInitialEvents")
                    || (q.contains("limit=") && !q.contains("continue="))
            })
            .count();
        let resumes = queries
            .iter()
            .filter(|q| q.contains("watch=true") && !q.contains("sendInitialEvents"))
            .count();
        assert!(
            syncs + resumes >= 3,
            "the faults broke syncs and watches (streaming {streaming}): {syncs} syncs, {resumes} resumed watches"
        );
    }
}

#[tokio::test]
async fn dynamic_objects_reflect_too() {
    let server = TestServer::start().await.unwrap();
    let api = configmaps(&server);
    api.create(&cm("a", "x"), &CreateOptions::new())
        .await
        .unwrap();
    let dynamic = DynamicClient::from_rest_client(client(&server));
    let gvr = GroupVersionResource::new("", "v1", "configmaps");
    let store = Store::<Unstructured>::new();
    // The paged LIST too: its items get their kind from the list.
    let reflector = Reflector::new(ListWatch::dynamic(&dynamic, &gvr, Some(NS)), store.clone())
        .config(fast_config().streaming_list(false));
    let synced = reflector.synced();
    let stop = Shutdown::new();
    let task = tokio::spawn(reflector.run(stop.clone()));
    assert!(synced.wait_timeout(Duration::from_secs(10)).await);
    let a = store.get("default/a").expect("listed");
    assert_eq!((a.kind(), a.api_version()), (Some("ConfigMap"), Some("v1")));
    api.create(&cm("b", "y"), &CreateOptions::new())
        .await
        .unwrap();
    for _ in 0..100 {
        if store.get("default/b").is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        store
            .get("default/b")
            .and_then(|b| b.nested_str(&["data", "v"]).map(str::to_owned)),
        Some("y".to_owned())
    );
    stop.trigger();
    task.await.unwrap();
}
