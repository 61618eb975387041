//! Where a proxy request goes, decided as kube-apiserver's `ResourceLocation`s decide it,
//! then routed through the test's function: the address kube-apiserver would dial (the
//! pod's IP and port) names the backend in messages, and the test's `(namespace, pod,
//! port)` route says where that leads here.
//!
//! - pods (`pod.ResourceLocation`): the pod's first IP, which must be a global unicast
//!   address; the port as given, else the first container port declared, else the
//!   scheme's (80 or 443). A port given by name is looked up as Go's dialer looks it up,
//!   among well-known service names, not among the pod's container ports.
//! - services (`REST.ResourceLocation`): a port number becomes the name of the service port
//!   that has it; the endpoints (computed from the selector as the endpoints controller
//!   would write them now, or the stored Endpoints of a service without one) give the first
//!   ready address with that port name, which must be a pod that has that IP.
//! - nodes (`node.ResourceLocation`): the node must exist; its kubelet port
//!   (`status.daemonEndpoints.kubeletEndpoint.Port`, else 10250) unless another port is
//!   asked; routed as `("", node, port)`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use serde_json::Value;

use super::{Kind, Target};
use crate::logic::endpoints::{selected_pods, selector, subsets};
use crate::objects;
use crate::shared::state::State;
use crate::shared::status::ApiError;
use crate::streams::port_forward::Targets;

/// The kubelet's port when a node does not say (`ports.KubeletPort`).
const KUBELET_PORT: u16 = 10250;

/// Where a proxy request goes.
#[derive(Debug)]
pub(crate) struct Location {
    /// `host:port` as kube-apiserver would dial it, for messages and `Location` rewriting.
    pub host: String,
    /// What dialing it does here.
    pub dial: Dial,
}

/// The outcome of dialing a backend.
#[derive(Debug)]
pub(crate) enum Dial {
    /// Connect here.
    To(SocketAddr),
    /// Nothing listens: `connection refused`.
    Refused,
    /// Go's dialer fails before connecting, with this text (`dial tcp: lookup ...`).
    Fails(String),
}

/// Find where `target` goes, or kube-apiserver's answer when it goes nowhere.
pub(crate) fn resolve(
    state: &Arc<State>,
    targets: Option<&Targets>,
    target: &Target,
) -> Result<Location, ApiError> {
    match target.kind {
        Kind::Pods => pod(state, targets, target),
        Kind::Services => service(state, targets, target),
        Kind::Nodes => node(state, targets, target),
    }
}

/// apimachinery's `SplitSchemeNamePort`: `name`, `name:port` or `scheme:name:port`, the
/// scheme `http`, `https` or empty, the name not empty.
fn split_scheme_name_port(id: &str) -> Option<(&str, &str, &str)> {
    let parts: Vec<&str> = id.split(':').collect();
    let (scheme, name, port) = match parts.as_slice() {
        [name] => ("", *name, ""),
        [name, port] => ("", *name, *port),
        [scheme, name, port] => (*scheme, *name, *port),
        _ => return None,
    };
    (!name.is_empty() && matches!(scheme, "" | "http" | "https")).then_some((scheme, name, port))
}

