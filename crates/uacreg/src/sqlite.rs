//! The SQLite backend: rusqlite on Tokio's blocking pool, with a connection opened per operation (the table is
//! used rarely, and an idle connection would only hold the file open).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params_from_iter};

use crate::UacRow;
use crate::error::UacTableError;
use crate::row::SqlValue;
use crate::target::Target;

/// How long an operation waits for another connection's write lock (the server's store shares the file).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The `uacreg` layout [`SqliteTable::create_if_missing`] creates: Kamailio's SQLite DDL with every column up to
/// version 6. `{table}` stands for the table name.
const CREATE_V6: &str = r#"CREATE TABLE "{table}" (
    id INTEGER PRIMARY KEY NOT NULL,
    l_uuid VARCHAR(64) DEFAULT '' NOT NULL,
    l_username VARCHAR(64) DEFAULT '' NOT NULL,
    l_domain VARCHAR(64) DEFAULT '' NOT NULL,
    r_username VARCHAR(64) DEFAULT '' NOT NULL,
    r_domain VARCHAR(64) DEFAULT '' NOT NULL,
    realm VARCHAR(64) DEFAULT '' NOT NULL,
    auth_username VARCHAR(64) DEFAULT '' NOT NULL,
    auth_password VARCHAR(64) DEFAULT '' NOT NULL,
    auth_ha1 VARCHAR(128) DEFAULT '' NOT NULL,
    auth_proxy VARCHAR(255) DEFAULT '' NOT NULL,
    expires INTEGER DEFAULT 0 NOT NULL,
    flags INTEGER DEFAULT 0 NOT NULL,
    reg_delay INTEGER DEFAULT 0 NOT NULL,
    contact_addr VARCHAR(255) DEFAULT '' NOT NULL,
    socket VARCHAR(128) DEFAULT '' NOT NULL,
    contact_user VARCHAR(255) DEFAULT '' NOT NULL,
    CONSTRAINT "{table}_l_uuid_idx" UNIQUE (l_uuid)
)"#;

/// The table version Kamailio records for [`CREATE_V6`]'s layout.
const CREATED_VERSION: i64 = 6;

/// A `uacreg` table in an SQLite database file.
#[derive(Debug, Clone)]
pub(crate) struct SqliteTable {
    path: Arc<Path>,
}

impl SqliteTable {
    /// The table in the database file at `path` (nothing is opened yet).
    pub(crate) fn new(path: PathBuf) -> Self {
        Self { path: path.into() }
    }

    /// The table's column names (none when the table does not exist).
    pub(crate) async fn columns(&self, target: &Target) -> Result<Vec<String>, UacTableError> {
        let table = target.table.clone();
        self.run(target, "reading the columns of", false, move |conn| {
            let mut statement = conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
            let names = statement.query_map([table], |row| row.get(0))?;
            names.collect()
        })
        .await
    }

    /// Every row `sql` (from [`select_rows`](crate::sql::select_rows)) returns.
    pub(crate) async fn select(
        &self,
        target: &Target,
        sql: String,
    ) -> Result<Vec<UacRow>, UacTableError> {
        self.run(target, "reading", false, move |conn| {
            let mut statement = conn.prepare(&sql)?;
            let rows = statement.query_map([], |row| {
                UacRow::decode(|column| row.get(column), |column| row.get(column))
            })?;
            rows.collect()
        })
        .await
    }

    /// Runs the insert `sql` and returns the new row's id; `l_uuid` names the row in a duplicate error.
    pub(crate) async fn insert(
        &self,
        target: &Target,
        sql: String,
        values: &[SqlValue<'_>],
        l_uuid: &str,
    ) -> Result<i64, UacTableError> {
        let values = owned(values);
        let inserted = self
            .run(target, "inserting into", false, move |conn| {
                match conn.execute(&sql, params_from_iter(values)) {
                    Ok(_) => Ok(Some(conn.last_insert_rowid())),
                    Err(error) if is_unique_violation(&error) => Ok(None),
                    Err(error) => Err(error),
                }
            })
            .await?;
        inserted.ok_or_else(|| target.duplicate(l_uuid))
    }

    /// Runs the update or delete `sql` and returns how many rows it touched.
    pub(crate) async fn execute(
        &self,
        target: &Target,
        action: &'static str,
        sql: String,
        values: &[SqlValue<'_>],
    ) -> Result<u64, UacTableError> {
        let values = owned(values);
        let changed = self
            .run(target, action, false, move |conn| {
                conn.execute(&sql, params_from_iter(values))
            })
            .await?;
        Ok(u64::try_from(changed).unwrap_or(u64::MAX))
    }

    /// Creates the database file and the table (version 6 layout) unless they exist, and records the table's
    /// version in Kamailio's `version` table when the database has one. Returns whether the table was created.
    pub(crate) async fn create_if_missing(&self, target: &Target) -> Result<bool, UacTableError> {
        let table = target.table.clone();
        self.run(target, "creating", true, move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let exists = |name: &str| {
                tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
                    [name],
                    |row| row.get::<_, bool>(0),
                )
            };
            if exists(&table)? {
                return Ok(false);
            }
            let has_version_table = exists("version")?;
            tx.execute(&CREATE_V6.replace("{table}", &table), [])?;
            if has_version_table {
                tx.execute(
                    "INSERT INTO version (table_name, table_version) SELECT ?1, ?2 \
                     WHERE NOT EXISTS (SELECT 1 FROM version WHERE table_name = ?1)",
                    rusqlite::params![table, CREATED_VERSION],
                )?;
            }
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    /// Opens the database (creating the file only when `create`), and runs `work` on Tokio's blocking pool.
    async fn run<T: Send + 'static>(
        &self,
        target: &Target,
        action: &'static str,
        create: bool,
        work: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, UacTableError> {
        let path = Arc::clone(&self.path);
        let task_target = target.clone();
        let task = tokio::task::spawn_blocking(move || {
            if !create && !path.exists() {
                return Err(task_target.no_file());
            }
            let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            if create {
                flags |= OpenFlags::SQLITE_OPEN_CREATE;
            }
            let attempt = Connection::open_with_flags(&path, flags).and_then(|mut conn| {
                conn.busy_timeout(BUSY_TIMEOUT)?;
                work(&mut conn)
            });
            attempt.map_err(|error| task_target.sqlite_error(action, error))
        });
        task.await
            .map_err(|error| target.interrupted(action, error.to_string()))?
    }
}

/// The values as SQLite values, owned so they can move to the blocking pool.
fn owned(values: &[SqlValue<'_>]) -> Vec<Value> {
    values
        .iter()
        .map(|value| match *value {
            SqlValue::Text(text) => Value::Text(text.to_owned()),
            SqlValue::Int(int) => Value::Integer(int.into()),
        })
        .collect()
}

/// Whether `error` is a UNIQUE constraint violation (the unique `l_uuid`).
fn is_unique_violation(error: &rusqlite::Error) -> bool {
    error
        .sqlite_error()
        .is_some_and(|e| e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}
