//! The facade's re-exports reach a real server: the default features give config,
//! rest-core and the clientset under one dependency.

use kubecto::k8s_openapi::api::core::v1::ConfigMap;
use kubecto::rest::{CreateOptions, ListOptions};
use kubecto::{Clientset, Config};
use kubecto_testserver::TestServer;

#[tokio::test]
async fn clientset_through_the_facade() {
    let server = TestServer::start().await.expect("test server");
    let clientset = Clientset::new(Config::new(server.url())).expect("clientset");
    let cms = clientset.core_v1().config_maps("default");
    let mut cm = ConfigMap::default();
    cm.metadata.name = Some("facade".to_owned());
    cms.create(&cm, &CreateOptions::new())
        .await
        .expect("create");
    let list = cms.list(&ListOptions::new()).await.expect("list");
    assert!(
        list.items
            .iter()
            .any(|c| c.metadata.name.as_deref() == Some("facade"))
    );
    server.shutdown().await;
}

#[test]
fn kubeconfig_through_the_facade() {
    let yaml = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'http://127.0.0.1:1'}\ncontexts:\n- name: x\n  context: {cluster: c, user: u, namespace: team}\nusers:\n- name: u\n  user: {}\ncurrent-context: x\n";
    let kubeconfig = kubecto::config::Kubeconfig::from_yaml(yaml, None).expect("kubeconfig");
    let selected = kubeconfig
        .select(&kubecto::config::Overrides::default())
        .expect("context");
    assert_eq!(selected.namespace(), "team");
}
