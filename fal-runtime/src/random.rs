//! Random bits from the operating system, for retry jitter, idempotency keys
//! and the placeholder nonce of file uploads.
//!
//! `getrandom` rather than `rand`: the client needs a few bytes now and then,
//! not a seeded generator, and `rand`'s default generator (ChaCha, with
//! `zerocopy`) was the largest part of what the client added to a plain
//! reqwest build. `getrandom` is already in every TLS build (ring uses it).

use crate::error::{Error, Result};

/// `N` bytes from the operating system's random source.
pub(crate) fn bytes<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    getrandom::getrandom(&mut out)
        .map_err(|e| Error::config(format!("the operating system's random source failed: {e}")))?;
    Ok(out)
}

/// A number drawn uniformly from `[-1, 1]`, or `None` when the random source
/// failed (callers then do without the randomness).
pub(crate) fn unit_spread() -> Option<f64> {
    let bits = u64::from_le_bytes(bytes::<8>().ok()?);
    // 53 bits are all an f64 holds exactly; 2^53 - 1 maps to 1.0.
    let fraction = (bits >> 11) as f64 / ((1u64 << 53) - 1) as f64;
    Some(fraction * 2.0 - 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_stays_in_range_and_varies() {
        let draws: Vec<f64> = (0..200).map(|_| unit_spread().unwrap()).collect();
        assert!(draws.iter().all(|d| (-1.0..=1.0).contains(d)));
        assert!(draws.iter().any(|d| *d < 0.0) && draws.iter().any(|d| *d > 0.0));
    }

    #[test]
    fn bytes_differ_between_draws() {
        assert_ne!(bytes::<16>().unwrap(), bytes::<16>().unwrap());
    }
}
