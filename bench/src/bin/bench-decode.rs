//! Micro-measurements behind the findings about rest-core's decode path (not part of the
//! kubecto vs kube-rs table): for one realistic pod (7.5 KB) and one watch event,
//!
//! - `serde_json::from_slice::<Pod>` (what rest-core does: `response.rs` `decode`, list and
//!   watch items) against `std::str::from_utf8` once + `serde_json::from_str::<Pod>`
//!   (serde_json then skips its per-string UTF-8 checks);
//! - dropping a decoded `Pod`;
//! - finding where one JSON value ends: a byte-at-a-time scanner (a copy of rest-core's
//!   `scan.rs` `ValueScanner`) against a scanner that jumps with `memchr` inside strings,
//!   and against `memchr(b'\n')` (what kube-rs's line framing costs).
//!
//! usage: bench-decode [iterations]

use std::hint::black_box;
use std::time::Instant;

use k8s_openapi::api::core::v1::Pod;
use kubecto_bench::PodTemplate;

/// rest-core's `ValueScanner` (crates/rest-core/src/scan.rs), copied verbatim in logic.
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
    if let Some(op) = std::env::args().skip_while(|a| a != "--only").nth(1) {
        for _ in 0..iters {
            match op.as_str() {
                "from_slice" => drop(black_box(serde_json::from_slice::<Pod>(&pod).expect("pod"))),
                "from_str" => drop(black_box(
                    serde_json::from_str::<Pod>(std::str::from_utf8(&pod).expect("utf8"))
                        .expect("pod"),
                )),
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
        "summary: from_str saves {:.0}% of from_slice; dropping a Pod is {:.0}% of decode+drop; \
         the byte scanner costs {:.0}% of a from_slice decode, the memchr scanner {:.1}%, line framing {:.2}%",
        (1.0 - via_str / slice) * 100.0,
        drop_ns / slice * 100.0,
        byte_scan / decode_only * 100.0,
        jump_scan / decode_only * 100.0,
        nl / decode_only * 100.0
    );
}
