//! The seed's program: list the pods of kube-system through a RESTClient.
//!
//! ```text
//! cargo run --example list_pods                           # as kubectl: $KUBECONFIG, else
//!                                                         # ~/.kube/config, else in-cluster
//! cargo run --example list_pods -- --kubeconfig PATH      # that file
//! ```
//!
//! Step by step as client-go's RESTClient example: load the kubeconfig
//! (`clientcmd.BuildConfigFromFlags`), point the config at the core group
//! (`APIPath = "api"`, `GroupVersion = v1`), build a client (`rest.RESTClientFor`),
//! GET `/api/v1/namespaces/kube-system/pods?limit=100`, decode it into a typed
//! `PodList`, and print namespace, phase and name of every pod. It works the same
//! against a real cluster (https with a token or a client certificate) and against
//! the embedded test server (`cargo xtask demo`). Failures print what went wrong and
//! exit with status 1.

use std::fmt;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use k8s_openapi::api::core::v1::Pod;
use kubecto_config::Overrides;
use kubecto_rest_core::{GroupVersion, ListOptions, RestClient};

/// The seed's `corev1.PodList` (k8s-openapi spells every list `List<T>`).
type PodList = k8s_openapi::List<Pod>;

#[tokio::main]
async fn main() -> ExitCode {
    // --kubeconfig, defaulting to ~/.kube/config as the seed's flag does.
    let kubeconfig = match kubecto_examples::kubeconfig_or_exit("list_pods") {
        Ok(path) => path,
        Err(code) => return code,
    };

    let mut out = std::io::stdout().lock();
    match run(kubeconfig.as_deref(), &mut out).await {
        Ok(()) => ExitCode::SUCCESS,
        // `list_pods | head`: the reader left; not an error.
        Err(Failure::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("list_pods: {}", kubecto_examples::describe(&failure));
            ExitCode::FAILURE
        }
    }
}

/// List the pods of kube-system with the kubeconfig at `kubeconfig`, writing the
/// seed's table to `out`.
pub(crate) async fn run(kubeconfig: Option<&Path>, out: &mut dyn Write) -> Result<(), Failure> {
    // Load the configuration as kubectl does (clientcmd.BuildConfigFromFlags("", path)):
    // --kubeconfig, else $KUBECONFIG, else ~/.kube/config, else the pod's service account.
    let config = kubecto_config::from_flags(kubeconfig, &Overrides::default())
        .await?
        .config
        // Path /api/v1/namespaces/{namespace}/pods: the core group has APIPath "api"
        // and an empty group name.
        .with_api_path("api")
        .with_group_version(GroupVersion::core_v1());

    // Build the RESTClient from the config (rest.RESTClientFor).
    let client = RestClient::for_config(&config).map_err(Failure::Client)?;

    // GET the pods of kube-system, at most 100, decoded into a typed list.
    let namespace = "kube-system";
    let result: PodList = client
        .get()
        .namespace(namespace)
        .resource("pods")
        .params(&ListOptions::new().limit(100))
        .send()
        .await
        .map_err(Failure::List)?
        .into()
        .await
        .map_err(Failure::List)?;

    // fmt.Printf("Namespace\t Status\t\t Name\n")
    writeln!(out, "Namespace\t Status\t\t Name").map_err(Failure::Output)?;
    // fmt.Printf("%v\t %v\t %v\n", d.Namespace, d.Status.Phase, d.Name)
    for d in &result.items {
        let namespace = d.metadata.namespace.as_deref().unwrap_or_default();
        let phase = d
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .unwrap_or_default();
        let name = d.metadata.name.as_deref().unwrap_or_default();
        writeln!(out, "{namespace}\t {phase}\t {name}").map_err(Failure::Output)?;
    }
    out.flush().map_err(Failure::Output)
}

/// Why listing failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The kubeconfig could not be loaded (its message names the file and field).
    Kubeconfig(kubecto_config::Error),
    /// The REST client could not be built (TLS material, proxy...).
    Client(kubecto_rest_core::Error),
    /// The request or its decoding failed.
    List(kubecto_rest_core::Error),
    /// Writing the table failed.
    Output(std::io::Error),
}

impl From<kubecto_config::Error> for Failure {
    fn from(e: kubecto_config::Error) -> Self {
        Failure::Kubeconfig(e)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Kubeconfig(e) => write!(f, "{e}"),
            Failure::Client(_) => f.write_str("cannot build a REST client from the kubeconfig"),
            Failure::List(_) => f.write_str("cannot list the pods of kube-system"),
            Failure::Output(_) => f.write_str("cannot write the table"),
        }
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Failure::Kubeconfig(e) => std::error::Error::source(e),
            Failure::Client(e) | Failure::List(e) => Some(e),
            Failure::Output(e) => Some(e),
        }
    }
}
