//! [`LocationStore`] and [`BlockingLocationStore`] for [`SqliteStore`].

use std::collections::HashMap;

use registrar::{Binding, Change};
use rusqlite::{Connection, TransactionBehavior};

use super::SqliteStore;
use super::binding_row::{self, BindingRow};
use crate::{BlockingLocationStore, LocationStore, StoreError};

/// What [`SqliteStore::apply_blocking`] reports it was doing when it fails.
const APPLY: &str = "applying location changes";

impl LocationStore for SqliteStore {
    /// Rows that cannot be turned back into a binding (edited by hand, say) are logged and skipped, so one bad row
    /// does not keep the server from starting.
    async fn load_bindings(&self) -> Result<Vec<Binding>, StoreError> {
        const ACTION: &str = "loading bindings";
        self.other
            .run(ACTION, |conn| load(conn).map_err(StoreError::db(ACTION)))
            .await
    }

    /// Runs [`BlockingLocationStore::apply_blocking`] on Tokio's blocking pool.
    async fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let (store, changes) = (self.clone(), changes.to_vec());
        super::blocking(APPLY, move || store.apply_blocking(&changes)).await
    }
}

impl BlockingLocationStore for SqliteStore {
    /// One `BEGIN IMMEDIATE` transaction on the write connection: a cached `DELETE` per removed binding, then a
    /// cached upsert per inserted or refreshed one. Only the last change of each binding id is written.
    fn apply_blocking(&self, changes: &[Change]) -> Result<(), StoreError> {
        // Only the last change of each binding matters; after this each id appears once, so the order of the
        // deletes and the upserts below no longer matters.
        let mut last: HashMap<u64, &Change> = HashMap::with_capacity(changes.len());
        for change in changes {
            let id = match change {
                Change::Upsert(b) => b.id,
                Change::Remove { id, .. } => *id,
            };
            last.insert(id, change);
        }
        // Convert first, so a value that cannot be stored fails before the write lock is taken.
        let mut upserts = Vec::with_capacity(last.len());
        let mut removes = Vec::new();
        for change in changes {
            match change {
                Change::Upsert(b) if std::ptr::eq(last[&b.id], change) => {
                    upserts.push(BindingRow::encode(b)?);
                }
                Change::Remove { id, .. } if std::ptr::eq(last[id], change) => {
                    removes.push(id.cast_signed());
                }
                _ => {}
            }
        }
        if upserts.is_empty() && removes.is_empty() {
            return Ok(());
        }
        self.writer.with(APPLY, |conn| {
            write(conn, &upserts, &removes).map_err(StoreError::db(APPLY))
        })
    }
}

/// Writes `upserts` and deletes `removes` (binding ids as stored) in one transaction.
fn write(
    conn: &mut Connection,
    upserts: &[BindingRow<'_>],
    removes: &[i64],
) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if !removes.is_empty() {
        let mut delete = tx.prepare_cached(binding_row::DELETE)?;
        for id in removes {
            delete.execute([id])?;
        }
    }
    if !upserts.is_empty() {
        let mut upsert = tx.prepare_cached(binding_row::UPSERT)?;
        for row in upserts {
            row.upsert(&mut upsert)?;
        }
    }
    tx.commit()
}

/// Every row that decodes; the others are logged.
fn load(conn: &mut Connection) -> rusqlite::Result<Vec<Binding>> {
    let mut select = conn.prepare(binding_row::SELECT_ALL)?;
    let mut rows = select.query([])?;
    let mut bindings = Vec::new();
    while let Some(row) = rows.next()? {
        match binding_row::decode(row) {
            Ok(binding) => bindings.push(binding),
            Err(problem) => {
                let id: Option<i64> = row.get("id").ok();
                tracing::warn!(?id, %problem, "skipping unreadable location row");
            }
        }
    }
    Ok(bindings)
}
