//! How long to wait before retrying after each kind of failure.

use std::time::Duration;

use rand::RngExt;
use rand::rngs::SmallRng;

use crate::status::State;

/// Exponential backoff: `min(cap, base × 2^(failures − 1))`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay after the first failure.
    pub base: Duration,
    /// The largest delay.
    pub cap: Duration,
}

impl Backoff {
    /// A backoff from `base` seconds to `cap` seconds.
    pub const fn secs(base: u64, cap: u64) -> Self {
        Self {
            base: Duration::from_secs(base),
            cap: Duration::from_secs(cap),
        }
    }

    /// The delay after `failures` consecutive failures (1 for the first), before jitter.
    pub fn delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        self.base
            .checked_mul(1 << doublings)
            .map_or(self.cap, |d| d.min(self.cap))
    }
}

/// The retry delays of each failure state; the shell may override any of them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// No answer in time: 5 s to 300 s.
    pub timeout: Backoff,
    /// The request could not be sent: 5 s to 300 s.
    pub transport_error: Backoff,
    /// An error response: 10 s to 600 s.
    pub server_error: Backoff,
    /// The next hop did not resolve: 10 s to 600 s.
    pub dns_failure: Backoff,
    /// The credentials were rejected: 60 s to 1800 s.
    pub credentials_rejected: Backoff,
    /// 403 Forbidden: 60 s to 1800 s.
    pub forbidden: Backoff,
    /// The trunk's realm is not the configured one: 300 s to 3600 s.
    pub realm_mismatch: Backoff,
    /// Each delay is scaled by a random factor in `1 ± jitter` (default 0.2).
    pub jitter: f64,
    /// The longest `Retry-After` honoured (default one day).
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            timeout: Backoff::secs(5, 300),
            transport_error: Backoff::secs(5, 300),
            server_error: Backoff::secs(10, 600),
            dns_failure: Backoff::secs(10, 600),
            credentials_rejected: Backoff::secs(60, 1800),
            forbidden: Backoff::secs(60, 1800),
            realm_mismatch: Backoff::secs(300, 3600),
            jitter: 0.2,
            max_retry_after: Duration::from_secs(86_400),
        }
    }
}

impl RetryPolicy {
    /// The backoff for a failure state; `None` for states that are not retried failures.
    pub fn backoff(&self, state: State) -> Option<Backoff> {
        Some(match state {
            State::Timeout => self.timeout,
            State::TransportError => self.transport_error,
            State::ServerError => self.server_error,
            State::DnsFailure => self.dns_failure,
            State::CredentialsRejected => self.credentials_rejected,
            State::Forbidden => self.forbidden,
            State::RealmMismatch => self.realm_mismatch,
            _ => return None,
        })
    }

    /// The jittered delay before the next attempt after `failures` consecutive failures ending in `state`.
    pub(crate) fn retry_delay(&self, state: State, failures: u32, rng: &mut SmallRng) -> Duration {
        let delay = self
            .backoff(state)
            .unwrap_or(self.server_error)
            .delay(failures);
        let jitter = self.jitter.clamp(0.0, 1.0);
        if jitter == 0.0 {
            return delay;
        }
        delay.mul_f64(rng.random_range(1.0 - jitter..=1.0 + jitter))
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn doubles_and_caps() {
        let b = Backoff::secs(5, 300);
        let secs: Vec<u64> = (1..=9).map(|n| b.delay(n).as_secs()).collect();
        assert_eq!(secs, [5, 10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(300));
        assert_eq!(b.delay(0), Duration::from_secs(5));
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        let policy = RetryPolicy::default();
        let mut rng = SmallRng::seed_from_u64(7);
        let mut seen = Vec::new();
        for _ in 0..1000 {
            let d = policy.retry_delay(State::ServerError, 3, &mut rng);
            assert!(
                d >= Duration::from_secs(32) && d <= Duration::from_secs(48),
                "{d:?}"
            );
            seen.push(d);
        }
        seen.sort_unstable();
        assert!(
            seen[999] - seen[0] > Duration::from_secs(12),
            "jitter spreads"
        );
    }

    #[test]
    fn policy_per_state() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.backoff(State::RealmMismatch),
            Some(Backoff::secs(300, 3600))
        );
        assert_eq!(p.backoff(State::Forbidden), Some(Backoff::secs(60, 1800)));
        assert_eq!(p.backoff(State::Registered), None);
    }
}
