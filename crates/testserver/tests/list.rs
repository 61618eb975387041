//! LIST: selectors, limit/continue over a consistent snapshot, all-namespaces.

mod common;
use common::*;
use serde_json::json;

const PODS: &str = "/api/v1/namespaces/default/pods";

fn names(list: &serde_json::Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn seeded() -> (TestServer, Http) {
    let server = TestServer::start().await.unwrap();
    for (i, (app, tier)) in [
        ("web", "front"),
        ("web", "back"),
        ("db", "back"),
        ("cache", "back"),
        ("web", "front"),
    ]
    .iter()
    .enumerate()
    {
        let mut p = pod(&format!("p{i}"), json!({"app": app, "tier": tier}));
        if i == 2 {
            p["spec"]["nodeName"] = json!("node-a");
        }
        server.seed(p).unwrap();
    }
    let http = Http::new(&server);
    (server, http)
}

#[tokio::test]
async fn label_selectors_full_syntax() {
    let (_server, http) = seeded().await;
    let q = |sel: &str| {
        format!(
            "{PODS}?labelSelector={}",
            sel.replace(' ', "%20")
                .replace('=', "%3D")
                .replace(',', "%2C")
                .replace('!', "%21")
        )
    };
    assert_eq!(
        names(&http.get(&q("app=web")).await.json()),
        ["p0", "p1", "p4"]
    );
    assert_eq!(
        names(&http.get(&q("app==web")).await.json()),
        ["p0", "p1", "p4"]
    );
    assert_eq!(names(&http.get(&q("app!=web")).await.json()), ["p2", "p3"]);
    assert_eq!(
        names(&http.get(&q("app in (db,cache)")).await.json()),
        ["p2", "p3"]
    );
    assert_eq!(
        names(&http.get(&q("app notin (web),tier=back")).await.json()),
        ["p2", "p3"]
    );
    assert_eq!(names(&http.get(&q("tier")).await.json()).len(), 5);
    assert_eq!(names(&http.get(&q("!tier")).await.json()).len(), 0);
    let bad = http.get(&q("app in (")).await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn field_selectors() {
    let (_server, http) = seeded().await;
    let got = http
        .get(&format!("{PODS}?fieldSelector=spec.nodeName%3Dnode-a"))
        .await
        .json();
    assert_eq!(names(&got), ["p2"]);
    let got = http
        .get(&format!(
            "{PODS}?fieldSelector=metadata.name%21%3Dp0,status.phase%3DPending"
        ))
        .await
        .json();
    assert_eq!(names(&got), ["p1", "p2", "p3", "p4"]);
    let got = http
        .get("/api/v1/pods?fieldSelector=metadata.namespace%3Ddefault")
        .await
        .json();
    assert_eq!(names(&got).len(), 5);
    let bad = http
        .get(&format!("{PODS}?fieldSelector=spec.bogus%3Dx"))
        .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.json()["message"]
            .as_str()
            .unwrap()
            .contains("field label not supported: spec.bogus")
    );
}

#[tokio::test]
async fn pagination_is_a_consistent_snapshot() {
    let (server, http) = seeded().await;
    let first = http.get(&format!("{PODS}?limit=2")).await.json();
    assert_eq!(first["kind"], "PodList");
    assert_eq!(names(&first), ["p0", "p1"]);
    assert_eq!(first["metadata"]["remainingItemCount"], 3);
    assert!(
        first["items"][0].get("kind").is_none(),
        "items in typed lists carry no kind"
    );
    let rv = first["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = first["metadata"]["continue"].as_str().unwrap().to_owned();

    // Writes between pages do not show up in later pages.
    server.seed(pod("p3a", json!({}))).unwrap();
    http.delete(&format!("{PODS}/p4")).await;

    let second = http
        .get(&format!("{PODS}?limit=2&continue={token}"))
        .await
        .json();
    assert_eq!(names(&second), ["p2", "p3"]);
    assert_eq!(second["metadata"]["resourceVersion"], json!(rv));
    let token = second["metadata"]["continue"].as_str().unwrap().to_owned();
    let third = http
        .get(&format!("{PODS}?limit=2&continue={token}"))
        .await
        .json();
    assert_eq!(names(&third), ["p4"]);
    assert!(third["metadata"].get("continue").is_none());

    // A fresh list sees the writes.
    assert_eq!(
        names(&http.get(PODS).await.json()),
        ["p0", "p1", "p2", "p3", "p3a"]
    );

    // Label-selected pages have no remainingItemCount.
    let sel = http
        .get(&format!("{PODS}?limit=1&labelSelector=app%3Dweb"))
        .await
        .json();
    assert!(sel["metadata"]["continue"].is_string());
    assert!(sel["metadata"].get("remainingItemCount").is_none());

    // A garbage token is a 400.
    assert_eq!(
        http.get(&format!("{PODS}?limit=2&continue=garbage"))
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn an_expired_continue_token_is_410() {
    let server = TestServer::builder()
        .watch_history(3)
        .start()
        .await
        .unwrap();
    let http = Http::new(&server);
    for i in 0..3 {
        server.seed(configmap_in(&format!("c{i}"))).unwrap();
    }
    let first = http
        .get("/api/v1/namespaces/default/configmaps?limit=1")
        .await
        .json();
    let token = first["metadata"]["continue"].as_str().unwrap().to_owned();
    for i in 3..10 {
        server.seed(configmap_in(&format!("c{i}"))).unwrap();
    }
    let res = http
        .get(&format!(
            "/api/v1/namespaces/default/configmaps?limit=1&continue={token}"
        ))
        .await;
    assert_eq!(res.status, 410);
    assert_eq!(res.json()["reason"], "Expired");
}

fn configmap_in(name: &str) -> serde_json::Value {
    let mut c = configmap(name);
    c["metadata"]["namespace"] = json!("default");
    c
}

#[tokio::test]
async fn all_namespaces_and_list_resource_version() {
    let (server, http) = seeded().await;
    let mut p = pod("sys", json!({}));
    p["metadata"]["namespace"] = json!("kube-system");
    server.seed(p).unwrap();
    let all = http.get("/api/v1/pods").await.json();
    assert_eq!(all["items"].as_array().unwrap().len(), 6);
    let ns: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["namespace"].as_str().unwrap())
        .collect();
    assert!(ns.contains(&"kube-system") && ns.contains(&"default"));
    let rv: u64 = all["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let newest = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            i["metadata"]["resourceVersion"]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .max()
        .unwrap();
    assert!(rv >= newest);
    // An empty list is `[]`.
    let empty = http
        .get("/apis/apps/v1/namespaces/default/deployments")
        .await
        .json();
    assert_eq!(empty["items"], json!([]));
    assert_eq!(empty["kind"], "DeploymentList");
    assert_eq!(empty["apiVersion"], "apps/v1");
}
