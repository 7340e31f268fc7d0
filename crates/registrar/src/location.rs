//! The in-memory location table: AOR → bindings. The store keeps a durable copy; this is what requests read.

use hashbrown::HashTable;
use std::hash::{BuildHasher, RandomState};

use crate::binding::{Binding, Change, RemovalReason, UnixTime};

/// Bindings by canonical AOR.
///
/// Each entry is the boxed list of one AOR's bindings, never empty; the AOR itself is not stored again as a key but
/// read from the first binding. Lists are exactly as long as
/// their bindings: most AORs hold one, and a spare slot costs as much as a binding.
///
/// The table keeps a lower bound on the earliest expiry it holds, so [`Self::expire`] scans only when a binding may
/// have expired: with clients that refresh in time, about once per refresh interval instead of on every sweep.
#[derive(Debug)]
pub struct LocationTable {
    aors: HashTable<Box<[Binding]>>,
    hasher: RandomState,
    len: usize,
    /// No binding expires before this (exact after a scan; only lowered by inserts until the next one).
    earliest_expiry: UnixTime,
}

impl Default for LocationTable {
    fn default() -> Self {
        Self {
            aors: HashTable::new(),
            hasher: RandomState::new(),
            len: 0,
            earliest_expiry: UnixTime(u32::MAX),
        }
    }
}

impl LocationTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of bindings held (including any that expired since the last [`Self::expire`]).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table holds no bindings.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of AORs with at least one binding.
    pub fn aor_count(&self) -> usize {
        self.aors.len()
    }

    /// The bindings of `aor` still valid at `now`, in registration order.
    pub fn live(&self, aor: &str, now: UnixTime) -> impl Iterator<Item = &Binding> {
        self.bindings(aor)
            .iter()
            .filter(move |b| b.expires_at > now)
    }

    /// All bindings of `aor`, expired or not.
    pub fn bindings(&self, aor: &str) -> &[Binding] {
        self.aors
            .find(self.hash(aor), |list| key_of(list) == aor)
            .map_or(&[], |list| list)
    }

    /// Every AOR with its bindings.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[Binding])> {
        self.aors.iter().map(|list| (key_of(list), &**list))
    }

    /// Applies changes already decided by the registrar (or loaded from the store).
    pub fn apply(&mut self, changes: &[Change]) {
        for change in changes {
            match change {
                Change::Upsert(b) => self.upsert(b.clone()),
                Change::Remove { id, aor, .. } => self.remove(aor, *id),
            }
        }
    }

    /// Inserts a binding, replacing one with the same id.
    pub fn upsert(&mut self, binding: Binding) {
        self.earliest_expiry = self.earliest_expiry.min(binding.expires_at);
        let hash = self.hash(&binding.aor);
        let found = self
            .aors
            .find_mut(hash, |list| key_of(list) == &*binding.aor);
        let Some(list) = found else {
            let hasher = &self.hasher;
            self.aors.insert_unique(hash, Box::new([binding]), |list| {
                hasher.hash_one(key_of(list))
            });
            self.len += 1;
            return;
        };
        match list.iter_mut().find(|b| b.id == binding.id) {
            Some(slot) => *slot = binding,
            None => {
                let mut grown = Vec::with_capacity(list.len() + 1);
                grown.extend(std::mem::take(list).into_vec());
                grown.push(binding);
                *list = grown.into_boxed_slice();
                self.len += 1;
            }
        }
    }

    /// Removes the binding `id` of `aor`, if present.
    pub fn remove(&mut self, aor: &str, id: u64) {
        let hash = self.hash(aor);
        let Ok(entry) = self.aors.find_entry(hash, |list| key_of(list) == aor) else {
            return;
        };
        if !entry.get().iter().any(|b| b.id == id) {
            return;
        }
        self.len -= 1;
        if entry.get().len() == 1 {
            entry.remove();
            return;
        }
        let list = entry.into_mut();
        let kept: Vec<Binding> = std::mem::take(list)
            .into_vec()
            .into_iter()
            .filter(|b| b.id != id)
            .collect();
        *list = kept.into_boxed_slice();
    }

    /// Removes every binding whose expiry is at or before `now` and returns the removals for the store.
    pub fn expire(&mut self, now: UnixTime) -> Vec<Change> {
        let mut removed = Vec::new();
        if now < self.earliest_expiry {
            return removed;
        }
        let mut earliest = UnixTime(u32::MAX);
        self.aors.retain(|list| {
            if list.iter().all(|b| b.expires_at > now) {
                earliest = list
                    .iter()
                    .map(|b| b.expires_at)
                    .fold(earliest, UnixTime::min);
                return true;
            }
            let mut kept = Vec::with_capacity(list.len());
            for b in std::mem::take(list).into_vec() {
                if b.expires_at > now {
                    earliest = earliest.min(b.expires_at);
                    kept.push(b);
                } else {
                    removed.push(Change::Remove {
                        id: b.id,
                        aor: b.aor.to_string(),
                        uri: b.uri.to_string(),
                        reason: RemovalReason::Expired,
                    });
                }
            }
            *list = kept.into_boxed_slice();
            !list.is_empty()
        });
        self.earliest_expiry = earliest;
        self.len -= removed.len();
        removed
    }

    /// The largest binding id held, so new ids can start above it after a restart.
    pub fn max_id(&self) -> u64 {
        self.aors
            .iter()
            .flat_map(|list| list.iter())
            .map(|b| b.id)
            .max()
            .unwrap_or(0)
    }

    fn hash(&self, aor: &str) -> u64 {
        self.hasher.hash_one(aor)
    }
}

