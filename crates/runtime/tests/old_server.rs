//! The reflector against a server that ignores `sendInitialEvents` (older than 1.27, or
//! behind a proxy that drops the parameter): it is detected — by a watch that goes quiet
//! without the end bookmark, ends without it, or sends a plain bookmark first — and the
//! reflector lists instead, from then on. The old server is the test server behind a
//! small reverse proxy that strips `sendInitialEvents` and `resourceVersionMatch`.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use k8s_openapi::api::core::v1::ConfigMap;
use kubecto_clientset::Api;
use kubecto_rest_core::{Config, CreateOptions, RestClient};
use kubecto_runtime::watcher::{ListWatch, Reflector, ReflectorConfig};
use kubecto_runtime::{Shutdown, Store};
use kubecto_testserver::{Fault, TestServer};
use tokio::net::{TcpListener, TcpStream};

/// A reverse proxy on 127.0.0.1:0 that forwards to `upstream` without the streaming-list
/// parameters, recording each query as the client sent it.
struct OldServer {
    url: String,
    queries: Arc<Mutex<Vec<String>>>,
}

impl OldServer {
    async fn start(upstream: SocketAddr) -> OldServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let queries: Arc<Mutex<Vec<String>>> = Arc::default();
        let seen = queries.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| forward(req, upstream, seen.clone()));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        OldServer { url, queries }
    }

    /// The queries of the config maps' GETs with a query (the reflector's).
    fn queries(&self) -> Vec<String> {
        self.queries
            .lock()
            .unwrap()
            .iter()
            .filter(|q| !q.is_empty())
            .cloned()
            .collect()
    }
}

async fn forward(
    mut req: Request<Incoming>,
    upstream: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
) -> Result<Response<Incoming>, hyper::Error> {
    let query = req.uri().query().unwrap_or_default().to_owned();
    if req.uri().path() == CM_PATH {
        seen.lock().unwrap().push(query.clone());
    }
    let kept: Vec<&str> = query
        .split('&')
        .filter(|kv| {
            !kv.is_empty()
                && !kv.starts_with("sendInitialEvents=")
                && !kv.starts_with("resourceVersionMatch=")
        })
        .collect();
    let path = req.uri().path().to_owned();
    let target = if kept.is_empty() {
        path
    } else {
        format!("{path}?{}", kept.join("&"))
    };
    *req.uri_mut() = target.parse().expect("a path and query");
    let stream = TcpStream::connect(upstream).await.expect("upstream");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    sender.send_request(req).await
}

struct Run {
    server: TestServer,
    proxy: OldServer,
    api: Api<ConfigMap>,
    store: Store<ConfigMap>,
    stop: Shutdown,
    task: tokio::task::JoinHandle<()>,
}

/// Five config maps on `server`, and a reflector reaching it through the proxy.
async fn start(server: TestServer, config: ReflectorConfig) -> (Run, Duration) {
    let api = configmaps(&server);
    for i in 0..5 {
        api.create(&cm(&format!("c{i}"), "x"), &CreateOptions::new())
            .await
            .unwrap();
    }
    let proxy = OldServer::start(server.addr()).await;
    let through_proxy = RestClient::new(Config::new(proxy.url.as_str())).unwrap();
    let store = Store::<ConfigMap>::new();
    let reflector = Reflector::new(
        ListWatch::new(&Api::<ConfigMap>::namespaced(through_proxy, NS)),
        store.clone(),
    )
    .config(config);
    let synced = reflector.synced();
    let stop = Shutdown::new();
    let started = std::time::Instant::now();
    let task = tokio::spawn(reflector.run(stop.clone()));
    assert!(
        synced.wait_timeout(Duration::from_secs(20)).await,
        "never synced"
    );
    let took = started.elapsed();
    assert_eq!(store.len(), 5);
    let run = Run {
        server,
        proxy,
        api,
        store,
        stop,
        task,
    };
    (run, took)
}

