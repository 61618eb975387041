//! History compaction: the server keeps a bounded window of writes (events, bytes, age),
//! and what falls out of it answers as kube-apiserver answers a compacted revision: a
//! watch gets an ERROR event `410 Expired` ("too old resource version: X (Y)"), a LIST
//! page with an old `continue` token or an `Exact` resourceVersion gets `410 Expired`.

mod common;
use std::time::Duration;

use common::*;
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use serde_json::{Value, json};

const CMS: &str = "/api/v1/namespaces/default/configmaps";

const CONTINUE_TOO_OLD: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

/// Reads newline-delimited watch events.
struct Events {
    body: Incoming,
    buf: Vec<u8>,
}

impl Events {
    async fn start(http: &Http, rv: u64) -> Events {
        let res = http
            .start(
                "GET",
                &format!("{CMS}?watch=true&resourceVersion={rv}"),
                &[],
                "",
            )
            .await;
        assert_eq!(res.status(), 200);
        Events {
            body: res.into_body(),
            buf: Vec::new(),
        }
    }

    /// The next event, `None` when the stream ends or nothing comes within `wait`.
    async fn next_within(&mut self, wait: Duration) -> Option<Value> {
        loop {
            if let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                return Some(serde_json::from_slice(&line).expect("event is JSON"));
            }
            let frame = tokio::time::timeout(wait, self.body.frame()).await.ok()??;
            if let Ok(data) = frame.expect("body frame").into_data() {
                self.buf.extend_from_slice(&data);
            }
        }
    }

    async fn next(&mut self) -> Value {
        self.next_within(Duration::from_secs(5))
            .await
            .expect("an event in time")
    }

    /// Every event until none comes for 300 ms.
    async fn drain(&mut self) -> Vec<Value> {
        let mut all = Vec::new();
        while let Some(ev) = self.next_within(Duration::from_millis(300)).await {
            all.push(ev);
        }
        all
    }
}

fn rv_of(obj: &Value) -> u64 {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no resourceVersion in {obj}"))
}

async fn create(http: &Http, name: &str, data: &str) -> u64 {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name}, "data": {"payload": data, "step": "0"}});
    let res = http.post(CMS, &cm).await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    rv_of(&res.json())
}

/// A merge patch that sets `data.step`; the new resourceVersion.
async fn update(http: &Http, name: &str, step: u64) -> u64 {
    let res = http
        .send(
            "PATCH",
            &format!("{CMS}/{name}"),
            "application/merge-patch+json",
            json!({"data": {"step": step.to_string()}}).to_string(),
        )
        .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    rv_of(&res.json())
}

/// The `Y` of "too old resource version: X (Y)", after checking the rest of the event.
fn expired_watch_floor(ev: &Value, from: u64) -> u64 {
    assert_eq!(ev["type"], "ERROR", "{ev}");
    let status = &ev["object"];
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["status"], "Failure");
    assert_eq!(status["code"], 410);
    assert_eq!(status["reason"], "Expired");
    let message = status["message"].as_str().expect("a message");
    let floor = message
        .strip_prefix(&format!("too old resource version: {from} ("))
        .and_then(|m| m.strip_suffix(')'))
        .and_then(|m| m.parse().ok());
    floor.unwrap_or_else(|| panic!("unexpected message {message:?}"))
}

