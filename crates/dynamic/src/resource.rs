//! [`DynamicResource`]: every verb on one resource, each a rest-core request.

use futures_util::{Stream, StreamExt, TryFutureExt, TryStreamExt};
use http::Method;
use kubecto_rest_core::{
    CreateOptions, DeleteOptions, GetOptions, ListOptions, Pager, PatchOptions, PatchType, Request,
    RestClient, UpdateOptions, WatchEvent, WatchOptions,
};
use serde::Serialize;

use crate::client::{Cluster, Namespaced, Scope};
use crate::error::{Error, Result};
use crate::list::UnstructuredList;
use crate::patch::{ApplyOptions, Patch};
use crate::unstructured::Unstructured;
use kubecto_rest_core::GroupVersionResource;

/// One resource (a group, version and plural) in a [`Scope`]: a namespace, or none.
/// Made by [`DynamicClient::resource`](crate::DynamicClient::resource). Cheap to clone.
#[derive(Clone, Debug)]
pub struct DynamicResource<S: Scope = Cluster> {
    rest: RestClient,
    gvr: GroupVersionResource,
    /// `/api/v1` or `/apis/{group}/{version}`, or why the GVR cannot be a path.
    base: std::result::Result<String, String>,
    scope: S,
}

/// Whether a group or version can be a path segment.
fn check(what: &str, s: &str) -> std::result::Result<(), String> {
    if s == "." || s == ".." || s.contains(['/', '%', '?', '#']) {
        return Err(format!("{what} {s:?} cannot be part of a URL"));
    }
    Ok(())
}

fn base_path(gvr: &GroupVersionResource) -> std::result::Result<String, String> {
    if gvr.version.is_empty() {
        return Err("the version is empty".to_owned());
    }
    if gvr.resource.is_empty() {
        return Err("the resource is empty".to_owned());
    }
    check("group", &gvr.group)?;
    check("version", &gvr.version)?;
    Ok(if gvr.group.is_empty() {
        format!("/api/{}", gvr.version)
    } else {
        format!("/apis/{}/{}", gvr.group, gvr.version)
    })
}

/// An owned, checked collection address, for the pager's page requests.
struct Collection {
    rest: RestClient,
    base: String,
    namespace: Option<String>,
    resource: String,
}

impl Collection {
    fn request(&self, options: &ListOptions) -> Request {
        let req = self.rest.get().abs_path(&self.base);
        let req = match &self.namespace {
            Some(ns) => req.namespace(ns),
            None => req,
        };
        req.resource(&self.resource).params(options)
    }
}

impl DynamicResource<Cluster> {
    pub(crate) fn new(rest: RestClient, gvr: GroupVersionResource, scope: Cluster) -> Self {
        let base = base_path(&gvr);
        Self {
            rest,
            gvr,
            base,
            scope,
        }
    }

    /// The same resource in one namespace.
    pub fn namespace(self, namespace: &str) -> DynamicResource<Namespaced> {
        DynamicResource {
            rest: self.rest,
            gvr: self.gvr,
            base: self.base,
            scope: Namespaced(namespace.to_owned()),
        }
    }
}

impl<S: Scope> DynamicResource<S> {
    /// The resource.
    pub fn gvr(&self) -> &GroupVersionResource {
        &self.gvr
    }

    /// The namespace addressed, if any.
    pub fn namespace_name(&self) -> Option<&str> {
        self.scope.namespace()
    }

    /// What an error message says this call was for.
    fn target(&self, name: Option<&str>) -> String {
        let mut t = self.gvr.to_string();
        if let Some(n) = name {
            t.push_str(&format!(" {n:?}"));
        }
        match self.scope.namespace() {
            Some(ns) => t.push_str(&format!(" in namespace {ns:?}")),
            None if name.is_none() => t.push_str(" (all namespaces or cluster scope)"),
            None => {}
        }
        t
    }

    pub(crate) fn request_err(
        &self,
        verb: &'static str,
        name: Option<&str>,
    ) -> impl Fn(kubecto_rest_core::Error) -> Error + use<S> {
        let target = self.target(name);
        move |source| Error::Request {
            verb,
            target: target.clone(),
            source: Box::new(source),
        }
    }

    /// A request for the collection (`name` None) or one object, with subresources.
    pub(crate) fn request(
        &self,
        method: Method,
        name: Option<&str>,
        sub: Option<&str>,
    ) -> Result<Request> {
        let base = self.base.as_ref().map_err(|what| Error::InvalidResource {
            gvr: self.gvr.to_string(),
            what: what.clone(),
        })?;
        let mut req = self.rest.request(method).abs_path(base);
        if let Some(ns) = self.scope.namespace() {
            req = req.namespace(ns);
        }
        req = req.resource(&self.gvr.resource);
        if let Some(n) = name {
            req = req.name(n);
        }
        if let Some(s) = sub {
            req = req.sub_resource(s);
        }
        Ok(req)
    }

