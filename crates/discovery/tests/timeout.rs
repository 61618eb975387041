//! Timeouts: discovery requests carry client-go's 32 s default when the config sets none,
//! so a group-version that never answers is reported failed instead of hanging discovery.

mod common;

use std::time::{Duration, Instant};

use kubecto_discovery::{
    DEFAULT_DISCOVERY_TIMEOUT, DiscoveryClient, GroupVersion, GroupVersionError,
};
use kubecto_testserver::{Fault, TestServer};

#[tokio::test]
async fn without_a_configured_timeout_each_request_asks_for_32_seconds() {
    let server = TestServer::start().await.unwrap();
    assert!(common::config(&server).timeout.is_none());
    common::legacy_client(&server)
        .server_groups_and_resources()
        .await
        .unwrap();
    let requests = server.requests();
    assert!(requests.len() > 3, "{requests:?}");
    assert_eq!(DEFAULT_DISCOVERY_TIMEOUT, Duration::from_secs(32));
    for r in &requests {
        assert!(
            r.query.split('&').any(|p| p == "timeout=32s"),
            "{} {}?{}",
            r.method,
            r.path,
            r.query
        );
    }
}

#[tokio::test]
async fn a_group_version_that_never_answers_fails_alone_after_the_timeout() {
    let server = TestServer::start().await.unwrap();
    // Fault: apps/v1 answers only after ten minutes.
    server.inject(
        Fault::delay(Duration::from_secs(600))
            .method("GET")
            .path("/apis/apps/v1")
            .always(),
    );
    let discovery =
        DiscoveryClient::builder(common::config(&server).with_timeout(Duration::from_millis(500)))
            .aggregated(false)
            .build()
            .unwrap();
    let started = Instant::now();
    let all = discovery.server_groups_and_resources().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let apps = GroupVersion::new("apps", "v1");
    match all.failed().get(&apps) {
        Some(GroupVersionError::Request { source, .. }) => {
            assert!(source.is_timeout(), "{source:?}")
        }
        other => panic!("expected apps/v1 to time out, got {other:?}"),
    }
    assert!(all.resources_for(&GroupVersion::core_v1()).is_some());
}
