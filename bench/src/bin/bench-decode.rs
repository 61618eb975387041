//! Micro-measurements behind the findings about rest-core's decode path (not part of the
//! kubecto vs kube-rs table): for one realistic pod (7.5 KB) and one watch event,
//!
//! - `serde_json::from_slice::<Pod>` (what rest-core does: `response.rs` `decode`, list and
//!   watch items) against `std::str::from_utf8` once + `serde_json::from_str::<Pod>`
//!   (serde_json then skips its per-string UTF-8 checks);
//! - dropping a decoded `Pod`;
//! - finding where one JSON value ends: a byte-at-a-time scanner (a copy of rest-core's
//!   `scan.rs` `ValueScanner`) against a scanner that jumps with `memchr` inside strings,
//!   and against `memchr(b'\n')` (what kube-rs's line framing costs);
//! - simd-json through serde into the same `Pod`: `simd_json::serde::from_slice` on a
//!   fresh mutable copy, `from_slice_with_buffers` with reused `Buffers` (and a reused
//!   copy), and `fill_tape_padded` into a reused padded scratch with a reused `Tape`;
//! - heap held per decoded pod and peak heap while decoding, per decoder (`--heap`), and
//!   for a whole LIST body of N pods decoded at once (`--heap-list`).
//!
//! Figures (2026-11-27, 7,498-byte pod, callgrind `--only OP`, 200 iterations; heap from
//! the counting allocator below):
//!
//! | decoder, + drop | instructions | held per pod | peak while decoding one |
//! |---|---|---|---|
//! | `from_utf8` + `serde_json::from_str` | 345.8 K | 51.4 KB | 51.5 KB |
//! | `simd_json::serde::from_slice` on a fresh copy | 349.5 K | 44.8 KB | 92.9 KB |
//! | `from_slice_with_buffers`, reused buffers | 343.5 K | 44.8 KB | 83.1 KB |
//! | `fill_tape_padded`, reused buffers, tape and scratch | 336.4 K | 44.8 KB | 44.8 KB |
//! | copying the pod into a reused scratch (part of the line above) | 0.8 K | | |
//!
//! User CPU of 30,000 decodes (`/usr/bin/time`, 4–8 alternating runs): from_str 31–33 µs,
//! padded simd-json 30–32 µs per pod: about 3–5% less, not the 1.5x once noted. Most of
//! the cost is building and dropping the k8s-openapi types (malloc/free, BTreeMap inserts
//! for `fieldsV1`), which no parser changes. simd-json holds 13% less heap per pod because
//! it knows each array's length (exact `Vec` capacities). A whole LIST decoded at once is
//! the opposite: 10,000 pods (75 MB) hold 482 MB against 554 MB, but peak 1,165 MB above
//! the body against 554 MB (`--heap-list`: the tape and structural index of the whole body).
//!
//! Protobuf (kubecto-protobuf, the same pod as the bench server encodes it: 4,839 bytes in
//! its envelope): `Pod::decode` of the message, with and without
//! `DecodeOptions::drop_managed_fields`, timed, with `--heap`, and as `--only pb`,
//! `--only pb_drop` (decode + drop), `--only pb_keep` (decode, never freed) for callgrind.
//!
//! usage: bench-decode [iterations] [--only OP | --heap | --heap-list]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use k8s_openapi::api::core::v1::Pod;
use kubecto_bench::PodTemplate;
use kubecto_protobuf::{DecodeOptions, Protobuf};

/// Counts the bytes the process holds on the heap, and the peak (for `--heap`).
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

