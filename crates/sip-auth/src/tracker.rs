//! Nonce-count replay protection with bounded memory.
//!
//! Per nonce the tracker keeps the highest `nc` seen and a 64-bit bitmap of the counts just below it, so counts
//! may arrive out of order within that window, each once. A nonce used without `qop` (RFC 2069 style, no `nc`)
//! is single-use. Entries are sharded by the nonce's MAC-derived id behind independent mutexes, so the tracker
//! is `Sync` and is used through `&self`.
//!
//! Memory is bounded two ways. [`NonceTracker::purge`] drops entries whose nonce is past its lifetime (such
//! nonces are stale anyway). A hard cap bounds the entries in between: when a shard is full it first drops
//! expired entries, then evicts its oldest entries (by issue time, at least an eighth of the shard). Eviction
//! must never let a nonce be reused, so each shard remembers the newest issue time it has forgotten and answers
//! [`NcVerdict::Forgotten`] for any unknown nonce issued at or before it; the client then gets a fresh nonce
//! (`stale=true`). Size the cap above peak authentications per second times the nonce lifetime.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Mutex, PoisonError};

use crate::IssuedNonce;

/// Counts below the highest seen that are still accepted (once each).
pub const NC_WINDOW: u32 = 64;

const SHARDS: usize = 32;

/// The tracker's decision on one use of a nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum NcVerdict {
    /// First use of this count (or first no-`qop` use of the nonce); it is now recorded.
    Accepted,
    /// The count was used before, is below the window, is 0, or the nonce is single-use and was used.
    Replayed,
    /// The nonce is unknown but no newer than an evicted or purged one, so it may have been used: refuse it.
    Forgotten,
}

/// Remembers which nonce counts each nonce has used. See the module docs for the memory bounds.
pub struct NonceTracker {
    shards: Box<[Mutex<Shard>]>,
    lifetime: u64,
    shard_capacity: usize,
}

impl NonceTracker {
    /// A tracker for nonces fresh for `lifetime` seconds, holding at most about `max_entries` nonces
    /// (rounded up to a multiple of the shard count).
    pub fn new(lifetime: u64, max_entries: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            lifetime,
            shard_capacity: max_entries.div_ceil(SHARDS).max(1),
        }
    }

    /// Checks one use of `nonce` with count `nc` (`None` without `qop`) at `now`, and records it if accepted.
    pub fn check_and_record(&self, nonce: &IssuedNonce, nc: Option<u32>, now: u64) -> NcVerdict {
        let mut shard = self.shard(nonce);
        if let Some(window) = shard.entries.get_mut(&nonce.id()) {
            return window.record(nc);
        }
        if shard.forgotten_up_to >= Some(nonce.issued_at()) {
            return NcVerdict::Forgotten;
        }
        let Some(window) = Window::first(nonce.issued_at(), nc) else {
            return NcVerdict::Replayed;
        };
        if shard.entries.len() >= self.shard_capacity {
            shard.make_room(self.expiry_cutoff(now), self.shard_capacity);
        }
        shard.entries.insert(nonce.id(), window);
        NcVerdict::Accepted
    }

    /// Drops every entry whose nonce is older than the lifetime at `now`.
    pub fn purge(&self, now: u64) {
        if let Some(cutoff) = self.expiry_cutoff(now) {
            for shard in &self.shards {
                lock(shard).drop_issued_up_to(cutoff);
            }
        }
    }

    /// Number of nonces currently tracked.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).entries.len()).sum()
    }

    /// Whether no nonce is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The newest issue time that is expired at `now`, if any.
    fn expiry_cutoff(&self, now: u64) -> Option<u64> {
        now.checked_sub(self.lifetime)?.checked_sub(1)
    }

    fn shard(&self, nonce: &IssuedNonce) -> std::sync::MutexGuard<'_, Shard> {
        // Bits the map's hashing does not use (it takes the low bits for buckets and the top 7 for tags).
        lock(&self.shards[(nonce.id() >> 32) as usize % SHARDS])
    }
}

impl std::fmt::Debug for NonceTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NonceTracker")
            .field("lifetime", &self.lifetime)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

/// A shard's state stays consistent even if a holder panicked, so poisoning is ignored.
fn lock(shard: &Mutex<Shard>) -> std::sync::MutexGuard<'_, Shard> {
    shard.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Default)]
struct Shard {
    entries: HashMap<u64, Window, BuildHasherDefault<IdHasher>>,
    /// Unknown nonces issued at or before this time may have been used and dropped.
    forgotten_up_to: Option<u64>,
}

impl Shard {
    fn drop_issued_up_to(&mut self, cutoff: u64) {
        self.entries.retain(|_, w| w.issued_at > cutoff);
        self.forgotten_up_to = self.forgotten_up_to.max(Some(cutoff));
    }

