//! Reading an HTTP request into the `Req` the handlers see: the headers they use, the
//! decoded query, and the whole body (at most 16 MiB, else 413).

use http::{Request, header};
use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;

use crate::shared::request::{Req, parse_query};
use crate::shared::status::ApiError;

const MAX_BODY: usize = 16 * 1024 * 1024;

/// Read the request; `method`, `path` and `query` were already taken from it.
pub(crate) async fn read(
    req: Request<Incoming>,
    method: String,
    path: String,
    query: &str,
) -> Result<Req, ApiError> {
    let header_str = |name: header::HeaderName| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let accept = header_str(header::ACCEPT);
    let content_type = header_str(header::CONTENT_TYPE);
    let user_agent = header_str(header::USER_AGENT);
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            let too_large = e
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            return Err(if too_large {
                ApiError::new(
                    413,
                    "RequestEntityTooLarge",
                    "the request body is too large",
                    None,
                )
            } else {
                ApiError::bad_request(format!("reading the request body failed: {e}"))
            });
        }
    };
    Ok(Req {
        method: method.parse().unwrap_or(http::Method::GET),
        path,
        query: parse_query(Some(query)),
        accept,
        content_type,
        body,
        user_agent,
    })
}
