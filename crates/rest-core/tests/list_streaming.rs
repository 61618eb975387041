//! A LIST is consumed item by item from the body; a cut body is an error, never a panic.

mod common;

use common::{PODS, body_client, client, list_pods, seed_pods};
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kubecto_rest_core::{Config, Error, ListOptions, RestClient};
use kubecto_testserver::{Fault, TestServer};

#[tokio::test]
async fn items_arrive_one_at_a_time_with_the_list_metadata() {
    let server = TestServer::start().await.unwrap();
    seed_pods(&server, 40);
    server.inject(Fault::rechunk(61).method("GET").path(PODS));
    let resp = list_pods(&client(&server)).await;
    let mut stream = resp.list_stream::<Pod>();
    assert_eq!(stream.kind(), None, "nothing read yet");
    let mut names = Vec::new();
    while let Some(pod) = stream.next().await {
        names.push(pod.unwrap().metadata.name.unwrap());
        assert_eq!(
            stream.kind(),
            Some("PodList"),
            "kind comes before the items"
        );
        assert_eq!(stream.api_version(), Some("v1"));
    }
    assert_eq!(names.len(), 40);
    assert_eq!(names[0], "pod-000");
    assert_eq!(names[39], "pod-039");
    let meta = stream.metadata().expect("list metadata");
    assert!(
        meta.resource_version
            .as_deref()
            .is_some_and(|rv| !rv.is_empty())
    );
    assert_eq!(meta.next_page(), None);
}

#[tokio::test]
async fn a_page_carries_continue_and_remaining_count() {
    let server = TestServer::start().await.unwrap();
    seed_pods(&server, 7);
    let list = client(&server)
        .get()
        .namespace("default")
        .resource("pods")
        .params(&ListOptions::new().limit(3))
        .send()
        .await
        .unwrap()
        .into_list::<Pod>()
        .await
        .unwrap();
    assert_eq!(list.items.len(), 3);
    assert!(list.metadata.next_page().is_some());
    assert_eq!(list.metadata.remaining_item_count, Some(4));
}

#[tokio::test]
async fn same_result_as_decoding_the_whole_body() {
    let server = TestServer::start().await.unwrap();
    seed_pods(&server, 5);
    let c = client(&server);
    let whole: k8s_openapi::List<Pod> = list_pods(&c).await.into().await.unwrap();
    let streamed = list_pods(&c).await.into_list::<Pod>().await.unwrap();
    assert_eq!(whole.items, streamed.items);
    assert_eq!(
        whole.metadata.resource_version,
        streamed.metadata.resource_version
    );
}

/// The test server aborts a truncated answer before its head is flushed, so the client sees
/// a connection closed early: reported as a transport error when retries are off.
#[tokio::test]
async fn a_truncated_answer_without_retries_is_a_transport_error() {
    let server = TestServer::start().await.unwrap();
    seed_pods(&server, 10);
    server.inject(Fault::truncate_body(2500).method("GET").path(PODS));
    let result = client(&server)
        .get()
        .namespace("default")
        .resource("pods")
        .max_retries(0)
        .send()
        .await;
    let err = match result {
        Err(e) => e,
        // Should the head ever arrive first, the cut must show in the items.
        Ok(resp) => {
            let items: Vec<_> = resp.list_stream::<Pod>().collect().await;
            items
                .into_iter()
                .find_map(Result::err)
                .expect("the cut surfaces as an error")
        }
    };
    assert!(
        matches!(err, Error::Transport { .. } | Error::Decode { .. }),
        "{err:?}"
    );
    assert_eq!(server.request_count("GET", PODS), 1);
}

#[tokio::test]
async fn a_list_body_cut_anywhere_is_an_error_not_a_panic() {
    let server = TestServer::start().await.unwrap();
    seed_pods(&server, 4);
    let whole = list_pods(&client(&server)).await.bytes().await.unwrap();
    let step = (whole.len() / 40).max(1);
    for cut in (0..whole.len() - 1).step_by(step) {
        for fail_at_end in [false, true] {
            let c = body_client(whole.slice(..cut), 100, fail_at_end);
            let items: Vec<_> = c
                .get()
                .resource("pods")
                .send()
                .await
                .unwrap()
                .list_stream::<Pod>()
                .collect()
                .await;
            let ok = items.iter().filter(|i| i.is_ok()).count();
            assert!(ok < 4 || cut > whole.len() - 10, "cut {cut}: {ok} items");
            let err = items
                .last()
                .and_then(|i| i.as_ref().err())
                .unwrap_or_else(|| panic!("cut {cut}: no error after {ok} items"));
            if fail_at_end {
                assert!(matches!(err, Error::Transport { .. }), "cut {cut}: {err:?}");
            } else {
                assert!(matches!(err, Error::Decode { .. }), "cut {cut}: {err:?}");
            }
        }
    }
    // The whole body through the same path decodes fully.
    let c = body_client(whole.clone(), 100, false);
    let list = c
        .get()
        .resource("pods")
        .send()
        .await
        .unwrap()
        .into_list::<Pod>()
        .await
        .unwrap();
    assert_eq!(list.items.len(), 4);
}

#[tokio::test]
async fn a_wrongly_typed_item_is_a_decode_error_with_its_offset() {
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Strict {
        spec: std::collections::HashMap<String, u32>,
    }
    let server = TestServer::start().await.unwrap();
    seed_pods(&server, 2);
    let resp = list_pods(&client(&server)).await;
    let items: Vec<_> = resp.list_stream::<Strict>().collect().await;
    assert_eq!(items.len(), 2);
    match &items[0] {
        Err(Error::Decode {
            offset: Some(o),
            url,
            ..
        }) => {
            assert!(*o > 0);
            assert!(url.ends_with(PODS), "{url}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_collected_list_keeps_its_kind_and_api_version_across_pages() {
    let server = TestServer::start().await.unwrap();
    seed_pods(&server, 5);
    let apps = RestClient::new(
        Config::new(server.url())
            .without_rate_limit()
            .with_api_path("apis")
            .with_group_version(kubecto_rest_core::GroupVersion::new("apps", "v1")),
    )
    .unwrap();
    let deployments = apps
        .get()
        .namespace("default")
        .resource("deployments")
        .send()
        .await
        .unwrap()
        .into_list::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(deployments.kind.as_deref(), Some("DeploymentList"));
    assert_eq!(deployments.api_version.as_deref(), Some("apps/v1"));

    let c = client(&server);
    let pages = kubecto_rest_core::Pager::new(move |opts: ListOptions| {
        c.get().namespace("default").resource("pods").params(&opts)
    })
    .page_size(2)
    .list::<Pod>(ListOptions::default())
    .await
    .unwrap();
    assert_eq!(pages.items.len(), 5);
    assert_eq!(pages.kind.as_deref(), Some("PodList"));
    assert_eq!(pages.api_version.as_deref(), Some("v1"));
}

/// Found by the `list_body` fuzz target: `"metadata": null`, which Go's decoder (and
/// `into`) reads as no metadata, failed the whole list read item by item.
#[tokio::test]
async fn a_null_metadata_is_no_metadata() {
    let body =
        bytes::Bytes::from_static(br#"{"kind":"PodList","metadata":null,"items":[{"a":1}]}"#);
    for chunk in [1, 7, body.len()] {
        let list = body_client(body.clone(), chunk, false)
            .get()
            .send()
            .await
            .unwrap()
            .into_list::<serde_json::Value>()
            .await
            .unwrap();
        assert_eq!(list.items, vec![serde_json::json!({"a": 1})]);
        assert_eq!(list.metadata, kubecto_rest_core::ListMeta::default());
    }
}
