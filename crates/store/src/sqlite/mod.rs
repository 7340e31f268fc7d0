//! The SQLite store: one database file (or an in-memory database) holding both tables.

mod binding_row;
mod location;
mod schema;
mod subscriber;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::StoreError;
use crate::error::redact_url;

/// The URL forms [`SqliteStore::open`] accepts, for error messages.
pub(crate) const SQLITE_URL_FORMS: &str =
    "sqlite://relative/path.db, sqlite:///absolute/path.db and sqlite::memory:";

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

    fn pragma(self) -> SqliteSynchronous {
        match self {
            Self::Normal => SqliteSynchronous::Normal,
            Self::Full => SqliteSynchronous::Full,
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
    /// Connections in the pool (readers run in parallel; writers take turns). An in-memory database always uses one.
    pub max_connections: u32,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            synchronous: Synchronous::Normal,
            busy_timeout: Duration::from_secs(5),
            max_connections: 4,
        }
    }
}

/// Location and subscriber storage in SQLite, in WAL mode.
///
/// Implements [`LocationStore`](crate::LocationStore) and [`SubscriberStore`](crate::SubscriberStore). Cloning is
/// cheap and shares the connection pool.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating the file, its parent directory and the tables if missing) the database at `url`: one of
    /// `sqlite://relative/path.db`, `sqlite:///absolute/path.db` or `sqlite::memory:`.
    ///
    /// An existing Kamailio `subscriber` table is used as is, after adding the `ha1_sha256` column.
    pub async fn open(url: &str, opts: &SqliteOptions) -> Result<Self, StoreError> {
        let target = Target::prepare(url)?;
        let connect = target
            .options
            .busy_timeout(opts.busy_timeout)
            .synchronous(opts.synchronous.pragma())
            .foreign_keys(false);
        let pool = if target.in_memory {
            // The database lives as long as a connection to it: keep exactly one, forever.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(connect)
                .await
        } else {
            let connect = connect
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal);
            SqlitePoolOptions::new()
                .max_connections(opts.max_connections.max(1))
                .connect_with(connect)
                .await
        }
        .map_err(|source| StoreError::Open {
            url: redact_url(url),
            source: Arc::new(source),
        })?;
        schema::prepare(&pool).await?;
        tracing::info!(
            url = %redact_url(url),
            synchronous = opts.synchronous.as_str(),
            "opened SQLite store"
        );
        Ok(Self { pool })
    }

    /// Closes every connection, waiting for those in use to be returned. Later operations fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// What a `sqlite:` URL points at.
struct Target {
    options: SqliteConnectOptions,
    in_memory: bool,
}

impl Target {
    /// Checks the URL form and creates the database file's parent directory.
    fn prepare(url: &str) -> Result<Self, StoreError> {
        let Some(rest) = url.strip_prefix("sqlite:") else {
            return Err(StoreError::UnsupportedUrl {
                url: redact_url(url),
                supported: SQLITE_URL_FORMS,
            });
        };
        let invalid = |reason: &str| StoreError::InvalidUrl {
            url: redact_url(url),
            reason: reason.to_owned(),
        };
        let path = rest.strip_prefix("//").unwrap_or(rest);
        if path.contains('?') {
            return Err(invalid(
                "query parameters are not supported (percent-encode a `?` in the file name as %3F)",
            ));
        }
        if path == ":memory:" {
            let options = SqliteConnectOptions::from_str("sqlite::memory:")
                .map_err(|e| invalid(&e.to_string()))?;
            return Ok(Self {
                options,
                in_memory: true,
            });
        }
        if path.is_empty() {
            return Err(invalid("it names no database file"));
        }
        let options = SqliteConnectOptions::from_str(url).map_err(|e| invalid(&e.to_string()))?;
        create_parent_dir(options.get_filename())?;
        Ok(Self {
            options,
            in_memory: false,
        })
    }
}

/// Creates the directory that will hold `file`, if it is missing.
fn create_parent_dir(file: &Path) -> Result<(), StoreError> {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_owned(),
                source: Arc::new(source),
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pragma_text(store: &SqliteStore, name: &str) -> String {
        let sql = sqlx::AssertSqlSafe(format!("PRAGMA {name}"));
        sqlx::query_scalar::<_, String>(sql)
            .fetch_one(&store.pool)
            .await
            .unwrap()
    }

    async fn pragma_int(store: &SqliteStore, name: &str) -> i64 {
        let sql = sqlx::AssertSqlSafe(format!("PRAGMA {name}"));
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(&store.pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn file_databases_use_wal_and_the_chosen_synchronous_level() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/a/b/normal.db", dir.path().display());
        let store = SqliteStore::open(&url, &SqliteOptions::default())
            .await
            .unwrap();
        assert_eq!(pragma_text(&store, "journal_mode").await, "wal");
        assert_eq!(pragma_int(&store, "synchronous").await, 1);
        assert_eq!(pragma_int(&store, "busy_timeout").await, 5000);
        store.close().await;
        assert!(dir.path().join("a/b/normal.db").is_file());

        let opts = SqliteOptions {
            synchronous: Synchronous::Full,
            busy_timeout: Duration::from_millis(1500),
            ..SqliteOptions::default()
        };
        let url = format!("sqlite://{}/full.db", dir.path().display());
        let store = SqliteStore::open(&url, &opts).await.unwrap();
        assert_eq!(pragma_int(&store, "synchronous").await, 2);
        assert_eq!(pragma_int(&store, "busy_timeout").await, 1500);
    }

    #[test]
    fn synchronous_modes_parse() {
        assert_eq!(Synchronous::parse("NORMAL"), Some(Synchronous::Normal));
        assert_eq!(Synchronous::parse("full"), Some(Synchronous::Full));
        assert_eq!(Synchronous::parse("off"), None);
    }
}
