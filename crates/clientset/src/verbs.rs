//! The verbs on one object or one collection: get, create, update, delete,
//! delete_collection, patch and server-side apply.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::{Metadata, Resource};
use kubecto_rest_core::{
    CreateOptions, DeleteOptions, Error, GetOptions, ListOptions, PatchOptions, PatchType,
    Response, Result, Status, UpdateOptions,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::{Api, Verb};
use crate::patch::{ApplyOptions, Patch};

/// What a DELETE answered: the object (still there while finalizers or a grace period
/// run, as pods are), or a `Status` saying it is gone.
#[derive(Clone, Debug, PartialEq)]
pub enum Deleted<K> {
    /// The object, being deleted.
    Object(K),
    /// The server's `Status` (`Success`): the object is gone.
    Status(Box<Status>),
}

impl<K> Deleted<K> {
    /// The object, if the server returned it.
    pub fn object(self) -> Option<K> {
        match self {
            Deleted::Object(o) => Some(o),
            Deleted::Status(_) => None,
        }
    }

    /// The status, if the server returned one.
    pub fn status(&self) -> Option<&Status> {
        match self {
            Deleted::Object(_) => None,
            Deleted::Status(s) => Some(s),
        }
    }
}

/// The name in an object's metadata, required to address it.
pub(crate) fn object_name<K>(obj: &K) -> Result<&str>
where
    K: Metadata<Ty = ObjectMeta>,
{
    match obj.metadata().name.as_deref() {
        Some(name) if !name.is_empty() => Ok(name),
        _ => Err(Error::InvalidRequest {
            what: format!("the {} has no metadata.name", K::KIND),
        }),
    }
}

/// Serializes a request body, reporting failure as a request error.
pub(crate) fn to_body<T: Serialize + ?Sized>(what: &str, value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::InvalidRequest {
        what: format!("cannot serialize the {what} as JSON: {e}"),
    })
}

/// A decode error in rest-core's shape for a body read here.
pub(crate) fn decode_error(url: &str, body: &[u8], e: serde_json::Error) -> Error {
    let end = body.len().min(200);
    Error::Decode {
        url: url.to_owned(),
        body_excerpt: String::from_utf8_lossy(&body[..end]).into_owned(),
        offset: None,
        source: Box::new(e),
    }
}

/// Decodes an answer that is either a `K` or a `Status`.
pub(crate) async fn object_or_status<K: DeserializeOwned>(
    resp: Response,
    kind: &str,
) -> Result<Deleted<K>> {
    #[derive(serde::Deserialize)]
    struct KindOnly<'a> {
        #[serde(borrow, default)]
        kind: Option<std::borrow::Cow<'a, str>>,
    }
    let url = resp.url().to_owned();
    let bytes = resp.bytes().await?;
    let is_status = serde_json::from_slice::<KindOnly<'_>>(&bytes)
        .ok()
        .and_then(|k| k.kind)
        .is_some_and(|k| k == "Status" && kind != "Status");
    if is_status {
        serde_json::from_slice::<Status>(&bytes)
            .map(|s| Deleted::Status(Box::new(s)))
            .map_err(|e| decode_error(&url, &bytes, e))
    } else {
        serde_json::from_slice::<K>(&bytes)
            .map(Deleted::Object)
            .map_err(|e| decode_error(&url, &bytes, e))
    }
}

