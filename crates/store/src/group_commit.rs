//! Group commit: many concurrent writers, one transaction per batch.
//!
//! Every caller hands its changes to a single writer and is acknowledged once they are durable. The writer is one
//! dedicated OS thread (named `lamppost-store`), not a Tokio task: it blocks on a bounded [`std::sync::mpsc`] queue for
//! the first request, lets a batch gather for [`LINGER`], takes everything queued (up to a cap), applies it in one
//! [`BlockingLocationStore::apply_blocking`] call, then answers every caller of that batch with the outcome, right
//! there on its own thread: a `oneshot` send for [`GroupCommit::commit`] and [`GroupCommit::submit`], or the caller's
//! own function for [`GroupCommit::submit_then`]. A caller is therefore acknowledged only once its changes are
//! durable, and a burst of requests pays for one transaction (one fsync) instead of one each. After answering, and
//! before gathering the next batch, it lets the store do deferred work
//! ([`BlockingLocationStore::between_batches`]: [`SqliteStore`](crate::SqliteStore) folds its journal there), and
//! when it stops it calls [`BlockingLocationStore::before_stop`]; being the one writer, it needs no locking for
//! either.
//!
//! Why a thread and a synchronous store: a SQLite transaction is a few microseconds of real work per row; routing each
//! statement through an async driver (a channel to a worker thread, then a task wake-up back) costs several times
//! that. With [`SqliteStore`](crate::SqliteStore), the writer thread runs the statements itself on the store's write
//! connection, so a batch costs no hop beyond the queue it arrived on. Any other backend plugs in by implementing
//! [`BlockingLocationStore`].

mod writer;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use registrar::Change;
use tokio::sync::oneshot;

use crate::{BlockingLocationStore, StoreError};
use writer::{Ack, Message, Request, Writer};

/// How long the writer waits after the first queued commit for more to join its transaction.
///
/// The writer sleeps rather than waiting on the queue: requests arriving meanwhile then cost their senders no
/// wake-up of the writer, only a place in the queue. Measured on the REGISTER bench (5,000/s): 2 ms → 0.29, 10 ms →
/// 0.24–0.27, 25 ms → 0.24–0.27 server CPU-seconds per 10k; 10 ms adds at most that much to a REGISTER's answer.
const LINGER: Duration = Duration::from_millis(10);

/// How many full batches may wait in the queue before [`GroupCommit::submit`] reports [`StoreError::Overloaded`].
const QUEUE_BATCHES: usize = 16;

/// Name of the writer thread, as shown by `top -H` and debuggers.
const THREAD_NAME: &str = "lamppost-store";

/// Counters of a [`GroupCommit`] writer, for tests and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// `commit` calls the writer has answered (successfully or not).
    pub commits: u64,
    /// Transactions run, one per batch.
    pub transactions: u64,
    /// Transactions that failed; every caller of such a batch got the error.
    pub failed_transactions: u64,
    /// Changes applied in successful transactions.
    pub changes: u64,
    /// Most `commit` calls ever answered by one transaction.
    pub largest_batch: u64,
}

/// A handle to the writer thread; clone it freely, every clone feeds the same writer.
///
/// The writer stops after [`Self::shutdown`], or once every handle is dropped and the queue is empty.
#[derive(Debug, Clone)]
pub struct GroupCommit {
    queue: SyncSender<Message>,
    stats: Arc<Counters>,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl GroupCommit {
    /// Starts the writer, a dedicated OS thread named `lamppost-store` that applies batches with `store`'s
    /// [`BlockingLocationStore::apply_blocking`]; each transaction answers at most `max_batch` commits (a cap of 0 is
    /// taken as 1), and up to 16 transactions' worth of commits may wait in the queue. Needs no Tokio runtime.
    ///
    /// # Panics
    /// When the operating system cannot start a thread.
    pub fn spawn<S: BlockingLocationStore>(store: Arc<S>, max_batch: usize) -> Self {
        let max_batch = max_batch.max(1);
        let (queue, inbox) = mpsc::sync_channel(max_batch.saturating_mul(QUEUE_BATCHES));
        let stats = Arc::new(Counters::default());
        let writer = Writer::new(store, inbox, max_batch, LINGER, Arc::clone(&stats));
        let thread = std::thread::Builder::new()
            .name(THREAD_NAME.to_owned())
            .spawn(move || writer.run())
            .unwrap_or_else(|e| panic!("cannot start the {THREAD_NAME} thread: {e}"));
        Self {
            queue,
            stats,
            thread: Arc::new(Mutex::new(Some(thread))),
        }
    }

    /// Makes `changes` durable together with whatever else is queued; resolves once they are (or with the error that
    /// stopped their batch). When the queue is full this waits for room (on Tokio's blocking pool) rather than
    /// failing. [`StoreError::Closed`] when the writer has stopped.
    pub async fn commit(&self, changes: Vec<Change>) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let (ack, outcome) = oneshot::channel();
        let request = Request::new(changes, Ack::channel(ack));
        match self.queue.try_send(Message::Commit(Box::new(request))) {
            Ok(()) => {}
            Err(TrySendError::Disconnected(message)) => {
                message.disarm();
                return Err(StoreError::Closed);
            }
            // Wait for room on a blocking-pool thread, never on the async workers.
            Err(TrySendError::Full(message)) => {
                let queue = self.queue.clone();
                let sent = tokio::task::spawn_blocking(move || queue.send(message)).await;
                match sent {
                    Ok(Ok(())) => {}
                    Ok(Err(mpsc::SendError(message))) => {
                        message.disarm();
                        return Err(StoreError::Closed);
                    }
                    Err(_) => return Err(StoreError::Closed),
                }
            }
        }
        outcome.await.map_err(|_| StoreError::Closed)?
    }

