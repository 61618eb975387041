//! `cargo xtask soak`: writers, raw watchers and informers against an in-process test
//! server for a set time, while random faults land (connections cut mid-body, 429 and 503
//! storms with `Retry-After`, stalls, every open watch cut at once, and now and then a
//! server restart: every connection cut, connections refused for up to a second, the
//! watch history gone so that resumed watches may get 410 and list again). At the end it
//! checks and prints what a controller that runs for months needs:
//!
//! - no duplicated create: every create carries a name used once, so a `409
//!   AlreadyExists` on a create is a create the server had already done and that was sent
//!   again;
//! - no lost watch event: each watcher's reconstruction (a raw watch resumed from its last
//!   resourceVersion, an informer's handlers, a reflector's store) equals the server;
//! - bounded memory: the resident set of the second half of the run stays within the
//!   first half's peak plus a margin;
//! - no leaked tasks or connections: once the clients are dropped, the tasks and file
//!   descriptors are back where they started.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kubecto_clientset::Api;
use kubecto_rest_core::{
    Config, CreateOptions, DeleteOptions, Error, ListOptions, RestClient, UpdateOptions,
    WatchEvent, WatchOptions,
};
use kubecto_runtime::informer::{HandlerFns, InformerFactory};
use kubecto_runtime::watcher::{ListWatch, Reflector, ReflectorConfig};
use kubecto_runtime::{Shutdown, Store};
use kubecto_testserver::{Fault, TestServer};

const NS: &str = "soak";
const PATH: &str = "/api/v1/namespaces/soak/configmaps*";
const USAGE: &str = "usage: cargo xtask soak [--minutes N | --seconds N] [--writers N]";

/// name -> resourceVersion.
type State = BTreeMap<String, String>;

