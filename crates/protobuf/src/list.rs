//! Lists: `k8s_openapi::List<T>` as a whole (a [`Protobuf`] like any object), or its items
//! one at a time with [`items`]. Every list message of Kubernetes has the same two
//! fields: `metadata` (1, a `ListMeta`) and `items` (2, each item an embedded message of
//! its own, not an envelope).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ListMeta;
use k8s_openapi::{List, ListableResource};

use crate::codec::{self, Message, Result, Value as _};
use crate::wire::{Reader, WireType};
use crate::{DecodeError, DecodeOptions, Protobuf};

impl<T: Message + ListableResource> Message for List<T> {
    fn decode_message(r: &mut Reader<'_>, o: &DecodeOptions) -> Result<Self> {
        let mut metadata = ListMeta::default();
        let mut items = Vec::new();
        while let Some((field, w)) = r.field()? {
            match field {
                1 => codec::req(&mut metadata, r, w, o).map_err(|e| e.at("metadata"))?,
                2 => codec::rep(&mut items, r, w, o).map_err(|e| e.at("items"))?,
                _ => r.skip(w)?,
            }
        }
        Ok(Self { items, metadata })
    }

    fn encode_message(&self, out: &mut Vec<u8>) {
        codec::put_req(out, 1, &self.metadata);
        codec::put_rep(out, 2, &self.items);
    }
}

/// The items of a list message (the `raw` of a LIST answer's envelope), decoded one at a
/// time as the iterator is advanced, so that only one item is held at once when the
/// caller does not keep them.
///
/// The list's metadata comes first on the wire (kube-apiserver writes field 1 before the
/// items); [`Items::metadata`] has it as soon as the first item is returned, and in any
/// case once the iterator is done.
///
/// ```
/// use k8s_openapi::api::core::v1::Pod;
/// use kubecto_protobuf::{DecodeOptions, Protobuf, list};
///
/// let mut pods = k8s_openapi::List::<Pod>::default();
/// pods.items.push(Pod::default());
/// pods.metadata.resource_version = Some("42".to_owned());
/// let bytes = pods.encode_to_vec();
///
/// let mut items = list::items::<Pod>(&bytes, &DecodeOptions::default());
/// for pod in &mut items {
///     let _pod: Pod = pod?;
/// }
/// assert_eq!(items.metadata().resource_version.as_deref(), Some("42"));
/// # Ok::<(), kubecto_protobuf::DecodeError>(())
/// ```
pub fn items<'a, T: Protobuf>(list: &'a [u8], opts: &DecodeOptions) -> Items<'a, T> {
    Items {
        reader: Reader::new(list),
        opts: *opts,
        metadata: ListMeta::default(),
        failed: false,
        _item: std::marker::PhantomData,
    }
}

/// The iterator of [`items`].
#[derive(Debug)]
pub struct Items<'a, T> {
    reader: Reader<'a>,
    opts: DecodeOptions,
    metadata: ListMeta,
    failed: bool,
    _item: std::marker::PhantomData<fn() -> T>,
}

impl<T> Items<'_, T> {
    /// The list's metadata, as far as it has been read.
    pub fn metadata(&self) -> &ListMeta {
        &self.metadata
    }

    /// The list's metadata, as far as it has been read.
    pub fn into_metadata(self) -> ListMeta {
        self.metadata
    }
}

impl<T: Protobuf> Iterator for Items<'_, T> {
    type Item = std::result::Result<T, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let r = &mut self.reader;
        let o = &self.opts;
        let result = loop {
            let (field, w) = match r.field() {
                Ok(Some(f)) => f,
                Ok(None) => return None,
                Err(e) => break Err(e),
            };
            match field {
                1 => {
                    if let Err(e) =
                        codec::req(&mut self.metadata, r, w, o).map_err(|e| e.at("metadata"))
                    {
                        break Err(e);
                    }
                }
                2 => {
                    break r
                        .expect(w, WireType::Len)
                        .and_then(|()| T::decode_value(r, o))
                        .map_err(|e| e.at("items"));
                }
                _ => {
                    if let Err(e) = r.skip(w) {
                        break Err(e);
                    }
                }
            }
        };
        self.failed = result.is_err();
        Some(result)
    }
}
