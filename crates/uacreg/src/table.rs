//! [`UacTable`]: a `uacreg` table at a database URL.

use std::fmt;
use std::time::Duration;

use crate::db_url::{DbUrl, redact};
use crate::error::UacTableError;
use crate::mysql::{self, MySqlTable};
use crate::postgres::{self, PostgresTable};
use crate::row::{SqlValue, UacRow, int_column};
use crate::schema::TableSchema;
use crate::sql::{self, Dialect};
use crate::sqlite::SqliteTable;
use crate::target::Target;

/// The table name Kamailio's `uac` module uses by default (`reg_db_table`).
pub const DEFAULT_TABLE: &str = "uacreg";

/// At most this many connections to a MySQL/MariaDB or PostgreSQL server.
pub(crate) const MAX_CONNECTIONS: u32 = 2;

/// How long an operation waits for a server connection before failing.
pub(crate) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// What to do when the embedded SQLite table is missing.
const SQLITE_REMEDY: &str =
    "create it with Kamailio's DDL for SQLite (utils/kamctl/db_sqlite/uac-create.sql)";

/// A `uacreg` table at a database URL.
///
/// The URL is `sqlite:PATH` or a plain file path (SQLite), `mysql://user[:password]@host[:port]/database`
/// (MySQL/MariaDB), or `postgres://` / `postgresql://user[:password]@host[:port]/database` (PostgreSQL, the
/// table in the connection's current schema). Every operation reads the table's columns first, so a table
/// upgraded while lamppost runs is picked up by the next operation.
pub struct UacTable {
    target: Target,
    backend: Backend,
}

/// The database holding the table.
enum Backend {
    Sqlite(SqliteTable),
    MySql(MySqlTable),
    Postgres(PostgresTable),
}

impl UacTable {
    /// The table named `table` (like [`DEFAULT_TABLE`]) in the database at `url`.
    ///
    /// Checks the URL and the name only: nothing is opened or connected until the first operation, so a server
    /// that is down shows up as that operation's error.
    pub async fn open(url: &str, table: &str) -> Result<Self, UacTableError> {
        if !sql::is_plain_identifier(table) {
            return Err(UacTableError::InvalidTableName {
                table: table.to_owned(),
            });
        }
        let backend = match DbUrl::parse(url)? {
            DbUrl::Sqlite(path) => Backend::Sqlite(SqliteTable::new(path)),
            DbUrl::MySql(options) => Backend::MySql(MySqlTable::new(options)),
            DbUrl::Postgres(options) => Backend::Postgres(PostgresTable::new(options)),
        };
        Ok(Self {
            target: Target {
                url: redact(url),
                table: table.to_owned(),
            },
            backend,
        })
    }

    /// Which optional columns the table has. Fails when the table is missing or lacks a required column.
    pub async fn schema(&self) -> Result<TableSchema, UacTableError> {
        let columns = match &self.backend {
            Backend::Sqlite(db) => db.columns(&self.target).await?,
            Backend::MySql(db) => db.columns(&self.target).await?,
            Backend::Postgres(db) => db.columns(&self.target).await?,
        };
        TableSchema::detect(&columns)
            .map_err(|problem| self.target.schema_error(problem, self.create_remedy()))
    }

    /// Every row, ordered by id; columns the table lacks read as `""`.
    pub async fn load(&self) -> Result<Vec<UacRow>, UacTableError> {
        let schema = self.schema().await?;
        let sql = sql::select_rows(self.dialect(), &self.target.table, &schema);
        let rows = match &self.backend {
            Backend::Sqlite(db) => db.select(&self.target, sql).await?,
            Backend::MySql(db) => db.select(&self.target, sql).await?,
            Backend::Postgres(db) => db.select(&self.target, sql).await?,
        };
        tracing::debug!(table = %self.target.table, url = %self.target.url, rows = rows.len(), "loaded uacreg");
        Ok(rows)
    }

