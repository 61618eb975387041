//! The bench server: plain hyper HTTP/1.1 on 127.0.0.1:0 serving realistic pods, as fast as
//! it can, so the clients' costs dominate.
//!
//! - `GET /api/v1/namespaces/kube-system/pods/{name}`: one pod (rendered from the template:
//!   three copies and three small formats).
//! - `GET /api/v1/namespaces/kube-system/pods`: a `PodList` of `--list-pods` pods,
//!   pre-rendered once at start and streamed in 32 KiB chunks (chunked encoding, as the
//!   API server sends a list). With `limit=N` it is paged as kube-apiserver pages it
//!   (`continue` and `remainingItemCount`), cut from the same pre-rendered bytes.
//! - `GET ...pods?watch=true` (or `watch=1`): `--watch-events` MODIFIED events, one JSON
//!   object and a newline each, as kube-apiserver writes them; the body then ends. Event
//!   `i` is at resourceVersion `WATCH_BASE_RV + i`; a watch from a later resourceVersion
//!   starts after it, and one from the last event's stays open with nothing to send (as
//!   a reflector's next watch finds it).
//!
//! With `--gzip`, the whole JSON list is also compressed once at start (level 1, as
//! kube-apiserver compresses) and sent with `Content-Encoding: gzip` to a request whose
//! `Accept-Encoding` names gzip; without it, nothing is ever compressed.
//!
//! When a request's `Accept` asks for protobuf first (`application/vnd.kubernetes.protobuf`,
//! as kubecto-clientset and client-go ask for built-in kinds), the same pods are answered
//! in protobuf exactly as kube-apiserver frames them (see `kubecto_bench::pb`): a GET in
//! the `k8s\0` envelope, the list as a PodList in one (paged the same way), the watch as
//! length-prefixed `WatchEvent` frames (`;stream=watch`).
//!
//! Prints `http://127.0.0.1:PORT` on its first line, then serves until its standard input
//! closes (the driver holds it) or `--max-seconds` pass.

use std::convert::Infallible;
use std::io::Read as _;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use kubecto_bench::{LIST_PODS, LIST_RV, PODS_PATH, PodTemplate, WATCH_BASE_RV, pb};

const LIST_CHUNK: usize = 32 * 1024;

struct Data {
    template: PodTemplate,
    list: Bytes,
    /// Where each item of `list` starts and ends.
    items: Vec<(usize, usize)>,
    /// The same pods in protobuf.
    pb: pb::Bodies,
    watch_events: u64,
    /// `list` gzip-compressed (`--gzip`), sent to a request that accepts gzip.
    list_gzip: Option<Bytes>,
}

fn param<'q>(query: &'q str, key: &str) -> Option<&'q str> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

/// `bytes` as frames of at most `LIST_CHUNK` bytes (slices, no copies).
fn frames(bytes: Bytes) -> impl Iterator<Item = Result<Frame<Bytes>, Infallible>> {
    let chunks = bytes.len().div_ceil(LIST_CHUNK);
    (0..chunks).map(move |c| {
        let end = ((c + 1) * LIST_CHUNK).min(bytes.len());
        Ok(Frame::data(bytes.slice(c * LIST_CHUNK..end)))
    })
}

