//! Talking to the server: the two root documents (`/api`, `/apis`) asked for in the
//! aggregated form, with the legacy answers understood too, and the legacy fan-out over
//! group-versions with a concurrency cap. Every request goes through rest-core.

use std::sync::Arc;

use futures_util::StreamExt;
use http::header::{ACCEPT, CONTENT_TYPE};
use kubecto_rest_core::{GroupVersion, Response, RestClient};
use serde::de::DeserializeOwned;

use crate::error::{Error, FailedGroupVersions, GroupVersionError, Result};
use crate::snapshot::{Discovery, Source, core_group};
use crate::types::{AggregatedList, ApiGroup, ApiGroupList, ApiResourceList, ApiVersions};

/// The `Accept` header discovery sends: aggregated discovery first, plain JSON as the
/// fallback a server without it answers with (kubectl's header).
pub const AGGREGATED_ACCEPT: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";

/// The path of a group-version's legacy document: `/api/v1`, `/apis/apps/v1`.
pub(crate) fn gv_path(gv: &GroupVersion) -> String {
    if gv.group.is_empty() {
        format!("/api/{}", gv.version)
    } else {
        format!("/apis/{}/{}", gv.group, gv.version)
    }
}

/// Whether the answer is an aggregated discovery document (by its content type).
fn is_aggregated(resp: &Response) -> bool {
    let Some(ct) = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let params: Vec<&str> = ct.split(';').map(str::trim).collect();
    params.contains(&"g=apidiscovery.k8s.io")
        && params.contains(&"as=APIGroupDiscoveryList")
        && (params.contains(&"v=v2") || params.contains(&"v=v2beta1"))
}

/// A failed request and its path; becomes [`Error::Request`] or a per-group-version
/// [`GroupVersionError::Request`].
pub(crate) struct Failed {
    path: String,
    source: kubecto_rest_core::Error,
}

impl From<Failed> for Error {
    fn from(f: Failed) -> Self {
        Error::Request {
            path: f.path,
            source: Box::new(f.source),
        }
    }
}

async fn get(rest: &RestClient, path: &str) -> std::result::Result<Response, Failed> {
    rest.get()
        .abs_path(path)
        .send()
        .await
        .map_err(|source| Failed {
            path: path.to_owned(),
            source,
        })
}

async fn decode<T: DeserializeOwned>(resp: Response, path: &str) -> std::result::Result<T, Failed> {
    resp.into().await.map_err(|source| Failed {
        path: path.to_owned(),
        source,
    })
}

/// What one root document said.
enum Root {
    /// Aggregated: groups and resources in one go.
    Aggregated(AggregatedList),
    /// Legacy: the groups only; their resources need one request each.
    Legacy(Vec<ApiGroup>),
    /// 404/403: client-go treats a missing root as empty.
    Missing,
}

/// What a root request asks for: aggregated discovery (falling back to plain JSON), or
/// plain JSON only. Set per request, so any rest-core client works.
fn root_accept(aggregated: bool) -> &'static str {
    if aggregated {
        AGGREGATED_ACCEPT
    } else {
        "application/json"
    }
}

async fn root(rest: &RestClient, path: &str, aggregated: bool) -> Result<Root> {
    let sent = rest
        .get()
        .abs_path(path)
        .header(ACCEPT, root_accept(aggregated))
        .send()
        .await
        .map_err(|source| Failed {
            path: path.to_owned(),
            source,
        });
    let resp = match sent {
        Ok(r) => r,
        Err(f) if f.source.is_not_found() || f.source.is_forbidden() => return Ok(Root::Missing),
        Err(f) => return Err(f.into()),
    };
    if is_aggregated(&resp) {
        return Ok(Root::Aggregated(decode(resp, path).await?));
    }
    if path == "/api" {
        let versions: ApiVersions = decode(resp, path).await?;
        Ok(Root::Legacy(
            core_group(&versions.versions).into_iter().collect(),
        ))
    } else {
        let list: ApiGroupList = decode(resp, path).await?;
        Ok(Root::Legacy(list.groups))
    }
}

/// The root documents, read: the groups (core first), the resources aggregated discovery
/// gave, what it marked stale, and the group-versions still to fetch one by one.
pub(crate) struct Roots {
    pub(crate) groups: Vec<ApiGroup>,
    pub(crate) resources: Vec<ApiResourceList>,
    pub(crate) failed: FailedGroupVersions,
    pub(crate) pending: Vec<GroupVersion>,
    pub(crate) aggregated: bool,
}

