//! [`Api`] and [`AllNamespaces`]: the generic typed clients every generated accessor
//! returns. Scope is part of the type: [`Api::namespaced`] only accepts namespaced
//! resources, [`Api::cluster`] only cluster-scoped ones, and [`AllNamespaces`] (list and
//! watch across every namespace) only namespaced ones.

use std::fmt;

use k8s_openapi::{ClusterResourceScope, NamespaceResourceScope, Resource};
use kubecto_rest_core::{Error, PatchType, Request, RestClient, Result};

use crate::wire::Wire;

/// The versioned API path of `K`: `/api/v1` for the core group, `/apis/{group}/{version}`
/// for every other.
pub(crate) fn api_prefix<K: Resource>() -> String {
    if K::GROUP.is_empty() {
        format!("/api/{}", K::VERSION)
    } else {
        format!("/apis/{}/{}", K::GROUP, K::VERSION)
    }
}

/// The HTTP verb of a request, mapped onto rest-core's builder constructors.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Verb {
    Get,
    Post,
    Put,
    Patch(PatchType),
    Delete,
}

/// What a request addresses: the client, the versioned path and the namespace, if any.
/// Shared by [`Api`] and [`AllNamespaces`].
#[derive(Clone)]
pub(crate) struct Target {
    pub(crate) client: RestClient,
    prefix: String,
    namespace: Option<String>,
    resource: &'static str,
    /// `{prefix}/{resource}`: what the client remembers a refusal of protobuf under.
    key: String,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("prefix", &self.prefix)
            .field("namespace", &self.namespace)
            .field("resource", &self.resource)
            .finish_non_exhaustive()
    }
}

impl Target {
    fn new<K: Resource>(client: RestClient, namespace: Option<String>) -> Self {
        let prefix = api_prefix::<K>();
        Self {
            client,
            key: format!("{prefix}/{}", K::URL_PATH_SEGMENT),
            prefix,
            namespace,
            resource: K::URL_PATH_SEGMENT,
        }
    }

    /// Whether the client may speak protobuf to this resource (see [`crate::wire`]).
    pub(crate) fn protobuf_allowed(&self) -> bool {
        self.client.protobuf_allowed(&self.key)
    }

    /// Remembers that this resource refused protobuf.
    pub(crate) fn refuse_protobuf(&self) {
        self.client.remember_refuses_protobuf(&self.key);
    }

    /// Fails when a namespaced target was given an empty namespace.
    pub(crate) fn check(&self) -> Result<()> {
        match &self.namespace {
            Some(ns) if ns.is_empty() => Err(Error::InvalidRequest {
                what: format!(
                    "{} are namespaced: the namespace may not be empty (use the `_all_namespaces` accessor to list every namespace)",
                    self.resource
                ),
            }),
            _ => Ok(()),
        }
    }

    /// A request for the collection (`.../namespaces/{ns}/{resource}`), or an error when a
    /// namespaced target was given an empty namespace.
    pub(crate) fn request(&self, verb: Verb) -> Result<Request> {
        self.check()?;
        Ok(self.collection(verb))
    }

    /// The collection request of a target already [`check`](Self::check)ed.
    pub(crate) fn collection(&self, verb: Verb) -> Request {
        let req = match verb {
            Verb::Get => self.client.get(),
            Verb::Post => self.client.post(),
            Verb::Put => self.client.put(),
            Verb::Patch(pt) => self.client.patch(pt),
            Verb::Delete => self.client.delete(),
        };
        self.address(req)
    }

    /// A request for one object with any method (`.../{resource}/{name}`): the proxy
    /// subresources take whatever method the proxied server expects.
    pub(crate) fn named_with(&self, method: http::Method, name: &str) -> Result<Request> {
        self.check()?;
        Ok(self.address(self.client.request(method)).name(name))
    }

    /// `req` addressed to this target's collection.
    fn address(&self, req: Request) -> Request {
        let req = req.abs_path(&self.prefix);
        let req = match &self.namespace {
            Some(ns) => req.namespace(ns),
            None => req,
        };
        req.resource(self.resource)
    }

