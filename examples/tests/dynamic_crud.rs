//! The dynamic_crud example against the test server: every step of the ConfigMap and the
//! custom resource walk-through, and the CRD it created is gone afterwards.

#[allow(dead_code)]
#[path = "../dynamic_crud.rs"]
mod dynamic_crud;

mod common;

use kubecto_testserver::TestServer;

#[tokio::test]
async fn walks_through_a_configmap_and_a_custom_resource() {
    let server = TestServer::start().await.unwrap();
    let dir = common::TempDir::new("dynamic-crud");
    let kubeconfig = dir.0.join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();

    let mut out = Vec::new();
    let result = dynamic_crud::run(Some(&kubeconfig), &mut out).await;
    let text = String::from_utf8(out).unwrap();
    if let Err(e) = result {
        panic!("{}\n{text}", kubecto_examples::describe(&e));
    }
    let steps: Vec<&str> = text
        .lines()
        .map(|l| l.split(' ').next().unwrap_or_default())
        .collect();
    assert_eq!(
        steps,
        [
            "created", "got", "patched", "listed", "deleted", // configmap
            "created", "the", // CRD, mapper
            "created", "got", "patched", "listed", "deleted", // widget
            "deleted", // CRD
        ],
        "{text}"
    );
    assert!(
        text.contains("patched configmaps default/kubecto-dynamic-demo: {\"mode\":\"slow\"}"),
        "{text}"
    );
    assert!(
        text.contains("patched widgets default/kubecto-dynamic-demo: {\"size\":5}"),
        "{text}"
    );
    assert_eq!(
        server.request_count(
            "GET",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.examples.kubecto.dev"
        ),
        2,
        "looked up once, then seen Established"
    );
    // The mapper: two aggregated requests, then one refresh (two more) for the new CRD.
    assert_eq!(server.request_count("GET", "/apis"), 2);
}
