//! The SQLite store: one database file (or an in-memory database) holding both tables.
//!
//! # Connections and threads
//! A file database is used through two connections, each behind a mutex so that one thread at a time uses it:
//! - the **write connection** applies location changes. [`GroupCommit`](crate::GroupCommit)'s writer thread uses it
//!   through [`BlockingLocationStore::apply_blocking`](crate::BlockingLocationStore::apply_blocking), so in the
//!   server it is in practice that thread's alone, and a batch runs on it with no further hop. The async
//!   [`LocationStore::apply`](crate::LocationStore::apply) runs the same code on Tokio's blocking pool and takes its
//!   turn on the mutex.
//! - the **other connection** serves everything else (loading bindings, subscriber reads and writes) on Tokio's
//!   blocking pool. None of that is on the hot path.
//!
//! An in-memory database lives only as long as its connection, so there both roles share one connection.
//!
//! # The location journal
//! Location changes are appended to `location_journal` and folded into `location` later, by the writer between
//! batches (see the `journal` module for how and why). [`SqliteStore::open`] folds whatever an earlier run left
//! (a crash, say) before it returns, and [`SqliteStore::close`] folds before closing; loading bindings still applies
//! any journal rows found on top of `location`, so it is exact whenever it runs.
//!
//! Every multi-statement write begins with `BEGIN IMMEDIATE`: it takes SQLite's write lock before reading anything,
//! so two connections (or processes) writing at once wait for each other within the busy timeout instead of failing
//! to upgrade a read transaction. Statements are prepared once per connection and cached.

mod binding_row;
mod connection;
mod journal;
mod journal_codec;
mod location;
mod schema;
mod subscriber;
mod target;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use connection::SharedConnection;
use target::Target;

use crate::StoreError;
use crate::error::redact_url;

pub(crate) use target::SQLITE_URL_FORMS;

/// How hard SQLite works to make a commit survive failures (`PRAGMA synchronous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// A commit survives the process being killed (`kill -9`, a crash) but the last commits may be lost on power loss
    /// or an operating-system crash. Cheap: the WAL is synced only at checkpoints.
    #[default]
    Normal,
    /// A commit also survives power loss: the WAL is synced at every commit.
    Full,
}

impl Synchronous {
    /// Parses `normal` or `full`, case-insensitively.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Normal, Self::Full]
            .into_iter()
            .find(|mode| mode.as_str().eq_ignore_ascii_case(s))
    }

    /// Lower-case name, as in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Full => "full",
        }
    }
}

/// Tuning of a [`SqliteStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// Durability of each commit; see [`Synchronous`].
    pub synchronous: Synchronous,
    /// How long a statement waits for another connection's (or process's) write lock before failing.
    pub busy_timeout: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            synchronous: Synchronous::Normal,
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// Location and subscriber storage in SQLite, in WAL mode.
///
/// Implements [`LocationStore`](crate::LocationStore), [`BlockingLocationStore`](crate::BlockingLocationStore)
/// and [`SubscriberStore`](crate::SubscriberStore). Cloning is cheap and shares the connections.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Applies location changes.
    writer: Arc<SharedConnection>,
    /// Everything else; the same connection as `writer` for an in-memory database.
    other: Arc<SharedConnection>,
    /// The journal fold the writer advances between batches; used only with `writer` held.
    fold: Arc<Mutex<journal::Fold>>,
}

impl SqliteStore {
    /// Opens (creating the file, its parent directory and the tables if missing) the database at `url`: one of
    /// `sqlite://relative/path.db`, `sqlite:///absolute/path.db` or `sqlite::memory:`. A `?` or `#` in a file name is
    /// written percent-encoded (`%3F`, `%23`).
    ///
    /// An existing Kamailio `subscriber` table is used as is, after adding the `ha1_sha256` column. Location changes
    /// left in the journal by an earlier run are folded into `location` before this returns.
    pub async fn open(url: &str, opts: &SqliteOptions) -> Result<Self, StoreError> {
        let target = Target::prepare(url)?;
        let redacted = redact_url(url);
        let opts_for_open = opts.clone();
        let store = blocking("opening the database", move || {
            let open = || {
                connection::open(&target, &opts_for_open).map_err(|source| StoreError::Open {
                    url: redacted.clone(),
                    source: Arc::new(source),
                })
            };
            let mut writer = open()?;
            schema::prepare(&mut writer)?;
            fold_journal(&mut writer)?;
            let fold = journal::Fold::new(&writer).map_err(StoreError::db(FOLD))?;
            let fold = Arc::new(Mutex::new(fold));
            let writer = Arc::new(SharedConnection::new(writer));
            let other = match &target {
                Target::Memory => Arc::clone(&writer),
                Target::File(_) => Arc::new(SharedConnection::new(open()?)),
            };
            Ok(Self {
                writer,
                other,
                fold,
            })
        })
        .await?;
        tracing::info!(
            url = %redact_url(url),
            synchronous = opts.synchronous.as_str(),
            "opened SQLite store"
        );
        Ok(store)
    }

