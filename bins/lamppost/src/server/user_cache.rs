//! The in-memory cache of subscribers' digest secrets, kept compact: the server may hold every account.
//!
//! A known user is one boxed record, `[flags][MD5 HA1]?[SHA-256 HA1]?[user@realm]`: raw hash bytes rather than hex
//! and no separate key allocation, about 90 bytes per user with both HA1s.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::time::Instant;

use hashbrown::HashTable;
use sip_auth::StoredSecret;

const HAS_MD5: u8 = 1;
const HAS_SHA256: u8 = 2;
const DUMMY: u8 = 4;
const MD5_LEN: usize = 16;
const SHA256_LEN: usize = 32;

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

/// Users by `user@realm`.
#[derive(Default)]
pub(crate) struct UserCache {
    known: HashTable<Box<[u8]>>,
    unknown: HashMap<Box<str>, Instant>,
    hasher: RandomState,
}

impl UserCache {
    /// What is cached for `key` (`user@realm`).
    pub(crate) fn get(&self, key: &str) -> Option<CachedUser> {
        if let Some(record) = self.find(key) {
            return Some(CachedUser::Known(secret(record)));
        }
        self.unknown
            .get(key)
            .map(|&checked| CachedUser::Unknown { checked })
    }

    /// Caches `entry` for `key`, replacing what was there.
    pub(crate) fn insert(&mut self, key: &str, entry: CachedUser) {
        self.remove(key);
        match entry {
            CachedUser::Known(secret) => {
                let hash = self.hasher.hash_one(key);
                let hasher = &self.hasher;
                self.known
                    .insert_unique(hash, record(key, &secret), |r| hasher.hash_one(key_of(r)));
            }
            CachedUser::Unknown { checked } => {
                self.unknown.insert(key.into(), checked);
            }
        }
    }

    /// Forgets `key`; `true` if anything was cached for it.
    pub(crate) fn remove(&mut self, key: &str) -> bool {
        let hash = self.hasher.hash_one(key);
        let known = self
            .known
            .find_entry(hash, |r| key_of(r) == key)
            .map(|e| e.remove())
            .is_ok();
        self.unknown.remove(key).is_some() || known
    }

    /// Forgets everything.
    pub(crate) fn clear(&mut self) {
        self.known = HashTable::new();
        self.unknown = HashMap::new();
    }

    /// Number of users cached, known or not.
    pub(crate) fn len(&self) -> usize {
        self.known.len() + self.unknown.len()
    }

    fn find(&self, key: &str) -> Option<&[u8]> {
        self.known
            .find(self.hasher.hash_one(key), |r| key_of(r) == key)
            .map(|r| &**r)
    }
}

/// Encodes one known user.
fn record(key: &str, secret: &StoredSecret) -> Box<[u8]> {
    let (md5, sha256) = (secret.md5_ha1(), secret.sha256_ha1());
    let mut flags = 0;
    let mut out = Vec::with_capacity(1 + MD5_LEN + SHA256_LEN + key.len());
    out.push(0);
    if let Some(h) = md5 {
        flags |= HAS_MD5;
        out.extend_from_slice(&h);
    }
    if let Some(h) = sha256 {
        flags |= HAS_SHA256;
        out.extend_from_slice(&h);
    }
    if secret.is_dummy() {
        flags |= DUMMY;
    }
    out[0] = flags;
    out.extend_from_slice(key.as_bytes());
    out.into_boxed_slice()
}

/// Length of a record's header (flags and hashes).
fn header_len(flags: u8) -> usize {
    let mut len = 1;
    if flags & HAS_MD5 != 0 {
        len += MD5_LEN;
    }
    if flags & HAS_SHA256 != 0 {
        len += SHA256_LEN;
    }
    len
}

/// The `user@realm` of a record.
fn key_of(record: &[u8]) -> &str {
    let flags = record.first().copied().unwrap_or(0);
    record
        .get(header_len(flags)..)
        .and_then(|k| std::str::from_utf8(k).ok())
        .unwrap_or("")
}

