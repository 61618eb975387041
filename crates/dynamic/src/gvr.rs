//! [`GroupVersionResource`]: what a dynamic client addresses. The same type, with the same
//! fields and spellings, as `kubecto_discovery::GroupVersionResource` (this crate does not
//! depend on discovery; both sit beside rest-core's [`GroupVersion`]). A discovery
//! `RestMapping` converts with `GroupVersionResource::new(&m.resource.group, ...)` or
//! through [`From`] a `(group, version, resource)` tuple.

use std::fmt;

use kubecto_rest_core::GroupVersion;

/// A group, version and resource (plural, lower case): what a URL addresses,
/// `apps/v1, Resource=deployments`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupVersionResource {
    /// The API group; empty for the core group.
    pub group: String,
    /// The version, such as `v1`.
    pub version: String,
    /// The resource, such as `deployments`.
    pub resource: String,
}

impl GroupVersionResource {
    /// A group, version and resource.
    pub fn new(
        group: impl Into<String>,
        version: impl Into<String>,
        resource: impl Into<String>,
    ) -> Self {
        Self {
            group: group.into(),
            version: version.into(),
            resource: resource.into(),
        }
    }

    /// The group and version.
    pub fn group_version(&self) -> GroupVersion {
        GroupVersion::new(&self.group, &self.version)
    }

    /// `group/version`, or `version` for the core group (an object's `apiVersion`).
    pub fn api_version(&self) -> String {
        self.group_version().to_string()
    }
}

impl<G: Into<String>, V: Into<String>, R: Into<String>> From<(G, V, R)> for GroupVersionResource {
    fn from((group, version, resource): (G, V, R)) -> Self {
        Self::new(group, version, resource)
    }
}

impl From<&GroupVersionResource> for GroupVersionResource {
    fn from(gvr: &GroupVersionResource) -> Self {
        gvr.clone()
    }
}

impl fmt::Display for GroupVersionResource {
    /// kubectl's spelling: `deployments.v1.apps`, `pods.v1.` for the core group.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.resource, self.version, self.group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings() {
        let gvr = GroupVersionResource::new("apps", "v1", "deployments");
        assert_eq!(gvr.to_string(), "deployments.v1.apps");
        assert_eq!(gvr.api_version(), "apps/v1");
        let core: GroupVersionResource = ("", "v1", "pods").into();
        assert_eq!(core.api_version(), "v1");
        assert_eq!(core.to_string(), "pods.v1.");
    }
}
