//! The location service's durable half: where bindings are kept between restarts.

use std::future::Future;

use registrar::{Binding, Change};

use crate::StoreError;

/// Durable storage of bindings.
///
/// The server keeps the live location table in memory; a store only has to hand every binding back at start and to
/// make each batch of changes durable, all or nothing.
pub trait LocationStore: Send + Sync + 'static {
    /// All stored bindings, expired ones included (the caller drops those).
    fn load_bindings(&self) -> impl Future<Output = Result<Vec<Binding>, StoreError>> + Send;

    /// Applies a batch of changes atomically, in order, in one transaction: `Upsert` inserts or replaces the binding
    /// with that id, `Remove` deletes the binding with that id (removing an absent id is not an error).
    ///
    /// When this returns `Ok`, the changes are durable to the level the store promises.
    fn apply(&self, changes: &[Change]) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A [`LocationStore`]-like sink that applies a batch synchronously, for [`GroupCommit`](crate::GroupCommit)'s
/// writer thread.
///
/// The writer is a plain OS thread, not a Tokio task: it calls this method directly, so a batch costs no hop to an
/// executor or another thread. Implementations may block (disk I/O, a lock held by another writer) and must not
/// need a Tokio runtime.
pub trait BlockingLocationStore: Send + Sync + 'static {
    /// Applies a batch of changes atomically, in order, in one transaction, with the same meaning as
    /// [`LocationStore::apply`]. When this returns `Ok`, the changes are durable to the level the store promises.
    fn apply_blocking(&self, changes: &[Change]) -> Result<(), StoreError>;

    /// Housekeeping that must not delay an acknowledgement: [`GroupCommit`](crate::GroupCommit)'s writer calls it
    /// after answering the callers of each successful batch, before gathering the next one, so it may write without
    /// racing the store's own batches (callers queued meanwhile wait for it). Does nothing unless the store needs it;
    /// [`SqliteStore`](crate::SqliteStore) folds its journal here.
    fn between_batches(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Called once by [`GroupCommit`](crate::GroupCommit)'s writer as it stops, after its last batch. Does nothing
    /// unless the store needs it; [`SqliteStore`](crate::SqliteStore) folds its whole journal here.
    fn before_stop(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