impl Run {
    /// A write after the sync reaches the store; the reflector stops.
    async fn finish(self) -> Vec<String> {
        self.api
            .create(&cm("late", "y"), &CreateOptions::new())
            .await
            .unwrap();
        converge(&self.api, "store", || store_state(&self.store)).await;
        self.stop.trigger();
        self.task.await.unwrap();
        drop(self.server);
        self.proxy.queries()
    }
}

fn count(queries: &[String], what: &str) -> usize {
    queries.iter().filter(|q| q.contains(what)).count()
}

fn lists(queries: &[String]) -> usize {
    queries.iter().filter(|q| !q.contains("watch=true")).count()
}

#[tokio::test]
async fn a_streaming_list_that_goes_quiet_without_its_end_bookmark_falls_back_to_list() {
    let server = TestServer::start().await.unwrap();
    let config = fast_config()
        .min_watch_timeout(Duration::from_secs(60))
        .initial_events_timeout(Duration::from_millis(300));
    let (run, took) = start(server, config).await;
    assert!(took < Duration::from_secs(5), "{took:?}");
    let queries = run.finish().await;
    assert_eq!(count(&queries, "sendInitialEvents=true"), 1, "{queries:?}");
    assert_eq!(lists(&queries), 1, "{queries:?}");
}

#[tokio::test]
async fn a_streaming_list_that_sends_a_plain_bookmark_first_falls_back_to_list() {
    let server = TestServer::builder()
        .bookmark_interval(Duration::from_millis(100))
        .start()
        .await
        .unwrap();
    let config = fast_config()
        .min_watch_timeout(Duration::from_secs(60))
        .initial_events_timeout(Duration::from_secs(60));
    let (run, took) = start(server, config).await;
    assert!(took < Duration::from_secs(5), "{took:?}");
    let queries = run.finish().await;
    assert_eq!(count(&queries, "sendInitialEvents=true"), 1, "{queries:?}");
    assert_eq!(lists(&queries), 1, "{queries:?}");
}

#[tokio::test]
async fn a_streaming_list_that_ends_without_its_end_bookmark_falls_back_for_good() {
    let server = TestServer::start().await.unwrap();
    // The server ends each watch after 1-2 s; the quiet bound is never reached.
    let config = fast_config().initial_events_timeout(Duration::from_secs(60));
    let (run, _) = start(server, config).await;
    // A 410 on the next watch makes the reflector list again: with a LIST, not another
    // streaming list.
    run.server
        .inject(Fault::status(410).method("GET").path(CM_PATH));
    for _ in 0..100 {
        if lists(&run.proxy.queries()) >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let queries = run.finish().await;
    assert_eq!(lists(&queries), 2, "{queries:?}");
    assert_eq!(
        count(&queries, "sendInitialEvents=true"),
        1,
        "the fallback is remembered: {queries:?}"
    );
}

#[tokio::test]
async fn a_server_that_serves_streaming_lists_is_not_taken_for_an_old_one() {
    // The same reflector settings straight to the test server: no LIST at all.
    let server = TestServer::builder()
        .bookmark_interval(Duration::from_millis(100))
        .start()
        .await
        .unwrap();
    let api = configmaps(&server);
    for i in 0..5 {
        api.create(&cm(&format!("c{i}"), "x"), &CreateOptions::new())
            .await
            .unwrap();
    }
    let store = Store::<ConfigMap>::new();
    let reflector = Reflector::new(ListWatch::new(&api), store.clone())
        .config(fast_config().initial_events_timeout(Duration::from_secs(1)));
    let synced = reflector.synced();
    let stop = Shutdown::new();
    let task = tokio::spawn(reflector.run(stop.clone()));
    assert!(synced.wait_timeout(Duration::from_secs(10)).await);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    stop.trigger();
    task.await.unwrap();
    let queries: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path == CM_PATH && !r.query.is_empty())
        .map(|r| r.query)
        .collect();
    assert_eq!(lists(&queries), 0, "{queries:?}");
}
