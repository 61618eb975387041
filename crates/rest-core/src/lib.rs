//! kubecto-rest-core: the one place HTTP happens.
//!
//! `Config`, `RestClient`, the request builder, retry, rate limiting and
//! streaming over hyper. Every other kubecto client stands on this crate.
