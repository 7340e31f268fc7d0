//! The one error type of this crate.

/// Why an operation on a `uacreg` table failed. Every URL shown has its password replaced by `***`.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum UacTableError {
    /// The URL names no supported database.
    #[error(
        "unsupported uacreg database URL `{url}`: write sqlite:PATH (or a file path), \
         mysql://user[:password]@host[:port]/database or postgres://user[:password]@host[:port]/database"
    )]
    UnsupportedUrl {
        /// The URL.
        url: String,
    },
    /// The URL has a supported scheme but cannot be used.
    #[error("invalid uacreg database URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL.
        url: String,
        /// What is wrong with it and what to write instead.
        reason: String,
    },
    /// The table name is not a plain SQL identifier.
    #[error(
        "invalid uacreg table name {table:?}: use ASCII letters, digits and `_`, not starting with a digit, \
         at most 64 characters"
    )]
    InvalidTableName {
        /// The name as given.
        table: String,
    },
    /// The SQLite database file does not exist.
    #[error("SQLite database `{url}` does not exist: check the path (table `{table}`)")]
    NoDatabaseFile {
        /// The URL.
        url: String,
        /// The table.
        table: String,
    },
    /// The table does not exist.
    #[error("table `{table}` does not exist in `{url}`: {remedy}")]
    TableMissing {
        /// The URL.
        url: String,
        /// The table.
        table: String,
        /// How to create it.
        remedy: &'static str,
    },
    /// The table lacks a column every supported layout has.
    #[error(
        "table `{table}` in `{url}` has no column `{column}`: it is not a Kamailio uacreg table of version 3 \
         (Kamailio 5.0) or later; upgrade it with Kamailio's uacreg DDL"
    )]
    MissingColumn {
        /// The URL.
        url: String,
        /// The table.
        table: String,
        /// The missing column.
        column: &'static str,
    },
    /// A row sets a field whose column the table does not have.
    #[error(
        "cannot insert into table `{table}` at `{url}`: `{column}` is set but the table has no such column; \
         leave it empty or add the column (Kamailio's newer uacreg DDL has it)"
    )]
    AbsentColumn {
        /// The URL.
        url: String,
        /// The table.
        table: String,
        /// The column.
        column: &'static str,
    },
    /// An integer does not fit Kamailio's 32-bit `INT` column.
    #[error(
        "cannot write {column} = {value} to table `{table}` at `{url}`: the column is a 32-bit INT \
         (-2147483648 to 2147483647)"
    )]
    OutOfRange {
        /// The URL.
        url: String,
        /// The table.
        table: String,
        /// The column.
        column: &'static str,
        /// The value.
        value: i64,
    },
    /// An insert would repeat an `l_uuid`, which the table keeps unique.
    #[error(
        "cannot insert into table `{table}` at `{url}`: l_uuid {l_uuid:?} already exists; \
         remove that row first or choose another l_uuid"
    )]
    DuplicateUuid {
        /// The URL.
        url: String,
        /// The table.
        table: String,
        /// The repeated `l_uuid`.
        l_uuid: String,
    },
    /// SQLite failed.
    #[error("{action} table `{table}` in `{url}` failed: {source}")]
    Sqlite {
        /// The URL.
        url: String,
        /// The table.
        table: String,
        /// What was being done, like `reading`.
        action: &'static str,
        /// SQLite's reason.
        source: Box<rusqlite::Error>,
    },
    /// MySQL/MariaDB or PostgreSQL failed.
    #[error("{action} table `{table}` at `{url}` failed: {source}{hint}")]
    Server {
        /// The URL.
        url: String,
        /// The table.
        table: String,
        /// What was being done, like `reading`.
        action: &'static str,
        /// What to check, prefixed with `; ` (empty when there is no general advice).
        hint: &'static str,
        /// The driver's reason.
        source: Box<sqlx::Error>,
    },
    /// The blocking task running an SQLite operation did not finish (the runtime is shutting down).
    #[error("{action} table `{table}` in `{url}` was interrupted: {reason}")]
    Interrupted {
        /// The URL.
        url: String,
        /// The table.
        table: String,
        /// What was being done.
        action: &'static str,
        /// Why it stopped.
        reason: String,
    },
}