fn note_alloc(n: usize) {
    ALLOCS.fetch_add(1, Ordering::Relaxed);
    let now = LIVE.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: forwards to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_alloc(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        note_alloc(new);
        unsafe { System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Reused state for simd-json, as a stream would keep it: the buffers, the tape, and a
/// padded scratch copy of the input (simd-json rewrites escaped strings in place).
struct Simd {
    buffers: simd_json::Buffers,
    tape: Option<simd_json::Tape<'static>>,
    scratch: Vec<u8>,
}

impl Simd {
    fn new() -> Self {
        Self {
            buffers: simd_json::Buffers::default(),
            tape: Some(simd_json::Tape::null()),
            scratch: Vec::new(),
        }
    }

    /// `from_slice_with_buffers` on a reused (unpadded) copy.
    fn with_buffers(&mut self, json: &[u8]) -> Pod {
        self.scratch.clear();
        self.scratch.extend_from_slice(json);
        simd_json::serde::from_slice_with_buffers(&mut self.scratch, &mut self.buffers)
            .expect("pod")
    }

    /// `fill_tape_padded` on a reused padded copy, with a reused tape.
    fn padded(&mut self, json: &[u8]) -> Pod {
        self.padded_any(json)
    }

    fn padded_any<T: serde::de::DeserializeOwned>(&mut self, json: &[u8]) -> T {
        self.scratch.clear();
        self.scratch.extend_from_slice(json);
        self.scratch
            .resize(json.len() + simd_json::INPUT_PADDING, b' ');
        let mut tape = self.tape.take().expect("tape").reset();
        simd_json::fill_tape_padded(&mut self.scratch, json.len(), &mut self.buffers, &mut tape)
            .expect("tape");
        let mut de = simd_json::Deserializer::from_tape(tape);
        let value = T::deserialize(&mut de).expect("value");
        self.tape = Some(de.into_tape().reset());
        value
    }
}

/// A decoder and its label.
type Labelled<'a, F> = (&'static str, &'a F);
type PodDecoder<'a> = dyn Fn(&mut Simd) -> Pod + 'a;
type ListDecoder<'a> = dyn Fn(&[u8]) -> k8s_openapi::List<Pod> + 'a;

/// `--heap`: decodes `n` pods with each decoder and keeps them; heap held per pod and
/// the peak while decoding.
fn heap(pod: &[u8], n: usize) {
    let raw = pb_message(pod);
    let (keep, drop_mf) = (
        DecodeOptions::default(),
        DecodeOptions::default().drop_managed_fields(true),
    );
    let decoders: [Labelled<'_, PodDecoder<'_>>; 8] = [
        ("kubecto-protobuf Pod::decode", &|_| {
            Pod::decode(&raw, &keep).expect("pod")
        }),
        ("kubecto-protobuf, drop_managed_fields", &|_| {
            Pod::decode(&raw, &drop_mf).expect("pod")
        }),
        ("serde_json::from_slice", &|_| {
            serde_json::from_slice(pod).expect("pod")
        }),
        ("from_utf8 + serde_json::from_str", &|_| {
            serde_json::from_str(std::str::from_utf8(pod).expect("utf8")).expect("pod")
        }),
        ("simd_json::serde::from_slice (fresh copy)", &|_| {
            simd_json::serde::from_slice(&mut pod.to_vec()).expect("pod")
        }),
        ("simd from_slice_with_buffers (reused)", &|s| {
            s.with_buffers(pod)
        }),
        ("simd fill_tape_padded (reused tape + scratch)", &|s| {
            s.padded(pod)
        }),
        ("simd padded, then managedFields = None", &|s| {
            let mut p = s.padded(pod);
            p.metadata.managed_fields = None;
            p
        }),
    ];
    println!(
        "heap, {n} pods kept: held per pod / peak above the kept pods while decoding one / allocations per pod (reallocations included)"
    );
    for (label, decode) in decoders {
        let mut simd = Simd::new();
        drop(decode(&mut simd)); // warm the reused buffers
        let mut kept = Vec::with_capacity(n);
        let before = LIVE.load(Ordering::Relaxed);
        let allocs_before = ALLOCS.load(Ordering::Relaxed);
        let mut over = 0usize;
        for _ in 0..n {
            let base = LIVE.load(Ordering::Relaxed);
            PEAK.store(base, Ordering::Relaxed);
            kept.push(decode(&mut simd));
            over = over.max(PEAK.load(Ordering::Relaxed) - base);
        }
        let held = (LIVE.load(Ordering::Relaxed) - before) / n;
        let allocs = (ALLOCS.load(Ordering::Relaxed) - allocs_before) / n;
        println!(
            "{label:<50} {:>7} B held {:>7} B peak {allocs:>5} allocations",
            held, over
        );
        drop(kept);
    }
}

/// The pod's own protobuf message, as the bench server sends it (the `raw` of its
/// envelope, or a list item).
fn pb_message(json: &[u8]) -> Vec<u8> {
    let pod: Pod = serde_json::from_slice(json).expect("pod");
    pod.encode_to_vec()
}

/// `--heap-list`: one LIST body of `n` pods decoded whole into `List<Pod>` (what
/// `Response::into` does): heap held by the list, and the peak above the body while
/// decoding (the body itself excluded).
fn heap_list(template: &PodTemplate, n: u64) {
    let mut body =
        br#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9"},"items":["#
            .to_vec();
    for i in 0..n {
        if i > 0 {
            body.push(b',');
        }
        template.render_into(&mut body, i, 1000 + i);
    }
    body.extend_from_slice(b"]}");
    println!(
        "LIST body of {n} pods: {:.1} MB; held by the list / peak above the body while decoding",
        body.len() as f64 / 1e6
    );
    let decoders: [Labelled<'_, ListDecoder<'_>>; 2] = [
        ("from_utf8 + serde_json::from_str", &|b| {
            serde_json::from_str(std::str::from_utf8(b).expect("utf8")).expect("list")
        }),
        ("simd fill_tape_padded (padded copy of the body)", &|b| {
            Simd::new().padded_any(b)
        }),
    ];
    for (label, decode) in decoders {
        let base = LIVE.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let list = decode(&body);
        let held = LIVE.load(Ordering::Relaxed) - base;
        let peak = PEAK.load(Ordering::Relaxed) - base;
        println!(
            "{label:<50} {:>7.1} MB held {:>7.1} MB peak",
            held as f64 / 1e6,
            peak as f64 / 1e6
        );
        drop(list);
    }
}

/// rest-core's `ValueScanner` (crates/rest-core/src/codec/scan.rs), copied verbatim in logic.
#[derive(Default)]
struct ByteScanner {
    started: bool,
    scalar: bool,
    depth: u32,
    in_string: bool,
    escape: bool,
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

impl ByteScanner {
    fn scan(&mut self, buf: &[u8], from: usize) -> Option<usize> {
        let mut i = from;
        if !self.started {
            let &first = buf.first()?;
            self.started = true;
            i = 1;
            match first {
                b'{' | b'[' => self.depth = 1,
                b'"' => self.in_string = true,
                _ => self.scalar = true,
            }
        }
        while i < buf.len() {
            let b = buf[i];
            if self.scalar {
                if is_ws(b) || matches!(b, b',' | b'}' | b']' | b':') {
                    return Some(i);
                }
            } else if self.in_string {
                if self.escape {
                    self.escape = false;
                } else if b == b'\\' {
                    self.escape = true;
                } else if b == b'"' {
                    self.in_string = false;
                    if self.depth == 0 {
                        return Some(i + 1);
                    }
                }
            } else {
                match b {
                    b'"' => self.in_string = true,
                    b'{' | b'[' => self.depth += 1,
                    b'}' | b']' => {
                        self.depth -= 1;
                        if self.depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
            }
            i += 1;
        }
        None
    }
}

/// The same state machine, but inside a string it jumps to the next `"` or `\` with
/// `memchr2`, and outside strings to the next of `"`, `{`/`[`, `}`/`]` with `memchr3`
/// twice (objects and arrays); resumable the same way.
#[derive(Default)]
struct JumpScanner {
    depth: u32,
    in_string: bool,
    escape: bool,
}

impl JumpScanner {
    /// For an object or array starting at buf[0].
    fn scan(&mut self, buf: &[u8], from: usize) -> Option<usize> {
        let mut i = from;
        if i == 0 {
            self.depth = 1;
            i = 1;
        }
        while i < buf.len() {
            if self.escape {
                self.escape = false;
                i += 1;
                continue;
            }
            if self.in_string {
                let j = i + memchr::memchr2(b'"', b'\\', &buf[i..])?;
                if buf[j] == b'\\' {
                    self.escape = true;
                } else {
                    self.in_string = false;
                }
                i = j + 1;
                continue;
            }
            // Outside strings: the next structural byte.
            let rest = &buf[i..];
            let a = memchr::memchr3(b'"', b'{', b'}', rest);
            let b = memchr::memchr2(b'[', b']', &rest[..a.unwrap_or(rest.len())]);
            let j = i + match (a, b) {
                (_, Some(b)) => b,
                (Some(a), None) => a,
                (None, None) => return None,
            };
            match buf[j] {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                _ => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        return Some(j + 1);
                    }
                }
            }
            i = j + 1;
        }
        None
    }
}

fn time_per_op(label: &str, iters: u32, mut f: impl FnMut()) -> f64 {
    // warm up
    for _ in 0..iters / 10 + 1 {
        f();
    }
    let mut samples = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..iters {
            f();
        }
        samples.push(t.elapsed().as_nanos() as f64 / f64::from(iters));
    }
    samples.sort_by(f64::total_cmp);
    let med = samples[2];
    println!("{label:<58} {:>9.2} µs", med / 1e3);
    med
}

fn main() {
    let iters: u32 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    let template = PodTemplate::load(&PodTemplate::default_path());
    let pod = template.render(7, 1007);
    let mut event = b"{\"type\":\"MODIFIED\",\"object\":".to_vec();
    event.extend_from_slice(&pod);
    event.extend_from_slice(b"}\n");
    // `bench-decode N --only OP`: run one operation N times, untimed (for
    // `valgrind --tool=callgrind`: instructions per operation = (Ir(N) - Ir(0)) / N).
    if std::env::args().any(|a| a == "--heap-list") {
        heap_list(&template, u64::from(iters));
        return;
    }
    if std::env::args().any(|a| a == "--heap") {
        heap(&pod, iters as usize);
        return;
    }
    let raw = pb_message(&pod);
    let keep = DecodeOptions::default();
    let drop_mf = DecodeOptions::default().drop_managed_fields(true);
    if let Some(op) = std::env::args().skip_while(|a| a != "--only").nth(1) {
        let mut simd = Simd::new();
        let mut copy = Vec::new();
        for _ in 0..iters {
            match op.as_str() {
                "pb" => drop(black_box(Pod::decode(black_box(&raw), &keep).expect("pod"))),
                "pb_drop" => drop(black_box(
                    Pod::decode(black_box(&raw), &drop_mf).expect("pod"),
                )),
                "pb_keep" => {
                    std::mem::forget(black_box(Pod::decode(black_box(&raw), &keep).expect("pod")))
                }
                "from_slice" => drop(black_box(serde_json::from_slice::<Pod>(&pod).expect("pod"))),
                "from_str" => drop(black_box(
                    serde_json::from_str::<Pod>(std::str::from_utf8(&pod).expect("utf8"))
                        .expect("pod"),
                )),
                "simd_from_slice" => drop(black_box(
                    simd_json::serde::from_slice::<Pod>(&mut pod.clone()).expect("pod"),
                )),
                "simd_buffers" => drop(black_box(simd.with_buffers(&pod))),
                "simd_padded" => drop(black_box(simd.padded(&pod))),
                "copy" => {
                    copy.clear();
                    copy.extend_from_slice(black_box(&pod));
                    black_box(&copy);
                }
                "decode_keep" => {
                    std::mem::forget(black_box(serde_json::from_slice::<Pod>(&pod).expect("pod")))
                }
                "byte_scan" => {
                    black_box(ByteScanner::default().scan(black_box(&event), 0));
                }
                "memchr_scan" => {
                    black_box(JumpScanner::default().scan(black_box(&event), 0));
                }
                "newline" => {
                    black_box(memchr::memchr(b'\n', black_box(&event)));
                }
                "none" => {}
                other => panic!("unknown op {other}"),
            }
        }
        return;
    }
    println!(
        "one pod: {} bytes; one watch event: {} bytes; median of 5 batches of {iters}",
        pod.len(),
        event.len()
    );
    println!();
    let slice = time_per_op("serde_json::from_slice::<Pod> + drop", iters, || {
        let p: Pod = serde_json::from_slice(black_box(&pod)).expect("pod");
        black_box(&p);
    });
    let via_str = time_per_op(
        "str::from_utf8 + serde_json::from_str::<Pod> + drop",
        iters,
        || {
            let s = std::str::from_utf8(black_box(&pod)).expect("utf8");
            let p: Pod = serde_json::from_str(s).expect("pod");
            black_box(&p);
        },
    );
    let mut simd = Simd::new();
    let simd_fresh = time_per_op(
        "simd_json::serde::from_slice (fresh copy) + drop",
        iters,
        || {
            let p: Pod = simd_json::serde::from_slice(&mut black_box(&pod).clone()).expect("pod");
            black_box(&p);
        },
    );
    let simd_buf = time_per_op(
        "simd from_slice_with_buffers (reused) + drop",
        iters,
        || {
            black_box(&simd.with_buffers(black_box(&pod)));
        },
    );
    let simd_pad = time_per_op("simd fill_tape_padded (reused tape) + drop", iters, || {
        black_box(&simd.padded(black_box(&pod)));
    });
    let pb = time_per_op("kubecto-protobuf Pod::decode + drop", iters, || {
        black_box(&Pod::decode(black_box(&raw), &keep).expect("pod"));
    });
    let pb_drop = time_per_op(
        "kubecto-protobuf Pod::decode, drop_managed_fields + drop",
        iters,
        || {
            black_box(&Pod::decode(black_box(&raw), &drop_mf).expect("pod"));
        },
    );
    println!(
        "protobuf ({} bytes) vs simd-json padded: {:.2}x the time, {:.2}x without managedFields",
        raw.len(),
        pb / simd_pad,
        pb_drop / simd_pad
    );
    // Decode and drop apart, in batches of 100 pods (steady state, no heap growth).
    let mut decode_samples = Vec::new();
    let mut drop_samples = Vec::new();
    let mut batch: Vec<Pod> = Vec::with_capacity(100);
    for round in 0..(iters / 100).max(5) + 2 {
        let t = Instant::now();
        for _ in 0..100 {
            batch.push(serde_json::from_slice(black_box(&pod)).expect("pod"));
        }
        let d = t.elapsed().as_nanos() as f64 / 100.0;
        let t = Instant::now();
        batch.clear();
        let f = t.elapsed().as_nanos() as f64 / 100.0;
        if round >= 2 {
            decode_samples.push(d);
            drop_samples.push(f);
        }
    }
    decode_samples.sort_by(f64::total_cmp);
    drop_samples.sort_by(f64::total_cmp);
    let decode_only = decode_samples[decode_samples.len() / 2];
    let drop_ns = drop_samples[drop_samples.len() / 2];
    println!(
        "{:<58} {:>9.2} µs",
        "  of which decoding (batches of 100)",
        decode_only / 1e3
    );
    println!(
        "{:<58} {:>9.2} µs",
        "  of which dropping the Pod (batches of 100)",
        drop_ns / 1e3
    );
    time_per_op("str::from_utf8 of the whole pod alone", iters, || {
        black_box(std::str::from_utf8(black_box(&pod)).is_ok());
    });
    println!();
    let byte_scan = time_per_op(
        "rest-core ValueScanner (byte at a time) over one event",
        iters,
        || {
            let mut s = ByteScanner::default();
            assert_eq!(s.scan(black_box(&event), 0), Some(event.len() - 1));
        },
    );
    let jump_scan = time_per_op("memchr-jumping scanner over one event", iters, || {
        let mut s = JumpScanner::default();
        assert_eq!(s.scan(black_box(&event), 0), Some(event.len() - 1));
    });
    let nl = time_per_op(
        "memchr(b'\\n') over one event (line framing)",
        iters,
        || {
            assert_eq!(
                memchr::memchr(b'\n', black_box(&event)),
                Some(event.len() - 1)
            );
        },
    );
    time_per_op(
        "BytesMut extend_from_slice + split_to (one event copy)",
        iters,
        || {
            let mut b = bytes::BytesMut::new();
            b.extend_from_slice(black_box(&event));
            black_box(b.split_to(event.len()).freeze());
        },
    );
    println!();
    println!(
        "simd-json vs from_str: fresh {:.2}x, reused buffers {:.2}x, padded tape {:.2}x the time",
        simd_fresh / via_str,
        simd_buf / via_str,
        simd_pad / via_str
    );
    println!(
        "summary: from_str saves {:.0}% of from_slice; dropping a Pod is {:.0}% of decode+drop; \
         the byte scanner costs {:.0}% of a from_slice decode, the memchr scanner {:.1}%, line framing {:.2}%",
        (1.0 - via_str / slice) * 100.0,
        drop_ns / slice * 100.0,
        byte_scan / decode_only * 100.0,
        jump_scan / decode_only * 100.0,
        nl / decode_only * 100.0
    );
}
