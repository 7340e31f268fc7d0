//! Nonce-count replay protection with bounded memory.
//!
//! Per nonce the tracker keeps the highest `nc` seen and a bitmap of the [`NC_WINDOW`] counts up to it, packed in
//! one `u64`, so counts may arrive out of order within that window, each once. A nonce used without `qop`
//! (RFC 2069 style, no `nc`) is single-use. Entries are sharded by the nonce's MAC-derived id behind independent
//! mutexes, so the tracker is `Sync` and is used through `&self`.
//!
//! Within a shard, entries are grouped into generations by issue time: the lifetime is split into `GENERATIONS`
//! spans, and a nonce's generation follows from its issue time (which the nonce carries, authenticated), so an
//! entry is just its id and its counts, 16 bytes. The current generation's entries are in a hash table;
//! [`NonceTracker::purge`] packs those of past generations into sorted slices of exactly their size.
//!
//! Memory is bounded two ways. [`NonceTracker::purge`] drops every generation whose nonces have all expired (such
//! nonces are stale anyway) without visiting their entries. A hard cap bounds the entries in between: when a shard
//! is full it first drops expired generations, then its oldest generation. Eviction must never let a nonce be
//! reused, so each shard remembers the newest issue time it has dropped and answers [`NcVerdict::Forgotten`] for
//! any unknown nonce issued at or before it; the client then gets a fresh nonce (`stale=true`). Size the cap above
//! peak authentications per second times the nonce lifetime plus a generation (an expired nonce waits for the
//! rest of its generation) plus the purge period: then only expired generations are ever dropped.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Mutex, PoisonError};

use crate::IssuedNonce;

/// Width of the window of counts ending at the highest seen: counts within it are accepted once each, in any
/// order; older ones are refused.
pub const NC_WINDOW: u32 = u32::BITS;

const SHARDS: usize = 32;

/// Generations a lifetime is split into: the granularity of purging and eviction.
const GENERATIONS: u64 = 16;

/// Generation slots per shard. The nonces fresh at one time span at most `GENERATIONS + 1` generations; one more
/// slot leaves room for a nonce issued a second ahead of the caller's clock.
const SLOTS: usize = GENERATIONS as usize + 2;

/// The tracker's decision on one use of a nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum NcVerdict {
    /// First use of this count (or first no-`qop` use of the nonce); it is now recorded.
    Accepted,
    /// The count was used before, is below the window, is 0, or the nonce is single-use and was used.
    Replayed,
    /// The nonce is unknown but no newer than an evicted or purged one, so it may have been used, or it is too old
    /// to be tracked beside the newest: refuse it.
    Forgotten,
}

/// Remembers which nonce counts each nonce has used. See the module docs for the memory bounds.
pub struct NonceTracker {
    shards: Box<[Mutex<Shard>]>,
    lifetime: u64,
    /// Seconds of issue time per generation.
    span: u64,
    shard_capacity: usize,
}

impl NonceTracker {
    /// A tracker for nonces fresh for `lifetime` seconds, holding at most about `max_entries` nonces
    /// (rounded up to a multiple of the shard count).
    pub fn new(lifetime: u64, max_entries: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            lifetime,
            span: lifetime.div_ceil(GENERATIONS).max(1),
            shard_capacity: max_entries.div_ceil(SHARDS).max(1),
        }
    }

    /// Checks one use of `nonce` with count `nc` (`None` without `qop`) at `now`, and records it if accepted.
    pub fn check_and_record(&self, nonce: &IssuedNonce, nc: Option<u32>, now: u64) -> NcVerdict {
        let generation = nonce.issued_at() / self.span;
        let mut shard = self.shard(nonce);
        if let Some(counts) = shard.find(generation, nonce.id()) {
            return counts.record(nc);
        }
        if shard.forgotten_up_to >= Some(nonce.issued_at()) || shard.superseded(generation) {
            return NcVerdict::Forgotten;
        }
        let Some(counts) = Counts::first(nc) else {
            return NcVerdict::Replayed;
        };
        if shard.len() >= self.shard_capacity {
            shard.make_room(self.expiry_cutoff(now));
        }
        shard.insert(generation, nonce, counts);
        NcVerdict::Accepted
    }

    /// Drops every generation whose nonces are all older than the lifetime at `now`, and packs the entries of
    /// generations before the current one.
    pub fn purge(&self, now: u64) {
        let cutoff = self.expiry_cutoff(now);
        for shard in &self.shards {
            let mut shard = lock(shard);
            if let Some(cutoff) = cutoff {
                shard.drop_expired(cutoff);
            }
            shard.settle_before(now / self.span);
        }
    }

    /// Number of nonces currently tracked.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
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
        // Bits the maps' hashing does not use (it takes the low bits for buckets and the top 7 for tags).
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
    /// Generation `g` lives in slot `g % SLOTS`.
    generations: [Generation; SLOTS],
    /// Unknown nonces issued at or before this time may have been used and dropped.
    forgotten_up_to: Option<u64>,
}

