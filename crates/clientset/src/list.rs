//! LIST and WATCH on [`Api`] and [`AllNamespaces`]: one page, every page (whole or as a
//! stream of items), and watch streams. Items are decoded one at a time as the body
//! arrives (rest-core's `list_stream`), so no whole list body is ever held in memory.

use futures_util::Stream;
use futures_util::future::Either;
use k8s_openapi::ListableResource;
use kubecto_rest_core::{
    DEFAULT_PAGE_SIZE, ListOptions, ObjectList, Pager, Result, WatchEvent, WatchOptions,
};
use serde::de::DeserializeOwned;

use crate::api::{AllNamespaces, Api, Target, Verb};
use crate::wire::Wire;

async fn list<K: DeserializeOwned + 'static>(
    target: &Target,
    wire: &Wire<K>,
    options: &ListOptions,
) -> Result<ObjectList<K>> {
    let req = target.request(Verb::Get)?.params(options);
    wire.accepting(target, req)
        .send()
        .await?
        .list_stream_negotiated(wire.decoder())
        .into_list()
        .await
}

/// A pager over `target`; the first request is built here so that a bad target fails
/// before the pager runs.
fn pager<K: 'static>(
    target: &Target,
    wire: &Wire<K>,
    page_size: u64,
) -> Result<Pager<impl Fn(ListOptions) -> kubecto_rest_core::Request + Send + 'static>> {
    target.check()?;
    let (target, wire) = (target.clone(), wire.clone());
    Ok(Pager::new(move |opts: ListOptions| {
        wire.accepting(&target, target.collection(Verb::Get).params(&opts))
    })
    .page_size(page_size))
}

async fn list_paged<K: DeserializeOwned + 'static>(
    target: &Target,
    wire: &Wire<K>,
    options: &ListOptions,
    page_size: u64,
) -> Result<ObjectList<K>> {
    pager(target, wire, page_size)?
        .list_negotiated(options.clone(), wire.decoder().cloned())
        .await
}

fn list_stream<K>(
    target: &Target,
    wire: &Wire<K>,
    options: &ListOptions,
    page_size: u64,
) -> impl Stream<Item = Result<K>> + Send + 'static
where
    K: DeserializeOwned + Send + 'static,
{
    match pager(target, wire, page_size) {
        Ok(p) => Either::Left(p.items_negotiated(options.clone(), wire.decoder().cloned())),
        Err(e) => Either::Right(futures_util::stream::once(async move { Err(e) })),
    }
}

fn watch<K>(
    target: &Target,
    wire: &Wire<K>,
    options: &WatchOptions,
) -> impl Stream<Item = Result<WatchEvent<K>>> + Send + 'static
where
    K: DeserializeOwned + Send + 'static,
{
    match target.request(Verb::Get) {
        Ok(r) => Either::Left(
            wire.accepting(target, r.params(options))
                .watch_negotiated(wire.decoder().cloned()),
        ),
        Err(e) => Either::Right(futures_util::stream::once(async move { Err(e) })),
    }
}

macro_rules! list_verbs {
    ($ty:ident) => {
        impl<K> $ty<K>
        where
            K: ListableResource + DeserializeOwned + Send + 'static,
        {
            /// LIST in one request (one page when `options.limit` is set; its
            /// `metadata.continue` leads to the next).
            ///
            /// # Errors
            /// [`Error::Api`](kubecto_rest_core::Error::Api) from the server (`is_invalid()`
            /// for a bad selector), transport and decode errors.
            pub async fn list(&self, options: &ListOptions) -> Result<ObjectList<K>> {
                list(&self.target, &self.wire, options).await
            }

            /// LIST every page (500 items a page unless `options.limit` says otherwise),
            /// following `continue` tokens; when a token expires midway, lists again in
            /// one request, as client-go's pager does. The metadata is the last page's.
            ///
            /// # Errors
            /// The first failing page's error.
            pub async fn list_paged(&self, options: &ListOptions) -> Result<ObjectList<K>> {
                list_paged(&self.target, &self.wire, options, DEFAULT_PAGE_SIZE).await
            }

            /// Every item of every page as a stream, one decoded item at a time; pages of
            /// 500 unless `options.limit` says otherwise. An expired continue token ends
            /// the stream with an error (`is_expired()`).
            pub fn list_stream(
                &self,
                options: &ListOptions,
            ) -> impl Stream<Item = Result<K>> + Send + 'static {
                list_stream(&self.target, &self.wire, options, DEFAULT_PAGE_SIZE)
            }

            /// WATCH: a stream of ADDED, MODIFIED, DELETED and BOOKMARK events decoded as
            /// they arrive; an ERROR event (410 Expired) arrives as `Err`. Start from
            /// `options.resource_version` (usually the list's).
            pub fn watch(
                &self,
                options: &WatchOptions,
            ) -> impl Stream<Item = Result<WatchEvent<K>>> + Send + 'static {
                watch(&self.target, &self.wire, options)
            }
        }
    };
}

list_verbs!(Api);
list_verbs!(AllNamespaces);
