//! The crate's one error type.

/// Everything the runtime reports.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A store has no index of that name.
    #[error("the store has no index named {name:?}")]
    NoSuchIndex {
        /// The index asked for.
        name: String,
    },

    /// An index of that name exists already.
    #[error("the store has an index named {name:?} already")]
    IndexExists {
        /// The index name.
        name: String,
    },

    /// A leader election config breaks client-go's rules.
    #[error("invalid leader election config: {what}")]
    LeaderElection {
        /// The rule broken.
        what: String,
    },
}