fn pod(
    state: &Arc<State>,
    targets: Option<&Targets>,
    target: &Target,
) -> Result<Location, ApiError> {
    let (scheme, name, port) = split_scheme_name_port(&target.id)
        .ok_or_else(|| ApiError::bad_request(format!("invalid pod request {:?}", target.id)))?;
    let namespace = target.namespace.as_deref().unwrap_or_default();
    let pod = get(state, "pods", Some(namespace), name)?;
    let mut port = port.to_owned();
    if port.is_empty()
        && let Some(first) = pod["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|c| c["ports"].as_array().and_then(|p| p.first()))
    {
        port = first["containerPort"].as_i64().unwrap_or(0).to_string();
    }
    let ip = pod_ip(&pod)
        .filter(is_global_unicast)
        .ok_or_else(|| ApiError::bad_request("address not allowed"))?;
    Ok(location(targets, scheme, namespace, name, ip, &port))
}

fn service(
    state: &Arc<State>,
    targets: Option<&Targets>,
    target: &Target,
) -> Result<Location, ApiError> {
    let id = target.id.as_str();
    let (scheme, name, port) = split_scheme_name_port(id)
        .ok_or_else(|| ApiError::bad_request(format!("invalid service request {id:?}")))?;
    let namespace = target.namespace.as_deref().unwrap_or_default();
    let svc = get(state, "services", Some(namespace), name);
    let mut port_name = port.to_owned();
    if let Ok(number) = port.parse::<i64>() {
        let svc = svc.as_ref().map_err(Clone::clone)?;
        let found = svc["spec"]["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["port"].as_i64() == Some(number))
            .ok_or_else(|| {
                unavailable(format!(
                    "no service port {number} found for service {name:?}"
                ))
            })?;
        port_name = found["name"].as_str().unwrap_or_default().to_owned();
    }
    // The endpoints: what the endpoints controller makes of the selector, or the user's
    // Endpoints of a service without one. No service means no Endpoints either.
    let subsets = match &svc {
        Ok(svc) if selector(svc).is_some() => {
            let pods = selector(svc)
                .map(|s| selected_pods(state, namespace, s))
                .unwrap_or_default();
            subsets(svc, &pods)
        }
        Ok(_) => get(state, "endpoints", Some(namespace), name)?["subsets"].clone(),
        Err(_) => return Err(ApiError::not_found("endpoints", "", name)),
    };
    let subsets = subsets.as_array().cloned().unwrap_or_default();
    if subsets.is_empty() {
        return Err(unavailable(format!(
            "no endpoints available for service {name:?}"
        )));
    }
    for subset in &subsets {
        let Some(endpoint_port) = subset["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"].as_str().unwrap_or_default() == port_name)
            .and_then(|p| p["port"].as_i64())
        else {
            continue;
        };
        for address in subset["addresses"].as_array().into_iter().flatten() {
            // `isValidAddress`: a pod of this namespace that has the address's IP.
            let target_ref = &address["targetRef"];
            let (Some(ip), Some(pod_name)) = (address["ip"].as_str(), target_ref["name"].as_str())
            else {
                continue;
            };
            if target_ref["namespace"].as_str() != Some(namespace) {
                continue;
            }
            let Ok(pod) = get(state, "pods", Some(namespace), pod_name) else {
                continue;
            };
            if !pod_ips(&pod).any(|p| p == ip) {
                continue;
            }
            let Ok(ip) = ip.parse::<IpAddr>() else {
                continue;
            };
            return Ok(location(
                targets,
                scheme,
                namespace,
                pod_name,
                ip,
                &endpoint_port.to_string(),
            ));
        }
    }
    Err(unavailable(format!(
        "no endpoints available for service {id:?}"
    )))
}

fn node(
    state: &Arc<State>,
    targets: Option<&Targets>,
    target: &Target,
) -> Result<Location, ApiError> {
    let id = target.id.as_str();
    let (scheme, name, port) = split_scheme_name_port(id)
        .ok_or_else(|| ApiError::bad_request(format!("invalid node request {id:?}")))?;
    let node = get(state, "nodes", None, name)?;
    let host = preferred_address(&node).ok_or_else(|| {
        let known = node["status"]["addresses"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|a| {
                        format!(
                            "{{{} {}}}",
                            a["type"].as_str().unwrap_or_default(),
                            a["address"].as_str().unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        unknown(format!(
            "no preferred addresses found; known addresses: [{known}]"
        ))
    })?;
    if let Ok(ip) = host.parse::<IpAddr>()
        && !is_global_unicast(&ip)
    {
        return Err(ApiError::bad_request("address not allowed"));
    }
    let kubelet_port = node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"]
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p > 0)
        .unwrap_or(KUBELET_PORT)
        .to_string();
    let (scheme, port) = if port.is_empty() || port == kubelet_port {
        ("https", kubelet_port.as_str())
    } else {
        (scheme, port)
    };
    let scheme = if scheme.is_empty() { "http" } else { scheme };
    let (host_port, number) = dial_port(scheme, &host, port);
    Ok(Location {
        host: host_port,
        dial: route(targets, "", name, number),
    })
}

/// The location of `pod`'s `port` at `ip`, routed through the test's function. The scheme
/// only chooses the default port: the test server speaks plain HTTP to every backend.
fn location(
    targets: Option<&Targets>,
    scheme: &str,
    namespace: &str,
    pod: &str,
    ip: IpAddr,
    port: &str,
) -> Location {
    let scheme = if scheme.is_empty() { "http" } else { scheme };
    let (host, number) = dial_port(scheme, &ip.to_string(), port);
    Location {
        host,
        dial: route(targets, namespace, pod, number),
    }
}

/// The `host:port` Go's transport dials for `port` (the scheme's when empty), and the
/// port's number, or the dialer's error for a port it cannot read.
fn dial_port(scheme: &str, host: &str, port: &str) -> (String, Result<u16, String>) {
    let host_part = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    let port = if port.is_empty() {
        if scheme == "https" { "443" } else { "80" }
    } else {
        port
    };
    let number = if port.bytes().all(|b| b.is_ascii_digit()) {
        port.parse::<u16>()
            .map_err(|_| format!("dial tcp: address {port}: invalid port"))
    } else {
        go_service_port(port).ok_or_else(|| format!("dial tcp: lookup tcp/{port}: unknown port"))
    };
    (format!("{host_part}:{port}"), number)
}

/// The test's route for `(namespace, pod, port)`.
fn route(targets: Option<&Targets>, namespace: &str, pod: &str, port: Result<u16, String>) -> Dial {
    match port {
        Err(message) => Dial::Fails(message),
        Ok(port) => targets
            .and_then(|t| (t.0)(namespace, pod, port))
            .map_or(Dial::Refused, Dial::To),
    }
}

/// The TCP service names Go's resolver knows without `/etc/services` (kube-apiserver's
/// distroless image has none), case-insensitive.
fn go_service_port(name: &str) -> Option<u16> {
    const SERVICES: &[(&str, u16)] = &[
        ("ftp", 21),
        ("ftps", 990),
        ("gopher", 70),
        ("http", 80),
        ("https", 443),
        ("imap2", 143),
        ("imap3", 220),
        ("imaps", 993),
        ("pop3", 110),
        ("pop3s", 995),
        ("smtp", 25),
        ("submissions", 465),
        ("ssh", 22),
        ("telnet", 23),
    ];
    SERVICES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, p)| *p)
}

/// A stored object as JSON, or 404 for it.
fn get(
    state: &Arc<State>,
    plural: &str,
    namespace: Option<&str>,
    name: &str,
) -> Result<Value, ApiError> {
    let info = state
        .resource("", "v1", plural)
        .ok_or_else(|| ApiError::internal(format!("the {plural} resource is not registered")))?;
    let obj = objects::get(state, &info, namespace, name)?;
    serde_json::from_slice(&obj.body)
        .map_err(|e| ApiError::internal(format!("a stored {plural} object is not JSON: {e}")))
}

/// A pod's IPs: `status.podIPs`, else `status.podIP`.
fn pod_ips(pod: &Value) -> impl Iterator<Item = &str> {
    let listed: Vec<&str> = pod["status"]["podIPs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["ip"].as_str())
        .collect();
    let single = pod["status"]["podIP"]
        .as_str()
        .filter(|_| listed.is_empty());
    listed.into_iter().chain(single)
}

/// The pod's first IP (`getPodIP`), when it parses.
fn pod_ip(pod: &Value) -> Option<IpAddr> {
    pod_ips(pod).next().and_then(|ip| ip.parse().ok())
}

/// Go's `IP.IsGlobalUnicast`: not unspecified, loopback, multicast, link-local or the
/// IPv4 broadcast address (private ranges are global unicast).
fn is_global_unicast(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_multicast()
                || v4.is_link_local()
                || v4.is_broadcast())
        }
        IpAddr::V6(v6) => {
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || v6.is_unicast_link_local())
        }
    }
}