/// The AOR of a stored list: that of its first binding (lists are never empty in the table).
fn key_of(list: &[Binding]) -> &str {
    list.first().map_or("", |b| &b.aor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binding::{Source, Transport};

    fn binding(id: u64, aor: &str, expires: u32) -> Binding {
        let addr: std::net::SocketAddr = "192.0.2.1:5060".parse().unwrap();
        Binding {
            id,
            aor: aor.into(),
            uri: format!("sip:{id}@192.0.2.1").into(),
            q: None,
            expires_at: UnixTime(expires),
            registered_at: UnixTime(0),
            updated_at: UnixTime(0),
            call_id: "c".into(),
            cseq: 1,
            branch_hash: 0,
            source: Source {
                remote: addr,
                local: addr.into(),
                transport: Transport::Udp,
                connection: None,
            },
            user_agent: "".into(),
            extras: Default::default(),
        }
    }

    fn ids(t: &LocationTable, aor: &str) -> Vec<u64> {
        t.bindings(aor).iter().map(|b| b.id).collect()
    }

    #[test]
    fn lists_keep_order_and_exact_length() {
        let mut t = LocationTable::new();
        t.upsert(binding(1, "a@x", 100));
        t.upsert(binding(2, "a@x", 100));
        t.upsert(binding(3, "b@x", 100));
        t.upsert(binding(4, "a@x", 100));
        assert_eq!((t.len(), t.aor_count()), (4, 2));
        assert_eq!(ids(&t, "a@x"), [1, 2, 4]);
        assert_eq!(ids(&t, "b@x"), [3]);
        assert!(t.bindings("c@x").is_empty());
        // Replacing by id keeps the position and the count.
        let mut moved = binding(2, "a@x", 200);
        moved.cseq = 9;
        t.upsert(moved);
        assert_eq!(ids(&t, "a@x"), [1, 2, 4]);
        assert_eq!(t.bindings("a@x")[1].cseq, 9);
        assert_eq!(t.len(), 4);
        let mut keys: Vec<(&str, usize)> = t.iter().map(|(k, v)| (k, v.len())).collect();
        keys.sort_unstable();
        assert_eq!(keys, [("a@x", 3), ("b@x", 1)]);
        assert_eq!(t.max_id(), 4);
    }

    #[test]
    fn removal_and_expiry_drop_empty_aors() {
        let mut t = LocationTable::new();
        t.upsert(binding(1, "a@x", 100));
        t.upsert(binding(2, "a@x", 50));
        t.upsert(binding(3, "b@x", 50));
        t.remove("a@x", 9);
        t.remove("z@x", 1);
        assert_eq!(t.len(), 3);
        t.remove("a@x", 1);
        assert_eq!(ids(&t, "a@x"), [2]);
        assert_eq!(t.live("a@x", UnixTime(49)).count(), 1);
        assert_eq!(t.live("a@x", UnixTime(50)).count(), 0);
        let removed = t.expire(UnixTime(50));
        assert_eq!(removed.len(), 2);
        assert!(removed.iter().all(|c| matches!(
            c,
            Change::Remove {
                reason: RemovalReason::Expired,
                ..
            }
        )));
        assert!(t.is_empty());
        assert_eq!(t.aor_count(), 0);
        t.upsert(binding(5, "a@x", 100));
        t.upsert(binding(6, "a@x", 10));
        assert_eq!(t.expire(UnixTime(20)).len(), 1);
        assert_eq!(ids(&t, "a@x"), [5]);
        t.apply(&[Change::Remove {
            id: 5,
            aor: "a@x".into(),
            uri: String::new(),
            reason: RemovalReason::Unregistered,
        }]);
        assert!(t.is_empty());
        assert_eq!(t.aor_count(), 0);
    }

    #[test]
    fn the_expiry_bound_follows_refreshes_and_inserts() {
        let mut t = LocationTable::new();
        assert!(t.expire(UnixTime(0)).is_empty());
        t.upsert(binding(1, "a@x", 50));
        // Refreshed: the bound (50) is now too early; a sweep past it removes nothing and learns 200.
        t.upsert(binding(1, "a@x", 200));
        assert!(t.expire(UnixTime(60)).is_empty());
        assert_eq!(t.earliest_expiry, UnixTime(200));
        // A binding that expires sooner lowers the bound at once, and is swept on time.
        t.upsert(binding(2, "b@x", 70));
        assert!(t.expire(UnixTime(69)).is_empty());
        assert_eq!(t.expire(UnixTime(70)).len(), 1);
        assert_eq!(ids(&t, "a@x"), [1]);
        assert_eq!(t.expire(UnixTime(200)).len(), 1);
        assert!(t.is_empty());
        assert_eq!(t.earliest_expiry, UnixTime(u32::MAX));
    }
}
