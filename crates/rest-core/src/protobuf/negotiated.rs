//! Reading an answer in whichever format the server chose: a typed client that asked for
//! [`PROTOBUF_OR_JSON`](super::PROTOBUF_OR_JSON) gets protobuf for built-in types from
//! kube-apiserver, and JSON from servers or resources that have no protobuf (custom
//! resources, aggregated API servers, older test servers). Each reader here looks at the
//! answer's `Content-Type` and decodes with the caller's protobuf codec or with serde.

use std::sync::Arc;

use futures_util::future::Either;
use futures_util::{Stream, TryFutureExt as _};
use serde::de::DeserializeOwned;

use crate::error::{BoxError, Result};
use crate::read::list::ListStream;
use crate::read::response::Response;
use crate::read::watch::WatchEvent;
use crate::request::Request;

/// Decodes one object's own protobuf message (the `raw` of its envelope, or an item of a
/// list) into a `T`: a codec such as kubecto-protobuf's. Shared by every request of a
/// typed client.
pub type ProtobufDecoder<T> = Arc<dyn Fn(&[u8]) -> std::result::Result<T, BoxError> + Send + Sync>;

impl Response {
    /// Decodes the answer's object: with `protobuf` when the answer is protobuf and a
    /// decoder is given, as JSON otherwise.
    ///
    /// # Errors
    /// As [`into`](Self::into) or [`decode_protobuf`](Self::decode_protobuf).
    pub async fn into_negotiated<T: DeserializeOwned>(
        self,
        protobuf: Option<&ProtobufDecoder<T>>,
    ) -> Result<T> {
        match protobuf {
            Some(decode) if self.is_protobuf() => {
                let decode = Arc::clone(decode);
                self.decode_protobuf(move |raw| decode(raw)).await
            }
            _ => self.into().await,
        }
    }

    /// The items of a LIST answer one at a time, as [`list_stream`](Self::list_stream)
    /// or [`protobuf_list_stream`](Self::protobuf_list_stream) by the answer's format.
    pub fn list_stream_negotiated<T: DeserializeOwned + 'static>(
        self,
        protobuf: Option<&ProtobufDecoder<T>>,
    ) -> ListStream<T> {
        match protobuf {
            Some(decode) if self.is_protobuf() => {
                let decode = Arc::clone(decode);
                self.protobuf_list_stream(move |raw| decode(raw))
            }
            _ => self.list_stream(),
        }
    }

    /// The events of a watch answer, as [`watch_events`](Self::watch_events) or
    /// [`protobuf_watch_events`](Self::protobuf_watch_events) by the answer's format.
    pub fn watch_events_negotiated<T>(
        self,
        protobuf: Option<&ProtobufDecoder<T>>,
    ) -> impl Stream<Item = Result<WatchEvent<T>>> + Send + use<T>
    where
        T: DeserializeOwned + Send + 'static,
    {
        match protobuf {
            Some(decode) if self.is_protobuf() => {
                let decode = Arc::clone(decode);
                Either::Left(self.protobuf_watch_events(move |raw| decode(raw)))
            }
            _ => Either::Right(self.watch_events()),
        }
    }
}

impl Request {
    /// Starts a watch as [`watch`](Self::watch) does, decoding its events as
    /// [`Response::watch_events_negotiated`].
    pub fn watch_negotiated<T>(
        self,
        protobuf: Option<ProtobufDecoder<T>>,
    ) -> impl Stream<Item = Result<WatchEvent<T>>> + Send + 'static
    where
        T: DeserializeOwned + Send + 'static,
    {
        self.with_watch_param()
            .send()
            .map_ok(move |resp| resp.watch_events_negotiated(protobuf.as_ref()))
            .try_flatten_stream()
    }
}