/// The node's address kube-apiserver dials (`--kubelet-preferred-address-types`' default
/// order: Hostname, InternalDNS, InternalIP, ExternalDNS, ExternalIP).
fn preferred_address(node: &Value) -> Option<String> {
    let addresses = node["status"]["addresses"].as_array()?;
    [
        "Hostname",
        "InternalDNS",
        "InternalIP",
        "ExternalDNS",
        "ExternalIP",
    ]
    .iter()
    .find_map(|kind| {
        addresses
            .iter()
            .find(|a| a["type"] == *kind)
            .and_then(|a| a["address"].as_str())
    })
    .map(str::to_owned)
}

/// 503 `ServiceUnavailable`.
pub(crate) fn unavailable(message: impl Into<String>) -> ApiError {
    ApiError::new(503, "ServiceUnavailable", message, None)
}

/// 500 with no reason, as kube-apiserver answers an error that is not a Status.
pub(crate) fn unknown(message: impl Into<String>) -> ApiError {
    let mut e = ApiError::new(500, "", message, None);
    if let Some(body) = e.body.as_object_mut() {
        body.remove("reason");
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_split_as_apimachinery_splits_them() {
        assert_eq!(split_scheme_name_port("web"), Some(("", "web", "")));
        assert_eq!(split_scheme_name_port("web:80"), Some(("", "web", "80")));
        assert_eq!(
            split_scheme_name_port("https:web:443"),
            Some(("https", "web", "443"))
        );
        assert_eq!(split_scheme_name_port("ftp:web:21"), None);
        assert_eq!(split_scheme_name_port(":80"), None);
        assert_eq!(split_scheme_name_port("a:b:c:d"), None);
    }

    #[test]
    fn ports_are_read_as_gos_dialer_reads_them() {
        assert_eq!(dial_port("http", "10.0.0.1", "").0, "10.0.0.1:80");
        assert_eq!(dial_port("https", "fd00::1", "").0, "[fd00::1]:443");
        assert_eq!(dial_port("http", "10.0.0.1", "HTTP").1, Ok(80));
        assert_eq!(
            dial_port("http", "10.0.0.1", "metrics").1,
            Err("dial tcp: lookup tcp/metrics: unknown port".to_owned())
        );
        assert!(!is_global_unicast(&"127.0.0.1".parse().unwrap()));
        assert!(is_global_unicast(&"10.1.2.3".parse().unwrap()));
    }
}
