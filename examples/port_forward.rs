//! port_forward: forward local ports to a pod's ports, as `kubectl port-forward` does.
//!
//! ```text
//! cargo run --example port_forward -- [--kubeconfig PATH] [-n NAMESPACE] [--address ADDR] POD [LOCAL:]REMOTE...
//! cargo run --example port_forward -- web-0 8080:80 :443
//! ```
//!
//! Each `[LOCAL:]REMOTE` listens on `ADDR:LOCAL` (default 127.0.0.1; `LOCAL` empty or 0:
//! a free port, as `:443` above) and forwards every connection it accepts to the pod's
//! port `REMOTE`, each over a WebSocket port-forward of its own. It prints one
//! `Forwarding from ADDR:LOCAL -> REMOTE` line per port, then runs until Ctrl-C. A failure
//! prints what went wrong and exits with 1, a usage error with 2.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use kubecto_clientset::{Clientset, LocalForwarder};
use kubecto_config::Overrides;

pub(crate) type Failure = Box<dyn std::error::Error + Send + Sync>;

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Options {
    pub(crate) kubeconfig: Option<PathBuf>,
    pub(crate) namespace: Option<String>,
    pub(crate) address: IpAddr,
    pub(crate) pod: String,
    /// (local, remote); local 0 lets the system choose.
    pub(crate) ports: Vec<(u16, u16)>,
}

const USAGE: &str = "usage: port_forward [--kubeconfig PATH] [-n NAMESPACE] [--address ADDR] POD [LOCAL:]REMOTE...

  --kubeconfig PATH   the kubeconfig to use (default: as kubectl: $KUBECONFIG, ~/.kube/config, in-cluster)
  -n NAMESPACE        the pod's namespace (default: the context's)
  --address ADDR      the local address to listen on (default 127.0.0.1)
  [LOCAL:]REMOTE      forward local port LOCAL (REMOTE when not given; :REMOTE or 0: any free port)";

/// Parses the arguments after the program name.
pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    let mut opts = Options {
        kubeconfig: None,
        namespace: None,
        address: IpAddr::V4(Ipv4Addr::LOCALHOST),
        pod: String::new(),
        ports: Vec::new(),
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| {
            args.next()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match arg.as_str() {
            "--kubeconfig" => opts.kubeconfig = Some(PathBuf::from(value("--kubeconfig")?)),
            "-n" | "--namespace" => opts.namespace = Some(value("-n")?),
            "--address" => {
                let a = value("--address")?;
                opts.address = a
                    .parse()
                    .map_err(|_| format!("--address {a:?} is not an IP address"))?;
            }
            "-h" | "--help" => return Err(String::new()),
            flag if flag.starts_with('-') => return Err(format!("unknown flag {flag:?}")),
            pod if opts.pod.is_empty() => opts.pod = pod.to_owned(),
            spec => opts.ports.push(port_spec(spec)?),
        }
    }
    if opts.pod.is_empty() {
        return Err("which pod? POD is missing".to_owned());
    }
    if opts.ports.is_empty() {
        return Err("which ports? give at least one [LOCAL:]REMOTE".to_owned());
    }
    Ok(opts)
}

/// `80`, `8080:80`, `:80` (any local port).
fn port_spec(spec: &str) -> Result<(u16, u16), String> {
    let port = |s: &str, zero_ok: bool| match s.parse::<u16>() {
        Ok(0) if !zero_ok => Err(format!("{spec:?}: the pod's port cannot be 0")),
        Ok(p) => Ok(p),
        Err(_) => Err(format!("{spec:?} is not [LOCAL:]REMOTE with ports 1-65535")),
    };
    match spec.split_once(':') {
        Some(("", remote)) => Ok((0, port(remote, false)?)),
        Some((local, remote)) => Ok((port(local, true)?, port(remote, false)?)),
        None => {
            let p = port(spec, false)?;
            Ok((p, p))
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let opts = match parse(std::env::args().skip(1)) {
        Ok(opts) => opts,
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("port_forward: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let forwarders = match start(&opts).await {
        Ok(f) => f,
        Err(failure) => {
            eprintln!("port_forward: {}", kubecto_examples::describe(&*failure));
            return ExitCode::FAILURE;
        }
    };
    for (fwd, (_, remote)) in forwarders.iter().zip(&opts.ports) {
        println!("Forwarding from {} -> {remote}", fwd.local_addr());
    }
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::SUCCESS
}

/// Starts one listener per port; they forward until dropped.
pub(crate) async fn start(opts: &Options) -> Result<Vec<LocalForwarder>, Failure> {
    let mut overrides = Overrides::default();
    overrides.namespace = opts.namespace.clone();
    let context = kubecto_config::from_flags(opts.kubeconfig.as_deref(), &overrides).await?;
    let clientset = Clientset::new(context.config)?;
    let pods = clientset.core_v1().pods(&context.namespace);
    // A pod that is not there is an error now, not at the first connection.
    pods.get(&opts.pod).await?;
    let mut forwarders = Vec::with_capacity(opts.ports.len());
    for &(local, remote) in &opts.ports {
        let addr = SocketAddr::new(opts.address, local);
        forwarders.push(pods.forward_local(&opts.pod, addr, remote).await?);
    }
    Ok(forwarders)
}
