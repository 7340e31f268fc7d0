//! Requests from a trunk to one of our registrations' Contacts: which local AOR they are for.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Where a request to a registration's Contact user goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundTarget {
    /// The registration's id (`l_uuid`), shared with the driver.
    pub registration: Arc<str>,
    /// The local AOR, `l_username@l_domain`.
    pub local_aor: Box<str>,
}

/// Contact user → target, read by the SIP service for every request that is not a REGISTER, rebuilt by the
/// driver when registrations change.
#[derive(Debug, Default)]
pub struct InboundMap {
    targets: RwLock<HashMap<Box<str>, InboundTarget>>,
}

impl InboundMap {
    /// The target of a request whose Request-URI user is `user`.
    pub fn get(&self, user: &str) -> Option<InboundTarget> {
        self.targets
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(user)
            .cloned()
    }

    /// Replaces the whole map.
    pub(crate) fn replace(&self, targets: HashMap<Box<str>, InboundTarget>) {
        *self
            .targets
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = targets;
    }
}