    /// Drops expired entries, then, if the shard is still full, at least an eighth of it, oldest first.
    fn make_room(&mut self, expired: Option<u64>, capacity: usize) {
        if let Some(cutoff) = expired {
            self.drop_issued_up_to(cutoff);
        }
        if self.entries.len() < capacity {
            return;
        }
        let mut times: Vec<u64> = self.entries.values().map(|w| w.issued_at).collect();
        let evict = (capacity / 8).max(1).min(times.len());
        let (_, &mut cutoff, _) = times.select_nth_unstable(evict - 1);
        self.drop_issued_up_to(cutoff);
    }
}

/// The counts used with one nonce.
struct Window {
    issued_at: u64,
    /// Highest count seen.
    highest: u32,
    /// Bit `i` set: count `highest - i` was used.
    seen: u64,
    /// Used without `qop`: no further use of any kind.
    single_use: bool,
}

impl Window {
    /// The window after a first use, or `None` if that use is invalid (count 0).
    fn first(issued_at: u64, nc: Option<u32>) -> Option<Self> {
        let (highest, seen, single_use) = match nc {
            None => (0, 0, true),
            Some(0) => return None,
            Some(nc) => (nc, 1, false),
        };
        Some(Self {
            issued_at,
            highest,
            seen,
            single_use,
        })
    }

    fn record(&mut self, nc: Option<u32>) -> NcVerdict {
        let Some(nc) = nc.filter(|&nc| nc != 0 && !self.single_use) else {
            return NcVerdict::Replayed;
        };
        if nc > self.highest {
            let shift = nc - self.highest;
            self.seen = if shift >= NC_WINDOW {
                0
            } else {
                self.seen << shift
            };
            self.seen |= 1;
            self.highest = nc;
            return NcVerdict::Accepted;
        }
        let behind = self.highest - nc;
        let bit = 1u64 << behind.min(NC_WINDOW - 1);
        if behind >= NC_WINDOW || self.seen & bit != 0 {
            return NcVerdict::Replayed;
        }
        self.seen |= bit;
        NcVerdict::Accepted
    }
}

