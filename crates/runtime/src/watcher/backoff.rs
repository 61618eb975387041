//! How long the reflector waits after a failure, as client-go's reflector backoff
//! (`NewExponentialBackoffManager(800ms, 30s, 2m, 2.0, 1.0)`): 800 ms doubling to 30 s,
//! each wait plus a random part of up to the wait itself, back to 800 ms after two
//! minutes without a failure.

use std::time::Duration;

use tokio::time::Instant;

use crate::rand::jitter;

/// The reflector's backoff settings (client-go's defaults from [`Default`]).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BackoffConfig {
    /// The first wait (800 ms).
    pub initial: Duration,
    /// The longest wait, before jitter (30 s).
    pub max: Duration,
    /// What a wait is multiplied by after each failure (2.0).
    pub factor: f64,
    /// The random extra as a fraction of the wait (1.0: up to the wait again).
    pub jitter: f64,
    /// A stretch without failures after which the wait starts over (2 min).
    pub reset_after: Duration,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(800),
            max: Duration::from_secs(30),
            factor: 2.0,
            jitter: 1.0,
            reset_after: Duration::from_secs(120),
        }
    }
}

impl BackoffConfig {
    /// client-go's settings with another first and longest wait (for tests and tools).
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            ..Self::default()
        }
    }
}

/// The state of one reflector's backoff.
#[derive(Debug)]
pub(crate) struct Backoff {
    config: BackoffConfig,
    next: Duration,
    last: Option<Instant>,
}

impl Backoff {
    pub(crate) fn new(config: BackoffConfig) -> Self {
        Self {
            config,
            next: config.initial,
            last: None,
        }
    }

    /// The wait after a failure now.
    pub(crate) fn next_wait(&mut self) -> Duration {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.saturating_duration_since(t) > self.config.reset_after)
        {
            self.next = self.config.initial;
        }
        self.last = Some(now);
        let wait = self.next;
        self.next = self.next.mul_f64(self.config.factor).min(self.config.max);
        if self.config.jitter > 0.0 {
            jitter(wait, self.config.jitter)
        } else {
            wait
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn doubles_to_the_cap_with_jitter_and_resets_after_a_healthy_stretch() {
        let mut b = Backoff::new(BackoffConfig::default());
        let base = [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0];
        for want in base {
            let got = b.next_wait().as_secs_f64();
            assert!(got >= want && got <= 2.0 * want, "{got} for {want}");
        }
        tokio::time::advance(Duration::from_secs(121)).await;
        let got = b.next_wait().as_secs_f64();
        assert!((0.8..=1.6).contains(&got), "{got}");
    }
}
