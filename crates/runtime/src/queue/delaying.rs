//! Delayed adds (client-go's `DelayingQueue`): a task holds the items that are not yet
//! due in a heap and adds each to the queue when its time comes. The earliest wait of an
//! item wins.

use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Weak;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{Inner, QueueItem};

enum Msg<T> {
    Add(T, Instant),
    Stop,
}

/// The sending side of the waiting task.
pub(crate) struct Delayer<T> {
    tx: mpsc::UnboundedSender<Msg<T>>,
}

impl<T: QueueItem> Delayer<T> {
    /// Starts the task; it ends when the queue is shut down or dropped.
    pub(crate) fn start(queue: Weak<Inner<T>>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(queue, rx));
        Self { tx }
    }

    pub(crate) fn add(&self, item: T, delay: Duration) {
        let _ = self.tx.send(Msg::Add(item, Instant::now() + delay));
    }

    pub(crate) fn stop(&self) {
        let _ = self.tx.send(Msg::Stop);
    }
}

async fn run<T: QueueItem>(queue: Weak<Inner<T>>, mut rx: mpsc::UnboundedReceiver<Msg<T>>) {
    // Heap entries are (due, sequence); `due` says which entry is the item's current one.
    let mut heap: BinaryHeap<Reverse<(Instant, u64)>> = BinaryHeap::new();
    let mut by_seq: HashMap<u64, T> = HashMap::new();
    let mut due: HashMap<T, (Instant, u64)> = HashMap::new();
    let mut seq = 0u64;
    loop {
        // Everything due goes to the queue.
        let now = Instant::now();
        while let Some(Reverse((at, s))) = heap.peek().copied() {
            if at > now {
                break;
            }
            heap.pop();
            if let Some(item) = by_seq.remove(&s)
                && due.get(&item).is_some_and(|(_, cur)| *cur == s)
            {
                due.remove(&item);
                match queue.upgrade() {
                    Some(q) => q.add(item),
                    None => return,
                }
            }
        }
        let next = heap.peek().map(|Reverse((at, _))| *at);
        let msg = match next {
            Some(at) => tokio::select! {
                m = rx.recv() => m,
                () = tokio::time::sleep_until(at) => continue,
            },
            None => rx.recv().await,
        };
        match msg {
            None | Some(Msg::Stop) => return,
            Some(Msg::Add(item, at)) => match due.entry(item) {
                Entry::Occupied(mut e) => {
                    if at < e.get().0 {
                        seq += 1;
                        by_seq.insert(seq, e.key().clone());
                        heap.push(Reverse((at, seq)));
                        e.insert((at, seq));
                    }
                }
                Entry::Vacant(e) => {
                    seq += 1;
                    by_seq.insert(seq, e.key().clone());
                    heap.push(Reverse((at, seq)));
                    e.insert((at, seq));
                }
            },
        }
    }
}
