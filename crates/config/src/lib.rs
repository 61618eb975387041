//! kubecto-config: kubeconfig loading turned into a `kubecto_rest_core::Config`.
