//! Legacy discovery: a server (or proxy) that answers `/api` and `/apis` in the old form
//! gets the fan-out, one request per group-version, with a concurrency cap, and the same
//! answer aggregated discovery gives.

mod common;

use std::collections::BTreeSet;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use kubecto_discovery::{Discovery, DiscoveryClient, GroupVersion, Source};
use kubecto_rest_core::{BoxError, HttpBody, HttpClient, RequestBody, RestClient};
use kubecto_testserver::{Fault, TestServer};

/// Every (group-version, resource, kind, namespaced, verbs, short names) of an answer.
fn rows(d: &Discovery) -> BTreeSet<String> {
    d.resources()
        .iter()
        .flat_map(|l| {
            l.resources.iter().map(move |r| {
                format!(
                    "{} {} {} {} {:?} {:?} {}/{}",
                    l.group_version,
                    r.name,
                    r.kind,
                    r.namespaced,
                    r.verbs,
                    r.short_names,
                    r.group,
                    r.version
                )
            })
        })
        .collect()
}

#[tokio::test]
async fn legacy_answer_equals_aggregated_answer() {
    let server = TestServer::start().await.unwrap();
    let aggregated = common::client(&server)
        .server_groups_and_resources()
        .await
        .unwrap();
    server.clear_requests();

    let legacy = common::legacy_client(&server)
        .server_groups_and_resources()
        .await
        .unwrap();
    assert_eq!(legacy.source(), Source::Legacy);
    assert!(legacy.is_complete(), "{}", legacy.failed());
    let gvs = legacy.groups().group_versions().count();
    assert!(gvs > 20, "{gvs}");
    // /api, /apis, then one request per group-version.
    assert_eq!(common::discovery_requests(&server), 2 + gvs);
    assert_eq!(rows(&legacy), rows(&aggregated));
    let names = |d: &Discovery| -> Vec<(String, Option<String>)> {
        d.groups()
            .groups
            .iter()
            .map(|g| (g.name.clone(), g.preferred().map(str::to_owned)))
            .collect()
    };
    assert_eq!(names(&legacy), names(&aggregated));
}

/// An API server (or proxy) that does not know aggregated discovery: it drops the
/// aggregated media type from `Accept` before the test server sees it.
#[derive(Clone)]
struct OldServer(HttpClient);

impl tower_service::Service<http::Request<RequestBody>> for OldServer {
    type Response = http::Response<HttpBody>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Self::Response, BoxError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: http::Request<RequestBody>) -> Self::Future {
        req.headers_mut().insert(
            http::header::ACCEPT,
            http::HeaderValue::from_static("application/json"),
        );
        let client = self.0.clone();
        Box::pin(async move { client.send(req).await })
    }
}

#[tokio::test]
async fn falls_back_when_the_server_answers_without_the_aggregated_type() {
    let server = TestServer::start().await.unwrap();
    let mut config = common::config(&server);
    config.accept = kubecto_discovery::AGGREGATED_ACCEPT.to_owned();
    let http = RestClient::http_client(&config).unwrap();
    let rest = RestClient::builder(config)
        .service(OldServer(http))
        .build()
        .unwrap();
    let discovery = DiscoveryClient::from_rest_client(rest);
    let all = discovery.server_groups_and_resources().await.unwrap();
    assert_eq!(all.source(), Source::Legacy);
    assert!(all.is_complete(), "{}", all.failed());
    assert!(
        all.resources_for(&GroupVersion::new("apps", "v1"))
            .unwrap()
            .resources
            .iter()
            .any(|r| r.name == "deployments")
    );
    assert!(server.request_count("GET", "/apis/apps/v1") == 1);
    // And the memory cache holds it: no more requests.
    let before = common::discovery_requests(&server);
    discovery.server_preferred_resources().await.unwrap();
    assert_eq!(common::discovery_requests(&server), before);
}

#[tokio::test]
async fn a_client_asking_for_legacy_only_gets_the_legacy_answer() {
    let server = TestServer::start().await.unwrap();
    let rest = RestClient::new(common::config(&server)).unwrap();
    let all = DiscoveryClient::from_rest_client(rest)
        .with_aggregated(false)
        .server_groups_and_resources()
        .await
        .unwrap();
    assert_eq!(all.source(), Source::Legacy);
    assert!(all.is_complete());
}

#[tokio::test]
async fn fan_out_respects_the_concurrency_cap() {
    let server = TestServer::start().await.unwrap();
    let delay = Duration::from_millis(40);
    server.inject(Fault::delay(delay).path("/apis/*").times(10_000));
    let gvs = common::legacy_client(&server)
        .server_groups()
        .await
        .unwrap()
        .group_versions()
        .filter(|gv| !gv.group.is_empty())
        .count() as u32;

    // One at a time: at least one delay per group-version.
    let serial = DiscoveryClient::builder(common::config(&server))
        .aggregated(false)
        .concurrency(1)
        .build()
        .unwrap();
    let start = Instant::now();
    serial.server_groups_and_resources().await.unwrap();
    let serial_time = start.elapsed();
    assert!(
        serial_time >= delay * gvs,
        "{serial_time:?} for {gvs} group-versions"
    );

    // Concurrently: far less than that.
    let start = Instant::now();
    common::legacy_client(&server)
        .server_groups_and_resources()
        .await
        .unwrap();
    let concurrent_time = start.elapsed();
    assert!(
        concurrent_time * 2 < serial_time,
        "concurrent {concurrent_time:?} vs serial {serial_time:?}"
    );
}

#[tokio::test]
async fn legacy_server_groups_is_two_requests() {
    let server = TestServer::start().await.unwrap();
    let groups = common::legacy_client(&server)
        .server_groups()
        .await
        .unwrap();
    assert_eq!(groups.groups[0].name, "");
    assert!(groups.groups.iter().any(|g| g.name == "apps"));
    assert_eq!(common::discovery_requests(&server), 2);
}
