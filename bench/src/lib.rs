//! Shared pieces of the kubecto vs kube-rs benchmark: the workloads' names and sizes, the
//! pod template the bench server renders, and the one JSON line each client process prints
//! about itself (CPU time, peak RSS, items, wall time).
//!
//! The processes:
//! - `bench-server`: plain hyper on 127.0.0.1:0, one process, serving pre-rendered pods.
//! - `bench-kubecto`, `bench-kube`: one workload with one client, then a JSON line.
//!   Two binaries, so each process links and maps only the client it measures.
//! - `bench-driver`: starts the server, alternates the clients, takes medians, prints ratios.

use std::time::{Duration, Instant};

pub mod pb;

/// Where the bench server serves single pods, lists and watches.
pub const PODS_PATH: &str = "/api/v1/namespaces/kube-system/pods";
/// The namespace of every pod.
pub const NAMESPACE: &str = "kube-system";

/// One benchmark workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Sequential GETs of single pods, decoded into `Pod`.
    GetSeq,
    /// 64 tasks doing GETs at once, decoded into `Pod`.
    GetPar,
    /// One LIST of all pods collected into typed pods (kube-rs `Api::list`, kubecto
    /// `send().into::<List<Pod>>()`).
    List,
    /// One LIST collected into typed pods through kubecto's `list_stream` (kube-rs: `Api::list`).
    ListCollect,
    /// One LIST consumed item by item (kubecto `list_stream`; kube-rs: `Api::list`, which
    /// is all a kube-rs user has for a single LIST).
    ListStream,
    /// One watch of MODIFIED events decoded into typed events.
    Watch,
    /// A cache of all pods kept by a reflector: a paged LIST into the store, then the
    /// watch's MODIFIED events applied to it (kubecto `Reflector` and `Store`; kube-rs
    /// `reflector(store, watcher(..))`). Items are the events.
    Reflector,
    /// The same with `managedFields` dropped before storing (kubecto: the store's
    /// transform; kube-rs: the `modify` hook, as kube-rs's docs advise).
    ReflectorDrop,
    /// The same through a kubecto shared informer with one handler counting the updates
    /// (kube-rs: `reflector`).
    Informer,
    /// `get-seq` in protobuf: kubecto-clientset's `Api<Pod>::get` (kube-rs: `get-seq`).
    GetSeqPb,
    /// `get-seq-pb` with `managedFields` skipped while decoding (kube-rs: `get-seq`).
    GetSeqPbDrop,
    /// `get-par` in protobuf through `Api<Pod>::get` (kube-rs: `get-par`).
    GetParPb,
    /// One LIST in protobuf collected into typed pods: `Api<Pod>::list` (kube-rs: `list`).
    ListCollectPb,
    /// `list-collect-pb` with `managedFields` skipped while decoding (kube-rs: `list`).
    ListCollectPbDrop,
    /// The LIST in protobuf item by item: `Api<Pod>::list_stream`, 500 a page (kube-rs:
    /// `list`).
    ListStreamPb,
    /// `list-stream-pb` with `managedFields` skipped while decoding (kube-rs: `list`).
    ListStreamPbDrop,
    /// The watch in protobuf: `Api<Pod>::watch` (kube-rs: `watch`).
    WatchPb,
    /// `watch-pb` with `managedFields` skipped while decoding (kube-rs: `watch`).
    WatchPbDrop,
}

