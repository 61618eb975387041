//! One workload with kubecto, the way a kubecto user writes it; prints one JSON line about
//! this process (see `kubecto_bench::Probe`). The JSON workloads use rest-core's request
//! builder; the protobuf ones (`-pb`) kubecto-clientset's `Api<Pod>`, which asks for
//! protobuf for built-in kinds by default (`-drop`: `Api::drop_managed_fields(true)`).
//!
//! The client-side rate limiter is switched off (`without_rate_limit`): its default
//! (50 QPS, burst 100) would make every GET workload measure the limiter, and kube-rs has
//! none. Everything else is `Config::new` as a user gets it.

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kubecto_bench::{
    ClientArgs, GET_CONCURRENCY, LIST_PODS, NAMESPACE, Probe, Workload, check_items, pod_name,
};
use kubecto_clientset::Api;
use kubecto_rest_core::{Config, GroupVersion, ListOptions, RestClient, WatchEvent, WatchOptions};
use kubecto_runtime::informer::{HandlerFns, InformerOptions, SharedInformer};
use kubecto_runtime::store::drop_managed_fields;
use kubecto_runtime::watcher::{ListWatch, Reflector, ReflectorConfig};
use kubecto_runtime::{Shutdown, Store};

async fn get(client: &RestClient, i: u64) -> Pod {
    let name = pod_name(i % LIST_PODS);
    let pod: Pod = client
        .get()
        .namespace(NAMESPACE)
        .resource("pods")
        .name(&name)
        .send()
        .await
        .expect("GET pod")
        .into()
        .await
        .expect("decode pod");
    debug_assert_eq!(pod.metadata.name.as_deref(), Some(name.as_str()));
    pod
}

/// A GET through kubecto-clientset (protobuf for a built-in kind).
async fn get_api(api: &Api<Pod>, i: u64) -> Pod {
    let name = pod_name(i % LIST_PODS);
    let pod = api.get(&name).await.expect("GET pod");
    debug_assert_eq!(pod.metadata.name.as_deref(), Some(name.as_str()));
    pod
}

fn list_request(client: &RestClient) -> kubecto_rest_core::Request {
    client.get().namespace(NAMESPACE).resource("pods")
}

fn main() {
    kubecto_bench::runtime().block_on(run());
}

async fn run() {
    let args = ClientArgs::from_env();
    let mut config = Config::new(args.url.as_str())
        .with_api_path("api")
        .with_group_version(GroupVersion::core_v1())
        .without_rate_limit();
    // bench-compression's run without `Accept-Encoding: gzip` (kubeconfig
    // `disable-compression: true`).
    if std::env::var_os("KUBECTO_BENCH_NO_COMPRESSION").is_some() {
        config = config.without_compression();
    }
    let client = RestClient::new(config).expect("client");
    // The protobuf workloads' typed client: protobuf is its default for `Pod`.
    let api = Api::<Pod>::namespaced(client.clone(), NAMESPACE)
        .drop_managed_fields(args.workload.drops_managed_fields());
    assert!(api.speaks_protobuf());
    let mut probe = Probe::start();
    let mut held: Vec<Pod> = Vec::new();
    // A cache workload's store, dropped after the figures are taken (as `held`).
    let mut cache: Option<Store<Pod>> = None;
    let items = match args.workload {
        Workload::GetSeq => {
            let mut n = 0u64;
            for i in 0..args.items {
                let pod = get(&client, i).await;
                n += u64::from(pod.metadata.name.is_some());
            }
            n
        }
        Workload::GetPar => {
            let mut tasks = Vec::new();
            for t in 0..GET_CONCURRENCY {
                let client = client.clone();
                let total = args.items;
                tasks.push(tokio::spawn(async move {
                    let mut n = 0u64;
                    let mut i = t;
                    while i < total {
                        let pod = get(&client, i).await;
                        n += u64::from(pod.metadata.name.is_some());
                        i += GET_CONCURRENCY;
                    }
                    n
                }));
            }
            let mut n = 0;
            for t in tasks {
                n += t.await.expect("task");
            }
            n
        }
        Workload::List => {
            let list: k8s_openapi::List<Pod> = list_request(&client)
                .send()
                .await
                .expect("LIST")
                .into()
                .await
                .expect("decode list");
            held = list.items;
            held.len() as u64
        }
        Workload::ListCollect => {
            let list = list_request(&client)
                .send()
                .await
                .expect("LIST")
                .list_stream::<Pod>()
                .into_list()
                .await
                .expect("decode list");
            held = list.items;
            held.len() as u64
        }
        Workload::ListStream => {
            let mut stream = list_request(&client)
                .send()
                .await
                .expect("LIST")
                .list_stream::<Pod>();
            let mut n = 0u64;
            while let Some(pod) = stream.next().await {
                let pod = pod.expect("list item");
                n += u64::from(pod.metadata.name.is_some());
            }
            n
        }
        Workload::Watch => {
            let stream = list_request(&client)
                .param("resourceVersion", "0")
                .watch::<Pod>();
            let mut stream = std::pin::pin!(stream);
            let mut n = 0u64;
            while let Some(ev) = stream.next().await {
                match ev.expect("watch event") {
                    WatchEvent::Modified(pod) => n += u64::from(pod.metadata.name.is_some()),
                    other => panic!("unexpected event {other:?}"),
                }
            }
            n
        }
        Workload::GetSeqPb | Workload::GetSeqPbDrop => {
            let mut n = 0u64;
            for i in 0..args.items {
                let pod = get_api(&api, i).await;
                n += u64::from(pod.metadata.name.is_some());
            }
            n
        }
        Workload::GetParPb => {
            let mut tasks = Vec::new();
            for t in 0..GET_CONCURRENCY {
                let api = api.clone();
                let total = args.items;
                tasks.push(tokio::spawn(async move {
                    let mut n = 0u64;
                    let mut i = t;
                    while i < total {
                        let pod = get_api(&api, i).await;
                        n += u64::from(pod.metadata.name.is_some());
                        i += GET_CONCURRENCY;
                    }
                    n
                }));
            }
            let mut n = 0;
            for t in tasks {
                n += t.await.expect("task");
            }
            n
        }
        Workload::ListCollectPb | Workload::ListCollectPbDrop => {
            let list = api.list(&ListOptions::default()).await.expect("LIST");
            held = list.items;
            held.len() as u64
        }
        Workload::ListStreamPb | Workload::ListStreamPbDrop => {
            let stream = api.list_stream(&ListOptions::default());
            let mut stream = std::pin::pin!(stream);
            let mut n = 0u64;
            while let Some(pod) = stream.next().await {
                let pod = pod.expect("list item");
                n += u64::from(pod.metadata.name.is_some());
            }
            n
        }
        Workload::WatchPb | Workload::WatchPbDrop => {
            let stream = api.watch(&WatchOptions::default().resource_version("0"));
            let mut stream = std::pin::pin!(stream);
            let mut n = 0u64;
            while let Some(ev) = stream.next().await {
                match ev.expect("watch event") {
                    WatchEvent::Modified(pod) => n += u64::from(pod.metadata.name.is_some()),
                    other => panic!("unexpected event {other:?}"),
                }
            }
            n
        }
        Workload::Reflector | Workload::ReflectorDrop => {
            let drop_fields = args.workload == Workload::ReflectorDrop;
            let store = reflector(&client, args.items, drop_fields, &mut probe).await;
            cache = Some(store);
            args.items
        }
        Workload::Informer => {
            let (n, store) = informer(&client, args.items, &mut probe).await;
            cache = Some(store);
            n
        }
    };
    check_items(args.workload.name(), items, args.items);
    if args.workload.drops_managed_fields()
        && let Some(pod) = held.first()
    {
        assert!(
            pod.metadata.managed_fields.is_none(),
            "managedFields dropped"
        );
    }
    probe.finish("kubecto", args.workload, items, 0);
    drop(held);
    drop(cache);
}