/// `GET /api` and `GET /apis`, concurrently.
pub(crate) async fn roots(rest: &RestClient, aggregated: bool) -> Result<Roots> {
    let (core, groups) = futures_util::future::join(
        root(rest, "/api", aggregated),
        root(rest, "/apis", aggregated),
    )
    .await;
    let mut out = Roots {
        groups: Vec::new(),
        resources: Vec::new(),
        failed: FailedGroupVersions::default(),
        pending: Vec::new(),
        aggregated: true,
    };
    for r in [core?, groups?] {
        match r {
            Root::Aggregated(list) => {
                let d = Discovery::from_aggregated(list, AggregatedList::default());
                out.groups.extend(d.groups.groups);
                out.resources.extend(d.resources);
                for (gv, e) in d.failed.iter() {
                    out.failed.push(gv.clone(), e.clone());
                }
            }
            Root::Legacy(groups) => {
                out.aggregated = false;
                out.pending
                    .extend(groups.iter().flat_map(ApiGroup::group_versions));
                out.groups.extend(groups);
            }
            Root::Missing => {}
        }
    }
    Ok(out)
}

/// `GET /apis/{group}/{version}` (or `/api/{version}`).
pub(crate) async fn resources_for(
    rest: &RestClient,
    gv: &GroupVersion,
) -> std::result::Result<ApiResourceList, Failed> {
    let path = gv_path(gv);
    let resp = get(rest, &path).await?;
    let mut list: ApiResourceList = decode(resp, &path).await?;
    if list.group_version.is_empty() {
        list.group_version = gv.to_string();
    }
    Ok(list)
}

/// Fetches every group-version in `gvs`, at most `concurrency` at a time; results in the
/// order of `gvs`, failures recorded per group-version.
pub(crate) async fn fan_out(
    rest: &RestClient,
    gvs: &[GroupVersion],
    concurrency: usize,
) -> (Vec<ApiResourceList>, FailedGroupVersions) {
    let mut results: Vec<(usize, std::result::Result<ApiResourceList, Failed>)> =
        // Owned items and an owned client: borrowed ones would make the future !Send.
        futures_util::stream::iter(gvs.iter().cloned().enumerate())
            .map({
                let rest = rest.clone();
                move |(i, gv)| {
                    let rest = rest.clone();
                    async move { (i, resources_for(&rest, &gv).await) }
                }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
    results.sort_by_key(|(i, _)| *i);
    let mut lists = Vec::with_capacity(results.len());
    let mut failed = FailedGroupVersions::default();
    for (i, r) in results {
        match r {
            Ok(list) => lists.push(list),
            Err(f) => failed.push(
                gvs[i].clone(),
                GroupVersionError::Request {
                    path: f.path,
                    source: Arc::new(f.source),
                },
            ),
        }
    }
    (lists, failed)
}

/// A full live discovery: the roots, then the legacy fan-out for what they did not cover.
pub(crate) async fn discover(
    rest: &RestClient,
    concurrency: usize,
    aggregated: bool,
) -> Result<Discovery> {
    let roots = roots(rest, aggregated).await?;
    let source = if roots.aggregated {
        Source::Aggregated
    } else {
        Source::Legacy
    };
    let (fetched, failed_fetch) = fan_out(rest, &roots.pending, concurrency).await;
    Ok(assemble(
        roots.groups,
        roots.resources.into_iter().chain(fetched).collect(),
        [roots.failed, failed_fetch],
        source,
    ))
}

/// Builds a snapshot with resource lists in the groups' order.
pub(crate) fn assemble(
    groups: Vec<ApiGroup>,
    mut resources: Vec<ApiResourceList>,
    failures: impl IntoIterator<Item = FailedGroupVersions>,
    source: Source,
) -> Discovery {
    let groups = ApiGroupList::new(groups);
    let order: std::collections::HashMap<String, usize> = groups
        .group_versions()
        .enumerate()
        .map(|(i, gv)| (gv.to_string(), i))
        .collect();
    resources.sort_by_key(|l| order.get(&l.group_version).copied().unwrap_or(usize::MAX));
    let mut failed = FailedGroupVersions::default();
    for f in failures {
        for (gv, e) in f.iter() {
            failed.push(gv.clone(), e.clone());
        }
    }
    Discovery {
        groups,
        resources,
        failed,
        source,
    }
}