    /// Inserts `row` (its `id` is ignored) and returns the id the database gave it.
    ///
    /// Fails when a field is set whose column the table lacks, when an integer does not fit a 32-bit `INT`, and
    /// when the `l_uuid` is already there.
    pub async fn insert(&self, row: &UacRow) -> Result<i64, UacTableError> {
        let schema = self.schema().await?;
        let values = row
            .insert_values(&schema)
            .map_err(|problem| self.target.row_error(problem))?;
        let (columns, values): (Vec<&str>, Vec<SqlValue<'_>>) = values.into_iter().unzip();
        let sql = sql::insert_row(self.dialect(), &self.target.table, &columns);
        let (target, l_uuid) = (&self.target, row.l_uuid.as_str());
        match &self.backend {
            Backend::Sqlite(db) => db.insert(target, sql, &values, l_uuid).await,
            Backend::MySql(db) => db.insert(target, sql, &values, l_uuid).await,
            Backend::Postgres(db) => db.insert(target, sql, &values, l_uuid).await,
        }
    }

    /// Deletes the row with `l_uuid`; `false` when there was none.
    pub async fn remove(&self, l_uuid: &str) -> Result<bool, UacTableError> {
        self.schema().await?;
        let sql = sql::delete_by_uuid(self.dialect(), &self.target.table);
        self.execute("deleting from", sql, &[SqlValue::Text(l_uuid)])
            .await
    }

    /// Sets the `flags` of the row with `l_uuid` (1 disables the registration, 0 enables it); `false` when there is
    /// no such row.
    pub async fn set_flags(&self, l_uuid: &str, flags: i64) -> Result<bool, UacTableError> {
        let flags = int_column("flags", flags).map_err(|problem| self.target.row_error(problem))?;
        self.schema().await?;
        let sql = sql::update_flags(self.dialect(), &self.target.table);
        self.execute(
            "updating",
            sql,
            &[SqlValue::Int(flags), SqlValue::Text(l_uuid)],
        )
        .await
    }

    /// Makes sure the table exists.
    ///
    /// With SQLite (lamppost's embedded default) a missing database file and table are created, the table with
    /// every column of Kamailio's version 6 layout, and version 6 is recorded in Kamailio's `version` table when
    /// the database has one; an existing table is left as it is. With MySQL/MariaDB and PostgreSQL nothing is
    /// created: a missing table is an error saying to create it with Kamailio's DDL.
    pub async fn create_if_missing(&self) -> Result<(), UacTableError> {
        match &self.backend {
            Backend::Sqlite(db) => {
                if db.create_if_missing(&self.target).await? {
                    tracing::info!(table = %self.target.table, url = %self.target.url, "created uacreg table");
                }
                Ok(())
            }
            Backend::MySql(_) | Backend::Postgres(_) => self.schema().await.map(drop),
        }
    }

    /// The URL with any password replaced by `***`, for logs and status.
    pub fn describe(&self) -> String {
        self.target.url.clone()
    }

    /// Runs an update or delete and tells whether it matched a row.
    async fn execute(
        &self,
        action: &'static str,
        sql: String,
        values: &[SqlValue<'_>],
    ) -> Result<bool, UacTableError> {
        let target = &self.target;
        let changed = match &self.backend {
            Backend::Sqlite(db) => db.execute(target, action, sql, values).await?,
            Backend::MySql(db) => db.execute(target, action, sql, values).await?,
            Backend::Postgres(db) => db.execute(target, action, sql, values).await?,
        };
        Ok(changed > 0)
    }

    /// The backend's SQL dialect.
    fn dialect(&self) -> Dialect {
        match self.backend {
            Backend::Sqlite(_) => Dialect::Sqlite,
            Backend::MySql(_) => Dialect::MySql,
            Backend::Postgres(_) => Dialect::Postgres,
        }
    }

    /// What to do when the table is missing.
    fn create_remedy(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => SQLITE_REMEDY,
            Backend::MySql(_) => mysql::CREATE_REMEDY,
            Backend::Postgres(_) => postgres::CREATE_REMEDY,
        }
    }
}

impl fmt::Debug for UacTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UacTable")
            .field("url", &self.target.url)
            .field("table", &self.target.table)
            .finish()
    }
}
