//! Hand-written codecs for the three JSON-schema unions of apiextensions
//! (`JSONSchemaPropsOrArray`, `JSONSchemaPropsOrBool`, `JSONSchemaPropsOrStringArray`):
//! one Go struct each in protobuf, one Rust enum each in k8s-openapi, mapped the way Go's
//! JSON writes them.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;

use crate::DecodeOptions;
use crate::codec::{Result, Value};
use crate::error::DecodeErrorKind;
use crate::wire::{self, Reader, WireType};

#[cold]
fn empty_union(r: &Reader<'_>) -> crate::DecodeError {
    Reader::error(
        DecodeErrorKind::InvalidValue("a JSON-schema union with neither a schema nor a list"),
        r.offset(),
    )
}

impl Value for apiextensions::JSONSchemaPropsOrArray {
    const WIRE: WireType = WireType::Len;

    fn decode_value(r: &mut Reader<'_>, o: &DecodeOptions) -> Result<Self> {
        Self::decode_option(r, o)?.ok_or_else(|| empty_union(r))
    }

    fn decode_option(r: &mut Reader<'_>, o: &DecodeOptions) -> Result<Option<Self>> {
        // Go's JSON: the list when it has items, else the schema, else null.
        let mut msg = r.message()?;
        let mut schema: Option<Box<apiextensions::JSONSchemaProps>> = None;
        let mut schemas = Vec::new();
        while let Some((field, w)) = msg.field()? {
            match field {
                1 => crate::codec::opt(&mut schema, &mut msg, w, o).map_err(|e| e.at("schema"))?,
                2 => crate::codec::rep(&mut schemas, &mut msg, w, o)
                    .map_err(|e| e.at("jSONSchemas"))?,
                _ => msg.skip(w)?,
            }
        }
        Ok(if !schemas.is_empty() {
            Some(Self::Schemas(schemas))
        } else {
            schema.map(Self::Schema)
        })
    }

    fn encode_field(&self, field: u32, out: &mut Vec<u8>) {
        wire::put_len_delimited(out, field, |out| match self {
            Self::Schema(s) => s.encode_field(1, out),
            Self::Schemas(v) => crate::codec::put_rep(out, 2, v),
        });
    }
}

impl Value for apiextensions::JSONSchemaPropsOrBool {
    const WIRE: WireType = WireType::Len;

    fn decode_value(r: &mut Reader<'_>, o: &DecodeOptions) -> Result<Self> {
        // Go's JSON: the schema when there is one, else the boolean.
        let mut msg = r.message()?;
        let mut allows = false;
        let mut schema: Option<Box<apiextensions::JSONSchemaProps>> = None;
        while let Some((field, w)) = msg.field()? {
            match field {
                1 => crate::codec::req(&mut allows, &mut msg, w, o)?,
                2 => crate::codec::opt(&mut schema, &mut msg, w, o).map_err(|e| e.at("schema"))?,
                _ => msg.skip(w)?,
            }
        }
        Ok(match schema {
            Some(s) => Self::Schema(s),
            None => Self::Bool(allows),
        })
    }

    fn encode_field(&self, field: u32, out: &mut Vec<u8>) {
        wire::put_len_delimited(out, field, |out| match self {
            // Go's JSON reader sets `allows` with a schema.
            Self::Schema(s) => {
                true.encode_field(1, out);
                s.encode_field(2, out);
            }
            Self::Bool(b) => b.encode_field(1, out),
        });
    }
}

impl Value for apiextensions::JSONSchemaPropsOrStringArray {
    const WIRE: WireType = WireType::Len;

    fn decode_value(r: &mut Reader<'_>, o: &DecodeOptions) -> Result<Self> {
        Self::decode_option(r, o)?.ok_or_else(|| empty_union(r))
    }

    fn decode_option(r: &mut Reader<'_>, o: &DecodeOptions) -> Result<Option<Self>> {
        // Go's JSON: the strings when there are some, else the schema, else null.
        let mut msg = r.message()?;
        let mut schema: Option<Box<apiextensions::JSONSchemaProps>> = None;
        let mut strings = Vec::new();
        while let Some((field, w)) = msg.field()? {
            match field {
                1 => crate::codec::opt(&mut schema, &mut msg, w, o).map_err(|e| e.at("schema"))?,
                2 => {
                    crate::codec::rep(&mut strings, &mut msg, w, o).map_err(|e| e.at("property"))?
                }
                _ => msg.skip(w)?,
            }
        }
        Ok(if !strings.is_empty() {
            Some(Self::Strings(strings))
        } else {
            schema.map(Self::Schema)
        })
    }

    fn encode_field(&self, field: u32, out: &mut Vec<u8>) {
        wire::put_len_delimited(out, field, |out| match self {
            Self::Schema(s) => s.encode_field(1, out),
            Self::Strings(v) => crate::codec::put_rep(out, 2, v),
        });
    }
}
