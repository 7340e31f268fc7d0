//! [`LocationStore`] for [`SqliteStore`].

use std::collections::HashMap;

use registrar::{Binding, Change};
use sqlx::{QueryBuilder, Sqlite};

use super::SqliteStore;
use super::binding_row::{self, BindingRow};
use crate::{LocationStore, StoreError};

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
        // Only the last change of each binding matters; after this each id appears once, so the order of the
        // deletes and the inserts below no longer matters.
        let mut last: HashMap<u64, &Change> = HashMap::with_capacity(changes.len());
        for change in changes {
            let id = match change {
                Change::Upsert(b) => b.id,
                Change::Remove { id, .. } => *id,
            };
            last.insert(id, change);
        }
        // Convert first, so a value that cannot be stored fails before the write lock is taken.
        let mut upserts = Vec::new();
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
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(StoreError::db(ACTION))?;
        for chunk in chunks(&removes) {
            let mut q = QueryBuilder::<Sqlite>::new("DELETE FROM location WHERE id IN (");
            let mut ids = q.separated(", ");
            for id in chunk {
                ids.push_bind(*id);
            }
            q.push(")");
            q.build()
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db(ACTION))?;
        }
        let mut rows = upserts.into_iter();
        loop {
            let n = chunk_len(rows.len());
            if n == 0 {
                break;
            }
            let mut q = QueryBuilder::<Sqlite>::new(binding_row::UPSERT_PREFIX);
            q.push_values(rows.by_ref().take(n), |b, row| row.bind_tuple(b));
            q.push(binding_row::UPSERT_SUFFIX);
            q.build()
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db(ACTION))?;
        }
        tx.commit().await.map_err(StoreError::db(ACTION))
    }
}

/// Rows per statement: one of a few fixed sizes, so the prepared-statement cache holds a handful of statements
/// while a batch of any size needs few round trips to SQLite (each row binds 20 values; SQLite allows 32,766).
fn chunk_len(remaining: usize) -> usize {
    [256, 64, 16, 4, 1]
        .into_iter()
        .find(|&n| n <= remaining)
        .unwrap_or(0)
}

/// `items` split into pieces of [`chunk_len`] sizes.
fn chunks<T>(mut items: &[T]) -> impl Iterator<Item = &[T]> {
    std::iter::from_fn(move || {
        let n = chunk_len(items.len());
        (n > 0).then(|| {
            let (head, tail) = items.split_at(n);
            items = tail;
            head
        })
    })
}
