//! One stop signal for informers, controllers and leader election: cloned into every task,
//! triggered once (by code, or by SIGTERM / Ctrl-C through [`Shutdown::on_signals`]).

use std::sync::Arc;

use tokio::sync::watch;

/// A cloneable stop signal. Every clone sees the same [`trigger`](Self::trigger).
#[derive(Clone, Debug)]
pub struct Shutdown {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// A signal not yet triggered.
    pub fn new() -> Self {
        Self {
            tx: Arc::new(watch::channel(false).0),
        }
    }

    /// Triggers the signal: every [`wait`](Self::wait) returns.
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    /// Whether the signal was triggered.
    pub fn is_triggered(&self) -> bool {
        *self.tx.borrow()
    }

    /// Waits until the signal is triggered.
    pub async fn wait(&self) {
        let mut rx = self.tx.subscribe();
        let _ = rx.wait_for(|stop| *stop).await;
    }

    /// A signal triggered by SIGTERM or SIGINT (Ctrl-C), as a controller's `main` wants.
    /// Needs a tokio runtime.
    pub fn on_signals() -> Self {
        let signal = Self::new();
        let trigger = signal.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!(target: "kubecto::runtime", "shutdown signal received");
            trigger.trigger();
        });
        signal
    }
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
