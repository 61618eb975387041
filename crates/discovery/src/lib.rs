//! kubecto-discovery: what the API server serves, found at run time.
