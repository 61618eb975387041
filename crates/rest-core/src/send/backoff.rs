//! Per-host exponential backoff (client-go's `URLBackoff`): off by default; when on, a host
//! that answers 429 or 5xx makes the next request to it wait, doubling up to a maximum,
//! and a success resets it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Settings of the per-host backoff.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackoffConfig {
    /// The first wait after a failure.
    pub initial: Duration,
    /// The largest wait.
    pub max: Duration,
}

impl BackoffConfig {
    /// A backoff starting at `initial` and doubling up to `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Self { initial, max }
    }
}

impl Default for BackoffConfig {
    /// One second doubling up to ten seconds.
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    delay: Duration,
    last_update: Instant,
}

/// Tracks the current backoff of each host.
#[derive(Debug)]
pub(crate) struct BackoffManager {
    config: BackoffConfig,
    hosts: Mutex<HashMap<String, Entry>>,
}

impl BackoffManager {
    pub(crate) fn new(config: BackoffConfig) -> Self {
        Self {
            config,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// How long a request to `host` should wait now.
    pub(crate) fn delay(&self, host: &str) -> Duration {
        let hosts = match self.hosts.lock() {
            Ok(h) => h,
            Err(poisoned) => poisoned.into_inner(),
        };
        match hosts.get(host) {
            // Forget entries idle for twice the max: the host has had time to recover.
            Some(e) if e.last_update.elapsed() < self.config.max.saturating_mul(2) => e.delay,
            _ => Duration::ZERO,
        }
    }

    /// Records the outcome of a request to `host`: `failed` is a 429, a 5xx or a
    /// transport error.
    pub(crate) fn update(&self, host: &str, failed: bool) {
        let mut hosts = match self.hosts.lock() {
            Ok(h) => h,
            Err(poisoned) => poisoned.into_inner(),
        };
        if !failed {
            hosts.remove(host);
            return;
        }
        let now = Instant::now();
        let next = match hosts.get(host) {
            Some(e) if e.last_update.elapsed() < self.config.max.saturating_mul(2) => {
                e.delay.saturating_mul(2).min(self.config.max)
            }
            _ => self.config.initial.min(self.config.max),
        };
        hosts.insert(
            host.to_owned(),
            Entry {
                delay: next,
                last_update: now,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_up_and_resets() {
        let m = BackoffManager::new(BackoffConfig::new(
            Duration::from_millis(100),
            Duration::from_millis(350),
        ));
        assert_eq!(m.delay("a"), Duration::ZERO);
        m.update("a", true);
        assert_eq!(m.delay("a"), Duration::from_millis(100));
        m.update("a", true);
        assert_eq!(m.delay("a"), Duration::from_millis(200));
        m.update("a", true);
        assert_eq!(m.delay("a"), Duration::from_millis(350));
        assert_eq!(m.delay("b"), Duration::ZERO);
        m.update("a", false);
        assert_eq!(m.delay("a"), Duration::ZERO);
    }
}
