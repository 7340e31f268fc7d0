//! Group commit: every caller acknowledged after its batch is durable, batches really grouped, errors shared.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::task::{Context, Waker};
use std::time::Duration;

use common::{binding, by_id, open};
use registrar::{Binding, Change};
use store::{BlockingLocationStore, GroupCommit, LocationStore, StoreError};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_thousand_concurrent_commits_are_all_durable() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(dir.path(), "gc.db").await);
    let writer = GroupCommit::spawn(Arc::clone(&store), 256);

    let tasks: Vec<_> = (0..2_000u64)
        .map(|id| {
            let writer = writer.clone();
            tokio::spawn(async move {
                let b = binding(id, &format!("user{}@example.com", id % 97));
                writer.commit(vec![Change::Upsert(b)]).await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }

    let stats = writer.stats();
    println!("{stats:?}");
    assert_eq!(stats.commits, 2_000);
    assert_eq!(stats.changes, 2_000);
    assert_eq!(stats.failed_transactions, 0);
    assert!(
        stats.transactions < 2_000,
        "no grouping happened: {stats:?}"
    );
    assert!(
        stats.largest_batch > 1 && stats.largest_batch <= 256,
        "{stats:?}"
    );
    writer.shutdown().await;
    store.close().await;

    let reopened = open(dir.path(), "gc.db").await;
    let loaded = by_id(reopened.load_bindings().await.unwrap());
    let expected: Vec<Binding> = (0..2_000u64)
        .map(|id| binding(id, &format!("user{}@example.com", id % 97)))
        .collect();
    assert_eq!(loaded, expected);
}

/// A store that records each batch and can hold the writer inside `apply_blocking` until the test lets it go.
#[derive(Default)]
struct Recorder {
    batches: Mutex<Vec<Vec<u64>>>,
    /// Signalled each time the writer enters `apply_blocking`.
    entered: Notify,
    /// When set, `apply_blocking` waits until it opens.
    gate: Option<Gate>,
    /// Any batch holding this binding id fails.
    poison: Option<u64>,
}

/// Blocks threads until opened, then lets every one through.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    fn wait(&self) {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
    }

    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

impl Recorder {
    fn gated(poison: Option<u64>) -> Self {
        Self {
            gate: Some(Gate::default()),
            poison,
            ..Self::default()
        }
    }

    fn open_gate(&self) {
        if let Some(gate) = &self.gate {
            gate.open();
        }
    }

    fn batches(&self) -> Vec<Vec<u64>> {
        self.batches.lock().unwrap().clone()
    }
}

fn id_of(change: &Change) -> u64 {
    match change {
        Change::Upsert(b) => b.id,
        Change::Remove { id, .. } => *id,
    }
}

impl BlockingLocationStore for Recorder {
    fn apply_blocking(&self, changes: &[Change]) -> Result<(), StoreError> {
        self.entered.notify_one();
        if let Some(gate) = &self.gate {
            gate.wait();
        }
        let ids: Vec<u64> = changes.iter().map(id_of).collect();
        let poisoned = self.poison.is_some_and(|p| ids.contains(&p));
        self.batches.lock().unwrap().push(ids);
        if poisoned {
            Err(StoreError::Database {
                action: "applying the poisoned binding",
                source: Arc::new(rusqlite::Error::InvalidQuery),
            })
        } else {
            Ok(())
        }
    }
}

type Pending = Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send>>;

/// A commit of one upsert with binding id `id`.
fn commit_one(writer: &GroupCommit, id: u64) -> Pending {
    let writer = writer.clone();
    Box::pin(tokio::task::unconstrained(async move {
        writer
            .commit(vec![Change::Upsert(binding(id, "a@example.com"))])
            .await
    }))
}

/// Starts a commit for each id and polls it once: each one the queue has room for is queued when this returns.
fn enqueue(writer: &GroupCommit, ids: impl IntoIterator<Item = u64>) -> Vec<Pending> {
    let mut cx = Context::from_waker(Waker::noop());
    ids.into_iter()
        .map(|id| {
            let mut commit = commit_one(writer, id);
            assert!(commit.as_mut().poll(&mut cx).is_pending());
            commit
        })
        .collect()
}

/// Commits `id` and returns once the writer is inside `apply_blocking` with it (held there by the gate).
async fn hold_writer(
    writer: &GroupCommit,
    recorder: &Recorder,
    id: u64,
) -> JoinHandle<Result<(), StoreError>> {
    let first = tokio::spawn(commit_one(writer, id));
    recorder.entered.notified().await;
    first
}

#[tokio::test]
async fn commits_queued_behind_a_transaction_share_the_next_one() {
    let recorder = Arc::new(Recorder::gated(None));
    let writer = GroupCommit::spawn(Arc::clone(&recorder), 1_000);

    let first = hold_writer(&writer, &recorder, 0).await;
    let rest = enqueue(&writer, 1..=300);
    recorder.open_gate();

    first.await.unwrap().unwrap();
    for commit in rest {
        commit.await.unwrap();
    }
    let batches = recorder.batches();
    assert_eq!(batches.len(), 2, "{batches:?}");
    assert_eq!(batches[0], vec![0]);
    assert_eq!(batches[1], (1..=300).collect::<Vec<u64>>());
    let stats = writer.stats();
    assert_eq!(
        (stats.transactions, stats.commits, stats.largest_batch),
        (2, 301, 300)
    );
}

#[tokio::test]
async fn the_batch_cap_splits_a_long_queue() {
    let recorder = Arc::new(Recorder::gated(None));
    let writer = GroupCommit::spawn(Arc::clone(&recorder), 8);

    let first = hold_writer(&writer, &recorder, 0).await;
    let rest = enqueue(&writer, 1..=40);
    recorder.open_gate();
    first.await.unwrap().unwrap();
    for commit in rest {
        commit.await.unwrap();
    }
    let batches = recorder.batches();
    assert!(batches.iter().all(|b| b.len() <= 8), "{batches:?}");
    assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), 41);
    assert_eq!(batches[1], (1..=8).collect::<Vec<u64>>());
    assert_eq!(writer.stats().largest_batch, 8);
}