/// The secret of a record.
fn secret(record: &[u8]) -> StoredSecret {
    let flags = record.first().copied().unwrap_or(0);
    if flags & DUMMY != 0 {
        return StoredSecret::dummy();
    }
    let mut at = 1;
    let mut take = |present: bool, len: usize| {
        let bytes = present.then(|| record.get(at..at + len)).flatten();
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

    fn md5_hex(s: &StoredSecret) -> Option<[u8; 16]> {
        s.md5_ha1()
    }

    #[test]
    fn known_users_round_trip() {
        let mut cache = UserCache::default();
        let both = StoredSecret::from_password("alice", "example.com", "pw");
        let md5_only = StoredSecret::from_ha1_bytes(Some([7; 16]), None);
        let sha_only = StoredSecret::from_ha1_bytes(None, Some([9; 32]));
        cache.insert("alice@example.com", CachedUser::Known(both.clone()));
        cache.insert("bob@example.com", CachedUser::Known(md5_only));
        cache.insert("carol@example.com", CachedUser::Known(sha_only));
        cache.insert("dave@example.com", CachedUser::Known(StoredSecret::dummy()));
        assert_eq!(cache.len(), 4);
        let Some(CachedUser::Known(a)) = cache.get("alice@example.com") else {
            panic!("alice missing");
        };
        assert_eq!(md5_hex(&a), both.md5_ha1());
        assert_eq!(a.sha256_ha1(), both.sha256_ha1());
        assert!(!a.is_dummy());
        let Some(CachedUser::Known(b)) = cache.get("bob@example.com") else {
            panic!("bob missing");
        };
        assert_eq!((b.md5_ha1(), b.sha256_ha1()), (Some([7; 16]), None));
        let Some(CachedUser::Known(c)) = cache.get("carol@example.com") else {
            panic!("carol missing");
        };
        assert_eq!((c.md5_ha1(), c.sha256_ha1()), (None, Some([9; 32])));
        let Some(CachedUser::Known(d)) = cache.get("dave@example.com") else {
            panic!("dave missing");
        };
        assert!(d.is_dummy());
        assert!(cache.get("alice@example.org").is_none());
    }

    #[test]
    fn unknown_replace_and_forget() {
        let mut cache = UserCache::default();
        let t = Instant::now();
        cache.insert("eve@example.com", CachedUser::Unknown { checked: t });
        assert!(matches!(
            cache.get("eve@example.com"),
            Some(CachedUser::Unknown { checked }) if checked == t
        ));
        // A user who appears later replaces the negative entry, and the other way round.
        let secret = StoredSecret::from_password("eve", "example.com", "pw");
        cache.insert("eve@example.com", CachedUser::Known(secret));
        assert!(matches!(
            cache.get("eve@example.com"),
            Some(CachedUser::Known(_))
        ));
        assert_eq!(cache.len(), 1);
        cache.insert("eve@example.com", CachedUser::Unknown { checked: t });
        assert!(matches!(
            cache.get("eve@example.com"),
            Some(CachedUser::Unknown { .. })
        ));
        assert_eq!(cache.len(), 1);
        assert!(cache.remove("eve@example.com"));
        assert!(!cache.remove("eve@example.com"));
        assert!(cache.get("eve@example.com").is_none());
        for i in 0..1000 {
            let key = format!("u{i}@example.com");
            cache.insert(
                &key,
                CachedUser::Known(StoredSecret::from_ha1_bytes(Some([1; 16]), None)),
            );
        }
        assert_eq!(cache.len(), 1000);
        assert!(matches!(
            cache.get("u999@example.com"),
            Some(CachedUser::Known(_))
        ));
        cache.clear();
        assert_eq!(cache.len(), 0);
        assert!(cache.get("u1@example.com").is_none());
    }
}
