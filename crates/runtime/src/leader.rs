//! Leader election on a `coordination.k8s.io/v1` Lease, as client-go's
//! `tools/leaderelection`: contenders try to take or renew the lease every retry period;
//! the holder renews it, and stops leading when it could not renew for the renew
//! deadline; a lease not renewed for the lease duration (as this contender observed it,
//! by its own clock, so clock skew between machines does not matter) may be taken.
//! On shutdown the leader releases the lease, so another takes over at once.
//!
//! client-go's timing rules hold: lease duration > renew deadline > 1.2 × retry period.
//! A leader that stops renewing (killed) is replaced at most one lease duration (plus a
//! retry period) after its last renewal.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kubecto_clientset::Api;
use kubecto_rest_core::{CreateOptions, RestClient, UpdateOptions};
use tokio::time::Instant;

use crate::error::Error;
use crate::shutdown::Shutdown;

/// client-go's `JitterFactor`: retries wait between one and 2.2 retry periods.
const JITTER: f64 = 1.2;

/// Where and how to contend (client-go's `LeaderElectionConfig`).
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct LeaderElectionConfig {
    /// The Lease's namespace.
    pub namespace: String,
    /// The Lease's name.
    pub name: String,
    /// This contender's identity (unique among contenders: a pod name, a host name).
    pub identity: String,
    /// How long a lease not renewed is still honoured (15 s).
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before it gives up leading (10 s).
    pub renew_deadline: Duration,
    /// How often to try to take or renew the lease (2 s).
    pub retry_period: Duration,
    /// Release the lease on shutdown (default `true`).
    pub release_on_cancel: bool,
}

impl LeaderElectionConfig {
    /// The Lease `namespace/name`, contended for as `identity`, with client-go's usual
    /// timings (15 s, 10 s, 2 s).
    pub fn new(
        namespace: impl Into<String>,
        name: impl Into<String>,
        identity: impl Into<String>,
    ) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
            release_on_cancel: true,
        }
    }

    /// Sets the lease duration, renew deadline and retry period.
    #[must_use]
    pub fn timings(mut self, lease: Duration, renew_deadline: Duration, retry: Duration) -> Self {
        self.lease_duration = lease;
        self.renew_deadline = renew_deadline;
        self.retry_period = retry;
        self
    }

    /// Whether to release the lease on shutdown.
    #[must_use]
    pub fn release_on_cancel(mut self, yes: bool) -> Self {
        self.release_on_cancel = yes;
        self
    }

    /// client-go's checks.
    ///
    /// # Errors
    /// [`Error::LeaderElection`] naming the broken rule.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |what: &str| {
            Err(Error::LeaderElection {
                what: what.to_owned(),
            })
        };
        if self.identity.is_empty() {
            return bad("the identity may not be empty");
        }
        if self.name.is_empty() || self.namespace.is_empty() {
            return bad("the lease needs a namespace and a name");
        }
        if self.lease_duration <= self.renew_deadline {
            return bad("the lease duration must be longer than the renew deadline");
        }
        if self.retry_period.is_zero() {
            return bad("the retry period must be positive");
        }
        if self.renew_deadline <= self.retry_period.mul_f64(JITTER) {
            return bad("the renew deadline must be longer than 1.2 × the retry period");
        }
        Ok(())
    }
}

/// What this contender last saw of the lease, and when (by its own clock).
struct Observed {
    holder: String,
    renew: Option<MicroTime>,
    at: Instant,
}

/// One contender for a Lease (client-go's `LeaderElector`).
pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaderElectionConfig,
    leading: Arc<AtomicBool>,
    observed: std::sync::Mutex<Option<Observed>>,
}

impl fmt::Debug for LeaderElector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeaderElector")
            .field("config", &self.config)
            .field("leading", &self.is_leader())
            .finish()
    }
}

fn now() -> MicroTime {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let micros = i32::try_from(since.subsec_micros() * 1000).unwrap_or(0);
    let secs = i64::try_from(since.as_secs()).unwrap_or(0);
    MicroTime(k8s_openapi::jiff::Timestamp::new(secs, micros).unwrap_or_default())
}

fn secs(d: Duration) -> i32 {
    i32::try_from(d.as_secs().max(1)).unwrap_or(i32::MAX)
}

impl LeaderElector {
    /// A contender using `client`.
    ///
    /// # Errors
    /// [`Error::LeaderElection`] when the config breaks client-go's timing rules.
    pub fn new(client: RestClient, config: LeaderElectionConfig) -> Result<Self, Error> {
        config.validate()?;
        Ok(Self {
            api: Api::namespaced(client, &config.namespace),
            config,
            leading: Arc::new(AtomicBool::new(false)),
            observed: std::sync::Mutex::new(None),
        })
    }

    /// Whether this contender leads now.
    pub fn is_leader(&self) -> bool {
        self.leading.load(Ordering::Acquire)
    }

