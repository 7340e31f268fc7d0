//! A registration's random choices, kept small: a 64-bit seed instead of a generator's state, and a Call-ID and
//! From tag written from a seed when needed.

use std::net::IpAddr;

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

use crate::transmit::LocalBinding;

/// A random source in 8 bytes, where a generator's state takes 32: each use takes a generator seeded from it, and
/// the seed moves on to the generator's first output.
#[derive(Debug, Clone)]
pub(super) struct RandomSeed(u64);

impl RandomSeed {
    pub(super) fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A generator for one use.
    pub(super) fn generator(&mut self) -> SmallRng {
        let mut rng = SmallRng::seed_from_u64(self.0);
        self.0 = rng.random();
        rng
    }
}

/// 16 random hex digits.
pub(super) fn random_hex(seed: &mut RandomSeed) -> String {
    format!("{:016x}", seed.generator().random::<u64>())
}

/// The Call-ID and From tag of a registration, kept as the numbers they are written from: a Call-ID
/// `<32 hex digits>@<local address>` and a From tag of 16 hex digits, all random.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DialogIds {
    /// Drives the hex digits of both.
    seed: u64,
    /// The local address when the Call-ID was made; it stays when the binding changes.
    host: IpAddr,
}

impl DialogIds {
    pub(super) fn new(seed: &mut RandomSeed, binding: &LocalBinding) -> Self {
        Self {
            seed: seed.generator().random(),
            host: binding.local.ip(),
        }
    }

    /// The random numbers: two for the Call-ID, one for the From tag.
    fn numbers(&self) -> [u64; 3] {
        let mut rng = SmallRng::seed_from_u64(self.seed);
        [rng.random(), rng.random(), rng.random()]
    }

    pub(super) fn call_id(&self) -> String {
        let [a, b, _] = self.numbers();
        match self.host {
            IpAddr::V4(ip) => format!("{a:016x}{b:016x}@{ip}"),
            IpAddr::V6(ip) => format!("{a:016x}{b:016x}@[{ip}]"),
        }
    }

    pub(super) fn tag(&self) -> String {
        format!("{:016x}", self.numbers()[2])
    }
}

#[cfg(test)]
mod tests {
    use sip_msg::Transport;

    use super::*;

    fn binding(local: &str) -> LocalBinding {
        LocalBinding {
            transport: Transport::Udp,
            local: local.parse().unwrap(),
            contact_host: String::new(),
        }
    }

    #[test]
    fn ids_keep_their_form_and_differ_between_seeds() {
        let mut seed = RandomSeed::new(7);
        let v4 = DialogIds::new(&mut seed, &binding("192.0.2.1:5060"));
        let v6 = DialogIds::new(&mut seed, &binding("[2001:db8::1]:5060"));
        let (call_id, tag) = (v4.call_id(), v4.tag());
        assert_eq!(call_id.len(), 32 + "@192.0.2.1".len(), "{call_id}");
        assert!(
            call_id[..32].bytes().all(|b| b.is_ascii_hexdigit()) && call_id.ends_with("@192.0.2.1")
        );
        assert!(
            tag.len() == 16 && tag.bytes().all(|b| b.is_ascii_hexdigit()),
            "{tag}"
        );
        assert_eq!(
            (v4.call_id(), v4.tag()),
            (call_id.clone(), tag),
            "written the same each time"
        );
        assert!(v6.call_id().ends_with("@[2001:db8::1]"));
        assert_ne!(v6.call_id()[..32], call_id[..32]);
    }

    #[test]
    fn the_seed_moves_on() {
        let mut seed = RandomSeed::new(1);
        let draws: Vec<String> = (0..4).map(|_| random_hex(&mut seed)).collect();
        let unique: std::collections::HashSet<&String> = draws.iter().collect();
        assert_eq!(unique.len(), draws.len(), "{draws:?}");
        let mut again = RandomSeed::new(1);
        assert_eq!(
            random_hex(&mut again),
            draws[0],
            "the same seed draws the same"
        );
    }
}
