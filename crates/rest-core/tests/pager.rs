//! The pager follows continue tokens and falls back to a full list when a token expires.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{PODS, client, pod, seed_pods};
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kubecto_rest_core::{ListOptions, Pager};
use kubecto_testserver::TestServer;

#[tokio::test]
async fn follows_continue_tokens_to_the_end() {
    let server = TestServer::start().await.unwrap();
    seed_pods(&server, 23);
    let c = client(&server);
    let pager =
        Pager::new(|opts: ListOptions| c.get().namespace("default").resource("pods").params(&opts))
            .page_size(5);
    let list = pager.list::<Pod>(ListOptions::new()).await.unwrap();
    assert_eq!(list.items.len(), 23);
    assert_eq!(server.request_count("GET", PODS), 5);
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.query.contains("limit=5"))
    );
    let names: Vec<_> = list
        .items
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    let mut sorted = names.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), 23, "no duplicates");
}

#[tokio::test]
async fn items_stream_across_pages() {
    let server = TestServer::start().await.unwrap();
    seed_pods(&server, 12);
    let c = client(&server);
    let pager = Pager::new(move |opts: ListOptions| {
        c.get().namespace("default").resource("pods").params(&opts)
    })
    .page_size(5);
    let items: Vec<_> = pager
        .items::<Pod>(ListOptions::new().label_selector("app=web"))
        .collect()
        .await;
    assert_eq!(items.len(), 12);
    assert!(items.iter().all(Result::is_ok));
    assert_eq!(server.request_count("GET", PODS), 3);
}

#[tokio::test]
async fn an_expired_continue_token_falls_back_to_a_full_list() {
    let server = Arc::new(
        TestServer::builder()
            .watch_history(3)
            .start()
            .await
            .unwrap(),
    );
    seed_pods(&server, 6);
    let c = client(&server);
    let writes_done = AtomicBool::new(false);
    let srv = server.clone();
    let pager = Pager::new(|opts: ListOptions| {
        // Before the second page, write enough that the token's snapshot is forgotten.
        if opts.continue_token.is_some() && !writes_done.swap(true, Ordering::SeqCst) {
            for i in 0..10 {
                srv.seed(pod(&format!("late-{i}"))).unwrap();
            }
        }
        c.get().namespace("default").resource("pods").params(&opts)
    })
    .page_size(4);
    let list = pager.list::<Pod>(ListOptions::new()).await.unwrap();
    assert_eq!(list.items.len(), 16, "a full list at the current state");
    let gets: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET")
        .collect();
    assert_eq!(gets.len(), 3, "{gets:?}");
    assert!(gets[1].query.contains("continue="));
    assert!(
        !gets[2].query.contains("limit=") && !gets[2].query.contains("continue="),
        "{:?}",
        gets[2]
    );
}

#[tokio::test]
async fn without_fallback_the_expiry_is_reported() {
    let server = Arc::new(
        TestServer::builder()
            .watch_history(3)
            .start()
            .await
            .unwrap(),
    );
    seed_pods(&server, 6);
    let c = client(&server);
    let srv = server.clone();
    let pager = Pager::new(|opts: ListOptions| {
        if opts.continue_token.is_some() {
            for i in 0..10 {
                let _ = srv.seed(pod(&format!("late-{i}")));
            }
        }
        c.get().namespace("default").resource("pods").params(&opts)
    })
    .page_size(4)
    .full_list_if_expired(false);
    let err = pager.list::<Pod>(ListOptions::new()).await.unwrap_err();
    assert!(err.is_expired(), "{err:?}");
}
