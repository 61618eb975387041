//! Client-side rate limiting: a token bucket shared by every clone of a client
//! (client-go's `flowcontrol.NewTokenBucketRateLimiter`).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::RateLimit;

/// A token bucket: `burst` tokens, refilled at `qps` per second. A caller that finds the
/// bucket empty reserves a future token and sleeps until it is due, so waiters are served
/// in order and never spin.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    qps: f64,
    burst: f64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// The bucket for `limit`, as client-go reads its knobs: a zero `qps` or `burst` takes
    /// the default, a negative or NaN `qps` turns limiting off.
    pub(crate) fn for_limit(limit: RateLimit) -> Option<Self> {
        if limit.qps.is_nan() || limit.qps < 0.0 {
            return None;
        }
        let defaults = RateLimit::default();
        Some(Self::new(RateLimit {
            qps: if limit.qps == 0.0 {
                defaults.qps
            } else {
                limit.qps
            },
            burst: if limit.burst == 0 {
                defaults.burst
            } else {
                limit.burst
            },
        }))
    }

    pub(crate) fn new(limit: RateLimit) -> Self {
        let burst = f64::from(limit.burst.max(1));
        Self {
            qps: f64::from(limit.qps).max(f64::MIN_POSITIVE),
            burst,
            state: Mutex::new(State {
                tokens: burst,
                last: Instant::now(),
            }),
        }
    }

    /// Takes one token, returning how long the caller must wait before using it.
    pub(crate) fn reserve(&self) -> Duration {
        let now = Instant::now();
        let mut st = match self.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        let elapsed = now.saturating_duration_since(st.last).as_secs_f64();
        st.tokens = (st.tokens + elapsed * self.qps).min(self.burst);
        st.last = now;
        st.tokens -= 1.0;
        if st.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::try_from_secs_f64(-st.tokens / self.qps).unwrap_or(Duration::MAX)
        }
    }

    /// Waits for a token; returns how long it waited.
    pub(crate) async fn acquire(&self) -> Duration {
        let wait = self.reserve();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_takes_defaults_and_negative_disables() {
        assert!(
            TokenBucket::for_limit(RateLimit {
                qps: -1.0,
                burst: 10
            })
            .is_none()
        );
        assert!(
            TokenBucket::for_limit(RateLimit {
                qps: f32::NAN,
                burst: 10
            })
            .is_none()
        );
        let b = TokenBucket::for_limit(RateLimit { qps: 0.0, burst: 0 }).unwrap();
        assert_eq!(b.burst, 100.0);
        assert_eq!(b.qps, 50.0);
    }

    #[test]
    fn burst_then_rate() {
        let b = TokenBucket::new(RateLimit {
            qps: 10.0,
            burst: 3,
        });
        for _ in 0..3 {
            assert_eq!(b.reserve(), Duration::ZERO);
        }
        let w = b.reserve();
        assert!(
            w > Duration::from_millis(80) && w <= Duration::from_millis(100),
            "{w:?}"
        );
        let w2 = b.reserve();
        assert!(
            w2 > Duration::from_millis(180) && w2 <= Duration::from_millis(200),
            "{w2:?}"
        );
    }
}
