//! The connect subresources on any resource, raw: exec, attach and port-forward over
//! WebSocket (for `pods`, or any aggregated API that serves them the same way), and a
//! request of any method for the proxy subresources.

use kubecto_rest_core::Request;
use kubecto_rest_core::upgrade::port_forward::PortForward;
use kubecto_rest_core::upgrade::remote_command::{AttachParams, AttachedProcess};

use crate::client::Scope;
use crate::error::Result;
use crate::resource::DynamicResource;

impl<S: Scope> DynamicResource<S> {
    /// A request of any method to subresource `sub` of object `name`, with `suffix`
    /// after it (`proxy` with a path, say): send it, or upgrade it with
    /// [`Request::upgrade`].
    ///
    /// ```no_run
    /// # async fn run(client: kubecto_dynamic::DynamicClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use kubecto_dynamic::GroupVersionResource;
    /// let services = client.resource(GroupVersionResource::new("", "v1", "services")).namespace("default");
    /// let body = services
    ///     .connect(http::Method::GET, "web:http", "proxy", "healthz")?
    ///     .send()
    ///     .await?
    ///     .bytes()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidResource`](crate::Error::InvalidResource) for a resource that cannot be part of a URL, and
    /// [`Error::Request`](crate::Error::Request) for an invalid name, subresource or suffix.
    pub fn connect(
        &self,
        method: http::Method,
        name: &str,
        sub: &str,
        suffix: &str,
    ) -> Result<Request> {
        let req = self.request(method, Some(name), Some(sub))?.suffix(suffix);
        req.url().map_err(self.request_err("connect", Some(name)))?;
        Ok(req)
    }

    /// Runs `command` in object `name` (`pods/exec`); see
    /// [`AttachedProcess`] for its streams and exit status.
    ///
    /// # Errors
    /// [`Error::Request`](crate::Error::Request) naming the object: an empty command or parameters asking for no
    /// stream, the server's refusal, or a connection that cannot be upgraded.
    pub async fn exec<I, T>(
        &self,
        name: &str,
        command: I,
        params: &AttachParams,
    ) -> Result<AttachedProcess>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        let err = self.request_err("exec", Some(name));
        self.request(http::Method::GET, Some(name), Some("exec"))?
            .exec(command, params)
            .await
            .map_err(err)
    }

    /// Attaches to the main process of object `name` (`pods/attach`).
    ///
    /// # Errors
    /// As [`exec`](Self::exec).
    pub async fn attach(&self, name: &str, params: &AttachParams) -> Result<AttachedProcess> {
        let err = self.request_err("attach", Some(name));
        self.request(http::Method::GET, Some(name), Some("attach"))?
            .remote_command(params)
            .await
            .map_err(err)
    }

    /// Forwards `ports` of object `name` (`pods/portforward`).
    ///
    /// # Errors
    /// [`Error::Request`](crate::Error::Request) naming the object: no port or one named twice, the server's
    /// refusal, or a connection that cannot be upgraded.
    pub async fn port_forward(&self, name: &str, ports: &[u16]) -> Result<PortForward> {
        let err = self.request_err("port-forward", Some(name));
        self.request(http::Method::GET, Some(name), Some("portforward"))?
            .port_forward(ports)
            .await
            .map_err(err)
    }
}
