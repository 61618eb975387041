//! `pods/{name}/exec` and `pods/{name}/attach`, as a v1.36 kube-apiserver serves them: the
//! checks before the upgrade (pod, container, node, then the kubelet's), then one of two
//! transports carrying the same [`Process`] (the test's handler or the built-in commands)
//! and the same Status at its end:
//!
//! - [`websocket`]: the channel protocols (`v5.channel.k8s.io` as the stream translator
//!   speaks it, `v4.channel.k8s.io` and the older `channel.k8s.io`/base64 ones as the
//!   kubelet's runtime speaks them when the apiserver proxies those through);
//! - [`spdy`]: the `Upgrade: SPDY/3.1` upgrade with a stream per standard stream
//!   (`v4.channel.k8s.io` down to `v2.channel.k8s.io`), what kubectl before 1.30 and
//!   client-go's SPDY executor speak, proxied through to the kubelet.

mod spdy;
mod websocket;

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::objects;
use crate::shared::body::ResBody;
use crate::shared::request::parse_query;
use crate::shared::response;
use crate::shared::state::State;
use crate::shared::status::ApiError;
use crate::streams::process::{
    Frame, Handler, Output, Process, Resizes, Stdin, TerminalSize, echo_stdin,
};
use crate::streams::spdy::upgrade;
use crate::streams::{Streams, Target};

/// The channel a process's stdout is written to (its number in the WebSocket protocols).
const STDOUT: u8 = 1;
/// The channel a process's stderr is written to (stdout's with a terminal).
const STDERR: u8 = 2;
/// The most of an unfinished resize value kept while its end is awaited.
const MAX_RESIZE_BUFFER: usize = 4 * 1024;

/// What the query asked for.
struct Options {
    command: Vec<String>,
    container: Option<String>,
    stdin: bool,
    stdout: bool,
    stderr: bool,
    tty: bool,
}

/// The query as kube-apiserver converts it to PodExecOptions (a flag's first value, Go's
/// `strconv.ParseBool` spellings of true).
fn options(query: &str) -> Options {
    let params = parse_query(Some(query));
    let flag = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .is_some_and(|(_, v)| matches!(v.as_str(), "true" | "1" | "True" | "TRUE" | "t" | "T"))
    };
    Options {
        command: params
            .iter()
            .filter(|(k, _)| k == "command")
            .map(|(_, v)| v.clone())
            .collect(),
        container: params
            .iter()
            .find(|(k, _)| k == "container")
            .map(|(_, v)| v.clone())
            .filter(|c| !c.is_empty()),
        stdin: flag("stdin"),
        stdout: flag("stdout"),
        stderr: flag("stderr"),
        tty: flag("tty"),
    }
}

/// Serve `exec` (`attach` when `attach`) on the pod `target` names.
pub(crate) fn serve(
    state: &Arc<State>,
    streams: &Streams,
    target: Target,
    mut req: Request<Incoming>,
) -> Response<ResBody> {
    let attach = target.subresource == "attach";
    let mut opts = options(req.uri().query().unwrap_or_default());
    let Some(info) = state.resource("", "v1", "pods") else {
        return response::error(&ApiError::internal("the pods resource is not registered"));
    };
    let pod = match objects::get(state, &info, Some(&target.namespace), &target.pod) {
        Ok(pod) => pod.value(),
        Err(e) => return response::error(&e),
    };
    let container =
        match crate::logic::pods::container(&pod, &target.pod, opts.container.as_deref()) {
            Ok(c) => c,
            Err(e) => return response::error(&e),
        };
    if pod["spec"]["nodeName"].as_str().is_none_or(str::is_empty) {
        return response::error(&ApiError::bad_request(format!(
            "pod {} does not have a host assigned",
            target.pod
        )));
    }
    // The kubelet's checks: through the v5 translator they come after the upgrade, as an
    // InternalError Status; any other client meets the kubelet's own plain-text answer.
    let mut refusal = None;
    if opts.tty && opts.stderr {
        opts.stderr = false;
    }
    if !opts.stdin && !opts.stdout && !opts.stderr {
        refusal = Some((
            StatusCode::BAD_REQUEST,
            "you must specify at least 1 of stdin, stdout, stderr".to_owned(),
        ));
    } else if matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    ) {
        refusal = Some((
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("container not found (\"{container}\")"),
        ));
    }
    let launch = Launch {
        namespace: target.namespace,
        pod: target.pod,
        container,
        handler: if attach {
            streams.attach.clone()
        } else {
            streams.exec.clone()
        },
        attach,
        opts,
    };
    let cut = streams.cut_signal();
    if crate::streams::websocket::is_websocket(&req) {
        return websocket::accept(&mut req, launch, refusal, cut);
    }
    if let Some((code, text)) = &refusal {
        return response::text(*code, text.clone());
    }
    if upgrade::is_spdy_upgrade(req.headers()) {
        return spdy::accept(&mut req, launch, cut);
    }
    // `httpstream.Handshake`'s answer to a request that asks for no upgrade.
    upgrade::go_http_error(
        StatusCode::BAD_REQUEST,
        "unable to upgrade: missing upgrade headers in request",
    )
}

