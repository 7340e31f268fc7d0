//! Group commit: many concurrent writers, one transaction per batch.
//!
//! Every caller hands its changes to a single writer task and awaits its own acknowledgement. The writer takes
//! everything queued (up to a cap), applies it in one [`LocationStore::apply`] call, then answers every caller of that
//! batch with the outcome. A caller is therefore acknowledged only once its changes are durable, and a burst of
//! requests pays for one transaction (one fsync) instead of one each.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use registrar::Change;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::{LocationStore, StoreError};

/// How long the writer waits after the first queued commit for more to join its transaction.
const LINGER: std::time::Duration = std::time::Duration::from_millis(2);

/// How many full batches may wait in the queue before [`GroupCommit::submit`] reports [`StoreError::Overloaded`].
const QUEUE_BATCHES: usize = 16;

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

/// A handle to the writer task; clone it freely, every clone feeds the same writer.
#[derive(Debug, Clone)]
pub struct GroupCommit {
    queue: mpsc::Sender<Message>,
    stats: Arc<Counters>,
    writer: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl GroupCommit {
    /// Spawns the writer task on the current Tokio runtime; each transaction answers at most `max_batch` commits (a
    /// cap of 0 is taken as 1).
    ///
    /// # Panics
    /// When called outside a Tokio runtime.
    pub fn spawn<S: LocationStore>(store: Arc<S>, max_batch: usize) -> Self {
        let max_batch = max_batch.max(1);
        let (queue, inbox) = mpsc::channel(max_batch.saturating_mul(QUEUE_BATCHES));
        let stats = Arc::new(Counters::default());
        let writer = tokio::spawn(run_writer(store, inbox, max_batch, Arc::clone(&stats)));
        Self {
            queue,
            stats,
            writer: Arc::new(Mutex::new(Some(writer))),
        }
    }

    /// Makes `changes` durable together with whatever else is queued; resolves once they are (or with the error that
    /// stopped their batch). [`StoreError::Closed`] when the writer has stopped.
    pub async fn commit(&self, changes: Vec<Change>) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        let (ack, outcome) = oneshot::channel();
        self.queue
            .send(Message::Commit(Request { changes, ack: Ack::Channel(ack) }))
            .await
            .map_err(|_| StoreError::Closed)?;
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
        self.queue
            .try_send(Message::Commit(Request { changes, ack: Ack::Channel(ack) }))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => StoreError::Overloaded,
                mpsc::error::TrySendError::Closed(_) => StoreError::Closed,
            })?;
        Ok(Pending(outcome))
    }

    /// Like [`Self::submit`], but instead of a [`Pending`] the writer itself calls `done` with the outcome, right
    /// after the batch is committed: no task or channel per caller, which matters at thousands of writes a second.
    /// `done` runs on the writer task, so it must be quick and must not block (sending a datagram is fine). When the
    /// queue is full or closed, `done` is not called and the error is returned.
    pub fn submit_then(
        &self,
        changes: Vec<Change>,
        done: impl FnOnce(Result<(), StoreError>) + Send + 'static,
    ) -> Result<(), StoreError> {
        let ack = Ack::Callback(Box::new(done));
        self.queue
            .try_send(Message::Commit(Request { changes, ack }))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => StoreError::Overloaded,
                mpsc::error::TrySendError::Closed(_) => StoreError::Closed,
            })
    }

    /// The writer's counters so far.
    pub fn stats(&self) -> CommitStats {
        self.stats.snapshot()
    }

    /// Commits everything queued before this call, then stops the writer and waits for it. Later `commit` calls, from
    /// any clone, fail with [`StoreError::Closed`].
    pub async fn shutdown(self) {
        let (done, stopped) = oneshot::channel();
        if self.queue.send(Message::Stop(done)).await.is_ok() {
            // An error means the writer is already gone, which is what we wait for anyway.
            let _ = stopped.await;
        }
        if let Some(writer) = self.writer.lock().await.take()
            && let Err(e) = writer.await
        {
            tracing::error!(error = %e, "the store writer task ended abnormally");
        }
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

/// What callers send to the writer.
#[derive(Debug)]
enum Message {
    /// Changes to make durable.
    Commit(Request),
    /// Stop after everything queued before this; acknowledge on the sender.
    Stop(oneshot::Sender<()>),
}

/// One caller's changes and the way back to it.
#[derive(Debug)]
struct Request {
    changes: Vec<Change>,
    ack: Ack,
}

/// How the writer tells a caller the outcome.
enum Ack {
    /// Through a channel the caller awaits.
    Channel(oneshot::Sender<Result<(), StoreError>>),
    /// By calling the caller's function on the writer task.
    Callback(Box<dyn FnOnce(Result<(), StoreError>) + Send>),
}

impl Ack {
    fn send(self, outcome: Result<(), StoreError>) {
        match self {
            // A caller that stopped waiting does not need the answer.
            Self::Channel(tx) => {
                let _ = tx.send(outcome);
            }
            Self::Callback(done) => done(outcome),
        }
    }
}

impl std::fmt::Debug for Ack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Channel(_) => "Ack::Channel",
            Self::Callback(_) => "Ack::Callback",
        })
    }
}

/// The writer loop: batch, apply, acknowledge, until stopped or every handle is gone.
async fn run_writer<S: LocationStore>(
    store: Arc<S>,
    mut inbox: mpsc::Receiver<Message>,
    max_batch: usize,
    stats: Arc<Counters>,
) {
    let mut messages = Vec::with_capacity(max_batch);
    let mut changes = Vec::new();
    let mut acks = Vec::with_capacity(max_batch);
    loop {
        if inbox.recv_many(&mut messages, max_batch).await == 0 {
            return;
        }
        if messages.len() < max_batch {
            // Let a batch gather: one transaction for a few milliseconds of requests costs far less than one each.
            tokio::time::sleep(LINGER).await;
            while messages.len() < max_batch {
                match inbox.try_recv() {
                    Ok(m) => messages.push(m),
                    Err(_) => break,
                }
            }
        }
        let mut stop = None;
        for message in messages.drain(..) {
            match message {
                Message::Commit(request) if stop.is_none() => {
                    changes.extend(request.changes);
                    acks.push(request.ack);
                }
                // Dropping a late request's ack tells its caller the writer has stopped.
                Message::Commit(_) => {}
                Message::Stop(done) => stop = Some(done),
            }
        }
        if !acks.is_empty() {
            let outcome = store.apply(&changes).await;
            stats.record(acks.len(), changes.len(), outcome.is_ok());
            if let Err(e) = &outcome {
                tracing::error!(error = %e, commits = acks.len(), "group commit failed");
            }
            for ack in acks.drain(..) {
                ack.send(outcome.clone());
            }
            changes.clear();
        }
        if let Some(done) = stop {
            inbox.close();
            let _ = done.send(());
            return;
        }
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