    /// A request for one object (`.../{resource}/{name}`).
    pub(crate) fn named(&self, verb: Verb, name: &str) -> Result<Request> {
        Ok(self.request(verb)?.name(name))
    }

    /// A request for a subresource of one object (`.../{resource}/{name}/{sub}`).
    pub(crate) fn sub(&self, verb: Verb, name: &str, sub: &str) -> Result<Request> {
        Ok(self.named(verb, name)?.sub_resource(sub))
    }
}

/// A typed client for one kind of resource `K`, in one namespace (namespaced kinds) or
/// cluster-wide (cluster-scoped kinds). Cloning is cheap; every clone shares the
/// [`RestClient`] (connection pool, rate limiter, backoff) it was made from.
///
/// Works for every `k8s-openapi` resource and for your own custom resources: implement
/// `k8s_openapi::Resource` (and `k8s_openapi::Metadata`, `k8s_openapi::ListableResource`,
/// [`HasStatus`](crate::HasStatus) as they apply) for the type; see the crate docs.
///
/// Built-in kinds speak protobuf on the wire, as client-go's clientset does: see
/// [`json`](Self::json) and [`drop_managed_fields`](Self::drop_managed_fields).
pub struct Api<K> {
    pub(crate) target: Target,
    pub(crate) wire: Wire<K>,
}

impl<K> Clone for Api<K> {
    fn clone(&self) -> Self {
        Self {
            target: self.target.clone(),
            wire: self.wire.clone(),
        }
    }
}

impl<K> fmt::Debug for Api<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Api").field("target", &self.target).finish()
    }
}

impl<K: Resource<Scope = NamespaceResourceScope> + 'static> Api<K> {
    /// A client for the namespaced resource `K` in `namespace`. Only namespaced kinds
    /// compile here. An empty namespace makes every call fail with
    /// [`Error::InvalidRequest`]; to list or watch every namespace use
    /// [`AllNamespaces`].
    pub fn namespaced(client: RestClient, namespace: &str) -> Self {
        Self {
            target: Target::new::<K>(client, Some(namespace.to_owned())),
            wire: Wire::new(),
        }
    }
}

impl<K: Resource<Scope = ClusterResourceScope> + 'static> Api<K> {
    /// A client for the cluster-scoped resource `K`. Only cluster-scoped kinds compile
    /// here, and there is no way to give one a namespace.
    pub fn cluster(client: RestClient) -> Self {
        Self {
            target: Target::new::<K>(client, None),
            wire: Wire::new(),
        }
    }
}

/// The wire options of a typed client ([`Api`], [`AllNamespaces`]).
macro_rules! wire_options {
    ($ty:ident) => {
        impl<K: 'static> $ty<K> {
            /// This client speaking JSON only, whatever `K` is (built-in kinds speak
            /// protobuf by default;
            /// [`Config::without_protobuf`](kubecto_rest_core::Config::without_protobuf)
            /// does the same for every client of a config).
            #[must_use]
            pub fn json(mut self) -> Self {
                self.wire = Wire::json();
                self
            }

            /// Skip `metadata.managedFields` while decoding protobuf answers (get, list,
            /// watch), so that their memory (about half of a typical pod's) is never
            /// allocated: the objects come back with `managed_fields: None`. Answers that
            /// arrive in JSON (custom resources, a server without protobuf) keep them.
            #[must_use]
            pub fn drop_managed_fields(mut self, drop: bool) -> Self {
                self.wire = self
                    .wire
                    .decoding(kubecto_protobuf::DecodeOptions::default().drop_managed_fields(drop));
                self
            }
        }
    };
}

wire_options!(Api);
wire_options!(AllNamespaces);

impl<K: 'static> Api<K> {
    /// Whether this client speaks protobuf to the server when it may: `K` is a built-in
    /// kind and [`json`](Self::json) was not called.
    pub fn speaks_protobuf(&self) -> bool {
        self.wire.has_codec()
    }
}