    /// Queues `changes` without waiting, so a caller can enqueue while holding a lock and keep its changes in the
    /// order it made them; await the returned [`Pending`] for the outcome. [`StoreError::Overloaded`] when the queue
    /// is full (the store cannot keep up), [`StoreError::Closed`] when the writer has stopped.
    pub fn submit(&self, changes: Vec<Change>) -> Result<Pending, StoreError> {
        let (ack, outcome) = oneshot::channel();
        if changes.is_empty() {
            let _ = ack.send(Ok(()));
            return Ok(Pending(outcome));
        }
        self.try_send(Request::new(changes, Ack::channel(ack)))?;
        Ok(Pending(outcome))
    }

    /// Like [`Self::submit`], but instead of a [`Pending`] the writer itself calls `done` with the outcome, right
    /// after the batch is committed: no task or channel per caller, which matters at thousands of writes a second.
    /// `done` runs on the writer thread, so it must be quick and must not block (sending a datagram is fine); it
    /// runs outside any Tokio runtime. Once queued, `done` is called exactly once, with [`StoreError::Closed`] if the
    /// writer stops before reaching it. When the queue is full or closed, `done` is not called and the error is
    /// returned.
    pub fn submit_then(
        &self,
        changes: Vec<Change>,
        done: impl FnOnce(Result<(), StoreError>) + Send + 'static,
    ) -> Result<(), StoreError> {
        self.try_send(Request::new(changes, Ack::callback(done)))
    }

    /// The writer's counters so far.
    pub fn stats(&self) -> CommitStats {
        self.stats.snapshot()
    }

    /// Commits everything queued before this call, runs the store's [`BlockingLocationStore::before_stop`] (which
    /// folds a [`SqliteStore`](crate::SqliteStore)'s journal), then stops the writer thread and waits for it to end. Later
    /// `commit` calls, from any clone, fail with [`StoreError::Closed`]. Must be called within a Tokio runtime (the
    /// wait runs on its blocking pool).
    pub async fn shutdown(self) {
        let Self { queue, thread, .. } = self;
        let stopped = tokio::task::spawn_blocking(move || {
            // An error means the writer is already gone, which is what we wait for anyway.
            let _ = queue.send(Message::Stop);
            let handle = thread.lock().unwrap_or_else(PoisonError::into_inner).take();
            handle.map(JoinHandle::join)
        })
        .await;
        match stopped {
            Ok(Some(Err(_))) => tracing::error!("the store writer thread panicked"),
            Err(e) => tracing::error!(error = %e, "waiting for the store writer thread failed"),
            Ok(_) => {}
        }
    }

    /// Queues `request` if there is room; a refused request's caller is not answered.
    fn try_send(&self, request: Request) -> Result<(), StoreError> {
        self.queue
            .try_send(Message::Commit(Box::new(request)))
            .map_err(|e| match e {
                TrySendError::Full(message) => {
                    message.disarm();
                    StoreError::Overloaded
                }
                TrySendError::Disconnected(message) => {
                    message.disarm();
                    StoreError::Closed
                }
            })
    }
}

/// Changes handed to the writer by [`GroupCommit::submit`], not yet known to be durable.
#[derive(Debug)]
pub struct Pending(oneshot::Receiver<Result<(), StoreError>>);

impl Pending {
    /// Resolves once the changes are committed, or with the error that stopped their batch.
    pub async fn wait(self) -> Result<(), StoreError> {
        self.0.await.map_err(|_| StoreError::Closed)?
    }
}

/// Shared atomic counters behind [`CommitStats`].
#[derive(Debug, Default)]
struct Counters {
    commits: AtomicU64,
    transactions: AtomicU64,
    failed_transactions: AtomicU64,
    changes: AtomicU64,
    largest_batch: AtomicU64,
}

impl Counters {
    fn record(&self, commits: usize, changes: usize, ok: bool) {
        let commits = u64::try_from(commits).unwrap_or(u64::MAX);
        self.commits.fetch_add(commits, Ordering::Relaxed);
        self.transactions.fetch_add(1, Ordering::Relaxed);
        self.largest_batch.fetch_max(commits, Ordering::Relaxed);
        if ok {
            let changes = u64::try_from(changes).unwrap_or(u64::MAX);
            self.changes.fetch_add(changes, Ordering::Relaxed);
        } else {
            self.failed_transactions.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn snapshot(&self) -> CommitStats {
        CommitStats {
            commits: self.commits.load(Ordering::Relaxed),
            transactions: self.transactions.load(Ordering::Relaxed),
            failed_transactions: self.failed_transactions.load(Ordering::Relaxed),
            changes: self.changes.load(Ordering::Relaxed),
            largest_batch: self.largest_batch.load(Ordering::Relaxed),
        }
    }
}
