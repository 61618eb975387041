//! `pods/{name}/exec` and `pods/{name}/attach` over WebSocket, as a v1.36 kube-apiserver
//! serves them: the checks before the upgrade (pod, container, node), then the channel
//! protocol (`v5.channel.k8s.io` as its stream translator speaks it, `v4.channel.k8s.io`
//! and the older `channel.k8s.io`/base64 ones as the kubelet's runtime speaks them when the
//! apiserver proxies those through), a [`Process`] run by the test's handler or the
//! built-in commands, and at the end the Status on the error channel and a close.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt as _, StreamExt as _};
use http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::objects;
use crate::shared::body::{ResBody, full};
use crate::shared::request::parse_query;
use crate::shared::response;
use crate::shared::state::State;
use crate::shared::status::ApiError;
use crate::streams::process::{Output, Process, Resizes, Stdin, TerminalSize, echo_stdin};
use crate::streams::websocket::{self, WebSocket};
use crate::streams::{Streams, Target};

/// The subprotocols served, newest first (the client's order decides).
const PROTOCOLS: &[&str] = &[
    "v5.channel.k8s.io",
    "v4.channel.k8s.io",
    "v4.base64.channel.k8s.io",
    "channel.k8s.io",
    "base64.channel.k8s.io",
    "",
];

const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const ERROR: u8 = 3;
const RESIZE: u8 = 4;
/// v5: `[CLOSE, channel]` closes that channel.
const CLOSE: u8 = 255;

/// How long the server waits for the client to answer its close.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

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
    if !websocket::is_websocket(&req) {
        return plain(
            StatusCode::BAD_REQUEST,
            "kubecto-testserver serves exec and attach over WebSocket only (not SPDY)",
        );
    }
    let v5 = websocket::choose_protocol(req.headers(), PROTOCOLS).as_deref()
        == Some("v5.channel.k8s.io");
    // The kubelet's checks: through the v5 translator they come after the upgrade, as an
    // InternalError Status; a v4 client meets the kubelet's own plain-text answer.
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
    if let Some((code, text)) = &refusal
        && !v5
    {
        return plain(*code, text);
    }
    let handler = if attach {
        streams.attach.clone()
    } else {
        streams.exec.clone()
    };
    let cut = streams.cut_signal();
    let process_base = (target.namespace, target.pod, container);
    websocket::accept(&mut req, PROTOCOLS, move |ws, protocol| async move {
        let proto = Protocol::of(&protocol);
        let session = Session {
            ws,
            proto,
            opts,
            attach,
        };
        let run = session.run(process_base, handler, refusal.map(|(_, t)| t));
        tokio::select! {
            () = run => {}
            () = cut => {}
        }
    })
}

fn plain(code: StatusCode, text: &str) -> Response<ResBody> {
    let mut res = Response::new(full(text.to_owned()));
    *res.status_mut() = code;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

/// How the negotiated subprotocol frames channels and reports the end.
#[derive(Clone, Copy)]
struct Protocol {
    base64: bool,
    /// `[255, channel]` closes a channel.
    close: bool,
    /// The error channel carries a JSON Status (v4, v5), else the failure's text only.
    status: bool,
    v5: bool,
}

impl Protocol {
    fn of(name: &str) -> Protocol {
        Protocol {
            base64: name.contains("base64"),
            close: name == "v5.channel.k8s.io",
            status: name.starts_with("v4.") || name.starts_with("v5."),
            v5: name == "v5.channel.k8s.io",
        }
    }

    fn frame(self, channel: u8, data: &[u8]) -> Message {
        if self.base64 {
            let mut s = String::with_capacity(1 + data.len() * 4 / 3 + 4);
            s.push(char::from(b'0' + channel));
            base64::engine::general_purpose::STANDARD.encode_string(data, &mut s);
            Message::text(s)
        } else {
            let mut b = BytesMut::with_capacity(1 + data.len());
            b.extend_from_slice(&[channel]);
            b.extend_from_slice(data);
            Message::Binary(b.freeze())
        }
    }

    /// A client message as (channel, data); `None` for one to ignore.
    fn unframe(self, msg: Message) -> Option<(u8, Bytes)> {
        let data: Bytes = match msg {
            Message::Binary(b) => b,
            Message::Text(t) => Bytes::copy_from_slice(t.as_bytes()),
            _ => return None,
        };
        let (&first, rest) = data.split_first()?;
        if self.close && first == CLOSE {
            return Some((CLOSE, data.slice(1..)));
        }
        if self.base64 {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest)
                .ok()?;
            return Some((first.wrapping_sub(b'0'), Bytes::from(decoded)));
        }
        Some((first, data.slice(1..)))
    }
}