#[tokio::test]
async fn a_store_error_reaches_every_caller_of_the_batch() {
    let recorder = Arc::new(Recorder::gated(Some(666)));
    let writer = GroupCommit::spawn(Arc::clone(&recorder), 1_000);

    let first = hold_writer(&writer, &recorder, 0).await;
    let doomed = enqueue(&writer, [1, 2, 666, 3, 4]);
    recorder.open_gate();

    first.await.unwrap().unwrap();
    for commit in doomed {
        let err = commit.await.unwrap_err();
        assert!(matches!(err, StoreError::Database { .. }), "{err}");
    }
    assert_eq!(recorder.batches(), vec![vec![0], vec![1, 2, 666, 3, 4]]);
    let stats = writer.stats();
    assert_eq!((stats.transactions, stats.failed_transactions), (2, 1));
    assert_eq!((stats.commits, stats.changes), (6, 1));

    // The writer keeps going after a failed batch.
    commit_one(&writer, 7).await.unwrap();
    assert_eq!(recorder.batches().last(), Some(&vec![7]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_error_reaches_every_waiting_caller() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(dir.path(), "gc.db").await);
    let writer = GroupCommit::spawn(Arc::clone(&store), 64);
    writer
        .commit(vec![Change::Upsert(binding(1, "a@example.com"))])
        .await
        .unwrap();

    store.close().await;
    let tasks: Vec<_> = (2..50)
        .map(|id| tokio::spawn(commit_one(&writer, id)))
        .collect();
    for task in tasks {
        let err = task.await.unwrap().unwrap_err();
        assert!(matches!(err, StoreError::Database { .. }), "{err}");
        assert!(
            err.to_string().contains("applying location changes"),
            "{err}"
        );
    }
    assert_eq!(
        writer.stats().failed_transactions,
        writer.stats().transactions - 1
    );
}

#[tokio::test]
async fn shutdown_flushes_then_refuses_new_commits() {
    let recorder = Arc::new(Recorder::default());
    let writer = GroupCommit::spawn(Arc::clone(&recorder), 16);
    let other_handle = writer.clone();

    writer
        .commit(vec![Change::Upsert(binding(1, "a@example.com"))])
        .await
        .unwrap();
    writer.shutdown().await;
    assert_eq!(recorder.batches(), vec![vec![1]]);

    let err = other_handle
        .commit(vec![Change::Upsert(binding(2, "a@example.com"))])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Closed), "{err}");
    assert_eq!(recorder.batches().len(), 1);
}

#[tokio::test]
async fn empty_commits_cost_no_transaction() {
    let recorder = Arc::new(Recorder::default());
    let writer = GroupCommit::spawn(Arc::clone(&recorder), 16);
    writer.commit(Vec::new()).await.unwrap();
    assert!(recorder.batches().is_empty());
    assert_eq!(writer.stats().transactions, 0);
}

