//! The event recorder against the test server: the Event it writes, series of repeats,
//! the spam filter, aggregation of similar events, and client-go's answers to a deleted
//! Event (404: create it again) and to a create racing a patch (409: retry).

mod common;

use std::time::Duration;

use common::*;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::api::events::v1::Event;
use kubecto_clientset::Api;
use kubecto_rest_core::{CreateOptions, DeleteOptions, ListOptions};
use kubecto_runtime::events::{
    EventRecorder, EventRecorderConfig, EventType, MAX_NOTE_BYTES, object_reference,
};
use kubecto_testserver::{Fault, TestServer};

const EVENTS_PATH: &str = "/apis/events.k8s.io/v1/namespaces/default/events";

fn events_api(server: &TestServer, ns: &str) -> Api<Event> {
    Api::namespaced(client(server), ns)
}

async fn events(server: &TestServer, ns: &str) -> Vec<Event> {
    events_api(server, ns)
        .list(&ListOptions::new())
        .await
        .expect("list events")
        .items
}

/// Quick retries and a short heartbeat, so that tests see them in a second.
fn fast() -> EventRecorderConfig {
    EventRecorderConfig::default()
        .retries(Duration::from_millis(50), 12)
        .series(Duration::from_secs(60), Duration::from_millis(300))
}

async fn configmap(server: &TestServer, name: &str) -> ConfigMap {
    configmaps(server)
        .create(&cm(name, "x"), &CreateOptions::new())
        .await
        .unwrap()
}

fn series_count(e: &Event) -> Option<i32> {
    e.series.as_ref().map(|s| s.count)
}

#[tokio::test]
async fn an_event_is_created_with_the_fields_client_go_writes() {
    let server = TestServer::start().await.unwrap();
    let web = configmap(&server, "web").await;
    let db = configmap(&server, "db").await;
    let recorder = EventRecorder::with_config(client(&server), "example.com/ctl", "ctl-0", fast());
    let long_note = "n".repeat(3000);
    recorder.event(
        &object_reference(&web),
        Some(&object_reference(&db)),
        EventType::Warning,
        "Mismatch",
        "Compare",
        &long_note,
    );
    let mut ns = Namespace::default();
    ns.metadata.name = Some("team-a".into());
    recorder.event(
        &object_reference(&ns),
        None,
        EventType::Normal,
        "Seen",
        "Observe",
        "cluster-scoped",
    );
    recorder.flush().await;

    let all = events(&server, NS).await;
    assert_eq!(all.len(), 2, "{all:?}");
    let e = all
        .iter()
        .find(|e| e.reason.as_deref() == Some("Mismatch"))
        .unwrap();
    let name = e.metadata.name.as_deref().unwrap();
    let suffix = name
        .strip_prefix("web.")
        .expect("named <regarding>.<suffix>");
    assert!(
        !suffix.is_empty() && suffix.chars().all(|c| c.is_ascii_hexdigit()),
        "{name}"
    );
    assert_eq!(e.metadata.namespace.as_deref(), Some(NS));
    assert_eq!(e.type_.as_deref(), Some("Warning"));
    assert_eq!(e.action.as_deref(), Some("Compare"));
    assert_eq!(e.reporting_controller.as_deref(), Some("example.com/ctl"));
    assert_eq!(e.reporting_instance.as_deref(), Some("ctl-0"));
    assert_eq!(e.note.as_deref().map(str::len), Some(MAX_NOTE_BYTES));
    assert!(e.event_time.is_some());
    assert!(e.series.is_none());
    let regarding = e.regarding.as_ref().unwrap();
    assert_eq!(regarding.kind.as_deref(), Some("ConfigMap"));
    assert_eq!(regarding.api_version.as_deref(), Some("v1"));
    assert_eq!(regarding.name.as_deref(), Some("web"));
    assert_eq!(regarding.uid, web.metadata.uid);
    assert_eq!(
        e.related.as_ref().and_then(|r| r.name.as_deref()),
        Some("db")
    );
    let cluster = all
        .iter()
        .find(|e| e.reason.as_deref() == Some("Seen"))
        .unwrap();
    assert!(
        cluster
            .metadata
            .name
            .as_deref()
            .unwrap()
            .starts_with("team-a.")
    );
    assert_eq!(
        cluster.metadata.namespace.as_deref(),
        Some("default"),
        "a cluster-scoped object's events go to default"
    );
}

#[tokio::test]
async fn ten_identical_events_become_one_event_with_a_series_of_ten() {
    let server = TestServer::start().await.unwrap();
    let web = configmap(&server, "web").await;
    let recorder = EventRecorder::with_config(client(&server), "ctl", "ctl-0", fast());
    let started = std::time::Instant::now();
    for _ in 0..10 {
        recorder.event(
            &object_reference(&web),
            None,
            EventType::Normal,
            "Synced",
            "Sync",
            "in sync",
        );
    }
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "event() does not wait for the server"
    );
    // No flush: the heartbeat writes the count.
    let mut last = Vec::new();
    for _ in 0..100 {
        last = events(&server, NS).await;
        if last.len() == 1 && series_count(&last[0]) == Some(10) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(last.len(), 1, "{last:?}");
    assert_eq!(series_count(&last[0]), Some(10), "{last:?}");
    // One create and one patch per write: the second occurrence, then the heartbeat.
    assert_eq!(server.request_count("POST", EVENTS_PATH), 1);

    // A different note is another event.
    recorder.event(
        &object_reference(&web),
        None,
        EventType::Normal,
        "Synced",
        "Sync",
        "in sync again",
    );
    recorder.flush().await;
    assert_eq!(events(&server, NS).await.len(), 2);
}

