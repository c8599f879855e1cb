//! Latest-wins throttling of outgoing inputs (spec 6.6): the first input goes out at
//! once, then at most one per interval, and inputs that arrive within an interval
//! replace each other so only the newest is sent. fal's JS client does the same
//! with a default of 128 ms; an interactive caller (a slider, a drawing) produces
//! inputs faster than a model answers, and only the latest matters.
//!
//! The slot is a `watch` channel: it holds exactly one value, so a caller that
//! sends faster than the connection drains can never grow a queue.

use std::time::Duration;

use bytes::Bytes;
use tokio::sync::watch;
use tokio::time::Instant;

/// fal's JS client default.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(128);

/// The receiving side of the input slot, paced by the interval.
#[derive(Debug)]
pub(crate) struct Throttle {
    slot: watch::Receiver<Option<Bytes>>,
    interval: Duration,
    next_allowed: Option<Instant>,
}

impl Throttle {
    pub(crate) fn new(slot: watch::Receiver<Option<Bytes>>, interval: Duration) -> Self {
        Self {
            slot,
            interval,
            next_allowed: None,
        }
    }

    /// The next input to send, or `None` once every sender is gone.
    ///
    /// Cancel-safe (it is raced against socket reads): the pause happens before the
    /// slot is looked at, and taking the value is synchronous, so dropping this
    /// future never loses an input.
    pub(crate) async fn next(&mut self) -> Option<Bytes> {
        loop {
            if let Some(at) = self.next_allowed {
                tokio::time::sleep_until(at).await;
            }
            self.slot.changed().await.ok()?;
            let value = self.slot.borrow_and_update().clone();
            if let Some(value) = value {
                if !self.interval.is_zero() {
                    self.next_allowed = Some(Instant::now() + self.interval);
                }
                return Some(value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn first_input_is_immediate_then_latest_wins() {
        let (tx, rx) = watch::channel(None);
        let mut throttle = Throttle::new(rx, DEFAULT_INTERVAL);
        let start = Instant::now();
        tx.send_replace(Some(Bytes::from_static(b"1")));
        assert_eq!(throttle.next().await.as_deref(), Some(&b"1"[..]));
        assert_eq!(start.elapsed(), Duration::ZERO);
        for n in [b"2", b"3", b"4"] {
            tx.send_replace(Some(Bytes::from_static(n)));
        }
        assert_eq!(throttle.next().await.as_deref(), Some(&b"4"[..]));
        assert_eq!(start.elapsed(), DEFAULT_INTERVAL);
        drop(tx);
        assert_eq!(throttle.next().await, None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_wait_loses_nothing() {
        let (tx, rx) = watch::channel(None);
        let mut throttle = Throttle::new(rx, DEFAULT_INTERVAL);
        tx.send_replace(Some(Bytes::from_static(b"a")));
        assert!(throttle.next().await.is_some());
        tx.send_replace(Some(Bytes::from_static(b"b")));
        // Give up halfway through the pause, as a select! with a socket read would.
        let early = tokio::time::timeout(Duration::from_millis(10), throttle.next()).await;
        assert!(early.is_err());
        assert_eq!(throttle.next().await.as_deref(), Some(&b"b"[..]));
    }

    #[tokio::test(start_paused = true)]
    async fn zero_interval_disables_pacing() {
        let (tx, rx) = watch::channel(None);
        let mut throttle = Throttle::new(rx, Duration::ZERO);
        let start = Instant::now();
        for n in 0..3u8 {
            tx.send_replace(Some(Bytes::from(vec![n])));
            assert_eq!(throttle.next().await.as_deref(), Some(&[n][..]));
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}
