//! One copy of each set of local addresses, shared by the registrations that use it (usually all of them).

use std::collections::HashSet;
use std::sync::Arc;

use sip_uac::LocalBinding;

/// The local bindings in use.
#[derive(Default)]
pub(crate) struct SharedBindings(HashSet<Arc<LocalBinding>>);

impl SharedBindings {
    /// The shared copy of `binding`.
    pub(crate) fn share(&mut self, binding: LocalBinding) -> Arc<LocalBinding> {
        if let Some(shared) = self.0.get(&binding) {
            return Arc::clone(shared);
        }
        let shared = Arc::new(binding);
        self.0.insert(Arc::clone(&shared));
        shared
    }

    /// Drops the bindings no registration uses any more.
    pub(crate) fn forget_unused(&mut self) {
        self.0.retain(|b| Arc::strong_count(b) > 1);
    }
}

#[cfg(test)]
mod tests {
    use sip_uac::Transport;

    use super::*;

    fn binding(contact_host: &str) -> LocalBinding {
        LocalBinding {
            transport: Transport::Udp,
            local: "192.0.2.1:5060".parse().unwrap(),
            contact_host: contact_host.into(),
        }
    }

    #[test]
    fn equal_bindings_are_one_copy_until_unused() {
        let mut shared = SharedBindings::default();
        let a = shared.share(binding("192.0.2.1:5060"));
        let b = shared.share(binding("192.0.2.1:5060"));
        let c = shared.share(binding("pbx.example.com"));
        assert!(Arc::ptr_eq(&a, &b) && !Arc::ptr_eq(&a, &c));
        drop(c);
        shared.forget_unused();
        assert_eq!(shared.0.len(), 1);
        assert!(Arc::ptr_eq(&a, &shared.share(binding("192.0.2.1:5060"))));
    }
}
