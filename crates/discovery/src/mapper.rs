//! [`RestMapper`]: kinds to resources and back, plural, singular and short names, preferred
//! versions and scope, all from discovery (never guessed). A miss refreshes discovery once,
//! as client-go's deferred discovery RESTMapper does, so a CRD created a moment ago is found.

use std::sync::{Arc, Mutex};

use crate::client::DiscoveryClient;
use crate::error::{Error, Result};
use crate::snapshot::Discovery;
use kubecto_rest_core::{GroupVersionKind, GroupVersionResource};

/// Whether a resource's objects live in namespaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Objects live in a namespace (`pods`).
    Namespaced,
    /// Objects are cluster-wide (`nodes`, `namespaces`).
    Cluster,
}

impl Scope {
    /// Whether this is [`Scope::Namespaced`].
    pub fn is_namespaced(self) -> bool {
        self == Scope::Namespaced
    }
}

/// How one kind is served: its resource, kind, scope and names.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestMapping {
    /// The resource, in the version this mapping is for.
    pub resource: GroupVersionResource,
    /// The kind.
    pub kind: GroupVersionKind,
    /// Namespaced or cluster-scoped.
    pub scope: Scope,
    /// The singular name (`deployment`).
    pub singular: String,
    /// Short names (`deploy`).
    pub short_names: Vec<String>,
    /// The verbs the resource supports.
    pub verbs: Vec<String>,
    /// Categories the resource belongs to (`all`).
    pub categories: Vec<String>,
    /// Whether this version is its group's preferred version.
    pub preferred: bool,
}

/// Every mapping, in preference order: groups in discovery order (core first), within a
/// group the preferred version first.
#[derive(Debug, Default)]
struct Index {
    entries: Vec<RestMapping>,
}

impl Index {
    fn build(d: &Discovery) -> Self {
        let mut entries = Vec::new();
        for group in &d.groups().groups {
            let preferred = group.preferred().unwrap_or_default();
            let mut gvs: Vec<_> = group.group_versions().collect();
            // Stable: the preferred version first, the rest in the server's order.
            gvs.sort_by_key(|gv| gv.version != preferred);
            for gv in gvs {
                let Some(list) = d.resources_for(&gv) else {
                    continue;
                };
                for r in list.resources.iter().filter(|r| !r.is_subresource()) {
                    entries.push(RestMapping {
                        resource: GroupVersionResource::new(&gv.group, &gv.version, &r.name),
                        kind: GroupVersionKind::new(&gv.group, &gv.version, &r.kind),
                        scope: if r.namespaced {
                            Scope::Namespaced
                        } else {
                            Scope::Cluster
                        },
                        singular: r.singular_name.clone(),
                        short_names: r.short_names.clone(),
                        verbs: r.verbs.clone(),
                        categories: r.categories.clone(),
                        preferred: gv.version == preferred,
                    });
                }
            }
        }
        Index { entries }
    }

    fn find(&self, pred: impl Fn(&RestMapping) -> bool) -> Option<RestMapping> {
        self.entries.iter().find(|m| pred(m)).cloned()
    }
}

/// Whether `name` (lower case) names this mapping's resource: plural, singular, a short
/// name, or the kind in lower case.
fn names_resource(m: &RestMapping, name: &str) -> bool {
    m.resource.resource == name
        || m.singular == name
        || m.short_names.iter().any(|s| s == name)
        || m.kind.kind.eq_ignore_ascii_case(name)
}

/// Maps kinds to resources and resources to kinds from discovery.
///
/// ```no_run
/// # async fn run(discovery: kubecto_discovery::DiscoveryClient) -> kubecto_discovery::Result<()> {
/// use kubecto_discovery::RestMapper;
/// let mapper = RestMapper::new(discovery);
/// let deploy = mapper.resource_for("deploy").await?;
/// assert_eq!(deploy.resource.resource, "deployments");
/// let m = mapper.rest_mapping("apps", "Deployment", None).await?;
/// assert!(m.scope.is_namespaced());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RestMapper {
    discovery: DiscoveryClient,
    index: Arc<Mutex<Option<Indexed>>>,
}

/// The index and the discovery answer it was built from.
type Indexed = (Arc<Discovery>, Arc<Index>);

impl RestMapper {
    /// A mapper over `discovery` (sharing its caches).
    pub fn new(discovery: DiscoveryClient) -> Self {
        Self {
            discovery,
            index: Arc::new(Mutex::new(None)),
        }
    }

    /// The discovery client underneath.
    pub fn discovery(&self) -> &DiscoveryClient {
        &self.discovery
    }

