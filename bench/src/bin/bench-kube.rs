//! One workload with kube-rs 5 (`kube` with default features: rustls) and k8s-openapi,
//! through `Client` and `Api<Pod>` the way a kube-rs user writes it; prints one JSON line
//! about this process (see `kubecto_bench::Probe`).

use futures_util::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kubecto_bench::{
    ClientArgs, GET_CONCURRENCY, LIST_PODS, NAMESPACE, Probe, Workload, check_items, pod_name,
};

async fn get(api: &Api<Pod>, i: u64) -> Pod {
    let name = pod_name(i % LIST_PODS);
    let pod = api.get(&name).await.expect("GET pod");
    debug_assert_eq!(pod.metadata.name.as_deref(), Some(name.as_str()));
    pod
}

fn main() {
    kubecto_bench::runtime().block_on(run());
}

async fn run() {
    let args = ClientArgs::from_env();
    if args.workload.is_protobuf() {
        eprintln!(
            "bench-kube: kube-rs has no protobuf; {} is compared with kube-rs's {}",
            args.workload.name(),
            args.workload.base().name()
        );
        std::process::exit(2);
    }
    let uri: http::Uri = args.url.parse().expect("server URL");
    let config = kube::Config::new(uri);
    let client = kube::Client::try_from(config).expect("client");
    let api: Api<Pod> = Api::namespaced(client, NAMESPACE);
    let mut probe = Probe::start();
    let mut held: Vec<Pod> = Vec::new();
    // A cache workload's store, dropped after the figures are taken (as `held`).
    let mut cache = None;
    let items = match args.workload {
        Workload::GetSeq => {
            let mut n = 0u64;
            for i in 0..args.items {
                let pod = get(&api, i).await;
                n += u64::from(pod.metadata.name.is_some());
            }
            n
        }
        Workload::GetPar => {
            let mut tasks = Vec::new();
            for t in 0..GET_CONCURRENCY {
                let api = api.clone();
                let total = args.items;
                tasks.push(tokio::spawn(async move {
                    let mut n = 0u64;
                    let mut i = t;
                    while i < total {
                        let pod = get(&api, i).await;
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
        // kube-rs has one way to read a whole LIST: Api::list.
        Workload::List | Workload::ListCollect | Workload::ListStream => {
            let list = api.list(&ListParams::default()).await.expect("LIST");
            held = list.items;
            held.len() as u64
        }
        Workload::Watch => {
            let stream = api
                .watch(&WatchParams::default(), "0")
                .await
                .expect("watch");
            let mut stream = std::pin::pin!(stream.into_stream());
            let mut n = 0u64;
            while let Some(ev) = stream.next().await {
                match ev.expect("watch event") {
                    WatchEvent::Modified(pod) => n += u64::from(pod.metadata.name.is_some()),
                    other => panic!("unexpected event {other:?}"),
                }
            }
            n
        }
        // kube-rs's one way to keep a cache: reflector(store, watcher(..)). Its watcher
        // lists 500 a page by default, as the kubecto side is set to.
        Workload::Reflector | Workload::Informer => {
            let stream = watcher(api.clone(), watcher::Config::default());
            let (n, store) = reflect(stream, args.items, &mut probe).await;
            cache = Some(store);
            n
        }
        Workload::ReflectorDrop => {
            let stream = watcher(api.clone(), watcher::Config::default())
                .modify(|pod| pod.metadata.managed_fields = None);
            let (n, store) = reflect(stream, args.items, &mut probe).await;
            cache = Some(store);
            n
        }
        Workload::GetSeqPb
        | Workload::GetSeqPbDrop
        | Workload::GetParPb
        | Workload::ListCollectPb
        | Workload::ListCollectPbDrop
        | Workload::ListStreamPb
        | Workload::ListStreamPbDrop
        | Workload::WatchPb
        | Workload::WatchPbDrop => unreachable!("refused above"),
    };
    check_items(args.workload.name(), items, args.items);
    probe.finish("kube-rs", args.workload, items, 0);
    drop(held);
    drop(cache);
}

/// Runs `reflector(store, stream)` until `events` watch events were applied; marks the
/// sync at `InitDone`.
async fn reflect<S>(stream: S, events: u64, probe: &mut Probe) -> (u64, reflector::Store<Pod>)
where
    S: futures_util::Stream<Item = Result<watcher::Event<Pod>, watcher::Error>>,
{
    let (store, writer) = reflector::store::<Pod>();
    let stream = reflector(writer, stream);
    let mut stream = std::pin::pin!(stream);
    let mut applied = 0u64;
    while let Some(ev) = stream.next().await {
        match ev.expect("watcher event") {
            watcher::Event::InitDone => {
                probe.synced();
                assert_eq!(
                    store.state().len() as u64,
                    LIST_PODS,
                    "the store holds the list"
                );
            }
            watcher::Event::Apply(_) => {
                applied += 1;
                if applied == events {
                    break;
                }
            }
            _ => {}
        }
    }
    (applied, store)
}
