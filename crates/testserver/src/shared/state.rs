//! The server's state, which every handler gets: the store, the registry of served
//! resources, container logs, the open watches, a few settings, and the controllers
//! that follow writes.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::shared::grace::GracePeriods;
use crate::shared::watches::Watches;
use crate::storage::logs::Logs;
use crate::storage::registry::{Registry, ResourceInfo};
use crate::storage::store::{EventType, HistoryLimits, Obj, Store};

/// Something that follows writes the way a controller of kube-controller-manager
/// follows kube-apiserver: after each write it is told what changed and may write in
/// turn, through the store. Controllers run synchronously after the write that woke them,
/// so a client sees their effect in its next request.
pub(crate) trait Controller: Send + Sync {
    /// `obj` was written (`Added`, `Modified`) or removed (`Deleted`) in `info`'s
    /// collection.
    fn after_write(&self, state: &State, info: &ResourceInfo, obj: &Obj, kind: EventType);
}

/// Everything a request handler needs.
pub(crate) struct State {
    pub registry: RwLock<Registry>,
    pub store: Store,
    pub logs: Logs,
    /// `host:port`, for the legacy `/api` discovery document.
    pub server_address: String,
    pub bookmark_interval: Duration,
    /// The watches being served.
    pub watches: Watches,
    /// Pods deleted with a grace period, and when each goes.
    pub grace: GracePeriods,
    controllers: Vec<Box<dyn Controller>>,
    next_service_ip: AtomicU32,
    /// Whether an asynchronous namespace controller empties Terminating namespaces
    /// (else the server does it at once).
    pub namespace_controller: bool,
}

impl State {
    /// A state serving the built-in resources, with an empty store that keeps `history`
    /// events, these controllers following its writes (in this order), and whether an
    /// asynchronous namespace controller runs.
    pub(crate) fn new(
        history: HistoryLimits,
        server_address: String,
        bookmark_interval: Duration,
        controllers: Vec<Box<dyn Controller>>,
        namespace_controller: bool,
    ) -> State {
        State {
            registry: RwLock::new(Registry::builtin()),
            store: Store::new(history),
            logs: Logs::default(),
            server_address,
            bookmark_interval,
            watches: Watches::default(),
            grace: GracePeriods::default(),
            controllers,
            next_service_ip: AtomicU32::new(0),
            namespace_controller,
        }
    }

    /// The resource served at this group, version and plural, if any.
    pub(crate) fn resource(
        &self,
        group: &str,
        version: &str,
        plural: &str,
    ) -> Option<Arc<ResourceInfo>> {
        self.registry
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .resource(group, version, plural)
    }

    /// The next free ClusterIP (`10.96.x.y`, from `10.96.0.1`).
    pub(crate) fn service_ip(&self) -> String {
        let n = self.next_service_ip.fetch_add(1, Ordering::Relaxed);
        format!("10.96.{}.{}", (n / 250) % 250, n % 250 + 1)
    }

    /// Tell the controllers of a write (call it once per write that changed something).
    pub(crate) fn after_write(&self, info: &ResourceInfo, obj: &Obj, kind: EventType) {
        for c in &self.controllers {
            c.after_write(self, info, obj, kind);
        }
    }
}
