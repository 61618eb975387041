//! kubecto-dynamic: any resource, as `Unstructured` JSON objects.
