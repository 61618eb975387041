//! Pagination with `limit`/`continue` (client-go's `tools/pager`), so callers never write
//! the loop themselves.

use futures_util::{Stream, StreamExt};
use serde::de::DeserializeOwned;

use crate::error::Result;
use crate::params::ListOptions;
use crate::protobuf::ProtobufDecoder;
use crate::read::list::{ListStream, ObjectList};
use crate::request::Request;

/// Default page size, as client-go's pager.
pub const DEFAULT_PAGE_SIZE: u64 = 500;

/// Lists in pages. `make` turns the options of one page into a request, for example
/// `|opts| client.get().namespace("default").resource("pods").params(&opts)`.
///
/// ```no_run
/// # use kubecto_rest_core::{Config, ListOptions, Pager, RestClient};
/// # async fn run(client: RestClient) -> kubecto_rest_core::Result<()> {
/// let pager = Pager::new(|opts: ListOptions| client.get().resource("pods").params(&opts));
/// let all = pager.list::<serde_json::Value>(ListOptions::new()).await?;
/// println!("{} pods at resourceVersion {:?}", all.items.len(), all.metadata.resource_version);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Pager<F> {
    make: F,
    page_size: u64,
    full_list_if_expired: bool,
}

impl<F> Pager<F>
where
    F: Fn(ListOptions) -> Request,
{
    /// A pager with pages of [`DEFAULT_PAGE_SIZE`] that falls back to a full list when a
    /// continue token expires.
    pub fn new(make: F) -> Self {
        Self {
            make,
            page_size: DEFAULT_PAGE_SIZE,
            full_list_if_expired: true,
        }
    }

    /// Sets the page size (used when the options carry no `limit`).
    #[must_use]
    pub fn page_size(mut self, page_size: u64) -> Self {
        self.page_size = page_size;
        self
    }

    /// Whether [`list`](Self::list) falls back to one unpaged list when a continue token
    /// has expired (410 `Expired`), as client-go's pager does. On by default.
    #[must_use]
    pub fn full_list_if_expired(mut self, yes: bool) -> Self {
        self.full_list_if_expired = yes;
        self
    }

    /// Lists every page and returns all items with the last page's metadata. When a
    /// continue token expires midway, the partial result is discarded and the list is
    /// made again in one request at the originally requested resourceVersion.
    ///
    /// # Errors
    /// The first failing page's error (after the fallback, if it applies).
    pub async fn list<T: DeserializeOwned + 'static>(
        &self,
        options: ListOptions,
    ) -> Result<ObjectList<T>> {
        self.list_negotiated(options, None).await
    }

    /// [`list`](Self::list), each page read in the format the server chose: with
    /// `protobuf` when it answered in protobuf, as JSON otherwise (see
    /// [`Response::list_stream_negotiated`](crate::Response::list_stream_negotiated)).
    ///
    /// # Errors
    /// As [`list`](Self::list).
    pub async fn list_negotiated<T: DeserializeOwned + 'static>(
        &self,
        options: ListOptions,
        protobuf: Option<ProtobufDecoder<T>>,
    ) -> Result<ObjectList<T>> {
        let protobuf = protobuf.as_ref();
        let requested_rv = options.resource_version.clone();
        let requested_match = options.resource_version_match.clone();
        let mut opts = options;
        if opts.limit.is_none() {
            opts.limit = Some(self.page_size);
        }
        let mut all: Vec<T> = Vec::new();
        loop {
            let page = match self.page::<T>(opts.clone(), protobuf).await {
                Ok(p) => p,
                Err(e)
                    if e.is_expired()
                        && self.full_list_if_expired
                        && opts.continue_token.is_some() =>
                {
                    tracing::debug!(target: "kubecto::pager", "continue token expired; listing everything in one request");
                    opts.limit = None;
                    opts.continue_token = None;
                    opts.resource_version = requested_rv;
                    opts.resource_version_match = requested_match;
                    return self.page::<T>(opts, protobuf).await;
                }
                Err(e) => return Err(e),
            };
            all.extend(page.items);
            match page.metadata.next_page() {
                Some(token) => {
                    opts.continue_token = Some(token.to_owned());
                    // A continue token carries its own resourceVersion.
                    opts.resource_version = None;
                    opts.resource_version_match = None;
                }
                None => {
                    return Ok(ObjectList {
                        kind: page.kind,
                        api_version: page.api_version,
                        metadata: page.metadata,
                        items: all,
                    });
                }
            }
        }
    }

    async fn page<T: DeserializeOwned + 'static>(
        &self,
        opts: ListOptions,
        protobuf: Option<&ProtobufDecoder<T>>,
    ) -> Result<ObjectList<T>> {
        (self.make)(opts)
            .send()
            .await?
            .list_stream_negotiated(protobuf)
            .into_list()
            .await
    }
}

enum PageState<T> {
    Next(ListOptions),
    In(Box<ListStream<T>>, ListOptions),
    Done,
}

impl<F> Pager<F>
where
    F: Fn(ListOptions) -> Request + Send + 'static,
{
    /// Every item of every page as a stream, decoded one at a time, never holding more than
    /// one item in memory. There is no fallback here: items already yielded cannot be taken
    /// back, so an expired continue token is reported (`is_expired()`) and ends the stream.
    pub fn items<T>(self, options: ListOptions) -> impl Stream<Item = Result<T>> + Send + 'static
    where
        T: DeserializeOwned + Send + 'static,
    {
        self.items_negotiated(options, None)
    }

    /// [`items`](Self::items), each page read in the format the server chose (see
    /// [`list_negotiated`](Self::list_negotiated)).
    pub fn items_negotiated<T>(
        self,
        options: ListOptions,
        protobuf: Option<ProtobufDecoder<T>>,
    ) -> impl Stream<Item = Result<T>> + Send + 'static
    where
        T: DeserializeOwned + Send + 'static,
    {
        let mut opts = options;
        if opts.limit.is_none() {
            opts.limit = Some(self.page_size);
        }
        futures_util::stream::unfold(
            (self, protobuf, PageState::<T>::Next(opts)),
            |(pager, protobuf, mut state)| async move {
                loop {
                    state = match state {
                        PageState::Done => return None,
                        PageState::Next(opts) => match (pager.make)(opts.clone()).send().await {
                            Ok(resp) => PageState::In(
                                Box::new(resp.list_stream_negotiated(protobuf.as_ref())),
                                opts,
                            ),
                            Err(e) => return Some((Err(e), (pager, protobuf, PageState::Done))),
                        },
                        PageState::In(mut stream, mut opts) => match stream.next().await {
                            Some(Ok(item)) => {
                                return Some((
                                    Ok(item),
                                    (pager, protobuf, PageState::In(stream, opts)),
                                ));
                            }
                            Some(Err(e)) => {
                                return Some((Err(e), (pager, protobuf, PageState::Done)));
                            }
                            None => match stream.metadata().and_then(|m| m.next_page()) {
                                Some(token) => {
                                    opts.continue_token = Some(token.to_owned());
                                    opts.resource_version = None;
                                    opts.resource_version_match = None;
                                    PageState::Next(opts)
                                }
                                None => PageState::Done,
                            },
                        },
                    };
                }
            },
        )
    }
}
