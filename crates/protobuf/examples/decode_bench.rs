//! Decode time of the recorded pod (and the recorded list of four pods) from protobuf with
//! kubecto-protobuf against serde_json into the same k8s-openapi types, as ratios.
//!
//! ```text
//! cargo run --release -p kubecto-protobuf --example decode_bench
//! ```
//!
//! Timings drift on a shared machine: each figure is the best of several rounds, and the
//! ratios are what to read.

use std::hint::black_box;
use std::time::{Duration, Instant};

use k8s_openapi::List;
use k8s_openapi::api::core::v1::Pod;
use kubecto_protobuf::envelope::Unknown;
use kubecto_protobuf::{DecodeOptions, Protobuf};

fn data(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The best time per call of `f` over several rounds of `n` calls.
fn best(n: u32, mut f: impl FnMut()) -> Duration {
    (0..7)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..n {
                f();
            }
            start.elapsed() / n
        })
        .min()
        .unwrap_or_default()
}

fn compare<T>(name: &str, n: u32)
where
    T: Protobuf + serde::de::DeserializeOwned,
{
    let json = data(&format!("{name}.json"));
    let body = data(&format!("{name}.bin"));
    let raw = Unknown::decode(&body).expect("an envelope").raw;
    let keep = DecodeOptions::default();
    let drop = DecodeOptions::default().drop_managed_fields(true);
    // Warm up, and check that all three decode.
    serde_json::from_slice::<T>(&json).expect("JSON");
    T::decode(raw, &keep).expect("protobuf");

    let t_json = best(n, || {
        black_box(serde_json::from_slice::<T>(black_box(&json)).unwrap());
    });
    let t_pb = best(n, || {
        black_box(T::decode(black_box(raw), &keep).unwrap());
    });
    let t_pb_drop = best(n, || {
        black_box(T::decode(black_box(raw), &drop).unwrap());
    });
    let ratio = |t: Duration| t_json.as_secs_f64() / t.as_secs_f64();
    println!(
        "{name}: JSON {} B in {t_json:?}; protobuf {} B in {t_pb:?} ({:.1}x faster); \
         without managedFields {t_pb_drop:?} ({:.1}x faster)",
        json.len(),
        raw.len(),
        ratio(t_pb),
        ratio(t_pb_drop),
    );
}

/// `decode_bench one json|pb|pb-drop N`: one decoder N times on the pod, for a profiler
/// or an instruction counter (`perf stat -e instructions`, `valgrind --tool=callgrind`).
fn one(which: &str, n: u32) {
    let json = data("get-pod.json");
    let body = data("get-pod.bin");
    let raw = Unknown::decode(&body).expect("an envelope").raw;
    let opts = DecodeOptions::default().drop_managed_fields(which == "pb-drop");
    for _ in 0..n {
        if which == "json" {
            black_box(serde_json::from_slice::<Pod>(black_box(&json)).unwrap());
        } else {
            black_box(Pod::decode(black_box(raw), &opts).unwrap());
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [mode, which, n] = args.as_slice()
        && mode == "one"
    {
        one(which, n.parse().unwrap_or(1));
        return;
    }
    compare::<Pod>("get-pod", 20_000);
    compare::<List<Pod>>("list-pods", 5_000);
}