struct Session {
    ws: WebSocket,
    proto: Protocol,
    opts: Options,
    attach: bool,
}

impl Session {
    async fn run(
        mut self,
        (namespace, pod, container): (String, String, String),
        handler: Option<crate::streams::process::Handler>,
        refusal: Option<String>,
    ) {
        let proto = self.proto;
        let opts = &self.opts;
        // wsstream's first message: an empty one on the lowest channel written to.
        let first = if opts.stdout {
            STDOUT
        } else if opts.stderr {
            STDERR
        } else {
            ERROR
        };
        if self.ws.send(proto.frame(first, &[])).await.is_err() {
            return;
        }
        if let Some(text) = refusal {
            let status = internal_error(&format!("unable to upgrade connection: {text}"));
            self.finish(status).await;
            return;
        }
        let (out_tx, mut out_rx) = mpsc::channel::<(u8, Bytes)>(16);
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
            namespace,
            pod,
            container,
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
        let attach = self.attach;
        let mut task = tokio::spawn(async move {
            match (handler, attach) {
                (Some(h), _) => (h.0)(process).await,
                (None, true) => echo_stdin(process).await,
                (None, false) => process.run_builtin().await,
            }
        });
        let mut stdin_tx = opts.stdin.then_some(stdin_tx);
        let mut resize_tx = opts.tty.then_some(resize_tx);
        let mut resize_buf = Vec::new();
        let mut output_open = true;
        let code = loop {
            tokio::select! {
                biased;
                frame = out_rx.recv(), if output_open => {
                    let Some((channel, data)) = frame else {
                        output_open = false;
                        continue;
                    };
                    if self.ws.send(proto.frame(channel, &data)).await.is_err() {
                        task.abort();
                        return;
                    }
                }
                msg = self.ws.next() => {
                    let Some(Ok(msg)) = msg else {
                        // The client went: its streams end, the process is stopped.
                        task.abort();
                        return;
                    };
                    if let Message::Close(_) = msg {
                        task.abort();
                        let _ = self.ws.close(None).await;
                        return;
                    }
                    match proto.unframe(msg) {
                        Some((STDIN, data)) => {
                            if let Some(tx) = &stdin_tx && !data.is_empty() && tx.send(data).await.is_err() {
                                stdin_tx = None;
                            }
                        }
                        Some((RESIZE, data)) => {
                            if let Some(tx) = &resize_tx {
                                resize_buf.extend_from_slice(&data);
                                if !resizes(&mut resize_buf, tx).await {
                                    resize_tx = None;
                                }
                            }
                        }
                        Some((CLOSE, data)) => match data.first() {
                            Some(&STDIN) => stdin_tx = None,
                            Some(&RESIZE) => resize_tx = None,
                            _ => {}
                        },
                        _ => {}
                    }
                }
                done = &mut task => break done.unwrap_or(-1),
            }
        };
        // What the process wrote before it ended goes out before the status.
        while let Ok((channel, data)) = out_rx.try_recv() {
            if self.ws.send(proto.frame(channel, &data)).await.is_err() {
                return;
            }
        }
        let status = if code == 0 || attach {
            json!({"metadata": {}, "status": "Success"})
        } else {
            exit_status(code, &opts.command, proto.v5)
        };
        self.finish(status).await;
    }

    /// Write the Status (its text alone before v4, nothing for a success), close, and wait
    /// for the client to close too.
    async fn finish(mut self, status: Value) {
        let body = if self.proto.status {
            Some(serde_json::to_vec(&status).unwrap_or_default())
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
        };
        if let Some(body) = body
            && self.ws.send(self.proto.frame(ERROR, &body)).await.is_err()
        {
            return;
        }
        // x/net/websocket closes with 1000 (normal); gorilla, kubectl's, takes a close
        // without a code (1005) for an error.
        let normal = CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        };
        let _ = self.ws.close(Some(normal)).await;
        let _ = tokio::time::timeout(CLOSE_WAIT, async {
            while let Some(Ok(_)) = self.ws.next().await {}
        })
        .await;
    }
}

/// Parse the complete `{"Width":..,"Height":..}` values in `buf` (keeping a partial one) and
/// send them; false once the channel is done (bad JSON, as Go's decoder stops, or no reader).
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