impl Workload {
    /// Every workload, in the order the table shows them.
    pub const ALL: [Workload; 18] = [
        Workload::GetSeq,
        Workload::GetSeqPb,
        Workload::GetSeqPbDrop,
        Workload::GetPar,
        Workload::GetParPb,
        Workload::List,
        Workload::ListCollect,
        Workload::ListCollectPb,
        Workload::ListCollectPbDrop,
        Workload::ListStream,
        Workload::ListStreamPb,
        Workload::ListStreamPbDrop,
        Workload::Watch,
        Workload::WatchPb,
        Workload::WatchPbDrop,
        Workload::Reflector,
        Workload::ReflectorDrop,
        Workload::Informer,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Workload::GetSeq => "get-seq",
            Workload::GetPar => "get-par",
            Workload::List => "list",
            Workload::ListCollect => "list-collect",
            Workload::ListStream => "list-stream",
            Workload::Watch => "watch",
            Workload::Reflector => "reflector",
            Workload::ReflectorDrop => "reflector-drop",
            Workload::Informer => "informer",
            Workload::GetSeqPb => "get-seq-pb",
            Workload::GetSeqPbDrop => "get-seq-pb-drop",
            Workload::GetParPb => "get-par-pb",
            Workload::ListCollectPb => "list-collect-pb",
            Workload::ListCollectPbDrop => "list-collect-pb-drop",
            Workload::ListStreamPb => "list-stream-pb",
            Workload::ListStreamPbDrop => "list-stream-pb-drop",
            Workload::WatchPb => "watch-pb",
            Workload::WatchPbDrop => "watch-pb-drop",
        }
    }

    /// The JSON workload this one is the protobuf form of (itself for a JSON workload):
    /// same objects, same sizes.
    pub fn base(self) -> Workload {
        match self {
            Workload::GetSeqPb | Workload::GetSeqPbDrop => Workload::GetSeq,
            Workload::GetParPb => Workload::GetPar,
            Workload::ListCollectPb | Workload::ListCollectPbDrop => Workload::ListCollect,
            Workload::ListStreamPb | Workload::ListStreamPbDrop => Workload::ListStream,
            Workload::WatchPb | Workload::WatchPbDrop => Workload::Watch,
            other => other,
        }
    }

    /// Whether kubecto asks for protobuf in it (kube-rs has no protobuf: its figures for
    /// these come from the JSON workload of the same [`base`](Self::base)).
    pub fn is_protobuf(self) -> bool {
        self.base() != self
    }

    /// Whether `managedFields` are skipped while decoding (`DecodeOptions::drop_managed_fields`).
    pub fn drops_managed_fields(self) -> bool {
        matches!(
            self,
            Workload::GetSeqPbDrop
                | Workload::ListCollectPbDrop
                | Workload::ListStreamPbDrop
                | Workload::WatchPbDrop
        )
    }

    /// Parses a command-line name.
    pub fn parse(s: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == s)
    }

    /// How many items (requests, pods or events) the full workload handles.
    pub fn full_items(self) -> u64 {
        match self.base() {
            Workload::GetSeq => 20_000,
            Workload::GetPar => 50_000,
            Workload::List | Workload::ListCollect | Workload::ListStream => LIST_PODS,
            Workload::Watch
            | Workload::Reflector
            | Workload::ReflectorDrop
            | Workload::Informer => 100_000,
            _ => unreachable!("base() is a JSON workload"),
        }
    }

    /// Whether it keeps a cache: a LIST into a store, then watch events applied (figures:
    /// CPU per event after the sync, time until synced, peak RSS).
    pub fn is_cache(self) -> bool {
        matches!(
            self,
            Workload::Reflector | Workload::ReflectorDrop | Workload::Informer
        )
    }

    /// Whether requests per second mean something for it.
    pub fn is_get(self) -> bool {
        matches!(self.base(), Workload::GetSeq | Workload::GetPar)
    }
}

/// Pods in the LIST the bench server serves.
pub const LIST_PODS: u64 = 10_000;
/// The resourceVersion of the LIST; watch events follow from [`WATCH_BASE_RV`].
pub const LIST_RV: u64 = 1_999_999;
/// The resourceVersion of the first watch event (event `i` is at `WATCH_BASE_RV + i`).
pub const WATCH_BASE_RV: u64 = 2_000_000;
/// Items per LIST page the cache workloads ask for (both clients' default: 500).
pub const PAGE_SIZE: u64 = 500;
/// Concurrent tasks in `get-par`.
pub const GET_CONCURRENCY: u64 = 64;

/// The arguments every client binary takes: `<workload> <server-url> [items]`.
#[derive(Debug, Clone)]
pub struct ClientArgs {
    /// The workload to run.
    pub workload: Workload,
    /// `http://127.0.0.1:PORT` of the bench server.
    pub url: String,
    /// How many items (GET requests or watch events; a LIST is always the whole list).
    pub items: u64,
}

impl ClientArgs {
    /// Reads the process arguments, or exits with a usage message.
    pub fn from_env() -> ClientArgs {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let usage = || -> ! {
            eprintln!(
                "usage: bench-<client> <workload> <http://127.0.0.1:PORT> [items]\nworkloads: {}",
                Workload::ALL.map(Workload::name).join(", ")
            );
            std::process::exit(2)
        };
        let Some(workload) = args.first().and_then(|w| Workload::parse(w)) else {
            usage()
        };
        let Some(url) = args.get(1).cloned() else {
            usage()
        };
        let items = match args.get(2) {
            Some(n) => n.parse().unwrap_or_else(|_| usage()),
            None => workload.full_items(),
        };
        ClientArgs {
            workload,
            url,
            items,
        }
    }
}

/// The name of the `i`-th pod the server knows (GET, LIST and watch all use it).
pub fn pod_name(i: u64) -> String {
    format!("coredns-674b8bbfcf-{i:06}")
}

