//! Table creation and the checks that let an existing (Kamailio-made) database be used.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::StoreError;

/// Version recorded for `subscriber`: Kamailio's current one, since our table is Kamailio's plus a nullable column.
const SUBSCRIBER_VERSION: i64 = 7;

/// Version recorded for `location`: lamppost's own layout, which Kamailio's usrloc (version 9) cannot read, and the
/// other way round.
const LOCATION_VERSION: i64 = 1;

/// Kamailio's `version` table (its optional `id` column is not needed).
const CREATE_VERSION: &str = "CREATE TABLE IF NOT EXISTS version (
    table_name VARCHAR(32) NOT NULL,
    table_version INTEGER DEFAULT 0 NOT NULL,
    CONSTRAINT version_table_name_idx UNIQUE (table_name)
)";

/// Kamailio's `subscriber` table plus `ha1_sha256`.
const CREATE_SUBSCRIBER: &str = "CREATE TABLE IF NOT EXISTS subscriber (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username VARCHAR(64) NOT NULL DEFAULT '',
    domain VARCHAR(64) NOT NULL DEFAULT '',
    password VARCHAR(64) NOT NULL DEFAULT '',
    ha1 VARCHAR(128) NOT NULL DEFAULT '',
    ha1b VARCHAR(128) NOT NULL DEFAULT '',
    ha1_sha256 VARCHAR(128) DEFAULT NULL,
    CONSTRAINT subscriber_account_idx UNIQUE (username, domain)
)";

const CREATE_SUBSCRIBER_USERNAME_INDEX: &str =
    "CREATE INDEX IF NOT EXISTS subscriber_username_idx ON subscriber (username)";

/// One row per binding; Kamailio's column names where the concept exists.
const CREATE_LOCATION: &str = "CREATE TABLE IF NOT EXISTS location (
    id INTEGER PRIMARY KEY NOT NULL,
    username VARCHAR(64) NOT NULL DEFAULT '',
    domain VARCHAR(64) DEFAULT NULL,
    contact VARCHAR(512) NOT NULL DEFAULT '',
    params TEXT NOT NULL DEFAULT '',
    received VARCHAR(128) NOT NULL,
    path VARCHAR(512) DEFAULT NULL,
    expires INTEGER NOT NULL,
    q REAL DEFAULT NULL,
    callid VARCHAR(255) NOT NULL DEFAULT '',
    cseq INTEGER NOT NULL DEFAULT 0,
    last_modified INTEGER NOT NULL,
    registered_at INTEGER NOT NULL,
    user_agent VARCHAR(255) NOT NULL DEFAULT '',
    socket VARCHAR(64) NOT NULL,
    transport VARCHAR(8) NOT NULL,
    connection_id INTEGER DEFAULT NULL,
    instance VARCHAR(255) DEFAULT NULL,
    reg_id INTEGER DEFAULT NULL,
    branch_hash INTEGER NOT NULL DEFAULT 0
)";

const CREATE_LOCATION_ACCOUNT_INDEX: &str =
    "CREATE INDEX IF NOT EXISTS location_account_idx ON location (username, domain)";

/// Binding changes not yet folded into `location`, in the order they were committed; see the `journal` module.
const CREATE_LOCATION_JOURNAL: &str = "CREATE TABLE IF NOT EXISTS location_journal (
    seq INTEGER PRIMARY KEY,
    change BLOB NOT NULL
)";

/// The second journal table, which the journal's rows move to (by renaming) while they are folded.
const CREATE_LOCATION_JOURNAL_FOLDING: &str =
    "CREATE TABLE IF NOT EXISTS location_journal_folding (
    seq INTEGER PRIMARY KEY,
    change BLOB NOT NULL
)";

/// What to do about a `subscriber` table that lacks Kamailio's columns.
const SUBSCRIBER_HINT: &str =
    "lamppost needs Kamailio's subscriber columns; add them or give lamppost its own database file";

/// What to do about a `location` table that is not lamppost's.
const LOCATION_HINT: &str = "it may be Kamailio's usrloc table, which lamppost cannot share; give lamppost its own database file";

/// Columns this crate reads and writes in `subscriber` (besides `ha1_sha256`, which it adds when missing).
const SUBSCRIBER_COLUMNS: [&str; 5] = ["username", "domain", "password", "ha1", "ha1b"];

