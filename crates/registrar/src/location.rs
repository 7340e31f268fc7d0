//! The in-memory location table: AOR → bindings. The store keeps a durable copy; this is what requests read.

use std::collections::HashMap;
use std::sync::Arc;

use crate::binding::{Binding, Change, RemovalReason, UnixTime};

/// Bindings by canonical AOR.
#[derive(Debug, Default)]
pub struct LocationTable {
    aors: HashMap<Arc<str>, Vec<Binding>>,
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
        self.aors
            .get(aor)
            .into_iter()
            .flatten()
            .filter(move |b| b.expires_at > now)
    }

    /// All bindings of `aor`, expired or not.
    pub fn bindings(&self, aor: &str) -> &[Binding] {
        self.aors.get(aor).map_or(&[], Vec::as_slice)
    }

    /// Every AOR with its bindings.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[Binding])> {
        self.aors.iter().map(|(k, v)| (&**k, v.as_slice()))
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
        self.aors
            .get_key_value(aor)
            .map_or_else(|| Arc::from(aor), |(k, _)| k.clone())
    }

    /// Inserts a binding, replacing one with the same id.
    pub fn upsert(&mut self, mut binding: Binding) {
        binding.aor = self.aor_key(&binding.aor);
        // Most AORs hold one binding: grow lists one slot at a time, not by the usual doubling (a spare slot costs
        // as much as a binding).
        let list = self
            .aors
            .entry(binding.aor.clone())
            .or_insert_with(|| Vec::with_capacity(1));
        match list.iter_mut().find(|b| b.id == binding.id) {
            Some(slot) => *slot = binding,
            None => {
                list.reserve_exact(1);
                list.push(binding);
                self.len += 1;
            }
        }
    }

    /// Removes the binding `id` of `aor`, if present.
    pub fn remove(&mut self, aor: &str, id: u64) {
        if let Some(list) = self.aors.get_mut(aor) {
            let before = list.len();
            list.retain(|b| b.id != id);
            self.len -= before - list.len();
            if list.is_empty() {
                self.aors.remove(aor);
            } else {
                list.shrink_to_fit();
            }
        }
    }

    /// Removes every binding whose expiry is at or before `now` and returns the removals for the store.
    pub fn expire(&mut self, now: UnixTime) -> Vec<Change> {
        let mut removed = Vec::new();
        self.aors.retain(|_, list| {
            list.retain(|b| {
                let keep = b.expires_at > now;
                if !keep {
                    removed.push(Change::Remove {
                        id: b.id,
                        aor: b.aor.to_string(),
                        uri: b.uri.to_string(),
                        reason: RemovalReason::Expired,
                    });
                }
                keep
            });
            !list.is_empty()
        });
        self.len -= removed.len();
        removed
    }

    /// The largest binding id held, so new ids can start above it after a restart.
    pub fn max_id(&self) -> u64 {
        self.aors
            .values()
            .flatten()
            .map(|b| b.id)
            .max()
            .unwrap_or(0)
    }
}
