//! How long an item waits before it is retried, as client-go's `workqueue` rate limiters:
//! per-item exponential backoff ([`ItemExponentialFailureRateLimiter`]), an overall token
//! bucket ([`BucketRateLimiter`]), fast-then-slow ([`ItemFastSlowRateLimiter`]) and the
//! worst of several ([`MaxOfRateLimiter`]). [`default_controller_rate_limiter`] is
//! client-go's `DefaultControllerRateLimiter`.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// client-go's `workqueue.TypedRateLimiter`: decides how long an item waits before it is
/// processed again, and forgets an item once it succeeded.
pub trait RateLimiter<T>: Send + Sync {
    /// How long `item` should wait now (each call counts as one more failure).
    fn when(&self, item: &T) -> Duration;
    /// Stop tracking `item` (it was processed successfully).
    fn forget(&self, item: &T);
    /// How many times `item` has failed since it was last forgotten.
    fn num_requeues(&self, item: &T) -> u32;
}

fn lock<V>(m: &Mutex<V>) -> std::sync::MutexGuard<'_, V> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// client-go's `ItemExponentialFailureRateLimiter`: `base × 2^failures`, at most `max`.
#[derive(Debug)]
pub struct ItemExponentialFailureRateLimiter<T> {
    failures: Mutex<HashMap<T, u32>>,
    base: Duration,
    max: Duration,
}

impl<T: Eq + Hash + Clone> ItemExponentialFailureRateLimiter<T> {
    /// Waits of `base`, `2 × base`, `4 × base`, ... up to `max`.
    pub fn new(base: Duration, max: Duration) -> Self {
        Self {
            failures: Mutex::new(HashMap::new()),
            base,
            max,
        }
    }
}

impl<T: Eq + Hash + Clone + Send> RateLimiter<T> for ItemExponentialFailureRateLimiter<T> {
    fn when(&self, item: &T) -> Duration {
        let mut failures = lock(&self.failures);
        let n = failures.entry(item.clone()).or_insert(0);
        let exp = *n;
        *n = n.saturating_add(1);
        // 2^exp overflows quickly; anything past 2^40 × base is past any sane max.
        let backoff = self.base.as_secs_f64() * 2f64.powi(exp.min(62) as i32);
        if backoff > self.max.as_secs_f64() {
            self.max
        } else {
            Duration::from_secs_f64(backoff)
        }
    }

    fn forget(&self, item: &T) {
        lock(&self.failures).remove(item);
    }

    fn num_requeues(&self, item: &T) -> u32 {
        lock(&self.failures).get(item).copied().unwrap_or(0)
    }
}

/// client-go's `ItemFastSlowRateLimiter`: `fast` for the first `max_fast_attempts`
/// failures of an item, `slow` after.
#[derive(Debug)]
pub struct ItemFastSlowRateLimiter<T> {
    failures: Mutex<HashMap<T, u32>>,
    fast: Duration,
    slow: Duration,
    max_fast_attempts: u32,
}

impl<T: Eq + Hash + Clone> ItemFastSlowRateLimiter<T> {
    /// `fast` for the first `max_fast_attempts` failures, `slow` after.
    pub fn new(fast: Duration, slow: Duration, max_fast_attempts: u32) -> Self {
        Self {
            failures: Mutex::new(HashMap::new()),
            fast,
            slow,
            max_fast_attempts,
        }
    }
}

impl<T: Eq + Hash + Clone + Send> RateLimiter<T> for ItemFastSlowRateLimiter<T> {
    fn when(&self, item: &T) -> Duration {
        let mut failures = lock(&self.failures);
        let n = failures.entry(item.clone()).or_insert(0);
        *n = n.saturating_add(1);
        if *n <= self.max_fast_attempts {
            self.fast
        } else {
            self.slow
        }
    }

    fn forget(&self, item: &T) {
        lock(&self.failures).remove(item);
    }

    fn num_requeues(&self, item: &T) -> u32 {
        lock(&self.failures).get(item).copied().unwrap_or(0)
    }
}

/// client-go's `BucketRateLimiter` (golang.org/x/time/rate): a token bucket shared by every
/// item, refilled at `qps` tokens a second and holding at most `burst`. Each
/// [`when`](RateLimiter::when) reserves a token and says how long until it is there.
/// It counts no failures: [`forget`](RateLimiter::forget) does nothing.
#[derive(Debug)]
pub struct BucketRateLimiter {
    qps: f64,
    burst: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    /// Tokens at `at` (negative: reserved ahead).
    tokens: f64,
    at: Option<Instant>,
}

impl BucketRateLimiter {
    /// A bucket of `burst` tokens (full at the start) refilled at `qps` a second.
    pub fn new(qps: f64, burst: u32) -> Self {
        Self {
            qps,
            burst: f64::from(burst),
            state: Mutex::new(Bucket {
                tokens: f64::from(burst),
                at: None,
            }),
        }
    }

