//! The shape of the generated message table (`generated/`): what the transcoder needs to
//! know of each field to read and write it as kube-apiserver's Go types do.

/// Flags of a field: its label and the Go facts its JSON depends on.
pub(crate) mod flag {
    /// `repeated`: a JSON array.
    pub(crate) const REPEATED: u8 = 1;
    /// `map<string, V>`: a JSON object.
    pub(crate) const MAP: u8 = 2;
    /// A scalar Go holds by value with `omitempty` (or a `Time` with `omitzero`): protobuf
    /// sends the zero, JSON omits it.
    pub(crate) const OMITEMPTY: u8 = 4;
    /// A message Go holds by value: always sent, `{}` (a `Time`: `null`) when empty; on a
    /// repeated field (a list's `items`), an array JSON always has, `[]` when empty.
    pub(crate) const VALUE: u8 = 8;
    /// An embedded struct whose fields JSON flattens into the outer object.
    pub(crate) const INLINE: u8 = 16;
}

/// What a field holds on the wire and in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    /// `string`.
    Str,
    /// `bytes`: base64 in JSON.
    Bytes,
    /// `bool`.
    Bool,
    /// `int32`.
    I32,
    /// `int64`.
    I64,
    /// `double`.
    F64,
    /// A message of the table, by index in `MESSAGES`.
    Message(u16),
    /// `metav1.Time`: `Timestamp{seconds, nanos}` ⇄ RFC 3339 to the second.
    Time,
    /// `metav1.MicroTime`: `Timestamp{seconds, nanos}` ⇄ RFC 3339 to the microsecond.
    MicroTime,
    /// `resource.Quantity`: `{string}` ⇄ a string.
    Quantity,
    /// `intstr.IntOrString`: `{type, intVal, strVal}` ⇄ a number or a string.
    IntOrString,
    /// `runtime.RawExtension`: `{raw}` ⇄ the JSON value those bytes hold.
    RawExtension,
    /// `metav1.FieldsV1`: `{Raw}` ⇄ the JSON value those bytes hold.
    FieldsV1,
    /// apiextensions' `JSON`: `{raw}` ⇄ the JSON value those bytes hold.
    Json,
    /// `JSONSchemaPropsOrArray`: `{schema, jSONSchemas}` ⇄ an object or an array.
    PropsOrArray(u16),
    /// `JSONSchemaPropsOrBool`: `{allows, schema}` ⇄ a bool or an object.
    PropsOrBool(u16),
    /// `JSONSchemaPropsOrStringArray`: `{schema, property}` ⇄ an object or strings.
    PropsOrStringArray(u16),
}

/// One field of a message.
#[derive(Debug)]
pub(crate) struct Field {
    /// The field number.
    pub number: u32,
    /// The JSON name.
    pub json: &'static str,
    /// What it holds.
    pub ty: Ty,
    /// [`flag`]s.
    pub flags: u8,
}

impl Field {
    /// Does the field carry this [`flag`]?
    pub(crate) fn is(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// Builds a [`Field`] (the generated table's shorthand).
pub(crate) const fn f(number: u32, json: &'static str, ty: Ty, flags: u8) -> Field {
    Field {
        number,
        json,
        ty,
        flags,
    }
}

/// One message.
#[derive(Debug)]
pub(crate) struct Msg {
    /// Its full proto name (`k8s.io.api.core.v1.Pod`).
    pub name: &'static str,
    /// Its fields, in the order of the `.proto` (which is the Go struct's and the JSON's).
    pub fields: &'static [Field],
    /// Indices into `fields` by field number: the order Go writes them in.
    pub wire_order: &'static [u8],
}