/// One page of the list: items `from..from + limit`, with a `continue` token (the next
/// index) while items remain.
fn page(data: &Data, from: usize, limit: usize) -> Body {
    let n = data.items.len();
    let from = from.min(n);
    let to = from.saturating_add(limit).min(n);
    let mut head = format!(
        r#"{{"kind":"PodList","apiVersion":"v1","metadata":{{"resourceVersion":"{LIST_RV}""#
    );
    if to < n {
        head.push_str(&format!(
            r#","continue":"{to}","remainingItemCount":{}"#,
            n - to
        ));
    }
    head.push_str(r#"},"items":["#);
    let body = if from < to {
        data.list.slice(data.items[from].0..data.items[to - 1].1)
    } else {
        Bytes::new()
    };
    let parts = std::iter::once(Ok(Frame::data(Bytes::from(head))))
        .chain(frames(body))
        .chain(std::iter::once(Ok(Frame::data(Bytes::from_static(
            b"]}\n",
        )))));
    StreamBody::new(futures_util::stream::iter(parts)).boxed()
}

type Body = BoxBody<Bytes, Infallible>;

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

fn answer(status: StatusCode, body: Body) -> Response<Body> {
    answer_as(status, body, "application/json")
}

fn answer_as(status: StatusCode, body: Body, content_type: &'static str) -> Response<Body> {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    resp
}

/// One page of the protobuf list (`limit` of `usize::MAX`: the whole list), the items in
/// `LIST_CHUNK` frames.
fn pb_page(data: &Data, from: usize, limit: usize) -> Response<Body> {
    let [head, items, tail] = data.pb.page(LIST_RV, from, limit);
    let parts = std::iter::once(Ok(Frame::data(head)))
        .chain(frames(items))
        .chain(std::iter::once(Ok(Frame::data(tail))));
    let body = StreamBody::new(futures_util::stream::iter(parts)).boxed();
    answer_as(StatusCode::OK, body, pb::CONTENT_TYPE)
}

fn handle(data: &Arc<Data>, req: &Request<Incoming>) -> Response<Body> {
    let path = req.uri().path();
    let Some(rest) = path.strip_prefix(PODS_PATH) else {
        return answer(
            StatusCode::NOT_FOUND,
            full(
                r#"{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}"#,
            ),
        );
    };
    let protobuf = req
        .headers()
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(pb::wants_protobuf);
    if let Some(name) = rest.strip_prefix('/') {
        // A single pod; the number after the last '-' picks its uid.
        let i = name
            .rsplit('-')
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
        if protobuf {
            let body = full(data.pb.get(i, name));
            return answer_as(StatusCode::OK, body, pb::CONTENT_TYPE);
        }
        let mut pod = data.template.render(i, 1000 + i);
        // Keep the name that was asked for.
        if kubecto_bench::pod_name(i) != name {
            pod = String::from_utf8_lossy(&pod)
                .replacen(&kubecto_bench::pod_name(i), name, 1)
                .into_bytes();
        }
        return answer(StatusCode::OK, full(pod));
    }
    if !rest.is_empty() {
        return answer(StatusCode::NOT_FOUND, full("{}"));
    }
    let query = req.uri().query().unwrap_or("");
    let watch = query
        .split('&')
        .any(|kv| kv == "watch=true" || kv == "watch=1");
    if watch {
        let data = Arc::clone(data);
        let n = data.watch_events;
        let base_rv = WATCH_BASE_RV;
        let since = param(query, "resourceVersion")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        let content_type = if protobuf {
            pb::WATCH_CONTENT_TYPE
        } else {
            "application/json"
        };
        if n == 0 || since >= base_rv + n - 1 {
            // Nothing newer: stay open, as a watch does, until the client goes.
            let pending = futures_util::stream::pending::<Result<Frame<Bytes>, Infallible>>();
            return answer_as(
                StatusCode::OK,
                StreamBody::new(pending).boxed(),
                content_type,
            );
        }
        let first = if since >= base_rv {
            since + 1 - base_rv
        } else {
            0
        };
        if protobuf {
            let pods = data.items.len() as u64;
            let events = futures_util::stream::iter((first..n).map(move |i| {
                let mut ev = Vec::with_capacity(data.pb.watch_frame_len());
                data.pb.watch_frame_into(&mut ev, i, pods, base_rv + i);
                Ok::<_, Infallible>(Frame::data(Bytes::from(ev)))
            }));
            return answer_as(
                StatusCode::OK,
                StreamBody::new(events).boxed(),
                content_type,
            );
        }
        let events = futures_util::stream::iter((first..n).map(move |i| {
            let mut ev = Vec::with_capacity(data.template.approx_len() + 40);
            ev.extend_from_slice(b"{\"type\":\"MODIFIED\",\"object\":");
            data.template
                .render_into(&mut ev, i % LIST_PODS, base_rv + i);
            ev.extend_from_slice(b"}\n");
            Ok::<_, Infallible>(Frame::data(Bytes::from(ev)))
        }));
        return answer(StatusCode::OK, StreamBody::new(events).boxed());
    }
    if let Some(limit) = param(query, "limit").and_then(|l| l.parse::<usize>().ok())
        && limit > 0
    {
        let from = param(query, "continue")
            .and_then(|c| c.parse::<usize>().ok())
            .unwrap_or(0);
        if protobuf {
            return pb_page(data, from, limit);
        }
        return answer(StatusCode::OK, page(data, from, limit));
    }
    if protobuf {
        return pb_page(data, 0, usize::MAX);
    }
    let accepts_gzip = req
        .headers()
        .get_all(http::header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    if let Some(gz) = data.list_gzip.as_ref().filter(|_| accepts_gzip) {
        let body = futures_util::stream::iter(frames(gz.clone()));
        let mut resp = answer(StatusCode::OK, StreamBody::new(body).boxed());
        resp.headers_mut().insert(
            http::header::CONTENT_ENCODING,
            http::HeaderValue::from_static("gzip"),
        );
        return resp;
    }
    let body = futures_util::stream::iter(frames(data.list.clone()));
    answer(StatusCode::OK, StreamBody::new(body).boxed())
}

/// `bytes` gzip-compressed at level 1, kube-apiserver's level
/// (`defaultGzipContentEncodingLevel`).
fn gzip(bytes: &[u8]) -> Bytes {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(1));
    gz.write_all(bytes).expect("gzip into memory");
    Bytes::from(gz.finish().expect("gzip into memory"))
}

/// The whole list, and where each item starts and ends in it.
fn render_list(template: &PodTemplate, pods: u64) -> (Bytes, Vec<(usize, usize)>) {
    let mut out = Vec::with_capacity(template.approx_len() * pods as usize + 256);
    out.extend_from_slice(
        format!(
            r#"{{"kind":"PodList","apiVersion":"v1","metadata":{{"resourceVersion":"{LIST_RV}"}},"items":["#
        )
        .as_bytes(),
    );
    let mut items = Vec::with_capacity(pods as usize);
    for i in 0..pods {
        if i > 0 {
            out.push(b',');
        }
        let start = out.len();
        template.render_into(&mut out, i, 1000 + i);
        items.push((start, out.len()));
    }
    out.extend_from_slice(b"]}\n");
    (Bytes::from(out), items)
}

fn main() {
    let mut list_pods = LIST_PODS;
    let mut watch_events = 100_000u64;
    let mut max_seconds = 3 * 3600u64;
    let mut threads = 1usize;
    let mut fixture = PodTemplate::default_path();
    let mut with_gzip = false;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().unwrap_or_default();
        match a.as_str() {
            "--list-pods" => list_pods = val().parse().expect("--list-pods N"),
            "--watch-events" => watch_events = val().parse().expect("--watch-events N"),
            "--max-seconds" => max_seconds = val().parse().expect("--max-seconds N"),
            "--threads" => threads = val().parse().expect("--threads N"),
            "--fixture" => fixture = val().into(),
            "--gzip" => with_gzip = true,
            other => {
                eprintln!(
                    "bench-server: unknown argument {other:?}\nusage: bench-server [--list-pods N] [--watch-events N] [--threads N] [--max-seconds N] [--fixture PATH] [--gzip]"
                );
                std::process::exit(2);
            }
        }
    }
    let template = PodTemplate::load(&fixture);
    let (list, items) = render_list(&template, list_pods);
    let pb = pb::Bodies::new(&template, list_pods);
    let pb_list: usize = pb.page(LIST_RV, 0, usize::MAX).iter().map(Bytes::len).sum();
    eprintln!(
        "bench-server: pod {} bytes, list of {list_pods} pods {} bytes, watch of {watch_events} events; protobuf: pod {} bytes, list {pb_list} bytes, watch frame {} bytes",
        template.render(0, 1000).len(),
        list.len(),
        pb.get(0, &kubecto_bench::pod_name(0)).len(),
        pb.watch_frame_len(),
    );
    let list_gzip = with_gzip.then(|| gzip(&list));
    if let Some(gz) = &list_gzip {
        eprintln!(
            "bench-server: the list gzip-compressed (level 1): {} bytes",
            gz.len()
        );
    }
    let data = Arc::new(Data {
        template,
        list,
        items,
        pb,
        watch_events,
        list_gzip,
    });

    // Exit when the driver closes our stdin, or after max_seconds in any case.
    std::thread::spawn(|| {
        let mut sink = [0u8; 64];
        while let Ok(n) = std::io::stdin().read(&mut sink) {
            if n == 0 {
                break;
            }
        }
        std::process::exit(0);
    });
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(max_seconds));
        eprintln!("bench-server: {max_seconds} s passed; exiting");
        std::process::exit(0);
    });

    let rt = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
    .expect("tokio runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        println!("http://{addr}");
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let data = Arc::clone(&data);
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| {
                    let resp = handle(&data, &req);
                    async move { Ok::<_, Infallible>(resp) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
}
