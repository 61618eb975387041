//! The seed's program: list the pods of kube-system through a RESTClient.
fn main() {}