#[tokio::test]
async fn submitted_changes_keep_their_order_and_are_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(dir.path(), "order.db").await);
    let writer = GroupCommit::spawn(store.clone(), 8);
    // Many versions of one binding submitted back to back: the last one submitted must win.
    let mut pending = Vec::new();
    for cseq in 1..=50u32 {
        let mut b = binding(7, "a@example.com");
        b.cseq = cseq;
        pending.push(writer.submit(vec![Change::Upsert(b)]).unwrap());
    }
    for p in pending {
        p.wait().await.unwrap();
    }
    let loaded = store.load_bindings().await.unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].cseq, 50);
}

#[tokio::test]
async fn submit_then_answers_on_the_writer_thread() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open(dir.path(), "then.db").await);
    let writer = GroupCommit::spawn(Arc::clone(&store), 8);
    let (tx, answered) = tokio::sync::oneshot::channel();
    writer
        .submit_then(
            vec![Change::Upsert(binding(3, "a@example.com"))],
            move |outcome| {
                let thread = std::thread::current().name().map(str::to_owned);
                tx.send((outcome, thread)).unwrap();
            },
        )
        .unwrap();
    let (outcome, thread) = answered.await.unwrap();
    outcome.unwrap();
    assert_eq!(thread.as_deref(), Some("lamppost-store"));
    // Acknowledged means committed: another connection sees it.
    assert_eq!(
        store.load_bindings().await.unwrap(),
        vec![binding(3, "a@example.com")]
    );
}

#[tokio::test]
async fn a_full_queue_refuses_submissions_but_commit_waits_for_room() {
    let recorder = Arc::new(Recorder::gated(None));
    // One commit per transaction, so the queue holds 16.
    let writer = GroupCommit::spawn(Arc::clone(&recorder), 1);
    let first = hold_writer(&writer, &recorder, 0).await;

    let (tx, answers) = mpsc::channel();
    for id in 1..=16 {
        let tx = tx.clone();
        writer
            .submit_then(
                vec![Change::Upsert(binding(id, "a@example.com"))],
                move |outcome| tx.send((id, outcome.is_ok())).unwrap(),
            )
            .unwrap();
    }
    let refused_tx = tx.clone();
    let err = writer
        .submit_then(
            vec![Change::Upsert(binding(17, "a@example.com"))],
            move |outcome| refused_tx.send((17, outcome.is_ok())).unwrap(),
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Overloaded), "{err}");
    let err = writer
        .submit(vec![Change::Upsert(binding(18, "a@example.com"))])
        .unwrap_err();
    assert!(matches!(err, StoreError::Overloaded), "{err}");

    // `commit` waits for room instead of failing.
    let waiting = tokio::spawn(commit_one(&writer, 19));
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!waiting.is_finished());

    recorder.open_gate();
    first.await.unwrap().unwrap();
    waiting.await.unwrap().unwrap();
    drop(tx);
    let answered: Vec<(u64, bool)> = answers.iter().collect();
    assert_eq!(answered, (1..=16).map(|id| (id, true)).collect::<Vec<_>>());
    let flat: Vec<u64> = recorder.batches().concat();
    assert_eq!(flat, [(0..=16).collect::<Vec<u64>>(), vec![19]].concat());
}

#[test]
fn the_writer_needs_no_runtime_and_stops_when_every_handle_is_gone() {
    let recorder = Arc::new(Recorder::gated(None));
    let writer = GroupCommit::spawn(Arc::clone(&recorder), 1);
    let (tx, answers) = mpsc::channel();
    for id in 0..3 {
        let tx = tx.clone();
        writer
            .submit_then(
                vec![Change::Upsert(binding(id, "a@example.com"))],
                move |outcome| tx.send((id, outcome)).unwrap(),
            )
            .unwrap();
    }
    drop(tx);
    recorder.open_gate();
    let answered: Vec<(u64, Result<(), StoreError>)> = answers.iter().collect();
    assert_eq!(answered.len(), 3);
    assert!(
        answered.iter().all(|(_, outcome)| outcome.is_ok()),
        "{answered:?}"
    );
    assert_eq!(recorder.batches(), vec![vec![0], vec![1], vec![2]]);

    // The writer thread holds the store until it ends, which it does once the last handle is dropped.
    drop(writer);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while Arc::strong_count(&recorder) > 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the writer thread did not stop"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}
