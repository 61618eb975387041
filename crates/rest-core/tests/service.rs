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

/// An HTTP/1 server answering every request with `size` bytes of JSON string, sent 30 ms
/// after the head (so the client has the head long before the body), counting the
/// connections it accepts.
async fn counting_server(size: usize) -> (String, Arc<AtomicUsize>) {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    let body = bytes::Bytes::from(format!("\"{}\"", "x".repeat(size - 2)));
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            count.fetch_add(1, Ordering::SeqCst);
            let body = body.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |_req| {
                    let body = body.clone();
                    async move {
                        let len = body.len();
                        let late = futures_util::stream::once(async move {
                            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
                            Ok::<_, std::convert::Infallible>(http_body::Frame::data(body))
                        });
                        let resp = hyper::Response::builder()
                            .header("content-length", len)
                            .body(http_body_util::StreamBody::new(late))
                            .unwrap();
                        Ok::<_, std::convert::Infallible>(resp)
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tcp), svc)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), accepted)
}

async fn send_and_drop(url: &str, times: usize) {
    let client = RestClient::new(kubecto_rest_core::Config::new(url).without_rate_limit()).unwrap();
    for _ in 0..times {
        let resp = client
            .delete()
            .resource("pods")
            .name("p")
            .send()
            .await
            .unwrap();
        drop(resp);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn a_small_unread_body_is_drained_so_the_connection_is_reused() {
    let (url, accepted) = counting_server(3000).await;
    send_and_drop(&url, 3).await;
    assert_eq!(accepted.load(Ordering::SeqCst), 1);

    // The control: a body beyond the drain limit is not read, and its connection is not
    // reused, which is what the drain above prevents.
    let (url, accepted) = counting_server(64 * 1024).await;
    send_and_drop(&url, 3).await;
    assert!(accepted.load(Ordering::SeqCst) > 1);
}

/// Requests, responses, their futures and streams can cross threads (`tokio::spawn`).
#[tokio::test]
async fn everything_is_send() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    let server = TestServer::start().await.unwrap();
    let client = common::client(&server);
    send_sync(&client);
    let req = client.get().namespace("default").resource("pods");
    let resp = tokio::spawn(req.send()).await.unwrap().unwrap();
    let list = tokio::spawn(resp.into_list::<serde_json::Value>())
        .await
        .unwrap()
        .unwrap();
    assert!(list.items.is_empty());
    let err = client
        .get()
        .resource("pods")
        .name("..")
        .send()
        .await
        .unwrap_err();
    send_sync(&err);
    let watch = client
        .get()
        .namespace("default")
        .resource("pods")
        .param("timeoutSeconds", 1)
        .watch::<serde_json::Value>();
    tokio::spawn(async move { watch.collect::<Vec<_>>().await })
        .await
        .unwrap();
}
