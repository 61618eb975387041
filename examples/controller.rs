//! A small real controller: stamps a hash of the ConfigMaps a Deployment mounts onto its
//! pod template, so that changing a ConfigMap rolls the Deployment's pods.
//!
//! ```text
//! cargo run --example controller -- --kubeconfig ~/.kube/config
//! ```
//!
//! It watches the Deployments and ConfigMaps of the kubeconfig's namespace with shared
//! informers (one watch each, `managedFields` dropped before caching) and reconciles a
//! Deployment when it changes, when a ConfigMap it mounts (volume or `envFrom`) changes,
//! or when the record it owns changes. Reconciling a Deployment:
//!
//! - hashes the data of the ConfigMaps it mounts and, if the pod template's
//!   `kubecto.dev/config-hash` annotation differs, patches it;
//! - keeps a record ConfigMap `<deployment>-config-hash` (the hash and its sources) whose
//!   ownerReference names the Deployment, so the server's garbage collector deletes it
//!   with the Deployment;
//! - when the Deployment mounts no ConfigMap any more, cleans up: deletes its record and
//!   removes the annotation.
//!
//! It runs until SIGTERM or Ctrl-C, then finishes the reconciles in flight and exits.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kubecto_clientset::{Api, Patch};
use kubecto_config::Overrides;
use kubecto_rest_core::{CreateOptions, DeleteOptions, PatchOptions, RestClient};
use kubecto_runtime::{Action, Controller, InformerFactory, Shutdown, Store, key_of, object_key};

pub(crate) type Failure = Box<dyn std::error::Error + Send + Sync>;

/// The pod template annotation holding the hash.
pub(crate) const HASH_ANNOTATION: &str = "kubecto.dev/config-hash";
/// The index of Deployments by the `namespace/name` of each ConfigMap they mount.
const BY_CONFIGMAP: &str = "configmap";

#[tokio::main]
async fn main() -> ExitCode {
    let kubeconfig = match kubecto_examples::kubeconfig_or_exit("controller") {
        Ok(path) => path,
        Err(code) => return code,
    };
    match run(kubeconfig.as_deref(), Shutdown::on_signals()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("controller: {}", kubecto_examples::describe(&*failure));
            ExitCode::FAILURE
        }
    }
}

struct Context {
    namespace: String,
    deployments: Store<Deployment>,
    configmaps: Store<ConfigMap>,
    deployment_api: Api<Deployment>,
    configmap_api: Api<ConfigMap>,
}

/// Runs the controller until `stop`.
pub(crate) async fn run(kubeconfig: Option<&Path>, stop: Shutdown) -> Result<(), Failure> {
    let context = kubecto_config::from_flags(kubeconfig, &Overrides::default()).await?;
    let client = RestClient::new(context.config)?;
    let namespace = context.namespace;
    let factory = InformerFactory::new(client.clone()).drop_managed_fields(true);
    let deployments = factory.namespaced::<Deployment, _>(&namespace);
    let configmaps = factory.namespaced::<ConfigMap, _>(&namespace);
    let ns = namespace.clone();
    deployments
        .store()
        .add_indexer(BY_CONFIGMAP, move |d: &Deployment| {
            mounted(d)
                .into_iter()
                .map(|n| object_key(Some(&ns), &n))
                .collect()
        })?;
    let ctx = Arc::new(Context {
        deployment_api: Api::namespaced(client.clone(), &namespace),
        configmap_api: Api::namespaced(client, &namespace),
        namespace,
        deployments: deployments.store().clone(),
        configmaps: configmaps.store().clone(),
    });
    let index = deployments.store().clone();
    println!(
        "controller: watching deployments and configmaps in {}",
        ctx.namespace
    );
    Controller::new(deployments)
        // A change to a record reconciles the Deployment that owns it ...
        .owns(configmaps.clone(), "Deployment")
        // ... and a change to a ConfigMap, every Deployment that mounts it.
        .watches(configmaps, move |cm: &ConfigMap| {
            index
                .index_keys(BY_CONFIGMAP, &key_of(cm))
                .unwrap_or_default()
        })
        .workers(2)
        .run(
            move |key: String| {
                let ctx = Arc::clone(&ctx);
                async move { reconcile(&ctx, &key).await }
            },
            stop,
        )
        .await;
    println!("controller: stopped");
    Ok(())
}

