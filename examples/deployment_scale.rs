//! Scale a deployment through its `scale` subresource.
//!
//! ```text
//! cargo run --example deployment_scale -- --kubeconfig ~/.kube/config
//! ```
//!
//! Creates a deployment (`apps_v1().deployments(ns)`), reads its `autoscaling/v1`
//! `Scale`, sets 3 replicas through `update_scale` (as `kubectl scale` does, with the
//! Scale's resourceVersion so a concurrent change is a Conflict, not a lost write),
//! reads the deployment back to show `spec.replicas`, and deletes it. The read and the
//! write run inside `kubecto_runtime::retry_on_conflict` (client-go's
//! `retry.RetryOnConflict`): when another writer changes the deployment between them,
//! the Conflict makes it read again and write again. The deployment gets a generated
//! name, so running the example twice does not collide.

use std::path::Path;
use std::process::ExitCode;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kubecto_clientset::Clientset;
use kubecto_config::Overrides;
use kubecto_rest_core::{CreateOptions, DeleteOptions, PropagationPolicy, UpdateOptions};
use kubecto_runtime::retry::{DEFAULT_RETRY, retry_on_conflict};

pub(crate) type Failure = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> ExitCode {
    let kubeconfig = match kubecto_examples::kubeconfig_or_exit("deployment_scale") {
        Ok(path) => path,
        Err(code) => return code,
    };
    match run(kubeconfig.as_deref()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!(
                "deployment_scale: {}",
                kubecto_examples::describe(&*failure)
            );
            ExitCode::FAILURE
        }
    }
}

pub(crate) async fn run(kubeconfig: Option<&Path>) -> Result<(), Failure> {
    let context = kubecto_config::from_flags(kubeconfig, &Overrides::default()).await?;
    let clientset = Clientset::new(context.config)?;
    let namespace = context.namespace.as_str();
    let deployments = clientset.apps_v1().deployments(namespace);

    let labels: std::collections::BTreeMap<String, String> =
        [("app".to_owned(), "kubecto-scale-demo".to_owned())].into();
    let deployment = Deployment {
        metadata: ObjectMeta {
            generate_name: Some("kubecto-scale-demo-".to_owned()),
            ..Default::default()
        },
        spec: Some(DeploymentSpec {
            replicas: Some(1),
            selector: LabelSelector {
                match_labels: Some(labels.clone()),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![Container {
                        name: "main".to_owned(),
                        image: Some("registry.k8s.io/pause:3.10".to_owned()),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = deployments
        .create(&deployment, &CreateOptions::new())
        .await?;
    let name = created
        .metadata
        .name
        .clone()
        .ok_or("the server returned the deployment without a name")?;
    println!("created deployment {namespace}/{name} with 1 replica");

    // Read the Scale, set 3 replicas, write it back; read again and write again when
    // someone else wrote in between.
    let scaled = retry_on_conflict(DEFAULT_RETRY, || async {
        let mut scale = deployments.get_scale(&name).await?;
        let before = scale.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
        println!("scale of {name}: spec.replicas={before}");
        scale.spec.get_or_insert_with(Default::default).replicas = Some(3);
        let written = deployments
            .update_scale(&name, &scale, &UpdateOptions::new())
            .await;
        if let Err(e) = &written
            && e.is_conflict()
        {
            println!("deployment {name} changed since it was read; reading it again");
        }
        written
    })
    .await?;
    println!(
        "updated scale of {name}: spec.replicas={}",
        scaled.spec.and_then(|s| s.replicas).unwrap_or(0)
    );

    // Read the deployment back: the scale subresource wrote its spec.replicas.
    let read_back = deployments.get(&name).await?;
    let replicas = read_back.spec.and_then(|s| s.replicas).unwrap_or(0);
    println!("deployment {name} now has spec.replicas={replicas}");
    if replicas != 3 {
        return Err(format!("expected 3 replicas, the server says {replicas}").into());
    }

    deployments
        .delete(
            &name,
            &DeleteOptions::new().propagation_policy(PropagationPolicy::Foreground),
        )
        .await?;
    println!("deleted deployment {name}");
    Ok(())
}
