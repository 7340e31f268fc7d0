//! The durability promise: once `GroupCommit::commit` resolves, the change survives `kill -9` of the process.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::{binding, by_id, open};
use registrar::Change;
use store::{GroupCommit, LocationStore};

const CHILD_DIR: &str = "LAMPPOST_STORE_DURABILITY_DIR";
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
