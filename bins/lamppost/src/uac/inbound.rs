//! Requests from a trunk to one of our registrations' Contacts: which local AOR they are for.

use std::hash::BuildHasher;
use std::sync::RwLock;

use hashbrown::HashTable;
use sip_uac::PackedStrs;

/// Where a request to a registration's Contact user goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundTarget {
    /// The registration's id (`l_uuid`).
    pub registration: Box<str>,
    /// The local AOR, `l_username@l_domain`.
    pub local_aor: Box<str>,
}

const USER: usize = 0;
const REGISTRATION: usize = 1;
const LOCAL_AOR: usize = 2;

/// Contact user → target, each entry's three texts in one allocation.
#[derive(Debug, Default)]
pub(crate) struct InboundTargets {
    table: HashTable<PackedStrs<3>>,
    hasher: std::hash::RandomState,
}

impl InboundTargets {
    /// Room for `n` targets.
    pub(crate) fn with_capacity(n: usize) -> Self {
        Self {
            table: HashTable::with_capacity(n),
            hasher: std::hash::RandomState::new(),
        }
    }

    /// Sends requests for Contact user `user` to local AOR `local_aor` of `registration`, unless the user already
    /// has a target.
    pub(crate) fn add(&mut self, user: &str, registration: &str, local_aor: &str) {
        let hash = self.hasher.hash_one(user);
        if self.table.find(hash, |e| e.get(USER) == user).is_some() {
            return;
        }
        let entry = PackedStrs::new([user, registration, local_aor]);
        let hasher = &self.hasher;
        self.table
            .insert_unique(hash, entry, |e| hasher.hash_one(e.get(USER)));
    }

    fn get(&self, user: &str) -> Option<InboundTarget> {
        let hash = self.hasher.hash_one(user);
        let entry = self.table.find(hash, |e| e.get(USER) == user)?;
        Some(InboundTarget {
            registration: entry.get(REGISTRATION).into(),
            local_aor: entry.get(LOCAL_AOR).into(),
        })
    }
}

/// Contact user → target, read by the SIP service for every request that is not a REGISTER, rebuilt by the
/// driver when registrations change.
#[derive(Debug, Default)]
pub struct InboundMap {
    targets: RwLock<InboundTargets>,
}

impl InboundMap {
    /// The target of a request whose Request-URI user is `user`.
    pub fn get(&self, user: &str) -> Option<InboundTarget> {
        self.targets
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(user)
    }

    /// Replaces the whole map.
    pub(crate) fn replace(&self, targets: InboundTargets) {
        *self
            .targets
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = targets;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(registration: &str, local_aor: &str) -> InboundTarget {
        InboundTarget {
            registration: registration.into(),
            local_aor: local_aor.into(),
        }
    }

    #[test]
    fn the_first_registration_of_a_contact_user_keeps_it() {
        let mut targets = InboundTargets::with_capacity(2);
        targets.add("line1", "trunk1", "alice@pbx.local");
        targets.add("line2", "trunk2", "bob@pbx.local");
        targets.add("line1", "trunk3", "carol@pbx.local");
        let map = InboundMap::default();
        assert_eq!(map.get("line1"), None);
        map.replace(targets);
        assert_eq!(map.get("line1"), Some(target("trunk1", "alice@pbx.local")));
        assert_eq!(map.get("line2"), Some(target("trunk2", "bob@pbx.local")));
        assert_eq!(map.get("line3"), None);
    }
}
