//! Fault injection: each test names the fault and what the client sees.

mod common;
use std::time::{Duration, Instant};

use common::*;

const CMS: &str = "/api/v1/namespaces/default/configmaps";

#[tokio::test]
async fn status_faults_carry_retry_after_and_run_out() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    server.inject(
        Fault::status(429)
            .retry_after("1")
            .method("GET")
            .path(CMS)
            .times(2),
    );
    for _ in 0..2 {
        let res = http.get(CMS).await;
        assert_eq!(res.status, 429);
        assert_eq!(res.header("retry-after"), "1");
        assert_eq!(res.json()["reason"], "TooManyRequests");
        assert_eq!(res.json()["details"]["retryAfterSeconds"], 1);
    }
    assert_eq!(http.get(CMS).await.status, 200);
    assert_eq!(server.request_count("GET", CMS), 3);
    // A POST does not match a GET fault.
    server.inject(
        Fault::status(503)
            .retry_after("Fri, 27 Nov 2026 10:00:00 GMT")
            .method("GET")
            .path(CMS),
    );
    assert_eq!(http.post(CMS, &configmap("a")).await.status, 201);
    let res = http.get(CMS).await;
    assert_eq!(res.status, 503);
    assert_eq!(res.header("retry-after"), "Fri, 27 Nov 2026 10:00:00 GMT");
}

#[tokio::test]
async fn dropped_connection_gives_no_answer() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    server.inject(Fault::drop_connection().path("/api/v1/namespaces/*"));
    let err = http.try_send("GET", CMS).await.unwrap_err();
    assert!(!err.is_empty());
    // The next request is answered.
    assert_eq!(http.try_send("GET", CMS).await.unwrap().status, 200);
    assert_eq!(server.request_count("GET", CMS), 2);
}

#[tokio::test]
async fn truncated_body_fails_mid_response() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    for i in 0..20 {
        server
            .seed(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": format!("c{i}"), "namespace": "default"}}))
            .unwrap();
    }
    server.inject(Fault::truncate_body(100).path(CMS));
    // The head arrives, then exactly 100 bytes of body, then the body fails.
    let res = http.start("GET", CMS, &[], "").await;
    assert_eq!(res.status(), 200);
    let mut body = res.into_body();
    let mut received = 0;
    let failed = loop {
        match http_body_util::BodyExt::frame(&mut body).await {
            Some(Ok(frame)) => received += frame.into_data().map(|d| d.len()).unwrap_or(0),
            Some(Err(_)) => break true,
            None => break false,
        }
    };
    assert!(failed, "the cut body must end in an error, not a clean end");
    assert_eq!(received, 100);
    assert_eq!(http.try_send("GET", CMS).await.unwrap().status, 200);
}

#[tokio::test]
async fn rechunked_body_arrives_whole_in_small_pieces() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    server.inject(Fault::rechunk(7).path("/version"));
    let res = http.start("GET", "/version", &[], "").await;
    let mut body = res.into_body();
    let mut frames = Vec::new();
    while let Some(f) = http_body_util::BodyExt::frame(&mut body).await {
        frames.push(f.unwrap().into_data().unwrap());
    }
    assert!(frames.len() > 10, "{} frames", frames.len());
    assert!(frames.iter().all(|f| f.len() <= 7));
    let whole: Vec<u8> = frames.concat();
    let v: serde_json::Value = serde_json::from_slice(&whole).unwrap();
    assert_eq!(v["major"], "1");
}

#[tokio::test]
async fn delay_slows_one_answer() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    server.inject(Fault::delay(Duration::from_millis(300)).path("/version"));
    let t = Instant::now();
    assert_eq!(http.get("/version").await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
    let t = Instant::now();
    http.get("/version").await;
    assert!(t.elapsed() < Duration::from_millis(300));
    server.clear_requests();
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn query_faults_tell_a_list_from_a_watch_of_the_same_path() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    // A fault for the WATCH leaves the LIST of the same path alone.
    server.inject(
        Fault::status(500)
            .method("GET")
            .path(CMS)
            .query("watch=true"),
    );
    assert_eq!(http.get(CMS).await.status, 200);
    assert_eq!(http.get(&format!("{CMS}?watch=true")).await.status, 500);
    // A fault for the LIST leaves the WATCH alone.
    server.inject(
        Fault::status(503)
            .method("GET")
            .path(CMS)
            .without_query("watch"),
    );
    let watch = http
        .start(
            "GET",
            &format!("{CMS}?watch=true&timeoutSeconds=1"),
            &[],
            "",
        )
        .await;
    assert_eq!(watch.status(), 200);
    assert_eq!(http.get(&format!("{CMS}?limit=10")).await.status, 503);
    assert_eq!(http.get(CMS).await.status, 200);
    // A streaming list (sendInitialEvents) can be told from a plain watch by its text.
    server.inject(Fault::status(410).query_contains("sendInitialEvents"));
    assert_eq!(
        http.get(&format!(
            "{CMS}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true"
        ))
        .await
        .status,
        410
    );
}

/// What a watch stream gives next.
#[derive(Debug)]
enum Next {
    Event(serde_json::Value),
    /// The body ended cleanly.
    End,
    /// The body failed: the connection broke.
    Cut,
}

