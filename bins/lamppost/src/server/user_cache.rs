//! The in-memory cache of subscribers' digest secrets, kept compact: the server may hold every account.
//!
//! Known users are records packed back to back in one arena, `[flags][key length][MD5 HA1]?[SHA-256 HA1]?[user@realm]`,
//! found through a table of 4-byte arena offsets: raw hash bytes rather than hex, only the HA1s of the algorithms the
//! server offers, and no allocation per user. With MD5 alone a typical user costs about 45 bytes. A removed record
//! leaves a hole; the arena is compacted once holes make up half of it.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::time::Instant;

use hashbrown::HashTable;
use sip_auth::StoredSecret;

const HAS_MD5: u8 = 1;
const HAS_SHA256: u8 = 2;
const DUMMY: u8 = 4;
const MD5_LEN: usize = 16;
const SHA256_LEN: usize = 32;
/// Flags and key length.
const PREFIX_LEN: usize = 3;

/// What the cache knows about a user.
#[derive(Debug)]
pub(crate) enum CachedUser {
    /// The account exists; its secret.
    Known(StoredSecret),
    /// The store had no such account when asked at this time.
    Unknown {
        /// When the store was asked.
        checked: Instant,
    },
}

/// Which HA1s the cache keeps: those of the algorithms the server offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Kept {
    /// Keep the MD5 HA1.
    pub(crate) md5: bool,
    /// Keep the SHA-256 HA1.
    pub(crate) sha256: bool,
}

/// Users by `user@realm`.
pub(crate) struct UserCache {
    arena: Vec<u8>,
    /// Offsets of the live records in `arena`.
    known: HashTable<u32>,
    /// Bytes of `arena` held by removed records.
    holes: usize,
    unknown: HashMap<Box<str>, Instant>,
    kept: Kept,
    hasher: RandomState,
}

impl UserCache {
    /// An empty cache keeping the `kept` HA1s of each user.
    pub(crate) fn new(kept: Kept) -> Self {
        Self {
            arena: Vec::new(),
            known: HashTable::new(),
            holes: 0,
            unknown: HashMap::new(),
            kept,
            hasher: RandomState::new(),
        }
    }

    /// An empty cache with room for `users` known users whose `user@realm` keys add up to `key_bytes`, so filling it
    /// allocates once rather than growing (a grown arena leaves its earlier copies to the allocator).
    pub(crate) fn with_capacity(kept: Kept, users: usize, key_bytes: usize) -> Self {
        let record =
            PREFIX_LEN + usize::from(kept.md5) * MD5_LEN + usize::from(kept.sha256) * SHA256_LEN;
        Self {
            arena: Vec::with_capacity(users * record + key_bytes),
            known: HashTable::with_capacity(users),
            ..Self::new(kept)
        }
    }

    /// What is cached for `user` of `realm`. A known user is found without building its `user@realm` key.
    pub(crate) fn get(&self, user: &str, realm: &str) -> Option<CachedUser> {
        if let Some(record) = self.find(user, realm) {
            return Some(CachedUser::Known(secret(record)));
        }
        if self.unknown.is_empty() {
            return None;
        }
        self.unknown
            .get(format!("{user}@{realm}").as_str())
            .map(|&checked| CachedUser::Unknown { checked })
    }

    /// Caches `entry` for `key`, replacing what was there. A key too long to pack (over 64 KiB) is not cached.
    pub(crate) fn insert(&mut self, key: &str, entry: CachedUser) {
        self.remove(key);
        match entry {
            CachedUser::Known(secret) => {
                let Ok(offset) = u32::try_from(self.arena.len()) else {
                    return;
                };
                if !push_record(&mut self.arena, key, &secret, self.kept) {
                    return;
                }
                let (arena, hasher) = (&self.arena, &self.hasher);
                self.known
                    .insert_unique(hash_key(hasher, key), offset, |&o| {
                        hash_key(hasher, key_of(record_at(arena, o)))
                    });
            }
            CachedUser::Unknown { checked } => {
                self.unknown.insert(key.into(), checked);
            }
        }
    }

