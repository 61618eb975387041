//! The typed clientset on pods: create, get, list by label, patch a label, watch until
//! deleted, delete.
//!
//! ```text
//! cargo run --example clientset_pods -- --kubeconfig ~/.kube/config
//! ```
//!
//! client-go's `clientset.CoreV1().Pods(ns)` in Rust: load the kubeconfig, build one
//! `Clientset` (one connection pool and rate limiter for every group), then work on pods
//! in the context's namespace through `core_v1().pods(ns)`, with k8s-openapi's `Pod`.
//! The pod gets a generated name, so running the example twice does not collide.
//! Failures print what went wrong and exit with status 1.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kubecto_clientset::{Clientset, Patch};
use kubecto_config::Overrides;
use kubecto_rest_core::{
    CreateOptions, DeleteOptions, ListOptions, PatchOptions, WatchEvent, WatchOptions,
};

pub(crate) type Failure = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> ExitCode {
    let kubeconfig = match kubecto_examples::kubeconfig_or_exit("clientset_pods") {
        Ok(path) => path,
        Err(code) => return code,
    };
    match run(kubeconfig.as_deref()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("clientset_pods: {}", kubecto_examples::describe(&*failure));
            ExitCode::FAILURE
        }
    }
}

pub(crate) async fn run(kubeconfig: Option<&Path>) -> Result<(), Failure> {
    // clientcmd.BuildConfigFromFlags + kubernetes.NewForConfig.
    let context = kubecto_config::from_flags(kubeconfig, &Overrides::default()).await?;
    let clientset = Clientset::new(context.config)?;
    let namespace = context.namespace.as_str();
    let pods = clientset.core_v1().pods(namespace);

    // Create.
    let pod = Pod {
        metadata: ObjectMeta {
            generate_name: Some("kubecto-demo-".to_owned()),
            labels: Some([("app".to_owned(), "kubecto-demo".to_owned())].into()),
            ..Default::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "main".to_owned(),
                image: Some("registry.k8s.io/pause:3.10".to_owned()),
                ..Default::default()
            }],
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = pods.create(&pod, &CreateOptions::new()).await?;
    let name = created
        .metadata
        .name
        .clone()
        .ok_or("the server returned the pod without a name")?;
    println!("created pod {namespace}/{name}");

    // Get.
    let got = pods.get(&name).await?;
    println!(
        "got pod {name}: uid {}, resourceVersion {}",
        got.metadata.uid.as_deref().unwrap_or("?"),
        got.metadata.resource_version.as_deref().unwrap_or("?")
    );

    // List with a label selector.
    let listed = pods
        .list(&ListOptions::new().label_selector("app=kubecto-demo"))
        .await?;
    println!("pods with app=kubecto-demo: {}", listed.items.len());
    for p in &listed.items {
        println!("  {}", p.metadata.name.as_deref().unwrap_or_default());
    }

    // Patch a label (JSON merge patch).
    let labels = serde_json::json!({"metadata": {"labels": {"tier": "demo"}}});
    let patched = pods
        .patch(&name, &Patch::Merge(labels), &PatchOptions::new())
        .await?;
    let tier = patched
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("tier"))
        .map_or("", String::as_str);
    println!("patched pod {name}: tier={tier}");

    // Watch this pod from the patched version on, delete it, and read events until the
    // watch reports it deleted.
    let from = patched
        .metadata
        .resource_version
        .clone()
        .unwrap_or_default();
    let mut events = Box::pin(
        pods.watch(
            &WatchOptions::new()
                .field_selector(format!("metadata.name={name}"))
                .resource_version(from)
                .timeout_seconds(120),
        ),
    );
    pods.delete(&name, &DeleteOptions::new().grace_period_seconds(0))
        .await?;
    println!("deleted pod {name}; watching until it is gone");
    loop {
        let next = tokio::time::timeout(Duration::from_secs(120), events.next()).await;
        match next {
            Err(_) => return Err("no DELETED event within two minutes".into()),
            Ok(None) => return Err("the watch ended before the pod was deleted".into()),
            Ok(Some(event)) => match event? {
                WatchEvent::Added(_) => println!("  watch: ADDED"),
                WatchEvent::Modified(p) => println!(
                    "  watch: MODIFIED (deletionTimestamp set: {})",
                    p.metadata.deletion_timestamp.is_some()
                ),
                WatchEvent::Bookmark(_) => {}
                WatchEvent::Deleted(_) => {
                    println!("  watch: DELETED");
                    break;
                }
            },
        }
    }
    println!("pod {name} is gone");
    Ok(())
}
