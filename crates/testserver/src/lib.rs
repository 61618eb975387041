//! kubecto-testserver: an in-memory Kubernetes API server over real HTTP.
