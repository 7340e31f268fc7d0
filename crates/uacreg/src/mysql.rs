//! The MySQL/MariaDB backend: an `sqlx` pool of at most two connections, opened on first use.

use sqlx::mysql::{MySqlArguments, MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, MySql, Row};

use crate::UacRow;
use crate::error::UacTableError;
use crate::row::SqlValue;
use crate::table::{ACQUIRE_TIMEOUT, MAX_CONNECTIONS};
use crate::target::Target;

/// What to do when the table is missing.
pub(crate) const CREATE_REMEDY: &str = "create it with Kamailio's DDL for MySQL \
    (utils/kamctl/mysql/uac-create.sql, `kamdbctl create` or `kamdbctl add-tables uac`)";

/// A `uacreg` table in a MySQL or MariaDB database.
#[derive(Debug, Clone)]
pub(crate) struct MySqlTable {
    pool: MySqlPool,
}

impl MySqlTable {
    /// The table in the database `options` name; connections are opened on first use.
    pub(crate) fn new(options: MySqlConnectOptions) -> Self {
        let pool = MySqlPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options);
        Self { pool }
    }

    /// The table's column names in the connection's database (none when the table does not exist).
    pub(crate) async fn columns(&self, target: &Target) -> Result<Vec<String>, UacTableError> {
        sqlx::query_scalar::<_, String>(
            "SELECT CAST(column_name AS CHAR) FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = ?",
        )
        .bind(&target.table)
        .fetch_all(&self.pool)
        .await
        .map_err(|error| target.server_error("reading the columns of", error))
    }

    /// Every row `sql` (from [`select_rows`](crate::sql::select_rows)) returns.
    pub(crate) async fn select(
        &self,
        target: &Target,
        sql: String,
    ) -> Result<Vec<UacRow>, UacTableError> {
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await
            .map_err(|error| target.server_error("reading", error))?;
        rows.iter()
            .map(|row| UacRow::decode(|column| row.try_get(column), |column| row.try_get(column)))
            .collect::<Result<_, _>>()
            .map_err(|error| target.server_error("reading", error))
    }

    /// Runs the insert `sql` and returns the new row's id; `l_uuid` names the row in a duplicate error.
    pub(crate) async fn insert(
        &self,
        target: &Target,
        sql: String,
        values: &[SqlValue<'_>],
        l_uuid: &str,
    ) -> Result<i64, UacTableError> {
        let result = bind(sqlx::query(AssertSqlSafe(sql)), values)
            .execute(&self.pool)
            .await;
        match result {
            // Beyond i64::MAX only with a BIGINT UNSIGNED id past 2^63 rows.
            Ok(done) => Ok(i64::try_from(done.last_insert_id()).unwrap_or(i64::MAX)),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(target.duplicate(l_uuid))
            }
            Err(error) => Err(target.server_error("inserting into", error)),
        }
    }

    /// Runs the update or delete `sql` and returns how many rows it matched.
    pub(crate) async fn execute(
        &self,
        target: &Target,
        action: &'static str,
        sql: String,
        values: &[SqlValue<'_>],
    ) -> Result<u64, UacTableError> {
        bind(sqlx::query(AssertSqlSafe(sql)), values)
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected())
            .map_err(|error| target.server_error(action, error))
    }
}

/// `query` with `values` bound to its parameters in order.
fn bind<'q>(
    query: Query<'q, MySql, MySqlArguments>,
    values: &[SqlValue<'q>],
) -> Query<'q, MySql, MySqlArguments> {
    values.iter().fold(query, |query, value| match *value {
        SqlValue::Text(text) => query.bind(text),
        SqlValue::Int(int) => query.bind(int),
    })
}
