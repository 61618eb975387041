//! Where a reflector lists and watches (client-go's `ListWatch`): one collection of one
//! resource, in one namespace or all, with label and field selectors, as rest-core
//! requests.

use std::fmt;
use std::sync::Arc;

use k8s_openapi::Resource;
use kubecto_clientset::{AllNamespaces, Api};
use kubecto_dynamic::{DynamicClient, GroupVersionResource, Unstructured};
use kubecto_rest_core::{Request, RestClient};

use crate::object::{Accessor, Object, accessor};

/// Fills in what list items lack (an `Unstructured` item's `apiVersion` and `kind`), given
/// the list's kind.
pub(crate) type Decorate<K> = Arc<dyn Fn(&mut K, Option<&str>) + Send + Sync>;

/// The collection a reflector or informer follows. Made from a typed client
/// ([`ListWatch::new`], [`ListWatch::all_namespaces`]) or the dynamic client
/// ([`ListWatch::dynamic`]); narrowed with [`labels`](Self::labels) and
/// [`fields`](Self::fields).
pub struct ListWatch<K> {
    pub(crate) client: RestClient,
    /// `/api/v1` or `/apis/{group}/{version}`.
    prefix: String,
    pub(crate) namespace: Option<String>,
    resource: String,
    pub(crate) label_selector: Option<String>,
    pub(crate) field_selector: Option<String>,
    pub(crate) access: Accessor<K>,
    pub(crate) decorate: Option<Decorate<K>>,
}

impl<K> Clone for ListWatch<K> {
    fn clone(&self) -> Self {
        Self {
            client: self.client.clone(),
            prefix: self.prefix.clone(),
            namespace: self.namespace.clone(),
            resource: self.resource.clone(),
            label_selector: self.label_selector.clone(),
            field_selector: self.field_selector.clone(),
            access: Arc::clone(&self.access),
            decorate: self.decorate.clone(),
        }
    }
}

impl<K> fmt::Debug for ListWatch<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListWatch")
            .field("prefix", &self.prefix)
            .field("namespace", &self.namespace)
            .field("resource", &self.resource)
            .field("label_selector", &self.label_selector)
            .field("field_selector", &self.field_selector)
            .finish_non_exhaustive()
    }
}

fn prefix(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    }
}

impl<K: Send + Sync + 'static> ListWatch<K> {
    /// The collection `api` addresses: one namespace, or a cluster-scoped kind.
    pub fn new<M: 'static>(api: &Api<K>) -> Self
    where
        K: Resource + Object<M>,
    {
        Self::typed(
            api.rest_client().clone(),
            api.namespace().map(str::to_owned),
        )
    }

    /// A namespaced kind in every namespace.
    pub fn all_namespaces<M: 'static>(api: &AllNamespaces<K>) -> Self
    where
        K: Resource + Object<M>,
    {
        Self::typed(api.rest_client().clone(), None)
    }

    fn typed<M: 'static>(client: RestClient, namespace: Option<String>) -> Self
    where
        K: Resource + Object<M>,
    {
        Self {
            client,
            prefix: prefix(K::GROUP, K::VERSION),
            namespace,
            resource: K::URL_PATH_SEGMENT.to_owned(),
            label_selector: None,
            field_selector: None,
            access: accessor::<K, M>(),
            decorate: None,
        }
    }

    /// Only objects whose labels match `selector` (`app=web,tier!=db`).
    #[must_use]
    pub fn labels(mut self, selector: impl Into<String>) -> Self {
        self.label_selector = Some(selector.into());
        self
    }

    /// Only objects whose fields match `selector` (`status.phase=Running`).
    #[must_use]
    pub fn fields(mut self, selector: impl Into<String>) -> Self {
        self.field_selector = Some(selector.into());
        self
    }

    /// The resource path this follows, as `prefix/[namespaces/ns/]resource`, with the
    /// selectors: what identifies one shared informer.
    pub(crate) fn identity(&self) -> String {
        format!(
            "{}/{}{}?l={}&f={}",
            self.prefix,
            self.namespace
                .as_deref()
                .map(|n| format!("namespaces/{n}/"))
                .unwrap_or_default(),
            self.resource,
            self.label_selector.as_deref().unwrap_or_default(),
            self.field_selector.as_deref().unwrap_or_default(),
        )
    }

    /// A GET of the collection with the selectors.
    pub(crate) fn request(&self) -> Request {
        let mut req = self.client.get().abs_path(&self.prefix);
        if let Some(ns) = &self.namespace {
            req = req.namespace(ns);
        }
        req = req.resource(&self.resource);
        if let Some(l) = &self.label_selector {
            req = req.param("labelSelector", l);
        }
        if let Some(f) = &self.field_selector {
            req = req.param("fieldSelector", f);
        }
        req
    }
}

impl ListWatch<Unstructured> {
    /// The collection of `gvr` in `namespace` (or every namespace, or a cluster-scoped
    /// resource, for `None`), through the dynamic client.
    pub fn dynamic(
        client: &DynamicClient,
        gvr: &GroupVersionResource,
        namespace: Option<&str>,
    ) -> Self {
        let api_version = gvr.api_version();
        let decorate: Decorate<Unstructured> =
            Arc::new(move |obj: &mut Unstructured, list_kind: Option<&str>| {
                if obj.api_version().is_none() {
                    obj.set_api_version(&api_version);
                }
                if obj.kind().is_none()
                    && let Some(kind) = list_kind.and_then(|k| k.strip_suffix("List"))
                {
                    obj.set_kind(kind);
                }
            });
        Self {
            client: client.rest_client().clone(),
            prefix: prefix(&gvr.group, &gvr.version),
            namespace: namespace.map(str::to_owned),
            resource: gvr.resource.clone(),
            label_selector: None,
            field_selector: None,
            access: accessor::<Unstructured, crate::object::Dynamic>(),
            decorate: Some(decorate),
        }
    }
}
