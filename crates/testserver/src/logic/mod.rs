//! Kubernetes' rules as plain functions over JSON objects, with no state and no I/O:
//! patches, server-side apply, selectors, defaults, field validation, server-side
//! printing, the `Scale` view, CRDs as data, and the recorded OpenAPI schemas they read.
//! These import only `shared` and `storage` (for `ResourceInfo`), and each other.
//!
//! - [`patch`]: JSON patch, merge patch, strategic merge patch.
//! - [`apply`]: server-side apply and `managedFields`.
//! - [`selector`]: label and field selectors.
//! - [`defaults`]: the defaults kube-apiserver sets on create.
//! - [`validation`]: `fieldValidation` (unknown fields dropped, warned of, refused).
//! - [`table`]: `Table` and `PartialObjectMetadata` printing.
//! - [`scale`]: the `autoscaling/v1` `Scale` view of an object.
//! - [`crd`]: a CRD's defaults, validation, served resources and OpenAPI document.
//! - [`disruption`]: PodDisruptionBudgets: which select a pod, what they allow.
//! - [`endpoints`]: which pods and ports serve a Service.
//! - [`openapi`]: the recorded OpenAPI v3 documents and the schemas in them.
//! - [`openapi_v2`]: the Swagger 2.0 document built from them, and [`gnostic`], its
//!   protobuf form.
//! - [`types`]: whether a patch keeps the object's group, version and kind.
//! - [`rules`]: the validation every write of a complete object gets: finalizers of an
//!   object being deleted, [`pods`] (what a pod update may change), and a custom
//!   resource's CRD [`schema`].

pub(crate) mod apply;
pub(crate) mod crd;
pub(crate) mod defaults;
pub(crate) mod disruption;
pub(crate) mod endpoints;
pub(crate) mod gnostic;
pub(crate) mod openapi;
pub(crate) mod openapi_v2;
pub(crate) mod patch;
pub(crate) mod pods;
pub(crate) mod rules;
pub(crate) mod scale;
pub(crate) mod schema;
pub(crate) mod selector;
pub(crate) mod table;
pub(crate) mod types;
pub(crate) mod validation;
