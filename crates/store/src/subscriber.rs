//! Subscribers: the accounts that may register, with their digest credentials.

use std::future::Future;

use crate::StoreError;

/// One account, as in Kamailio's `subscriber` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    /// User part of the account.
    pub username: String,
    /// Domain (realm) of the account.
    pub domain: String,
    /// Plaintext password; `None` when only hashes are kept (stored as an empty string, so `Some("")` reads back as
    /// `None`).
    pub password: Option<String>,
    /// Hex `MD5(username:domain:password)`.
    pub ha1: String,
    /// Hex `MD5(username@domain:domain:password)`.
    pub ha1b: String,
    /// Hex `SHA-256(username:domain:password)` (RFC 7616); `None` when unknown.
    pub ha1_sha256: Option<String>,
}

/// How many subscribers there are and how long their names are: what a cache needs to size itself once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubscriberTotals {
    /// Number of subscribers.
    pub count: usize,
    /// Bytes of every username and domain together (UTF-8).
    pub name_bytes: usize,
}

/// Durable storage of subscribers.
pub trait SubscriberStore: Send + Sync + 'static {
    /// The subscriber `username` of `domain`, if there is one.
    fn subscriber(
        &self,
        username: &str,
        domain: &str,
    ) -> impl Future<Output = Result<Option<Subscriber>, StoreError>> + Send;

    /// Every subscriber, to warm the server's cache at start.
    fn all_subscribers(&self) -> impl Future<Output = Result<Vec<Subscriber>, StoreError>> + Send;

    /// How many subscribers there are and the total length of their names.
    fn subscriber_totals(
        &self,
    ) -> impl Future<Output = Result<SubscriberTotals, StoreError>> + Send;

    /// Folds every subscriber into `init`, one row at a time, so a cache can be filled without holding the whole
    /// table in memory twice.
    fn fold_subscribers<T, F>(
        &self,
        init: T,
        f: F,
    ) -> impl Future<Output = Result<T, StoreError>> + Send
    where
        T: Send + 'static,
        F: FnMut(&mut T, Subscriber) + Send + 'static;

    /// Adds a subscriber; [`StoreError::AlreadyExists`] when `(username, domain)` is taken.
    fn add_subscriber(
        &self,
        subscriber: &Subscriber,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes a subscriber; `true` if there was one.
    fn remove_subscriber(
        &self,
        username: &str,
        domain: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Subscribers of `domain` (all of them when `None`), ordered by domain then username.
    fn list_subscribers(
        &self,
        domain: Option<&str>,
    ) -> impl Future<Output = Result<Vec<Subscriber>, StoreError>> + Send;

    /// Inserts or replaces (by `(username, domain)`) every subscriber in one transaction, all or nothing; returns how
    /// many rows were written.
    fn import_subscribers(
        &self,
        subscribers: &[Subscriber],
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
