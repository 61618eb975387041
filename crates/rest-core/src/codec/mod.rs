//! JSON decoding under the readers: simd-json with serde_json behind it (`decode.rs`),
//! large bodies walked a value at a time (`list_body.rs`, `erase.rs`), and the incremental
//! tokenizer that finds where each watch event or list item ends (`scan.rs`).

pub(crate) mod decode;
pub(crate) mod erase;
pub(crate) mod list_body;
pub(crate) mod scan;