    fn reserve(&self) -> Duration {
        let now = Instant::now();
        let mut b = lock(&self.state);
        let elapsed =
            b.at.map_or(0.0, |at| now.saturating_duration_since(at).as_secs_f64());
        b.tokens = (b.tokens + elapsed * self.qps).min(self.burst);
        b.at = Some(now);
        b.tokens -= 1.0;
        if b.tokens >= 0.0 || self.qps <= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-b.tokens / self.qps)
        }
    }
}

impl<T> RateLimiter<T> for BucketRateLimiter {
    fn when(&self, _item: &T) -> Duration {
        self.reserve()
    }

    fn forget(&self, _item: &T) {}

    fn num_requeues(&self, _item: &T) -> u32 {
        0
    }
}

/// client-go's `MaxOfRateLimiter`: asks every limiter and waits the longest.
pub struct MaxOfRateLimiter<T> {
    limiters: Vec<Box<dyn RateLimiter<T>>>,
}

impl<T> std::fmt::Debug for MaxOfRateLimiter<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaxOfRateLimiter")
            .field("limiters", &self.limiters.len())
            .finish()
    }
}

impl<T> MaxOfRateLimiter<T> {
    /// The worst of `limiters`.
    pub fn new(limiters: Vec<Box<dyn RateLimiter<T>>>) -> Self {
        Self { limiters }
    }
}

impl<T> RateLimiter<T> for MaxOfRateLimiter<T> {
    fn when(&self, item: &T) -> Duration {
        // Every limiter is asked: each counts the failure (or takes its token).
        self.limiters
            .iter()
            .map(|l| l.when(item))
            .max()
            .unwrap_or(Duration::ZERO)
    }

    fn forget(&self, item: &T) {
        for l in &self.limiters {
            l.forget(item);
        }
    }

    fn num_requeues(&self, item: &T) -> u32 {
        self.limiters
            .iter()
            .map(|l| l.num_requeues(item))
            .max()
            .unwrap_or(0)
    }
}

/// client-go's `DefaultControllerRateLimiter`: per-item exponential backoff from 5 ms to
/// 1000 s, combined with an overall bucket of 10 qps and a burst of 100 (which only
/// matters when many items fail at once).
pub fn default_controller_rate_limiter<T>() -> MaxOfRateLimiter<T>
where
    T: Eq + Hash + Clone + Send + 'static,
{
    MaxOfRateLimiter::new(vec![
        Box::new(ItemExponentialFailureRateLimiter::new(
            Duration::from_millis(5),
            Duration::from_secs(1000),
        )),
        Box::new(BucketRateLimiter::new(10.0, 100)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn exponential_doubles_per_item_up_to_max_and_forgets() {
        let r = ItemExponentialFailureRateLimiter::new(5 * MS, Duration::from_secs(1000));
        let waits: Vec<Duration> = (0..5).map(|_| r.when(&"a")).collect();
        assert_eq!(waits, [5 * MS, 10 * MS, 20 * MS, 40 * MS, 80 * MS]);
        assert_eq!(r.when(&"b"), 5 * MS, "each item counts on its own");
        assert_eq!(r.num_requeues(&"a"), 5);
        for _ in 0..100 {
            r.when(&"a");
        }
        assert_eq!(r.when(&"a"), Duration::from_secs(1000));
        r.forget(&"a");
        assert_eq!(r.num_requeues(&"a"), 0);
        assert_eq!(r.when(&"a"), 5 * MS);
    }

    #[test]
    fn fast_then_slow() {
        let r = ItemFastSlowRateLimiter::new(MS, Duration::from_secs(10), 2);
        let waits: Vec<Duration> = (0..3).map(|_| r.when(&1)).collect();
        assert_eq!(waits, [MS, MS, Duration::from_secs(10)]);
        r.forget(&1);
        assert_eq!(r.when(&1), MS);
    }

    #[tokio::test(start_paused = true)]
    async fn bucket_allows_the_burst_then_paces_at_qps() {
        let r = BucketRateLimiter::new(10.0, 100);
        for i in 0..100 {
            assert_eq!(
                RateLimiter::<u32>::when(&r, &i),
                Duration::ZERO,
                "token {i}"
            );
        }
        // The bucket is empty: each next token is 100 ms further away.
        assert_eq!(RateLimiter::<u32>::when(&r, &0), 100 * MS);
        assert_eq!(RateLimiter::<u32>::when(&r, &0), 200 * MS);
        tokio::time::advance(Duration::from_secs(1)).await;
        // One second refilled ten tokens, two of which were reserved already.
        let w = RateLimiter::<u32>::when(&r, &0);
        assert!(w.is_zero(), "{w:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn default_controller_limiter_is_the_worse_of_both() {
        let r = default_controller_rate_limiter::<String>();
        assert_eq!(r.when(&"x".to_owned()), 5 * MS);
        assert_eq!(r.when(&"x".to_owned()), 10 * MS);
        assert_eq!(r.num_requeues(&"x".to_owned()), 2);
        // 98 more items use up the burst (100 tokens in all); the next waits for the bucket.
        for i in 0..98 {
            r.when(&format!("item-{i}"));
        }
        assert_eq!(r.when(&"y".to_owned()), 100 * MS);
        r.forget(&"x".to_owned());
        assert_eq!(r.num_requeues(&"x".to_owned()), 0);
    }
}
