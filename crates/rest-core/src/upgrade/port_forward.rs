//! port-forward (client-go's `tools/portforward`) over WebSocket: the `v4.channel.k8s.io`
//! port-forward protocol of `pods/portforward`, and a local listener that forwards each
//! connection it accepts, as `kubectl port-forward` does.
//!
//! One connection carries one forwarded stream per requested port: the i-th port's data
//! on channel 2i, its errors (text) on channel 2i+1; the server's first message on each
//! channel starts with the port number. The protocol has no half-close: once every
//! port's stream has been shut down (or dropped) on this side, the connection is closed,
//! so a peer that half-closes and waits for an answer should not be forwarded with it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite, DuplexStream};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::channels::{self, Channels, Sink};
use crate::error::{Error, Result};
use crate::request::Request;

/// The protocol spoken (the only one kube-apiserver serves for port-forward over
/// WebSocket without SPDY inside).
pub const PROTOCOL: &str = "v4.channel.k8s.io";

/// How much data waits in a stream's buffer before the connection waits too.
const BUFFER: usize = 64 * 1024;
/// The most error text kept per port.
const MAX_ERROR_SIZE: usize = 16 * 1024;

/// An open port-forward: one stream per requested port.
#[derive(Debug)]
pub struct PortForward {
    ports: Vec<u16>,
    streams: Vec<Option<DuplexStream>>,
    ended: oneshot::Receiver<Result<HashMap<u16, String>>>,
}

impl PortForward {
    /// The ports forwarded, in the order asked.
    pub fn ports(&self) -> &[u16] {
        &self.ports
    }

    /// Takes the stream to `port`: what is written goes to the pod's port, what the pod
    /// sends is read. `None` if the port was not asked for or its stream was taken.
    pub fn take_stream(
        &mut self,
        port: u16,
    ) -> Option<impl AsyncRead + AsyncWrite + Unpin + use<>> {
        let i = self.ports.iter().position(|&p| p == port)?;
        self.streams.get_mut(i)?.take()
    }

    /// Waits for the connection to end (every stream shut down here, or the server closed
    /// it) and returns the errors the server reported, by port (a pod with nothing
    /// listening on a port, say). Streams not taken are closed first.
    ///
    /// # Errors
    /// [`Error::Stream`] when the connection broke or the server broke the protocol.
    pub async fn join(mut self) -> Result<HashMap<u16, String>> {
        self.streams.clear();
        match self.ended.await {
            Ok(r) => r,
            Err(_) => Err(Error::invalid(
                "the connection's task ended without a result",
            )),
        }
    }
}

impl Request {
    /// Opens a port-forward on a `pods/portforward` request to `ports` (at least one, each
    /// named at most once), over WebSocket ([`Request::upgrade`]).
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] for no port, a port 0 or a port named twice; otherwise as
    /// [`Request::upgrade`].
    pub async fn port_forward(self, ports: &[u16]) -> Result<PortForward> {
        check_ports(ports)?;
        let mut req = self;
        for p in ports {
            req = req.param("ports", p);
        }
        let ws = req.upgrade(&[PROTOCOL]).await?;
        let mut outputs = HashMap::new();
        let mut inputs: Vec<(u8, Box<dyn AsyncRead + Send + Unpin>)> = Vec::new();
        let mut streams = Vec::with_capacity(ports.len());
        for i in 0..ports.len() {
            let data = u8::try_from(2 * i).map_err(|_| Error::invalid("too many ports"))?;
            let (ours, theirs) = tokio::io::duplex(BUFFER);
            let (read, write) = tokio::io::split(theirs);
            outputs.insert(data, Sink::Pipe(Box::new(write)));
            outputs.insert(
                data + 1,
                Sink::Collect {
                    max: MAX_ERROR_SIZE,
                },
            );
            inputs.push((data, Box::new(read)));
            streams.push(Some(ours));
        }
        let channels = Channels {
            outputs,
            inputs,
            control: None,
            announce_close: false,
            close_when_inputs_end: true,
            port_prefix: true,
        };
        let (tx, ended) = oneshot::channel();
        let ports_owned = ports.to_vec();
        tokio::spawn(async move {
            let end = channels::run(ws, channels).await;
            let result = match end.error {
                Some(e) => Err(e),
                None => Ok(errors_by_port(&ports_owned, end.collected)),
            };
            let _ = tx.send(result);
        });
        Ok(PortForward {
            ports: ports.to_vec(),
            streams,
            ended,
        })
    }
}

