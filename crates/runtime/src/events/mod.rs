//! Events (`events.k8s.io/v1`), as client-go's `tools/events` recorder and broadcaster,
//! with the spam filter and aggregation of `tools/record`.
//!
//! [`EventRecorder::event`] never blocks and never fails: it builds the Event and queues
//! it (up to 1,000 waiting; more are dropped with a warning, as client-go drops them). A
//! task of the recorder's own then decides, in this order:
//!
//! - **Spam filter.** Each source (reporting controller and instance) may write 25 events
//!   about one object, then one per 5 minutes (a token bucket per source+object); the
//!   excess is dropped.
//! - **Aggregation.** Events that differ only in their note are similar; from the tenth
//!   different note within 10 minutes on, similar events are combined: their note gets the
//!   prefix `(combined from similar events): ` and they form one series.
//! - **Series.** An event like the last one (same regarding and related object, reason,
//!   action, type, note and reporting controller) within 6 minutes of it does not make a
//!   new Event: the second occurrence patches the first Event's `series` (count 2, last
//!   observed time); later ones are counted and the count written every 30 minutes
//!   (client-go's heartbeat) and when the series ends (6 minutes without a repeat).
//!
//! Writes run on their own tasks and are retried as `write.rs` says; failures are logged
//! (target `kubecto::events`), never returned. Each Event is named
//! `<regarding name>.<unix nanoseconds in hex>` (client-go's `%v.%x`) and lives in the
//! regarding object's namespace, or `default` for a cluster-scoped object.

mod correlate;
mod write;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::{Metadata, Resource};
use kubecto_dynamic::Unstructured;
use kubecto_rest_core::RestClient;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::Instant;

use self::correlate::{Aggregator, COMBINED, SeriesCache, SpamFilter, Write};
use self::write::Writer;

/// The longest note the API server accepts (`events.k8s.io/v1` validation): 1 KiB.
pub const MAX_NOTE_BYTES: usize = 1024;

/// An event's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    /// Something expected happened.
    Normal,
    /// Something may need attention.
    Warning,
}

impl EventType {
    /// `Normal` or `Warning`, as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a recorder filters, combines and writes (client-go's defaults from [`Default`]).
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct EventRecorderConfig {
    /// Events one source may write about one object at once (25).
    pub spam_burst: u32,
    /// How often the spam filter gives one more (5 minutes).
    pub spam_refill: Duration,
    /// Different notes of similar events after which they are combined (10).
    pub aggregate_max: usize,
    /// How close similar events must follow each other to count together (10 minutes).
    pub aggregate_interval: Duration,
    /// A series ends when it has not repeated for this long (6 minutes).
    pub series_finish: Duration,
    /// How often a growing series' count is written (30 minutes).
    pub series_heartbeat: Duration,
    /// The wait between tries of a failed write (10 s; the first wait is random up to it).
    pub retry_sleep: Duration,
    /// Tries of one write before it is dropped (12).
    pub max_tries: u32,
    /// Events waiting to be handled before more are dropped (1,000).
    pub queue: usize,
    /// Sources+objects and similarity groups remembered (4,096 each).
    pub cache_size: usize,
}

impl Default for EventRecorderConfig {
    fn default() -> Self {
        Self {
            spam_burst: 25,
            spam_refill: Duration::from_secs(300),
            aggregate_max: 10,
            aggregate_interval: Duration::from_secs(600),
            series_finish: Duration::from_secs(360),
            series_heartbeat: Duration::from_secs(1800),
            retry_sleep: Duration::from_secs(10),
            max_tries: 12,
            queue: 1000,
            cache_size: 4096,
        }
    }
}

impl EventRecorderConfig {
    /// The spam filter's burst and refill period.
    #[must_use]
    pub fn spam_filter(mut self, burst: u32, refill: Duration) -> Self {
        self.spam_burst = burst;
        self.spam_refill = refill;
        self
    }

    /// How many different notes of similar events, within what interval, make them
    /// combined.
    #[must_use]
    pub fn aggregation(mut self, max: usize, interval: Duration) -> Self {
        self.aggregate_max = max.max(1);
        self.aggregate_interval = interval;
        self
    }

