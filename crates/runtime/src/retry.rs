//! Read-modify-write with retries, as client-go's `util/retry`: [`retry_on_conflict`] runs
//! a closure again when it lost a race (409 Conflict), waiting as a [`Backoff`] says, and
//! [`on_error`] does the same for any error a predicate accepts.

use std::future::Future;
use std::time::Duration;

use crate::rand::jitter;

/// client-go's `wait.Backoff`: how many attempts, and how long to wait between them.
///
/// The wait starts at `duration` and is multiplied by `factor` after each step (capped at
/// `cap`, when set, after which no steps are left); each wait gets a random extra of up to
/// `jitter × wait`.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// The first wait.
    pub duration: Duration,
    /// What each wait is multiplied by for the next one (`1.0`: constant).
    pub factor: f64,
    /// The largest random extra, as a fraction of the wait (`0.0`: none).
    pub jitter: f64,
    /// How many attempts (a [`retry_on_conflict`] makes at most this many calls).
    pub steps: u32,
    /// The longest wait, if any.
    pub cap: Option<Duration>,
}

/// client-go's `retry.DefaultRetry`: 5 attempts 10 ms apart (plus up to 10 % jitter), for
/// conflicts between writers of the same object.
pub const DEFAULT_RETRY: Backoff = Backoff {
    duration: Duration::from_millis(10),
    factor: 1.0,
    jitter: 0.1,
    steps: 5,
    cap: None,
};

/// client-go's `retry.DefaultBackoff`: 4 attempts, waiting 10 ms, 50 ms, 250 ms (plus up
/// to 10 % jitter), for errors that may last a little longer than a conflict.
pub const DEFAULT_BACKOFF: Backoff = Backoff {
    duration: Duration::from_millis(10),
    factor: 5.0,
    jitter: 0.1,
    steps: 4,
    cap: None,
};

impl Backoff {
    /// A backoff of `steps` attempts, the first wait `duration`, each next one `factor`
    /// times longer, with no jitter and no cap.
    pub fn new(duration: Duration, factor: f64, steps: u32) -> Self {
        Self {
            duration,
            factor,
            jitter: 0.0,
            steps,
            cap: None,
        }
    }

    /// The same backoff with this jitter factor.
    #[must_use]
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter;
        self
    }

    /// The same backoff with waits capped at `cap`.
    #[must_use]
    pub fn with_cap(mut self, cap: Duration) -> Self {
        self.cap = Some(cap);
        self
    }

    /// client-go's `Backoff.Step`: the next wait, using up one step.
    pub fn step(&mut self) -> Duration {
        if self.steps < 1 {
            return self.jittered(self.duration);
        }
        self.steps -= 1;
        let wait = self.duration;
        if self.factor != 0.0 {
            self.duration = self.duration.mul_f64(self.factor);
            if let Some(cap) = self.cap
                && self.duration > cap
            {
                self.duration = cap;
                self.steps = 0;
            }
        }
        self.jittered(wait)
    }

    fn jittered(&self, d: Duration) -> Duration {
        if self.jitter > 0.0 {
            jitter(d, self.jitter)
        } else {
            d
        }
    }
}

/// An error that can say whether it is a 409 Conflict: rest-core's, the clientset's (the
/// same type) and the dynamic client's.
pub trait ConflictError {
    /// Whether the server answered 409 Conflict (not AlreadyExists).
    fn is_conflict(&self) -> bool;
}

impl ConflictError for kubecto_rest_core::Error {
    fn is_conflict(&self) -> bool {
        kubecto_rest_core::Error::is_conflict(self)
    }
}

impl ConflictError for kubecto_dynamic::Error {
    fn is_conflict(&self) -> bool {
        kubecto_dynamic::Error::is_conflict(self)
    }
}

impl<E: ConflictError + ?Sized> ConflictError for Box<E> {
    fn is_conflict(&self) -> bool {
        (**self).is_conflict()
    }
}