    async fn send_object(
        &self,
        verb: &'static str,
        name: Option<&str>,
        req: Request,
    ) -> Result<Unstructured> {
        let err = self.request_err(verb, name);
        req.send().await.map_err(&err)?.into().await.map_err(err)
    }

    /// GET one object.
    ///
    /// # Errors
    /// [`Error::Request`] naming the resource, name and namespace; `is_not_found()` when
    /// there is no such object or the server does not serve the resource.
    pub async fn get(&self, name: &str, options: &GetOptions) -> Result<Unstructured> {
        let req = self.request(Method::GET, Some(name), None)?.params(options);
        self.send_object("get", Some(name), req).await
    }

    /// GET a subresource of one object (`scale`, `status`).
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub async fn get_subresource(&self, name: &str, subresource: &str) -> Result<Unstructured> {
        let req = self.request(Method::GET, Some(name), Some(subresource))?;
        self.send_object("get", Some(name), req).await
    }

    /// LIST in one request, decoded whole, with every item's `apiVersion` and `kind` set
    /// (built-in lists leave them out of items). For large lists prefer
    /// [`list_stream`](Self::list_stream), which never holds the whole body.
    ///
    /// # Errors
    /// [`Error::Request`] naming the resource and scope.
    pub async fn list(&self, options: &ListOptions) -> Result<UnstructuredList> {
        let req = self.request(Method::GET, None, None)?.params(options);
        let err = self.request_err("list", None);
        let mut list: UnstructuredList =
            req.send().await.map_err(&err)?.into().await.map_err(err)?;
        list.fill_item_types();
        Ok(list)
    }