    /// Forgets `key`; `true` if anything was cached for it.
    pub(crate) fn remove(&mut self, key: &str) -> bool {
        let hash = hash_key(&self.hasher, key);
        let arena = &self.arena;
        let removed = self
            .known
            .find_entry(hash, |&o| key_of(record_at(arena, o)) == key)
            .map(|e| e.remove().0)
            .ok();
        if let Some(offset) = removed {
            self.holes += record_at(&self.arena, offset).len();
            if self.holes > self.arena.len() / 2 {
                self.compact();
            }
        }
        self.unknown.remove(key).is_some() || removed.is_some()
    }

    /// Forgets everything, and from now on keeps the `kept` HA1s.
    pub(crate) fn clear(&mut self, kept: Kept) {
        *self = Self::new(kept);
    }

    /// Number of users cached, known or not.
    pub(crate) fn len(&self) -> usize {
        self.known.len() + self.unknown.len()
    }

    fn find(&self, user: &str, realm: &str) -> Option<&[u8]> {
        self.known
            .find(hash_parts(&self.hasher, user, realm), |&o| {
                split_key(key_of(record_at(&self.arena, o))) == (user, realm)
            })
            .map(|&o| record_at(&self.arena, o))
    }

    /// Copies the live records into a new arena without holes and points the table at their new places.
    fn compact(&mut self) {
        let mut arena = Vec::with_capacity(self.arena.len() - self.holes);
        for offset in self.known.iter_mut() {
            let record = record_at(&self.arena, *offset);
            // The new arena is no larger than the old one, whose offsets fit in a u32.
            *offset = arena.len() as u32;
            arena.extend_from_slice(record);
        }
        self.arena = arena;
        self.holes = 0;
    }
}

/// The user and realm of a `user@realm` key (a user part may itself hold `@`; a realm cannot).
fn split_key(key: &str) -> (&str, &str) {
    key.rsplit_once('@').unwrap_or((key, ""))
}

/// The table hash of a `user@realm` key: that of its parts, so a lookup needs no key built.
fn hash_key(hasher: &RandomState, key: &str) -> u64 {
    let (user, realm) = split_key(key);
    hash_parts(hasher, user, realm)
}

fn hash_parts(hasher: &RandomState, user: &str, realm: &str) -> u64 {
    let mut h = hasher.build_hasher();
    h.write(user.as_bytes());
    h.write_u8(b'@');
    h.write(realm.as_bytes());
    h.finish()
}

/// Appends one known user's record; `false` (and nothing appended) when the key is too long to pack.
fn push_record(arena: &mut Vec<u8>, key: &str, secret: &StoredSecret, kept: Kept) -> bool {
    let Ok(key_len) = u16::try_from(key.len()) else {
        return false;
    };
    let md5 = secret.md5_ha1().filter(|_| kept.md5);
    let sha256 = secret.sha256_ha1().filter(|_| kept.sha256);
    let mut flags = 0;
    if md5.is_some() {
        flags |= HAS_MD5;
    }
    if sha256.is_some() {
        flags |= HAS_SHA256;
    }
    if secret.is_dummy() {
        flags |= DUMMY;
    }
    arena.push(flags);
    arena.extend_from_slice(&key_len.to_le_bytes());
    arena.extend_from_slice(md5.as_ref().map_or(&[][..], |h| &h[..]));
    arena.extend_from_slice(sha256.as_ref().map_or(&[][..], |h| &h[..]));
    arena.extend_from_slice(key.as_bytes());
    true
}

/// Length of a record's header (flags, key length and hashes).
fn header_len(flags: u8) -> usize {
    let mut len = PREFIX_LEN;
    if flags & HAS_MD5 != 0 {
        len += MD5_LEN;
    }
    if flags & HAS_SHA256 != 0 {
        len += SHA256_LEN;
    }
    len
}

/// The whole record that starts at `offset`.
fn record_at(arena: &[u8], offset: u32) -> &[u8] {
    let start = offset as usize;
    let flags = arena[start];
    let key_len = usize::from(u16::from_le_bytes([arena[start + 1], arena[start + 2]]));
    &arena[start..start + header_len(flags) + key_len]
}