/// Columns this crate reads and writes in `location`.
const LOCATION_COLUMNS: [&str; 20] = [
    "id",
    "username",
    "domain",
    "contact",
    "params",
    "received",
    "path",
    "expires",
    "q",
    "callid",
    "cseq",
    "last_modified",
    "registered_at",
    "user_agent",
    "socket",
    "transport",
    "connection_id",
    "instance",
    "reg_id",
    "branch_hash",
];

/// Creates what is missing and checks what exists, in one write transaction.
pub(super) fn prepare(conn: &mut Connection) -> Result<(), StoreError> {
    const ACTION: &str = "preparing the tables";
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(StoreError::db(ACTION))?;
    tx.execute_batch(CREATE_VERSION)
        .and_then(|()| tx.execute_batch(CREATE_SUBSCRIBER))
        .and_then(|()| tx.execute_batch(CREATE_SUBSCRIBER_USERNAME_INDEX))
        .map_err(StoreError::db(ACTION))?;
    let subscriber = columns(&tx, "subscriber")?;
    require_columns(
        "subscriber",
        &subscriber,
        &SUBSCRIBER_COLUMNS,
        SUBSCRIBER_HINT,
    )?;
    if !subscriber.iter().any(|c| c == "ha1_sha256") {
        tx.execute_batch("ALTER TABLE subscriber ADD COLUMN ha1_sha256 VARCHAR(128) DEFAULT NULL")
            .map_err(StoreError::db(ACTION))?;
        tracing::info!("added column ha1_sha256 to the existing subscriber table");
    }
    // Kamailio's subscriber layout has been stable for the columns checked above, so any recorded version will do.
    record_version(&tx, "subscriber", SUBSCRIBER_VERSION, None)?;

    tx.execute_batch(CREATE_LOCATION)
        .map_err(StoreError::db(ACTION))?;
    let location = columns(&tx, "location")?;
    require_columns("location", &location, &LOCATION_COLUMNS, LOCATION_HINT)?;
    record_version(&tx, "location", LOCATION_VERSION, Some(LOCATION_HINT))?;
    // No index on `expires`: every refresh would rewrite it, and expiry is decided in memory.
    tx.execute_batch(CREATE_LOCATION_ACCOUNT_INDEX)
        .and_then(|()| tx.execute_batch(CREATE_LOCATION_JOURNAL))
        .and_then(|()| tx.execute_batch(CREATE_LOCATION_JOURNAL_FOLDING))
        .map_err(StoreError::db(ACTION))?;
    tx.commit().map_err(StoreError::db(ACTION))
}

/// The column names of `table`.
fn columns(conn: &Connection, table: &'static str) -> Result<Vec<String>, StoreError> {
    let read = || -> rusqlite::Result<Vec<String>> {
        let mut select = conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
        select.query_map([table], |row| row.get(0))?.collect()
    };
    read().map_err(StoreError::db("reading the table layout"))
}

/// Fails naming every column of `required` that `present` lacks, followed by `hint`.
fn require_columns(
    table: &'static str,
    present: &[String],
    required: &[&str],
    hint: &str,
) -> Result<(), StoreError> {
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|name| !present.iter().any(|c| c == name))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Schema {
            table,
            detail: format!(
                "the existing table lacks column(s) {}; {hint}",
                missing.join(", ")
            ),
        })
    }
}

/// Records `version` for `table` unless a row exists. With a `mismatch_hint`, an existing row with another version is
/// an error that ends with the hint; without one, any recorded version is accepted.
fn record_version(
    conn: &Connection,
    table: &'static str,
    version: i64,
    mismatch_hint: Option<&str>,
) -> Result<(), StoreError> {
    const ACTION: &str = "recording the table version";
    let existing: Option<i64> = conn
        .query_row(
            "SELECT table_version FROM version WHERE table_name = ?1",
            [table],
            |row| row.get(0),
        )
        .optional()
        .map_err(StoreError::db(ACTION))?;
    match existing {
        None => {
            conn.execute(
                "INSERT INTO version (table_name, table_version) VALUES (?1, ?2)",
                params![table, version],
            )
            .map_err(StoreError::db(ACTION))?;
            Ok(())
        }
        Some(found) => match mismatch_hint {
            Some(hint) if found != version => Err(StoreError::Schema {
                table,
                detail: format!(
                    "the version table records version {found}, lamppost needs {version}; {hint}"
                ),
            }),
            _ => Ok(()),
        },
    }
}
