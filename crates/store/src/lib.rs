//! Durable storage for lamppost: bindings (the location service) and subscribers (digest credentials).
//!
//! # I/O contract
//! This crate does I/O. The store traits' operations are `async` and run on Tokio (SQLite's blocking calls go to
//! Tokio's blocking pool, never an async worker); callers hold no locks across them. Location writes on the hot path
//! go through [`GroupCommit`] instead: its writer is one dedicated OS thread that applies each batch synchronously
//! through [`BlockingLocationStore`] and acknowledges callers from that thread. The protocol crates never call this
//! crate directly; the server's shell loads state at start, hands each REGISTER's
//! [`Change`](registrar::Change)s to a [`GroupCommit`], and sends the response only once that commit is acknowledged.
//!
//! Callers use the [`LocationStore`], [`BlockingLocationStore`] and [`SubscriberStore`] traits, so other backends
//! (PostgreSQL, MySQL/MariaDB, Redis) can be added behind [`open_store`] without touching them. [`SqliteStore`]
//! (on the bundled SQLite library) is the one backend today.
//!
//! # Durability contract
//! - [`LocationStore::apply`] applies its batch in one transaction: all of it or none of it.
//! - [`GroupCommit::commit`] resolves only after the transaction holding its changes has committed (or failed, and
//!   then with that error). Nothing is fire-and-forget.
//! - With SQLite, a committed transaction survives the process being killed (`kill -9`, a crash) under the default
//!   [`Synchronous::Normal`]; [`Synchronous::Full`] also makes it survive power loss and operating-system crashes,
//!   at the price of an fsync per transaction (group commit shares that fsync across every request of a batch).
//! - With SQLite, a change is committed once its `location_journal` row is; a fold later moves it into `location`
//!   and deletes it from the journal in one transaction, so a crash at any point loses and duplicates nothing.
//!
//! # SQLite schema
//! Created at open with `CREATE TABLE IF NOT EXISTS`, in WAL mode; Kamailio's names are used where the concept exists.
//! - `version (table_name, table_version)`: as Kamailio's. `subscriber` is recorded as 7 (Kamailio's layout);
//!   `location` as 1, lamppost's own layout, which cannot be shared with Kamailio's usrloc (an existing foreign
//!   `location` table is refused with an error saying so).
//! - `subscriber`: Kamailio's table (`id`, `username`, `domain`, `password`, `ha1`, `ha1b`, unique
//!   `(username, domain)`) plus a nullable `ha1_sha256` (hex SHA-256 of `username:domain:password`). An existing
//!   Kamailio table is used as is; the column is added if missing.
//! - `location`: one row per binding. `id` is the binding id (a `u64`, stored as the signed integer with the same
//!   bits); `username` and `domain` are the address-of-record split at its last `@` (`domain` NULL when it has none);
//!   `contact` the contact URI; `params` its other parameters; `received` the source address as
//!   `sip:192.0.2.1:5060` or `sip:[2001:db8::1]:5060`; `path` the Path values joined by `,` (a `,` or `\` inside a
//!   value is escaped with `\`), NULL when none; `expires`, `last_modified` and `registered_at` Unix seconds; `q` the
//!   SIP q-value (`0.5`), NULL when the client sent none; `callid`, `cseq`, `user_agent`; `socket` the local socket
//!   as `udp:192.0.2.10:5060`; `transport` (`UDP`, `TCP`, `TLS`, `WS`, `WSS`); `connection_id`, `instance`, `reg_id`
//!   (NULL when absent); `branch_hash`. Indexed on `(username, domain)` only (expiry is decided in memory).
//! - `location_journal (seq INTEGER PRIMARY KEY, change BLOB NOT NULL)`: binding changes committed but not yet
//!   folded into `location`, in commit order; `change` is a small versioned binary encoding of an upsert (the whole
//!   binding) or a remove (the id). Each batch appends here, which touches a page or two instead of one page of
//!   `location` per binding. `location_journal_folding`, of the same layout, holds the changes of a fold under way
//!   (the two tables swap names when a fold starts), and is empty otherwise; `seq` grows across both. The writer
//!   folds the journal into `location` once it holds more than three times as many changes as `location` has rows
//!   (and at least 50,000): each binding's last change is written once, in id order, a step at a time between
//!   batches; and wholly when [`GroupCommit::shutdown`] stops the writer, when [`SqliteStore::close`] runs and when
//!   [`SqliteStore::open`] opens the database. [`LocationStore::load_bindings`] reads `location` with both journal
//!   tables applied on top, so it returns every committed change. `location` stays the table to query from SQL,
//!   but while the server runs it lags the committed state by up to three changes per binding (at least 50,000),
//!   plus about a second of load while a fold runs: those in the journal tables.

mod any_store;
mod error;
mod group_commit;
mod location;
mod sqlite;
mod subscriber;

pub use any_store::{AnyStore, StoreOptions, open_store};
pub use error::StoreError;
pub use group_commit::{CommitStats, GroupCommit, Pending};
pub use location::{BlockingLocationStore, LocationStore};
pub use sqlite::{SqliteOptions, SqliteStore, Synchronous};
pub use subscriber::{Subscriber, SubscriberStore, SubscriberTotals};
