//! Container logs: the text `GET pods/{name}/log` serves. A real kube-apiserver proxies
//! that request to the kubelet; here the library sets the text (`TestServer::set_pod_log`
//! and friends) and this store keeps it, line by line, with the time each line was written.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

/// `(namespace, pod, container)`.
pub(crate) type LogKey = (String, String, String);

/// One container's log: lines with the time they were written (since the epoch); the
/// last line may be partial (no trailing newline yet).
#[derive(Default, Clone)]
pub(crate) struct Text {
    pub lines: Vec<(Duration, String)>,
}

impl Text {
    fn append(&mut self, text: &str) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mut rest = text;
        if let Some((_, last)) = self.lines.last_mut()
            && !last.ends_with('\n')
        {
            let cut = rest.find('\n').map_or(rest.len(), |i| i + 1);
            last.push_str(&rest[..cut]);
            rest = &rest[cut..];
        }
        for line in rest.split_inclusive('\n') {
            self.lines.push((now, line.to_owned()));
        }
    }
}

#[derive(Default)]
struct Entry {
    current: Text,
    previous: Option<Text>,
}

/// Every container log the library has set, and a signal when one changes.
pub(crate) struct Logs {
    map: Mutex<HashMap<LogKey, Entry>>,
    changed: watch::Sender<u64>,
}

impl Default for Logs {
    fn default() -> Logs {
        Logs {
            map: Mutex::new(HashMap::new()),
            changed: watch::channel(0).0,
        }
    }
}

impl Logs {
    fn edit(&self, key: LogKey, f: impl FnOnce(&mut Entry)) {
        {
            let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            f(map.entry(key).or_default());
        }
        self.changed.send_modify(|n| *n += 1);
    }

    /// Replace a container's log.
    pub(crate) fn set(&self, ns: &str, pod: &str, container: &str, text: &str) {
        self.edit(key(ns, pod, container), |e| {
            e.current = Text::default();
            e.current.append(text);
        });
    }

    /// Append to a container's log.
    pub(crate) fn append(&self, ns: &str, pod: &str, container: &str, text: &str) {
        self.edit(key(ns, pod, container), |e| e.current.append(text));
    }

    /// Set the log of the container's previous instance.
    pub(crate) fn set_previous(&self, ns: &str, pod: &str, container: &str, text: &str) {
        self.edit(key(ns, pod, container), |e| {
            let mut t = Text::default();
            t.append(text);
            e.previous = Some(t);
        });
    }

    /// The current log (empty when none was set), or the previous instance's (`None`
    /// when none was set).
    pub(crate) fn text(&self, key: &LogKey, previous: bool) -> Option<Text> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        match (map.get(key), previous) {
            (Some(e), false) => Some(e.current.clone()),
            (None, false) => Some(Text::default()),
            (Some(e), true) => e.previous.clone(),
            (None, true) => None,
        }
    }

    /// A receiver woken after each change.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}

/// The key of a container's log.
pub(crate) fn key(ns: &str, pod: &str, container: &str) -> LogKey {
    (ns.to_owned(), pod.to_owned(), container.to_owned())
}
