//! [`LocationStore`] and [`BlockingLocationStore`] for [`SqliteStore`].

use std::collections::HashMap;
use std::sync::PoisonError;
use std::time::Instant;

use registrar::{Binding, Change};
use rusqlite::Connection;

use super::SqliteStore;
use super::{binding_row, journal, journal_codec};
use crate::{BlockingLocationStore, LocationStore, StoreError};

/// What [`SqliteStore::apply_blocking`] reports it was doing when it fails.
const APPLY: &str = "applying location changes";

impl LocationStore for SqliteStore {
    /// The `location` rows with the unfolded journal applied on top, read in one transaction. Rows that cannot be
    /// turned back into a binding (edited by hand, say) are logged and skipped, so one bad row does not keep the
    /// server from starting.
    async fn load_bindings(&self) -> Result<Vec<Binding>, StoreError> {
        const ACTION: &str = "loading bindings";
        self.other
            .run(ACTION, |conn| load(conn).map_err(StoreError::db(ACTION)))
            .await
    }

    /// Runs [`BlockingLocationStore::apply_blocking`], then [`BlockingLocationStore::between_batches`], on Tokio's
    /// blocking pool.
    async fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let (store, changes) = (self.clone(), changes.to_vec());
        super::blocking(APPLY, move || {
            store.apply_blocking(&changes)?;
            store.between_batches()
        })
        .await
    }
}

impl BlockingLocationStore for SqliteStore {
    /// One `BEGIN IMMEDIATE` transaction on the write connection that appends one `location_journal` row per
    /// binding changed (only the last change of each binding id is written).
    fn apply_blocking(&self, changes: &[Change]) -> Result<(), StoreError> {
        // Only the last change of each binding matters.
        let mut last: HashMap<u64, &Change> = HashMap::with_capacity(changes.len());
        for change in changes {
            last.insert(change_id(change), change);
        }
        // Encode first, so the write lock is held only while writing.
        let mut entries = Vec::with_capacity(last.len());
        for change in changes {
            if !std::ptr::eq(last[&change_id(change)], change) {
                continue;
            }
            entries.push(match change {
                Change::Upsert(b) => journal_codec::encode_upsert(b),
                Change::Remove { id, .. } => journal_codec::encode_remove(*id),
            });
        }
        if entries.is_empty() {
            return Ok(());
        }
        self.writer.with(APPLY, |conn| {
            let mut fold = self.fold.lock().unwrap_or_else(PoisonError::into_inner);
            fold.append(conn, &entries).map_err(StoreError::db(APPLY))
        })
    }

    /// Does one step of the journal fold (a few milliseconds of work) when one is due or under way: see the
    /// `journal` module.
    fn between_batches(&self) -> Result<(), StoreError> {
        const ACTION: &str = "folding the location journal";
        self.writer.with(ACTION, |conn| {
            let mut fold = self.fold.lock().unwrap_or_else(PoisonError::into_inner);
            let started = Instant::now();
            let stepped = fold
                .step(conn, journal::STEP)
                .map_err(StoreError::db(ACTION))?;
            if stepped {
                tracing::trace!(elapsed = ?started.elapsed(), "location journal fold step");
            }
            Ok(())
        })
    }

    /// Folds the whole journal into `location`.
    fn before_stop(&self) -> Result<(), StoreError> {
        self.fold_journal()
    }
}

/// The binding id a change is about.
fn change_id(change: &Change) -> u64 {
    match change {
        Change::Upsert(b) => b.id,
        Change::Remove { id, .. } => *id,
    }
}

/// Every `location` row that decodes (the others are logged), with the journal applied on top; one read
/// transaction, so a fold running meanwhile is seen either whole or not at all.
fn load(conn: &mut Connection) -> rusqlite::Result<Vec<Binding>> {
    let tx = conn.transaction()?;
    // Sized once: a vector grown by doubling leaves its earlier copies to the allocator.
    let rows: i64 = tx.query_row("SELECT count(*) FROM location", [], |row| row.get(0))?;
    let mut bindings = Vec::with_capacity(usize::try_from(rows).unwrap_or(0));
    {
        let mut select = tx.prepare(binding_row::SELECT_ALL)?;
        let mut rows = select.query([])?;
        while let Some(row) = rows.next()? {
            match binding_row::decode(row) {
                Ok(binding) => bindings.push(binding),
                Err(problem) => {
                    let id: Option<i64> = row.get("id").ok();
                    tracing::warn!(?id, %problem, "skipping unreadable location row");
                }
            }
        }
    }
    let bindings = journal::overlay(&tx, bindings)?;
    tx.commit()?;
    Ok(bindings)
}
