//! How one event reaches the server, as client-go's `recordEvent` and
//! `attemptRecording` (`tools/events`): a new event is created; a series is a strategic
//! merge patch of `series`, and a create when the Event is gone (404). Transport failures
//! and a server in trouble (429, 5xx) are retried up to twelve tries, ten seconds apart
//! (the first wait random, so that clients do not retry in step); an AlreadyExists on
//! creating a series is retried too (its first create was still in flight); anything else
//! the server refuses is logged and dropped. Nothing reaches the caller of `event`.

use std::time::Duration;

use k8s_openapi::api::events::v1::Event;
use kubecto_clientset::{Api, Patch};
use kubecto_rest_core::{CreateOptions, Error, PatchOptions, RestClient};

/// Writes events with client-go's retries.
pub(crate) struct Writer {
    pub(crate) client: RestClient,
    pub(crate) retry_sleep: Duration,
    pub(crate) max_tries: u32,
}

/// Whether a failed write is worth another try.
fn retryable(e: &Error, series: bool) -> bool {
    if e.is_already_exists() {
        return series;
    }
    match e.code() {
        Some(code) => code == 429 || code >= 500,
        None => matches!(
            e,
            Error::Transport { .. } | Error::Timeout { .. } | Error::Retried { .. }
        ),
    }
}

impl Writer {
    /// Writes `event` (a create, or with `series` a patch of it), retrying as client-go
    /// does; failures are logged.
    pub(crate) async fn record(&self, mut event: Event) {
        let series = event.series.is_some();
        let mut tries = 0;
        loop {
            let Err(e) = self.once(&mut event).await else {
                return;
            };
            let name = event.metadata.name.as_deref().unwrap_or_default();
            let ns = event.metadata.namespace.as_deref().unwrap_or_default();
            if !retryable(&e, series) {
                if e.is_already_exists() {
                    tracing::debug!(target: "kubecto::events", namespace = ns, name, error = %e, "the server has this event already; not retrying");
                } else {
                    tracing::error!(target: "kubecto::events", namespace = ns, name, error = %e, "the server refused the event; not retrying");
                }
                return;
            }
            tries += 1;
            if tries >= self.max_tries {
                tracing::error!(target: "kubecto::events", namespace = ns, name, error = %e, tries, "unable to write the event; giving up");
                return;
            }
            let wait = if tries == 1 {
                self.retry_sleep.mul_f64(crate::rand::unit())
            } else {
                self.retry_sleep
            };
            tracing::warn!(target: "kubecto::events", namespace = ns, name, error = %e, ?wait, "unable to write the event; retrying");
            tokio::time::sleep(wait).await;
        }
    }

    async fn once(&self, event: &mut Event) -> Result<(), Error> {
        let ns = event.metadata.namespace.clone().unwrap_or_default();
        let api = Api::<Event>::namespaced(self.client.clone(), &ns);
        if let Some(series) = &event.series {
            let name = event.metadata.name.clone().unwrap_or_default();
            let patch = Patch::Strategic(serde_json::json!({ "series": series }));
            match api.patch(&name, &patch, &PatchOptions::default()).await {
                Ok(_) => return Ok(()),
                // The Event is gone (deleted, expired): create it, series and all.
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        event.metadata.resource_version = None;
        api.create(event, &CreateOptions::default()).await.map(drop)
    }
}
