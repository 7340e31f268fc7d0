//! Kamailio's `uacreg` table of outbound registrations, read and written in SQLite, MySQL/MariaDB and PostgreSQL.
//!
//! # I/O contract
//! This crate does I/O and is used off the hot path: the server reads the table at start and on reload, and the
//! management commands insert, remove, enable and disable rows. Every operation is `async` on Tokio: SQLite's
//! blocking calls run on Tokio's blocking pool (each step opens its own connection), MySQL/MariaDB and
//! PostgreSQL go through an `sqlx` pool of at most two connections, opened on first use.
//!
//! # Compatibility
//! The table is used exactly as Kamailio's own DDL creates it (`utils/kamctl/{mysql,postgres,db_sqlite}/
//! uac-create.sql`), from uacreg version 3 (Kamailio 5.0) on. The columns that later versions added — `socket`
//! (5.3), `contact_addr` (5.5) and `contact_user` (version 6) — are detected on every operation from the
//! database's catalogue, and only those present are read or written. Rows are returned raw ([`UacRow`]):
//! checking that a row makes a usable registration is the caller's job. Integer columns are Kamailio's signed
//! 32-bit `INT`s; `NULL`s (which Kamailio's DDL does not allow) read as `''` and `0`.
//!
//! Passwords never reach logs or errors: [`UacTable::describe`] and every [`UacTableError`] show the URL with its
//! password replaced by `***`, and [`UacRow`]'s `Debug` hides `auth_password` and `auth_ha1`.

mod db_url;
mod error;
mod mysql;
mod postgres;
mod row;
mod schema;
mod sql;
mod sqlite;
mod table;
mod target;

pub use error::UacTableError;
pub use row::UacRow;
pub use schema::TableSchema;
pub use table::{DEFAULT_TABLE, UacTable};