/// The names of the ConfigMaps a Deployment mounts (volumes and `envFrom`), sorted.
pub(crate) fn mounted(d: &Deployment) -> Vec<String> {
    let mut names = Vec::new();
    if let Some(pod) = d.spec.as_ref().and_then(|s| s.template.spec.as_ref()) {
        for v in pod.volumes.iter().flatten() {
            if let Some(cm) = &v.config_map {
                names.push(cm.name.clone());
            }
        }
        for c in pod
            .containers
            .iter()
            .chain(pod.init_containers.iter().flatten())
        {
            for e in c.env_from.iter().flatten() {
                if let Some(cm) = &e.config_map_ref {
                    names.push(cm.name.clone());
                }
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

/// FNV-1a over the sources' names and data: stable across runs and builds.
pub(crate) fn config_hash(sources: &[(String, Option<Arc<ConfigMap>>)]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |s: &str| {
        for b in s.bytes().chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for (name, cm) in sources {
        eat(name);
        match cm {
            None => eat("<missing>"),
            Some(cm) => {
                for (k, v) in cm.data.iter().flatten() {
                    eat(k);
                    eat(v);
                }
                for (k, v) in cm.binary_data.iter().flatten() {
                    eat(k);
                    let mut hex = String::new();
                    for b in &v.0 {
                        let _ = write!(hex, "{b:02x}");
                    }
                    eat(&hex);
                }
            }
        }
    }
    format!("{h:016x}")
}

async fn reconcile(ctx: &Context, key: &str) -> Result<Action, Failure> {
    let Some(d) = ctx.deployments.get(key) else {
        // Deleted: the garbage collector deletes its record (it names the Deployment as
        // its owner).
        return Ok(Action::Done);
    };
    let name = d.metadata.name.clone().unwrap_or_default();
    let record = format!("{name}-config-hash");
    let stamped = d
        .spec
        .as_ref()
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.annotations.as_ref())
        .and_then(|a| a.get(HASH_ANNOTATION))
        .cloned();
    let sources = mounted(&d);
    if sources.is_empty() {
        if ctx
            .configmaps
            .get_named(Some(&ctx.namespace), &record)
            .is_some()
        {
            match ctx
                .configmap_api
                .delete(&record, &DeleteOptions::new())
                .await
            {
                Ok(_) => println!("controller: {key} mounts no configmap; deleted {record}"),
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        }
        if stamped.is_some() {
            let patch = serde_json::json!({"spec": {"template": {"metadata": {"annotations": {HASH_ANNOTATION: null}}}}});
            ctx.deployment_api
                .patch(&name, &Patch::Merge(patch), &PatchOptions::new())
                .await?;
            println!("controller: {key} mounts no configmap; removed its hash");
        }
        return Ok(Action::Done);
    }
    let found: Vec<(String, Option<Arc<ConfigMap>>)> = sources
        .iter()
        .map(|n| (n.clone(), ctx.configmaps.get_named(Some(&ctx.namespace), n)))
        .collect();
    let hash = config_hash(&found);
    if stamped.as_deref() != Some(hash.as_str()) {
        let patch = serde_json::json!({"spec": {"template": {"metadata": {"annotations": {HASH_ANNOTATION: hash}}}}});
        ctx.deployment_api
            .patch(&name, &Patch::Merge(patch), &PatchOptions::new())
            .await?;
        println!(
            "controller: {key} config hash {hash} (from {})",
            sources.join(", ")
        );
    }
    let data = BTreeMap::from([
        ("hash".to_owned(), hash.clone()),
        ("sources".to_owned(), sources.join(",")),
    ]);
    let owner = OwnerReference {
        api_version: "apps/v1".to_owned(),
        kind: "Deployment".to_owned(),
        name: name.clone(),
        uid: d.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    };
    match ctx.configmaps.get_named(Some(&ctx.namespace), &record) {
        Some(existing) if existing.data.as_ref() == Some(&data) => {}
        Some(_) => {
            let patch = serde_json::json!({"data": data});
            ctx.configmap_api
                .patch(&record, &Patch::Merge(patch), &PatchOptions::new())
                .await?;
        }
        None => {
            let cm = ConfigMap {
                metadata: ObjectMeta {
                    name: Some(record.clone()),
                    owner_references: Some(vec![owner]),
                    ..Default::default()
                },
                data: Some(data),
                ..Default::default()
            };
            match ctx.configmap_api.create(&cm, &CreateOptions::new()).await {
                Ok(_) => println!("controller: recorded {record}, owned by {key}"),
                Err(e) if e.is_already_exists() => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(Action::Done)
}
