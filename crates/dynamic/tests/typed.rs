//! Unstructured objects convert to and from typed ones (k8s-openapi here).

mod common;

use k8s_openapi::api::core::v1::ConfigMap;
use kubecto_dynamic::{CreateOptions, GetOptions, Unstructured};
use kubecto_testserver::TestServer;

#[tokio::test]
async fn typed_objects_round_trip_through_the_server() {
    let server = TestServer::start().await.unwrap();
    let cms = common::client(&server)
        .resource(common::configmaps())
        .namespace("default");
    let typed = ConfigMap {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: Some("typed".into()),
            ..Default::default()
        },
        data: Some([("k".to_owned(), "v".to_owned())].into()),
        ..Default::default()
    };
    let mut u = Unstructured::from_typed(&typed).unwrap();
    u.set_api_version("v1");
    u.set_kind("ConfigMap");
    cms.create(&u, &CreateOptions::new()).await.unwrap();

    let back: ConfigMap = cms
        .get("typed", &GetOptions::new())
        .await
        .unwrap()
        .into_typed()
        .unwrap();
    assert_eq!(back.data.unwrap()["k"], "v");
    assert_eq!(back.metadata.namespace.as_deref(), Some("default"));
}