impl Shard {
    fn len(&self) -> usize {
        self.generations.iter().map(Generation::len).sum()
    }

    fn find(&mut self, generation: u64, id: u64) -> Option<&mut Counts> {
        let slot = &mut self.generations[slot_of(generation)];
        if slot.number != generation {
            return None;
        }
        slot.get_mut(id)
    }

    /// Whether `generation`'s slot holds a newer generation, so that one is too old to track.
    fn superseded(&self, generation: u64) -> bool {
        let held = &self.generations[slot_of(generation)];
        !held.is_empty() && held.number > generation
    }

    /// Records the first use of `nonce`, dropping an older generation that holds its slot.
    fn insert(&mut self, generation: u64, nonce: &IssuedNonce, counts: Counts) {
        let slot = slot_of(generation);
        if self.generations[slot].number != generation {
            self.forget(slot);
        }
        let target = &mut self.generations[slot];
        target.number = generation;
        target.newest = target.newest.max(nonce.issued_at());
        target.recent.insert(nonce.id(), counts);
    }

    /// Drops the generations whose nonces were all issued at or before `cutoff`.
    fn drop_expired(&mut self, cutoff: u64) {
        for slot in 0..SLOTS {
            let g = &self.generations[slot];
            if !g.is_empty() && g.newest <= cutoff {
                self.forget(slot);
            }
        }
    }

    /// Drops the expired generations, then, if that freed nothing, the oldest one.
    fn make_room(&mut self, expired: Option<u64>) {
        let full = self.len();
        if let Some(cutoff) = expired {
            self.drop_expired(cutoff);
        }
        if self.len() < full {
            return;
        }
        let oldest = (0..SLOTS)
            .filter(|&slot| !self.generations[slot].is_empty())
            .min_by_key(|&slot| self.generations[slot].number);
        if let Some(oldest) = oldest {
            self.forget(oldest);
        }
    }

    /// Packs the entries of the generations before `current`.
    fn settle_before(&mut self, current: u64) {
        for g in &mut self.generations {
            if g.number < current {
                g.settle();
            }
        }
    }

    /// Frees a generation's slot, remembering that its nonces may have been used.
    fn forget(&mut self, slot: usize) {
        let dropped = std::mem::take(&mut self.generations[slot]);
        if !dropped.is_empty() {
            self.forgotten_up_to = self.forgotten_up_to.max(Some(dropped.newest));
        }
    }
}

fn slot_of(generation: u64) -> usize {
    (generation % SLOTS as u64) as usize
}

/// The nonces of one generation (`number` = issue time / span) that were used.
#[derive(Default)]
struct Generation {
    number: u64,
    /// The newest issue time among the entries (0 while empty).
    newest: u64,
    /// Entries packed by [`Generation::settle`], sorted by id.
    settled: Box<[(u64, Counts)]>,
    /// Entries recorded since the last settle.
    recent: HashMap<u64, Counts, BuildHasherDefault<IdHasher>>,
}

