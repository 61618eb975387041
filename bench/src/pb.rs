//! The bench server's protobuf bodies, framed as kube-apiserver frames them, on the same
//! pods as the JSON ones (the coredns pod of [`PodTemplate`] with name, uid and
//! resourceVersion varying per item), encoded with kubecto-protobuf:
//!
//! - GET: `k8s\0`, then a `runtime.Unknown` (typeMeta `v1`/`Pod`, raw = the Pod message,
//!   contentEncoding and contentType empty);
//! - LIST: the same envelope with kind `PodList` around a PodList message: `ListMeta`
//!   (field 1: selfLink, resourceVersion, continue, remainingItemCount) and the items
//!   (field 2, each a Pod message, no envelope), paged on `limit` as the JSON list is;
//! - WATCH (`;stream=watch`): each event a 4-byte big-endian length, then a
//!   `metav1.WatchEvent` (type 1, object 2: a `RawExtension` whose raw 1 is the Pod in
//!   its own envelope).
//!
//! Everything that does not vary is encoded once at start: the list's items are one
//! buffer that GETs and pages slice, and a watch event is a template frame whose name,
//! uid and resourceVersion are overwritten in place (they have the same length for every
//! event), so serving costs copies, not encodes.

use bytes::Bytes;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ListMeta, WatchEvent};
use kubecto_protobuf::Protobuf;
use kubecto_protobuf::envelope::{self, MAGIC};

use crate::{PodTemplate, pod_name, pod_uid};

/// kube-apiserver's protobuf media type.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";
/// The media type of a protobuf watch.
pub const WATCH_CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf;stream=watch";

/// Whether a request's `Accept` asks for protobuf first (client-go's and kubecto's
/// `application/vnd.kubernetes.protobuf, application/json`).
pub fn wants_protobuf(accept: &str) -> bool {
    accept
        .split(',')
        .next()
        .and_then(|first| first.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(CONTENT_TYPE))
}

/// Appends `v` as a protobuf varint.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends the key and length of a length-delimited field.
fn put_len_key(out: &mut Vec<u8>, field: u64, len: usize) {
    put_varint(out, field << 3 | 2);
    put_varint(out, len as u64);
}

/// Appends a length-delimited field.
fn put_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_len_key(out, field, bytes.len());
    out.extend_from_slice(bytes);
}

/// The pod the JSON server serves as `template.render(i, rv)`, as a k8s-openapi `Pod`.
pub fn pod(base: &Pod, i: u64, rv: u64) -> Pod {
    let mut pod = base.clone();
    pod.metadata.name = Some(pod_name(i));
    pod.metadata.uid = Some(pod_uid(i));
    pod.metadata.resource_version = Some(rv.to_string());
    pod
}

/// The template's pod decoded from its JSON (what every per-item pod is made from).
pub fn base_pod(template: &PodTemplate) -> Pod {
    serde_json::from_slice(&template.render(0, 1000)).expect("the pod template decodes")
}

/// A GET body: the envelope around `raw`, a Pod's own message.
pub fn get_body(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + 32);
    envelope::encode_raw("v1", "Pod", raw, &mut out);
    out
}

/// The pre-rendered protobuf side of the bench server.
#[derive(Debug, Clone)]
pub struct Bodies {
    base: Pod,
    /// The list's items as they sit in a PodList message: key, length and Pod message each.
    items: Bytes,
    /// Where each item (key included) starts and ends in `items`, and where its Pod
    /// message starts.
    spans: Vec<(usize, usize, usize)>,
    watch: WatchTemplate,
}

impl Bodies {
    /// Encodes `pods` list items (pod `i` at resourceVersion `1000 + i`, as the JSON
    /// list) and the watch event template.
    pub fn new(template: &PodTemplate, pods: u64) -> Bodies {
        let base = base_pod(template);
        let mut items = Vec::new();
        let mut spans = Vec::with_capacity(pods as usize);
        let mut msg = Vec::new();
        for i in 0..pods {
            msg.clear();
            pod(&base, i, 1000 + i).encode(&mut msg);
            let start = items.len();
            put_len_key(&mut items, 2, msg.len());
            let at = items.len();
            items.extend_from_slice(&msg);
            spans.push((start, items.len(), at));
        }
        let watch = WatchTemplate::new(&base);
        Bodies {
            base,
            items: Bytes::from(items),
            spans,
            watch,
        }
    }