/// client-go's `retry.OnError`: runs `f` until it succeeds, fails with an error that
/// `retriable` refuses, or `backoff.steps` attempts have been made, sleeping
/// [`Backoff::step`] between attempts. Returns `f`'s last result.
///
/// # Errors
/// The error of the last attempt.
pub async fn on_error<T, E, F, Fut>(
    mut backoff: Backoff,
    retriable: impl Fn(&E) -> bool,
    mut f: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if backoff.steps <= 1 || !retriable(&e) => return Err(e),
            Err(e) => {
                tracing::debug!(target: "kubecto::retry", remaining = backoff.steps - 1, "retrying after a retriable error");
                drop(e);
                tokio::time::sleep(backoff.step()).await;
            }
        }
    }
}

/// client-go's `retry.RetryOnConflict`: runs a read-modify-write closure again when it
/// fails with 409 Conflict (another writer changed the object between the read and the
/// write), up to `backoff.steps` times. Any other error ends it at once. Use
/// [`DEFAULT_RETRY`] unless you know better. The closure must read the object afresh
/// each time: writing the same stale copy again would conflict again.
///
/// ```no_run
/// # use k8s_openapi::api::apps::v1::Deployment;
/// # async fn run(deployments: kubecto_clientset::Api<Deployment>) -> kubecto_rest_core::Result<()> {
/// use kubecto_rest_core::UpdateOptions;
/// use kubecto_runtime::retry::{retry_on_conflict, DEFAULT_RETRY};
///
/// retry_on_conflict(DEFAULT_RETRY, || async {
///     let mut d = deployments.get("web").await?;
///     d.spec.get_or_insert_with(Default::default).replicas = Some(3);
///     deployments.update(&d, &UpdateOptions::new()).await
/// })
/// .await?;
/// # Ok(()) }
/// ```
///
/// # Errors
/// The first error that is not a conflict, or the conflict of the last attempt.
pub async fn retry_on_conflict<T, E, F, Fut>(backoff: Backoff, f: F) -> Result<T, E>
where
    E: ConflictError,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    on_error(backoff, E::is_conflict, f).await
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[derive(Debug, PartialEq)]
    enum TestError {
        Conflict,
        Other,
    }

    impl ConflictError for TestError {
        fn is_conflict(&self) -> bool {
            *self == TestError::Conflict
        }
    }

    #[test]
    fn steps_grow_by_factor_and_stop_at_the_cap() {
        let mut b =
            Backoff::new(Duration::from_millis(10), 2.0, 10).with_cap(Duration::from_millis(35));
        let waits: Vec<u128> = (0..5).map(|_| b.step().as_millis()).collect();
        assert_eq!(waits, [10, 20, 35, 35, 35]);
        assert_eq!(b.steps, 0);
        let mut b = DEFAULT_RETRY;
        for _ in 0..10 {
            let w = b.step();
            assert!(
                w >= Duration::from_millis(10) && w <= Duration::from_millis(11),
                "{w:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn conflicts_are_retried_five_times_then_returned() {
        let calls = Cell::new(0);
        let start = tokio::time::Instant::now();
        let r: Result<(), TestError> = retry_on_conflict(DEFAULT_RETRY, || {
            calls.set(calls.get() + 1);
            async { Err(TestError::Conflict) }
        })
        .await;
        assert_eq!(r, Err(TestError::Conflict));
        assert_eq!(calls.get(), 5);
        // Four waits of 10 ms plus at most 10 % each.
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(40) && waited <= Duration::from_millis(44),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn other_errors_end_at_once_and_success_is_returned() {
        let calls = Cell::new(0);
        let r: Result<(), TestError> = retry_on_conflict(DEFAULT_RETRY, || {
            calls.set(calls.get() + 1);
            async { Err(TestError::Other) }
        })
        .await;
        assert_eq!((r, calls.get()), (Err(TestError::Other), 1));
        calls.set(0);
        let r: Result<u32, TestError> = retry_on_conflict(DEFAULT_RETRY, || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                if n < 3 {
                    Err(TestError::Conflict)
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(r, Ok(3));
    }
}
