//! Shared helpers for the server-backed tests.
#![allow(dead_code)]

use bytes::Bytes;
use http_body::Frame;
use http_body_util::StreamBody;
use kubecto_rest_core::{BoxError, Config, RequestBody, Response, RestClient};
use kubecto_testserver::TestServer;
use serde_json::{Value, json};

pub const PODS: &str = "/api/v1/namespaces/default/pods";

/// A config for the test server: core/v1, no client-side rate limit.
pub fn config(server: &TestServer) -> Config {
    Config::new(server.url()).without_rate_limit()
}

pub fn client(server: &TestServer) -> RestClient {
    RestClient::new(config(server)).expect("client for the test server")
}

pub fn pod(name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}
    })
}

pub fn seed_pods(server: &TestServer, n: usize) {
    for i in 0..n {
        server.seed(pod(&format!("pod-{i:03}"))).expect("seed pod");
    }
}

/// Sends a LIST of the default namespace's pods; the answer is not read yet.
pub async fn list_pods(client: &RestClient) -> Response {
    client
        .get()
        .namespace("default")
        .resource("pods")
        .send()
        .await
        .expect("LIST pods")
}

/// A client whose every answer is `body`, served in `chunk`-byte pieces, then ending
/// cleanly or, with `fail_at_end`, with a transport error.
pub fn body_client(body: Bytes, chunk: usize, fail_at_end: bool) -> RestClient {
    let svc = tower::service_fn(move |_req: http::Request<RequestBody>| {
        let body = body.clone();
        async move {
            let mut frames: Vec<Result<Frame<Bytes>, BoxError>> = body
                .chunks(chunk)
                .map(|c| Ok(Frame::data(Bytes::copy_from_slice(c))))
                .collect();
            if fail_at_end {
                frames.push(Err("connection reset".into()));
            }
            let stream = StreamBody::new(futures_util::stream::iter(frames));
            Ok::<_, std::convert::Infallible>(http::Response::new(stream))
        }
    });
    RestClient::builder(Config::new("http://unused.invalid"))
        .service(svc)
        .build()
        .expect("client over a fixed body")
}

/// [`body_client`] ending cleanly.
pub fn fixed_body_client(body: Bytes, chunk: usize) -> RestClient {
    body_client(body, chunk, false)
}