#[tokio::test]
async fn a_watch_from_a_compacted_resource_version_gets_410_expired() {
    let server = TestServer::builder()
        .watch_history(5)
        .start()
        .await
        .unwrap();
    let http = Http::new(&server);
    let created = create(&http, "a", "x").await;
    let mut last = created;
    for step in 1..=10 {
        last = update(&http, "a", step).await;
    }
    let mut events = Events::start(&http, created).await;
    let floor = expired_watch_floor(&events.next().await, created);
    // Five events are kept: the watch can start just before the oldest of them.
    assert_eq!(floor, last - 5);
    assert!(
        events.next_within(Duration::from_secs(2)).await.is_none(),
        "the stream ends after the error"
    );
    // From the floor, a watch gets exactly the events kept, oldest first.
    let mut events = Events::start(&http, floor).await;
    let kept = events.drain().await;
    let rvs: Vec<u64> = kept.iter().map(|e| rv_of(&e["object"])).collect();
    assert_eq!(rvs, ((last - 4)..=last).collect::<Vec<_>>());
    let steps: Vec<&str> = kept
        .iter()
        .map(|e| e["object"]["data"]["step"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(steps, ["6", "7", "8", "9", "10"]);
    assert!(kept.iter().all(|e| e["type"] == "MODIFIED"));
}

#[tokio::test]
async fn a_watch_inside_the_window_gets_every_event() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let created = create(&http, "a", "x").await;
    let mut events = Events::start(&http, created).await;
    let mut rvs = Vec::new();
    for step in 1..=300 {
        rvs.push(update(&http, "a", step).await);
    }
    for (i, rv) in rvs.iter().enumerate() {
        let ev = events.next().await;
        assert_eq!(ev["type"], "MODIFIED");
        assert_eq!(rv_of(&ev["object"]), *rv);
        assert_eq!(ev["object"]["data"]["step"], (i + 1).to_string());
    }
    // A watch started afterwards from the same resourceVersion replays them all.
    let mut replay = Events::start(&http, created).await;
    let replayed: Vec<u64> = replay
        .drain()
        .await
        .iter()
        .map(|e| rv_of(&e["object"]))
        .collect();
    assert_eq!(replayed, rvs);
}

#[tokio::test]
async fn a_continue_token_older_than_the_window_is_410_with_a_token_for_the_rest() {
    let server = TestServer::builder()
        .watch_history(3)
        .start()
        .await
        .unwrap();
    let http = Http::new(&server);
    for name in ["c0", "c1", "c2", "c3"] {
        create(&http, name, "x").await;
    }
    let first = http.get(&format!("{CMS}?limit=2")).await.json();
    let token = first["metadata"]["continue"].as_str().unwrap().to_owned();
    // Within the window, the token continues the same snapshot.
    update(&http, "c3", 1).await;
    let page = http
        .get(&format!("{CMS}?limit=2&continue={token}"))
        .await
        .json();
    assert_eq!(page["items"][1]["data"]["step"], "0", "the snapshot's c3");
    // Once the window moved past the snapshot, the token is refused.
    let mut last = 0;
    for step in 2..=5 {
        last = update(&http, "c3", step).await;
    }
    let res = http.get(&format!("{CMS}?limit=2&continue={token}")).await;
    assert_eq!(res.status, 410);
    let status = res.json();
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["status"], "Failure");
    assert_eq!(status["reason"], "Expired");
    assert_eq!(status["code"], 410);
    assert_eq!(status["message"], CONTINUE_TOO_OLD);
    // As kube-apiserver does, the Status carries a token that continues after the same
    // key at the latest resourceVersion (an inconsistent, but complete, remainder).
    let fresh = status["metadata"]["continue"].as_str().expect("a token");
    let rest = http.get(&format!("{CMS}?limit=2&continue={fresh}")).await;
    assert_eq!(rest.status, 200, "{}", String::from_utf8_lossy(&rest.body));
    let rest = rest.json();
    let names: Vec<&str> = rest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["c2", "c3"]);
    assert_eq!(rest["items"][1]["data"]["step"], "5", "the latest c3");
    assert_eq!(rv_of(&rest), last);
    assert!(rest["metadata"].get("continue").is_none());
}

#[tokio::test]
async fn an_exact_list_older_than_the_window_is_410() {
    let server = TestServer::builder()
        .watch_history(3)
        .start()
        .await
        .unwrap();
    let http = Http::new(&server);
    let created = create(&http, "a", "x").await;
    let first = update(&http, "a", 1).await;
    for step in 2..=4 {
        update(&http, "a", step).await;
    }
    // Inside the window: the object as it was then.
    let then = http
        .get(&format!(
            "{CMS}?resourceVersion={}&resourceVersionMatch=Exact",
            first + 1
        ))
        .await;
    assert_eq!(then.status, 200);
    let then = then.json();
    assert_eq!(rv_of(&then), first + 1);
    assert_eq!(then["items"][0]["data"]["step"], "2");
    // Before it: compacted.
    let res = http
        .get(&format!(
            "{CMS}?resourceVersion={created}&resourceVersionMatch=Exact"
        ))
        .await;
    assert_eq!(res.status, 410);
    let status = res.json();
    assert_eq!(status["reason"], "Expired");
    assert_eq!(
        status["message"],
        "The resourceVersion for the provided list is too old."
    );
}

#[tokio::test]
async fn the_byte_limit_bounds_the_events_kept_of_large_objects() {
    let server = TestServer::builder()
        .history_bytes(100 * 1024)
        .start()
        .await
        .unwrap();
    let http = Http::new(&server);
    let created = create(&http, "big", &"x".repeat(10_000)).await;
    for step in 1..=50 {
        update(&http, "big", step).await;
    }
    let mut events = Events::start(&http, created).await;
    let floor = expired_watch_floor(&events.next().await, created);
    let kept = Events::start(&http, floor).await.drain().await;
    // Each event holds a 10 KB object: at most ten fit in 100 KiB, and no fewer than
    // eight (the limit is about bytes, not a smaller count).
    assert!((8..=10).contains(&kept.len()), "{} events kept", kept.len());
    assert_eq!(kept.last().unwrap()["object"]["data"]["step"], "50");
}

#[tokio::test]
async fn events_older_than_the_age_limit_are_forgotten() {
    let server = TestServer::builder()
        .history_age(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let http = Http::new(&server);
    let created = create(&http, "a", "x").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let updated = update(&http, "a", 1).await;
    // The create aged out: a watch from before it is too old ...
    let mut events = Events::start(&http, created - 1).await;
    assert_eq!(
        expired_watch_floor(&events.next().await, created - 1),
        created
    );
    // ... one from it still gets the update, which is young.
    let mut events = Events::start(&http, created).await;
    let ev = events.next().await;
    assert_eq!(ev["type"], "MODIFIED");
    assert_eq!(rv_of(&ev["object"]), updated);
}