impl<K> Api<K> {
    /// The namespace this client works in (`None` for a cluster-scoped kind).
    pub fn namespace(&self) -> Option<&str> {
        self.target.namespace.as_deref()
    }

    /// The REST client underneath, for requests this crate has no helper for.
    pub fn rest_client(&self) -> &RestClient {
        &self.target.client
    }
}

/// A typed client for a namespaced resource `K` across every namespace: list and watch
/// only (`/api/v1/pods`), as the API server allows nothing else there.
pub struct AllNamespaces<K> {
    pub(crate) target: Target,
    pub(crate) wire: Wire<K>,
}

impl<K> Clone for AllNamespaces<K> {
    fn clone(&self) -> Self {
        Self {
            target: self.target.clone(),
            wire: self.wire.clone(),
        }
    }
}

impl<K> fmt::Debug for AllNamespaces<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AllNamespaces")
            .field("target", &self.target)
            .finish()
    }
}

impl<K: Resource<Scope = NamespaceResourceScope> + 'static> AllNamespaces<K> {
    /// A client listing and watching `K` in every namespace.
    pub fn new(client: RestClient) -> Self {
        Self {
            target: Target::new::<K>(client, None),
            wire: Wire::new(),
        }
    }
}

impl<K> AllNamespaces<K> {
    /// The REST client underneath.
    pub fn rest_client(&self) -> &RestClient {
        &self.target.client
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::{Node, Pod};
    use k8s_openapi::api::rbac::v1::ClusterRole;
    use kubecto_rest_core::Config;

    use super::*;

    fn client() -> RestClient {
        // The host's own path prefix is kept; the config's group-version is not used.
        let config = Config::new("https://example.invalid:6443/prefix")
            .with_api_path("apis")
            .with_group_version(kubecto_rest_core::GroupVersion::new("apps", "v1"));
        match RestClient::new(config) {
            Ok(c) => c,
            Err(e) => panic!("client: {e}"),
        }
    }

    fn url(req: Result<Request>) -> String {
        match req.and_then(|r| r.url()) {
            Ok(u) => u,
            Err(e) => panic!("url: {e}"),
        }
    }

    #[test]
    fn prefixes() {
        assert_eq!(api_prefix::<Pod>(), "/api/v1");
        assert_eq!(api_prefix::<Deployment>(), "/apis/apps/v1");
        assert_eq!(
            api_prefix::<ClusterRole>(),
            "/apis/rbac.authorization.k8s.io/v1"
        );
    }

    #[test]
    fn urls_by_scope() {
        let base = "https://example.invalid:6443/prefix";
        let pods = Api::<Pod>::namespaced(client(), "kube-system");
        assert_eq!(
            url(pods.target.request(Verb::Get)),
            format!("{base}/api/v1/namespaces/kube-system/pods")
        );
        assert_eq!(
            url(pods.target.sub(Verb::Get, "web-0", "log")),
            format!("{base}/api/v1/namespaces/kube-system/pods/web-0/log")
        );
        let nodes = Api::<Node>::cluster(client());
        assert_eq!(
            url(nodes.target.named(Verb::Put, "n1")),
            format!("{base}/api/v1/nodes/n1")
        );
        let all = AllNamespaces::<Deployment>::new(client());
        assert_eq!(
            url(all.target.request(Verb::Get)),
            format!("{base}/apis/apps/v1/deployments")
        );
    }

    #[test]
    fn empty_namespace_and_bad_names_are_refused() {
        let pods = Api::<Pod>::namespaced(client(), "");
        assert!(matches!(
            pods.target.request(Verb::Get),
            Err(Error::InvalidRequest { .. })
        ));
        let pods = Api::<Pod>::namespaced(client(), "default");
        assert!(
            pods.target
                .named(Verb::Get, "..")
                .and_then(|r| r.url())
                .is_err()
        );
    }
}
