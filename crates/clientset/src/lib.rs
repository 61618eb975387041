//! kubecto-clientset: typed clients for every built-in resource.
