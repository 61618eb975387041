//! The disk cache, in kubectl's layout so both can share it:
//! `<dir>/servergroups.json` (an `APIGroupList`) and
//! `<dir>/<group>/<version>/serverresources.json` (an `APIResourceList`; the core group's
//! is `<dir>/v1/serverresources.json`), where `<dir>` is
//! `~/.kube/cache/discovery/<host_port>`. A file is fresh for the TTL (6 hours by
//! default) after it was written. Files are written to a temporary name and renamed, so a
//! reader never sees half a file; directories are created `0700`, files `0600`.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use kubecto_rest_core::GroupVersion;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::types::{ApiGroupList, ApiResourceList};

/// kubectl's TTL for cached discovery: six hours.
pub const DEFAULT_TTL: Duration = Duration::from_secs(6 * 60 * 60);

const GROUPS_FILE: &str = "servergroups.json";
const RESOURCES_FILE: &str = "serverresources.json";

/// A discovery cache directory for one server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskCache {
    dir: PathBuf,
    ttl: Duration,
}

/// Turns a server URL into a directory name as kubectl does (`https://10.0.0.1:6443`
/// becomes `10.0.0.1_6443`), but stricter: `/` is replaced too and a name made only of
/// dots is prefixed, so no host can name a path outside the cache directory. Credentials
/// in the URL (`https://user:password@host`) are left out of the name.
pub fn sanitize_host(host: &str) -> String {
    let schemeless = host
        .strip_prefix("https://")
        .or_else(|| host.strip_prefix("http://"))
        .unwrap_or(host);
    let schemeless = schemeless.trim_end_matches('/');
    let authority_end = schemeless.find(['/', '?', '#']).unwrap_or(schemeless.len());
    let schemeless = match schemeless[..authority_end].rfind('@') {
        Some(at) => &schemeless[at + 1..],
        None => schemeless,
    };
    let mut out: String = schemeless
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.chars().all(|c| c == '.') {
        out.insert(0, '_');
    }
    out
}

/// Whether a group or version name is safe as a path component.
fn safe_component(s: &str) -> bool {
    !s.is_empty()
        && !s.chars().all(|c| c == '.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl DiskCache {
    /// A cache in exactly this directory (already specific to one server), with the
    /// default TTL.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            ttl: DEFAULT_TTL,
        }
    }

    /// A cache for the server at `host` under `parent`: `parent/<sanitized host>`.
    pub fn for_host(parent: impl AsRef<Path>, host: &str) -> Self {
        Self::new(parent.as_ref().join(sanitize_host(host)))
    }

    /// kubectl's default location for `host`: `~/.kube/cache/discovery/<host_port>`;
    /// `None` when there is no home directory.
    pub fn default_for_host(host: &str) -> Option<Self> {
        let home = home::home_dir()?;
        Some(Self::for_host(
            home.join(".kube").join("cache").join("discovery"),
            host,
        ))
    }

    /// Sets how long files stay fresh.
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The TTL.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The file holding the group list.
    pub fn groups_path(&self) -> PathBuf {
        self.dir.join(GROUPS_FILE)
    }

    /// The file holding one group-version's resources; `None` for names that are not
    /// safe path components.
    pub fn resources_path(&self, gv: &GroupVersion) -> Option<PathBuf> {
        if !safe_component(&gv.version) || !(gv.group.is_empty() || safe_component(&gv.group)) {
            return None;
        }
        let mut p = self.dir.clone();
        if !gv.group.is_empty() {
            p.push(&gv.group);
        }
        p.push(&gv.version);
        p.push(RESOURCES_FILE);
        Some(p)
    }

    fn read_fresh<T: DeserializeOwned>(&self, path: &Path) -> Option<T> {
        let meta = fs::metadata(path).ok()?;
        let modified = meta.modified().ok()?;
        if let Ok(age) = SystemTime::now().duration_since(modified)
            && age > self.ttl
        {
            tracing::debug!(target: "kubecto::discovery", path = %path.display(), "cached discovery file is stale");
            return None;
        }
        let bytes = fs::read(path).ok()?;
        match serde_json::from_slice(&bytes) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::debug!(target: "kubecto::discovery", path = %path.display(), "ignoring unreadable cached discovery file: {e}");
                None
            }
        }
    }

    /// The cached group list, if present and fresh.
    pub(crate) fn read_groups(&self) -> Option<ApiGroupList> {
        self.read_fresh(&self.groups_path())
    }

    /// One group-version's cached resources, if present and fresh.
    pub(crate) fn read_resources(&self, gv: &GroupVersion) -> Option<ApiResourceList> {
        self.read_fresh(&self.resources_path(gv)?)
    }

    /// Writes the group list.
    pub(crate) fn write_groups(&self, groups: &ApiGroupList) -> Result<()> {
        write_json(&self.groups_path(), groups)
    }

    /// Writes one group-version's resources (silently skipped for unsafe names).
    pub(crate) fn write_resources(&self, list: &ApiResourceList) -> Result<()> {
        match self.resources_path(&list.gv()) {
            Some(path) => write_json(&path, list),
            None => Ok(()),
        }
    }
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let cache_err = |source: io::Error| Error::Cache {
        path: path.to_owned(),
        source,
    };
    let bytes = serde_json::to_vec(value).map_err(|e| cache_err(io::Error::other(e)))?;
    let dir = path
        .parent()
        .ok_or_else(|| cache_err(io::Error::other("the cache file has no directory")))?;
    create_dir_private(dir).map_err(|source| Error::Cache {
        path: dir.to_owned(),
        source,
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = open_private(&tmp)?;
        file.write_all(&bytes)?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(cache_err)
}

#[cfg(unix)]
fn create_dir_private(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_dir_private(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn open_private(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_sanitized_like_kubectl_but_cannot_escape() {
        assert_eq!(sanitize_host("https://127.0.0.1:6443"), "127.0.0.1_6443");
        assert_eq!(sanitize_host("http://localhost:8080/"), "localhost_8080");
        assert_eq!(
            sanitize_host("https://example.com/../../etc"),
            "example.com_.._.._etc"
        );
        assert_eq!(sanitize_host(".."), "_..");
        assert_eq!(sanitize_host(""), "_");
        assert_eq!(
            sanitize_host("https://admin:s3cr3t@127.0.0.1:6443"),
            "127.0.0.1_6443"
        );
        let c = DiskCache::for_host("/cache", "https://../..");
        assert!(c.dir().starts_with("/cache"));
        assert_eq!(c.dir().components().count(), 3);
    }

    #[test]
    fn group_version_paths() {
        let c = DiskCache::new("/c");
        assert_eq!(
            c.resources_path(&GroupVersion::core_v1()).unwrap(),
            PathBuf::from("/c/v1/serverresources.json")
        );
        assert_eq!(
            c.resources_path(&GroupVersion::new("apps", "v1")).unwrap(),
            PathBuf::from("/c/apps/v1/serverresources.json")
        );
        assert!(c.resources_path(&GroupVersion::new("..", "v1")).is_none());
        assert!(c.resources_path(&GroupVersion::new("a/b", "v1")).is_none());
        assert!(c.resources_path(&GroupVersion::new("apps", "")).is_none());
    }
}