/// What a session starts once its client is connected: the command, where it runs, and
/// who runs it.
struct Launch {
    namespace: String,
    pod: String,
    container: String,
    handler: Option<Handler>,
    attach: bool,
    opts: Options,
}

/// A started process, as a session sees it.
struct Running {
    /// What it writes, as (channel, bytes): [`STDOUT`] or [`STDERR`].
    output: mpsc::Receiver<Frame>,
    /// Its stdin, when the client asked for it.
    stdin: Option<mpsc::Sender<Bytes>>,
    /// Its terminal sizes, with a terminal.
    resizes: Option<mpsc::Sender<TerminalSize>>,
    /// Its exit code.
    task: JoinHandle<i32>,
}

impl Launch {
    /// Start the process: the test's handler, else the built-in commands (exec) or stdin
    /// echoed (attach).
    fn start(&self) -> Running {
        let opts = &self.opts;
        let (out_tx, output) = mpsc::channel::<Frame>(16);
        let (stdin_tx, stdin_rx) = mpsc::channel::<Bytes>(16);
        let (resize_tx, resize_rx) = mpsc::channel::<TerminalSize>(16);
        let stdout_tx = opts.stdout.then(|| out_tx.clone());
        let stderr_channel = if opts.tty { STDOUT } else { STDERR };
        let stderr_tx = if opts.tty {
            stdout_tx.clone()
        } else {
            opts.stderr.then(|| out_tx.clone())
        };
        drop(out_tx);
        let process = Process {
            namespace: self.namespace.clone(),
            pod: self.pod.clone(),
            container: self.container.clone(),
            command: if self.attach {
                Vec::new()
            } else {
                opts.command.clone()
            },
            tty: opts.tty,
            stdin: Stdin::new(opts.stdin.then_some(stdin_rx)),
            stdout: Output::new(STDOUT, stdout_tx),
            stderr: Output::new(stderr_channel, stderr_tx),
            resizes: Resizes::new(opts.tty.then_some(resize_rx)),
        };
        let (handler, attach) = (self.handler.clone(), self.attach);
        let task = tokio::spawn(async move {
            match (handler, attach) {
                (Some(h), _) => (h.0)(process).await,
                (None, true) => echo_stdin(process).await,
                (None, false) => process.run_builtin().await,
            }
        });
        Running {
            output,
            stdin: opts.stdin.then_some(stdin_tx),
            resizes: opts.tty.then_some(resize_tx),
            task,
        }
    }

    /// The Status that ends a session whose process exited with `code` (an attach ends
    /// in `Success` whatever its handler returns, as the kubelet reports it).
    fn end_status(&self, code: i32, v5: bool) -> Value {
        if code == 0 || self.attach {
            json!({"metadata": {}, "status": "Success"})
        } else {
            exit_status(code, &self.opts.command, v5)
        }
    }
}

/// What the error stream or channel carries for `status`: the Status as JSON (`v4` and
/// later), else the failure's text alone and nothing for a success.
fn status_body(status: &Value, json: bool) -> Option<Vec<u8>> {
    if json {
        Some(serde_json::to_vec(status).unwrap_or_default())
    } else if status["status"] == "Success" {
        None
    } else {
        Some(
            status["message"]
                .as_str()
                .unwrap_or_default()
                .as_bytes()
                .to_vec(),
        )
    }
}

/// Parse the complete `{"Width":..,"Height":..}` values in `buf` (keeping a partial one) and
/// send them; false once the channel is done (bad JSON, as Go's decoder stops, a value
/// longer than [`MAX_RESIZE_BUFFER`], or no reader).
async fn resizes(buf: &mut Vec<u8>, tx: &mpsc::Sender<TerminalSize>) -> bool {
    let mut sizes = Vec::new();
    let consumed;
    {
        let mut stream = serde_json::Deserializer::from_slice(buf).into_iter::<TerminalSize>();
        loop {
            match stream.next() {
                Some(Ok(size)) => sizes.push(size),
                Some(Err(e)) if e.is_eof() => break,
                Some(Err(_)) => return false,
                None => break,
            }
        }
        consumed = stream.byte_offset();
    }
    buf.drain(..consumed);
    if buf.len() > MAX_RESIZE_BUFFER {
        return false;
    }
    for size in sizes {
        if tx.send(size).await.is_err() {
            return false;
        }
    }
    true
}

/// An InternalError Status as the stream translator writes it (`apierrors.NewInternalError`).
fn internal_error(message: &str) -> Value {
    json!({
        "metadata": {},
        "status": "Failure",
        "message": format!("Internal error occurred: {message}"),
        "reason": "InternalError",
        "details": {"causes": [{"message": message}]},
        "code": 500,
    })
}

/// The Status of a non-zero exit. Through v5 the stream translator words the message from
/// client-go's own error (`command terminated with exit code N`); through v4 the kubelet
/// words it from the runtime's (containerd's `error executing command [..], exit code N`).
fn exit_status(code: i32, command: &[String], v5: bool) -> Value {
    let inner = if v5 {
        format!("command terminated with exit code {code}")
    } else {
        format!(
            "error executing command [{}], exit code {code}",
            command.join(" ")
        )
    };
    json!({
        "metadata": {},
        "status": "Failure",
        "message": format!("command terminated with non-zero exit code: {inner}"),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
    })
}