fn check_ports(ports: &[u16]) -> Result<()> {
    if ports.is_empty() {
        return Err(Error::invalid("port-forward: at least one port is needed"));
    }
    if ports.len() > 128 {
        return Err(Error::invalid(format!(
            "port-forward: {} ports asked for; one connection carries at most 128",
            ports.len()
        )));
    }
    for (i, p) in ports.iter().enumerate() {
        if *p == 0 {
            return Err(Error::invalid("port-forward: port 0 is not a port"));
        }
        if ports[..i].contains(p) {
            return Err(Error::invalid(format!(
                "port-forward: port {p} is named twice"
            )));
        }
    }
    Ok(())
}

fn errors_by_port(ports: &[u16], collected: HashMap<u8, Vec<u8>>) -> HashMap<u16, String> {
    collected
        .into_iter()
        .filter(|(_, text)| !text.is_empty())
        .filter_map(|(ch, text)| {
            let port = *ports.get(usize::from(ch) / 2)?;
            Some((port, String::from_utf8_lossy(&text).into_owned()))
        })
        .collect()
}

/// Listens on a local address and forwards each connection it accepts to a pod's port,
/// over a port-forward of its own (as `kubectl port-forward` does). Dropping it, or
/// [`shutdown`](Self::shutdown), stops accepting; forwarded connections finish.
#[derive(Debug)]
pub struct LocalForwarder {
    local: SocketAddr,
    /// The accept loop; each forwarded connection runs on a task of its own.
    task: tokio::task::JoinHandle<()>,
}

impl LocalForwarder {
    /// Binds `local` (port 0 lets the system choose) and forwards every connection to
    /// `port` of the pod that `open` names: `open` builds the `pods/portforward`
    /// request, once per connection (an error from it closes that connection).
    ///
    /// ```no_run
    /// # async fn run(client: kubecto_rest_core::RestClient) -> Result<(), kubecto_rest_core::Error> {
    /// use kubecto_rest_core::upgrade::port_forward::LocalForwarder;
    /// let pods = client.clone();
    /// let fwd = LocalForwarder::bind("127.0.0.1:0".parse().unwrap(), 8080, move || {
    ///     Ok(pods.get().namespace("default").resource("pods").name("web-0").sub_resource("portforward"))
    /// })
    /// .await?;
    /// println!("forwarding {} -> web-0:8080", fwd.local_addr());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] when `local` cannot be bound.
    pub async fn bind<F>(local: SocketAddr, port: u16, open: F) -> Result<Self>
    where
        F: Fn() -> Result<Request> + Send + Sync + 'static,
    {
        check_ports(&[port])?;
        let listener = TcpListener::bind(local)
            .await
            .map_err(|e| Error::invalid(format!("port-forward: cannot listen on {local}: {e}")))?;
        let local = listener
            .local_addr()
            .map_err(|e| Error::invalid(format!("port-forward: {e}")))?;
        let open = Arc::new(open);
        let task = tokio::spawn(async move {
            loop {
                let (mut conn, peer) = match listener.accept().await {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(target: "kubecto::port_forward", error = %e, "accepting a local connection failed");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let open = open.clone();
                tokio::spawn(async move {
                    let forwarded = match open() {
                        Ok(req) => forward_one(&mut conn, req, port).await,
                        Err(e) => Err(e),
                    };
                    if let Err(e) = forwarded {
                        tracing::warn!(target: "kubecto::port_forward", %peer, port, error = %e, "forwarding a connection failed");
                    }
                });
            }
        });
        Ok(Self { local, task })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Stops accepting connections (as dropping it does).
    pub fn shutdown(self) {}
}

impl Drop for LocalForwarder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward_one(conn: &mut tokio::net::TcpStream, req: Request, port: u16) -> Result<()> {
    let mut pf = req.port_forward(&[port]).await?;
    let Some(mut stream) = pf.take_stream(port) else {
        return Err(Error::invalid("port-forward: the stream is missing"));
    };
    let copied = tokio::io::copy_bidirectional(conn, &mut stream).await;
    drop(stream);
    let errors = pf.join().await?;
    if let Some(text) = errors.get(&port) {
        return Err(Error::invalid(format!(
            "port-forward to port {port}: the server reported: {text}"
        )));
    }
    if let Err(e) = copied {
        tracing::debug!(target: "kubecto::port_forward", port, error = %e, "a forwarded connection ended with an error");
    }
    Ok(())
}
