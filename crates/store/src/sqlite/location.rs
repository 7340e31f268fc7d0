//! [`LocationStore`] for [`SqliteStore`].

use registrar::{Binding, Change};

use super::SqliteStore;
use super::binding_row::{self, BindingRow};
use crate::{LocationStore, StoreError};

/// A change converted to what the statements bind.
enum RowChange<'a> {
    Upsert(Box<BindingRow<'a>>),
    Remove(i64),
}

impl LocationStore for SqliteStore {
    /// Rows that cannot be turned back into a binding (edited by hand, say) are logged and skipped, so one bad row
    /// does not keep the server from starting.
    async fn load_bindings(&self) -> Result<Vec<Binding>, StoreError> {
        let rows = sqlx::query(binding_row::SELECT_ALL)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::db("loading bindings"))?;
        let mut bindings = Vec::with_capacity(rows.len());
        for row in &rows {
            match binding_row::decode(row) {
                Ok(binding) => bindings.push(binding),
                Err(problem) => {
                    let id: Option<i64> = sqlx::Row::try_get(row, "id").ok();
                    tracing::warn!(?id, %problem, "skipping unreadable location row");
                }
            }
        }
        Ok(bindings)
    }

    async fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        const ACTION: &str = "applying location changes";
        // Convert first, so a value that cannot be stored fails before the write lock is taken.
        let rows = changes
            .iter()
            .map(|change| match change {
                Change::Upsert(binding) => {
                    BindingRow::encode(binding).map(|r| RowChange::Upsert(Box::new(r)))
                }
                Change::Remove { id, .. } => Ok(RowChange::Remove(id.cast_signed())),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(StoreError::db(ACTION))?;
        for row in rows {
            let query = match row {
                RowChange::Upsert(r) => r.upsert(),
                RowChange::Remove(id) => sqlx::query("DELETE FROM location WHERE id = ?").bind(id),
            };
            query
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db(ACTION))?;
        }
        tx.commit().await.map_err(StoreError::db(ACTION))
    }
}