    /// How many pods the list holds.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The GET body of pod `i` at resourceVersion `1000 + i`, named `name` (encoded on the
    /// spot when the name is not the list's `i`-th).
    pub fn get(&self, i: u64, name: &str) -> Vec<u8> {
        match self.spans.get(i as usize) {
            Some(&(_, end, at)) if pod_name(i) == name => get_body(&self.items[at..end]),
            _ => {
                let mut pod = pod(&self.base, i, 1000 + i);
                pod.metadata.name = Some(name.to_owned());
                let mut out = Vec::new();
                envelope::encode(&pod, &mut out);
                out
            }
        }
    }

    /// One page of the list: items `from..from + limit`, with a `continue` token (the next
    /// index) and `remainingItemCount` while items remain; `limit` of `usize::MAX` is the
    /// whole list. Returns the head (envelope, ListMeta, up to the first item), the items
    /// (a slice of the pre-rendered buffer) and the tail (the envelope's last fields).
    pub fn page(&self, list_rv: u64, from: usize, limit: usize) -> [Bytes; 3] {
        let n = self.spans.len();
        let from = from.min(n);
        let to = from.saturating_add(limit).min(n);
        let meta = ListMeta {
            resource_version: Some(list_rv.to_string()),
            continue_: (to < n).then(|| to.to_string()),
            remaining_item_count: (to < n).then(|| (n - to) as i64),
            ..ListMeta::default()
        };
        let mut meta_msg = Vec::new();
        meta.encode(&mut meta_msg);
        let items = if from < to {
            self.items.slice(self.spans[from].0..self.spans[to - 1].1)
        } else {
            Bytes::new()
        };
        let mut list_head = Vec::with_capacity(meta_msg.len() + 8);
        put_bytes(&mut list_head, 1, &meta_msg);
        let raw_len = list_head.len() + items.len();
        let mut head = Vec::with_capacity(list_head.len() + 32);
        head.extend_from_slice(&MAGIC);
        let mut type_meta = Vec::new();
        put_bytes(&mut type_meta, 1, b"v1");
        put_bytes(&mut type_meta, 2, b"PodList");
        put_bytes(&mut head, 1, &type_meta);
        put_len_key(&mut head, 2, raw_len);
        head.extend_from_slice(&list_head);
        // contentEncoding (3) and contentType (4), empty, as kube-apiserver writes them.
        let tail = Bytes::from_static(&[0x1a, 0x00, 0x22, 0x00]);
        [Bytes::from(head), items, tail]
    }

    /// Appends watch frame `i`: a MODIFIED event of pod `i % pods` at resourceVersion `rv`.
    pub fn watch_frame_into(&self, out: &mut Vec<u8>, i: u64, pods: u64, rv: u64) {
        self.watch.render_into(&self.base, out, i % pods.max(1), rv);
    }

    /// About how many bytes one watch frame takes.
    pub fn watch_frame_len(&self) -> usize {
        self.watch.frame.len()
    }
}

/// Sentinels the watch template is encoded with, found afterwards and overwritten per
/// event: bytes that occur nowhere else in the frame.
const NAME_SENTINEL: u8 = 0x01;
const UID_SENTINEL: u8 = 0x02;
const RV_SENTINEL: u8 = 0x03;

/// A MODIFIED event frame of the template pod, with where its name, uid and
/// resourceVersion sit.
#[derive(Debug, Clone)]
struct WatchTemplate {
    frame: Vec<u8>,
    name_at: usize,
    uid_at: usize,
    rv_at: usize,
    rv_len: usize,
}

/// One whole watch frame of `pod`, encoded from scratch.
pub fn watch_frame(pod: Pod) -> Vec<u8> {
    let mut msg = Vec::new();
    kubecto_protobuf::watch::encode_event(&WatchEvent::Modified(pod), &mut msg);
    let mut frame = Vec::with_capacity(msg.len() + 4);
    frame.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    frame.extend_from_slice(&msg);
    frame
}

/// Where the only run of `len` bytes `b` is in `hay`.
fn find_only(hay: &[u8], b: u8, len: usize) -> usize {
    let needle = vec![b; len];
    let found: Vec<usize> = hay
        .windows(len)
        .enumerate()
        .filter(|(_, w)| *w == needle.as_slice())
        .map(|(at, _)| at)
        .collect();
    assert_eq!(found.len(), 1, "sentinel {b:#x} occurs once in the frame");
    found[0]
}

