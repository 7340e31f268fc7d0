//! The driver's registrations: kept in reusable slots of one vector, found by id (`l_uuid`) and by Call-ID
//! through two index tables that hold only slot numbers.

use std::hash::BuildHasher;
use std::time::Instant;

use hashbrown::HashTable;
use sip_uac::Registration;

use super::account::Origin;

/// A slot number: where an [`Entry`] sits.
pub(crate) type Slot = u32;

/// One running registration.
pub(crate) struct Entry {
    pub(crate) reg: Registration,
    pub(crate) origin: Origin,
    /// The deadline it sits in the driver's timer heap for.
    pub(crate) scheduled: Option<Instant>,
    /// Removed from its source: unregistering, dropped once finished.
    pub(crate) leaving: bool,
    /// The hash its Call-ID is indexed under.
    call_id_hash: u64,
}

impl Entry {
    /// A registration not yet scheduled.
    pub(crate) fn new(reg: Registration, origin: Origin) -> Self {
        Self {
            reg,
            origin,
            scheduled: None,
            leaving: false,
            call_id_hash: 0,
        }
    }
}

/// Every registration the driver runs.
#[derive(Default)]
pub(crate) struct Registry {
    slots: Vec<Option<Entry>>,
    /// Empty slots, reused before the vector grows.
    free: Vec<Slot>,
    by_id: HashTable<Slot>,
    by_call_id: HashTable<Slot>,
    hasher: std::hash::RandomState,
}

impl Registry {
    /// How many registrations there are.
    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Makes room for `more` registrations, so that a load grows each table once.
    pub(crate) fn reserve(&mut self, more: usize) {
        let fresh = more.saturating_sub(self.free.len());
        self.slots.reserve_exact(fresh);
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.by_id.reserve(more, |&s| {
            hasher.hash_one(occupied(slots, s).reg.account().id())
        });
        self.by_call_id
            .reserve(more, |&s| occupied(slots, s).call_id_hash);
    }

    /// The slot of registration `id`.
    pub(crate) fn slot_of(&self, id: &str) -> Option<Slot> {
        let hash = self.hasher.hash_one(id);
        self.by_id
            .find(hash, |&s| occupied(&self.slots, s).reg.account().id() == id)
            .copied()
    }

    /// The slot of the registration whose Call-ID is `call_id`.
    pub(crate) fn slot_of_call_id(&self, call_id: &str) -> Option<Slot> {
        let hash = self.hasher.hash_one(call_id);
        self.by_call_id
            .find(hash, |&s| {
                occupied(&self.slots, s).reg.matches_call_id(call_id)
            })
            .copied()
    }

    /// The registration `id`.
    pub(crate) fn find(&self, id: &str) -> Option<&Entry> {
        self.slot_of(id).and_then(|s| self.get(s))
    }

    /// The registration in `slot`.
    pub(crate) fn get(&self, slot: Slot) -> Option<&Entry> {
        self.slots.get(slot as usize)?.as_ref()
    }

    /// The registration in `slot`, to change. Its id must stay; after a new Call-ID call
    /// [`Registry::index_call_id`].
    pub(crate) fn get_mut(&mut self, slot: Slot) -> Option<&mut Entry> {
        self.slots.get_mut(slot as usize)?.as_mut()
    }

    /// Every registration with its slot.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Slot, &Entry)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(s, e)| Some((s as Slot, e.as_ref()?)))
    }

    /// Adds `entry`, replacing a registration with the same id; returns its slot.
    pub(crate) fn insert(&mut self, mut entry: Entry) -> Slot {
        if let Some(old) = self.slot_of(entry.reg.account().id()) {
            self.remove(old);
        }
        let id_hash = self.hasher.hash_one(entry.reg.account().id());
        entry.call_id_hash = self.hasher.hash_one(entry.reg.call_id());
        let call_id_hash = entry.call_id_hash;
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(entry);
                s
            }
            None => {
                self.slots.push(Some(entry));
                Slot::try_from(self.slots.len() - 1).expect("fewer than 2^32 registrations")
            }
        };
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.by_id.insert_unique(id_hash, slot, |&s| {
            hasher.hash_one(occupied(slots, s).reg.account().id())
        });
        self.by_call_id
            .insert_unique(call_id_hash, slot, |&s| occupied(slots, s).call_id_hash);
        slot
    }

    /// Re-indexes the Call-ID of the registration in `slot` if it changed (new settings take a new one).
    pub(crate) fn index_call_id(&mut self, slot: Slot) {
        let Some(entry) = self.slots.get_mut(slot as usize).and_then(Option::as_mut) else {
            return;
        };
        let hash = self.hasher.hash_one(entry.reg.call_id());
        if hash == entry.call_id_hash {
            return;
        }
        let old = std::mem::replace(&mut entry.call_id_hash, hash);
        if let Ok(found) = self.by_call_id.find_entry(old, |&s| s == slot) {
            found.remove();
        }
        let slots = &self.slots;
        self.by_call_id
            .insert_unique(hash, slot, |&s| occupied(slots, s).call_id_hash);
    }

    /// Removes the registration in `slot`.
    pub(crate) fn remove(&mut self, slot: Slot) -> Option<Entry> {
        let removed = self.slots.get_mut(slot as usize)?.take()?;
        let id_hash = self.hasher.hash_one(removed.reg.account().id());
        if let Ok(found) = self.by_id.find_entry(id_hash, |&s| s == slot) {
            found.remove();
        }
        if let Ok(found) = self
            .by_call_id
            .find_entry(removed.call_id_hash, |&s| s == slot)
        {
            found.remove();
        }
        self.free.push(slot);
        Some(removed)
    }

    /// Gives back the room a load reserved but did not use.
    pub(crate) fn shrink_to_fit(&mut self) {
        while self.slots.last().is_some_and(Option::is_none) {
            self.slots.pop();
        }
        let len = self.slots.len();
        self.free.retain(|&s| (s as usize) < len);
        self.slots.shrink_to_fit();
        self.free.shrink_to_fit();
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.by_id
            .shrink_to_fit(|&s| hasher.hash_one(occupied(slots, s).reg.account().id()));
        self.by_call_id
            .shrink_to_fit(|&s| occupied(slots, s).call_id_hash);
    }
}

