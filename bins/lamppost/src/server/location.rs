//! The location service as the server holds it: the registrar split into shards by AOR, each behind a mutex.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use registrar::{Binding, Change, Registrar, RegistrarConfig};

/// Number of shards; a power of two well above the core count keeps lock contention negligible.
const SHARDS: usize = 64;

/// All bindings, sharded by AOR.
#[derive(Debug)]
pub struct Location {
    shards: Vec<Mutex<Registrar>>,
    hasher: RandomState,
}

impl Location {
    /// Empty shards under `config`.
    pub fn new(config: Arc<RegistrarConfig>) -> Self {
        let ids = Arc::new(AtomicU64::new(0));
        Self {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(Registrar::new(config.clone(), ids.clone())))
                .collect(),
            hasher: RandomState::new(),
        }
    }

    /// The shard that owns `aor`, locked.
    pub fn shard(&self, aor: &str) -> MutexGuard<'_, Registrar> {
        let i = self.hasher.hash_one(aor) as usize % SHARDS;
        lock(&self.shards[i])
    }

    /// Loads bindings read back from the store; returns how many were kept (not expired). Each binding moves straight
    /// into its shard, with no copy of the whole set on the way.
    pub fn restore(&self, bindings: Vec<Binding>, now: SystemTime) -> usize {
        for b in bindings {
            self.shard(&b.aor).restore([b], now);
        }
        self.shards.iter().map(|s| lock(s).table().len()).sum()
    }

    /// Removes expired bindings from every shard.
    pub fn expire(&self, now: SystemTime) -> Vec<Change> {
        self.shards
            .iter()
            .flat_map(|s| lock(s).expire(now))
            .collect()
    }

    /// Installs new rules in every shard.
    pub fn set_config(&self, config: Arc<RegistrarConfig>) {
        for s in &self.shards {
            lock(s).set_config(config.clone());
        }
    }

    /// How many unexpired bindings `aor` (canonical form) has.
    pub fn binding_count(&self, aor: &str) -> usize {
        let now = registrar::UnixTime::from_system(SystemTime::now());
        self.shard(aor).table().live(aor, now).count()
    }

    /// Calls `f` on each shard in turn (for dumps and counts).
    pub fn for_each(&self, mut f: impl FnMut(&Registrar)) {
        for s in &self.shards {
            f(&lock(s));
        }
    }
}

/// Locks a shard; a panic while holding it leaves the table consistent (updates are applied whole), so poison is ignored.
fn lock(m: &Mutex<Registrar>) -> MutexGuard<'_, Registrar> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