    /// Folds the location journal into `location`, then closes both connections, waiting for a statement in
    /// progress to finish. Later operations fail with [`StoreError::Database`].
    pub async fn close(&self) {
        let (writer, other) = (Arc::clone(&self.writer), Arc::clone(&self.other));
        let closed = blocking("closing the database", move || {
            writer.close_after(|conn| {
                if let Err(e) = fold_journal(conn) {
                    tracing::warn!(error = %e, "folding the location journal before closing failed");
                }
            });
            other.close();
            Ok(())
        })
        .await;
        if let Err(e) = closed {
            tracing::warn!(error = %e, "closing the SQLite store failed");
        }
    }

    /// Folds the whole location journal into `location`, on the write connection, in place of any fold under way.
    fn fold_journal(&self) -> Result<(), StoreError> {
        self.writer.with(FOLD, |conn| {
            let mut fold = self.fold.lock().unwrap_or_else(PoisonError::into_inner);
            fold_journal(conn)?;
            *fold = journal::Fold::new(conn).map_err(StoreError::db(FOLD))?;
            Ok(())
        })
    }
}

/// What folding the whole journal reports when it fails.
const FOLD: &str = "folding the location journal";

/// Folds the whole location journal into `location` on `conn`, logging how much there was.
fn fold_journal(conn: &mut rusqlite::Connection) -> Result<(), StoreError> {
    let started = std::time::Instant::now();
    let folded = journal::fold_all(conn).map_err(StoreError::db(FOLD))?;
    if folded > 0 {
        tracing::info!(folded, elapsed = ?started.elapsed(), "folded the location journal");
    }
    Ok(())
}

/// Runs `f` on Tokio's blocking pool, so SQLite's blocking calls never stall an async worker thread.
async fn blocking<T: Send + 'static>(
    action: &'static str,
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(outcome) => outcome,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Only a runtime that is shutting down cancels a blocking task, and then before it started.
        Err(_) => Err(StoreError::db(action)(connection::misuse(
            "the async runtime is shutting down",
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pragma<T: rusqlite::types::FromSql>(conn: &SharedConnection, name: &str) -> T {
        conn.with("reading a pragma", |c| {
            c.pragma_query_value(None, name, |row| row.get(0))
                .map_err(StoreError::db("reading a pragma"))
        })
        .unwrap()
    }

    /// Checks both connections of `store`.
    fn check(store: &SqliteStore, synchronous: i64, busy_timeout: i64) {
        for conn in [&store.writer, &store.other] {
            assert_eq!(pragma::<String>(conn, "journal_mode"), "wal");
            assert_eq!(pragma::<i64>(conn, "synchronous"), synchronous);
            assert_eq!(pragma::<i64>(conn, "busy_timeout"), busy_timeout);
            // A small page cache, and no memory mapping.
            assert_eq!(pragma::<i64>(conn, "cache_size"), -connection::CACHE_KIB);
            assert_eq!(pragma::<i64>(conn, "mmap_size"), 0);
        }
        assert!(!Arc::ptr_eq(&store.writer, &store.other));
    }

    #[tokio::test]
    async fn file_databases_use_wal_and_the_chosen_synchronous_level() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/a/b/normal.db", dir.path().display());
        let store = SqliteStore::open(&url, &SqliteOptions::default())
            .await
            .unwrap();
        check(&store, 1, 5000);
        store.close().await;
        assert!(dir.path().join("a/b/normal.db").is_file());

        let opts = SqliteOptions {
            synchronous: Synchronous::Full,
            busy_timeout: Duration::from_millis(1500),
        };
        let url = format!("sqlite://{}/full.db", dir.path().display());
        let store = SqliteStore::open(&url, &opts).await.unwrap();
        check(&store, 2, 1500);
    }

    #[tokio::test]
    async fn an_in_memory_database_has_one_connection() {
        let store = SqliteStore::open("sqlite::memory:", &SqliteOptions::default())
            .await
            .unwrap();
        assert!(Arc::ptr_eq(&store.writer, &store.other));
        assert_eq!(pragma::<String>(&store.other, "journal_mode"), "memory");
    }

    #[tokio::test]
    async fn a_closed_store_reports_a_database_error() {
        use crate::SubscriberStore;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/closed.db", dir.path().display());
        let store = SqliteStore::open(&url, &SqliteOptions::default())
            .await
            .unwrap();
        store.close().await;
        let err = store.all_subscribers().await.unwrap_err();
        assert!(matches!(err, StoreError::Database { .. }), "{err}");
        assert!(
            err.to_string().contains("the store has been closed"),
            "{err}"
        );
    }

    #[test]
    fn synchronous_modes_parse() {
        assert_eq!(Synchronous::parse("NORMAL"), Some(Synchronous::Normal));
        assert_eq!(Synchronous::parse("full"), Some(Synchronous::Full));
        assert_eq!(Synchronous::parse("off"), None);
    }
}