/// The entry in `slot`, which an index names, so it is there.
fn occupied(slots: &[Option<Entry>], slot: Slot) -> &Entry {
    slots[slot as usize]
        .as_ref()
        .expect("the index tables name only occupied slots")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sip_uac::{Account, LocalBinding, Secret, Transport};

    use super::*;

    fn account(id: &str) -> Account {
        Account {
            id: id.into(),
            local_user: "alice".into(),
            local_domain: "pbx.local".into(),
            remote_user: "4930".into(),
            remote_domain: "trunk.example".into(),
            realm: None,
            auth_user: String::new(),
            secret: Secret::Password("pw".into()),
            proxy: None,
            expires: 600,
            enabled: true,
            reg_delay: Duration::ZERO,
            contact_user: id.into(),
            transport: Transport::Udp,
        }
    }

    fn entry(id: &str, seed: u64) -> Entry {
        let binding = LocalBinding {
            transport: Transport::Udp,
            local: "192.0.2.1:5060".parse().unwrap(),
            contact_host: "192.0.2.1:5060".into(),
        };
        let reg = Registration::new(account(id), binding, Instant::now(), Duration::ZERO, seed);
        Entry::new(reg, Origin::Table { id: 1 })
    }

    fn call_id(r: &Registry, slot: Slot) -> String {
        r.get(slot).unwrap().reg.call_id()
    }

    #[test]
    fn finds_by_id_and_call_id_and_reuses_freed_slots() {
        let mut r = Registry::default();
        r.reserve(100);
        let slots: Vec<Slot> = (0..100)
            .map(|i| r.insert(entry(&format!("t{i}"), i)))
            .collect();
        assert_eq!(r.len(), 100);
        for (i, &slot) in slots.iter().enumerate() {
            assert_eq!(r.slot_of(&format!("t{i}")), Some(slot));
            assert_eq!(r.slot_of_call_id(&call_id(&r, slot)), Some(slot));
        }
        let gone = r.remove(slots[7]).unwrap();
        assert_eq!((r.slot_of("t7"), r.len()), (None, 99));
        assert_eq!(r.slot_of_call_id(&gone.reg.call_id()), None);
        assert_eq!(r.insert(entry("t100", 100)), slots[7]);
        assert_eq!(r.find("t100").unwrap().reg.account().id(), "t100");

        // The same id replaces the registration.
        let old = call_id(&r, slots[3]);
        let again = r.insert(entry("t3", 1000));
        assert_eq!((r.slot_of("t3"), r.len()), (Some(again), 100));
        assert_eq!(r.slot_of_call_id(&old), None);
        assert_eq!(r.slot_of_call_id(&call_id(&r, again)), Some(again));
        assert_eq!(r.iter().count(), 100);
    }

    #[test]
    fn shrinking_keeps_every_registration() {
        let mut r = Registry::default();
        r.reserve(1000);
        let slots: Vec<Slot> = (0..40)
            .map(|i| r.insert(entry(&format!("t{i}"), i)))
            .collect();
        for &slot in &slots[20..] {
            r.remove(slot);
        }
        r.shrink_to_fit();
        assert_eq!(r.slots.len(), 20);
        assert!(r.free.is_empty());
        for (i, &slot) in slots[..20].iter().enumerate() {
            assert_eq!(r.slot_of(&format!("t{i}")), Some(slot));
            assert_eq!(r.slot_of_call_id(&call_id(&r, slot)), Some(slot));
        }
        assert_eq!(r.insert(entry("new", 99)), 20);
    }

    #[test]
    fn a_new_call_id_is_indexed_again() {
        let mut r = Registry::default();
        let slot = r.insert(entry("t1", 1));
        let old = call_id(&r, slot);
        let mut changed = account("t1");
        changed.remote_user = "4931".into();
        let reg = &mut r.get_mut(slot).unwrap().reg;
        reg.update_account(Instant::now(), changed);
        let new = reg.call_id();
        assert_ne!(new, old);
        r.index_call_id(slot);
        assert_eq!(r.slot_of_call_id(&old), None);
        assert_eq!(r.slot_of_call_id(&new), Some(slot));
        assert_eq!(r.slot_of("t1"), Some(slot));
    }
}
