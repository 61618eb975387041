//! The driver: starts `bench-server`, runs each workload with each client in its own
//! process at least `--runs` times (alternating which client goes first), takes medians and
//! prints kubecto/kube-rs ratios for CPU per item, requests per second and peak RSS.
//! The `-pb` workloads are kubecto in protobuf; their ratio is against kube-rs's JSON run
//! of the same base workload (kube-rs has no protobuf).
//!
//! usage: bench-driver [--runs N] [--quick] [--workload NAME[,NAME..]]... [--json PATH]
//!                     [--server-threads N]

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kubecto_bench::{LIST_PODS, Workload};

/// One client process's figures.
#[derive(Debug, Clone)]
struct Run {
    items: u64,
    wall_ns: u64,
    cpu_ns: u64,
    peak_rss_kib: u64,
    server_cpu_ns: u64,
    user_ns: u64,
    sys_ns: u64,
    csw: u64,
    minflt: u64,
    /// Cache workloads: wall and CPU time until the store was filled.
    synced_wall_ns: u64,
    synced_cpu_ns: u64,
}

impl Run {
    /// Cache workloads: CPU per watch event, after the sync.
    fn cpu_per_event_ns(&self) -> f64 {
        self.cpu_ns.saturating_sub(self.synced_cpu_ns) as f64 / self.items.max(1) as f64
    }
    fn cpu_per_item_ns(&self) -> f64 {
        self.cpu_ns as f64 / self.items.max(1) as f64
    }
    fn items_per_sec(&self) -> f64 {
        self.items as f64 / (self.wall_ns.max(1) as f64 / 1e9)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum ClientKind {
    Kubecto,
    Kube,
}

impl ClientKind {
    fn bin(self) -> &'static str {
        match self {
            ClientKind::Kubecto => "bench-kubecto",
            ClientKind::Kube => "bench-kube",
        }
    }
    fn label(self) -> &'static str {
        match self {
            ClientKind::Kubecto => "kubecto",
            ClientKind::Kube => "kube-rs",
        }
    }
}

struct Options {
    runs: usize,
    quick: bool,
    workloads: Vec<Workload>,
    json: Option<PathBuf>,
    server_threads: usize,
    timeout: Duration,
    current_thread: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: bench-driver [--runs N] [--quick] [--workload NAME[,NAME..]]... [--json PATH] [--server-threads N] [--timeout-secs N] [--current-thread]\n\
         workloads: {}",
        Workload::ALL.map(Workload::name).join(", ")
    );
    std::process::exit(2)
}

fn parse_options() -> Options {
    let mut o = Options {
        runs: 0,
        quick: false,
        workloads: Vec::new(),
        json: None,
        server_threads: 1,
        timeout: Duration::from_secs(600),
        current_thread: std::env::var("BENCH_RUNTIME").is_ok_and(|v| v == "current_thread"),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().unwrap_or_else(|| usage());
        match a.as_str() {
            "--runs" => o.runs = val().parse().unwrap_or_else(|_| usage()),
            "--quick" => o.quick = true,
            "--workload" | "-w" => {
                for name in val().split(',').filter(|s| !s.is_empty()) {
                    match Workload::parse(name) {
                        Some(w) => o.workloads.push(w),
                        None => {
                            eprintln!("bench-driver: unknown workload {name:?}");
                            usage()
                        }
                    }
                }
            }
            "--json" => o.json = Some(val().into()),
            "--server-threads" => o.server_threads = val().parse().unwrap_or_else(|_| usage()),
            "--timeout-secs" => {
                o.timeout = Duration::from_secs(val().parse().unwrap_or_else(|_| usage()));
            }
            "--current-thread" => o.current_thread = true,
            "-h" | "--help" => usage(),
            other => {
                eprintln!("bench-driver: unknown argument {other:?}");
                usage()
            }
        }
    }
    if o.runs == 0 {
        o.runs = if o.quick { 3 } else { 5 };
    }
    if o.workloads.is_empty() {
        o.workloads = Workload::ALL.to_vec();
    }
    o
}

/// Items per workload; `--quick` shrinks the GET and watch counts (a LIST is always whole).
fn items_for(w: Workload, quick: bool) -> u64 {
    if !quick {
        return w.full_items();
    }
    match w.base() {
        Workload::GetSeq => 4_000,
        Workload::GetPar => 10_000,
        Workload::Watch | Workload::Reflector | Workload::ReflectorDrop | Workload::Informer => {
            20_000
        }
        _ => w.full_items(),
    }
}