    /// When a series ends, and how often its count is written while it goes on (each at
    /// least 1 ms).
    #[must_use]
    pub fn series(mut self, finish: Duration, heartbeat: Duration) -> Self {
        self.series_finish = finish.max(Duration::from_millis(1));
        self.series_heartbeat = heartbeat.max(Duration::from_millis(1));
        self
    }

    /// The wait between tries of a failed write, and how many tries (at least one).
    #[must_use]
    pub fn retries(mut self, sleep: Duration, max_tries: u32) -> Self {
        self.retry_sleep = sleep;
        self.max_tries = max_tries.max(1);
        self
    }

    /// How many events may wait to be handled (at least one).
    #[must_use]
    pub fn queue(mut self, n: usize) -> Self {
        self.queue = n.max(1);
        self
    }
}

enum Msg {
    Event(Box<Event>),
    Flush(oneshot::Sender<()>),
}

struct Shared {
    tx: mpsc::Sender<Msg>,
    controller: String,
    instance: String,
}

/// Records events about objects as `events.k8s.io/v1` Events. Cheap to clone (clones share
/// one queue, cache and task). Needs a tokio runtime.
///
/// ```no_run
/// # async fn run(client: kubecto_rest_core::RestClient, pod: k8s_openapi::api::core::v1::Pod) {
/// use kubecto_runtime::events::{EventRecorder, EventType, object_reference};
///
/// let recorder = EventRecorder::new(client, "pod-janitor", "pod-janitor-7d9f");
/// recorder.event(
///     &object_reference(&pod),
///     None,
///     EventType::Warning,
///     "Stale",
///     "Evict",
///     "the pod has not been ready for a day",
/// );
/// recorder.flush().await; // before exiting, so that queued events are written
/// # }
/// ```
#[derive(Clone)]
pub struct EventRecorder {
    shared: Arc<Shared>,
}

impl fmt::Debug for EventRecorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventRecorder")
            .field("reporting_controller", &self.shared.controller)
            .field("reporting_instance", &self.shared.instance)
            .finish_non_exhaustive()
    }
}

impl EventRecorder {
    /// A recorder writing through `client` as `reporting_controller` (the controller's
    /// name, as `example.com/my-controller`) and `reporting_instance` (this copy of it,
    /// as a pod name), with client-go's defaults.
    pub fn new(
        client: RestClient,
        reporting_controller: impl Into<String>,
        reporting_instance: impl Into<String>,
    ) -> Self {
        Self::with_config(
            client,
            reporting_controller,
            reporting_instance,
            EventRecorderConfig::default(),
        )
    }

    /// A recorder with other settings.
    pub fn with_config(
        client: RestClient,
        reporting_controller: impl Into<String>,
        reporting_instance: impl Into<String>,
        config: EventRecorderConfig,
    ) -> Self {
        let (tx, rx) = mpsc::channel(config.queue);
        let writer = Writer {
            client,
            retry_sleep: config.retry_sleep,
            max_tries: config.max_tries,
        };
        tokio::spawn(run(rx, config, Arc::new(writer)));
        Self {
            shared: Arc::new(Shared {
                tx,
                controller: reporting_controller.into(),
                instance: reporting_instance.into(),
            }),
        }
    }

    /// Records that `action` was taken (or failed) on `regarding` for `reason`, with a
    /// human-readable `note` (cut to [`MAX_NOTE_BYTES`]); `related` names a second object
    /// involved, if any. Returns at once: the event is written in the background, or
    /// dropped by the spam filter, or joins a series (see the [module](self) docs).
    pub fn event(
        &self,
        regarding: &ObjectReference,
        related: Option<&ObjectReference>,
        type_: EventType,
        reason: &str,
        action: &str,
        note: &str,
    ) {
        let (nanos, now) = unique_now();
        let name = regarding.name.as_deref().unwrap_or_default();
        let namespace = regarding
            .namespace
            .as_deref()
            .filter(|ns| !ns.is_empty())
            .unwrap_or("default");
        let event = Event {
            metadata: ObjectMeta {
                name: Some(format!("{name}.{nanos:x}")),
                namespace: Some(namespace.to_owned()),
                ..ObjectMeta::default()
            },
            event_time: Some(now),
            reporting_controller: Some(self.shared.controller.clone()),
            reporting_instance: Some(self.shared.instance.clone()),
            action: Some(action.to_owned()),
            reason: Some(reason.to_owned()),
            regarding: Some(regarding.clone()),
            related: related.cloned(),
            note: Some(truncate(note, MAX_NOTE_BYTES).to_owned()),
            type_: Some(type_.as_str().to_owned()),
            ..Event::default()
        };
        tracing::debug!(target: "kubecto::events", object = %format_args!("{}/{}", regarding.namespace.as_deref().unwrap_or_default(), name), kind = regarding.kind.as_deref().unwrap_or_default(), %type_, reason, action, note = event.note.as_deref().unwrap_or_default(), "event");
        match self.shared.tx.try_send(Msg::Event(Box::new(event))) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(target: "kubecto::events", reason, "too many events waiting; dropping this one");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::warn!(target: "kubecto::events", reason, "the event recorder has stopped; dropping the event");
            }
        }
    }

    /// Writes what is pending: the events queued so far, and the counts of series that
    /// grew since their last write; returns when every write has finished (succeeded or
    /// given up). Call it before exiting.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.shared.tx.send(Msg::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