impl Generation {
    fn len(&self) -> usize {
        self.settled.len() + self.recent.len()
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn get_mut(&mut self, id: u64) -> Option<&mut Counts> {
        if let Some(counts) = self.recent.get_mut(&id) {
            return Some(counts);
        }
        let i = self.settled.binary_search_by_key(&id, |&(id, _)| id).ok()?;
        Some(&mut self.settled[i].1)
    }

    /// Moves the recent entries into the sorted slice, which then has no spare capacity.
    fn settle(&mut self) {
        if self.recent.is_empty() {
            return;
        }
        let mut all = Vec::with_capacity(self.len());
        all.extend_from_slice(&self.settled);
        all.extend(std::mem::take(&mut self.recent));
        all.sort_unstable_by_key(|&(id, _)| id);
        self.settled = all.into_boxed_slice();
    }
}

/// The counts used with one nonce, packed: the highest count seen in the high half, and in the low half a bitmap
/// whose bit `i` is set when count `highest - i` was used. All zero means used without `qop`, no further use of any
/// kind: a use with `qop` has a count of at least 1 and sets bit 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counts(u64);

impl Counts {
    const SINGLE_USE: Self = Self(0);

    fn new(highest: u32, seen: u32) -> Self {
        Self(u64::from(highest) << 32 | u64::from(seen))
    }

    /// The counts after a first use, or `None` if that use is invalid (count 0).
    fn first(nc: Option<u32>) -> Option<Self> {
        match nc {
            None => Some(Self::SINGLE_USE),
            Some(0) => None,
            Some(nc) => Some(Self::new(nc, 1)),
        }
    }

