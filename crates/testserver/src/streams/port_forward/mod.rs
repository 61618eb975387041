//! `pods/{name}/portforward` (GET or POST, `ports` repeated): the checks kube-apiserver
//! makes before it proxies the request to the kubelet, the kubelet's own, then one of the
//! three ways a client forwards ports, all ending in [`forward`], which plays the part of
//! the container runtime (containerd) dialling the port inside the pod:
//!
//! - [`websocket`]: a plain WebSocket with the kubelet's `v4.channel.k8s.io` channels (what
//!   kube-rs and kubecto speak), or one that tunnels SPDY (`SPDY/3.1+portforward.k8s.io`,
//!   kubectl ≥ 1.31's first try, which kube-apiserver's tunnelling handler serves);
//! - [`spdy`]: the SPDY/3.1 upgrade with `portforward.k8s.io` streams (kubectl's fallback).
//!
//! Where a port leads is the test's to say ([`Targets`]); without it a port is closed, as
//! in a pod where nothing listens, and the client reads containerd's `connection refused`.

mod spdy;
mod websocket;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Streams, Target};
use crate::objects;
use crate::shared::body::ResBody;
use crate::shared::response::{self, error};
use crate::shared::state::State;
use crate::shared::status::ApiError;

/// Where a forwarded port leads: `(namespace, pod, port)` to an address to dial, `None`
/// for a port nothing listens on.
#[derive(Clone)]
pub(crate) struct Targets(pub Arc<Route>);

/// The test's function behind [`Targets`].
pub(crate) type Route = dyn Fn(&str, &str, u16) -> Option<SocketAddr> + Send + Sync;

impl std::fmt::Debug for Targets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Targets(..)")
    }
}

/// The SPDY protocol the kubelet serves port-forward with.
const PORT_FORWARD_V1: &str = "portforward.k8s.io";
/// The WebSocket subprotocol that tunnels it.
const TUNNEL: &str = "SPDY/3.1+portforward.k8s.io";
/// How long containerd lets the other direction finish once one has ended.
const LINGER: Duration = Duration::from_secs(1);

/// The pod being forwarded to, and where its ports lead.
pub(crate) struct Pod {
    namespace: String,
    name: String,
    /// Stands for the pod sandbox's id in error messages: containerd names the sandbox,
    /// and the kubelet's CRI streaming server names it as the pod.
    sandbox: String,
    targets: Option<Targets>,
}

/// Serve a port-forward request for `target`.
pub(crate) fn serve(
    state: &Arc<State>,
    streams: &Streams,
    target: &Target,
    mut req: Request<hyper::body::Incoming>,
) -> Response<ResBody> {
    let pod = match check(state, streams.port_forward.clone(), target, &req) {
        Ok(pod) => Arc::new(pod),
        Err(Refusal::Status(e)) => return error(&e),
        Err(Refusal::Text(code, message)) => return response::text(code, message),
    };
    // A server that stops ends its sessions, as the accept loop cannot.
    let cut = streams.cut_signal();
    if super::websocket::is_websocket(&req) {
        if websocket::offers_tunnel(req.headers()) {
            return websocket::accept_tunnel(&mut req, pod, cut);
        }
        let ports = match kubelet_ports(req.uri().query().unwrap_or_default()) {
            Ok(ports) => ports,
            Err(message) => return response::text(StatusCode::BAD_REQUEST, message),
        };
        return websocket::accept_channels(&mut req, pod, ports, cut);
    }
    if super::spdy::upgrade::is_spdy_upgrade(req.headers()) {
        return spdy::accept(&mut req, pod, cut);
    }
    error(&ApiError::bad_request("Upgrade request required"))
}

/// Why a request is answered without an upgrade: kube-apiserver's Status, or the kubelet's
/// text passed through.
enum Refusal {
    Status(ApiError),
    Text(StatusCode, String),
}

/// kube-apiserver's checks (the pod, its node, the `ports` parameter) and the kubelet's
/// (a pod whose containers run).
fn check(
    state: &Arc<State>,
    targets: Option<Targets>,
    target: &Target,
    req: &Request<hyper::body::Incoming>,
) -> Result<Pod, Refusal> {
    if req.method() != Method::GET && req.method() != Method::POST {
        return Err(Refusal::Status(ApiError::method_not_allowed(
            req.method().as_str(),
        )));
    }
    // kube-apiserver's conversion of `ports` to []int32: values may be comma-joined, each
    // an unsigned 16-bit number (`Convert_Slice_string_To_Slice_int32`).
    for value in query_values(req.uri().query().unwrap_or_default(), "ports") {
        for port in value.split(',') {
            if let Err(e) = port.parse::<u16>() {
                return Err(Refusal::Status(ApiError::bad_request(format!(
                    "cannot convert to []int32: strconv.ParseUint: parsing {port:?}: {}",
                    go_parse_error(&e)
                ))));
            }
        }
    }
    let info = state.resource("", "v1", "pods").ok_or_else(|| {
        Refusal::Status(ApiError::internal("the pods resource is not registered"))
    })?;
    let obj = objects::get(state, &info, Some(&target.namespace), &target.pod)
        .map_err(Refusal::Status)?;
    let pod: Value = serde_json::from_slice(&obj.body).map_err(|e| {
        Refusal::Status(ApiError::internal(format!("a stored pod is not JSON: {e}")))
    })?;
    if pod["spec"]["nodeName"].as_str().is_none_or(str::is_empty) {
        return Err(Refusal::Status(ApiError::bad_request(format!(
            "pod {} does not have a host assigned",
            target.pod
        ))));
    }
    // The kubelet looks the pod up among the ones whose sandbox runs: a pod that has not
    // started or has finished is not there, and the CRI streaming error is a 500.
    if pod["status"]["phase"].as_str() != Some("Running") {
        return Err(Refusal::Text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("pod not found (\"{}_{}\")", target.pod, target.namespace),
        ));
    }
    let sandbox = Sha256::digest(obj.uid.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Pod {
        namespace: target.namespace.clone(),
        name: target.pod.clone(),
        sandbox,
        targets,
    })
}

