//! Gzip as kube-apiserver's APIResponseCompression answers: only for `Accept-Encoding:
//! gzip`, only past 128 KiB, never for watches, and off with `TestServerBuilder::gzip(false)`.

mod common;

use std::io::Read as _;

use common::{Http, TestServer};
use http_body_util::BodyExt as _;
use serde_json::json;

async fn get(http: &Http, path: &str, gzip: bool) -> (http::HeaderMap, Vec<u8>) {
    let headers: &[(&str, &str)] = if gzip {
        &[("accept-encoding", "gzip")]
    } else {
        &[]
    };
    let res = http.start("GET", path, headers, "").await;
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    (headers, body)
}

fn seed_big(server: &TestServer) {
    for i in 0..40 {
        server
            .seed(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": format!("c{i}"), "namespace": "default"},
                "data": {"blob": "x".repeat(5_000)}}))
            .unwrap();
    }
}

#[tokio::test]
async fn a_large_list_is_gzipped_and_inflates_to_the_same_json() {
    let server = TestServer::start().await.unwrap();
    seed_big(&server);
    let http = Http::new(&server);
    let path = "/api/v1/namespaces/default/configmaps";
    let (plain_headers, plain) = get(&http, path, false).await;
    assert!(plain.len() > 128 * 1024, "{}", plain.len());
    assert!(plain_headers.get("content-encoding").is_none());
    let (headers, zipped) = get(&http, path, true).await;
    assert_eq!(headers["content-encoding"], "gzip");
    assert_eq!(headers["vary"], "Accept-Encoding");
    assert!(zipped.len() < plain.len() / 10, "{}", zipped.len());
    let mut inflated = Vec::new();
    flate2::read::GzDecoder::new(&zipped[..])
        .read_to_end(&mut inflated)
        .unwrap();
    assert_eq!(inflated, plain);
    let v: serde_json::Value = serde_json::from_slice(&inflated).unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 40);
}

#[tokio::test]
async fn small_answers_watches_and_a_server_without_gzip_are_plain() {
    let server = TestServer::start().await.unwrap();
    seed_big(&server);
    let http = Http::new(&server);
    let (headers, body) = get(&http, "/api/v1/namespaces/default/configmaps/c1", true).await;
    assert!(headers.get("content-encoding").is_none());
    assert!(serde_json::from_slice::<serde_json::Value>(&body).is_ok());
    // A watch that ends at once (timeoutSeconds=1) is never compressed, however large.
    let (headers, _) = get(
        &http,
        "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1",
        true,
    )
    .await;
    assert!(headers.get("content-encoding").is_none());

    let off = TestServer::builder().gzip(false).start().await.unwrap();
    seed_big(&off);
    let (headers, body) = get(
        &Http::new(&off),
        "/api/v1/namespaces/default/configmaps",
        true,
    )
    .await;
    assert!(headers.get("content-encoding").is_none());
    assert!(body.len() > 128 * 1024);
}