/// Ids come from a MAC, so they are already uniformly distributed: use them as their own hash.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, id: u64) {
        self.0 = id;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nonce(issued_at: u64, id: u64) -> IssuedNonce {
        IssuedNonce::for_test(issued_at, id)
    }

    #[test]
    fn increasing_counts_are_accepted_and_replays_refused() {
        let t = NonceTracker::new(300, 1000);
        let n = nonce(100, 42);
        for nc in 1..=5 {
            assert_eq!(t.check_and_record(&n, Some(nc), 100), NcVerdict::Accepted);
        }
        for nc in 1..=5 {
            assert_eq!(t.check_and_record(&n, Some(nc), 100), NcVerdict::Replayed);
        }
        assert_eq!(t.check_and_record(&n, Some(0), 100), NcVerdict::Replayed);
        assert_eq!(t.check_and_record(&n, None, 100), NcVerdict::Replayed);
    }

    #[test]
    fn out_of_order_within_the_window_accepted_once() {
        let t = NonceTracker::new(300, 1000);
        let n = nonce(100, 7);
        assert_eq!(t.check_and_record(&n, Some(100), 100), NcVerdict::Accepted);
        // 100 - 63 is the lowest count still inside the window; 100 - 64 is outside it.
        for nc in [99, 37, 60] {
            assert_eq!(
                t.check_and_record(&n, Some(nc), 100),
                NcVerdict::Accepted,
                "{nc}"
            );
            assert_eq!(
                t.check_and_record(&n, Some(nc), 100),
                NcVerdict::Replayed,
                "{nc}"
            );
        }
        assert_eq!(t.check_and_record(&n, Some(36), 100), NcVerdict::Replayed);
        // A jump shifts the window: 99 stays remembered after moving to 110, 37 falls out of it.
        assert_eq!(t.check_and_record(&n, Some(110), 100), NcVerdict::Accepted);
        assert_eq!(t.check_and_record(&n, Some(99), 100), NcVerdict::Replayed);
        assert_eq!(t.check_and_record(&n, Some(105), 100), NcVerdict::Accepted);
        assert_eq!(t.check_and_record(&n, Some(37), 100), NcVerdict::Replayed);
        // A jump beyond the window clears it.
        assert_eq!(t.check_and_record(&n, Some(1000), 100), NcVerdict::Accepted);
        assert_eq!(t.check_and_record(&n, Some(999), 100), NcVerdict::Accepted);
        assert_eq!(t.check_and_record(&n, Some(936), 100), NcVerdict::Replayed);
    }

    #[test]
    fn first_use_with_count_zero_is_not_recorded() {
        let t = NonceTracker::new(300, 1000);
        let n = nonce(100, 9);
        assert_eq!(t.check_and_record(&n, Some(0), 100), NcVerdict::Replayed);
        assert!(t.is_empty());
        assert_eq!(t.check_and_record(&n, Some(1), 100), NcVerdict::Accepted);
    }

    #[test]
    fn no_qop_nonce_is_single_use() {
        let t = NonceTracker::new(300, 1000);
        let n = nonce(100, 8);
        assert_eq!(t.check_and_record(&n, None, 100), NcVerdict::Accepted);
        assert_eq!(t.check_and_record(&n, None, 100), NcVerdict::Replayed);
        assert_eq!(t.check_and_record(&n, Some(1), 100), NcVerdict::Replayed);
    }

    #[test]
    fn distinct_nonces_are_independent() {
        let t = NonceTracker::new(300, 1000);
        for id in 0..100u64 {
            let n = nonce(100, id.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            assert_eq!(t.check_and_record(&n, Some(1), 100), NcVerdict::Accepted);
        }
        assert_eq!(t.len(), 100);
    }

    #[test]
    fn purge_drops_expired_and_refuses_them_afterwards() {
        let t = NonceTracker::new(300, 1000);
        let old = nonce(100, 1);
        let new = nonce(200, 2 << 32);
        assert_eq!(t.check_and_record(&old, Some(1), 100), NcVerdict::Accepted);
        assert_eq!(t.check_and_record(&new, Some(1), 200), NcVerdict::Accepted);
        t.purge(400);
        assert_eq!(t.len(), 2, "age 300 is not yet expired");
        t.purge(401);
        assert_eq!(t.len(), 1);
        assert_eq!(t.check_and_record(&new, Some(1), 401), NcVerdict::Replayed);
        // A late request with the purged nonce must not find it "new".
        assert_eq!(t.check_and_record(&old, Some(1), 390), NcVerdict::Forgotten);
        t.purge(10_000);
        assert!(t.is_empty());
    }

    #[test]
    fn purge_bounds_memory_under_sustained_load() {
        let t = NonceTracker::new(300, 1 << 20);
        let mut id = 0u64;
        for now in 0..3_000u64 {
            for _ in 0..20 {
                id += 1;
                let n = nonce(now, id.wrapping_mul(0x9e37_79b9_7f4a_7c15));
                assert_eq!(t.check_and_record(&n, Some(1), now), NcVerdict::Accepted);
            }
            if now % 10 == 0 {
                t.purge(now);
            }
        }
        // At most lifetime + purge period + 1 seconds of nonces remain.
        assert!(t.len() <= 20 * 311, "{}", t.len());
        assert!(t.len() >= 20 * 301, "{}", t.len());
    }

    #[test]
    fn hard_cap_evicts_oldest_and_refuses_evicted() {
        let t = NonceTracker::new(300, SHARDS * 8);
        // Fill one shard (ids with equal bits 32..) with increasing issue times.
        let in_shard = |i: u64| nonce(1_000 + i, i);
        for i in 0..8 {
            assert_eq!(
                t.check_and_record(&in_shard(i), Some(1), 1_010),
                NcVerdict::Accepted
            );
        }
        assert_eq!(t.len(), 8);
        // The ninth evicts the oldest (an eighth of eight), keeping the size at the cap.
        assert_eq!(
            t.check_and_record(&in_shard(8), Some(1), 1_010),
            NcVerdict::Accepted
        );
        assert_eq!(t.len(), 8);
        assert_eq!(
            t.check_and_record(&in_shard(0), Some(2), 1_010),
            NcVerdict::Forgotten
        );
        assert_eq!(
            t.check_and_record(&in_shard(1), Some(1), 1_010),
            NcVerdict::Replayed
        );
        assert_eq!(
            t.check_and_record(&in_shard(1), Some(2), 1_010),
            NcVerdict::Accepted
        );
        // Another shard is unaffected.
        assert_eq!(
            t.check_and_record(&nonce(1_000, 1 << 32), Some(1), 1_010),
            NcVerdict::Accepted
        );
    }

    #[test]
    fn hard_cap_prefers_dropping_expired_entries() {
        let t = NonceTracker::new(300, SHARDS * 4);
        for i in 0..4 {
            assert_eq!(
                t.check_and_record(&nonce(i, i), Some(1), 0),
                NcVerdict::Accepted
            );
        }
        let late = nonce(1_000, 99);
        assert_eq!(
            t.check_and_record(&late, Some(1), 1_000),
            NcVerdict::Accepted
        );
        assert_eq!(t.len(), 1);
    }
}
