//! [`SubscriberStore`] for [`SqliteStore`].

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, ffi};

use super::SqliteStore;
use crate::{StoreError, Subscriber, SubscriberStore, SubscriberTotals};

/// The subscriber query with `$tail` (conditions and ordering) appended; rows are read by [`decode`].
macro_rules! select {
    ($tail:literal) => {
        concat!(
            "SELECT username, domain, password, ha1, ha1b, ha1_sha256 FROM subscriber ",
            $tail
        )
    };
}

/// Adds a subscriber; fails on a taken `(username, domain)`.
const INSERT: &str = "INSERT INTO subscriber (username, domain, password, ha1, ha1b, ha1_sha256) \
                      VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// Adds a subscriber, or replaces the credentials of the one with that `(username, domain)`.
const UPSERT: &str = "INSERT INTO subscriber (username, domain, password, ha1, ha1b, ha1_sha256) \
                      VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                      ON CONFLICT (username, domain) DO UPDATE SET password = excluded.password, \
                      ha1 = excluded.ha1, ha1b = excluded.ha1b, ha1_sha256 = excluded.ha1_sha256";

impl SubscriberStore for SqliteStore {
    async fn subscriber(
        &self,
        username: &str,
        domain: &str,
    ) -> Result<Option<Subscriber>, StoreError> {
        const ACTION: &str = "looking up a subscriber";
        let (username, domain) = (username.to_owned(), domain.to_owned());
        self.other
            .run(ACTION, move |conn| {
                conn.prepare_cached(select!("WHERE username = ?1 AND domain = ?2"))
                    .and_then(|mut select| select.query_row([username, domain], decode).optional())
                    .map_err(StoreError::db(ACTION))
            })
            .await
    }

    async fn all_subscribers(&self) -> Result<Vec<Subscriber>, StoreError> {
        self.list_subscribers(None).await
    }

    async fn subscriber_totals(&self) -> Result<SubscriberTotals, StoreError> {
        const ACTION: &str = "counting subscribers";
        self.other
            .run(ACTION, move |conn| {
                // length() of a blob counts bytes (of text, characters).
                conn.query_row(
                    "SELECT count(*), coalesce(sum(length(CAST(username AS BLOB)) \
                     + length(CAST(domain AS BLOB))), 0) FROM subscriber",
                    [],
                    |row| {
                        let count: i64 = row.get(0)?;
                        let name_bytes: i64 = row.get(1)?;
                        Ok(SubscriberTotals {
                            count: usize::try_from(count).unwrap_or(0),
                            name_bytes: usize::try_from(name_bytes).unwrap_or(0),
                        })
                    },
                )
                .map_err(StoreError::db(ACTION))
            })
            .await
    }

    async fn fold_subscribers<T, F>(&self, init: T, mut f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnMut(&mut T, Subscriber) + Send + 'static,
    {
        const ACTION: &str = "reading subscribers";
        self.other
            .run(ACTION, move |conn| {
                let mut stmt = conn.prepare(select!("")).map_err(StoreError::db(ACTION))?;
                let rows = stmt.query_map([], decode).map_err(StoreError::db(ACTION))?;
                let mut acc = init;
                for row in rows {
                    f(&mut acc, row.map_err(StoreError::db(ACTION))?);
                }
                Ok(acc)
            })
            .await
    }

    async fn add_subscriber(&self, s: &Subscriber) -> Result<(), StoreError> {
        let s = s.clone();
        self.other
            .run("adding a subscriber", move |conn| {
                let outcome = conn
                    .prepare_cached(INSERT)
                    .and_then(|mut insert| insert.execute(bind(&s)));
                match outcome {
                    Ok(_) => Ok(()),
                    Err(e) if is_unique_violation(&e) => Err(StoreError::AlreadyExists {
                        username: s.username,
                        domain: s.domain,
                    }),
                    Err(e) => Err(StoreError::db("adding a subscriber")(e)),
                }
            })
            .await
    }

    async fn remove_subscriber(&self, username: &str, domain: &str) -> Result<bool, StoreError> {
        const ACTION: &str = "removing a subscriber";
        let (username, domain) = (username.to_owned(), domain.to_owned());
        self.other
            .run(ACTION, move |conn| {
                conn.prepare_cached("DELETE FROM subscriber WHERE username = ?1 AND domain = ?2")
                    .and_then(|mut delete| delete.execute([username, domain]))
                    .map(|removed| removed > 0)
                    .map_err(StoreError::db(ACTION))
            })
            .await
    }

    async fn list_subscribers(&self, domain: Option<&str>) -> Result<Vec<Subscriber>, StoreError> {
        const ACTION: &str = "listing subscribers";
        let domain = domain.map(str::to_owned);
        self.other
            .run(ACTION, move |conn| {
                list(conn, domain.as_deref()).map_err(StoreError::db(ACTION))
            })
            .await
    }

    /// One `BEGIN IMMEDIATE` transaction running one cached upsert statement per subscriber.
    async fn import_subscribers(&self, subscribers: &[Subscriber]) -> Result<u64, StoreError> {
        const ACTION: &str = "importing subscribers";
        if subscribers.is_empty() {
            return Ok(0);
        }
        let subscribers = subscribers.to_vec();
        self.other
            .run(ACTION, move |conn| {
                import(conn, &subscribers).map_err(StoreError::db(ACTION))
            })
            .await
    }
}

/// Subscribers of `domain` (all when `None`), ordered by domain then username.
fn list(conn: &Connection, domain: Option<&str>) -> rusqlite::Result<Vec<Subscriber>> {
    match domain {
        Some(domain) => conn
            .prepare_cached(select!("WHERE domain = ?1 ORDER BY domain, username"))?
            .query_map([domain], decode)?
            .collect(),
        None => conn
            .prepare_cached(select!("ORDER BY domain, username"))?
            .query_map([], decode)?
            .collect(),
    }
}

/// Upserts every subscriber in one transaction; returns how many rows were written.
fn import(conn: &mut Connection, subscribers: &[Subscriber]) -> rusqlite::Result<u64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut written = 0;
    {
        let mut upsert = tx.prepare_cached(UPSERT)?;
        for s in subscribers {
            written += upsert.execute(bind(s))? as u64;
        }
    }
    tx.commit()?;
    Ok(written)
}

/// The parameters of [`INSERT`] and [`UPSERT`] for `s`; a missing password is stored as an empty string.
fn bind(s: &Subscriber) -> (&str, &str, &str, &str, &str, Option<&str>) {
    (
        &s.username,
        &s.domain,
        s.password.as_deref().unwrap_or_default(),
        &s.ha1,
        &s.ha1b,
        s.ha1_sha256.as_deref(),
    )
}

/// Whether `e` is a `UNIQUE` (or primary key) constraint failure.
fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

/// A subscriber from a row read with `select!`; an empty password reads as `None`, and NULLs a hand-made table may
/// hold read as empty.
fn decode(row: &Row<'_>) -> rusqlite::Result<Subscriber> {
    let text = |col: &str| -> rusqlite::Result<String> {
        Ok(row.get::<_, Option<String>>(col)?.unwrap_or_default())
    };
    let password = text("password")?;
    Ok(Subscriber {
        username: text("username")?,
        domain: text("domain")?,
        password: (!password.is_empty()).then_some(password),
        ha1: text("ha1")?,
        ha1b: text("ha1b")?,
        ha1_sha256: row.get("ha1_sha256")?,
    })
}
