//! One workload with kubecto's rest-core, the way a kubecto user writes it; prints one
//! JSON line about this process (see `kubecto_bench::Probe`).
//!
//! The client-side rate limiter is switched off (`without_rate_limit`): its default
//! (50 QPS, burst 100) would make every GET workload measure the limiter, and kube-rs has
//! none. Everything else is `Config::new` as a user gets it.

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kubecto_bench::{
    ClientArgs, GET_CONCURRENCY, LIST_PODS, NAMESPACE, Probe, Workload, check_items, pod_name,
};
use kubecto_rest_core::{Config, GroupVersion, RestClient, WatchEvent};

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

fn list_request(client: &RestClient) -> kubecto_rest_core::Request {
    client.get().namespace(NAMESPACE).resource("pods")
}

fn main() {
    kubecto_bench::runtime().block_on(run());
}

async fn run() {
    let args = ClientArgs::from_env();
    let config = Config::new(args.url.as_str())
        .with_api_path("api")
        .with_group_version(GroupVersion::core_v1())
        .without_rate_limit();
    let client = RestClient::new(config).expect("client");
    let probe = Probe::start();
    let mut held: Vec<Pod> = Vec::new();
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
    };
    check_items(args.workload.name(), items, args.items);
    probe.finish("kubecto", args.workload, items, 0);
    drop(held);
}