struct WatchStream {
    body: hyper::body::Incoming,
    buf: Vec<u8>,
}

impl WatchStream {
    async fn open(http: &Http, path: &str) -> WatchStream {
        let res = http.start("GET", path, &[], "").await;
        assert_eq!(res.status(), 200);
        WatchStream {
            body: res.into_body(),
            buf: Vec::new(),
        }
    }

    async fn next(&mut self) -> Next {
        loop {
            if let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                return Next::Event(serde_json::from_slice(&line).expect("event is JSON"));
            }
            let frame = tokio::time::timeout(
                Duration::from_secs(5),
                http_body_util::BodyExt::frame(&mut self.body),
            )
            .await
            .expect("the watch said something in time");
            match frame {
                Some(Ok(frame)) => self.buf.extend(frame.into_data().unwrap_or_default()),
                Some(Err(_)) => return Next::Cut,
                None => return Next::End,
            }
        }
    }

    async fn added(&mut self) -> String {
        match self.next().await {
            Next::Event(e) if e["type"] == "ADDED" => {
                e["object"]["metadata"]["name"].as_str().unwrap().to_owned()
            }
            other => panic!("expected ADDED, got {other:?}"),
        }
    }
}

async fn until_no_watch_is_open(server: &TestServer) {
    let t = Instant::now();
    while server.open_watches() > 0 {
        assert!(t.elapsed() < Duration::from_secs(2), "watches still open");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn dropped_watches_break_mid_stream_and_later_watches_are_served() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    server.seed(configmap("a")).unwrap();
    assert_eq!(server.open_watches(), 0);
    let mut cms = WatchStream::open(&http, &format!("{CMS}?watch=true")).await;
    let mut pods = WatchStream::open(&http, "/api/v1/pods?watch=true").await;
    assert_eq!(cms.added().await, "a");
    assert_eq!(server.open_watches(), 2);
    // Every open watch is cut: its body fails instead of ending.
    assert_eq!(server.drop_open_watches(), 2);
    assert!(matches!(cms.next().await, Next::Cut));
    assert!(matches!(pods.next().await, Next::Cut));
    until_no_watch_is_open(&server).await;
    // A watch started after the cut is not affected: it sees the writes that follow.
    let rv = http.get(CMS).await.json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut again =
        WatchStream::open(&http, &format!("{CMS}?watch=true&resourceVersion={rv}")).await;
    assert_eq!(server.open_watches(), 1);
    http.post(CMS, &configmap("b")).await;
    assert_eq!(again.added().await, "b");
}

#[tokio::test]
async fn ended_watches_finish_cleanly_after_the_events_already_sent() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let mut watch = WatchStream::open(&http, &format!("{CMS}?watch=true")).await;
    assert_eq!(server.open_watches(), 1);
    http.post(CMS, &configmap("a")).await;
    assert_eq!(watch.added().await, "a");
    assert_eq!(server.end_open_watches(), 1);
    assert!(matches!(watch.next().await, Next::End));
    until_no_watch_is_open(&server).await;
    assert_eq!(server.end_open_watches(), 0);
}

#[tokio::test]
async fn a_restart_cuts_every_connection_refuses_while_down_and_keeps_the_objects() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let (url, addr) = (server.url(), server.addr());
    let rv_of = |a: &Answer| {
        a.json()["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let a = rv_of(&http.post(CMS, &configmap("a")).await);
    let b = rv_of(&http.post(CMS, &configmap("b")).await);
    let mut watch =
        WatchStream::open(&http, &format!("{CMS}?watch=true&resourceVersion={b}")).await;
    assert_eq!(server.open_watches(), 1);

    let down = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        tokio::net::TcpStream::connect(addr).await
    };
    let (restarted, while_down) = tokio::join!(server.restart(Duration::from_millis(400)), down);
    restarted.unwrap();
    assert!(
        while_down.is_err(),
        "a connection was accepted while the server was down"
    );
    // The open watch was cut, not ended.
    assert!(matches!(watch.next().await, Next::Cut));
    until_no_watch_is_open(&server).await;

    // Same address, same objects and resourceVersions.
    assert_eq!(server.url(), url);
    let got = http.get(&format!("{CMS}/a")).await;
    assert_eq!(got.status, 200);
    assert_eq!(rv_of(&got), a);
    // The history is gone: a watch from before the last write is expired...
    let old = http
        .get(&format!("{CMS}?watch=true&resourceVersion={a}"))
        .await;
    let expired = old.status == 410
        || (old.status == 200 && {
            let event: serde_json::Value =
                serde_json::from_slice(old.body.split(|c| *c == b'\n').next().unwrap()).unwrap();
            event["type"] == "ERROR" && event["object"]["code"] == 410
        });
    assert!(
        expired,
        "a watch from before the restart: {} {:?}",
        old.status, old.body
    );
    // ...and one from the last write sees what follows.
    let mut again =
        WatchStream::open(&http, &format!("{CMS}?watch=true&resourceVersion={b}")).await;
    http.post(CMS, &configmap("c")).await;
    assert_eq!(again.added().await, "c");
}