/// A reference to a typed object (its apiVersion, kind, namespace, name, uid and
/// resourceVersion), to record events about.
pub fn object_reference<K>(obj: &K) -> ObjectReference
where
    K: Resource + Metadata<Ty = ObjectMeta>,
{
    let meta = obj.metadata();
    ObjectReference {
        api_version: Some(K::API_VERSION.to_owned()),
        kind: Some(K::KIND.to_owned()),
        namespace: meta.namespace.clone(),
        name: meta.name.clone(),
        uid: meta.uid.clone(),
        resource_version: meta.resource_version.clone(),
        field_path: None,
    }
}

/// A reference to a dynamic object, to record events about.
pub fn dynamic_reference(obj: &Unstructured) -> ObjectReference {
    let owned = |s: Option<&str>| s.map(str::to_owned);
    ObjectReference {
        api_version: owned(obj.api_version()),
        kind: owned(obj.kind()),
        namespace: owned(obj.namespace()),
        name: owned(obj.name()),
        uid: owned(obj.uid()),
        resource_version: owned(obj.resource_version()),
        field_path: None,
    }
}

/// `s` cut to at most `max` bytes, at a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Unix nanoseconds, strictly increasing within the process (so two events of one object
/// in the same nanosecond get different names), and the same moment as a `MicroTime`.
fn unique_now() -> (u64, MicroTime) {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let wall = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let prev = LAST
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
            Some(wall.max(last + 1))
        })
        .unwrap_or(0);
    let nanos = wall.max(prev + 1);
    (nanos, micro_time(nanos))
}

fn micro_time(nanos: u64) -> MicroTime {
    let secs = (nanos / 1_000_000_000) as i64;
    let micros = ((nanos % 1_000_000_000) / 1000) as i32;
    MicroTime(
        k8s_openapi::jiff::Timestamp::new(secs, micros * 1000)
            .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
    )
}

fn wall_now() -> MicroTime {
    unique_now().1
}

/// Joins the parts of a cache key with a separator no field contains.
fn key(parts: &[Option<&str>]) -> String {
    let mut k = String::new();
    for p in parts {
        k.push_str(p.unwrap_or_default());
        k.push('\u{1}');
    }
    k
}

/// An object reference's kind, namespace, name, uid, apiVersion and fieldPath.
fn object_parts(r: Option<&ObjectReference>) -> [Option<&str>; 6] {
    match r {
        Some(r) => [
            r.kind.as_deref(),
            r.namespace.as_deref(),
            r.name.as_deref(),
            r.uid.as_deref(),
            r.api_version.as_deref(),
            r.field_path.as_deref(),
        ],
        None => [None; 6],
    }
}

/// The spam filter's key: the source and the object (client-go's `getSpamKey`).
fn spam_key(e: &Event) -> String {
    let o = object_parts(e.regarding.as_ref());
    key(&[
        e.reporting_controller.as_deref(),
        e.reporting_instance.as_deref(),
        o[0],
        o[1],
        o[2],
        o[3],
        o[4],
    ])
}

/// What makes events similar: all of the spam key, and type, reason and action
/// (client-go's `EventAggregatorByReasonFunc`, with the action of `events.k8s.io`).
fn similar_key(e: &Event) -> String {
    let mut k = spam_key(e);
    k.push_str(&key(&[
        e.type_.as_deref(),
        e.reason.as_deref(),
        e.action.as_deref(),
    ]));
    k
}

