//! The writer thread's side of group commit: what travels on the queue, and the batching loop.

use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use registrar::Change;
use tokio::sync::oneshot;

use super::Counters;
use crate::{BlockingLocationStore, StoreError};

/// What callers send to the writer.
#[derive(Debug)]
pub(super) enum Message {
    /// Changes to make durable; boxed so each of the queue's preallocated slots stays one pointer wide.
    Commit(Box<Request>),
    /// Stop after everything queued before this.
    Stop,
}

impl Message {
    /// Drops a message the queue refused without answering its caller, who learns the outcome from the error.
    pub(super) fn disarm(self) {
        if let Self::Commit(request) = self {
            request.ack.disarm();
        }
    }
}

/// One caller's changes and the way back to it.
#[derive(Debug)]
pub(super) struct Request {
    changes: Vec<Change>,
    ack: Ack,
}

impl Request {
    pub(super) fn new(changes: Vec<Change>, ack: Ack) -> Self {
        Self { changes, ack }
    }
}

/// How the writer tells a caller the outcome. Answers exactly once: dropping an unanswered `Ack` (a request left in
/// the queue when the writer stops, or a batch abandoned by a panic) answers [`StoreError::Closed`].
#[derive(Debug)]
pub(super) struct Ack(Option<Reply>);

/// The way back to one caller.
enum Reply {
    /// Through a channel the caller awaits.
    Channel(oneshot::Sender<Result<(), StoreError>>),
    /// By calling the caller's function on the writer thread.
    Callback(Box<dyn FnOnce(Result<(), StoreError>) + Send>),
}

impl Ack {
    /// An answer sent on `tx`.
    pub(super) fn channel(tx: oneshot::Sender<Result<(), StoreError>>) -> Self {
        Self(Some(Reply::Channel(tx)))
    }

    /// An answer given by calling `done`.
    pub(super) fn callback(done: impl FnOnce(Result<(), StoreError>) + Send + 'static) -> Self {
        Self(Some(Reply::Callback(Box::new(done))))
    }

    /// Answers the caller.
    fn send(mut self, outcome: Result<(), StoreError>) {
        if let Some(reply) = self.0.take() {
            reply.deliver(outcome);
        }
    }

    /// Forgets the caller without answering.
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for Ack {
    fn drop(&mut self) {
        if let Some(reply) = self.0.take() {
            reply.deliver(Err(StoreError::Closed));
        }
    }
}

impl Reply {
    fn deliver(self, outcome: Result<(), StoreError>) {
        match self {
            // A caller that stopped waiting does not need the answer.
            Self::Channel(tx) => {
                let _ = tx.send(outcome);
            }
            Self::Callback(done) => done(outcome),
        }
    }
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Channel(_) => "Reply::Channel",
            Self::Callback(_) => "Reply::Callback",
        })
    }
}

/// The writer thread's state.
pub(super) struct Writer<S> {
    store: Arc<S>,
    inbox: Receiver<Message>,
    max_batch: usize,
    linger: Duration,
    stats: Arc<Counters>,
}

impl<S: BlockingLocationStore> Writer<S> {
    pub(super) fn new(
        store: Arc<S>,
        inbox: Receiver<Message>,
        max_batch: usize,
        linger: Duration,
        stats: Arc<Counters>,
    ) -> Self {
        Self {
            store,
            inbox,
            max_batch,
            linger,
            stats,
        }
    }

    /// The writer loop: gather a batch, apply it, acknowledge it, let the store do its work between batches, until
    /// stopped or every handle is gone; then [`BlockingLocationStore::before_stop`]. Requests still queued when it
    /// returns are answered [`StoreError::Closed`] as the queue is dropped.
    pub(super) fn run(self) {
        self.batches();
        if let Err(e) = self.store.before_stop() {
            tracing::error!(error = %e, "the store's work before stopping failed");
        }
    }

    /// Gathers, applies and acknowledges batches until stopped or every handle is gone.
    fn batches(&self) {
        let mut messages = Vec::with_capacity(self.max_batch);
        let mut changes = Vec::new();
        let mut acks = Vec::with_capacity(self.max_batch);
        while let Ok(first) = self.inbox.recv() {
            let mut stop = matches!(first, Message::Stop);
            messages.push(first);
            if !stop {
                stop = self.take_queued(&mut messages);
            }
            if !stop && messages.len() < self.max_batch {
                // Let a batch gather: one transaction for a few milliseconds of requests costs far less than one each.
                std::thread::sleep(self.linger);
                stop = self.take_queued(&mut messages);
            }
            for message in messages.drain(..) {
                if let Message::Commit(request) = message {
                    changes.extend(request.changes);
                    acks.push(request.ack);
                }
            }
            if !acks.is_empty() {
                self.commit(&changes, &mut acks);
                changes.clear();
            }
            if stop {
                return;
            }
        }
    }

    /// Moves queued messages into `messages` until the batch is full, the queue is empty or a stop request is taken;
    /// `true` in the last case.
    fn take_queued(&self, messages: &mut Vec<Message>) -> bool {
        while messages.len() < self.max_batch {
            match self.inbox.try_recv() {
                Ok(Message::Stop) => {
                    messages.push(Message::Stop);
                    return true;
                }
                Ok(message) => messages.push(message),
                Err(_) => break,
            }
        }
        false
    }

    /// Applies `changes` in one transaction, answers every caller of the batch, then (after a success) runs the
    /// store's [`BlockingLocationStore::between_batches`].
    fn commit(&self, changes: &[Change], acks: &mut Vec<Ack>) {
        let outcome = self.store.apply_blocking(changes);
        self.stats
            .record(acks.len(), changes.len(), outcome.is_ok());
        if let Err(e) = &outcome {
            tracing::error!(error = %e, commits = acks.len(), "group commit failed");
        }
        let ok = outcome.is_ok();
        for ack in acks.drain(..) {
            ack.send(outcome.clone());
        }
        if ok && let Err(e) = self.store.between_batches() {
            tracing::error!(error = %e, "the store's work between batches failed");
        }
    }
}
