//! Reading what a kubeconfig points at: inline `*-data` fields (base64) and the
//! files named by path fields, each failure naming its entry and field.

use std::path::Path;

use base64::Engine as _;

use crate::error::{Error, Location, Result};
use crate::limits::{MAX_PEM_FILE_BYTES, MAX_TOKEN_FILE_BYTES, read_limited};

/// Decode a `*-data` field (standard base64; line breaks and spaces are ignored,
/// as Go's decoder ignores them).
pub(crate) fn decode_data(at: impl FnOnce() -> Location, data: &str) -> Result<Vec<u8>> {
    let compact: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|source| Error::InvalidBase64 { at: at(), source })
}

/// Read a certificate, key or CA file named by a path field, at most
/// [`MAX_PEM_FILE_BYTES`](crate::MAX_PEM_FILE_BYTES).
pub(crate) fn read_file(at: impl FnOnce() -> Location, path: &Path) -> Result<Vec<u8>> {
    read_bounded(at, path, MAX_PEM_FILE_BYTES, "a certificate or key file")
}

fn read_bounded(
    at: impl FnOnce() -> Location,
    path: &Path,
    limit: u64,
    what: &str,
) -> Result<Vec<u8>> {
    read_limited(path, limit, what).map_err(|source| Error::ReferencedFile {
        at: at(),
        path: path.to_path_buf(),
        source,
    })
}

/// Check that certificate or key material looks like PEM, so a wrong file or a
/// double-encoded `*-data` field is reported against its field, not as a TLS failure.
pub(crate) fn expect_pem(at: impl FnOnce() -> Location, bytes: &[u8]) -> Result<()> {
    let text = String::from_utf8_lossy(bytes);
    if text.contains("-----BEGIN ") {
        Ok(())
    } else {
        Err(Error::InvalidValue {
            at: at(),
            reason: "not PEM data (no \"-----BEGIN\" line)".to_owned(),
        })
    }
}

/// The token in a token file: its content without surrounding whitespace. At most
/// [`MAX_TOKEN_FILE_BYTES`](crate::MAX_TOKEN_FILE_BYTES) are read.
pub(crate) fn read_token_file(at: impl Fn() -> Location, path: &Path) -> Result<String> {
    let bytes = read_bounded(&at, path, MAX_TOKEN_FILE_BYTES, "a token file")?;
    let text = String::from_utf8(bytes).map_err(|_| Error::InvalidValue {
        at: at(),
        reason: format!("{} is not UTF-8 text", path.display()),
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(Error::InvalidValue {
            at: at(),
            reason: format!("{} is empty", path.display()),
        });
    }
    Ok(token.to_owned())
}
