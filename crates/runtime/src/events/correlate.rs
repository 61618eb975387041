//! What the recorder decides before it writes, following client-go: the spam filter and
//! the aggregation of `tools/record` (`events_cache.go`), and the series of
//! `tools/events` (`event_broadcaster.go`). Pure bookkeeping over a given `now`; the
//! writes it asks for are made by `write.rs`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::events::v1::{Event, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use tokio::time::Instant;

/// A map of at most `cap` entries that forgets the least recently used first (client-go
/// keeps its spam and aggregation records in a 4,096-entry LRU).
pub(crate) struct Lru<V> {
    map: HashMap<String, (V, u64)>,
    tick: u64,
    cap: usize,
}

impl<V> Lru<V> {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            map: HashMap::new(),
            tick: 0,
            cap: cap.max(1),
        }
    }

    /// The entry of `key`, made by `make` if there is none (evicting the least recently
    /// used entry when full); marks it used.
    pub(crate) fn entry(&mut self, key: &str, make: impl FnOnce() -> V) -> &mut V {
        self.tick += 1;
        if !self.map.contains_key(key) {
            if self.map.len() >= self.cap
                && let Some(oldest) = self
                    .map
                    .iter()
                    .min_by_key(|(_, (_, used))| *used)
                    .map(|(k, _)| k.clone())
            {
                self.map.remove(&oldest);
            }
            self.map.insert(key.to_owned(), (make(), 0));
        }
        let slot = self.map.get_mut(key).expect("inserted above");
        slot.1 = self.tick;
        &mut slot.0
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

/// A token bucket: `burst` tokens, one more every `refill`.
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// client-go's `EventSourceObjectSpamFilter`: each source (reporting controller and
/// instance) may write `burst` events about one object, then one more per `refill`.
pub(crate) struct SpamFilter {
    buckets: Lru<Bucket>,
    burst: f64,
    refill: Duration,
}

impl SpamFilter {
    pub(crate) fn new(cache: usize, burst: u32, refill: Duration) -> Self {
        Self {
            buckets: Lru::new(cache),
            burst: f64::from(burst),
            refill,
        }
    }

    /// Whether an event with this source+object key may go on now (takes a token).
    pub(crate) fn allow(&mut self, key: &str, now: Instant) -> bool {
        let burst = self.burst;
        let b = self.buckets.entry(key, || Bucket {
            tokens: burst,
            last: now,
        });
        if !self.refill.is_zero() {
            let earned =
                now.saturating_duration_since(b.last).as_secs_f64() / self.refill.as_secs_f64();
            b.tokens = (b.tokens + earned).min(burst);
        } else {
            b.tokens = burst;
        }
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

struct Similar {
    notes: HashSet<String>,
    last: Instant,
}

/// client-go's `EventAggregator`: events that differ only in their note are similar;
/// once `max` different notes of similar events were seen within `interval` of each
/// other, further ones are combined into one event (and one series).
pub(crate) struct Aggregator {
    records: Lru<Similar>,
    max: usize,
    interval: Duration,
}

/// The note prefix of a combined event (client-go's `EventAggregatorByReasonMessageFunc`).
pub(crate) const COMBINED: &str = "(combined from similar events): ";

impl Aggregator {
    pub(crate) fn new(cache: usize, max: usize, interval: Duration) -> Self {
        Self {
            records: Lru::new(cache),
            max: max.max(1),
            interval,
        }
    }

    /// Whether the event of this similarity key and note is to be combined.
    pub(crate) fn combine(&mut self, key: &str, note: &str, now: Instant) -> bool {
        let r = self.records.entry(key, || Similar {
            notes: HashSet::new(),
            last: now,
        });
        if now.saturating_duration_since(r.last) > self.interval {
            r.notes.clear();
        }
        r.last = now;
        if !r.notes.contains(note) {
            r.notes.insert(note.to_owned());
        }
        if r.notes.len() < self.max {
            return false;
        }
        // Do not grow the set past the threshold.
        if let Some(any) = r.notes.iter().next().cloned() {
            r.notes.remove(&any);
        }
        true
    }
}

/// One write the recorder must make: create the event, or (with `series` set) patch the
/// series of the existing one. Writes of one series hold its lock, so they reach the
/// server in the order they were decided.
pub(crate) struct Write {
    pub(crate) event: Event,
    pub(crate) order: Arc<tokio::sync::Mutex<()>>,
}

struct Cached {
    event: Event,
    last_observed: Instant,
    /// The series has occurrences the server has not been told of.
    dirty: bool,
    order: Arc<tokio::sync::Mutex<()>>,
}

impl Cached {
    fn write(&self) -> Write {
        Write {
            event: self.event.clone(),
            order: Arc::clone(&self.order),
        }
    }
}

/// client-go's `eventCache` of `tools/events`: the last event of each kind (same
/// regarding, related, reason, action, type, note and reporting controller). A repeat
/// within `finish_after` of the last occurrence joins its series instead of making a new
/// Event: the second occurrence writes `series` (count 2); later ones only count, and the
/// count is written at each heartbeat and when the series finishes (no repeat for
/// `finish_after`).
pub(crate) struct SeriesCache {
    entries: HashMap<String, Cached>,
    finish_after: Duration,
}

impl SeriesCache {
    pub(crate) fn new(finish_after: Duration) -> Self {
        Self {
            entries: HashMap::new(),
            finish_after,
        }
    }

    /// Records one occurrence of `event` (kind `key`); the writes it needs.
    pub(crate) fn observe(
        &mut self,
        key: String,
        event: Event,
        now: Instant,
        wall: MicroTime,
    ) -> Vec<Write> {
        let mut writes = Vec::new();
        if let Some(c) = self.entries.get_mut(&key) {
            if now.saturating_duration_since(c.last_observed) <= self.finish_after {
                c.last_observed = now;
                match &mut c.event.series {
                    Some(series) => {
                        series.count = series.count.saturating_add(1);
                        series.last_observed_time = wall;
                        c.dirty = true;
                    }
                    None => {
                        c.event.series = Some(EventSeries {
                            count: 2,
                            last_observed_time: wall,
                        });
                        c.dirty = false;
                        writes.push(c.write());
                    }
                }
                return writes;
            }
            // The series finished: its last count goes out before the new event.
            if let Some(old) = self.entries.remove(&key)
                && old.dirty
            {
                writes.push(old.write());
            }
        }
        let c = Cached {
            event,
            last_observed: now,
            dirty: false,
            order: Arc::new(tokio::sync::Mutex::new(())),
        };
        writes.push(c.write());
        self.entries.insert(key, c);
        writes
    }

    /// The heartbeat: the counts of series that grew since they were last written.
    pub(crate) fn heartbeat(&mut self) -> Vec<Write> {
        self.entries
            .values_mut()
            .filter(|c| c.dirty)
            .map(|c| {
                c.dirty = false;
                c.write()
            })
            .collect()
    }

    /// Forgets the kinds not seen for `finish_after`, writing the last count of series
    /// that grew since their last write (client-go's `finishSeries`).
    pub(crate) fn finish(&mut self, now: Instant) -> Vec<Write> {
        let finish_after = self.finish_after;
        let mut writes = Vec::new();
        self.entries.retain(|_, c| {
            if now.saturating_duration_since(c.last_observed) <= finish_after {
                return true;
            }
            if c.dirty {
                writes.push(c.write());
            }
            false
        });
        writes
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(start: Instant, secs: u64) -> Instant {
        start + Duration::from_secs(secs)
    }

    fn wall() -> MicroTime {
        MicroTime(k8s_openapi::jiff::Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn the_spam_filter_allows_a_burst_then_one_per_refill() {
        let t0 = Instant::now();
        let mut f = SpamFilter::new(16, 25, Duration::from_secs(300));
        let allowed = (0..30).filter(|_| f.allow("ctl/pod-a", t0)).count();
        assert_eq!(allowed, 25);
        assert!(f.allow("ctl/pod-b", t0), "each object has its own bucket");
        assert!(!f.allow("ctl/pod-a", at(t0, 299)));
        assert!(f.allow("ctl/pod-a", at(t0, 301)));
        assert!(!f.allow("ctl/pod-a", at(t0, 302)));
    }

    #[test]
    fn the_lru_forgets_the_least_recently_used() {
        let mut l = Lru::new(2);
        *l.entry("a", || 1) += 0;
        *l.entry("b", || 2) += 0;
        *l.entry("a", || 0) += 10;
        *l.entry("c", || 3) += 0;
        assert_eq!(l.len(), 2);
        assert_eq!(*l.entry("a", || 0), 11, "a was used last, so b went");
        assert_eq!(*l.entry("b", || 99), 99);
    }

    #[test]
    fn the_tenth_different_note_is_combined_and_an_old_record_starts_over() {
        let t0 = Instant::now();
        let mut a = Aggregator::new(16, 10, Duration::from_secs(600));
        for i in 0..9 {
            assert!(!a.combine("k", &format!("note {i}"), t0));
        }
        assert!(!a.combine("k", "note 0", t0), "a repeated note is not new");
        assert!(a.combine("k", "note 9", t0));
        assert!(a.combine("k", "note 10", t0));
        assert!(!a.combine("k", "note 11", at(t0, 601)));
    }

    #[test]
    fn a_repeat_starts_a_series_then_only_counts_until_a_heartbeat_or_the_finish() {
        let t0 = Instant::now();
        let mut s = SeriesCache::new(Duration::from_secs(360));
        let ev = Event::default();
        let w = s.observe("k".into(), ev.clone(), t0, wall());
        assert_eq!(w.len(), 1);
        assert!(w[0].event.series.is_none(), "the first is a create");
        let w = s.observe("k".into(), ev.clone(), at(t0, 10), wall());
        assert_eq!(w[0].event.series.as_ref().map(|s| s.count), Some(2));
        for i in 0..8 {
            assert!(
                s.observe("k".into(), ev.clone(), at(t0, 11 + i), wall())
                    .is_empty()
            );
        }
        let w = s.heartbeat();
        assert_eq!(w[0].event.series.as_ref().map(|s| s.count), Some(10));
        assert!(s.heartbeat().is_empty(), "nothing new since");
        assert!(
            s.observe("k".into(), ev.clone(), at(t0, 20), wall())
                .is_empty()
        );
        assert!(s.finish(at(t0, 100)).is_empty());
        let w = s.finish(at(t0, 400));
        assert_eq!(w[0].event.series.as_ref().map(|s| s.count), Some(11));
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn a_repeat_after_the_series_finished_is_a_new_event() {
        let t0 = Instant::now();
        let mut s = SeriesCache::new(Duration::from_secs(360));
        let ev = Event::default();
        s.observe("k".into(), ev.clone(), t0, wall());
        s.observe("k".into(), ev.clone(), at(t0, 1), wall());
        s.observe("k".into(), ev.clone(), at(t0, 2), wall());
        let w = s.observe("k".into(), ev.clone(), at(t0, 400), wall());
        assert_eq!(w.len(), 2, "the old series' last count, then a create");
        assert_eq!(w[0].event.series.as_ref().map(|s| s.count), Some(3));
        assert!(w[1].event.series.is_none());
    }
}
