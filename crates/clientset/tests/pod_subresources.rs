//! Pod subresources: logs (whole and streamed), eviction, binding and ephemeral
//! containers. These tests check the exact request that reaches the server and that the
//! server's answer surfaces (logs are the text the test server was given).

mod common;

use common::{last_request, pod, start, typed};
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{Binding, Pod};
use kubecto_clientset::{LogOptions, Patch};
use kubecto_rest_core::{CreateOptions, DeleteOptions, Error, PatchOptions, UpdateOptions};
use serde_json::json;

/// The decoded answer of a call the server must serve.
fn served<T>(what: &str, result: Result<T, Error>) -> T {
    result.unwrap_or_else(|e| panic!("{what}: {e}"))
}

#[tokio::test]
async fn logs_whole_and_streamed() {
    let (server, cs) = start().await;
    let pods = cs.core_v1().pods("default");
    pods.create(&pod("web-0", "web"), &CreateOptions::new())
        .await
        .expect("create");
    let path = "/api/v1/namespaces/default/pods/web-0/log";
    server.set_pod_log("default", "web-0", "main", "one\ntwo\n");
    server.set_previous_pod_log("default", "web-0", "main", "old\n");

    let opts = LogOptions::new()
        .container("main")
        .tail_lines(10)
        .since_seconds(60)
        .timestamps(true);
    let text = pods.logs("web-0", &opts).await.expect("logs");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text:?}");
    assert!(lines[1].ends_with(" two"), "{text:?}");
    let req = last_request(&server, "GET", path).expect("GET log recorded");
    assert_eq!(
        req.query,
        "container=main&sinceSeconds=60&tailLines=10&timestamps=true"
    );

    let follow = LogOptions::new()
        .container("main")
        .follow(true)
        .since_time("2026-01-02T15:04:05Z");
    let stream = pods.log_stream("web-0", &follow).await.expect("log stream");
    let mut stream = Box::pin(stream);
    let first = common::within("the first log chunk", stream.next()).await;
    assert!(matches!(first, Some(Ok(_))), "{first:?}");
    drop(stream);
    let req = last_request(&server, "GET", path).expect("GET log recorded");
    assert_eq!(
        req.query,
        "container=main&follow=true&sinceTime=2026-01-02T15%3A04%3A05Z"
    );

    let lines = pods
        .log_lines("web-0", &LogOptions::new().previous(true))
        .await
        .expect("previous log lines");
    let mut lines = Box::pin(lines);
    let mut got = Vec::new();
    while let Some(line) = common::within("the log lines", lines.next()).await {
        let line = line.expect("line");
        assert!(!line.contains('\n'));
        got.push(line.to_string());
    }
    assert_eq!(got, ["old"]);
    let req = last_request(&server, "GET", path).expect("GET log recorded");
    assert_eq!(req.query, "previous=true");
    server.shutdown().await;
}

#[tokio::test]
async fn eviction_posts_a_policy_v1_eviction() {
    let (server, cs) = start().await;
    let pods = cs.core_v1().pods("default");
    pods.create(&pod("web-0", "web"), &CreateOptions::new())
        .await
        .expect("create");
    let result = pods
        .evict("web-0", &DeleteOptions::new().grace_period_seconds(5))
        .await;
    let status = served("evict", result);
    assert!(status.is_success(), "{status:?}");
    let gone = pods.get("web-0").await.expect_err("evicted");
    assert!(gone.is_not_found(), "{gone}");
    assert!(
        last_request(
            &server,
            "POST",
            "/api/v1/namespaces/default/pods/web-0/eviction"
        )
        .is_some()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn binding_posts_to_the_named_pod() {
    let (server, cs) = start().await;
    let pods = cs.core_v1().pods("default");
    pods.create(&pod("web-0", "web"), &CreateOptions::new())
        .await
        .expect("create");
    let binding: Binding = typed(json!({
        "metadata": {"name": "web-0"},
        "target": {"apiVersion": "v1", "kind": "Node", "name": "node-a"}
    }));
    let result = pods
        .bind(&binding, &CreateOptions::new().dry_run(true))
        .await;
    let status = served("bind", result);
    assert!(status.is_success(), "{status:?}");
    let req = last_request(
        &server,
        "POST",
        "/api/v1/namespaces/default/pods/web-0/binding",
    )
    .expect("POST binding recorded");
    assert_eq!(req.query, "dryRun=All");

    // A binding without a name is refused before anything is sent.
    let before = server.requests().len();
    let err = pods
        .bind(&Binding::default(), &CreateOptions::new())
        .await
        .expect_err("no name");
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err}");
    assert_eq!(server.requests().len(), before);
    server.shutdown().await;
}

#[tokio::test]
async fn ephemeral_containers() {
    let (server, cs) = start().await;
    let pods = cs.core_v1().pods("default");
    pods.create(&pod("web-0", "web"), &CreateOptions::new())
        .await
        .expect("create");
    let path = "/api/v1/namespaces/default/pods/web-0/ephemeralcontainers";

    let got = pods.get_ephemeral_containers("web-0").await;
    let current: Pod = served("get ephemeral containers", got);
    assert!(last_request(&server, "GET", path).is_some());

    let mut with_debugger = current.clone();
    with_debugger
        .spec
        .get_or_insert_with(Default::default)
        .ephemeral_containers = Some(vec![typed(json!({"name": "debugger", "image": "busybox"}))]);
    let updated = pods
        .update_ephemeral_containers(&with_debugger, &UpdateOptions::new())
        .await;
    let p = served("update ephemeral containers", updated);
    let names: Vec<_> = p
        .spec
        .and_then(|s| s.ephemeral_containers)
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["debugger"]);
    assert!(last_request(&server, "PUT", path).is_some());

    let patch = Patch::Strategic(json!({"spec": {"ephemeralContainers": [
        {"name": "debugger-2", "image": "busybox"}
    ]}}));
    let patched = pods
        .patch_ephemeral_containers("web-0", &patch, &PatchOptions::new())
        .await;
    let p = served("patch ephemeral containers", patched);
    let mut names: Vec<_> = p
        .spec
        .and_then(|s| s.ephemeral_containers)
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.name)
        .collect();
    names.sort();
    assert_eq!(names, ["debugger", "debugger-2"]);
    assert!(last_request(&server, "PATCH", path).is_some());
    server.shutdown().await;
}
