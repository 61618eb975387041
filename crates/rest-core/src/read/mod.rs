//! Reading answers: a [`Response`](crate::Response) and its body (`response.rs`), read whole, as a watch (`watch.rs`), item by item
//! (`list.rs`) or page by page (`pager.rs`).

pub(crate) mod list;
pub(crate) mod pager;
pub(crate) mod response;
pub(crate) mod watch;
