//! The fuzz targets' checks, shared with the crates' corpus replay tests: each lives in
//! `checks/` and is included here and by a test in the crate it exercises.

#[cfg(feature = "testserver")]
use kubecto_testserver::__fuzz as hooks;

#[path = "../checks/rest_core.rs"]
pub mod rest_core;

#[path = "../checks/config.rs"]
pub mod config;

#[cfg(feature = "testserver")]
#[path = "../checks/testserver.rs"]
pub mod testserver;

#[cfg(feature = "protobuf")]
#[path = "../checks/protobuf.rs"]
pub mod protobuf;
