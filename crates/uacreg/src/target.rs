//! The table an operation works on, as errors name it, and the errors built from it.

use crate::error::UacTableError;
use crate::row::RowProblem;
use crate::schema::SchemaProblem;

/// A table at a database: the URL (password replaced by `***`) and the table name.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The URL without its password.
    pub(crate) url: String,
    /// The table name, a plain identifier.
    pub(crate) table: String,
}

impl Target {
    /// The error for a table whose columns do not make a `uacreg` table; `remedy` says how to create a missing one.
    pub(crate) fn schema_error(
        &self,
        problem: SchemaProblem,
        remedy: &'static str,
    ) -> UacTableError {
        match problem {
            SchemaProblem::NoTable => UacTableError::TableMissing {
                url: self.url.clone(),
                table: self.table.clone(),
                remedy,
            },
            SchemaProblem::MissingColumn(column) => UacTableError::MissingColumn {
                url: self.url.clone(),
                table: self.table.clone(),
                column,
            },
        }
    }

    /// The error for a value that cannot be written to this table.
    pub(crate) fn row_error(&self, problem: RowProblem) -> UacTableError {
        match problem {
            RowProblem::AbsentColumn(column) => UacTableError::AbsentColumn {
                url: self.url.clone(),
                table: self.table.clone(),
                column,
            },
            RowProblem::OutOfRange(column, value) => UacTableError::OutOfRange {
                url: self.url.clone(),
                table: self.table.clone(),
                column,
                value,
            },
        }
    }

    /// The error for an insert repeating `l_uuid`.
    pub(crate) fn duplicate(&self, l_uuid: &str) -> UacTableError {
        UacTableError::DuplicateUuid {
            url: self.url.clone(),
            table: self.table.clone(),
            l_uuid: l_uuid.to_owned(),
        }
    }

    /// The error for a missing SQLite database file.
    pub(crate) fn no_file(&self) -> UacTableError {
        UacTableError::NoDatabaseFile {
            url: self.url.clone(),
            table: self.table.clone(),
        }
    }

    /// The error for SQLite failing while doing `action`.
    pub(crate) fn sqlite_error(
        &self,
        action: &'static str,
        source: rusqlite::Error,
    ) -> UacTableError {
        UacTableError::Sqlite {
            url: self.url.clone(),
            table: self.table.clone(),
            action,
            source: Box::new(source),
        }
    }

    /// The error for a database server failing while doing `action`, with advice by kind of failure.
    pub(crate) fn server_error(&self, action: &'static str, source: sqlx::Error) -> UacTableError {
        let hint = match &source {
            sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut => {
                "; check that the database server is running and reachable, and the URL's host and port"
            }
            sqlx::Error::Database(_) => {
                "; check the database user's permissions and the table's layout"
            }
            _ => "",
        };
        UacTableError::Server {
            url: self.url.clone(),
            table: self.table.clone(),
            action,
            hint,
            source: Box::new(source),
        }
    }

    /// The error for a blocking task that did not finish.
    pub(crate) fn interrupted(&self, action: &'static str, reason: String) -> UacTableError {
        UacTableError::Interrupted {
            url: self.url.clone(),
            table: self.table.clone(),
            action,
            reason,
        }
    }
}
