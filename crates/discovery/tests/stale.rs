//! A stale aggregated group (an aggregated API server that stopped answering, such as
//! metrics-server) is reported as that group-version's failure; everything else is served
//! from the same two requests. The test server has no aggregated API servers, so a tower
//! service in front of it marks one version `Stale` in the `/apis` document, as
//! kube-apiserver does.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use kubecto_discovery::{DiscoveryClient, GroupVersion, GroupVersionError, RestMapper};
use kubecto_rest_core::{HttpClient, RequestBody, RestClient};
use kubecto_testserver::TestServer;

#[derive(Clone)]
struct MarkStale(HttpClient, &'static str);

impl tower_service::Service<http::Request<RequestBody>> for MarkStale {
    type Response = http::Response<Full<Bytes>>;
    type Error = Box<dyn std::error::Error + Send + Sync>;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<RequestBody>) -> Self::Future {
        let (client, group) = (self.0.clone(), self.1);
        let is_apis = req.uri().path() == "/apis";
        Box::pin(async move {
            let resp = client.send(req).await?;
            let (parts, body) = resp.into_parts();
            let mut bytes = body.collect().await?.to_bytes();
            let aggregated = parts
                .headers
                .get(http::header::CONTENT_TYPE)
                .is_some_and(|v| v.to_str().unwrap_or_default().contains("apidiscovery"));
            if is_apis && aggregated {
                let mut doc: serde_json::Value = serde_json::from_slice(&bytes)?;
                for item in doc["items"].as_array_mut().into_iter().flatten() {
                    if item["metadata"]["name"] == group {
                        for v in item["versions"].as_array_mut().into_iter().flatten() {
                            v["freshness"] = "Stale".into();
                            v["resources"] = serde_json::json!([]);
                        }
                    }
                }
                bytes = Bytes::from(serde_json::to_vec(&doc)?);
            }
            Ok(http::Response::from_parts(parts, Full::new(bytes)))
        })
    }
}

fn client_marking(server: &TestServer, group: &'static str) -> DiscoveryClient {
    let mut config = common::config(server);
    config.accept = kubecto_discovery::AGGREGATED_ACCEPT.to_owned();
    let http = RestClient::http_client(&config).unwrap();
    let rest = RestClient::builder(config)
        .service(MarkStale(http, group))
        .build()
        .unwrap();
    DiscoveryClient::from_rest_client(rest)
}

#[tokio::test]
async fn a_stale_group_is_reported_and_the_rest_is_served() {
    let server = TestServer::start().await.unwrap();
    let discovery = client_marking(&server, "batch");
    let all = discovery.server_groups_and_resources().await.unwrap();
    let batch = GroupVersion::new("batch", "v1");
    assert!(matches!(
        all.failed().get(&batch),
        Some(GroupVersionError::Stale)
    ));
    assert_eq!(all.failed().len(), 1);
    assert!(all.resources_for(&batch).is_none());
    // The group is still listed (its versions exist), as client-go lists it.
    assert!(all.groups().groups.iter().any(|g| g.name == "batch"));
    assert!(
        all.resources_for(&GroupVersion::new("apps", "v1"))
            .is_some()
    );
    assert_eq!(common::discovery_requests(&server), 2);
    let text = all.failed().to_string();
    assert!(text.contains("batch/v1: stale"), "{text}");

    // Stale is the server's verdict: the memory cache does not ask again for it.
    discovery.server_groups_and_resources().await.unwrap();
    assert_eq!(common::discovery_requests(&server), 2);

    // The mapper serves everything else and names the incomplete discovery on a miss.
    let mapper = RestMapper::new(discovery);
    assert_eq!(
        mapper
            .resource_for("deploy")
            .await
            .unwrap()
            .resource
            .resource,
        "deployments"
    );
    let err = mapper.resource_for("cronjobs").await.unwrap_err();
    assert!(err.to_string().contains("incomplete discovery"), "{err}");
}