pub(crate) fn run(args: &[String]) -> ExitCode {
    let mut duration = Duration::from_secs(60);
    let mut writers = 4usize;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let value = it.next().and_then(|v| v.parse::<u64>().ok());
        match (arg.as_str(), value) {
            ("--minutes", Some(m)) => duration = Duration::from_secs(m * 60),
            ("--seconds", Some(s)) => duration = Duration::from_secs(s),
            ("--writers", Some(n)) if n > 0 => writers = n as usize,
            _ => {
                eprintln!("xtask soak: bad argument {arg:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("xtask soak: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(soak(duration, writers)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failures) => {
            eprintln!("soak FAILED:");
            for f in failures {
                eprintln!("  - {f}");
            }
            ExitCode::FAILURE
        }
    }
}

/// What the writers saw.
#[derive(Default)]
struct Writes {
    created: AtomicU64,
    /// A create that failed in transit: it may or may not have happened.
    unsure: AtomicU64,
    /// A create answered `409 AlreadyExists`: one sent again after it was done.
    duplicated: AtomicU64,
    updated: AtomicU64,
    deleted: AtomicU64,
    failed: AtomicU64,
}

/// One sample of the process's resources.
#[derive(Clone, Copy)]
struct Sample {
    at: Duration,
    rss_kib: u64,
    tasks: usize,
    fds: usize,
}

fn sample(start: Instant) -> Sample {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    Sample {
        at: start.elapsed(),
        rss_kib,
        tasks: tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks(),
        fds: std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count),
    }
}

async fn soak(duration: Duration, writers: usize) -> Result<(), Vec<String>> {
    let start = Instant::now();
    let server = Arc::new(
        TestServer::builder()
            .watch_history(2_000)
            .bookmark_interval(Duration::from_secs(1))
            .start()
            .await
            .map_err(|e| vec![format!("cannot start the test server: {e}")])?,
    );
    let _ = server.seed(serde_json::json!({
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}
    }));
    let baseline = sample(start);
    println!(
        "soak: {writers} writers, a raw watcher, an informer and a reflector for {duration:?} against {}",
        server.url()
    );

    let stop = Arc::new(AtomicBool::new(false));
    let shutdown = Shutdown::new();
    let writes = Arc::new(Writes::default());

    // Watchers first, so that they see everything from the start.
    let raw = Arc::new(Mutex::new(State::new()));
    let raw_task = tokio::spawn(raw_watch(client(&server), raw.clone(), stop.clone()));
    let factory = InformerFactory::new(client(&server)).with_config(fast_config());
    let informer = factory.namespaced::<ConfigMap, _>(NS);
    let handled = Arc::new(Mutex::new(State::new()));
    let (on_add, on_update, on_delete) = (handled.clone(), handled.clone(), handled.clone());
    informer.add_handler(
        HandlerFns::new()
            .on_add(move |cm: &Arc<ConfigMap>, _| record(&on_add, cm))
            .on_update(move |_, cm: &Arc<ConfigMap>| record(&on_update, cm))
            .on_delete(move |d| {
                let name = d.object().metadata.name.clone().unwrap_or_default();
                lock(&on_delete).remove(&name);
            }),
    );
    factory.start(&shutdown);
    let store: Store<ConfigMap> = Store::new();
    let reflector =
        Reflector::new(ListWatch::new(&configmaps(&server)), store.clone()).config(fast_config());
    let reflector_task = tokio::spawn(reflector.run(shutdown.clone()));

    let writer_tasks: Vec<_> = (0..writers)
        .map(|w| tokio::spawn(writer(w, configmaps(&server), writes.clone(), stop.clone())))
        .collect();
    let faults_task = tokio::spawn(inject_faults(server.clone(), stop.clone()));

    let mut samples = vec![baseline];
    while start.elapsed() < duration {
        tokio::time::sleep(Duration::from_secs(1).min(duration)).await;
        samples.push(sample(start));
    }
    stop.store(true, Ordering::Relaxed);
    let injected = faults_task.await.unwrap_or_default();
    server.clear_faults();
    for t in writer_tasks {
        let _ = t.await;
    }

    let mut failures = Vec::new();
    let api = configmaps(&server);
    let expected = match server_state(&api).await {
        Ok(s) => s,
        Err(e) => return Err(vec![format!("cannot list the final state: {e}")]),
    };
    for (what, state) in [
        (
            "the raw watcher",
            Box::new(move || lock(&raw).clone()) as Box<dyn Fn() -> State>,
        ),
        (
            "the informer's handlers",
            Box::new(move || lock(&handled).clone()),
        ),
        (
            "the informer's store",
            Box::new({
                let s = informer.store().clone();
                move || store_state(&s)
            }),
        ),
        (
            "the reflector's store",
            Box::new({
                let s = store.clone();
                move || store_state(&s)
            }),
        ),
    ] {
        if let Err(diff) = converge(&expected, state.as_ref()).await {
            failures.push(format!("{what} lost events: {diff}"));
        }
    }

    shutdown.trigger();
    let _ = reflector_task.await;
    let _ = raw_task.await;
    drop((factory, store, api));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let end = sample(start);

    let w = &writes;
    let duplicated = w.duplicated.load(Ordering::Relaxed);
    println!(
        "writes: {} created ({} unsure in transit), {} updated, {} deleted, {} failed; {} faults injected, {} open watches cut, {} restarts",
        w.created.load(Ordering::Relaxed),
        w.unsure.load(Ordering::Relaxed),
        w.updated.load(Ordering::Relaxed),
        w.deleted.load(Ordering::Relaxed),
        w.failed.load(Ordering::Relaxed),
        injected.faults,
        injected.watches_cut,
        injected.restarts,
    );
    println!(
        "final state: {} config maps, equal in every watcher",
        expected.len()
    );
    if duplicated > 0 {
        failures.push(format!(
            "{duplicated} creates were sent again after they were done"
        ));
    }
    println!("duplicated creates: {duplicated}");

    let half = duration / 2;
    let peak =
        |range: &mut dyn Iterator<Item = &Sample>| range.map(|s| s.rss_kib).max().unwrap_or(0);
    let first = peak(&mut samples.iter().filter(|s| s.at <= half));
    let second = peak(&mut samples.iter().filter(|s| s.at > half));
    println!(
        "RSS: {} MiB at start, peak {} MiB in the first half, {} MiB in the second, {} MiB at the end",
        baseline.rss_kib / 1024,
        first / 1024,
        second / 1024,
        end.rss_kib / 1024
    );
    if second > first + first / 4 + 32 * 1024 {
        failures.push(format!(
            "memory grew: {} MiB peak in the second half against {} MiB in the first",
            second / 1024,
            first / 1024
        ));
    }
    println!(
        "tasks: {} at start, {} at the end; file descriptors: {} at start, {} at the end",
        baseline.tasks, end.tasks, baseline.fds, end.fds
    );
    if end.tasks > baseline.tasks + 2 {
        failures.push(format!(
            "{} tasks still alive after the clients stopped ({} at start)",
            end.tasks, baseline.tasks
        ));
    }
    if end.fds > baseline.fds + 2 {
        failures.push(format!(
            "{} file descriptors open after the clients stopped ({} at start)",
            end.fds, baseline.fds
        ));
    }
    if failures.is_empty() {
        println!("soak passed in {:?}", start.elapsed());
        Ok(())
    } else {
        Err(failures)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn record(state: &Mutex<State>, cm: &ConfigMap) {
    lock(state).insert(
        cm.metadata.name.clone().unwrap_or_default(),
        cm.metadata.resource_version.clone().unwrap_or_default(),
    );
}

fn client(server: &TestServer) -> RestClient {
    // Retries as configured by default (429/5xx with Retry-After, reset GETs).
    RestClient::new(Config::new(server.url())).expect("a client for the test server")
}

fn configmaps(server: &TestServer) -> Api<ConfigMap> {
    Api::namespaced(client(server), NS)
}

/// Short watches and backoffs, so that the run sees many reconnects.
fn fast_config() -> ReflectorConfig {
    ReflectorConfig::default()
        .min_watch_timeout(Duration::from_secs(5))
        .backoff(kubecto_runtime::watcher::BackoffConfig::new(
            Duration::from_millis(50),
            Duration::from_secs(1),
        ))
}

async fn server_state(api: &Api<ConfigMap>) -> Result<State, Error> {
    Ok(api
        .list(&ListOptions::new())
        .await?
        .items
        .into_iter()
        .map(|c| {
            (
                c.metadata.name.unwrap_or_default(),
                c.metadata.resource_version.unwrap_or_default(),
            )
        })
        .collect())
}

fn store_state(store: &Store<ConfigMap>) -> State {
    store
        .snapshot()
        .iter()
        .map(|(_, c)| {
            (
                c.metadata.name.clone().unwrap_or_default(),
                c.metadata.resource_version.clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// Waits up to 30 s for `state()` to equal `expected`; the difference if it never does.
async fn converge(expected: &State, state: &dyn Fn() -> State) -> Result<(), String> {
    let mut last = State::new();
    for _ in 0..300 {
        last = state();
        if &last == expected {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let missing: Vec<_> = expected
        .iter()
        .filter(|(k, v)| last.get(*k) != Some(v))
        .take(5)
        .collect();
    let extra: Vec<_> = last
        .iter()
        .filter(|(k, _)| !expected.contains_key(*k))
        .take(5)
        .collect();
    Err(format!(
        "{} objects against the server's {}; differing or missing: {missing:?}; not on the server: {extra:?}",
        last.len(),
        expected.len()
    ))
}

/// A small deterministic generator (xorshift), so a run needs no extra crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Creates config maps under names it never uses twice, updates and deletes them, until
/// `stop`; keeps at most 20 alive.
async fn writer(w: usize, api: Api<ConfigMap>, writes: Arc<Writes>, stop: Arc<AtomicBool>) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (w as u64 + 1));
    let mut alive: Vec<String> = Vec::new();
    let mut next = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let roll = rng.next(10);
        if alive.is_empty() || (roll < 4 && alive.len() < 20) {
            next += 1;
            let name = format!("w{w}-{next}");
            let mut cm = ConfigMap::default();
            cm.metadata.name = Some(name.clone());
            cm.data = Some(BTreeMap::from([("v".to_owned(), "0".to_owned())]));
            match api.create(&cm, &CreateOptions::new()).await {
                Ok(_) => {
                    writes.created.fetch_add(1, Ordering::Relaxed);
                    alive.push(name);
                }
                Err(e) if e.is_already_exists() => {
                    writes.duplicated.fetch_add(1, Ordering::Relaxed);
                    alive.push(name);
                }
                Err(e) if e.status().is_none() => {
                    // Lost in transit: it may exist. Keep the name; never send it again.
                    writes.unsure.fetch_add(1, Ordering::Relaxed);
                    alive.push(name);
                }
                Err(_) => {
                    writes.failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        } else if roll < 8 {
            let name = &alive[rng.next(alive.len() as u64) as usize];
            let result = match api.get_opt(name).await {
                Ok(Some(mut cm)) => {
                    cm.data = Some(BTreeMap::from([(
                        "v".to_owned(),
                        rng.next(1 << 30).to_string(),
                    )]));
                    api.update(&cm, &UpdateOptions::new()).await.map(drop)
                }
                Ok(None) => Ok(()),
                Err(e) => Err(e),
            };
            let counter = if result.is_ok() {
                &writes.updated
            } else {
                &writes.failed
            };
            counter.fetch_add(1, Ordering::Relaxed);
        } else {
            let name = alive.swap_remove(rng.next(alive.len() as u64) as usize);
            match api.delete(&name, &DeleteOptions::new()).await {
                Ok(_) => writes.deleted.fetch_add(1, Ordering::Relaxed),
                Err(e) if e.is_not_found() => 0,
                Err(_) => {
                    // Maybe deleted in transit: try again later.
                    alive.push(name);
                    writes.failed.fetch_add(1, Ordering::Relaxed)
                }
            };
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A watch kept by hand over rest-core alone: LIST, then WATCH from its resourceVersion,
/// resumed from the last one seen (bookmarks included), listing again only on 410.
async fn raw_watch(client: RestClient, state: Arc<Mutex<State>>, stop: Arc<AtomicBool>) {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), NS);
    let mut version: Option<String> = None;
    while !stop.load(Ordering::Relaxed) {
        let from = match version.clone() {
            Some(v) => v,
            None => match api.list(&ListOptions::new()).await {
                Ok(list) => {
                    let mut s = lock(&state);
                    s.clear();
                    for cm in &list.items {
                        record_into(&mut s, cm);
                    }
                    list.metadata.resource_version.unwrap_or_default()
                }
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        version = Some(from.clone());
        let mut events = Box::pin(
            client
                .get()
                .namespace(NS)
                .resource("configmaps")
                .params(
                    &WatchOptions::new()
                        .resource_version(from)
                        .allow_watch_bookmarks(true)
                        .timeout_seconds(5),
                )
                .watch::<ConfigMap>(),
        );
        while let Some(event) = events.next().await {
            match event {
                Ok(WatchEvent::Added(cm) | WatchEvent::Modified(cm)) => {
                    version.clone_from(&cm.metadata.resource_version);
                    record_into(&mut lock(&state), &cm);
                }
                Ok(WatchEvent::Deleted(cm)) => {
                    version.clone_from(&cm.metadata.resource_version);
                    lock(&state).remove(cm.metadata.name.as_deref().unwrap_or_default());
                }
                Ok(WatchEvent::Bookmark(b)) => version = Some(b.resource_version),
                Err(e) => {
                    if e.is_gone() || e.code() == Some(410) {
                        version = None;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    break;
                }
            }
        }
    }
}

fn record_into(state: &mut State, cm: &ConfigMap) {
    state.insert(
        cm.metadata.name.clone().unwrap_or_default(),
        cm.metadata.resource_version.clone().unwrap_or_default(),
    );
}

/// What [`inject_faults`] did.
#[derive(Debug, Default)]
struct Injected {
    faults: usize,
    watches_cut: usize,
    restarts: usize,
}

/// A fault every 100–400 ms until `stop`, and a restart about every 12 s.
async fn inject_faults(server: Arc<TestServer>, stop: Arc<AtomicBool>) -> Injected {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut done = Injected::default();
    while !stop.load(Ordering::Relaxed) {
        // Every open watch cut mid-stream now and then.
        if rng.next(10) == 0 {
            done.watches_cut += server.drop_open_watches();
        }
        // A restart: everything cut, nothing accepted while down, the history gone.
        if rng.next(50) == 0 {
            let down = Duration::from_millis(100 + rng.next(900));
            if let Err(e) = server.restart(down).await {
                eprintln!("soak: the test server did not come back: {e}");
                return done;
            }
            done.restarts += 1;
        }
        // Storms and stalls are rarer than cuts, or the writers would mostly wait.
        let fault = match rng.next(12) {
            0..=2 => Fault::drop_connection(),
            3..=4 => Fault::truncate_body(1 + rng.next(400) as usize).method("GET"),
            5 => Fault::status(429)
                .retry_after("1")
                .times(1 + rng.next(10) as usize),
            6 => Fault::status(503)
                .retry_after("0")
                .times(1 + rng.next(10) as usize),
            7 => Fault::delay(Duration::from_millis(500 + rng.next(1500))),
            8..=9 => Fault::rechunk(1 + rng.next(64) as usize).method("GET"),
            _ => Fault::status(410).method("GET"),
        };
        server.inject(fault.path(PATH));
        done.faults += 1;
        tokio::time::sleep(Duration::from_millis(100 + rng.next(300))).await;
    }
    done
}
