//! Helpers shared by the runtime's tests: a test server, writers that create, update and
//! delete config maps, a fault injector, and the check that a store equals the server.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kubecto_clientset::Api;
use kubecto_rest_core::{
    Config, CreateOptions, DeleteOptions, ListOptions, RestClient, UpdateOptions,
};
use kubecto_runtime::Store;
use kubecto_runtime::watcher::{BackoffConfig, ReflectorConfig};
use kubecto_testserver::{Fault, TestServer};

pub const NS: &str = "default";
pub const CM_PATH: &str = "/api/v1/namespaces/default/configmaps";

pub fn client(server: &TestServer) -> RestClient {
    RestClient::new(Config::new(server.url())).expect("client")
}

pub fn configmaps(server: &TestServer) -> Api<ConfigMap> {
    Api::namespaced(client(server), NS)
}

/// Short watches and backoffs, so that a test sees many reconnects in a few seconds.
pub fn fast_config() -> ReflectorConfig {
    ReflectorConfig::default()
        .min_watch_timeout(Duration::from_secs(1))
        .backoff(BackoffConfig::new(
            Duration::from_millis(20),
            Duration::from_millis(300),
        ))
}

pub fn cm(name: &str, value: &str) -> ConfigMap {
    let mut c = ConfigMap::default();
    c.metadata.name = Some(name.to_owned());
    c.data = Some(BTreeMap::from([("v".to_owned(), value.to_owned())]));
    c
}

/// name -> resourceVersion of every config map on the server.
pub async fn server_state(api: &Api<ConfigMap>) -> BTreeMap<String, String> {
    api.list(&ListOptions::new())
        .await
        .expect("list")
        .items
        .into_iter()
        .map(|c| {
            (
                c.metadata.name.unwrap_or_default(),
                c.metadata.resource_version.unwrap_or_default(),
            )
        })
        .collect()
}

/// name -> resourceVersion of every config map in the store.
pub fn store_state(store: &Store<ConfigMap>) -> BTreeMap<String, String> {
    store
        .snapshot()
        .iter()
        .map(|(_, c)| {
            (
                c.metadata.name.clone().unwrap_or_default(),
                c.metadata.resource_version.clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// Waits (up to 30 s) until `state()` equals the server's; panics with both if not.
pub async fn converge(
    api: &Api<ConfigMap>,
    what: &str,
    state: impl Fn() -> BTreeMap<String, String>,
) {
    let mut last = (BTreeMap::new(), BTreeMap::new());
    for _ in 0..300 {
        let server = server_state(api).await;
        let ours = state();
        if server == ours {
            return;
        }
        last = (server, ours);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{what} never matched the server:\n server: {:?}\n {what}: {:?}",
        last.0, last.1
    );
}

/// `n` writers, each creating, updating and deleting its own config maps until `stop`.
/// Conflicts and not-founds from racing each other are expected and ignored.
pub fn spawn_writers(
    api: &Api<ConfigMap>,
    n: usize,
    stop: Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<usize>> {
    (0..n)
        .map(|w| {
            let api = api.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut writes = 0;
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let name = format!("w{w}-{}", i % 7);
                    let result = match i % 4 {
                        0 | 1 => match api.get_opt(&name).await {
                            Ok(Some(mut c)) => {
                                c.data = Some(BTreeMap::from([("v".to_owned(), i.to_string())]));
                                api.update(&c, &UpdateOptions::new()).await.map(drop)
                            }
                            Ok(None) => api
                                .create(&cm(&name, &i.to_string()), &CreateOptions::new())
                                .await
                                .map(drop),
                            Err(e) => Err(e),
                        },
                        2 => api
                            .create(&cm(&name, &i.to_string()), &CreateOptions::new())
                            .await
                            .map(drop),
                        _ => api.delete(&name, &DeleteOptions::new()).await.map(drop),
                    };
                    if result.is_ok() {
                        writes += 1;
                    }
                    tokio::time::sleep(Duration::from_millis(3)).await;
                }
                writes
            })
        })
        .collect()
}

/// Injects a fault on the config maps' GETs (lists and watches) every `every` until
/// `stop`: dropped connections, truncated bodies, 429 storms with Retry-After, 500s and
/// 410 Expired, in turn.
pub fn spawn_faults(
    server: Arc<TestServer>,
    every: Duration,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<usize> {
    tokio::spawn(async move {
        let mut injected = 0;
        while !stop.load(Ordering::Relaxed) {
            let fault = match injected % 6 {
                0 => Fault::drop_connection(),
                1 => Fault::truncate_body(150),
                2 => Fault::status(429).retry_after("0").times(5),
                3 => Fault::truncate_body(1),
                4 => Fault::status(410),
                _ => Fault::status(500),
            };
            server.inject(fault.method("GET").path(CM_PATH));
            injected += 1;
            tokio::time::sleep(every).await;
        }
        injected
    })
}