    fn record(&mut self, nc: Option<u32>) -> NcVerdict {
        let Some(nc) = nc.filter(|&nc| nc != 0 && *self != Self::SINGLE_USE) else {
            return NcVerdict::Replayed;
        };
        let highest = (self.0 >> 32) as u32;
        let seen = self.0 as u32;
        if nc > highest {
            // A shift of the whole window or more clears it.
            *self = Self::new(nc, seen.checked_shl(nc - highest).unwrap_or(0) | 1);
            return NcVerdict::Accepted;
        }
        let bit = 1u32.checked_shl(highest - nc).unwrap_or(0);
        if bit == 0 || seen & bit != 0 {
            return NcVerdict::Replayed;
        }
        *self = Self::new(highest, seen | bit);
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

    /// A lifetime of 160 s makes generations of 10 s: issue times 10..=19 are generation 1.
    const LIFETIME: u64 = 160;
    const SPAN: u64 = 10;

    /// Ids below 2^32 all fall in shard 0.
    fn check(t: &NonceTracker, issued_at: u64, id: u64, nc: u32, now: u64) -> NcVerdict {
        t.check_and_record(&nonce(issued_at, id), Some(nc), now)
    }

    #[test]
    fn an_entry_is_an_id_and_one_word() {
        assert_eq!(size_of::<(u64, Counts)>(), 16);
        assert_eq!(NonceTracker::new(LIFETIME, 1).span, SPAN);
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
        // 100 - 31 is the lowest count still inside the window; 100 - 32 is outside it.
        for nc in [99, 69, 80] {
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
        assert_eq!(t.check_and_record(&n, Some(68), 100), NcVerdict::Replayed);
        // A jump shifts the window to 79..=110: 99 stays remembered, 69 and 78 fall out of it.
        assert_eq!(t.check_and_record(&n, Some(110), 100), NcVerdict::Accepted);
        assert_eq!(t.check_and_record(&n, Some(99), 100), NcVerdict::Replayed);
        assert_eq!(t.check_and_record(&n, Some(105), 100), NcVerdict::Accepted);
        assert_eq!(t.check_and_record(&n, Some(69), 100), NcVerdict::Replayed);
        assert_eq!(t.check_and_record(&n, Some(78), 100), NcVerdict::Replayed);
        assert_eq!(t.check_and_record(&n, Some(79), 100), NcVerdict::Accepted);
        // A jump beyond the window clears it.
        assert_eq!(t.check_and_record(&n, Some(1000), 100), NcVerdict::Accepted);
        assert_eq!(t.check_and_record(&n, Some(999), 100), NcVerdict::Accepted);
        assert_eq!(t.check_and_record(&n, Some(968), 100), NcVerdict::Replayed);
    }

    #[test]
    fn the_window_is_32_counts_wide() {
        let t = NonceTracker::new(300, 1000);
        assert_eq!(NC_WINDOW, 32);
        // A shift by one less than the window keeps the oldest bit: count 1 stays used.
        assert_eq!(check(&t, 100, 1, 1, 100), NcVerdict::Accepted);
        assert_eq!(check(&t, 100, 1, 32, 100), NcVerdict::Accepted);
        assert_eq!(check(&t, 100, 1, 1, 100), NcVerdict::Replayed);
        assert_eq!(check(&t, 100, 1, 2, 100), NcVerdict::Accepted);
        // A shift by exactly the window forgets everything below the new highest.
        assert_eq!(check(&t, 100, 2, 1, 100), NcVerdict::Accepted);
        assert_eq!(check(&t, 100, 2, 33, 100), NcVerdict::Accepted);
        assert_eq!(check(&t, 100, 2, 2, 100), NcVerdict::Accepted);
        assert_eq!(check(&t, 100, 2, 1, 100), NcVerdict::Replayed);
        // The top of the count range.
        assert_eq!(check(&t, 100, 3, u32::MAX, 100), NcVerdict::Accepted);
        assert_eq!(check(&t, 100, 3, u32::MAX, 100), NcVerdict::Replayed);
        assert_eq!(check(&t, 100, 3, u32::MAX - 31, 100), NcVerdict::Accepted);
        assert_eq!(check(&t, 100, 3, u32::MAX - 32, 100), NcVerdict::Replayed);
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
    fn nonces_at_a_generation_boundary_are_told_apart() {
        let t = NonceTracker::new(LIFETIME, 1000);
        // The same id issued in the last second of generation 1 and the first of generation 2.
        assert_eq!(check(&t, 19, 5, 1, 20), NcVerdict::Accepted);
        assert_eq!(check(&t, 20, 5, 1, 20), NcVerdict::Accepted);
        assert_eq!(check(&t, 19, 5, 1, 20), NcVerdict::Replayed);
        assert_eq!(check(&t, 20, 5, 2, 20), NcVerdict::Accepted);
        assert_eq!(t.len(), 2);
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
    fn purge_drops_exactly_the_generations_whose_nonces_all_expired() {
        let t = NonceTracker::new(LIFETIME, 1000);
        // Generation 1 holds nonces issued at 10 and 15, generation 2 one issued at 20.
        for (issued_at, id) in [(10, 1), (15, 2), (20, 3)] {
            assert_eq!(check(&t, issued_at, id, 1, 20), NcVerdict::Accepted);
        }
        // At 171 the nonce issued at 10 has expired, but not its generation's newest (15): nothing is dropped.
        t.purge(10 + LIFETIME + 1);
        assert_eq!(t.len(), 3);
        assert_eq!(check(&t, 10, 1, 1, 171), NcVerdict::Replayed);
        // At 176 generation 1 has wholly expired.
        t.purge(15 + LIFETIME + 1);
        assert_eq!(t.len(), 1);
        assert_eq!(check(&t, 20, 3, 1, 176), NcVerdict::Replayed);
        for (issued_at, id) in [(10, 1), (15, 2), (12, 4)] {
            assert_eq!(check(&t, issued_at, id, 2, 176), NcVerdict::Forgotten);
        }
        // Unused nonces issued after the newest dropped one are still new, even in the dropped generation.
        assert_eq!(check(&t, 16, 5, 1, 176), NcVerdict::Accepted);
        assert_eq!(check(&t, 16, 5, 1, 176), NcVerdict::Replayed);
    }

    #[test]
    fn purge_packs_past_generations_which_keep_their_counts() {
        let t = NonceTracker::new(LIFETIME, SHARDS * 100);
        for id in 1..=50 {
            assert_eq!(check(&t, 10, id, 1, 10), NcVerdict::Accepted);
        }
        assert_eq!(check(&t, 20, 99, 1, 20), NcVerdict::Accepted);
        // At 25 generation 1 is past and gets packed; generation 2 is current and stays in its table.
        t.purge(25);
        {
            let shard = lock(&t.shards[0]);
            let (past, current) = (&shard.generations[1], &shard.generations[2]);
            assert_eq!((past.settled.len(), past.recent.len()), (50, 0));
            assert_eq!((current.settled.len(), current.recent.len()), (0, 1));
        }
        for id in 1..=50 {
            assert_eq!(check(&t, 10, id, 1, 25), NcVerdict::Replayed);
            assert_eq!(check(&t, 10, id, 3, 25), NcVerdict::Accepted);
            assert_eq!(check(&t, 10, id, 2, 25), NcVerdict::Accepted);
            assert_eq!(check(&t, 10, id, 3, 25), NcVerdict::Replayed);
        }
        // A late first use in a packed generation is recorded beside it, then packed with it.
        assert_eq!(check(&t, 12, 0, 1, 25), NcVerdict::Accepted);
        t.purge(26);
        assert_eq!(lock(&t.shards[0]).generations[1].settled.len(), 51);
        assert_eq!(check(&t, 12, 0, 1, 26), NcVerdict::Replayed);
        assert_eq!(check(&t, 10, 7, 3, 26), NcVerdict::Replayed);
        assert_eq!(t.len(), 52);
    }

    #[test]
    fn purge_bounds_memory_under_sustained_load() {
        let t = NonceTracker::new(300, 1 << 20);
        let span = t.span;
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
        // At most lifetime + purge period + one generation + 1 seconds of nonces remain.
        assert!(t.len() <= 20 * (311 + span as usize), "{}", t.len());
        assert!(t.len() >= 20 * 301, "{}", t.len());
    }

    #[test]
    fn hard_cap_evicts_the_oldest_generation_and_refuses_its_nonces() {
        let t = NonceTracker::new(LIFETIME, SHARDS * 8);
        // Fill shard 0 with two nonces in each of generations 1 to 4.
        let issued_at = |i: u64| SPAN * (1 + i / 2) + i % 2;
        for i in 0..8 {
            assert_eq!(check(&t, issued_at(i), i, 1, 50), NcVerdict::Accepted);
        }
        assert_eq!(t.len(), 8);
        // The ninth evicts generation 1 (the nonces issued at 10 and 11).
        assert_eq!(check(&t, 50, 8, 1, 50), NcVerdict::Accepted);
        assert_eq!(t.len(), 7);
        assert_eq!(check(&t, issued_at(0), 0, 2, 50), NcVerdict::Forgotten);
        assert_eq!(check(&t, issued_at(1), 1, 2, 50), NcVerdict::Forgotten);
        assert_eq!(check(&t, issued_at(2), 2, 1, 50), NcVerdict::Replayed);
        assert_eq!(check(&t, issued_at(2), 2, 2, 50), NcVerdict::Accepted);
        // Another shard is unaffected.
        assert_eq!(check(&t, issued_at(0), 1 << 32, 1, 50), NcVerdict::Accepted);
    }

    #[test]
    fn hard_cap_within_one_generation_forgets_only_up_to_its_newest_nonce() {
        let t = NonceTracker::new(LIFETIME, SHARDS * 4);
        for i in 0..4 {
            assert_eq!(check(&t, 20 + i, i, 1, 25), NcVerdict::Accepted);
        }
        // All four are in the current generation: it goes, and with it everything issued up to 23.
        assert_eq!(check(&t, 24, 4, 1, 25), NcVerdict::Accepted);
        assert_eq!(t.len(), 1);
        assert_eq!(check(&t, 23, 3, 2, 25), NcVerdict::Forgotten);
        assert_eq!(check(&t, 23, 9, 1, 25), NcVerdict::Forgotten);
        // The nonce that made room, and later ones of the same generation, are tracked.
        assert_eq!(check(&t, 24, 4, 1, 25), NcVerdict::Replayed);
        assert_eq!(check(&t, 25, 5, 1, 25), NcVerdict::Accepted);
        assert_eq!(t.len(), 2);
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

    #[test]
    fn a_generation_a_ring_later_replaces_the_one_in_its_slot() {
        let t = NonceTracker::new(LIFETIME, 1000);
        let later = SLOTS as u64 * SPAN;
        assert_eq!(check(&t, 5, 1, 1, 5), NcVerdict::Accepted);
        // Without a purge, generation 18 takes generation 0's slot and drops it.
        assert_eq!(check(&t, later + 5, 2, 1, later + 5), NcVerdict::Accepted);
        assert_eq!(t.len(), 1);
        assert_eq!(check(&t, 5, 1, 2, later + 5), NcVerdict::Forgotten);
        // A nonce of generation 0 issued after the dropped one was never used, but is too old to track.
        assert_eq!(check(&t, 7, 3, 1, later + 5), NcVerdict::Forgotten);
        assert_eq!(t.len(), 1);
    }
}
