//! The work queue's rules on a paused clock: dedup, one worker per item, delays, rate
//! limits and shutdown.

use std::time::Duration;

use super::rate_limiter::ItemExponentialFailureRateLimiter;
use super::*;

const MS: Duration = Duration::from_millis(1);

/// `get` that must not wait: the item already queued, or `None` if nothing is.
async fn ready(q: &WorkQueue<&'static str>) -> Option<&'static str> {
    tokio::time::timeout(Duration::ZERO, q.get())
        .await
        .ok()
        .flatten()
}

#[tokio::test(start_paused = true)]
async fn adds_are_deduplicated_until_taken() {
    let q = WorkQueue::new();
    q.add("a");
    q.add("b");
    q.add("a");
    assert_eq!(q.len(), 2);
    assert_eq!(q.get().await, Some("a"));
    assert_eq!(q.get().await, Some("b"));
    assert!(q.is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_item_added_while_processed_waits_for_done_and_runs_once_more() {
    let q = WorkQueue::new();
    q.add("a");
    let a = q.get().await.unwrap();
    q.add("a");
    q.add("a");
    assert_eq!(ready(&q).await, None, "never handed out twice at once");
    q.done(&a);
    assert_eq!(
        ready(&q).await,
        Some("a"),
        "processed again afterwards, once"
    );
    q.done(&"a");
    assert_eq!(ready(&q).await, None);
}

#[tokio::test(start_paused = true)]
async fn concurrent_workers_never_hold_the_same_item() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let q = WorkQueue::<u32>::new();
    let holding: Arc<Vec<AtomicUsize>> = Arc::new((0..5).map(|_| AtomicUsize::new(0)).collect());
    let processed = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (q, holding, processed) = (q.clone(), holding.clone(), processed.clone());
        workers.push(tokio::spawn(async move {
            while let Some(i) = q.get().await {
                assert_eq!(holding[i as usize].fetch_add(1, Ordering::SeqCst), 0);
                tokio::time::sleep(3 * MS).await;
                holding[i as usize].fetch_sub(1, Ordering::SeqCst);
                processed.fetch_add(1, Ordering::SeqCst);
                q.done(&i);
            }
        }));
    }
    for round in 0..50u32 {
        q.add(round % 5);
        q.add((round * 7) % 5);
        tokio::time::sleep(MS).await;
    }
    q.shut_down_with_drain().await;
    for w in workers {
        w.await.unwrap();
    }
    assert!(processed.load(Ordering::SeqCst) >= 5);
}

#[tokio::test(start_paused = true)]
async fn add_after_waits_and_the_earliest_wait_wins() {
    let q = WorkQueue::new();
    q.add_after("a", 50 * MS);
    q.add_after("a", 20 * MS);
    q.add_after("a", 80 * MS);
    tokio::time::sleep(19 * MS).await;
    assert_eq!(ready(&q).await, None);
    tokio::time::sleep(2 * MS).await;
    assert_eq!(ready(&q).await, Some("a"));
    q.done(&"a");
    tokio::time::sleep(100 * MS).await;
    assert_eq!(ready(&q).await, None, "the later waits were dropped");
}

#[tokio::test(start_paused = true)]
async fn rate_limited_adds_back_off_per_item_until_forgotten() {
    let q = WorkQueue::with_rate_limiter(ItemExponentialFailureRateLimiter::new(
        5 * MS,
        Duration::from_secs(1000),
    ));
    let start = tokio::time::Instant::now();
    let mut waits = Vec::new();
    for _ in 0..4 {
        q.add_rate_limited("a");
        let t = tokio::time::Instant::now();
        let a = q.get().await.unwrap();
        waits.push(t.elapsed());
        q.done(&a);
    }
    assert_eq!(waits, [5 * MS, 10 * MS, 20 * MS, 40 * MS]);
    assert_eq!(q.num_requeues(&"a"), 4);
    q.forget(&"a");
    assert_eq!(q.num_requeues(&"a"), 0);
    q.add_rate_limited("a");
    let t = tokio::time::Instant::now();
    q.get().await.unwrap();
    assert_eq!(t.elapsed(), 5 * MS);
    assert!(start.elapsed() >= 80 * MS);
}

#[tokio::test(start_paused = true)]
async fn default_limiter_paces_a_storm_of_failures_at_ten_per_second() {
    let q = WorkQueue::<u32>::new();
    // 150 distinct items fail at once: the first 100 use the burst (5 ms each, their
    // per-item backoff), the next 50 wait for the bucket at 10 a second.
    for i in 0..150 {
        q.add_rate_limited(i);
    }
    tokio::time::sleep(6 * MS).await;
    assert_eq!(q.len(), 100);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(q.len(), 125);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(q.len(), 150);
}

#[tokio::test(start_paused = true)]
async fn shutdown_hands_out_what_is_queued_then_none() {
    let q = WorkQueue::new();
    q.add("a");
    q.add("b");
    q.add_after("late", 10 * MS);
    q.shut_down();
    q.add("c");
    assert_eq!(q.get().await, Some("a"));
    assert_eq!(q.get().await, Some("b"));
    assert_eq!(q.get().await, None);
    tokio::time::sleep(20 * MS).await;
    assert_eq!(q.get().await, None, "delayed items are dropped at shutdown");
}

#[tokio::test(start_paused = true)]
async fn a_waiting_worker_wakes_at_shutdown() {
    let q = WorkQueue::<&'static str>::new();
    let worker = tokio::spawn({
        let q = q.clone();
        async move { q.get().await }
    });
    tokio::time::sleep(MS).await;
    q.shut_down();
    assert_eq!(worker.await.unwrap(), None);
}

#[tokio::test(start_paused = true)]
async fn shutdown_with_drain_waits_for_workers() {
    let q = WorkQueue::new();
    q.add("a");
    let a = q.get().await.unwrap();
    let drained = tokio::spawn({
        let q = q.clone();
        async move { q.shut_down_with_drain().await }
    });
    tokio::time::sleep(50 * MS).await;
    assert!(!drained.is_finished(), "the worker still holds an item");
    q.done(&a);
    tokio::time::timeout(MS, drained).await.unwrap().unwrap();
}
