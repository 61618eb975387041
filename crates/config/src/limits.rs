//! How much kubecto-config reads at most from a file or a plugin, and the one bounded
//! file read that every file read of this crate goes through.
//!
//! A kubeconfig is untrusted input: `tokenFile: /dev/zero`, a multi-gigabyte CA path or
//! a plugin that never stops printing must end in an error naming the file (or plugin)
//! and the limit, not in a process that grows until it is killed. kubectl has no such
//! limits; each one here is far above what a real file holds.

use std::io::Read as _;
use std::path::Path;

/// The largest kubeconfig file read: 16 MiB. A kubeconfig of a few hundred clusters
/// with inline certificates is a few MiB.
pub const MAX_KUBECONFIG_BYTES: u64 = 16 << 20;

/// The deepest YAML nesting (mappings and sequences, block or flow) accepted in a
/// kubeconfig: 64 levels; a kubeconfig nests about 6. The parser refuses deeper input in
/// linear time, before deserializing it, whose stack use grows with the depth (about
/// 20 KiB a level in a debug build: an async task's 2 MiB stack holds about 90).
pub const MAX_YAML_DEPTH: usize = 64;

/// The largest token file read (kubeconfig `tokenFile`, the in-cluster service-account
/// token and namespace): 1 MiB. A service-account token is about 1 KiB.
pub const MAX_TOKEN_FILE_BYTES: u64 = 1 << 20;

/// The largest certificate, key or CA bundle file read (`certificate-authority`,
/// `client-certificate`, `client-key`, the in-cluster `ca.crt`): 4 MiB. The whole
/// Mozilla CA bundle is about 220 KiB.
pub const MAX_PEM_FILE_BYTES: u64 = 4 << 20;

/// The most an exec plugin may print on stdout (its `ExecCredential`): 1 MiB. A
/// credential with a certificate chain is a few KiB.
pub const MAX_EXEC_STDOUT_BYTES: usize = 1 << 20;

/// How much of an exec plugin's stderr is kept for its error message: the first 4 KiB.
/// The rest is read and discarded, so a plugin writing without end never blocks on a
/// full pipe and never grows this process.
pub const MAX_EXEC_STDERR_BYTES: usize = 4 << 10;

/// Read `path` whole, failing with [`std::io::ErrorKind::FileTooLarge`] when it holds
/// more than `limit` bytes (the message names the limit and `what` the file is; the
/// caller names the file). At most `limit + 1` bytes are ever read, so `/dev/zero` or
/// a growing file costs no more than a file of the limit's size.
pub(crate) fn read_limited(path: &Path, limit: u64, what: &str) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit, what));
    }
    Ok(bytes)
}

/// The error of a file over its limit: `larger than 1 MiB, the limit for a token file`.
pub(crate) fn too_large(limit: u64, what: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::FileTooLarge,
        format!("larger than {}, the limit for {what}", human(limit)),
    )
}

/// `1 MiB`, `4 KiB`, or a plain byte count when not a whole number of KiB.
pub(crate) fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human(MAX_TOKEN_FILE_BYTES), "1 MiB");
        assert_eq!(human(MAX_EXEC_STDERR_BYTES as u64), "4 KiB");
        assert_eq!(human(1000), "1000 bytes");
    }

    #[test]
    fn dev_zero_is_cut_at_the_limit() {
        let err = read_limited(Path::new("/dev/zero"), 1024, "a test file").unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::FileTooLarge);
        assert_eq!(
            err.to_string(),
            "larger than 1 KiB, the limit for a test file"
        );
    }
}
