//! Leader election: run two copies and only one leads; stop it (Ctrl-C) and the other
//! takes over at once, since the leader releases its Lease; kill it (`kill -9`) and the
//! other takes over when the lease runs out (15 s).
//!
//! ```text
//! cargo run --example leader_election -- --kubeconfig ~/.kube/config
//! ```
//!
//! Each copy contends for the `coordination.k8s.io/v1` Lease `kubecto-leader-demo` in the
//! kubeconfig's namespace as `<host>-<pid>`, with client-go's usual timings (lease 15 s,
//! renew deadline 10 s, retry 2 s). While leading it prints a line every second.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use kubecto_config::Overrides;
use kubecto_rest_core::RestClient;
use kubecto_runtime::Shutdown;
use kubecto_runtime::leader::{LeaderElectionConfig, LeaderElector};

pub(crate) type Failure = Box<dyn std::error::Error + Send + Sync>;

/// The Lease contended for.
pub(crate) const LEASE_NAME: &str = "kubecto-leader-demo";

#[tokio::main]
async fn main() -> ExitCode {
    let kubeconfig = match kubecto_examples::kubeconfig_or_exit("leader_election") {
        Ok(path) => path,
        Err(code) => return code,
    };
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".to_owned());
    let identity = format!("{host}-{}", std::process::id());
    let timings = (
        Duration::from_secs(15),
        Duration::from_secs(10),
        Duration::from_secs(2),
    );
    match run(
        kubeconfig.as_deref(),
        &identity,
        timings,
        Shutdown::on_signals(),
    )
    .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("leader_election: {}", kubecto_examples::describe(&*failure));
            ExitCode::FAILURE
        }
    }
}

/// Contends as `identity` until `stop` (or until leadership is lost).
pub(crate) async fn run(
    kubeconfig: Option<&Path>,
    identity: &str,
    (lease, renew, retry): (Duration, Duration, Duration),
    stop: Shutdown,
) -> Result<(), Failure> {
    let context = kubecto_config::from_flags(kubeconfig, &Overrides::default()).await?;
    let client = RestClient::new(context.config)?;
    let config = LeaderElectionConfig::new(&context.namespace, LEASE_NAME, identity)
        .timings(lease, renew, retry);
    let elector = LeaderElector::new(client, config)?;
    println!("{identity}: contending for lease {LEASE_NAME}");
    let me = identity.to_owned();
    elector
        .run(
            stop,
            move |lost| async move {
                println!("{me}: started leading");
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                loop {
                    tokio::select! {
                        () = lost.wait() => return,
                        _ = tick.tick() => println!("{me}: leading"),
                    }
                }
            },
            || println!("{identity}: stopped leading"),
        )
        .await;
    Ok(())
}
