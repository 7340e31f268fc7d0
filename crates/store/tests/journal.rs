//! The location journal: changes are appended to `location_journal`, read back on top of `location`, and folded into
//! `location` past 50,000 rows (for a small `location`), at shutdown, at close and at open.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use common::{binding, by_id, open, raw, url};
use registrar::{Binding, Change, RemovalReason, UnixTime};
use store::{GroupCommit, LocationStore};

/// Journal length past which the writer folds while `location` holds fewer than a third as many rows (the store's
/// `FOLD_MIN_ROWS`).
const FOLD_ROWS: u64 = 50_000;

fn remove(id: u64) -> Change {
    Change::Remove {
        id,
        aor: String::new(),
        uri: String::new(),
        reason: RemovalReason::Expired,
    }
}

/// Rows in `table` of the database `name` in `dir`, read behind the store's back.
fn rows(dir: &Path, name: &str, table: &str) -> u64 {
    let n: i64 = raw(&url(dir, name))
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap();
    u64::try_from(n).unwrap()
}

/// A deterministic stream of pseudo-random numbers (SplitMix64).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

/// Random changes over a small id space, recorded in `model` as they are made. Ids are spread over the whole `u64`
/// range (the top bit included) so that folding in id order meets negative stored ids too.
fn random_changes(rng: &mut Rng, model: &mut BTreeMap<u64, Binding>, n: usize) -> Vec<Change> {
    (0..n)
        .map(|_| {
            let id = rng.below(4_000).wrapping_mul(0x0100_0000_0000_0001);
            if rng.below(4) == 0 {
                model.remove(&id);
                remove(id)
            } else {
                let mut b = binding(id, &format!("user{}@example.com", id % 101));
                let version = rng.below(1_000_000);
                b.cseq = u32::try_from(version).unwrap();
                b.updated_at = UnixTime(1_800_000_000 + b.cseq);
                b.call_id = format!("call-{id}-{version}").into();
                model.insert(id, b.clone());
                Change::Upsert(b)
            }
        })
        .collect()
}

fn expected(model: &BTreeMap<u64, Binding>) -> Vec<Binding> {
    by_id(model.values().cloned().collect())
}

#[tokio::test]
async fn changes_wait_in_the_journal_and_reads_see_them_on_top_of_location() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), "j.db").await;
    let a = binding(1, "a@example.com");
    let b = binding(2, "b@example.com");
    store
        .apply(&[Change::Upsert(a.clone()), Change::Upsert(b.clone())])
        .await
        .unwrap();
    store.close().await;
    // Closing folded both into `location`.
    assert_eq!(rows(dir.path(), "j.db", "location"), 2);
    assert_eq!(rows(dir.path(), "j.db", "location_journal"), 0);

    let store = open(dir.path(), "j.db").await;
    let mut a2 = a.clone();
    a2.cseq = 2;
    let c = binding(3, "c@example.com");
    store
        .apply(&[
            Change::Upsert(a2.clone()),
            remove(2),
            Change::Upsert(c.clone()),
        ])
        .await
        .unwrap();
    store.apply(&[remove(3)]).await.unwrap();
    // Nothing folded yet: `location` still has the old rows, the journal the four changes.
    assert_eq!(rows(dir.path(), "j.db", "location"), 2);
    assert_eq!(rows(dir.path(), "j.db", "location_journal"), 4);
    assert_eq!(store.load_bindings().await.unwrap(), vec![a2.clone()]);
    store.close().await;

    assert_eq!(rows(dir.path(), "j.db", "location"), 1);
    assert_eq!(rows(dir.path(), "j.db", "location_journal"), 0);
    let store = open(dir.path(), "j.db").await;
    assert_eq!(store.load_bindings().await.unwrap(), vec![a2]);
}

#[tokio::test]
async fn opening_folds_a_journal_left_behind() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = BTreeMap::new();
    let mut rng = Rng(7);
    {
        let store = open(dir.path(), "j.db").await;
        for _ in 0..5 {
            let changes = random_changes(&mut rng, &mut model, 300);
            store.apply(&changes).await.unwrap();
        }
        // Dropped without closing, as a crash would leave it.
    }
    assert!(rows(dir.path(), "j.db", "location_journal") > 0);
    assert_eq!(rows(dir.path(), "j.db", "location"), 0);

    let store = open(dir.path(), "j.db").await;
    assert_eq!(rows(dir.path(), "j.db", "location_journal"), 0);
    assert_eq!(
        rows(dir.path(), "j.db", "location"),
        u64::try_from(model.len()).unwrap()
    );
    assert_eq!(
        by_id(store.load_bindings().await.unwrap()),
        expected(&model)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_changes_across_folds_and_reopens_read_back_as_applied() {
    let dir = tempfile::tempdir().unwrap();
    let mut model = BTreeMap::new();
    let mut rng = Rng(42);
    for round in 0..3 {
        let store = Arc::new(open(dir.path(), "j.db").await);
        assert_eq!(
            by_id(store.load_bindings().await.unwrap()),
            expected(&model),
            "at the start of round {round}"
        );
        let writer = GroupCommit::spawn(Arc::clone(&store), 64);
        // Past the fold threshold, so the writer folds between batches during the round.
        let mut written = 0;
        while written < FOLD_ROWS + 10_000 {
            let changes = random_changes(&mut rng, &mut model, 500);
            written += 500;
            writer.commit(changes).await.unwrap();
        }
        let journal = rows(dir.path(), "j.db", "location_journal");
        assert!(
            journal <= FOLD_ROWS + 500,
            "round {round}: {journal} journal rows, no fold happened"
        );
        assert!(rows(dir.path(), "j.db", "location") > 0);
        assert_eq!(
            by_id(store.load_bindings().await.unwrap()),
            expected(&model),
            "round {round}, with part of the journal folded"
        );
        // End the round three ways: shut down and closed (everything folded); or every handle dropped, so the
        // writer folds on its own thread as it stops, racing the next round's open and fold (both wait for SQLite's
        // write lock).
        let tail = random_changes(&mut rng, &mut model, 700);
        writer.commit(tail).await.unwrap();
        if round == 1 {
            writer.shutdown().await;
            assert_eq!(rows(dir.path(), "j.db", "location_journal"), 0);
            store.close().await;
        } else {
            drop(writer);
            drop(store);
        }
    }
    let store = open(dir.path(), "j.db").await;
    assert_eq!(
        by_id(store.load_bindings().await.unwrap()),
        expected(&model)
    );
}