/// What makes events the same (client-go's `getKey` of `tools/events`): regarding and
/// related object, reason, action, type, note and reporting controller; combined events
/// are the same whatever their note.
fn series_key(e: &Event, combined: bool) -> String {
    let note = if combined {
        Some("\u{2}combined")
    } else {
        e.note.as_deref()
    };
    let mut parts = vec![
        e.reporting_controller.as_deref(),
        e.type_.as_deref(),
        e.reason.as_deref(),
        e.action.as_deref(),
        note,
    ];
    parts.extend(object_parts(e.regarding.as_ref()));
    parts.extend(object_parts(e.related.as_ref()));
    key(&parts)
}

/// The decisions of one recorder, made on its task.
struct State {
    spam: SpamFilter,
    similar: Aggregator,
    series: SeriesCache,
}

impl State {
    fn new(config: &EventRecorderConfig) -> Self {
        Self {
            spam: SpamFilter::new(config.cache_size, config.spam_burst, config.spam_refill),
            similar: Aggregator::new(
                config.cache_size,
                config.aggregate_max,
                config.aggregate_interval,
            ),
            series: SeriesCache::new(config.series_finish),
        }
    }

    /// One event from a caller: the writes it needs.
    fn handle(&mut self, mut event: Event, now: Instant) -> Vec<Write> {
        if !self.spam.allow(&spam_key(&event), now) {
            tracing::debug!(target: "kubecto::events", reason = event.reason.as_deref().unwrap_or_default(), name = event.metadata.name.as_deref().unwrap_or_default(), "spam filter: too many events about this object; dropping");
            return Vec::new();
        }
        let note = event.note.clone().unwrap_or_default();
        let combined = self.similar.combine(&similar_key(&event), &note, now);
        if combined {
            let text = format!("{COMBINED}{note}");
            event.note = Some(truncate(&text, MAX_NOTE_BYTES).to_owned());
        }
        let key = series_key(&event, combined);
        let wall = event.event_time.clone().unwrap_or_else(wall_now);
        self.series.observe(key, event, now, wall)
    }
}

/// The recorder's task: handles queued events, ticks the heartbeat and the end of series,
/// and runs the writes, until every recorder clone is gone (then writes what is pending).
async fn run(mut rx: mpsc::Receiver<Msg>, config: EventRecorderConfig, writer: Arc<Writer>) {
    let mut state = State::new(&config);
    let mut writes = JoinSet::new();
    let spawn = |writes: &mut JoinSet<()>, batch: Vec<Write>| {
        for w in batch {
            let writer = Arc::clone(&writer);
            writes.spawn(async move {
                let _in_order = w.order.lock().await;
                writer.record(w.event).await;
            });
        }
    };
    let start = Instant::now();
    let mut finish = tokio::time::interval_at(start + config.series_finish, config.series_finish);
    let mut heartbeat =
        tokio::time::interval_at(start + config.series_heartbeat, config.series_heartbeat);
    finish.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Some(Msg::Event(event)) => {
                    let batch = state.handle(*event, Instant::now());
                    spawn(&mut writes, batch);
                }
                Some(Msg::Flush(done)) => {
                    let batch = state.series.heartbeat();
                    spawn(&mut writes, batch);
                    while writes.join_next().await.is_some() {}
                    let _ = done.send(());
                }
                None => break,
            },
            _ = finish.tick() => {
                let batch = state.series.finish(Instant::now());
                spawn(&mut writes, batch);
            }
            _ = heartbeat.tick() => {
                let batch = state.series.heartbeat();
                spawn(&mut writes, batch);
            }
            Some(_) = writes.join_next(), if !writes.is_empty() => {}
        }
    }
    let batch = state.series.heartbeat();
    spawn(&mut writes, batch);
    while writes.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_cut_at_a_character_boundary() {
        assert_eq!(truncate("short", 1024), "short");
        let long = "é".repeat(600);
        let cut = truncate(&long, 1024);
        assert_eq!(cut.len(), 1024);
        let odd = format!("a{long}");
        assert_eq!(truncate(&odd, 1024).len(), 1023);
    }

    #[test]
    fn names_are_unique_and_increase() {
        let a = unique_now().0;
        let b = unique_now().0;
        assert!(b > a);
    }
}