    /// LIST as a stream of items, each decoded as its bytes arrive, never holding the whole
    /// body. Without a `limit` it is one request; with one, pages are followed (`continue`)
    /// until the end. Items get the resource's `apiVersion` when they lack it; their `kind`
    /// is what the server sent (built-in lists send none).
    pub fn list_stream(
        &self,
        options: &ListOptions,
    ) -> impl Stream<Item = Result<Unstructured>> + Send + 'static {
        let api_version = self.gvr.api_version();
        let err = self.request_err("list", None);
        let fill = move |r: kubecto_rest_core::Result<Unstructured>| {
            r.map(|mut u| {
                if u.api_version().is_none() {
                    u.set_api_version(&api_version);
                }
                u
            })
            .map_err(&err)
        };
        let base = match &self.base {
            Ok(b) => b.clone(),
            Err(what) => {
                let e = Error::InvalidResource {
                    gvr: self.gvr.to_string(),
                    what: what.clone(),
                };
                return futures_util::stream::once(async move { Err(e) }).boxed();
            }
        };
        let list = Collection {
            rest: self.rest.clone(),
            base,
            namespace: self.scope.namespace().map(str::to_owned),
            resource: self.gvr.resource.clone(),
        };
        if options.limit.is_none() {
            list.request(options)
                .send()
                .map_ok(kubecto_rest_core::Response::list_stream::<Unstructured>)
                .try_flatten_stream()
                .map(fill)
                .boxed()
        } else {
            Pager::new(move |opts: ListOptions| list.request(&opts))
                .items::<Unstructured>(options.clone())
                .map(fill)
                .boxed()
        }
    }

    /// WATCH: a stream of events from the given options (resourceVersion, selectors,
    /// bookmarks). An `ERROR` event arrives as an `Err` ([`Error::is_gone`] for 410).
    pub fn watch(
        &self,
        options: &WatchOptions,
    ) -> impl Stream<Item = Result<WatchEvent<Unstructured>>> + Send + 'static {
        let err = self.request_err("watch", None);
        match self.request(Method::GET, None, None) {
            Ok(req) => req
                .params(options)
                .watch::<Unstructured>()
                .map_err(err)
                .boxed(),
            Err(e) => futures_util::stream::once(async move { Err(e) }).boxed(),
        }
    }

    /// POST a new object.
    ///
    /// # Errors
    /// [`Error::Request`]; `is_already_exists()` for a taken name.
    pub async fn create(
        &self,
        object: &Unstructured,
        options: &CreateOptions,
    ) -> Result<Unstructured> {
        let req = self
            .request(Method::POST, None, None)?
            .params(options)
            .json(object);
        self.send_object("create", object.name(), req).await
    }

    fn name_of<'a>(&self, verb: &str, object: &'a Unstructured) -> Result<&'a str> {
        object
            .name()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| Error::InvalidObject {
                what: format!("{verb} of {} needs metadata.name", self.gvr),
            })
    }

    /// PUT an object (replacing it). Set its `resourceVersion` to fail with a conflict
    /// instead of overwriting someone else's change.
    ///
    /// # Errors
    /// [`Error::InvalidObject`] without `metadata.name`; [`Error::Request`]
    /// (`is_conflict()` on a stale resourceVersion).
    pub async fn update(
        &self,
        object: &Unstructured,
        options: &UpdateOptions,
    ) -> Result<Unstructured> {
        let name = self.name_of("update", object)?;
        let req = self
            .request(Method::PUT, Some(name), None)?
            .params(options)
            .json(object);
        self.send_object("update", Some(name), req).await
    }

    /// PUT an object's `status` subresource.
    ///
    /// # Errors
    /// As [`update`](Self::update).
    pub async fn update_status(
        &self,
        object: &Unstructured,
        options: &UpdateOptions,
    ) -> Result<Unstructured> {
        let name = self.name_of("update_status", object)?;
        let req = self
            .request(Method::PUT, Some(name), Some("status"))?
            .params(options)
            .json(object);
        self.send_object("update status", Some(name), req).await
    }

    /// DELETE one object, with a propagation policy, preconditions or a grace period. The
    /// answer is what the server sent: a `Status` (kind `Status`) for an object gone at
    /// once, or the object itself while it is being deleted (finalizers, graceful pods).
    ///
    /// # Errors
    /// [`Error::Request`]; `is_conflict()` when a precondition does not hold.
    pub async fn delete(&self, name: &str, options: &DeleteOptions) -> Result<Unstructured> {
        let req = self
            .request(Method::DELETE, Some(name), None)?
            .json(options);
        self.send_object("delete", Some(name), req).await
    }

    /// DELETE every object the list options select (label/field selectors) in this scope.
    /// The answer is the server's (a `Status`, or the list of deleted objects).
    ///
    /// # Errors
    /// [`Error::Request`].
    pub async fn delete_collection(
        &self,
        options: &DeleteOptions,
        list_options: &ListOptions,
    ) -> Result<Unstructured> {
        let req = self
            .request(Method::DELETE, None, None)?
            .params(list_options)
            .json(options);
        self.send_object("delete collection", None, req).await
    }

    async fn patch_at<B: Serialize + ?Sized>(
        &self,
        verb: &'static str,
        name: &str,
        sub: Option<&str>,
        (patch_type, body): (PatchType, &B),
        options: &PatchOptions,
    ) -> Result<Unstructured> {
        let req = self
            .request(Method::PATCH, Some(name), sub)?
            .header(http::header::CONTENT_TYPE, patch_type.content_type())
            .params(options)
            .json(body);
        self.send_object(verb, Some(name), req).await
    }

    /// PATCH one object (JSON patch, merge patch, strategic merge patch or apply).
    ///
    /// # Errors
    /// [`Error::Request`]; `is_invalid()` for a patch the server cannot apply.
    pub async fn patch(
        &self,
        name: &str,
        patch: &Patch,
        options: &PatchOptions,
    ) -> Result<Unstructured> {
        self.patch_at(
            "patch",
            name,
            None,
            (patch.patch_type(), patch.body()),
            options,
        )
        .await
    }

    /// PATCH an object's `status` subresource.
    ///
    /// # Errors
    /// As [`patch`](Self::patch).
    pub async fn patch_status(
        &self,
        name: &str,
        patch: &Patch,
        options: &PatchOptions,
    ) -> Result<Unstructured> {
        self.patch_at(
            "patch status",
            name,
            Some("status"),
            (patch.patch_type(), patch.body()),
            options,
        )
        .await
    }

    /// Server-side apply: sends `object` (the fields this manager owns) as an apply patch.
    ///
    /// # Errors
    /// [`Error::InvalidObject`] without `metadata.name`; [`Error::Request`]
    /// (`is_conflict()` when another manager owns a field and `force` is off).
    pub async fn apply(
        &self,
        object: &Unstructured,
        options: &ApplyOptions,
    ) -> Result<Unstructured> {
        let name = self.name_of("apply", object)?;
        let body = (PatchType::Apply, object);
        self.patch_at("apply", name, None, body, &options.patch_options())
            .await
    }

    /// Server-side apply to the `status` subresource.
    ///
    /// # Errors
    /// As [`apply`](Self::apply).
    pub async fn apply_status(
        &self,
        object: &Unstructured,
        options: &ApplyOptions,
    ) -> Result<Unstructured> {
        let name = self.name_of("apply_status", object)?;
        let body = (PatchType::Apply, object);
        self.patch_at(
            "apply status",
            name,
            Some("status"),
            body,
            &options.patch_options(),
        )
        .await
    }
}