    /// Contends until `stop`. When it becomes leader, `on_started_leading` runs on a task
    /// of its own with a signal that triggers when leadership ends; when leadership ends
    /// (it could not renew within the renew deadline, or `stop`), that signal is
    /// triggered, the task is awaited, `on_stopped_leading` runs, the lease is released
    /// (on `stop`, if so configured) and `run` returns. It returns without leading if
    /// `stop` comes first.
    pub async fn run<F, Fut>(
        &self,
        stop: Shutdown,
        on_started_leading: F,
        on_stopped_leading: impl FnOnce(),
    ) where
        F: FnOnce(Shutdown) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        // Acquire.
        loop {
            if stop.is_triggered() {
                return;
            }
            match self.try_acquire_or_renew().await {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(target: "kubecto::leader", lease = %self.config.name, error = %e, "cannot take the lease")
                }
            }
            let wait = crate::rand::jitter(self.config.retry_period, JITTER);
            tokio::select! {
                () = stop.wait() => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
        tracing::info!(target: "kubecto::leader", lease = %self.config.name, identity = %self.config.identity, "started leading");
        self.leading.store(true, Ordering::Release);
        let lost = Shutdown::new();
        let leading = tokio::spawn(on_started_leading(lost.clone()));
        // Renew.
        let mut renewed = Instant::now();
        loop {
            tokio::select! {
                () = stop.wait() => break,
                () = tokio::time::sleep(self.config.retry_period) => {}
            }
            let left = self.config.renew_deadline.saturating_sub(renewed.elapsed());
            let ok = matches!(
                tokio::time::timeout(left, self.try_acquire_or_renew()).await,
                Ok(Ok(true))
            );
            if ok {
                renewed = Instant::now();
            } else if renewed.elapsed() >= self.config.renew_deadline {
                tracing::warn!(target: "kubecto::leader", lease = %self.config.name, "could not renew the lease in time; stopped leading");
                break;
            }
        }
        self.leading.store(false, Ordering::Release);
        lost.trigger();
        let _ = leading.await;
        on_stopped_leading();
        if stop.is_triggered() && self.config.release_on_cancel {
            self.release().await;
        }
    }

    /// Takes the lease if it is free or expired, renews it if it is ours; whether we hold
    /// it now.
    async fn try_acquire_or_renew(&self) -> Result<bool, kubecto_rest_core::Error> {
        let me = &self.config.identity;
        let Some(mut lease) = self.api.get_opt(&self.config.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.config.name.clone()),
                    ..Default::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(me.clone()),
                    lease_duration_seconds: Some(secs(self.config.lease_duration)),
                    acquire_time: Some(now()),
                    renew_time: Some(now()),
                    lease_transitions: Some(0),
                    ..Default::default()
                }),
            };
            return match self.api.create(&lease, &CreateOptions::new()).await {
                Ok(created) => {
                    self.observe(&created);
                    Ok(true)
                }
                Err(e) if e.is_already_exists() => Ok(false),
                Err(e) => Err(e),
            };
        };
        let expired = self.observe(&lease);
        let spec = lease.spec.get_or_insert_with(Default::default);
        let holder = spec.holder_identity.clone().unwrap_or_default();
        if !holder.is_empty() && holder != *me && !expired {
            return Ok(false);
        }
        if holder != *me {
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
            spec.acquire_time = Some(now());
        }
        spec.holder_identity = Some(me.clone());
        spec.lease_duration_seconds = Some(secs(self.config.lease_duration));
        spec.renew_time = Some(now());
        match self.api.update(&lease, &UpdateOptions::new()).await {
            Ok(updated) => {
                self.observe(&updated);
                Ok(true)
            }
            // Someone else wrote first.
            Err(e) if e.is_conflict() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Records what the lease says now; whether it has gone unrenewed (as we saw it) for
    /// a lease duration.
    fn observe(&self, lease: &Lease) -> bool {
        let spec = lease.spec.as_ref();
        let holder = spec
            .and_then(|s| s.holder_identity.clone())
            .unwrap_or_default();
        let renew = spec.and_then(|s| s.renew_time.clone());
        let duration = spec
            .and_then(|s| s.lease_duration_seconds)
            .map_or(self.config.lease_duration, |s| {
                Duration::from_secs(u64::try_from(s).unwrap_or(0))
            });
        let mut observed = self.observed.lock().unwrap_or_else(|p| p.into_inner());
        match &*observed {
            Some(o) if o.holder == holder && o.renew == renew => o.at.elapsed() > duration,
            _ => {
                *observed = Some(Observed {
                    holder,
                    renew,
                    at: Instant::now(),
                });
                false
            }
        }
    }

    /// Gives the lease up: no holder, and a one-second duration.
    async fn release(&self) {
        let Ok(Some(mut lease)) = self.api.get_opt(&self.config.name).await else {
            return;
        };
        let spec = lease.spec.get_or_insert_with(Default::default);
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(now());
        match self.api.update(&lease, &UpdateOptions::new()).await {
            Ok(_) => {
                tracing::info!(target: "kubecto::leader", lease = %self.config.name, "released the lease")
            }
            Err(e) => {
                tracing::warn!(target: "kubecto::leader", lease = %self.config.name, error = %e, "cannot release the lease")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_go_timing_rules() {
        let ok = LeaderElectionConfig::new("ns", "l", "me");
        assert!(ok.validate().is_ok());
        let s = Duration::from_secs;
        for (lease, renew, retry) in [
            (s(10), s(10), s(2)),
            (s(15), s(2), s(2)),
            (s(15), s(10), s(0)),
        ] {
            assert!(ok.clone().timings(lease, renew, retry).validate().is_err());
        }
        // 1.2 × 2 s = 2.4 s: a renew deadline of 2.4 s is too short, 2.5 s is enough.
        assert!(
            ok.clone()
                .timings(s(15), Duration::from_millis(2400), s(2))
                .validate()
                .is_err()
        );
        assert!(
            ok.clone()
                .timings(s(15), Duration::from_millis(2500), s(2))
                .validate()
                .is_ok()
        );
        assert!(LeaderElectionConfig::new("ns", "l", "").validate().is_err());
    }
}
