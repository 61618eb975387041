//! The connect subresources: exec, attach and port-forward on pods (over WebSocket, see
//! [`kubecto_rest_core::upgrade`]), and the proxy subresources of pods, services and
//! nodes (raw requests, sent as the caller likes).

use std::net::SocketAddr;

use http::Method;
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use kubecto_rest_core::upgrade::port_forward::{LocalForwarder, PortForward};
use kubecto_rest_core::upgrade::remote_command::{AttachParams, AttachedProcess};
use kubecto_rest_core::{Request, Result};

use crate::api::{Api, Verb};

impl Api<Pod> {
    /// Runs `command` in a container of pod `name` (`kubectl exec`). Take its streams
    /// from the [`AttachedProcess`], or collect everything with
    /// [`AttachedProcess::output`].
    ///
    /// ```no_run
    /// # async fn run(pods: kubecto_clientset::Api<k8s_openapi::api::core::v1::Pod>) -> kubecto_clientset::Result<()> {
    /// use kubecto_clientset::AttachParams;
    /// let out = pods
    ///     .exec("web-0", ["cat", "/etc/hostname"], &AttachParams::default())
    ///     .await?
    ///     .output()
    ///     .await?;
    /// println!("{} (exit {})", String::from_utf8_lossy(&out.stdout), out.status.code);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidRequest`](crate::Error::InvalidRequest) for an empty command or parameters that ask for no
    /// stream; [`Error::Api`](crate::Error::Api) from the server (no such pod or container, a pod that has
    /// ended); [`Error::Stream`](crate::Error::Stream) when the connection cannot be upgraded.
    pub async fn exec<I, S>(
        &self,
        name: &str,
        command: I,
        params: &AttachParams,
    ) -> Result<AttachedProcess>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.target
            .sub(Verb::Get, name, "exec")?
            .exec(command, params)
            .await
    }

    /// Attaches to the main process of a container of pod `name` (`kubectl attach`).
    ///
    /// # Errors
    /// As [`exec`](Self::exec).
    pub async fn attach(&self, name: &str, params: &AttachParams) -> Result<AttachedProcess> {
        self.target
            .sub(Verb::Get, name, "attach")?
            .remote_command(params)
            .await
    }

    /// Forwards `ports` of pod `name`: one stream per port, over one connection.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`](crate::Error::InvalidRequest) for no port or a port named twice; [`Error::Api`](crate::Error::Api) from
    /// the server; [`Error::Stream`](crate::Error::Stream) when the connection cannot be upgraded.
    pub async fn port_forward(&self, name: &str, ports: &[u16]) -> Result<PortForward> {
        self.target
            .sub(Verb::Get, name, "portforward")?
            .port_forward(ports)
            .await
    }

    /// Listens on `local` (port 0 lets the system choose) and forwards each connection
    /// to `port` of pod `name` over a port-forward of its own (`kubectl port-forward`).
    ///
    /// # Errors
    /// [`Error::InvalidRequest`](crate::Error::InvalidRequest) when `local` cannot be bound or the pod name is not valid.
    pub async fn forward_local(
        &self,
        name: &str,
        local: SocketAddr,
        port: u16,
    ) -> Result<LocalForwarder> {
        // Checked now, so that a bad name is this call's error and not each connection's.
        self.target.sub(Verb::Get, name, "portforward")?.url()?;
        let target = self.target.clone();
        let name = name.to_owned();
        LocalForwarder::bind(local, port, move || {
            target.sub(Verb::Get, &name, "portforward")
        })
        .await
    }
}

/// A resource with a `proxy` subresource: pods, services and nodes.
pub trait HasProxy: k8s_openapi::Resource {}

impl HasProxy for Pod {}
impl HasProxy for Service {}
impl HasProxy for Node {}

impl<K: HasProxy> Api<K> {
    /// A request through the API server to object `name`'s `port` (a number or a port
    /// name; `None` for the default: a pod's first port, a service's only port, the
    /// kubelet's port of a node) at `path`: `{resource}/{name}[:port]/proxy/{path}`
    /// (`/metrics`, `/healthz`). Add a body or parameters and [`send`](Request::send) it.
    ///
    /// # Errors
    /// [`Error::InvalidRequest`](crate::Error::InvalidRequest) for an invalid name or path.
    pub fn proxy(
        &self,
        method: Method,
        name: &str,
        port: Option<&str>,
        path: &str,
    ) -> Result<Request> {
        let target = match port {
            Some(p) if !p.is_empty() => format!("{name}:{p}"),
            _ => name.to_owned(),
        };
        let req = self
            .target
            .named_with(method, &target)?
            .sub_resource("proxy")
            .suffix(path);
        // The builder remembers a bad segment until sending; say it now.
        req.url()?;
        Ok(req)
    }
}
