//! The durability promise: once `GroupCommit::commit` resolves, the change survives `kill -9` of the process, whether
//! it still waits in the location journal or has been folded into `location`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use std::collections::BTreeMap;

use common::{binding, by_id, open, raw, url};
use registrar::{Binding, Change, RemovalReason};
use store::{GroupCommit, LocationStore};

const CHILD_DIR: &str = "LAMPPOST_STORE_DURABILITY_DIR";
const JOURNAL_CHILD_DIR: &str = "LAMPPOST_STORE_JOURNAL_DURABILITY_DIR";
const BATCHES: u64 = 50;

/// Run by [`acknowledged_commits_survive_kill_9`] in a child process: commits, reports each acknowledgement on
/// stdout, then waits to be killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child half of acknowledged_commits_survive_kill_9"]
async fn durability_child() {
    let dir = std::env::var(CHILD_DIR).expect("run by acknowledged_commits_survive_kill_9");
    let store = Arc::new(open(std::path::Path::new(&dir), "kill.db").await);
    let writer = GroupCommit::spawn(store, 64);
    for batch in 0..BATCHES {
        let changes = (0..10)
            .map(|i| Change::Upsert(binding(batch * 10 + i, "a@example.com")))
            .collect();
        writer.commit(changes).await.unwrap();
        println!("ACKED {batch}");
    }
    // Nothing is closed or flushed on the way out: the parent kills this process.
    std::future::pending::<()>().await;
}

#[tokio::test]
async fn acknowledged_commits_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "durability_child", "--ignored", "--nocapture"])
        .env(CHILD_DIR, dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acked = 0;
    for line in BufReader::new(stdout).lines() {
        if line.unwrap().starts_with("ACKED ") {
            acked += 1;
            if acked == BATCHES {
                break;
            }
        }
    }
    assert_eq!(acked, BATCHES, "the child stopped early");
    child.kill().unwrap();
    child.wait().unwrap();

    let store = open(dir.path(), "kill.db").await;
    let expected: Vec<_> = (0..BATCHES * 10)
        .map(|id| binding(id, "a@example.com"))
        .collect();
    assert_eq!(by_id(store.load_bindings().await.unwrap()), expected);
}

/// Batches the journal child commits: 60,000 changes, past the 50,000 at which the writer starts folding.
const JOURNAL_BATCHES: u64 = 120;
const JOURNAL_BATCH: u64 = 500;

/// Batch `k` of the journal test: upserts and removes over 3,000 ids, each upsert tagged with its batch.
fn journal_batch(k: u64) -> Vec<Change> {
    (0..JOURNAL_BATCH)
        .map(|i| {
            let id = (k * JOURNAL_BATCH + i * 7) % 3_000;
            if (k + i).is_multiple_of(5) {
                Change::Remove {
                    id,
                    aor: String::new(),
                    uri: String::new(),
                    reason: RemovalReason::Unregistered,
                }
            } else {
                let mut b = binding(id, "j@example.com");
                b.cseq = u32::try_from(k).unwrap();
                Change::Upsert(b)
            }
        })
        .collect()
}

/// Run by [`acknowledged_commits_survive_kill_9_folded_or_not`] in a child process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child half of acknowledged_commits_survive_kill_9_folded_or_not"]
async fn journal_durability_child() {
    let dir = std::env::var(JOURNAL_CHILD_DIR).expect("run by its parent test");
    let store = Arc::new(open(std::path::Path::new(&dir), "kill.db").await);
    let writer = GroupCommit::spawn(store, 64);
    for k in 0..JOURNAL_BATCHES {
        writer.commit(journal_batch(k)).await.unwrap();
        println!("ACKED {k}");
    }
    std::future::pending::<()>().await;
}

#[tokio::test]
async fn acknowledged_commits_survive_kill_9_folded_or_not() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "journal_durability_child",
            "--ignored",
            "--nocapture",
        ])
        .env(JOURNAL_CHILD_DIR, dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acked = 0;
    for line in BufReader::new(stdout).lines() {
        if line.unwrap().starts_with("ACKED ") {
            acked += 1;
            if acked == JOURNAL_BATCHES {
                break;
            }
        }
    }
    assert_eq!(acked, JOURNAL_BATCHES, "the child stopped early");
    child.kill().unwrap();
    child.wait().unwrap();

    // The killed writer had folded part of the changes and left the rest in the journal.
    let conn = raw(&url(dir.path(), "kill.db"));
    let count = |table: &str| -> i64 {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    };
    assert!(count("location") > 0, "nothing was folded");
    assert!(count("location_journal") > 0, "nothing was left unfolded");
    drop(conn);

    let mut model = BTreeMap::<u64, Binding>::new();
    for k in 0..JOURNAL_BATCHES {
        for change in journal_batch(k) {
            match change {
                Change::Upsert(b) => {
                    model.insert(b.id, b);
                }
                Change::Remove { id, .. } => {
                    model.remove(&id);
                }
            }
        }
    }
    let store = open(dir.path(), "kill.db").await;
    let expected: Vec<Binding> = model.into_values().collect();
    assert_eq!(by_id(store.load_bindings().await.unwrap()), expected);
}