/// The cache workloads' reflector settings: a paged LIST (as kube-rs's watcher does by
/// default), 500 a page, then the watch.
fn cache_config() -> ReflectorConfig {
    ReflectorConfig::default()
        .streaming_list(false)
        .page_size(kubecto_bench::PAGE_SIZE)
}

/// The key and resourceVersion of the last watch event of `events`.
fn last_event(events: u64) -> (String, String) {
    let last = events.saturating_sub(1);
    (
        format!("{NAMESPACE}/{}", pod_name(last % LIST_PODS)),
        (kubecto_bench::WATCH_BASE_RV + last).to_string(),
    )
}

/// A `Reflector` filling a `Store` (with managedFields dropped by the store's transform,
/// or kept), run in the task the benchmark awaits, as kube-rs's stream is; done when the
/// store holds the last event's pod.
async fn reflector(
    client: &RestClient,
    events: u64,
    drop_fields: bool,
    probe: &mut Probe,
) -> Store<Pod> {
    // JSON, as these workloads were first measured (the bench server now answers
    // protobuf to whoever asks for it first, as kubecto-clientset does by default).
    let api = Api::<Pod>::namespaced(client.clone(), NAMESPACE).json();
    let store = if drop_fields {
        Store::<Pod>::with_transform(drop_managed_fields())
    } else {
        Store::<Pod>::new()
    };
    let reflector = Reflector::new(ListWatch::new(&api), store.clone()).config(cache_config());
    let synced = reflector.synced();
    let stop = Shutdown::new();
    let (key, rv) = last_event(events);
    let watch_until_done = async {
        synced.wait().await;
        probe.synced();
        assert_eq!(store.len() as u64, LIST_PODS, "the store holds the list");
        loop {
            let done = store
                .get(&key)
                .is_some_and(|p| p.metadata.resource_version.as_deref() == Some(rv.as_str()));
            if done {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        stop.trigger();
    };
    tokio::join!(reflector.run(stop.clone()), watch_until_done);
    if drop_fields {
        assert!(
            store
                .get(&key)
                .is_some_and(|p| p.metadata.managed_fields.is_none())
        );
    }
    store
}

/// A shared informer with one handler counting updates, run in the task the benchmark
/// awaits; done at the last update.
async fn informer(client: &RestClient, events: u64, probe: &mut Probe) -> (u64, Store<Pod>) {
    // JSON, as these workloads were first measured (the bench server now answers
    // protobuf to whoever asks for it first, as kubecto-clientset does by default).
    let api = Api::<Pod>::namespaced(client.clone(), NAMESPACE).json();
    let informer = SharedInformer::with_options(
        ListWatch::new(&api),
        InformerOptions::new().config(cache_config()),
    );
    let updates = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let done = std::sync::Arc::new(tokio::sync::Notify::new());
    informer.add_handler(HandlerFns::new().on_update({
        let (updates, done) = (updates.clone(), done.clone());
        move |_old, _new: &std::sync::Arc<Pod>| {
            if updates.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1 == events {
                done.notify_one();
            }
        }
    }));
    let stop = Shutdown::new();
    let watch_until_done = async {
        assert!(
            informer
                .wait_for_sync(std::time::Duration::from_secs(600))
                .await
        );
        probe.synced();
        done.notified().await;
        stop.trigger();
    };
    tokio::join!(informer.run(stop.clone()), watch_until_done);
    let n = updates.load(std::sync::atomic::Ordering::Relaxed);
    (n, informer.store().clone())
}