/// The `user@realm` of a record.
fn key_of(record: &[u8]) -> &str {
    std::str::from_utf8(&record[header_len(record[0])..]).unwrap_or("")
}

/// The secret of a record.
fn secret(record: &[u8]) -> StoredSecret {
    let flags = record[0];
    if flags & DUMMY != 0 {
        return StoredSecret::dummy();
    }
    let mut at = PREFIX_LEN;
    let mut take = |present: bool, len: usize| {
        let bytes = present.then(|| &record[at..at + len]);
        at += if present { len } else { 0 };
        bytes
    };
    let md5 = take(flags & HAS_MD5 != 0, MD5_LEN).and_then(|b| b.try_into().ok());
    let sha256 = take(flags & HAS_SHA256 != 0, SHA256_LEN).and_then(|b| b.try_into().ok());
    StoredSecret::from_ha1_bytes(md5, sha256)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: Kept = Kept {
        md5: true,
        sha256: true,
    };

    fn known(cache: &UserCache, key: &str) -> StoredSecret {
        let (user, realm) = split_key(key);
        match cache.get(user, realm) {
            Some(CachedUser::Known(s)) => s,
            other => panic!("{key}: expected a known user, got {other:?}"),
        }
    }

    #[test]
    fn known_users_round_trip() {
        let mut cache = UserCache::new(BOTH);
        let both = StoredSecret::from_password("alice", "example.com", "pw");
        let md5_only = StoredSecret::from_ha1_bytes(Some([7; 16]), None);
        let sha_only = StoredSecret::from_ha1_bytes(None, Some([9; 32]));
        cache.insert("alice@example.com", CachedUser::Known(both.clone()));
        cache.insert("bob@example.com", CachedUser::Known(md5_only));
        cache.insert("carol@example.com", CachedUser::Known(sha_only));
        cache.insert("dave@example.com", CachedUser::Known(StoredSecret::dummy()));
        assert_eq!(cache.len(), 4);
        let a = known(&cache, "alice@example.com");
        assert_eq!(a.md5_ha1(), both.md5_ha1());
        assert_eq!(a.sha256_ha1(), both.sha256_ha1());
        assert!(!a.is_dummy());
        let b = known(&cache, "bob@example.com");
        assert_eq!((b.md5_ha1(), b.sha256_ha1()), (Some([7; 16]), None));
        let c = known(&cache, "carol@example.com");
        assert_eq!((c.md5_ha1(), c.sha256_ha1()), (None, Some([9; 32])));
        assert!(known(&cache, "dave@example.com").is_dummy());
        assert!(cache.get("alice", "example.org").is_none());
    }

    #[test]
    fn only_the_offered_algorithms_are_kept() {
        let secret = StoredSecret::from_password("alice", "example.com", "pw");
        let mut md5 = UserCache::new(Kept {
            md5: true,
            sha256: false,
        });
        md5.insert("alice@example.com", CachedUser::Known(secret.clone()));
        let a = known(&md5, "alice@example.com");
        assert_eq!((a.md5_ha1(), a.sha256_ha1()), (secret.md5_ha1(), None));
        assert_eq!(
            md5.arena.len(),
            PREFIX_LEN + MD5_LEN + "alice@example.com".len()
        );

        // After a reload that offers SHA-256 alone, users are read again and keep only that HA1.
        md5.clear(Kept {
            md5: false,
            sha256: true,
        });
        assert!(md5.get("alice", "example.com").is_none());
        md5.insert("alice@example.com", CachedUser::Known(secret.clone()));
        let a = known(&md5, "alice@example.com");
        assert_eq!((a.md5_ha1(), a.sha256_ha1()), (None, secret.sha256_ha1()));
    }

    #[test]
    fn unknown_replace_and_forget() {
        let mut cache = UserCache::new(BOTH);
        let t = Instant::now();
        cache.insert("eve@example.com", CachedUser::Unknown { checked: t });
        assert!(matches!(
            cache.get("eve", "example.com"),
            Some(CachedUser::Unknown { checked }) if checked == t
        ));
        // A user who appears later replaces the negative entry, and the other way round.
        let secret = StoredSecret::from_password("eve", "example.com", "pw");
        cache.insert("eve@example.com", CachedUser::Known(secret));
        assert!(matches!(
            cache.get("eve", "example.com"),
            Some(CachedUser::Known(_))
        ));
        assert_eq!(cache.len(), 1);
        cache.insert("eve@example.com", CachedUser::Unknown { checked: t });
        assert!(matches!(
            cache.get("eve", "example.com"),
            Some(CachedUser::Unknown { .. })
        ));
        assert_eq!(cache.len(), 1);
        assert!(cache.remove("eve@example.com"));
        assert!(!cache.remove("eve@example.com"));
        assert!(cache.get("eve", "example.com").is_none());
    }

    #[test]
    fn removals_compact_the_arena_and_keep_the_rest() {
        let mut cache = UserCache::new(BOTH);
        let secret_of = |i: u8| StoredSecret::from_ha1_bytes(Some([i; 16]), None);
        for i in 0..200_u8 {
            cache.insert(
                &format!("u{i}@example.com"),
                CachedUser::Known(secret_of(i)),
            );
        }
        let full = cache.arena.len();
        // Replacing a user leaves a hole, then fills the end of the arena.
        cache.insert("u0@example.com", CachedUser::Known(secret_of(250)));
        assert!(cache.holes > 0);
        for i in (1..200_u8).filter(|i| i % 4 != 0) {
            assert!(cache.remove(&format!("u{i}@example.com")));
        }
        // Three quarters are gone: the arena was compacted on the way, and holds no more than the survivors.
        assert!(
            cache.arena.len() < full / 2,
            "{} of {full}",
            cache.arena.len()
        );
        assert!(cache.holes <= cache.arena.len() / 2);
        assert_eq!(cache.len(), 50);
        assert_eq!(known(&cache, "u0@example.com").md5_ha1(), Some([250; 16]));
        for i in (4..200_u8).step_by(4) {
            assert_eq!(
                known(&cache, &format!("u{i}@example.com")).md5_ha1(),
                Some([i; 16])
            );
        }
        assert!(cache.get("u1", "example.com").is_none());
        cache.clear(BOTH);
        assert_eq!(cache.len(), 0);
        assert!(cache.get("u4", "example.com").is_none());
    }

    #[test]
    fn a_cache_sized_from_totals_is_filled_without_growing() {
        let kept = Kept {
            md5: true,
            sha256: false,
        };
        let keys: Vec<String> = (0..1000).map(|i| format!("user{i}@example.com")).collect();
        let key_bytes = keys.iter().map(String::len).sum();
        let mut cache = UserCache::with_capacity(kept, keys.len(), key_bytes);
        let (arena, buckets) = (cache.arena.capacity(), cache.known.capacity());
        for key in &keys {
            let secret = StoredSecret::from_password(key, "example.com", "pw");
            cache.insert(key, CachedUser::Known(secret));
        }
        assert_eq!(cache.arena.len(), arena);
        assert_eq!(
            (cache.arena.capacity(), cache.known.capacity()),
            (arena, buckets)
        );
    }

    #[test]
    fn a_user_part_may_hold_an_at_sign() {
        let mut cache = UserCache::new(BOTH);
        let secret = StoredSecret::from_ha1_bytes(Some([3; 16]), None);
        cache.insert("a@b@example.com", CachedUser::Known(secret));
        assert_eq!(known(&cache, "a@b@example.com").md5_ha1(), Some([3; 16]));
        assert!(cache.get("a", "b@example.com").is_none());
        assert!(cache.remove("a@b@example.com"));
        assert!(cache.get("a@b", "example.com").is_none());
    }

    #[test]
    fn a_key_too_long_to_pack_is_not_cached() {
        let mut cache = UserCache::new(BOTH);
        let user = "x".repeat(70_000);
        cache.insert(
            &format!("{user}@example.com"),
            CachedUser::Known(StoredSecret::dummy()),
        );
        assert!(cache.get(&user, "example.com").is_none());
        assert!(cache.arena.is_empty());
    }
}