impl<K> Api<K>
where
    K: Resource + DeserializeOwned + 'static,
{
    /// GET one object by name.
    ///
    /// # Errors
    /// [`Error::Api`] from the server (`is_not_found()` when there is no such object),
    /// transport and decode errors as rest-core reports them.
    pub async fn get(&self, name: &str) -> Result<K> {
        let req = self.target.named(Verb::Get, name)?;
        self.wire
            .accepting(&self.target, req)
            .send()
            .await?
            .into_negotiated(self.wire.decoder())
            .await
    }

    /// GET one object by name with options (a `resourceVersion` to serve from cache).
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub async fn get_with(&self, name: &str, options: &GetOptions) -> Result<K> {
        let req = self.target.named(Verb::Get, name)?.params(options);
        self.wire
            .accepting(&self.target, req)
            .send()
            .await?
            .into_negotiated(self.wire.decoder())
            .await
    }

    /// GET one object, `None` when it does not exist.
    ///
    /// # Errors
    /// As [`get`](Self::get), except that NotFound is `Ok(None)`.
    pub async fn get_opt(&self, name: &str) -> Result<Option<K>> {
        match self.get(name).await {
            Ok(o) => Ok(Some(o)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// DELETE one object. The answer is the object while it is being deleted (finalizers,
    /// a pod's grace period) or a `Status` once it is gone.
    ///
    /// # Errors
    /// [`Error::Api`] (`is_not_found()`, `is_conflict()` for a failed precondition).
    pub async fn delete(&self, name: &str, options: &DeleteOptions) -> Result<Deleted<K>> {
        let resp = self
            .target
            .named(Verb::Delete, name)?
            .body(to_body("delete options", options)?)
            .send()
            .await?;
        object_or_status(resp, K::KIND).await
    }

    /// DELETE every object of the collection that `list` selects (`deletecollection`).
    ///
    /// # Errors
    /// [`Error::Api`] from the server.
    pub async fn delete_collection(
        &self,
        options: &DeleteOptions,
        list: &ListOptions,
    ) -> Result<()> {
        self.target
            .request(Verb::Delete)?
            .params(list)
            .body(to_body("delete options", options)?)
            .send()
            .await?
            .bytes()
            .await
            .map(drop)
    }

    /// PATCH one object with a JSON, merge, strategic merge or apply patch.
    ///
    /// # Errors
    /// [`Error::Api`]: `is_invalid()` for a patch the server cannot apply, a 415 for a
    /// strategic merge patch on a custom resource, `is_conflict()` for an apply conflict.
    pub async fn patch<P: Serialize>(
        &self,
        name: &str,
        patch: &Patch<P>,
        options: &PatchOptions,
    ) -> Result<K> {
        self.target
            .named(Verb::Patch(patch.patch_type()), name)?
            .params(options)
            .body(patch.to_bytes()?)
            .send()
            .await?
            .into()
            .await
    }
}

impl<K> Api<K>
where
    K: Resource + Serialize + DeserializeOwned + 'static,
{
    /// POST a new object. Its `metadata.name` (or `generateName`) names it; the answer is
    /// the object as stored, with the server's defaults.
    ///
    /// # Errors
    /// [`Error::Api`]: `is_already_exists()`, `is_invalid()`, `is_forbidden()`.
    pub async fn create(&self, object: &K, options: &CreateOptions) -> Result<K> {
        let make = || Ok(self.target.request(Verb::Post)?.params(options));
        self.wire
            .send_object(&self.target, make, object)
            .await?
            .into_negotiated(self.wire.decoder())
            .await
    }
}

impl<K> Api<K>
where
    K: Resource + Metadata<Ty = ObjectMeta> + Serialize + DeserializeOwned + 'static,
{
    /// PUT (replace) an object, addressed by its `metadata.name`. With a
    /// `metadata.resourceVersion` the server refuses a stale object with a Conflict.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] when the object has no name; [`Error::Api`]:
    /// `is_conflict()` for a stale resourceVersion, `is_not_found()`, `is_invalid()`.
    pub async fn update(&self, object: &K, options: &UpdateOptions) -> Result<K> {
        let name = object_name(object)?;
        let make = || Ok(self.target.named(Verb::Put, name)?.params(options));
        self.wire
            .send_object(&self.target, make, object)
            .await?
            .into_negotiated(self.wire.decoder())
            .await
    }

    /// Server-side apply of `object` (addressed by its `metadata.name`) as
    /// `options.field_manager`: the fields it sets become that manager's. Serialize only
    /// what you mean to own; an object read back from the server carries
    /// `managedFields`, which apply refuses.
    ///
    /// # Errors
    /// [`Error::Api`]: `is_conflict()` when another manager owns a field (unless
    /// `force`), `is_invalid()`.
    pub async fn apply(&self, object: &K, options: &ApplyOptions) -> Result<K> {
        self.target
            .named(Verb::Patch(PatchType::Apply), object_name(object)?)?
            .params(&options.to_patch_options())
            .body(to_body(K::KIND, object)?)
            .send()
            .await?
            .into()
            .await
    }
}

impl crate::api::Target {
    /// PUT `body` (serialized as the `what` it is) to subresource `sub` of object `name`,
    /// and decode the answer.
    pub(crate) async fn put_sub<B, T>(
        &self,
        name: &str,
        sub: &str,
        what: &str,
        body: &B,
        options: &UpdateOptions,
    ) -> Result<T>
    where
        B: Serialize + ?Sized,
        T: DeserializeOwned,
    {
        self.sub(Verb::Put, name, sub)?
            .params(options)
            .body(to_body(what, body)?)
            .send()
            .await?
            .into()
            .await
    }

    /// PATCH subresource `sub` of object `name`, and decode the answer.
    pub(crate) async fn patch_sub<P, T>(
        &self,
        name: &str,
        sub: &str,
        patch: &Patch<P>,
        options: &PatchOptions,
    ) -> Result<T>
    where
        P: Serialize,
        T: DeserializeOwned,
    {
        self.sub(Verb::Patch(patch.patch_type()), name, sub)?
            .params(options)
            .body(patch.to_bytes()?)
            .send()
            .await?
            .into()
            .await
    }
}