/// The uid of the `i`-th pod (GET, LIST and watch all use it).
pub fn pod_uid(i: u64) -> String {
    format!(
        "{:08x}-5c1d-4e2f-9a3b-{:012x}",
        0x6c0d_0000u64 + (i >> 32),
        i
    )
}

/// This process's CPU time so far, user + system, all threads (also those that exited):
/// `clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`, nanosecond resolution. Falls back to
/// `/proc/self/stat` utime + stime (10 ms ticks).
pub fn cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc == 0 {
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    } else {
        stat_cpu().unwrap_or_default()
    }
}

/// What `getrusage(RUSAGE_SELF)` says: user and system CPU, context switches, page faults.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    /// User CPU.
    pub user: Duration,
    /// System (kernel) CPU.
    pub sys: Duration,
    /// Voluntary context switches (the process blocked: a wait, a park).
    pub vcsw: u64,
    /// Involuntary context switches (preempted).
    pub ivcsw: u64,
    /// Minor page faults (first touches of new memory).
    pub minflt: u64,
}

/// This process's resource usage so far (all threads).
pub fn usage() -> Usage {
    // SAFETY: an all-zero rusage is a valid value to be overwritten.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return Usage::default();
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    Usage {
        user: tv(ru.ru_utime),
        sys: tv(ru.ru_stime),
        vcsw: ru.ru_nvcsw as u64,
        ivcsw: ru.ru_nivcsw as u64,
        minflt: ru.ru_minflt as u64,
    }
}

/// utime + stime from `/proc/self/stat` (whole process, clock ticks).
pub fn stat_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let ticks_per_sec = 100u64; // USER_HZ on Linux
    Some(Duration::from_nanos(
        (utime + stime) * 1_000_000_000 / ticks_per_sec,
    ))
}

/// A `/proc/self/status` field in KiB (`VmHWM`, `VmRSS`).
pub fn status_kib(field: &str) -> u64 {
    let Ok(text) = std::fs::read_to_string("/proc/self/status") else {
        return 0;
    };
    text.lines()
        .find_map(|l| {
            let rest = l.strip_prefix(field)?.strip_prefix(':')?;
            rest.split_whitespace().next()?.parse().ok()
        })
        .unwrap_or(0)
}

/// Measures one workload in this process: CPU and wall time from [`Probe::start`] to
/// [`Probe::finish`], and the process's peak RSS.
#[derive(Debug)]
pub struct Probe {
    cpu0: Duration,
    usage0: Usage,
    wall0: Instant,
    rss0_kib: u64,
    /// Wall and CPU time from the start to [`Probe::synced`].
    synced: Option<(Duration, Duration)>,
}

impl Probe {
    /// Starts measuring (after the runtime and the client exist).
    pub fn start() -> Probe {
        Probe {
            cpu0: cpu_time(),
            usage0: usage(),
            wall0: Instant::now(),
            rss0_kib: status_kib("VmRSS"),
            synced: None,
        }
    }

    /// Marks the moment a cache workload's store is filled (the first time only).
    pub fn synced(&mut self) {
        if self.synced.is_none() {
            let cpu = cpu_time().saturating_sub(self.cpu0);
            self.synced = Some((self.wall0.elapsed(), cpu));
        }
    }

    /// Prints the one JSON line the driver reads.
    pub fn finish(self, client: &str, workload: Workload, items: u64, bytes: u64) {
        let wall = self.wall0.elapsed();
        let cpu_total = cpu_time();
        let cpu = cpu_total.saturating_sub(self.cpu0);
        let u = usage();
        let u0 = self.usage0;
        let (synced_wall, synced_cpu) = self.synced.unwrap_or_default();
        let line = serde_json::json!({
            "synced_wall_ns": synced_wall.as_nanos() as u64,
            "synced_cpu_ns": synced_cpu.as_nanos() as u64,
            "client": client,
            "workload": workload.name(),
            "items": items,
            "body_bytes": bytes,
            "wall_ns": wall.as_nanos() as u64,
            "cpu_ns": cpu.as_nanos() as u64,
            "cpu_total_ns": cpu_total.as_nanos() as u64,
            "stat_cpu_total_ns": stat_cpu().unwrap_or_default().as_nanos() as u64,
            "peak_rss_kib": status_kib("VmHWM"),
            "rss_before_kib": self.rss0_kib,
            "user_ns": u.user.saturating_sub(u0.user).as_nanos() as u64,
            "sys_ns": u.sys.saturating_sub(u0.sys).as_nanos() as u64,
            "vcsw": u.vcsw - u0.vcsw,
            "ivcsw": u.ivcsw - u0.ivcsw,
            "minflt": u.minflt - u0.minflt,
        });
        println!("{line}");
    }
}

