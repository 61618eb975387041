//! The codec of a type found at run time, by its `TypeId`: what lets a generic client
//! (`Api<K>` of kubecto-clientset, for any `K`, built-in or custom) speak protobuf exactly
//! for the types that have a message, without a `Protobuf` bound that custom resources
//! could not meet.
//!
//! ```
//! use k8s_openapi::api::core::v1::Pod;
//! use kubecto_protobuf::{Codec, DecodeOptions};
//!
//! let codec = Codec::<Pod>::find().expect("Pod has a protobuf message");
//! let mut pod = Pod::default();
//! pod.metadata.name = Some("web".to_owned());
//! let mut bytes = Vec::new();
//! codec.encode(&pod, &mut bytes);
//! assert_eq!(codec.decode(&bytes, &DecodeOptions::default())?, pod);
//!
//! struct MyResource;
//! assert!(Codec::<MyResource>::find().is_none());
//! # Ok::<(), kubecto_protobuf::DecodeError>(())
//! ```

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::OnceLock;

use crate::error::{DecodeError, DecodeErrorKind};
use crate::{DecodeOptions, Protobuf};

/// A type's codec with the type erased: each function checks the `Any` it is given.
struct Entry {
    /// Decodes into an `Option<T>` slot.
    decode: fn(&[u8], &DecodeOptions, &mut dyn Any) -> Result<(), DecodeError>,
    /// Encodes a `T`.
    encode: fn(&dyn Any, &mut Vec<u8>),
}

fn decode_into<T: Protobuf + 'static>(
    buf: &[u8],
    opts: &DecodeOptions,
    slot: &mut dyn Any,
) -> Result<(), DecodeError> {
    if let Some(slot) = slot.downcast_mut::<Option<T>>() {
        *slot = Some(T::decode(buf, opts)?);
    }
    Ok(())
}

fn encode_from<T: Protobuf + 'static>(value: &dyn Any, out: &mut Vec<u8>) {
    if let Some(value) = value.downcast_ref::<T>() {
        value.encode(out);
    }
}

/// Every type with a generated codec (`generated::for_each_message` lists them).
struct Registry(HashMap<TypeId, Entry>);

impl Registry {
    fn add<T: Protobuf + 'static>(&mut self) {
        self.0.insert(
            TypeId::of::<T>(),
            Entry {
                decode: decode_into::<T>,
                encode: encode_from::<T>,
            },
        );
    }
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut r = Registry(HashMap::with_capacity(1024));
        macro_rules! add {
            ($t:ty) => {
                r.add::<$t>()
            };
        }
        crate::generated::for_each_message!(add);
        r
    })
}

/// The protobuf codec of `T`, found at run time: the same as `T`'s [`Protobuf`] impl, for
/// code generic over types that may have none (custom resources). Cheap to copy.
pub struct Codec<T> {
    entry: &'static Entry,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for Codec<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Codec<T> {}

impl<T> fmt::Debug for Codec<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Codec")
            .field(&std::any::type_name::<T>())
            .finish()
    }
}

impl<T: 'static> Codec<T> {
    /// `T`'s codec, or `None` when `T` has no protobuf message (a custom resource, or a
    /// type of this crate's hand-written set such as `Time`).
    pub fn find() -> Option<Self> {
        registry().0.get(&TypeId::of::<T>()).map(|entry| Codec {
            entry,
            _type: PhantomData,
        })
    }

    /// Decodes `T`'s own message, as [`Protobuf::decode`].
    ///
    /// # Errors
    /// As [`Protobuf::decode`].
    pub fn decode(&self, buf: &[u8], opts: &DecodeOptions) -> Result<T, DecodeError> {
        let mut slot: Option<T> = None;
        (self.entry.decode)(buf, opts, &mut slot)?;
        // The entry under `T`'s TypeId was made for `T`, so the slot is always filled.
        slot.ok_or_else(|| {
            DecodeError::new(
                DecodeErrorKind::UnexpectedKind {
                    expected: std::any::type_name::<T>().to_owned(),
                    found: "another type's codec".to_owned(),
                },
                0,
            )
        })
    }

    /// Appends `T`'s own message, as [`Protobuf::encode`].
    pub fn encode(&self, value: &T, out: &mut Vec<u8>) {
        (self.entry.encode)(value, out);
    }
}
