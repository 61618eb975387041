//! The disk cache: kubectl's layout, private directories, atomic files, zero requests
//! while fresh, refetch when stale (TTL) or invalidated.

mod common;
#[path = "../../testserver/tests/common/tools.rs"]
mod tools;

use std::time::{Duration, SystemTime};

use kubecto_discovery::{ApiResourceList, DiscoveryClient, DiskCache, GroupVersion, Source};
use kubecto_testserver::TestServer;

fn cached_client(server: &TestServer, cache: &DiskCache) -> DiscoveryClient {
    DiscoveryClient::builder(common::config(server))
        .disk_cache(cache.clone())
        .build()
        .unwrap()
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn written_in_kubectls_layout_and_read_with_zero_requests() {
    let server = TestServer::start().await.unwrap();
    let tmp = common::TempDir::new("layout");
    let cache = DiskCache::for_host(&tmp.0, &server.url());
    let host_dir = tmp
        .0
        .join(server.url().trim_start_matches("http://").replace(':', "_"));
    assert_eq!(cache.dir(), host_dir);

    cached_client(&server, &cache)
        .server_groups_and_resources()
        .await
        .unwrap();
    assert_eq!(common::discovery_requests(&server), 2);
    let written = files(cache.dir());
    assert!(
        written.contains(&"servergroups.json".to_owned()),
        "{written:?}"
    );
    assert!(written.contains(&"v1/serverresources.json".to_owned()));
    assert!(written.contains(&"apps/v1/serverresources.json".to_owned()));
    assert!(written.contains(&"autoscaling/v2/serverresources.json".to_owned()));
    assert!(
        written.iter().all(|f| !f.contains(".tmp")),
        "no temporary files left"
    );
    let apps: ApiResourceList = serde_json::from_slice(
        &std::fs::read(cache.dir().join("apps/v1/serverresources.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(apps.kind, "APIResourceList");
    assert!(apps.resources.iter().any(|r| r.name == "deployments/scale"));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(cache.dir()), 0o700);
        assert_eq!(mode(&cache.dir().join("apps")), 0o700);
        assert_eq!(mode(&cache.dir().join("servergroups.json")), 0o600);
    }

    // A new client (a new process, say) answers from disk: zero requests.
    server.clear_requests();
    let warm = cached_client(&server, &cache);
    let all = warm.server_groups_and_resources().await.unwrap();
    assert_eq!(all.source(), Source::DiskCache);
    assert!(all.is_complete());
    warm.server_groups().await.unwrap();
    warm.server_preferred_resources().await.unwrap();
    warm.server_resources_for_group_version(&GroupVersion::new("batch", "v1"))
        .await
        .unwrap();
    let fresh_client = cached_client(&server, &cache);
    fresh_client.server_groups().await.unwrap();
    fresh_client
        .server_resources_for_group_version(&GroupVersion::core_v1())
        .await
        .unwrap();
    assert_eq!(
        common::discovery_requests(&server),
        0,
        "{:?}",
        server.requests()
    );
    assert!(!warm.fresh(), "read from disk, not fetched");
}

fn age(path: &std::path::Path, by: Duration) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - by).unwrap();
}

#[tokio::test]
async fn stale_files_are_fetched_again() {
    let server = TestServer::start().await.unwrap();
    let tmp = common::TempDir::new("ttl");
    let cache = DiskCache::for_host(&tmp.0, &server.url());
    cached_client(&server, &cache)
        .server_groups_and_resources()
        .await
        .unwrap();

    // One group-version's file is older than the TTL: only it is fetched.
    age(
        &cache.dir().join("batch/v1/serverresources.json"),
        Duration::from_secs(7 * 3600),
    );
    server.clear_requests();
    let all = cached_client(&server, &cache)
        .server_groups_and_resources()
        .await
        .unwrap();
    assert!(all.is_complete());
    assert_eq!(
        common::discovery_requests(&server),
        1,
        "{:?}",
        server.requests()
    );
    assert_eq!(server.request_count("GET", "/apis/batch/v1"), 1);

    // The group list itself is stale: full discovery again (two aggregated requests).
    age(&cache.groups_path(), Duration::from_secs(7 * 3600));
    server.clear_requests();
    let all = cached_client(&server, &cache)
        .server_groups_and_resources()
        .await
        .unwrap();
    assert_eq!(all.source(), Source::Aggregated);
    assert_eq!(common::discovery_requests(&server), 2);

    // A short TTL makes everything stale sooner.
    std::thread::sleep(Duration::from_millis(20));
    server.clear_requests();
    let short = DiscoveryClient::builder(common::config(&server))
        .disk_cache(cache.clone().with_ttl(Duration::from_millis(10)))
        .build()
        .unwrap();
    short.server_groups_and_resources().await.unwrap();
    assert_eq!(common::discovery_requests(&server), 2);
}

