//! Create, get, patch, list and delete a ConfigMap and a custom resource through the
//! dynamic client, with kubecto-discovery's RESTMapper turning names into resources.
//!
//! ```text
//! cargo run --example dynamic_crud -- --kubeconfig ~/.kube/config
//! ```
//!
//! Works in the kubeconfig context's namespace. For the custom resource it makes sure the
//! CustomResourceDefinition `widgets.examples.kubecto.dev` exists (creating it, and
//! waiting until it is Established, if it does not; deleting it at the end only if it
//! created it). The RESTMapper finds `cm` at once and `widget` after the CRD appears: its
//! first lookup misses and refreshes discovery once. Every step prints one line; a failure
//! prints what went wrong (which resource, name and namespace) and exits with status 1.

use std::fmt;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use kubecto_config::Overrides;
use kubecto_discovery::{DiscoveryClient, RestMapper};
use kubecto_dynamic::{
    CreateOptions, DeleteOptions, DynamicClient, GetOptions, GroupVersionResource, ListOptions,
    Patch, PatchOptions, Unstructured,
};
use serde_json::json;

const CRD_NAME: &str = "widgets.examples.kubecto.dev";

#[tokio::main]
async fn main() -> ExitCode {
    let kubeconfig = match kubecto_examples::kubeconfig_or_exit("dynamic_crud") {
        Ok(path) => path,
        Err(code) => return code,
    };
    let mut out = std::io::stdout().lock();
    match run(kubeconfig.as_deref(), &mut out).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("dynamic_crud: {}", kubecto_examples::describe(&failure));
            ExitCode::FAILURE
        }
    }
}

/// The whole walk-through, printing one line per step to `out`.
pub(crate) async fn run(kubeconfig: Option<&Path>, out: &mut dyn Write) -> Result<(), Failure> {
    let context = kubecto_config::from_flags(kubeconfig, &Overrides::default()).await?;
    let namespace = context.namespace;
    let config = context.config;
    let client =
        DynamicClient::new(&config).map_err(|e| Failure::Dynamic("build the client", e))?;
    let discovery =
        DiscoveryClient::new(&config).map_err(|e| Failure::Discovery("build the client", e))?;
    let mapper = RestMapper::new(discovery);

    // A ConfigMap, found by its short name.
    let cm = mapper
        .resource_for("cm")
        .await
        .map_err(|e| Failure::Discovery("map \"cm\"", e))?;
    let configmaps = client.resource(&cm.resource).namespace(&namespace);
    let mut object = Unstructured::new("v1", "ConfigMap");
    object.set_name("kubecto-dynamic-demo");
    set(&mut object, &["data", "mode"], json!("fast"))?;
    crud(out, &configmaps, object, json!({"data": {"mode": "slow"}})).await?;

    // A custom resource: its CRD first, then the mapper finds it after one refresh.
    let created_crd = ensure_crd(out, &client).await?;
    let widget = mapper
        .resource_for("widget")
        .await
        .map_err(|e| Failure::Discovery("map \"widget\"", e))?;
    say(
        out,
        format!("the RESTMapper maps \"widget\" to {}", widget.resource),
    )?;
    let widgets = client.resource(&widget.resource).namespace(&namespace);
    let mut object = Unstructured::new(&widget.kind.api_version(), &widget.kind.kind);
    object.set_name("kubecto-dynamic-demo");
    set(&mut object, &["spec", "size"], json!(3))?;
    let result = crud(out, &widgets, object, json!({"spec": {"size": 5}})).await;

    if created_crd {
        let crds = client.resource(crd_gvr());
        crds.delete(CRD_NAME, &DeleteOptions::new())
            .await
            .map_err(|e| Failure::Dynamic("delete the CRD", e))?;
        say(out, format!("deleted customresourcedefinition {CRD_NAME}"))?;
    }
    result
}

