//! Which format an [`Api`](crate::Api) speaks. Built-in kinds speak protobuf, as
//! client-go's clientset does since Kubernetes 1.32: requests ask for
//! `application/vnd.kubernetes.protobuf, application/json` and create and update send
//! protobuf bodies, each type's codec found at run time in kubecto-protobuf. JSON is kept
//! for custom resources (no codec), patches and apply, subresources other than `status`,
//! and when the client's config says so ([`Config::without_protobuf`]) or the server
//! refused protobuf for the resource (406/415: it is asked again in JSON once, and the
//! client remembers).
//! Answers are decoded in whichever format the server chose.
//!
//! [`Config::without_protobuf`]: kubecto_rest_core::Config::without_protobuf

use std::sync::Arc;

use k8s_openapi::Resource;
use kubecto_protobuf::{Codec, DecodeOptions, envelope};
use kubecto_rest_core::protobuf::{PROTOBUF, PROTOBUF_OR_JSON, ProtobufDecoder};
use kubecto_rest_core::{BoxError, Request, Response, Result};
use serde::Serialize;

use crate::api::Target;
use crate::verbs::to_body;

/// The protobuf side of a typed client: `K`'s codec and the decoder built from it.
pub(crate) struct Wire<K> {
    codec: Option<Codec<K>>,
    decoder: Option<ProtobufDecoder<K>>,
}

impl<K> Clone for Wire<K> {
    fn clone(&self) -> Self {
        Self {
            codec: self.codec,
            decoder: self.decoder.clone(),
        }
    }
}

impl<K: 'static> Wire<K> {
    /// Protobuf when `K` has a message.
    pub(crate) fn new() -> Self {
        Self::with(Codec::find(), DecodeOptions::default())
    }

    /// JSON only.
    pub(crate) fn json() -> Self {
        Self::with(None, DecodeOptions::default())
    }

    /// The same codec, decoding with `options`.
    pub(crate) fn decoding(&self, options: DecodeOptions) -> Self {
        Self::with(self.codec, options)
    }

    fn with(codec: Option<Codec<K>>, options: DecodeOptions) -> Self {
        let decoder = codec.map(|codec| {
            Arc::new(move |raw: &[u8]| codec.decode(raw, &options).map_err(BoxError::from))
                as ProtobufDecoder<K>
        });
        Self { codec, decoder }
    }

    /// Whether `K` speaks protobuf at all (a built-in kind not switched to JSON).
    pub(crate) fn has_codec(&self) -> bool {
        self.codec.is_some()
    }

    /// The decoder for protobuf answers (answers in JSON are decoded as JSON anyway).
    pub(crate) fn decoder(&self) -> Option<&ProtobufDecoder<K>> {
        self.decoder.as_ref()
    }

    /// `req`, asking for protobuf when this client may.
    pub(crate) fn accepting(&self, target: &Target, req: Request) -> Request {
        if self.codec.is_some() && target.protobuf_allowed() {
            req.header("accept", PROTOBUF_OR_JSON)
        } else {
            req
        }
    }

    /// Sends `object` as the body of the request `make` builds: in protobuf when this
    /// client may, and again in JSON if the server refuses protobuf (406/415, which a
    /// server answers before doing anything, so the write is not repeated).
    pub(crate) async fn send_object(
        &self,
        target: &Target,
        make: impl Fn() -> Result<Request>,
        object: &K,
    ) -> Result<Response>
    where
        K: Resource + Serialize,
    {
        if let Some(codec) = self.codec.filter(|_| target.protobuf_allowed()) {
            let mut raw = Vec::new();
            codec.encode(object, &mut raw);
            let mut body = Vec::with_capacity(raw.len() + 64);
            envelope::encode_raw(K::API_VERSION, K::KIND, &raw, &mut body);
            let req = make()?
                .header("content-type", PROTOBUF)
                .header("accept", PROTOBUF_OR_JSON)
                .body(body);
            match req.send().await {
                Err(e) if matches!(e.code(), Some(406 | 415)) => target.refuse_protobuf(),
                other => return other,
            }
        }
        make()?.body(to_body(K::KIND, object)?).send().await
    }
}
