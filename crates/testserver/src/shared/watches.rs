//! The watches being served: how many are open, and the signals that end them all at
//! once, cut as by a broken connection or closed cleanly as at a server-side timeout
//! (`TestServer::drop_open_watches` and `end_open_watches`).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::watch;

/// Open watches and the two signals.
pub(crate) struct Watches {
    open: Arc<AtomicUsize>,
    cut: watch::Sender<u64>,
    end: watch::Sender<u64>,
}

impl Default for Watches {
    fn default() -> Watches {
        Watches {
            open: Arc::default(),
            cut: watch::channel(0).0,
            end: watch::channel(0).0,
        }
    }
}

/// Counts a watch as open until it is dropped.
pub(crate) struct OpenWatch(Arc<AtomicUsize>);

impl Drop for OpenWatch {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A future that resolves at the next signal sent after it was made (never, if the
/// signal's sender goes away).
fn next(signal: &watch::Sender<u64>) -> impl Future<Output = ()> + Send + 'static {
    let mut rx = signal.subscribe();
    async move {
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl Watches {
    /// Count a watch as open while the guard lives.
    pub(crate) fn open(&self) -> OpenWatch {
        self.open.fetch_add(1, Ordering::Relaxed);
        OpenWatch(Arc::clone(&self.open))
    }

    /// How many watches are open.
    pub(crate) fn count(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Resolves when the watches open now are to be cut.
    pub(crate) fn on_cut(&self) -> impl Future<Output = ()> + Send + 'static {
        next(&self.cut)
    }

    /// Resolves when the watches open now are to end cleanly.
    pub(crate) fn on_end(&self) -> impl Future<Output = ()> + Send + 'static {
        next(&self.end)
    }

    /// Cut every open watch; returns how many were open.
    pub(crate) fn cut_all(&self) -> usize {
        let n = self.count();
        self.cut.send_modify(|n| *n += 1);
        n
    }

    /// End every open watch cleanly; returns how many were open.
    pub(crate) fn end_all(&self) -> usize {
        let n = self.count();
        self.end.send_modify(|n| *n += 1);
        n
    }
}