#[tokio::test]
async fn invalidate_refetches_and_rewrites() {
    let server = TestServer::start().await.unwrap();
    let tmp = common::TempDir::new("invalidate");
    let cache = DiskCache::for_host(&tmp.0, &server.url());
    let client = cached_client(&server, &cache);
    client.server_groups_and_resources().await.unwrap();

    // A CRD appears; the cache does not know it until invalidated.
    server
        .seed(common::crd(
            "example.com",
            "widgets",
            "Widget",
            &["wd"],
            true,
        ))
        .unwrap();
    let other = cached_client(&server, &cache);
    let before = other.server_groups_and_resources().await.unwrap();
    assert!(
        before
            .resources_for(&GroupVersion::new("example.com", "v1"))
            .is_none()
    );

    server.clear_requests();
    other.invalidate();
    let after = other.server_groups_and_resources().await.unwrap();
    assert!(
        after
            .resources_for(&GroupVersion::new("example.com", "v1"))
            .is_some()
    );
    assert_eq!(common::discovery_requests(&server), 2);
    assert!(other.fresh());
    // ...and the disk now has it, for the next client.
    assert!(
        cache
            .dir()
            .join("example.com/v1/serverresources.json")
            .exists()
    );
    server.clear_requests();
    let third = cached_client(&server, &cache);
    let d = third.server_groups_and_resources().await.unwrap();
    assert!(
        d.resources_for(&GroupVersion::new("example.com", "v1beta1"))
            .is_some()
    );
    assert_eq!(common::discovery_requests(&server), 0);
}

#[tokio::test]
async fn corrupt_or_unwritable_cache_is_a_miss_not_an_error() {
    let server = TestServer::start().await.unwrap();
    let tmp = common::TempDir::new("corrupt");
    let cache = DiskCache::for_host(&tmp.0, &server.url());
    std::fs::create_dir_all(cache.dir()).unwrap();
    std::fs::write(cache.groups_path(), b"{not json").unwrap();
    let all = cached_client(&server, &cache)
        .server_groups_and_resources()
        .await
        .unwrap();
    assert!(all.is_complete());
    assert_eq!(common::discovery_requests(&server), 2);

    // A cache directory that is a file: discovery still answers.
    let file = tmp.0.join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let all = cached_client(&server, &DiskCache::new(file.join("sub")))
        .server_groups_and_resources()
        .await
        .unwrap();
    assert!(all.is_complete());
}

/// kubectl maps `deploy` with the cache this crate wrote: it asks for no discovery
/// document, only for the deployments themselves. (`kubectl api-resources` would not
/// do: it invalidates the cache on purpose.) The kubectl is the conformance tests'
/// (`cargo xtask test` installs one when none will do).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_maps_with_our_cache_and_no_discovery_request() {
    let (kubectl, _) = tools::checked_kubectl().unwrap_or_else(|e| panic!("{e}"));
    let server = TestServer::start().await.unwrap();
    let tmp = common::TempDir::new("kubectl");
    let kubeconfig = tmp.0.join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    // kubectl's --cache-dir holds `discovery/<host_port>/...`.
    let cache = DiskCache::for_host(tmp.0.join("cache").join("discovery"), &server.url());
    cached_client(&server, &cache)
        .server_groups_and_resources()
        .await
        .unwrap();
    server.clear_requests();

    let (kubeconfig, cache_dir) = (kubeconfig.clone(), tmp.0.join("cache"));
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(kubectl)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--cache-dir")
            .arg(&cache_dir)
            .args(["get", "deploy", "-A", "-o", "name"])
            .output()
    })
    .await
    .unwrap();
    let out = out.expect("run kubectl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let discovery_docs: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| {
            let segs = r.path.trim_matches('/').split('/').count();
            r.path.starts_with("/api") && (segs <= 2 || (r.path.starts_with("/apis/") && segs == 3))
        })
        .collect();
    assert!(discovery_docs.is_empty(), "{discovery_docs:?}");
    assert_eq!(
        server.request_count("GET", "/apis/apps/v1/deployments"),
        1,
        "{:?}",
        server.requests()
    );
}