/// The ports of a WebSocket request as the kubelet reads them (`NewV4Options`): kube-apiserver
/// passes `ports` on as `port`, comma-joined; each must be 1-65535.
fn kubelet_ports(query: &str) -> Result<Vec<u16>, String> {
    let values = query_values(query, "ports");
    if values.is_empty() {
        return Err("query parameter \"port\" is required".to_owned());
    }
    let joined = values.join(",");
    let mut ports = Vec::new();
    for p in joined.split(',') {
        // Two channels a port, numbered by one byte.
        if ports.len() == 128 {
            return Err(format!(
                "at most 128 ports can be forwarded at once, not {joined:?}"
            ));
        }
        match p.parse::<u16>() {
            Ok(0) => return Err(format!("port \"{joined}\" must be > 0")),
            Ok(port) => ports.push(port),
            Err(e) => {
                return Err(format!(
                    "unable to parse \"{joined}\" as a port: strconv.ParseUint: parsing {p:?}: {}",
                    go_parse_error(&e)
                ));
            }
        }
    }
    Ok(ports)
}

/// Go's `strconv` wording of a failed integer parse.
fn go_parse_error(e: &std::num::ParseIntError) -> &'static str {
    match e.kind() {
        std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
            "value out of range"
        }
        _ => "invalid syntax",
    }
}

/// Every (decoded) value of `name` in a query string.
fn query_values(query: &str, name: &str) -> Vec<String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
        .filter(|(k, _)| *k == name)
        .map(|(_, v)| {
            percent_encoding::percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect()
}

/// What the client sends on a forwarded connection, as the session it rides on carries it.
pub(crate) trait FromClient: Send {
    /// The next bytes; `None` once the client has finished sending.
    fn recv(&mut self) -> impl Future<Output = Option<Bytes>> + Send;
}

/// The way back to the client on a forwarded connection.
pub(crate) trait ToClient: Send + Sync {
    /// Send bytes; `false` once the client is gone.
    fn send(&self, data: Bytes) -> impl Future<Output = bool> + Send;
}

impl Pod {
    /// Connect to `port` in the pod, or the message the kubelet sends on the error stream.
    async fn dial(&self, port: u16) -> Result<TcpStream, String> {
        let target = self
            .targets
            .as_ref()
            .and_then(|t| (t.0)(&self.namespace, &self.name, port));
        let failed = |v4: String, v6: String| {
            format!(
                "error forwarding port {port} to pod {sandbox}, uid : failed to connect to \
                 localhost:{port} inside namespace \"{sandbox}\", IPv4: {v4} IPv6 {v6} ",
                sandbox = self.sandbox
            )
        };
        let refused =
            |net: &str, addr: String| format!("dial {net} {addr}: connect: connection refused");
        match target {
            Some(addr) => TcpStream::connect(addr).await.map_err(|e| {
                let reason = match e.kind() {
                    std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
                    _ => e.to_string(),
                };
                let net = if addr.is_ipv4() { "tcp4" } else { "tcp6" };
                failed(
                    format!("dial {net} {addr}: connect: {reason}"),
                    refused("tcp6", format!("[::1]:{port}")),
                )
            }),
            None => Err(failed(
                refused("tcp4", format!("127.0.0.1:{port}")),
                refused("tcp6", format!("[::1]:{port}")),
            )),
        }
    }
}

/// Pipe bytes between `conn` and the client's data stream, both ways at once, until one
/// direction ends; then give the other [`LINGER`] to end too, as containerd's port
/// forwarder does. The target sees the client's half-close as the end of what it reads.
async fn forward(conn: TcpStream, from_client: &mut impl FromClient, to_client: &impl ToClient) {
    let (mut from_pod, mut to_pod) = conn.into_split();
    let up = async {
        while let Some(bytes) = from_client.recv().await {
            if to_pod.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = to_pod.shutdown().await;
    };
    let down = async {
        let mut buf = vec![0u8; super::spdy::session::CHUNK];
        loop {
            match from_pod.read(&mut buf).await {
                Ok(n) if n > 0 => {
                    if !to_client.send(Bytes::copy_from_slice(&buf[..n])).await {
                        break;
                    }
                }
                _ => break,
            }
        }
    };
    tokio::pin!(up, down);
    tokio::select! {
        () = &mut up => { let _ = tokio::time::timeout(LINGER, down).await; }
        () = &mut down => { let _ = tokio::time::timeout(LINGER, up).await; }
    }
}
