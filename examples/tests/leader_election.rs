//! The leader_election example against the test server, two copies at once: one holds
//! the Lease; when it stops, it releases the Lease and the other takes it.

#[allow(dead_code)]
#[path = "../leader_election.rs"]
mod leader_election;

mod common;

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kubecto_clientset::Api;
use kubecto_rest_core::{Config, RestClient};
use kubecto_runtime::Shutdown;
use kubecto_testserver::TestServer;

#[tokio::test]
async fn one_copy_leads_and_the_other_takes_over_when_it_stops() {
    let server = TestServer::start().await.expect("test server");
    let dir = common::TempDir::new("leader-election");
    let kubeconfig = dir.0.join("config");
    server.write_kubeconfig(&kubeconfig).unwrap();
    let timings = (
        Duration::from_millis(1500),
        Duration::from_millis(1000),
        Duration::from_millis(200),
    );
    let spawn = |identity: &'static str, stop: Shutdown| {
        let kubeconfig = kubeconfig.clone();
        tokio::spawn(async move {
            leader_election::run(Some(&kubeconfig), identity, timings, stop).await
        })
    };
    let leases = Api::<Lease>::namespaced(
        RestClient::new(Config::new(server.url())).unwrap(),
        "default",
    );
    let holder = async || {
        leases
            .get_opt(leader_election::LEASE_NAME)
            .await
            .ok()
            .flatten()
            .and_then(|l| l.spec?.holder_identity)
    };
    let (stop_a, stop_b) = (Shutdown::new(), Shutdown::new());
    let a = spawn("copy-a", stop_a.clone());
    for _ in 0..100 {
        if holder().await.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let b = spawn("copy-b", stop_b.clone());
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(holder().await.as_deref(), Some("copy-a"));
    stop_a.trigger();
    a.await.unwrap().expect("copy a ends cleanly");
    let mut taken = false;
    for _ in 0..100 {
        if holder().await.as_deref() == Some("copy-b") {
            taken = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(taken, "copy b took the released lease");
    stop_b.trigger();
    b.await.unwrap().expect("copy b ends cleanly");
    server.shutdown().await;
}