#[tokio::test]
async fn the_spam_filter_drops_events_past_the_burst() {
    let server = TestServer::start().await.unwrap();
    let web = configmap(&server, "web").await;
    let db = configmap(&server, "db").await;
    let recorder = EventRecorder::with_config(client(&server), "ctl", "ctl-0", fast());
    for i in 0..30 {
        recorder.event(
            &object_reference(&web),
            None,
            EventType::Warning,
            &format!("Reason{i}"),
            "Act",
            "x",
        );
    }
    recorder.event(
        &object_reference(&db),
        None,
        EventType::Warning,
        "Reason0",
        "Act",
        "x",
    );
    recorder.flush().await;
    let all = events(&server, NS).await;
    let about = |name: &str| {
        all.iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
            .count()
    };
    assert_eq!(about("web"), 25, "a burst of 25 per source and object");
    assert_eq!(about("db"), 1, "another object has its own budget");
}

#[tokio::test]
async fn similar_events_are_combined_from_the_tenth_note_on() {
    let server = TestServer::start().await.unwrap();
    let web = configmap(&server, "web").await;
    let recorder = EventRecorder::with_config(client(&server), "ctl", "ctl-0", fast());
    for i in 0..15 {
        recorder.event(
            &object_reference(&web),
            None,
            EventType::Warning,
            "Failed",
            "Sync",
            &format!("attempt {i} failed"),
        );
    }
    recorder.flush().await;
    let all = events(&server, NS).await;
    assert_eq!(all.len(), 10, "nine single events and one combined");
    let combined: Vec<&Event> = all
        .iter()
        .filter(|e| {
            e.note
                .as_deref()
                .is_some_and(|n| n.starts_with("(combined from similar events): "))
        })
        .collect();
    assert_eq!(combined.len(), 1, "{all:?}");
    assert_eq!(series_count(combined[0]), Some(6));
}

#[tokio::test]
async fn a_series_whose_event_was_deleted_creates_it_again() {
    let server = TestServer::start().await.unwrap();
    let web = configmap(&server, "web").await;
    let recorder = EventRecorder::with_config(client(&server), "ctl", "ctl-0", fast());
    let record = || {
        recorder.event(
            &object_reference(&web),
            None,
            EventType::Normal,
            "Scaled",
            "Scale",
            "to 3",
        )
    };
    record();
    recorder.flush().await;
    let first = events(&server, NS).await;
    assert_eq!(first.len(), 1);
    let name = first[0].metadata.name.clone().unwrap();
    events_api(&server, NS)
        .delete(&name, &DeleteOptions::new())
        .await
        .unwrap();
    server.clear_requests();
    record();
    recorder.flush().await;
    let again = events(&server, NS).await;
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(again[0].metadata.name.as_deref(), Some(name.as_str()));
    assert_eq!(series_count(&again[0]), Some(2));
    let writes: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with(EVENTS_PATH) && r.method != "GET")
        .map(|r| r.method)
        .collect();
    assert_eq!(
        writes,
        ["PATCH", "POST"],
        "a 404 on the patch, then a create"
    );
}

#[tokio::test]
async fn a_series_create_that_finds_the_event_retries_its_patch() {
    let server = TestServer::start().await.unwrap();
    let web = configmap(&server, "web").await;
    let recorder = EventRecorder::with_config(client(&server), "ctl", "ctl-0", fast());
    let record = || {
        recorder.event(
            &object_reference(&web),
            None,
            EventType::Normal,
            "Scaled",
            "Scale",
            "to 3",
        )
    };
    record();
    recorder.flush().await;
    server.clear_requests();
    // The patch misses as if the create were still in flight; the create then answers 409
    // AlreadyExists, which for a series means: try the patch again.
    server.inject(
        Fault::status(404)
            .method("PATCH")
            .path(&format!("{EVENTS_PATH}/*")),
    );
    record();
    recorder.flush().await;
    let all = events(&server, NS).await;
    assert_eq!(all.len(), 1);
    assert_eq!(series_count(&all[0]), Some(2));
    let writes: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with(EVENTS_PATH) && r.method != "GET")
        .map(|r| r.method)
        .collect();
    assert_eq!(writes, ["PATCH", "POST", "PATCH"]);
}

#[tokio::test]
async fn failed_writes_are_retried_or_dropped_and_never_reach_the_caller() {
    let server = TestServer::start().await.unwrap();
    let web = configmap(&server, "web").await;
    let recorder = EventRecorder::with_config(client(&server), "ctl", "ctl-0", fast());
    // Two 500s (without Retry-After, so rest-core does not retry them itself): the
    // recorder tries again.
    server.inject(Fault::status(500).method("POST").path(EVENTS_PATH).times(2));
    recorder.event(
        &object_reference(&web),
        None,
        EventType::Normal,
        "Retried",
        "Act",
        "x",
    );
    recorder.flush().await;
    assert_eq!(events(&server, NS).await.len(), 1);
    assert_eq!(
        server.request_count("POST", EVENTS_PATH),
        3,
        "two 500s, then created"
    );
    // A refusal (403) is not retried; the event is dropped.
    server.clear_requests();
    server.inject(Fault::status(403).method("POST").path(EVENTS_PATH));
    recorder.event(
        &object_reference(&web),
        None,
        EventType::Normal,
        "Refused",
        "Act",
        "x",
    );
    recorder.flush().await;
    assert_eq!(events(&server, NS).await.len(), 1);
    assert_eq!(server.request_count("POST", EVENTS_PATH), 1);
}
