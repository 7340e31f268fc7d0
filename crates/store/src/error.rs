//! The one error type of this crate.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// Why a store operation failed.
///
/// Cheap to clone (sources are shared), so group commit can hand the same error to every caller of a failed batch.
#[non_exhaustive]
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The URL names a backend this build does not support.
    #[error("unsupported store URL `{url}`: supported forms are {supported}")]
    UnsupportedUrl {
        /// The URL as given, with any password replaced by `***`.
        url: String,
        /// The URL forms this build accepts.
        supported: &'static str,
    },
    /// The URL has a supported scheme but cannot be used.
    #[error("invalid store URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given, with any password replaced by `***`.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The directory that should hold the database file could not be created.
    #[error("cannot create directory `{}` for the database: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The operating system's reason.
        source: Arc<io::Error>,
    },
    /// The database could not be opened (missing permission, not a database file, locked, ...).
    #[error("cannot open database `{url}`: {source}")]
    Open {
        /// The URL, with any password replaced by `***`.
        url: String,
        /// The driver's reason.
        source: Arc<rusqlite::Error>,
    },
    /// An existing table does not have the layout this version needs.
    #[error("table `{table}` has an incompatible layout: {detail}")]
    Schema {
        /// The table.
        table: &'static str,
        /// What is wrong and what to do about it.
        detail: String,
    },
    /// `add_subscriber` was asked to add a `(username, domain)` that is already there.
    #[error("subscriber `{username}@{domain}` already exists")]
    AlreadyExists {
        /// Username of the existing subscriber.
        username: String,
        /// Domain of the existing subscriber.
        domain: String,
    },
    /// A database operation failed (disk full, I/O error, database locked for longer than the busy timeout, ...).
    #[error("database error while {action}: {source}")]
    Database {
        /// What the store was doing, e.g. `applying location changes`.
        action: &'static str,
        /// The driver's reason.
        source: Arc<rusqlite::Error>,
    },
    /// The group-commit queue is full: the store is not keeping up with the request rate. The write was not made.
    #[error("the store is not keeping up (write queue full); the write was not made")]
    Overloaded,
    /// The group-commit writer has stopped, so the write was not made.
    #[error("the store writer has stopped; the write was not made")]
    Closed,
}

impl StoreError {
    /// Wraps a driver error with what the store was doing when it happened.
    pub(crate) fn db(action: &'static str) -> impl FnOnce(rusqlite::Error) -> Self {
        move |source| Self::Database {
            action,
            source: Arc::new(source),
        }
    }
}

/// Replaces the password of a `scheme://user:password@host/...` URL with `***`, so URLs can go into errors and logs.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://lamp:s3cret@db.example:5432/lamppost"),
            "postgres://lamp:***@db.example:5432/lamppost"
        );
        assert_eq!(
            redact_url("mysql://lamp:p@ss@db/x?ssl=1"),
            "mysql://lamp:***@db/x?ssl=1"
        );
        assert_eq!(redact_url("redis://db.example/0"), "redis://db.example/0");
        assert_eq!(redact_url("redis://user@db/0"), "redis://user@db/0");
        assert_eq!(
            redact_url("sqlite:///var/lib/a@b.db"),
            "sqlite:///var/lib/a@b.db"
        );
        assert_eq!(redact_url("/var/lib/x.db"), "/var/lib/x.db");
    }
}
