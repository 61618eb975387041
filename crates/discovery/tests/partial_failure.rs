//! Partial failure: one group-version that cannot be discovered is reported with its own
//! error, and everything else is still answered; a group-version the server does not serve
//! is a NotFound that names it.

mod common;

use kubecto_discovery::{GroupVersion, GroupVersionError};
use kubecto_testserver::{Fault, TestServer};

#[tokio::test]
async fn a_failing_group_version_is_reported_alone() {
    let server = TestServer::start().await.unwrap();
    // Fault: apps/v1 answers 503 (no Retry-After, so no retry) every time.
    server.inject(
        Fault::status(503)
            .method("GET")
            .path("/apis/apps/v1")
            .times(100),
    );
    let discovery = common::legacy_client(&server);
    let all = discovery.server_groups_and_resources().await.unwrap();

    let apps = GroupVersion::new("apps", "v1");
    assert_eq!(all.failed().len(), 1, "{}", all.failed());
    match all.failed().get(&apps) {
        Some(GroupVersionError::Request { path, source }) => {
            assert_eq!(path, "/apis/apps/v1");
            assert_eq!(source.code(), Some(503));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(all.resources_for(&apps).is_none());
    assert!(
        all.resources_for(&GroupVersion::new("batch", "v1"))
            .is_some()
    );
    assert!(all.resources_for(&GroupVersion::core_v1()).is_some());

    // What must survive: the preferred view carries the failure too, and the error
    // message names the group-version, kubectl's way.
    let preferred = discovery.server_preferred_resources().await.unwrap();
    assert!(preferred.failed.contains(&apps));
    assert!(
        preferred
            .lists
            .iter()
            .flat_map(|l| &l.resources)
            .any(|r| r.name == "jobs")
    );
    let message = all
        .as_ref()
        .clone()
        .into_complete()
        .unwrap_err()
        .to_string();
    assert!(
        message.starts_with("unable to retrieve the complete list of server APIs: apps/v1:"),
        "{message}"
    );
}

#[tokio::test]
async fn a_failed_group_version_is_asked_again_on_the_next_call() {
    let server = TestServer::start().await.unwrap();
    server.inject(Fault::status(503).method("GET").path("/apis/batch/v1"));
    let discovery = common::legacy_client(&server);
    let first = discovery.server_groups_and_resources().await.unwrap();
    assert!(first.failed().contains(&GroupVersion::new("batch", "v1")));
    server.clear_requests();

    // The fault was for one request only: the next call asks for batch/v1 alone.
    let second = discovery.server_groups_and_resources().await.unwrap();
    assert!(second.is_complete(), "{}", second.failed());
    assert_eq!(
        common::discovery_requests(&server),
        1,
        "{:?}",
        server.requests()
    );
    assert_eq!(server.request_count("GET", "/apis/batch/v1"), 1);
}

#[tokio::test]
async fn root_failure_is_one_error_naming_the_path() {
    let server = TestServer::start().await.unwrap();
    server.inject(Fault::status(500).method("GET").path("/apis"));
    let err = common::client(&server)
        .server_groups_and_resources()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("GET /apis"), "{text}");
}

#[tokio::test]
async fn unserved_group_version_is_not_found_and_named() {
    let server = TestServer::start().await.unwrap();
    let discovery = common::client(&server);
    let err = discovery
        .server_resources_for_group_version(&GroupVersion::new("example.com", "v1"))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert!(err.to_string().contains("/apis/example.com/v1"), "{err}");
}

#[tokio::test]
async fn one_group_version_by_itself() {
    let server = TestServer::start().await.unwrap();
    let discovery = common::client(&server);
    let list = discovery
        .server_resources_for_group_version(&GroupVersion::new("batch", "v1"))
        .await
        .unwrap();
    assert_eq!(list.group_version, "batch/v1");
    assert!(list.resources.iter().any(|r| r.name == "cronjobs"));
    assert_eq!(common::discovery_requests(&server), 1);
}
