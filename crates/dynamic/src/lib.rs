//! kubecto-dynamic: any resource, as `Unstructured` JSON objects.
//!
//! client-go's dynamic client over `kubecto-rest-core`: a [`DynamicClient`] reaches any
//! group, version and resource the server serves (CRDs, aggregated APIs, kinds newer than
//! this crate) without generated types. Every call is one rest-core
//! [`Request`](kubecto_rest_core::Request) (same retry, rate limit, auth and streaming);
//! this crate adds no HTTP of its own and depends on no other kubecto client crate. The
//! resource is given as a [`GroupVersionResource`]; to find one from a kind or a short
//! name, combine with `kubecto-discovery`'s RESTMapper.
//!
//! - [`DynamicClient::resource`] then [`namespace`](DynamicResource::namespace): the
//!   handle's type says whether a namespace is addressed ([`Namespaced`]) or not
//!   ([`Cluster`]: cluster-scoped resources, or every namespace).
//! - Verbs: get, list (whole, or [`list_stream`](DynamicResource::list_stream) item by
//!   item), create, update, update_status, delete (propagation policy, preconditions),
//!   delete_collection, patch (JSON, merge, strategic, apply), apply, apply_status, watch;
//!   exec, attach and port-forward over WebSocket, and [`connect`](DynamicResource::connect)
//!   for a raw request to any connect subresource (`proxy`).
//! - [`Unstructured`]: accessors for apiVersion, kind, name, namespace, labels,
//!   annotations, resourceVersion, uid, owner references; `nested_*` helpers; conversion
//!   to and from any serde type.
//!
//! ```no_run
//! use kubecto_dynamic::{DynamicClient, GroupVersionResource, Patch, Unstructured};
//! use kubecto_rest_core::{Config, CreateOptions, DeleteOptions, PatchOptions};
//! use serde_json::json;
//!
//! # async fn run() -> Result<(), kubecto_dynamic::Error> {
//! let client = DynamicClient::new(&Config::new("https://127.0.0.1:6443"))?;
//! let configmaps = client
//!     .resource(GroupVersionResource::new("", "v1", "configmaps"))
//!     .namespace("default");
//!
//! let mut cm = Unstructured::new("v1", "ConfigMap");
//! cm.set_name("settings");
//! cm.set_nested_field(&["data", "mode"], json!("fast"))?;
//! configmaps.create(&cm, &CreateOptions::new()).await?;
//!
//! let patch = Patch::Merge(json!({"data": {"mode": "slow"}}));
//! let patched = configmaps.patch("settings", &patch, &PatchOptions::new()).await?;
//! assert_eq!(patched.nested_str(&["data", "mode"]), Some("slow"));
//!
//! configmaps.delete("settings", &DeleteOptions::new()).await?;
//! # Ok(()) }
//! ```

mod client;
mod connect;
mod error;
mod list;
mod patch;
mod resource;
mod unstructured;

pub use client::{Cluster, DynamicClient, Namespaced, Scope};
pub use error::{Error, Result};
pub use kubecto_rest_core::GroupVersionResource;
pub use kubecto_rest_core::{
    CreateOptions, DeleteOptions, GetOptions, ListOptions, PatchOptions, Preconditions,
    PropagationPolicy, UpdateOptions, WatchEvent, WatchOptions,
};
pub use list::UnstructuredList;
pub use patch::{ApplyOptions, Patch};
pub use resource::DynamicResource;
pub use unstructured::{OwnerReference, Unstructured};