impl WatchTemplate {
    /// The template for events at resourceVersions of `rv_len` digits (the watch's
    /// `WATCH_BASE_RV + i`).
    fn new(base: &Pod) -> WatchTemplate {
        let rv_len = crate::WATCH_BASE_RV.to_string().len();
        let mut pod = base.clone();
        let s = |b: u8, n: usize| String::from_utf8(vec![b; n]).expect("ASCII");
        pod.metadata.name = Some(s(NAME_SENTINEL, pod_name(0).len()));
        pod.metadata.uid = Some(s(UID_SENTINEL, pod_uid(0).len()));
        pod.metadata.resource_version = Some(s(RV_SENTINEL, rv_len));
        let frame = watch_frame(pod);
        WatchTemplate {
            name_at: find_only(&frame, NAME_SENTINEL, pod_name(0).len()),
            uid_at: find_only(&frame, UID_SENTINEL, pod_uid(0).len()),
            rv_at: find_only(&frame, RV_SENTINEL, rv_len),
            rv_len,
            frame,
        }
    }

    fn render_into(&self, base: &Pod, out: &mut Vec<u8>, i: u64, rv: u64) {
        let (name, uid, rv_s) = (pod_name(i), pod_uid(i), rv.to_string());
        if name.len() != pod_name(0).len()
            || uid.len() != pod_uid(0).len()
            || rv_s.len() != self.rv_len
        {
            // Lengths differ from the template's: encode the whole frame.
            out.extend_from_slice(&watch_frame(pod(base, i, rv)));
            return;
        }
        let start = out.len();
        out.extend_from_slice(&self.frame);
        let frame = &mut out[start..];
        frame[self.name_at..self.name_at + name.len()].copy_from_slice(name.as_bytes());
        frame[self.uid_at..self.uid_at + uid.len()].copy_from_slice(uid.as_bytes());
        frame[self.rv_at..self.rv_at + rv_s.len()].copy_from_slice(rv_s.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kubecto_protobuf::DecodeOptions;
    use kubecto_protobuf::envelope::Unknown;

    fn template() -> PodTemplate {
        PodTemplate::load(&PodTemplate::default_path())
    }

    /// A recorded body of a real kube-apiserver v1.36 (`crates/protobuf/tests/data`).
    fn recorded(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../crates/protobuf/tests/data")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The (field, wire type) of each top-level field of a protobuf message.
    fn layout(mut b: &[u8]) -> Vec<(u64, u8)> {
        fn varint(b: &mut &[u8]) -> u64 {
            let mut v = 0u64;
            let mut shift = 0;
            loop {
                let byte = b[0];
                *b = &b[1..];
                v |= u64::from(byte & 0x7f) << shift;
                if byte < 0x80 {
                    return v;
                }
                shift += 7;
            }
        }
        let mut out = Vec::new();
        while !b.is_empty() {
            let key = varint(&mut b);
            let wt = (key & 7) as u8;
            match wt {
                0 => {
                    varint(&mut b);
                }
                2 => {
                    let n = varint(&mut b) as usize;
                    b = &b[n..];
                }
                other => panic!("wire type {other}"),
            }
            out.push((key >> 3, wt));
        }
        out
    }

    /// The payload of each length-delimited top-level field numbered `field`.
    fn fields(mut b: &[u8], field: u64) -> Vec<&[u8]> {
        let mut out = Vec::new();
        while !b.is_empty() {
            let mut key = 0u64;
            let mut shift = 0;
            loop {
                let byte = b[0];
                b = &b[1..];
                key |= u64::from(byte & 0x7f) << shift;
                if byte < 0x80 {
                    break;
                }
                shift += 7;
            }
            let mut v = 0u64;
            let mut shift = 0;
            loop {
                let byte = b[0];
                b = &b[1..];
                v |= u64::from(byte & 0x7f) << shift;
                if byte < 0x80 {
                    break;
                }
                shift += 7;
            }
            if key & 7 == 2 {
                let n = v as usize;
                if key >> 3 == field {
                    out.push(&b[..n]);
                }
                b = &b[n..];
            }
        }
        out
    }

    fn frames(mut b: &[u8]) -> Vec<&[u8]> {
        let mut out = Vec::new();
        while !b.is_empty() {
            let n = u32::from_be_bytes(b[..4].try_into().unwrap()) as usize;
            out.push(&b[4..4 + n]);
            b = &b[4 + n..];
        }
        out
    }

    fn json_pod(t: &PodTemplate, i: u64, rv: u64) -> Pod {
        serde_json::from_slice(&t.render(i, rv)).unwrap()
    }

    #[test]
    fn get_is_the_json_pod_in_the_recorded_envelope() {
        let t = template();
        let bodies = Bodies::new(&t, 3);
        let body = bodies.get(2, &pod_name(2));
        let want = json_pod(&t, 2, 1002);
        let got: Pod = envelope::decode(&body, &DecodeOptions::default()).unwrap();
        assert_eq!(got, want);
        let real = recorded("get-pod.bin");
        assert!(body.starts_with(&MAGIC));
        assert_eq!(layout(&body[4..]), layout(&real[4..]));
        let tm = |b: &[u8]| layout(fields(&b[4..], 1)[0]);
        assert_eq!(tm(&body), tm(&real));
        let raw = |b: &[u8]| layout(fields(&b[4..], 2)[0]);
        assert_eq!(raw(&body), raw(&real));
        // A name the list does not hold is encoded on the spot.
        let other: Pod =
            envelope::decode(&bodies.get(2, "other"), &DecodeOptions::default()).unwrap();
        assert_eq!(other.metadata.name.as_deref(), Some("other"));
    }

    #[test]
    fn list_pages_have_the_recorded_layout_and_the_json_pods() {
        let t = template();
        let bodies = Bodies::new(&t, 5);
        let join = |parts: [Bytes; 3]| parts.concat();
        for (from, limit, real) in [
            (0, usize::MAX, "list-pods.bin"),
            (1, 2, "list-pods-limit2.bin"),
        ] {
            let body = join(bodies.page(77, from, limit));
            let real = recorded(real);
            assert_eq!(layout(&body[4..]), layout(&real[4..]));
            let list = |b: &[u8]| fields(&b[4..], 2)[0].to_vec();
            let (ours, theirs) = (list(&body), list(&real));
            let dedup = |l: Vec<(u64, u8)>| {
                let mut l = l;
                l.dedup();
                l
            };
            assert_eq!(dedup(layout(&ours)), dedup(layout(&theirs)));
            let meta = |b: &[u8]| layout(fields(b, 1)[0]);
            assert_eq!(meta(&ours), meta(&theirs), "ListMeta of {real:?}");
            let got: k8s_openapi::List<Pod> =
                envelope::decode(&body, &DecodeOptions::default()).unwrap();
            let to = from.saturating_add(limit).min(5);
            let want: Vec<Pod> = (from as u64..to as u64)
                .map(|i| json_pod(&t, i, 1000 + i))
                .collect();
            assert_eq!(got.items, want);
            assert_eq!(got.metadata.resource_version.as_deref(), Some("77"));
            if to < 5 {
                assert_eq!(got.metadata.continue_.as_deref(), Some("3"));
                assert_eq!(got.metadata.remaining_item_count, Some(2));
            } else {
                assert_eq!(got.metadata.continue_, None);
            }
        }
    }

    #[test]
    fn watch_frames_are_encoded_events_with_the_recorded_layout() {
        let t = template();
        let bodies = Bodies::new(&t, 4);
        let real = recorded("watch-pods-stream.bin");
        let real_frames = frames(&real);
        let mut stream = Vec::new();
        for i in [0u64, 5, 99_999] {
            let rv = crate::WATCH_BASE_RV + i;
            let mut one = Vec::new();
            bodies.watch_frame_into(&mut one, i, 4, rv);
            assert_eq!(one, watch_frame(pod(&bodies.base, i % 4, rv)), "event {i}");
            stream.extend_from_slice(&one);
        }
        // A resourceVersion of another length takes the slow path, same bytes.
        let mut long = Vec::new();
        bodies.watch_frame_into(&mut long, 3, 4, 12_345_678_901);
        assert_eq!(long, watch_frame(pod(&bodies.base, 3, 12_345_678_901)));
        for (i, frame) in frames(&stream).into_iter().enumerate() {
            assert_eq!(layout(frame), layout(real_frames[1]));
            let object = fields(frame, 2)[0];
            assert_eq!(layout(object), layout(fields(real_frames[1], 2)[0]));
            let raw = fields(object, 1)[0];
            let unknown = Unknown::decode(raw).unwrap();
            assert_eq!((unknown.api_version, unknown.kind), ("v1", "Pod"));
            assert_eq!(
                layout(&raw[4..]),
                layout(&fields(fields(real_frames[1], 2)[0], 1)[0][4..])
            );
            let ev: WatchEvent<Pod> =
                kubecto_protobuf::watch::decode_event(frame, &DecodeOptions::default()).unwrap();
            let n = [0u64, 5, 99_999][i];
            let want = json_pod(&t, n % 4, crate::WATCH_BASE_RV + n);
            assert!(
                matches!(ev, WatchEvent::Modified(p) if p == want),
                "event {n}"
            );
        }
    }

    #[test]
    fn accept_negotiation() {
        assert!(wants_protobuf(
            "application/vnd.kubernetes.protobuf, application/json"
        ));
        assert!(wants_protobuf("application/vnd.kubernetes.protobuf"));
        assert!(!wants_protobuf("application/json"));
        assert!(!wants_protobuf(
            "application/json, application/vnd.kubernetes.protobuf"
        ));
        assert!(!wants_protobuf(""));
    }
}
