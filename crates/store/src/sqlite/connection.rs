//! Opening a connection with the store's settings, and sharing it between threads.

use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::{Connection, OpenFlags, ffi};

use super::target::Target;
use super::{SqliteOptions, Synchronous, blocking};
use crate::StoreError;

/// Size of each connection's page cache in KiB (SQLite's default is 2,000). The location table outgrows any cache
/// at scale and its rows are written in random order, so a large cache mostly holds pages that are not read again;
/// this keeps the B-tree's inner pages and the journal's tail.
pub(super) const CACHE_KIB: i64 = 512;

/// Opens a connection to `target` with the store's settings: WAL for a file, the chosen `synchronous` level and busy
/// timeout, a page cache of [`CACHE_KIB`] and memory mapping off, to keep memory per binding low.
pub(super) fn open(target: &Target, opts: &SqliteOptions) -> rusqlite::Result<Connection> {
    // No SQLITE_OPEN_URI: a file name is taken literally, even one that starts with `file:`.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = match target {
        Target::Memory => Connection::open_in_memory_with_flags(flags)?,
        Target::File(path) => Connection::open_with_flags(path, flags)?,
    };
    conn.busy_timeout(opts.busy_timeout)?;
    if let Target::File(_) = target {
        conn.pragma_update(None, "journal_mode", "WAL")?;
    }
    let synchronous = match opts.synchronous {
        Synchronous::Normal => "NORMAL",
        Synchronous::Full => "FULL",
    };
    conn.pragma_update(None, "synchronous", synchronous)?;
    conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
    Ok(conn)
}

/// A connection that one thread at a time may use, and that [`SqliteStore::close`](super::SqliteStore::close) can
/// close under its users.
#[derive(Debug)]
pub(super) struct SharedConnection(Mutex<Option<Connection>>);

impl SharedConnection {
    pub(super) fn new(conn: Connection) -> Self {
        Self(Mutex::new(Some(conn)))
    }

    /// Runs `f` on the connection, waiting for the thread using it to finish. Fails for `action` once the connection
    /// is closed.
    pub(super) fn with<T>(
        &self,
        action: &'static str,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        // A panic while the connection was in use rolled its transaction back on the way out; it is usable.
        let mut conn = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match conn.as_mut() {
            Some(conn) => f(conn),
            None => Err(StoreError::db(action)(misuse("the store has been closed"))),
        }
    }

    /// [`Self::with`] on Tokio's blocking pool.
    pub(super) async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        action: &'static str,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let this = Arc::clone(self);
        blocking(action, move || this.with(action, f)).await
    }

    /// Closes the connection, waiting for the thread using it to finish. Closing twice is harmless.
    pub(super) fn close(&self) {
        self.close_after(|_| {});
    }

    /// Runs `last` on the connection unless it is already closed, then closes it, with no other use in between.
    pub(super) fn close_after(&self, last: impl FnOnce(&mut Connection)) {
        let conn = {
            let mut guard = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(conn) = guard.as_mut() {
                last(conn);
            }
            guard.take()
        };
        if let Some(conn) = conn
            && let Err((_, e)) = conn.close()
        {
            tracing::warn!(error = %e, "closing a SQLite connection failed");
        }
    }
}

/// An error for an operation SQLite was never asked to do.
pub(super) fn misuse(message: &str) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        ffi::Error::new(ffi::SQLITE_MISUSE),
        Some(message.to_owned()),
    )
}
