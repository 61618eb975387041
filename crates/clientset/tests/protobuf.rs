//! The clientset speaks protobuf for built-in kinds, as client-go's does: it asks for
//! `application/vnd.kubernetes.protobuf, application/json`, decodes what a real
//! kube-apiserver v1.36.2 sent (recorded bodies, `rest-core/tests/data/protobuf/`) into
//! the same objects as their JSON twins, sends create and update bodies in protobuf, and
//! falls back to JSON once, remembered, when the server refuses (415). Custom resources,
//! `Api::json` and `Config::without_protobuf` speak JSON.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full};
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kubecto_clientset::{Api, Clientset};
use kubecto_rest_core::protobuf::{PROTOBUF, PROTOBUF_OR_JSON};
use kubecto_rest_core::{
    Config, CreateOptions, ListOptions, RequestBody, RestClient, WatchOptions,
};

fn sample(name: &str) -> Bytes {
    let path = format!(
        "{}/../rest-core/tests/data/protobuf/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

/// A request as the server saw it: method, path, Accept, Content-Type, body.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    accept: String,
    content_type: String,
    body: Bytes,
}

type Answer = (u16, &'static str, Bytes);

/// A client whose server answers `answer(request number)` and records every request.
fn serving(
    config: Config,
    answer: impl Fn(usize) -> Answer + Send + Sync + 'static,
) -> (RestClient, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let answer = Arc::new(answer);
    let svc = tower::service_fn(move |req: http::Request<RequestBody>| {
        let (log, answer) = (log.clone(), answer.clone());
        async move {
            let header = |n: http::header::HeaderName| {
                req.headers()
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned()
            };
            let (accept, content_type) = (
                header(http::header::ACCEPT),
                header(http::header::CONTENT_TYPE),
            );
            let method = req.method().to_string();
            let body = req
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let n = {
                let mut log = log.lock().unwrap();
                log.push(Seen {
                    method,
                    accept,
                    content_type,
                    body,
                });
                log.len() - 1
            };
            let (status, ct, body) = answer(n);
            let mut resp = http::Response::new(Full::new(body));
            *resp.status_mut() = http::StatusCode::from_u16(status).unwrap();
            resp.headers_mut()
                .insert(http::header::CONTENT_TYPE, ct.parse().unwrap());
            Ok::<_, std::convert::Infallible>(resp)
        }
    });
    let client = RestClient::builder(config.with_max_retries(0))
        .service(svc)
        .build()
        .unwrap();
    (client, seen)
}

fn config() -> Config {
    Config::new("http://unused.invalid").without_rate_limit()
}

#[tokio::test]
async fn built_in_kinds_ask_for_protobuf_and_decode_what_kube_apiserver_sent() {
    let (client, seen) = serving(config(), |_| (200, PROTOBUF, sample("get-pod.bin")));
    let pods: Api<Pod> = Clientset::from_client(client).namespaced("default");
    assert!(pods.speaks_protobuf());
    let pod = pods.get("x").await.unwrap();
    let twin: Pod = serde_json::from_slice(&sample("get-pod.json")).unwrap();
    assert_eq!(pod, twin, "the protobuf pod is its JSON twin");
    assert_eq!(seen.lock().unwrap()[0].accept, PROTOBUF_OR_JSON);

    // managedFields skipped while decoding, everything else the same.
    let lean = pods
        .clone()
        .drop_managed_fields(true)
        .get("x")
        .await
        .unwrap();
    assert!(twin.metadata.managed_fields.is_some() && lean.metadata.managed_fields.is_none());
    let mut without = twin.clone();
    without.metadata.managed_fields = None;
    assert_eq!(lean, without);
}

#[tokio::test]
async fn lists_pages_and_watches_decode_protobuf_item_by_item() {
    let twin: serde_json::Value = serde_json::from_slice(&sample("list-pods.json")).unwrap();
    let names: Vec<String> = twin["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    let (client, seen) = serving(config(), |_| (200, PROTOBUF, sample("list-pods.bin")));
    let pods: Api<Pod> = Clientset::from_client(client).namespaced("default");
    let name = |p: &Pod| p.metadata.name.clone().unwrap();
    let list = pods.list(&ListOptions::new()).await.unwrap();
    assert_eq!(list.items.iter().map(name).collect::<Vec<_>>(), names);
    let paged = pods.list_paged(&ListOptions::new()).await.unwrap();
    assert_eq!(paged.items.iter().map(name).collect::<Vec<_>>(), names);
    let streamed: Vec<Pod> = pods
        .list_stream(&ListOptions::new())
        .map(|p| p.unwrap())
        .collect()
        .await;
    assert_eq!(streamed.iter().map(name).collect::<Vec<_>>(), names);
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .all(|s| s.accept == PROTOBUF_OR_JSON)
    );

    let (client, _) = serving(config(), |_| {
        (
            200,
            "application/vnd.kubernetes.protobuf;stream=watch",
            sample("watch-pods-stream.bin"),
        )
    });
    let pods: Api<Pod> = Clientset::from_client(client).namespaced("default");
    let events: Vec<_> = pods.watch(&WatchOptions::new()).collect().await;
    assert!(!events.is_empty());
    for e in &events {
        match e {
            Ok(
                kubecto_rest_core::WatchEvent::Added(p)
                | kubecto_rest_core::WatchEvent::Modified(p),
            ) => {
                assert!(p.metadata.name.is_some())
            }
            other => assert!(other.is_ok(), "{other:?}"),
        }
    }
}

fn config_map() -> ConfigMap {
    let mut cm = ConfigMap::default();
    cm.metadata.name = Some("settings".to_owned());
    cm.data = Some([("a".to_owned(), "b".to_owned())].into());
    cm
}

#[tokio::test]
async fn create_sends_protobuf_and_falls_back_to_json_once_when_refused() {
    // The first answer refuses protobuf bodies, as a server without them does.
    let answer = |n: usize| {
        match n {
        0 => (
            415,
            "application/json",
            Bytes::from_static(br#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"UnsupportedMediaType","code":415}"#),
        ),
        _ => (201, "application/json", Bytes::from(serde_json::to_vec(&config_map()).unwrap())),
    }
    };
    let (client, seen) = serving(config(), answer);
    let cms: Api<ConfigMap> = Clientset::from_client(client.clone()).namespaced("default");
    let created = cms
        .create(&config_map(), &CreateOptions::new())
        .await
        .unwrap();
    assert_eq!(created, config_map());
    // Another client of the same RestClient goes straight to JSON: the refusal is remembered.
    let again: Api<ConfigMap> = Clientset::from_client(client).namespaced("default");
    again
        .create(&config_map(), &CreateOptions::new())
        .await
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(seen[0].content_type, PROTOBUF);
    assert!(seen[0].body.starts_with(b"k8s\0"), "a protobuf envelope");
    for s in &seen[1..] {
        assert_eq!(
            (s.method.as_str(), s.content_type.as_str()),
            ("POST", "application/json")
        );
        let sent: ConfigMap = serde_json::from_slice(&s.body).unwrap();
        assert_eq!(sent, config_map());
    }
}

#[tokio::test]
async fn a_protobuf_body_is_the_object_kube_apiserver_would_read() {
    let (client, seen) = serving(config(), |_| {
        (
            201,
            PROTOBUF,
            sample("create-configmap-with-protobuf-body.bin"),
        )
    });
    let cms: Api<ConfigMap> = Clientset::from_client(client).namespaced("default");
    let created = cms
        .create(&config_map(), &CreateOptions::new())
        .await
        .unwrap();
    assert!(
        created.metadata.uid.is_some(),
        "the server's answer, decoded from protobuf"
    );
    let body = seen.lock().unwrap()[0].body.clone();
    // The envelope names the kind, and its message decodes back to the object sent.
    let unknown = kubecto_protobuf::envelope::Unknown::decode(&body).unwrap();
    assert_eq!((unknown.api_version, unknown.kind), ("v1", "ConfigMap"));
    let back: ConfigMap = kubecto_protobuf::envelope::decode(&body, &Default::default()).unwrap();
    assert_eq!(back, config_map());
}

#[tokio::test]
async fn json_where_asked_and_for_custom_resources() {
    for (config, json) in [(config().without_protobuf(), false), (config(), true)] {
        let (client, seen) = serving(config, |_| {
            (200, "application/json", sample("get-pod.json"))
        });
        let mut pods: Api<Pod> = Clientset::from_client(client).namespaced("default");
        if json {
            pods = pods.json();
        }
        pods.get("x").await.unwrap();
        pods.create(&Pod::default(), &CreateOptions::new())
            .await
            .ok();
        for s in seen.lock().unwrap().iter() {
            assert_eq!(s.accept, "application/json", "{s:?}");
            assert!(
                s.content_type.is_empty() || s.content_type == "application/json",
                "{s:?}"
            );
        }
    }
    // A type without a protobuf message (a custom resource) has no codec.
    assert!(
        !Api::<Widget>::namespaced(RestClient::new(config()).unwrap(), "default").speaks_protobuf()
    );
}

#[derive(Clone, Debug, serde::Deserialize, serde::Serialize)]
struct Widget {
    metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
}

impl k8s_openapi::Resource for Widget {
    const API_VERSION: &'static str = "example.com/v1";
    const GROUP: &'static str = "example.com";
    const KIND: &'static str = "Widget";
    const VERSION: &'static str = "v1";
    const URL_PATH_SEGMENT: &'static str = "widgets";
    type Scope = k8s_openapi::NamespaceResourceScope;
}

#[tokio::test]
async fn the_status_subresource_speaks_protobuf_too() {
    let (client, seen) = serving(config(), |_| (200, PROTOBUF, sample("get-pod.bin")));
    let pods: Api<Pod> = Clientset::from_client(client).namespaced("default");
    let twin: Pod = serde_json::from_slice(&sample("get-pod.json")).unwrap();
    assert_eq!(pods.get_status("x").await.unwrap(), twin);
    let updated = pods
        .update_status(&twin, &Default::default())
        .await
        .unwrap();
    assert_eq!(updated, twin);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        (seen[0].method.as_str(), seen[0].accept.as_str()),
        ("GET", PROTOBUF_OR_JSON)
    );
    assert_eq!(
        (seen[1].method.as_str(), seen[1].content_type.as_str()),
        ("PUT", PROTOBUF)
    );
    let sent: Pod = kubecto_protobuf::envelope::decode(&seen[1].body, &Default::default()).unwrap();
    assert_eq!(sent, twin);
}
