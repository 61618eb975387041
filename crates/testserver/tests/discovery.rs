//! Discovery: both forms derived from the recorded v1.36 documents, chosen by Accept.

mod common;
use common::*;
use serde_json::Value;

const AGGREGATED: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";

fn fixture(path: &str) -> Value {
    let p = format!(
        "{}/tests/fixtures/legacy-discovery/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}")))
        .unwrap()
}

#[tokio::test]
async fn version_matches_the_recorded_server() {
    let server = TestServer::start().await.unwrap();
    let v = Http::new(&server).get("/version").await.json();
    assert_eq!(v["major"], "1");
    assert_eq!(v["minor"], "36");
    assert!(v["gitVersion"].as_str().unwrap().starts_with("v1.36"));
}

#[tokio::test]
async fn legacy_documents_equal_what_kube_apiserver_served() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let mut groups = fixture("apis.json");
    assert_eq!(http.get("/apis").await.json(), groups);
    assert_eq!(http.get("/api/v1").await.json(), fixture("api/v1.json"));
    let api = http.get("/api").await.json();
    assert_eq!(api["kind"], "APIVersions");
    assert_eq!(api["versions"], serde_json::json!(["v1"]));
    let mut checked = 0;
    for g in groups["groups"].as_array_mut().unwrap() {
        let name = g["name"].as_str().unwrap().to_owned();
        let group = http.get(&format!("/apis/{name}")).await.json();
        assert_eq!(group["kind"], "APIGroup");
        assert_eq!(group["preferredVersion"], g["preferredVersion"]);
        for v in g["versions"].as_array().unwrap() {
            let version = v["version"].as_str().unwrap();
            let got = http.get(&format!("/apis/{name}/{version}")).await;
            assert_eq!(got.status, 200);
            assert_eq!(
                got.json(),
                fixture(&format!("apis/{name}/{version}.json")),
                "{name}/{version} differs"
            );
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} group versions compared");
}

#[tokio::test]
async fn aggregated_discovery_is_chosen_by_accept() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    for (path, recorded) in [
        ("/api", "aggregated-api.json"),
        ("/apis", "aggregated-apis.json"),
    ] {
        let res = http.get_accept(path, AGGREGATED).await;
        assert_eq!(res.status, 200);
        assert_eq!(
            res.header("content-type"),
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
        );
        let p = format!("{}/data/discovery/{recorded}", env!("CARGO_MANIFEST_DIR"));
        let want: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        assert_eq!(res.json(), want);
    }
    // A plain JSON Accept gets the legacy form.
    let legacy = http.get_accept("/apis", "application/json").await.json();
    assert_eq!(legacy["kind"], "APIGroupList");
}

#[tokio::test]
async fn unknown_paths_answer_as_kube_apiserver_does() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    // Unknown group or version: plain text, not a Status.
    let res = http.get("/apis/nosuch.example.com/v1/things").await;
    assert_eq!(res.status, 404);
    assert_eq!(&res.body[..], b"404 page not found\n");
    let res = http.get("/apis/apps/v9").await;
    assert_eq!(res.status, 404);
    // Unknown resource in a known group: a Status.
    let res = http.get("/apis/apps/v1/nosuchthings").await;
    assert_eq!(res.status, 404);
    assert_eq!(res.json()["kind"], "Status");
    assert_eq!(res.json()["reason"], "NotFound");
}

#[tokio::test]
async fn openapi_v3_index_and_documents() {
    let server = TestServer::start().await.unwrap();
    let http = Http::new(&server);
    let index = http.get("/openapi/v3").await.json();
    let url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(url.starts_with("/openapi/v3/apis/apps/v1?hash="), "{url}");
    let doc = http.get(&url).await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.header("cache-control"), "public, immutable");
    let doc = doc.json();
    assert_eq!(doc["openapi"], "3.0.0");
    assert!(doc["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"].is_object());
    let stale = http.get("/openapi/v3/apis/apps/v1?hash=0123").await;
    assert_eq!(stale.status, 301);
    assert_eq!(stale.header("location"), url);
    assert_eq!(http.get("/openapi/v3/apis/nope/v1").await.status, 404);
}
