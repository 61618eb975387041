//! The dynamic_crud example against the test server: every step of the ConfigMap and the
//! custom resource walk-through, and the CRD it created is gone afterwards.

#[allow(dead_code)]
#[path = "../dynamic_crud.rs"]
mod dynamic_crud;

use kubecto_testserver::TestServer;

#[tokio::test]
async fn walks_through_a_configmap_and_a_custom_resource() {
    let server = TestServer::start().await.unwrap();
    let dir = std::env::temp_dir().join(format!("kubecto-dynamic-crud-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();

    let mut out = Vec::new();
    let result = dynamic_crud::run(&kubeconfig, &mut out).await;
    let text = String::from_utf8(out).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
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
