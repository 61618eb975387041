//! The few random numbers the runtime needs (jitter on backoffs and resync periods): a
//! per-thread xorshift generator seeded once from the operating system. Not for secrets.

use std::cell::Cell;
use std::time::Duration;

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let fallback = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9_7f4a_7c15)
    };
    // xorshift never leaves zero, so zero is not a seed.
    getrandom::u64().unwrap_or_else(|_| fallback()) | 1
}

/// A uniformly distributed number in `[0, 1)`.
pub(crate) fn unit() -> f64 {
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        // The top 53 bits as the mantissa of a number in [0, 1).
        (x >> 11) as f64 / (1u64 << 53) as f64
    })
}

/// client-go's `wait.Jitter`: `d` plus a random part of up to `max_factor × d`
/// (`max_factor <= 0` means 1).
pub(crate) fn jitter(d: Duration, max_factor: f64) -> Duration {
    let factor = if max_factor <= 0.0 { 1.0 } else { max_factor };
    d + d.mul_f64(unit() * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_is_in_range_and_varies() {
        let draws: Vec<f64> = (0..1000).map(|_| unit()).collect();
        assert!(draws.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((0.4..0.6).contains(&mean), "{mean}");
    }

    #[test]
    fn jitter_stays_within_its_factor() {
        let d = Duration::from_millis(100);
        for _ in 0..1000 {
            let j = jitter(d, 0.1);
            assert!(j >= d && j <= Duration::from_millis(110), "{j:?}");
        }
    }
}