/// The kube-rs workload a kubecto workload is compared with: kube-rs reads a whole LIST
/// one way only (`Api::list`), so the LIST variants share its runs; kube-rs has no
/// protobuf, so a protobuf workload is compared with kube-rs's JSON run of the same
/// objects.
fn kube_counterpart(w: Workload) -> Workload {
    match w.base() {
        Workload::ListCollect | Workload::ListStream => Workload::List,
        Workload::Informer => Workload::Reflector,
        other => other,
    }
}

/// utime + stime of another process, from `/proc/PID/stat` (10 ms ticks).
fn proc_cpu_ns(pid: u32) -> u64 {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    let Some(close) = text.rfind(')') else {
        return 0;
    };
    let fields: Vec<&str> = text[close + 2..].split_whitespace().collect();
    let t = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (t(11) + t(12)) * 10_000_000
}

fn wait_with_deadline(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn run_client(
    bin_dir: &Path,
    kind: ClientKind,
    workload: Workload,
    url: &str,
    items: u64,
    server_pid: u32,
    timeout: Duration,
    current_thread: bool,
) -> Result<Run, String> {
    let server_cpu0 = proc_cpu_ns(server_pid);
    let runtime = if current_thread {
        "current_thread"
    } else {
        "multi_thread"
    };
    let mut child = Command::new(bin_dir.join(kind.bin()))
        .args([workload.name(), url, &items.to_string()])
        .env("BENCH_RUNTIME", runtime)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", kind.bin()))?;
    // Read the pipes on threads so a chatty child never blocks.
    let mut out_pipe = child.stdout.take().expect("stdout");
    let mut err_pipe = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out_pipe.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });
    let status = wait_with_deadline(&mut child, timeout);
    let server_cpu_ns = proc_cpu_ns(server_pid).saturating_sub(server_cpu0);
    let stdout = out_t.join().unwrap_or_default();
    let stderr = err_t.join().unwrap_or_default();
    let Some(status) = status else {
        return Err(format!(
            "{} {} did not finish within {timeout:?}",
            kind.bin(),
            workload.name()
        ));
    };
    if !status.success() {
        return Err(format!(
            "{} {} failed ({status}):\n{stderr}",
            kind.bin(),
            workload.name()
        ));
    }
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .ok_or_else(|| format!("{} printed no result line:\n{stdout}\n{stderr}", kind.bin()))?;
    let v: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("bad result line {line:?}: {e}"))?;
    let num = |k: &str| v.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
    Ok(Run {
        items: num("items"),
        wall_ns: num("wall_ns"),
        cpu_ns: num("cpu_ns"),
        peak_rss_kib: num("peak_rss_kib"),
        server_cpu_ns,
        user_ns: num("user_ns"),
        sys_ns: num("sys_ns"),
        csw: num("vcsw") + num("ivcsw"),
        minflt: num("minflt"),
        synced_wall_ns: num("synced_wall_ns"),
        synced_cpu_ns: num("synced_cpu_ns"),
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// (max - min) / median, as a percentage: how noisy the runs were.
fn spread(v: &[f64]) -> f64 {
    let m = median(v.to_vec());
    let (lo, hi) = v
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
    if m > 0.0 { (hi - lo) / m * 100.0 } else { 0.0 }
}

struct Summary {
    cpu_per_item_ns: f64,
    cpu_spread_pct: f64,
    items_per_sec: f64,
    peak_rss_kib: f64,
    server_cpu_per_item_ns: f64,
    user_per_item_ns: f64,
    sys_per_item_ns: f64,
    csw_per_item: f64,
    minflt_per_item: f64,
    runs: usize,
}

fn summarize(runs: &[Run]) -> Summary {
    let cpu: Vec<f64> = runs.iter().map(Run::cpu_per_item_ns).collect();
    Summary {
        cpu_per_item_ns: median(cpu.clone()),
        cpu_spread_pct: spread(&cpu),
        items_per_sec: median(runs.iter().map(Run::items_per_sec).collect()),
        peak_rss_kib: median(runs.iter().map(|r| r.peak_rss_kib as f64).collect()),
        server_cpu_per_item_ns: median(
            runs.iter()
                .map(|r| r.server_cpu_ns as f64 / r.items.max(1) as f64)
                .collect(),
        ),
        user_per_item_ns: median(per_item(runs, |r| r.user_ns)),
        sys_per_item_ns: median(per_item(runs, |r| r.sys_ns)),
        csw_per_item: median(per_item(runs, |r| r.csw)),
        minflt_per_item: median(per_item(runs, |r| r.minflt)),
        runs: runs.len(),
    }
}

fn per_item(runs: &[Run], f: impl Fn(&Run) -> u64) -> Vec<f64> {
    runs.iter()
        .map(|r| f(r) as f64 / r.items.max(1) as f64)
        .collect()
}

fn fmt_time(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn fmt_mib(kib: f64) -> String {
    format!("{:.1} MiB", kib / 1024.0)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

struct Targets {
    cpu: Option<f64>,
    rps: Option<f64>,
    rss_ratio: Option<f64>,
    rss_abs_mib: Option<f64>,
}

fn targets(w: Workload) -> Targets {
    match w {
        Workload::GetSeq | Workload::GetPar => Targets {
            cpu: Some(0.4),
            rps: Some(2.0),
            rss_ratio: None,
            rss_abs_mib: None,
        },
        Workload::List | Workload::ListCollect => Targets {
            cpu: Some(0.5),
            rps: None,
            rss_ratio: Some(0.85),
            rss_abs_mib: None,
        },
        Workload::ListStream => Targets {
            cpu: None,
            rps: None,
            rss_ratio: None,
            rss_abs_mib: Some(64.0),
        },
        Workload::Watch => Targets {
            cpu: Some(0.5),
            rps: None,
            rss_ratio: None,
            rss_abs_mib: None,
        },
        // Issue 12: kubecto in protobuf against kube-rs in JSON on the same objects.
        Workload::GetSeqPb | Workload::GetSeqPbDrop | Workload::GetParPb => Targets {
            cpu: Some(0.3),
            rps: None,
            rss_ratio: None,
            rss_abs_mib: None,
        },
        Workload::ListCollectPb => Targets {
            cpu: Some(0.3),
            rps: None,
            rss_ratio: Some(0.6),
            rss_abs_mib: None,
        },
        Workload::ListCollectPbDrop => Targets {
            cpu: Some(0.3),
            rps: None,
            rss_ratio: Some(0.3),
            rss_abs_mib: None,
        },
        Workload::ListStreamPb | Workload::ListStreamPbDrop => Targets {
            cpu: Some(0.25),
            rps: None,
            rss_ratio: None,
            rss_abs_mib: Some(64.0),
        },
        Workload::WatchPb | Workload::WatchPbDrop => Targets {
            cpu: Some(0.3),
            rps: None,
            rss_ratio: None,
            rss_abs_mib: None,
        },
        // Reported in their own table (cache_table).
        Workload::Reflector | Workload::ReflectorDrop | Workload::Informer => Targets {
            cpu: None,
            rps: None,
            rss_ratio: None,
            rss_abs_mib: None,
        },
    }
}

fn main() {
    let opts = parse_options();
    let bin_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    let watch_events = items_for(Workload::Watch, opts.quick);

    // The server: its stdin is ours, so it exits when we do.
    let mut server = Command::new(bin_dir.join("bench-server"))
        .args([
            "--list-pods",
            &LIST_PODS.to_string(),
            "--watch-events",
            &watch_events.to_string(),
            "--threads",
            &opts.server_threads.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| {
            eprintln!("bench-driver: cannot start bench-server: {e}");
            std::process::exit(1)
        });
    let server_pid = server.id();
    let mut first = String::new();
    BufReader::new(server.stdout.take().expect("server stdout"))
        .read_line(&mut first)
        .expect("server's first line");
    let url = first.trim().to_owned();
    if !url.starts_with("http://127.0.0.1:") {
        eprintln!("bench-driver: the server said {url:?}, not its URL");
        let _ = server.kill();
        std::process::exit(1);
    }
    eprintln!(
        "bench-driver: server at {url} (pid {server_pid}); {} run(s) per client per workload{}",
        opts.runs,
        if opts.quick { ", quick sizes" } else { "" }
    );

    let mut kubecto: BTreeMap<&'static str, Vec<Run>> = BTreeMap::new();
    let mut kube: BTreeMap<&'static str, Vec<Run>> = BTreeMap::new();
    let mut failed = false;
    for &w in &opts.workloads {
        let items = items_for(w, opts.quick);
        let kw = kube_counterpart(w);
        let kube_items = items_for(kw, opts.quick);
        for r in 0..opts.runs {
            let need_kube = kube.get(kw.name()).map_or(0, Vec::len) < opts.runs;
            let order = if r % 2 == 0 {
                [ClientKind::Kubecto, ClientKind::Kube]
            } else {
                [ClientKind::Kube, ClientKind::Kubecto]
            };
            for kind in order {
                if kind == ClientKind::Kube && !need_kube {
                    continue;
                }
                let (cw, n) = match kind {
                    ClientKind::Kubecto => (w, items),
                    ClientKind::Kube => (kw, kube_items),
                };
                match run_client(
                    &bin_dir,
                    kind,
                    cw,
                    &url,
                    n,
                    server_pid,
                    opts.timeout,
                    opts.current_thread,
                ) {
                    Ok(run) => {
                        eprintln!(
                            "  {:<12} {:<8} run {}: {} items, cpu {} ({} /item), wall {}, peak RSS {}",
                            cw.name(),
                            kind.label(),
                            r + 1,
                            run.items,
                            fmt_time(run.cpu_ns as f64),
                            fmt_time(run.cpu_per_item_ns()),
                            fmt_time(run.wall_ns as f64),
                            fmt_mib(run.peak_rss_kib as f64)
                        );
                        let map = match kind {
                            ClientKind::Kubecto => &mut kubecto,
                            ClientKind::Kube => &mut kube,
                        };
                        if kind == ClientKind::Kubecto {
                            map.entry(w.name()).or_default().push(run);
                        } else {
                            map.entry(kw.name()).or_default().push(run);
                        }
                    }
                    Err(e) => {
                        eprintln!("bench-driver: {e}");
                        failed = true;
                    }
                }
            }
        }
    }
    drop(server.stdin.take());
    let _ = wait_with_deadline(&mut server, Duration::from_secs(5));

    // The table.
    println!();
    println!(
        "kubecto vs kube-rs 5 — medians of {} run(s) per client, each run its own process ({} tokio runtime in both); ratio = kubecto / kube-rs",
        opts.runs,
        if opts.current_thread {
            "current-thread"
        } else {
            "#[tokio::main] multi-thread"
        }
    );
    println!();
    println!(
        "| workload | items | kubecto CPU/item | kube-rs CPU/item | CPU ratio | target | kubecto items/s | kube-rs items/s | rate ratio | target | kubecto peak RSS | kube-rs peak RSS | RSS ratio | target |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut json_rows = Vec::new();
    for &w in &opts.workloads {
        let kw = kube_counterpart(w);
        if w.is_cache() {
            continue;
        }
        let (Some(a), Some(b)) = (kubecto.get(w.name()), kube.get(kw.name())) else {
            println!("| {} | (no complete runs) |", w.name());
            continue;
        };
        if a.is_empty() || b.is_empty() {
            continue;
        }
        let sa = summarize(a);
        let sb = summarize(b);
        let t = targets(w);
        let cpu_ratio = sa.cpu_per_item_ns / sb.cpu_per_item_ns;
        let rate_ratio = sa.items_per_sec / sb.items_per_sec;
        let rss_ratio = sa.peak_rss_kib / sb.peak_rss_kib;
        let cpu_target = t
            .cpu
            .map(|x| format!("≤{x:.2}x {}", verdict(cpu_ratio <= x)))
            .unwrap_or_else(|| "—".into());
        let rate_target = t
            .rps
            .map(|x| format!("≥{x:.1}x {}", verdict(rate_ratio >= x)))
            .unwrap_or_else(|| "—".into());
        let rss_target = match (t.rss_ratio, t.rss_abs_mib) {
            (Some(x), _) => format!("≤{x:.2}x {}", verdict(rss_ratio <= x)),
            (None, Some(m)) => format!("<{m:.0} MiB {}", verdict(sa.peak_rss_kib / 1024.0 < m)),
            _ => "—".into(),
        };
        let label = if kw == w {
            w.name().to_owned()
        } else {
            format!("{} (kube-rs: {})", w.name(), kw.name())
        };
        println!(
            "| {label} | {} | {} ±{:.0}% | {} ±{:.0}% | {cpu_ratio:.2}x | {cpu_target} | {:.0} | {:.0} | {rate_ratio:.2}x | {rate_target} | {} | {} | {rss_ratio:.2}x | {rss_target} |",
            a[0].items,
            fmt_time(sa.cpu_per_item_ns),
            sa.cpu_spread_pct / 2.0,
            fmt_time(sb.cpu_per_item_ns),
            sb.cpu_spread_pct / 2.0,
            sa.items_per_sec,
            sb.items_per_sec,
            fmt_mib(sa.peak_rss_kib),
            fmt_mib(sb.peak_rss_kib),
        );
        json_rows.push(serde_json::json!({
            "workload": w.name(),
            "kube_workload": kw.name(),
            "items": a[0].items,
            "runs": [sa.runs, sb.runs],
            "kubecto": {"cpu_per_item_ns": sa.cpu_per_item_ns, "items_per_sec": sa.items_per_sec,
                        "peak_rss_kib": sa.peak_rss_kib, "server_cpu_per_item_ns": sa.server_cpu_per_item_ns,
                        "cpu_spread_pct": sa.cpu_spread_pct},
            "kube_rs": {"cpu_per_item_ns": sb.cpu_per_item_ns, "items_per_sec": sb.items_per_sec,
                        "peak_rss_kib": sb.peak_rss_kib, "server_cpu_per_item_ns": sb.server_cpu_per_item_ns,
                        "cpu_spread_pct": sb.cpu_spread_pct},
            "ratios": {"cpu_per_item": cpu_ratio, "items_per_sec": rate_ratio, "peak_rss": rss_ratio},
        }));
    }
    println!();
    println!(
        "±: half the (max−min)/median spread of CPU per item over the runs. Rate = items / wall time of the workload."
    );
    cache_table(&opts.workloads, &kubecto, &kube, &mut json_rows);
    println!();
    println!(
        "Where the CPU goes (medians per item, from getrusage; server CPU from /proc/PID/stat):"
    );
    println!();
    println!("| workload | client | user | sys | context switches | page faults | server CPU |");
    println!("|---|---|---|---|---|---|---|");
    let mut kube_shown = std::collections::BTreeSet::new();
    for &w in &opts.workloads {
        let kw = kube_counterpart(w);
        let kube_runs = if kube_shown.insert(kw.name()) {
            kube.get(kw.name())
        } else {
            None
        };
        for (label, name, runs) in [
            ("kubecto", w.name(), kubecto.get(w.name())),
            ("kube-rs", kw.name(), kube_runs),
        ] {
            let Some(runs) = runs.filter(|r| !r.is_empty()) else {
                continue;
            };
            let s = summarize(runs);
            println!(
                "| {name} | {label} | {} | {} | {:.1} | {:.1} | {} |",
                fmt_time(s.user_per_item_ns),
                fmt_time(s.sys_per_item_ns),
                s.csw_per_item,
                s.minflt_per_item,
                fmt_time(s.server_cpu_per_item_ns)
            );
        }
    }
    if let Some(path) = &opts.json {
        let raw = |m: &BTreeMap<&'static str, Vec<Run>>| -> serde_json::Value {
            m.iter()
                .map(|(k, runs)| {
                    let v: Vec<serde_json::Value> = runs
                        .iter()
                        .map(|r| {
                            serde_json::json!({"items": r.items, "wall_ns": r.wall_ns, "cpu_ns": r.cpu_ns,
                                "peak_rss_kib": r.peak_rss_kib, "server_cpu_ns": r.server_cpu_ns,
                                "user_ns": r.user_ns, "sys_ns": r.sys_ns, "context_switches": r.csw,
                                "minor_faults": r.minflt, "synced_wall_ns": r.synced_wall_ns,
                                "synced_cpu_ns": r.synced_cpu_ns})
                        })
                        .collect();
                    ((*k).to_owned(), serde_json::Value::Array(v))
                })
                .collect::<serde_json::Map<_, _>>()
                .into()
        };
        let doc = serde_json::json!({
            "runs_per_client": opts.runs,
            "quick": opts.quick,
            "rows": json_rows,
            "raw": {"kubecto": raw(&kubecto), "kube_rs": raw(&kube)},
        });
        if let Err(e) = std::fs::write(path, format!("{doc:#}\n")) {
            eprintln!("bench-driver: cannot write {}: {e}", path.display());
        } else {
            eprintln!("bench-driver: raw results in {}", path.display());
        }
    }
    if failed {
        std::process::exit(1);
    }
}

/// The targets of a cache workload: CPU per event, time until synced, peak RSS (ratios).
fn cache_targets(w: Workload) -> (f64, f64, f64) {
    match w {
        Workload::ReflectorDrop => (0.5, 0.5, 0.4),
        _ => (0.5, 0.5, 0.6),
    }
}

/// The table of the cache workloads: a paged LIST of the pods into a store, then the
/// watch's events applied to it.
fn cache_table(
    workloads: &[Workload],
    kubecto: &BTreeMap<&'static str, Vec<Run>>,
    kube: &BTreeMap<&'static str, Vec<Run>>,
    json_rows: &mut Vec<serde_json::Value>,
) {
    let cache: Vec<Workload> = workloads.iter().copied().filter(|w| w.is_cache()).collect();
    if cache.is_empty() {
        return;
    }
    println!();
    println!(
        "Caches: {LIST_PODS} pods LISTed (500 a page) into a store, then the watch's MODIFIED events applied to it. CPU per event counts from the sync to the last event; time until synced from the start (client built) to the store filled; peak RSS of the whole run."
    );
    println!();
    println!(
        "| workload | events | kubecto CPU/event | kube-rs CPU/event | ratio | target | kubecto until synced | kube-rs until synced | ratio | target | kubecto peak RSS | kube-rs peak RSS | ratio | target |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for w in cache {
        let kw = kube_counterpart(w);
        let (Some(a), Some(b)) = (kubecto.get(w.name()), kube.get(kw.name())) else {
            println!("| {} | (no complete runs) |", w.name());
            continue;
        };
        if a.is_empty() || b.is_empty() {
            continue;
        }
        let med = |runs: &[Run], f: &dyn Fn(&Run) -> f64| median(runs.iter().map(f).collect());
        let cpu_a = med(a, &Run::cpu_per_event_ns);
        let cpu_b = med(b, &Run::cpu_per_event_ns);
        let spread_a = spread(&a.iter().map(Run::cpu_per_event_ns).collect::<Vec<_>>());
        let spread_b = spread(&b.iter().map(Run::cpu_per_event_ns).collect::<Vec<_>>());
        let sync_a = med(a, &|r| r.synced_wall_ns as f64);
        let sync_b = med(b, &|r| r.synced_wall_ns as f64);
        let rss_a = med(a, &|r| r.peak_rss_kib as f64);
        let rss_b = med(b, &|r| r.peak_rss_kib as f64);
        let (t_cpu, t_sync, t_rss) = cache_targets(w);
        let (r_cpu, r_sync, r_rss) = (cpu_a / cpu_b, sync_a / sync_b, rss_a / rss_b);
        let label = if kw == w {
            w.name().to_owned()
        } else {
            format!("{} (kube-rs: {})", w.name(), kw.name())
        };
        println!(
            "| {label} | {} | {} ±{:.0}% | {} ±{:.0}% | {r_cpu:.2}x | ≤{t_cpu:.2}x {} | {} | {} | {r_sync:.2}x | ≤{t_sync:.2}x {} | {} | {} | {r_rss:.2}x | ≤{t_rss:.2}x {} |",
            a[0].items,
            fmt_time(cpu_a),
            spread_a / 2.0,
            fmt_time(cpu_b),
            spread_b / 2.0,
            verdict(r_cpu <= t_cpu),
            fmt_time(sync_a),
            fmt_time(sync_b),
            verdict(r_sync <= t_sync),
            fmt_mib(rss_a),
            fmt_mib(rss_b),
            verdict(r_rss <= t_rss),
        );
        json_rows.push(serde_json::json!({
            "workload": w.name(),
            "kube_workload": kw.name(),
            "events": a[0].items,
            "runs": [a.len(), b.len()],
            "kubecto": {"cpu_per_event_ns": cpu_a, "synced_ns": sync_a, "peak_rss_kib": rss_a},
            "kube_rs": {"cpu_per_event_ns": cpu_b, "synced_ns": sync_b, "peak_rss_kib": rss_b},
            "ratios": {"cpu_per_event": r_cpu, "synced": r_sync, "peak_rss": r_rss},
        }));
    }
}
