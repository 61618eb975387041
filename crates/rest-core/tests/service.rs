//! The default HTTP client is a tower service that users can wrap in their own layers.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{PODS, config, pod, seed_pods};
use futures_util::StreamExt;
use kubecto_rest_core::{Error, RequestBody, RestClient, TransportKind};
use kubecto_testserver::{Fault, TestServer};
use tower::ServiceBuilder;

#[tokio::test]
async fn the_default_client_wrapped_in_a_layer_still_retries_and_classifies() {
    let server = TestServer::start().await.unwrap();
    let cfg = config(&server);
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    let svc = ServiceBuilder::new()
        .map_request(move |mut req: http::Request<RequestBody>| {
            counter.fetch_add(1, Ordering::SeqCst);
            req.headers_mut()
                .insert("x-layer", http::HeaderValue::from_static("yes"));
            req
        })
        .service(RestClient::http_client(&cfg).unwrap());
    let client = RestClient::builder(cfg).service(svc).build().unwrap();

    server.inject(Fault::status(429).retry_after("0").method("GET").path(PODS));
    client
        .get()
        .namespace("default")
        .resource("pods")
        .send()
        .await
        .unwrap();
    assert_eq!(
        seen.load(Ordering::SeqCst),
        2,
        "the layer sees every attempt"
    );

    server.inject(Fault::drop_connection().method("POST").path(PODS));
    let err = client
        .post()
        .namespace("default")
        .resource("pods")
        .json(&pod("p"))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                kind: TransportKind::ConnectionReset,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(server.request_count("POST", PODS), 1);
}

#[tokio::test]
async fn raw_chunks_add_up_to_the_body() {
    let server = TestServer::start().await.unwrap();
    seed_pods(&server, 3);
    let client = common::client(&server);
    let whole = client
        .get()
        .namespace("default")
        .resource("pods")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    server.inject(Fault::rechunk(100).method("GET").path(PODS));
    let chunks: Vec<_> = client
        .get()
        .namespace("default")
        .resource("pods")
        .send()
        .await
        .unwrap()
        .stream()
        .collect()
        .await;
    assert!(chunks.len() > 3, "{} chunks", chunks.len());
    let joined: Vec<u8> = chunks
        .into_iter()
        .flat_map(|c| c.unwrap().to_vec())
        .collect();
    // resourceVersion is the same: nothing was written in between.
    assert_eq!(joined, whole.to_vec());
}
