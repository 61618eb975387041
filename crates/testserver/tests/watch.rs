//! WATCH: resume from a resourceVersion, initial events, bookmarks, 410, selectors.

mod common;
use std::time::Duration;

use common::*;
use futures_util::StreamExt as _;
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use serde_json::{Value, json};

const CMS: &str = "/api/v1/namespaces/default/configmaps";

/// Reads newline-delimited events from a streaming response.
struct Events {
    body: Incoming,
    buf: Vec<u8>,
}

impl Events {
    fn new(res: http::Response<Incoming>) -> Events {
        assert_eq!(res.status(), 200);
        Events {
            body: res.into_body(),
            buf: Vec::new(),
        }
    }

    async fn next(&mut self) -> Option<Value> {
        loop {
            if let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                return Some(serde_json::from_slice(&line).expect("event is JSON"));
            }
            let frame = tokio::time::timeout(Duration::from_secs(5), self.body.frame())
                .await
                .expect("event in time")?;
            if let Ok(data) = frame.expect("body frame").into_data() {
                self.buf.extend_from_slice(&data);
            }
        }
    }
}

fn summary(ev: &Value) -> (String, String) {
    (
        ev["type"].as_str().unwrap().to_owned(),
        ev["object"]["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[tokio::test]
async fn watch_from_a_resource_version_sees_later_writes() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let created = http.post(CMS, &configmap("a")).await.json();
    let rv = created["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut events = Events::new(
        http.start(
            "GET",
            &format!("{CMS}?watch=true&resourceVersion={rv}"),
            &[],
            "",
        )
        .await,
    );
    http.post(CMS, &configmap("b")).await;
    let mut changed = http.get(&format!("{CMS}/a")).await.json();
    changed["data"]["k"] = json!("v2");
    http.put(&format!("{CMS}/a"), &changed).await;
    http.delete(&format!("{CMS}/b")).await;
    let e1 = events.next().await.unwrap();
    assert_eq!(summary(&e1), ("ADDED".into(), "b".into()));
    assert_eq!(e1["object"]["kind"], "ConfigMap");
    assert_eq!(e1["object"]["apiVersion"], "v1");
    let e2 = events.next().await.unwrap();
    assert_eq!(summary(&e2), ("MODIFIED".into(), "a".into()));
    assert_eq!(e2["object"]["data"]["k"], "v2");
    let e3 = events.next().await.unwrap();
    assert_eq!(summary(&e3), ("DELETED".into(), "b".into()));
    // Resource versions increase.
    let rvs: Vec<u64> = [&e1, &e2, &e3]
        .iter()
        .map(|e| {
            e["object"]["metadata"]["resourceVersion"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(rvs.windows(2).all(|w| w[0] < w[1]), "{rvs:?}");
}

#[tokio::test]
async fn watch_without_resource_version_starts_with_current_state() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    http.post(CMS, &configmap("a")).await;
    http.post(
        "/api/v1/namespaces/kube-system/configmaps",
        &configmap("other-ns"),
    )
    .await;
    let mut events = Events::new(http.start("GET", &format!("{CMS}?watch=1"), &[], "").await);
    assert_eq!(
        summary(&events.next().await.unwrap()),
        ("ADDED".into(), "a".into())
    );
    http.post(CMS, &configmap("b")).await;
    assert_eq!(
        summary(&events.next().await.unwrap()),
        ("ADDED".into(), "b".into())
    );
}

#[tokio::test]
async fn send_initial_events_ends_with_the_annotated_bookmark() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    http.post(CMS, &configmap("a")).await;
    http.post(CMS, &configmap("b")).await;
    let path = format!(
        "{CMS}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"
    );
    let mut events = Events::new(http.start("GET", &path, &[], "").await);
    assert_eq!(summary(&events.next().await.unwrap()).0, "ADDED");
    assert_eq!(summary(&events.next().await.unwrap()).0, "ADDED");
    let bookmark = events.next().await.unwrap();
    assert_eq!(bookmark["type"], "BOOKMARK");
    assert_eq!(bookmark["object"]["kind"], "ConfigMap");
    assert_eq!(
        bookmark["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    http.delete(&format!("{CMS}/a")).await;
    assert_eq!(
        summary(&events.next().await.unwrap()),
        ("DELETED".into(), "a".into())
    );
    // Without resourceVersionMatch=NotOlderThan it is refused.
    let res = http
        .get(&format!(
            "{CMS}?watch=true&sendInitialEvents=true&allowWatchBookmarks=true"
        ))
        .await;
    assert_eq!(res.status, 422);
}

#[tokio::test]
async fn too_old_resource_version_is_an_error_event() {
    let server = TestServer::builder()
        .watch_history(2)
        .start()
        .await
        .unwrap();
    let http = Http::new(&server);
    for i in 0..5 {
        http.post(CMS, &configmap(&format!("c{i}"))).await;
    }
    let mut events = Events::new(
        http.start(
            "GET",
            &format!("{CMS}?watch=true&resourceVersion=2"),
            &[],
            "",
        )
        .await,
    );
    let ev = events.next().await.unwrap();
    assert_eq!(ev["type"], "ERROR");
    assert_eq!(ev["object"]["kind"], "Status");
    assert_eq!(ev["object"]["code"], 410);
    assert_eq!(ev["object"]["reason"], "Expired");
    assert!(
        ev["object"]["message"]
            .as_str()
            .unwrap()
            .starts_with("too old resource version: 2 (")
    );
    assert!(
        events.next().await.is_none(),
        "the stream ends after the error"
    );
}

#[tokio::test]
async fn label_selector_watch_reports_transitions() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let mut cm = configmap("a");
    cm["metadata"]["labels"] = json!({"team": "x"});
    let created = http.post(CMS, &cm).await.json();
    let rv = created["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut events = Events::new(
        http.start(
            "GET",
            &format!("{CMS}?watch=true&resourceVersion={rv}&labelSelector=team%3Dx"),
            &[],
            "",
        )
        .await,
    );
    let mut obj = created.clone();
    obj["metadata"]["labels"]["team"] = json!("y");
    let obj = http.put(&format!("{CMS}/a"), &obj).await.json();
    let left = events.next().await.unwrap();
    assert_eq!(summary(&left), ("DELETED".into(), "a".into()));
    // As it was before the write that took it out, with that write's resourceVersion.
    assert_eq!(left["object"]["metadata"]["labels"]["team"], "x");
    assert_eq!(
        left["object"]["metadata"]["resourceVersion"],
        obj["metadata"]["resourceVersion"]
    );
    let mut back = obj.clone();
    back["metadata"]["labels"]["team"] = json!("x");
    http.put(&format!("{CMS}/a"), &back).await;
    assert_eq!(
        summary(&events.next().await.unwrap()),
        ("ADDED".into(), "a".into())
    );
}

#[tokio::test]
async fn bookmarks_and_timeout() {
    let server = TestServer::builder()
        .bookmark_interval(Duration::from_millis(100))
        .start()
        .await
        .unwrap();
    let http = Http::new(&server);
    let rv = http.get(CMS).await.json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    let path =
        format!("{CMS}?watch=true&resourceVersion={rv}&allowWatchBookmarks=true&timeoutSeconds=1");
    let mut events = Events::new(http.start("GET", &path, &[], "").await);
    let bm = events.next().await.unwrap();
    assert_eq!(bm["type"], "BOOKMARK");
    assert!(bm["object"]["metadata"]["resourceVersion"].is_string());
    let started = std::time::Instant::now();
    while events.next().await.is_some() {}
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "timeoutSeconds ends the stream"
    );
}

#[tokio::test]
async fn watch_of_all_namespaces_through_futures_stream() {
    // The body is a plain chunked stream any HTTP client can read.
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let res = http
        .start(
            "GET",
            "/api/v1/configmaps?watch=true&resourceVersion=0",
            &[],
            "",
        )
        .await;
    assert_eq!(res.headers()["content-type"], "application/json");
    http.post(
        "/api/v1/namespaces/kube-system/configmaps",
        &configmap("sys"),
    )
    .await;
    let mut stream = http_body_util::BodyStream::new(res.into_body());
    let frame = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let text = String::from_utf8(frame.into_data().unwrap().to_vec()).unwrap();
    assert!(text.contains("\"sys\""), "{text}");
}

#[tokio::test]
async fn a_table_watch_sends_one_row_tables_with_columns_first() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    http.post(CMS, &configmap("a")).await;
    let res = http
        .start(
            "GET",
            &format!("{CMS}?watch=true"),
            &[(
                "accept",
                "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
            )],
            "",
        )
        .await;
    let mut events = Events::new(res);
    let first = events.next().await.unwrap();
    assert_eq!(first["type"], "ADDED");
    assert_eq!(first["object"]["kind"], "Table");
    assert_eq!(first["object"]["columnDefinitions"][1]["name"], "Data");
    assert_eq!(first["object"]["rows"][0]["cells"][0], "a");
    http.post(CMS, &configmap("b")).await;
    let second = events.next().await.unwrap();
    assert_eq!(second["type"], "ADDED");
    assert_eq!(second["object"]["columnDefinitions"], Value::Null);
    assert_eq!(second["object"]["rows"][0]["cells"][0], "b");
}