/// Create, get, merge-patch, list and delete one object, printing each step.
async fn crud(
    out: &mut dyn Write,
    resource: &kubecto_dynamic::DynamicResource<kubecto_dynamic::Namespaced>,
    object: Unstructured,
    patch: serde_json::Value,
) -> Result<(), Failure> {
    let what = resource.gvr().resource.clone();
    let ns = resource.namespace_name().unwrap_or_default().to_owned();
    let name = object.name().unwrap_or_default().to_owned();
    // Left over from an earlier run that stopped half-way: start clean.
    match resource.delete(&name, &DeleteOptions::new()).await {
        Ok(_) => say(out, format!("deleted a leftover {what} {ns}/{name}"))?,
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(Failure::Dynamic("delete a leftover", e)),
    }

    let created = resource
        .create(&object, &CreateOptions::new())
        .await
        .map_err(|e| Failure::Dynamic("create", e))?;
    say(
        out,
        format!(
            "created {what} {ns}/{name} (uid {}, resourceVersion {})",
            created.uid().unwrap_or("?"),
            created.resource_version().unwrap_or("?")
        ),
    )?;
    let got = resource
        .get(&name, &GetOptions::new())
        .await
        .map_err(|e| Failure::Dynamic("get", e))?;
    say(out, format!("got {what} {ns}/{name}: {}", summary(&got)))?;
    let patched = resource
        .patch(&name, &Patch::Merge(patch), &PatchOptions::new())
        .await
        .map_err(|e| Failure::Dynamic("patch", e))?;
    say(
        out,
        format!("patched {what} {ns}/{name}: {}", summary(&patched)),
    )?;
    let list = resource
        .list(&ListOptions::new())
        .await
        .map_err(|e| Failure::Dynamic("list", e))?;
    let names: Vec<&str> = list.items.iter().filter_map(Unstructured::name).collect();
    say(
        out,
        format!(
            "listed {} {what} in {ns}: {}",
            names.len(),
            names.join(", ")
        ),
    )?;
    resource
        .delete(&name, &DeleteOptions::new())
        .await
        .map_err(|e| Failure::Dynamic("delete", e))?;
    say(out, format!("deleted {what} {ns}/{name}"))
}

/// `data` or `spec`, whichever the object has, as compact JSON.
fn summary(u: &Unstructured) -> String {
    u.nested(&["data"])
        .or_else(|| u.nested(&["spec"]))
        .map(|v| v.to_string())
        .unwrap_or_default()
}

fn crd_gvr() -> GroupVersionResource {
    GroupVersionResource::new("apiextensions.k8s.io", "v1", "customresourcedefinitions")
}

/// Creates the Widget CRD unless it exists and waits until it is Established. Returns
/// whether it was created here.
async fn ensure_crd(out: &mut dyn Write, client: &DynamicClient) -> Result<bool, Failure> {
    let crds = client.resource(crd_gvr());
    let created = match crds.get(CRD_NAME, &GetOptions::new()).await {
        Ok(_) => false,
        Err(e) if e.is_not_found() => {
            let crd = Unstructured::from_value(json!({
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": CRD_NAME},
                "spec": {
                    "group": "examples.kubecto.dev",
                    "scope": "Namespaced",
                    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wdg"]},
                    "versions": [{
                        "name": "v1", "served": true, "storage": true,
                        "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                            "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}
                        }}}
                    }]
                }
            }))
            .map_err(|e| Failure::Dynamic("build the CRD", e))?;
            crds.create(&crd, &CreateOptions::new())
                .await
                .map_err(|e| Failure::Dynamic("create the CRD", e))?;
            say(out, format!("created customresourcedefinition {CRD_NAME}"))?;
            true
        }
        Err(e) => return Err(Failure::Dynamic("get the CRD", e)),
    };
    for _ in 0..50 {
        let crd = crds
            .get(CRD_NAME, &GetOptions::new())
            .await
            .map_err(|e| Failure::Dynamic("get the CRD", e))?;
        let established = crd
            .nested_slice(&["status", "conditions"])
            .unwrap_or_default()
            .iter()
            .any(|c| c["type"] == "Established" && c["status"] == "True");
        if established {
            return Ok(created);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(Failure::NotEstablished)
}

fn set(u: &mut Unstructured, path: &[&str], value: serde_json::Value) -> Result<(), Failure> {
    u.set_nested_field(path, value)
        .map_err(|e| Failure::Dynamic("build the object", e))
}

fn say(out: &mut dyn Write, line: String) -> Result<(), Failure> {
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(Failure::Output)
}

/// What went wrong, and at which step.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The kubeconfig could not be loaded.
    Kubeconfig(kubecto_config::Error),
    /// A discovery or RESTMapper step failed.
    Discovery(&'static str, kubecto_discovery::Error),
    /// A dynamic client step failed (its message names the resource, name and namespace).
    Dynamic(&'static str, kubecto_dynamic::Error),
    /// The CRD did not become Established within 10 seconds.
    NotEstablished,
    /// Writing the output failed.
    Output(std::io::Error),
}

impl From<kubecto_config::Error> for Failure {
    fn from(e: kubecto_config::Error) -> Self {
        Failure::Kubeconfig(e)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Kubeconfig(e) => write!(f, "{e}"),
            Failure::Discovery(step, _) => write!(f, "discovery: cannot {step}"),
            Failure::Dynamic(step, _) => write!(f, "cannot {step}"),
            Failure::NotEstablished => write!(
                f,
                "customresourcedefinition {CRD_NAME} was not Established within 10 s"
            ),
            Failure::Output(_) => f.write_str("cannot write the output"),
        }
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Failure::Kubeconfig(e) => std::error::Error::source(e),
            Failure::Discovery(_, e) => Some(e),
            Failure::Dynamic(_, e) => Some(e),
            Failure::NotEstablished => None,
            Failure::Output(e) => Some(e),
        }
    }
}
