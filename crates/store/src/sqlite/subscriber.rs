//! [`SubscriberStore`] for [`SqliteStore`].

use std::sync::Arc;

use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row};

use super::SqliteStore;
use crate::{StoreError, Subscriber, SubscriberStore};

/// The subscriber query with `$tail` (conditions and ordering) appended; rows are read by [`decode`].
macro_rules! select {
    ($tail:literal) => {
        concat!(
            "SELECT username, domain, password, ha1, ha1b, ha1_sha256 FROM subscriber ",
            $tail
        )
    };
}

/// Rows per multi-row insert during an import (6 parameters each, well under SQLite's 32,766).
const IMPORT_CHUNK: usize = 500;

impl SubscriberStore for SqliteStore {
    async fn subscriber(
        &self,
        username: &str,
        domain: &str,
    ) -> Result<Option<Subscriber>, StoreError> {
        const ACTION: &str = "looking up a subscriber";
        sqlx::query(select!("WHERE username = ? AND domain = ?"))
            .bind(username)
            .bind(domain)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::db(ACTION))?
            .map(|row| decode(&row))
            .transpose()
            .map_err(StoreError::db(ACTION))
    }

    async fn all_subscribers(&self) -> Result<Vec<Subscriber>, StoreError> {
        self.list_subscribers(None).await
    }

    async fn add_subscriber(&self, s: &Subscriber) -> Result<(), StoreError> {
        let sql = "INSERT INTO subscriber (username, domain, password, ha1, ha1b, ha1_sha256) \
                   VALUES (?, ?, ?, ?, ?, ?)";
        let outcome = sqlx::query(sql)
            .bind(&s.username)
            .bind(&s.domain)
            .bind(s.password.as_deref().unwrap_or_default())
            .bind(&s.ha1)
            .bind(&s.ha1b)
            .bind(s.ha1_sha256.as_deref())
            .execute(&self.pool)
            .await;
        match outcome {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_database_error()
                    .is_some_and(|d| d.is_unique_violation()) =>
            {
                Err(StoreError::AlreadyExists {
                    username: s.username.clone(),
                    domain: s.domain.clone(),
                })
            }
            Err(e) => Err(StoreError::db("adding a subscriber")(e)),
        }
    }

    async fn remove_subscriber(&self, username: &str, domain: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM subscriber WHERE username = ? AND domain = ?")
            .bind(username)
            .bind(domain)
            .execute(&self.pool)
            .await
            .map_err(StoreError::db("removing a subscriber"))?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_subscribers(&self, domain: Option<&str>) -> Result<Vec<Subscriber>, StoreError> {
        const ACTION: &str = "listing subscribers";
        let rows = match domain {
            Some(domain) => {
                sqlx::query(select!("WHERE domain = ? ORDER BY domain, username"))
                    .bind(domain)
                    .fetch_all(&self.pool)
                    .await
            }
            None => {
                sqlx::query(select!("ORDER BY domain, username"))
                    .fetch_all(&self.pool)
                    .await
            }
        }
        .map_err(StoreError::db(ACTION))?;
        rows.iter()
            .map(decode)
            .collect::<Result<_, _>>()
            .map_err(StoreError::db(ACTION))
    }

    async fn import_subscribers(&self, subscribers: &[Subscriber]) -> Result<u64, StoreError> {
        const ACTION: &str = "importing subscribers";
        if subscribers.is_empty() {
            return Ok(0);
        }
        // Full chunks share one statement text, so the connection prepares it once and reuses it.
        let full_chunk: Arc<str> = import_sql(IMPORT_CHUNK).into();
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(StoreError::db(ACTION))?;
        let mut written = 0;
        for chunk in subscribers.chunks(IMPORT_CHUNK) {
            let sql = if chunk.len() == IMPORT_CHUNK {
                Arc::clone(&full_chunk)
            } else {
                import_sql(chunk.len()).into()
            };
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for s in chunk {
                query = query
                    .bind(&s.username)
                    .bind(&s.domain)
                    .bind(s.password.as_deref().unwrap_or_default())
                    .bind(&s.ha1)
                    .bind(&s.ha1b)
                    .bind(s.ha1_sha256.as_deref());
            }
            let done = query
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db(ACTION))?;
            written += done.rows_affected();
        }
        tx.commit().await.map_err(StoreError::db(ACTION))?;
        Ok(written)
    }
}

/// A multi-row upsert of `rows` subscribers.
fn import_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO subscriber (username, domain, password, ha1, ha1b, ha1_sha256) VALUES ",
    );
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str("(?, ?, ?, ?, ?, ?)");
    }
    sql.push_str(
        " ON CONFLICT (username, domain) DO UPDATE SET password = excluded.password, ha1 = excluded.ha1, \
         ha1b = excluded.ha1b, ha1_sha256 = excluded.ha1_sha256",
    );
    sql
}

/// A subscriber from a row read with `select!`; an empty password reads as `None`, and NULLs a hand-made table may
/// hold read as empty.
fn decode(row: &SqliteRow) -> Result<Subscriber, sqlx::Error> {
    let text = |col: &str| -> Result<String, sqlx::Error> {
        Ok(row.try_get::<Option<String>, _>(col)?.unwrap_or_default())
    };
    let password = text("password")?;
    Ok(Subscriber {
        username: text("username")?,
        domain: text("domain")?,
        password: (!password.is_empty()).then_some(password),
        ha1: text("ha1")?,
        ha1b: text("ha1b")?,
        ha1_sha256: row.try_get("ha1_sha256")?,
    })
}