/// Panics with a message unless `got == want` (a workload that did less work than asked
/// must not produce a figure).
pub fn check_items(what: &str, got: u64, want: u64) {
    assert_eq!(got, want, "{what}: expected {want} items, got {got}");
}

/// The realistic pod the bench server serves: `crates/testserver/data/bench/coredns-pod.json`
/// made compact (key order kept, as the API server writes it), with the server-set
/// `uid`, `resourceVersion` and `creationTimestamp` added, split around the parts that
/// differ per item (name, uid, resourceVersion) so rendering one is three copies and
/// three small formats.
#[derive(Debug, Clone)]
pub struct PodTemplate {
    /// Text before the name, between name and uid, between uid and resourceVersion, after it.
    parts: [Vec<u8>; 4],
}

/// The fixture's own pod name, replaced per item.
const FIXTURE_NAME: &str = "\"name\":\"coredns-674b8bbfcf-7xq2m\"";
/// Where the server-set metadata goes: right after the pod's namespace.
const FIXTURE_NAMESPACE: &str = "\"namespace\":\"kube-system\"";

impl PodTemplate {
    /// Loads and splits the fixture.
    ///
    /// # Panics
    /// When the fixture is missing or not the coredns pod this template expects.
    pub fn load(path: &std::path::Path) -> PodTemplate {
        let raw = std::fs::read(path)
            .unwrap_or_else(|e| panic!("cannot read the pod fixture {}: {e}", path.display()));
        let compact = String::from_utf8(compact_json(&raw)).expect("the fixture is UTF-8");
        let name_at = compact
            .find(FIXTURE_NAME)
            .expect("the fixture names coredns-674b8bbfcf-7xq2m");
        let ns_at = compact
            .find(FIXTURE_NAMESPACE)
            .expect("the fixture has metadata.namespace")
            + FIXTURE_NAMESPACE.len();
        assert!(
            name_at < ns_at,
            "metadata.name comes before metadata.namespace"
        );
        let before_name = format!("{}\"name\":\"", &compact[..name_at]);
        let name_to_uid = format!(
            "\"{},\"uid\":\"",
            &compact[name_at + FIXTURE_NAME.len()..ns_at]
        );
        let uid_to_rv = "\",\"resourceVersion\":\"".to_owned();
        let after_rv = format!(
            "\",\"creationTimestamp\":\"2026-11-20T09:14:07Z\"{}",
            &compact[ns_at..]
        );
        PodTemplate {
            parts: [
                before_name.into_bytes(),
                name_to_uid.into_bytes(),
                uid_to_rv.into_bytes(),
                after_rv.into_bytes(),
            ],
        }
    }

    /// The fixture's default location, relative to the kubecto workspace root.
    pub fn default_path() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../crates/testserver/data/bench/coredns-pod.json")
    }

    /// Appends pod `i` (name [`pod_name`]`(i)`) at resourceVersion `rv` to `out`.
    pub fn render_into(&self, out: &mut Vec<u8>, i: u64, rv: u64) {
        use std::io::Write as _;
        out.extend_from_slice(&self.parts[0]);
        out.extend_from_slice(pod_name(i).as_bytes());
        out.extend_from_slice(&self.parts[1]);
        out.extend_from_slice(pod_uid(i).as_bytes());
        out.extend_from_slice(&self.parts[2]);
        let _ = write!(out, "{rv}");
        out.extend_from_slice(&self.parts[3]);
    }

    /// Pod `i` alone.
    pub fn render(&self, i: u64, rv: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.approx_len());
        self.render_into(&mut out, i, rv);
        out
    }

    /// About how many bytes one rendered pod takes.
    pub fn approx_len(&self) -> usize {
        self.parts.iter().map(Vec::len).sum::<usize>() + 80
    }
}

/// Removes the whitespace outside strings (what `json.Marshal` would have written).
pub fn compact_json(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut in_string = false;
    let mut escape = false;
    for &b in input {
        if in_string {
            out.push(b);
            if escape {
                escape = false;
            } else if b == b'\\' {
                escape = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if !matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
            if b == b'"' {
                in_string = true;
            }
            out.push(b);
        }
    }
    out
}

/// The runtime every client process runs its workload on: what `#[tokio::main]` gives
/// (multi-threaded, one worker per core), or a current-thread runtime when
/// `BENCH_RUNTIME=current_thread` (to see how much of a client's cost is task hops
/// between threads). Both clients always get the same kind.
pub fn runtime() -> tokio::runtime::Runtime {
    let current = std::env::var("BENCH_RUNTIME").is_ok_and(|v| v == "current_thread");
    if current {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    }
    .enable_all()
    .build()
    .expect("tokio runtime")
}
