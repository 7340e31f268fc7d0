//! Choosing a backend by URL.

use registrar::{Binding, Change};

use crate::error::redact_url;
use crate::sqlite::SQLITE_URL_FORMS;
use crate::{
    BlockingLocationStore, LocationStore, SqliteOptions, SqliteStore, StoreError, Subscriber,
    SubscriberStore, SubscriberTotals,
};

/// Options for every backend [`open_store`] may pick; each backend reads its own part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreOptions {
    /// Used when the URL is a `sqlite:` one.
    pub sqlite: SqliteOptions,
}

/// Whichever store the URL named; implements both store traits by delegation.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub enum AnyStore {
    /// A SQLite database.
    Sqlite(SqliteStore),
}

/// Opens the store named by `url`, picking the backend by its scheme. Only `sqlite:` is supported so far; any other
/// URL fails with [`StoreError::UnsupportedUrl`], which lists the accepted forms.
pub async fn open_store(url: &str, opts: &StoreOptions) -> Result<AnyStore, StoreError> {
    if url.starts_with("sqlite:") {
        return SqliteStore::open(url, &opts.sqlite)
            .await
            .map(AnyStore::Sqlite);
    }
    Err(StoreError::UnsupportedUrl {
        url: redact_url(url),
        supported: SQLITE_URL_FORMS,
    })
}

impl AnyStore {
    /// Closes the store's connections.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(s) => s.close().await,
        }
    }
}

impl LocationStore for AnyStore {
    async fn load_bindings(&self) -> Result<Vec<Binding>, StoreError> {
        match self {
            Self::Sqlite(s) => s.load_bindings().await,
        }
    }

    async fn apply(&self, changes: &[Change]) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(s) => s.apply(changes).await,
        }
    }
}

impl BlockingLocationStore for AnyStore {
    fn apply_blocking(&self, changes: &[Change]) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(s) => s.apply_blocking(changes),
        }
    }
}

impl SubscriberStore for AnyStore {
    async fn subscriber(
        &self,
        username: &str,
        domain: &str,
    ) -> Result<Option<Subscriber>, StoreError> {
        match self {
            Self::Sqlite(s) => s.subscriber(username, domain).await,
        }
    }

    async fn all_subscribers(&self) -> Result<Vec<Subscriber>, StoreError> {
        match self {
            Self::Sqlite(s) => s.all_subscribers().await,
        }
    }

    async fn subscriber_totals(&self) -> Result<SubscriberTotals, StoreError> {
        match self {
            Self::Sqlite(s) => s.subscriber_totals().await,
        }
    }

    async fn fold_subscribers<T, F>(&self, init: T, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnMut(&mut T, Subscriber) + Send + 'static,
    {
        match self {
            Self::Sqlite(s) => s.fold_subscribers(init, f).await,
        }
    }

    async fn add_subscriber(&self, subscriber: &Subscriber) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(s) => s.add_subscriber(subscriber).await,
        }
    }

    async fn remove_subscriber(&self, username: &str, domain: &str) -> Result<bool, StoreError> {
        match self {
            Self::Sqlite(s) => s.remove_subscriber(username, domain).await,
        }
    }

    async fn list_subscribers(&self, domain: Option<&str>) -> Result<Vec<Subscriber>, StoreError> {
        match self {
            Self::Sqlite(s) => s.list_subscribers(domain).await,
        }
    }

    async fn import_subscribers(&self, subscribers: &[Subscriber]) -> Result<u64, StoreError> {
        match self {
            Self::Sqlite(s) => s.import_subscribers(subscribers).await,
        }
    }
}
