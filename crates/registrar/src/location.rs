//! The in-memory location table: AOR → bindings. The store keeps a durable copy; this is what requests read.

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use hashbrown::HashTable;

use crate::binding::{Binding, Change, RemovalReason, UnixTime};

/// Bindings by canonical AOR.
///
/// Each entry is the boxed list of one AOR's bindings, never empty; the AOR itself is not stored again as a key but
/// read from the first binding (every binding of the list shares one `Arc` of it). Lists are exactly as long as
/// their bindings: most AORs hold one, and a spare slot costs as much as a binding.
#[derive(Debug, Default)]
pub struct LocationTable {
    aors: HashTable<Box<[Binding]>>,
    hasher: RandomState,
    len: usize,
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

    /// The table's shared copy of `aor`, to put in a new binding instead of another allocation.
    pub fn aor_key(&self, aor: &str) -> Arc<str> {
        self.bindings(aor)
            .first()
            .map_or_else(|| Arc::from(aor), |b| b.aor.clone())
    }

    /// Inserts a binding, replacing one with the same id.
    pub fn upsert(&mut self, mut binding: Binding) {
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
        binding.aor = list[0].aor.clone();
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
        self.aors.retain(|list| {
            if list.iter().all(|b| b.expires_at > now) {
                return true;
            }
            let mut kept = Vec::with_capacity(list.len());
            for b in std::mem::take(list).into_vec() {
                if b.expires_at > now {
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