    /// Forgets everything; the next lookup discovers again.
    pub fn reset(&self) {
        self.discovery.invalidate();
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Indexed>> {
        self.index
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The index for the discovery client's current answer.
    async fn index(&self) -> Result<Indexed> {
        let d = self.discovery.server_groups_and_resources().await?;
        let mut slot = self.lock();
        if let Some((old, index)) = slot.as_ref()
            && Arc::ptr_eq(old, &d)
        {
            return Ok((d, Arc::clone(index)));
        }
        let index = Arc::new(Index::build(&d));
        *slot = Some((Arc::clone(&d), Arc::clone(&index)));
        Ok((d, index))
    }

    /// Looks up with `find`; on a miss, refreshes discovery once (unless the answer was
    /// just fetched from the server) and looks again.
    async fn lookup(
        &self,
        what: impl FnOnce() -> String,
        find: impl Fn(&Index) -> Option<RestMapping>,
    ) -> Result<RestMapping> {
        let was_fresh = self.discovery.fresh();
        let (mut d, index) = self.index().await?;
        if let Some(m) = find(&index) {
            return Ok(m);
        }
        // A miss on data fetched before this call may be a CRD created since: refresh once.
        if was_fresh || !self.discovery.fresh() {
            tracing::debug!(target: "kubecto::discovery", "RESTMapper miss; refreshing discovery once");
            self.discovery.invalidate();
            let (d2, index) = self.index().await?;
            if let Some(m) = find(&index) {
                return Ok(m);
            }
            d = d2;
        }
        let mut what = what();
        if !d.failed().is_empty() {
            what.push_str(&format!(" (incomplete discovery: {})", d.failed()));
        }
        Err(Error::NoMatch { what })
    }

    /// Resolves what a user types after `kubectl get`: a plural (`deployments`), singular
    /// (`deployment`), short name (`deploy`) or kind (`Deployment`), optionally qualified
    /// as `name.group` (`deployments.apps`) or `name.version.group`
    /// (`deployments.v1.apps`). Case does not matter. The preferred version wins, and the
    /// core group before the others, then discovery order.
    ///
    /// # Errors
    /// [`Error::NoMatch`] when nothing matches after one refresh; discovery errors.
    pub async fn resource_for(&self, input: &str) -> Result<RestMapping> {
        let input = input.trim().to_ascii_lowercase();
        let quoted = format!("resource {input:?}");
        self.lookup(
            || quoted,
            |index| {
                if let Some((name, rest)) = input.split_once('.') {
                    if let Some((version, group)) = rest.split_once('.') {
                        let hit = index.find(|m| {
                            m.resource.version == version
                                && m.resource.group == group
                                && names_resource(m, name)
                        });
                        if hit.is_some() {
                            return hit;
                        }
                    }
                    let hit = index.find(|m| m.resource.group == rest && names_resource(m, name));
                    if hit.is_some() {
                        return hit;
                    }
                }
                index.find(|m| names_resource(m, &input))
            },
        )
        .await
    }

    /// Every resource in a category (`all`, as in `kubectl get all`), each once, in its
    /// group's preferred version, in discovery order. An unknown category is an empty list
    /// (no refresh: categories are open-ended).
    ///
    /// # Errors
    /// Discovery errors.
    pub async fn resources_in_category(&self, category: &str) -> Result<Vec<RestMapping>> {
        let (_, index) = self.index().await?;
        Ok(index
            .entries
            .iter()
            .filter(|m| m.preferred && m.categories.iter().any(|c| c == category))
            .cloned()
            .collect())
    }

    /// The mapping for a kind in a group (client-go's `RESTMapping(gk, versions...)`): in
    /// `version` if given, else in the group's preferred version (or the first that serves
    /// the kind).
    ///
    /// # Errors
    /// [`Error::NoMatch`] naming the kind and group; discovery errors.
    pub async fn rest_mapping(
        &self,
        group: &str,
        kind: &str,
        version: Option<&str>,
    ) -> Result<RestMapping> {
        let what = match version {
            Some(v) => format!(
                "kind {kind:?} in version {:?}",
                kubecto_rest_core::GroupVersion::new(group, v).to_string()
            ),
            None => format!("kind {kind:?} in group {group:?}"),
        };
        self.lookup(
            || what,
            |index| {
                index.find(|m| {
                    m.kind.group == group
                        && m.kind.kind == kind
                        && version.is_none_or(|v| m.kind.version == v)
                })
            },
        )
        .await
    }

    /// The mapping for an object's `apiVersion` and `kind`.
    ///
    /// # Errors
    /// As [`rest_mapping`](Self::rest_mapping).
    pub async fn mapping_for_kind(&self, gvk: &GroupVersionKind) -> Result<RestMapping> {
        self.rest_mapping(&gvk.group, &gvk.kind, Some(&gvk.version))
            .await
    }

    /// The kind a resource serves (client-go's `KindFor`). An empty version means the
    /// preferred one.
    ///
    /// # Errors
    /// [`Error::NoMatch`] naming the resource; discovery errors.
    pub async fn kind_for(&self, gvr: &GroupVersionResource) -> Result<GroupVersionKind> {
        let resource = gvr.resource.to_ascii_lowercase();
        self.lookup(
            || format!("resource {gvr}"),
            |index| {
                index.find(|m| {
                    m.resource.group == gvr.group
                        && (gvr.version.is_empty() || m.resource.version == gvr.version)
                        && names_resource(m, &resource)
                })
            },
        )
        .await
        .map(|m| m.kind)
    }
}
