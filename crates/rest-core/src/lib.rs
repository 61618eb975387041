//! kubecto-rest-core: the one place HTTP happens.
//!
//! `Config`, `RestClient`, the request builder, retry, rate limiting and
//! streaming over hyper. Every other kubecto client stands on this crate.

#[allow(dead_code)] // used by the client, which lands next
mod backoff;
mod config;

pub use backoff::BackoffConfig;
pub use config::{
    Auth, Config, CredentialError, CredentialFuture, CredentialProvider, DEFAULT_MAX_EVENT_SIZE,
    GroupVersion, Impersonate, PemSource, RateLimit, SecretString, TlsConfig, default_user_agent,
};
