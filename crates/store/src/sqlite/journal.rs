//! The location journal: binding changes appended to `location_journal`, folded into `location` in the background.
//!
//! # Why
//! Refreshes hit bindings in no particular order, so writing each one into `location` costs a B-tree page of its
//! own: a page read, a WAL frame and a checkpoint copy per binding. Appending to the journal instead lands every row
//! of a batch on the rightmost page of one B-tree, so a batch touches a page or two whatever its size.
//!
//! # Folding
//! The journal is folded into `location` rarely and wholesale, so that each binding is written once per fold
//! however often it changed, and the writes go in id order, sharing pages. A fold starts once the journal holds
//! more than [`FOLD_FACTOR`] times as many rows as `location` (and at least [`FOLD_MIN_ROWS`]); under refresh
//! load, where every binding changes about once per expiry, it then writes each binding about once for every
//! [`FOLD_FACTOR`] changes. It runs as a [`Fold`], one bounded step between two batches of the writer:
//! 1. **rotate**: `location_journal` and the empty `location_journal_folding` swap names, so appends go on into an
//!    empty `location_journal` while the rows to fold sit still in `location_journal_folding`;
//! 2. **scan** `location_journal_folding`, [`Budget::scan_rows`] rows a step, noting the `seq` of the latest change
//!    of each binding id (a map of one `(id, seq)` pair per binding, held only while the fold runs);
//! 3. **write** those latest changes into `location`, in id order, [`Budget::write_bindings`] bindings per
//!    transaction, reading each by its `seq`;
//! 4. **clear** `location_journal_folding` with one `DELETE` without `WHERE`, which SQLite runs by freeing the
//!    table's pages, without the per-row work (and page rebalancing) of deleting a range of rows.
//!
//! Appends give `seq` explicitly (the store counts on from the largest at open), so it grows across both tables.
//!
//! Why this is exact at every commit in between: [`overlay`] applies every journal row of a binding, in `seq` order
//! across both tables, on top of its `location` row, so while the journal holds a change of a binding, what
//! `location` says about it does not matter. A write step writes a change that is still in the journal; the clear
//! drops a binding's folded rows only once its latest one has been written, and rows appended meanwhile are in the
//! other table. A crash at any point leaves a state that reads back exactly, and the next open folds it. A fold
//! notes SQLite's `data_version` when it starts and gives up if another connection (or process) commits meanwhile,
//! since that one may have folded the journal itself.
//!
//! Cost, from `cargo bench -p store --bench commit` (100,000 bindings refreshed in batches of 50, ext4, on a
//! shared two-core machine): the writer spends about 6 µs of CPU per REGISTER, commit and fold together, where
//! folding slices of 4,000 journal rows in `seq` order cost about 18 µs; a step holds the next batch back for about
//! 10 ms (scan, write) and at most a few tens of milliseconds (the clear, a checkpoint), where a slice held it for
//! 135 ms on average and up to 430 ms.
//!
//! So `location` lags the committed state by at most the journal: [`FOLD_FACTOR`] times its own row count (at
//! least [`FOLD_MIN_ROWS`]) plus what is appended while a fold runs (a second or so of load). [`fold_all`], at open
//! and close, folds everything in one transaction.
//!
//! # Reading
//! [`overlay`] applies the journal, in `seq` order, on top of the `location` rows, which gives exactly what
//! writing every change to `location` directly would have.

use std::collections::{BTreeMap, HashMap};

use registrar::Binding;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::binding_row::{self, BindingRow};
use super::journal_codec::{self, JournalChange};

/// Journal length below which no fold starts, however small `location` is.
pub(super) const FOLD_MIN_ROWS: u64 = 50_000;

/// A fold starts once the journal holds more than this many rows per `location` row.
pub(super) const FOLD_FACTOR: u64 = 3;

/// How much a [`Fold`] does in one step.
#[derive(Debug, Clone, Copy)]
pub(super) struct Budget {
    /// Journal rows read per step while scanning.
    pub(super) scan_rows: u64,
    /// Bindings written to `location` per transaction.
    pub(super) write_bindings: usize,
}

/// The writer's budget between two batches: each step takes a few milliseconds.
pub(super) const STEP: Budget = Budget {
    scan_rows: 10_000,
    write_bindings: 1_000,
};

/// Appends one encoded change (`?2`) with its `seq` (`?1`).
pub(super) const APPEND: &str = "INSERT INTO location_journal (seq, change) VALUES (?1, ?2)";

/// Both journal tables' rows, in `seq` order.
const SELECT_IN_ORDER: &str = "SELECT seq, change FROM location_journal_folding \
     UNION ALL SELECT seq, change FROM location_journal ORDER BY seq";

/// Up to `?2` rows being folded, from `seq` `?1` on, in order.
const SELECT_RANGE: &str =
    "SELECT seq, change FROM location_journal_folding WHERE seq >= ?1 ORDER BY seq LIMIT ?2";

/// The change being folded at one `seq`.
const SELECT_ONE: &str = "SELECT change FROM location_journal_folding WHERE seq = ?1";

/// Swaps the two journal tables' names (`location_journal_folding` is empty when this runs).
const ROTATE: &str = "ALTER TABLE location_journal RENAME TO location_journal_rotating; \
     ALTER TABLE location_journal_folding RENAME TO location_journal; \
     ALTER TABLE location_journal_rotating RENAME TO location_journal_folding;";

/// Empties the folded table (SQLite frees its pages without visiting rows one by one).
const CLEAR_FOLDED: &str = "DELETE FROM location_journal_folding";

/// Moves every row of `location_journal` to `location_journal_folding` (used by [`fold_all`] only).
const MOVE_ALL: &str = "INSERT INTO location_journal_folding (seq, change) \
     SELECT seq, change FROM location_journal ORDER BY seq; DELETE FROM location_journal;";

/// Rows in the table being folded.
const FOLDING_ROWS: &str = "SELECT count(*) FROM location_journal_folding";

/// The largest `seq` in either table (0 when both are empty).
const LAST_SEQ: &str = "SELECT max(coalesce((SELECT max(seq) FROM location_journal), 0), \
     coalesce((SELECT max(seq) FROM location_journal_folding), 0))";

/// Rows of `location` (counted on its smaller index).
const LOCATION_ROWS: &str = "SELECT count(*) FROM location";

/// How many changes `location_journal` holds: appends take consecutive `seq` values, so two index look-ups give
/// the count.
const LENGTH: &str = "SELECT coalesce((SELECT max(seq) FROM location_journal) - \
     (SELECT min(seq) FROM location_journal) + 1, 0)";

/// How many changes wait in `location_journal` (not counting a table being folded).
pub(super) fn length(conn: &Connection) -> rusqlite::Result<u64> {
    let n: i64 = conn
        .prepare_cached(LENGTH)?
        .query_row([], |row| row.get(0))?;
    Ok(n.cast_unsigned())
}

/// How many rows `location` holds.
pub(super) fn location_rows(conn: &Connection) -> rusqlite::Result<u64> {
    let n: i64 = conn
        .prepare_cached(LOCATION_ROWS)?
        .query_row([], |row| row.get(0))?;
    Ok(n.cast_unsigned())
}

/// The `seq` the next append takes: one past the largest in either table.
pub(super) fn next_seq(conn: &Connection) -> rusqlite::Result<i64> {
    let last: i64 = conn
        .prepare_cached(LAST_SEQ)?
        .query_row([], |row| row.get(0))?;
    Ok(last + 1)
}

/// The journal length above which a fold starts, for a `location` of `rows` rows.
fn threshold(rows: u64) -> u64 {
    rows.saturating_mul(FOLD_FACTOR).max(FOLD_MIN_ROWS)
}

/// A fold of the journal into `location`, done a step at a time between the writer's batches; see the module docs.
#[derive(Debug, Default)]
pub(super) struct Fold {
    phase: Phase,
    /// Rows of `location` when the last fold ended (or at open), which sets when the next one starts.
    location_rows: u64,
    /// The `seq` of the next append.
    next_seq: i64,
}

/// Where a [`Fold`] is.
#[derive(Debug, Default)]
enum Phase {
    /// No fold under way.
    #[default]
    Idle,
    /// Reading `location_journal_folding` from `next`; `latest` maps each binding id (as `location` stores it) to
    /// the `seq` of its latest change so far.
    Scanning {
        plan: Plan,
        next: i64,
        latest: BTreeMap<i64, i64>,
    },
    /// Writing the latest change of each binding left in `latest`, in id order.
    Writing {
        plan: Plan,
        latest: BTreeMap<i64, i64>,
    },
    /// Emptying `location_journal_folding`.
    Clearing { plan: Plan },
}

/// What a fold started from.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// SQLite's `data_version` after the rotation: it changes when another connection commits.
    data_version: i64,
}

impl Fold {
    /// A fold that waits until the journal outgrows a `location` of `location_rows` rows; appends go on from
    /// [`next_seq`].
    pub(super) fn new(conn: &Connection) -> rusqlite::Result<Self> {
        Ok(Self {
            phase: Phase::Idle,
            location_rows: location_rows(conn)?,
            next_seq: next_seq(conn)?,
        })
    }

    /// Appends encoded changes to `location_journal` in one transaction.
    pub(super) fn append(
        &mut self,
        conn: &mut Connection,
        entries: &[Vec<u8>],
    ) -> rusqlite::Result<()> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut seq = self.next_seq;
        {
            let mut append = tx.prepare_cached(APPEND)?;
            for entry in entries {
                append.execute(rusqlite::params![seq, entry])?;
                seq += 1;
            }
        }
        tx.commit()?;
        self.next_seq = seq;
        Ok(())
    }

    /// Does one step of folding when a fold is due or under way, within `budget`; returns whether it did anything.
    pub(super) fn step(&mut self, conn: &mut Connection, budget: Budget) -> rusqlite::Result<bool> {
        // A failed step leaves the fold idle: the next one starts over, from a state that reads back exactly.
        self.phase = match std::mem::take(&mut self.phase) {
            Phase::Idle => {
                if length(conn)? <= threshold(self.location_rows) {
                    return Ok(false);
                }
                rotate(conn)?
            }
            Phase::Scanning { plan, next, latest } => scan(conn, plan, next, latest, budget)?,
            Phase::Writing { plan, latest } => write(conn, plan, latest, budget)?,
            Phase::Clearing { plan } => clear(conn, plan)?,
        };
        if matches!(self.phase, Phase::Idle) {
            self.location_rows = location_rows(conn)?;
        }
        Ok(true)
    }
}

/// Starts a fold: swaps the journal tables so that the rows to fold stop moving. Idle if the table to fold into is
/// not empty (a fold by another connection left it so), since swapping would then mix tables.
fn rotate(conn: &mut Connection) -> rusqlite::Result<Phase> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let waiting: i64 = tx
        .prepare_cached(FOLDING_ROWS)?
        .query_row([], |row| row.get(0))?;
    if waiting > 0 {
        return Ok(Phase::Idle);
    }
    tx.execute_batch(ROTATE)?;
    tx.commit()?;
    Ok(Phase::Scanning {
        plan: Plan {
            data_version: data_version(conn)?,
        },
        next: i64::MIN,
        latest: BTreeMap::new(),
    })
}

/// SQLite's `data_version` of `conn`.
fn data_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "data_version", |row| row.get(0))
}

/// Whether nobody but `conn` committed since `plan` was made.
fn still_valid(conn: &Connection, plan: Plan) -> rusqlite::Result<bool> {
    let valid = data_version(conn)? == plan.data_version;
    if !valid {
        tracing::debug!("another connection wrote to the database; the journal fold starts over");
    }
    Ok(valid)
}

/// Scanning: reads up to `budget.scan_rows` rows from `next`.
fn scan(
    conn: &mut Connection,
    plan: Plan,
    next: i64,
    mut latest: BTreeMap<i64, i64>,
    budget: Budget,
) -> rusqlite::Result<Phase> {
    let tx = conn.transaction()?;
    if !still_valid(&tx, plan)? {
        return Ok(Phase::Idle);
    }
    let (read, last) = note_latest(&tx, next, budget.scan_rows, &mut latest)?;
    tx.commit()?;
    Ok(match last {
        Some(seq) if read == budget.scan_rows => Phase::Scanning {
            plan,
            next: seq + 1,
            latest,
        },
        _ => Phase::Writing { plan, latest },
    })
}

/// Notes in `latest` the binding ids of up to `limit` readable rows of `location_journal_folding` from `from` on;
/// returns how many rows it read and the last `seq`.
fn note_latest(
    conn: &Connection,
    from: i64,
    limit: u64,
    latest: &mut BTreeMap<i64, i64>,
) -> rusqlite::Result<(u64, Option<i64>)> {
    let mut select = conn.prepare_cached(SELECT_RANGE)?;
    let mut rows = select.query([from, limit.cast_signed()])?;
    let mut read = 0;
    let mut last = None;
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        // A row readers skip must not hide an earlier change of its binding, so it is not noted.
        if let Some(change) = decode(seq, row.get_ref(1)?) {
            latest.insert(change_id(&change), seq);
        }
        read += 1;
        last = Some(seq);
    }
    Ok((read, last))
}

/// Writing: writes the next `budget.write_bindings` bindings of `latest` in one transaction.
fn write(
    conn: &mut Connection,
    plan: Plan,
    mut latest: BTreeMap<i64, i64>,
    budget: Budget,
) -> rusqlite::Result<Phase> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if !still_valid(&tx, plan)? {
        return Ok(Phase::Idle);
    }
    write_latest(&tx, &mut latest, budget.write_bindings)?;
    tx.commit()?;
    Ok(if latest.is_empty() {
        Phase::Clearing { plan }
    } else {
        Phase::Writing { plan, latest }
    })
}

/// Takes up to `limit` bindings from the front of `latest` and writes each one's change (read from
/// `location_journal_folding` by its `seq`) into `location`.
fn write_latest(
    tx: &Transaction<'_>,
    latest: &mut BTreeMap<i64, i64>,
    limit: usize,
) -> rusqlite::Result<()> {
    let mut select = tx.prepare_cached(SELECT_ONE)?;
    let mut upsert = tx.prepare_cached(binding_row::UPSERT)?;
    let mut delete = tx.prepare_cached(binding_row::DELETE)?;
    for _ in 0..limit {
        let Some((id, seq)) = latest.pop_first() else {
            break;
        };
        let change = select
            .query_row([seq], |row| Ok(decode(seq, row.get_ref(0)?)))
            .optional()?
            .flatten();
        match change {
            Some(JournalChange::Remove(_)) => {
                delete.execute([id])?;
            }
            Some(JournalChange::Upsert(b)) => BindingRow::encode(&b).upsert(&mut upsert)?,
            // Noted by the scan, so present and readable unless the database changed under the fold.
            None => {}
        }
    }
    Ok(())
}

/// Clearing: empties `location_journal_folding`, which ends the fold.
fn clear(conn: &mut Connection, plan: Plan) -> rusqlite::Result<Phase> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if still_valid(&tx, plan)? {
        tx.execute_batch(CLEAR_FOLDED)?;
        tx.commit()?;
    }
    Ok(Phase::Idle)
}

/// Folds both journal tables into `location` in one transaction and empties them; returns how many journal rows
/// it folded.
pub(super) fn fold_all(conn: &mut Connection) -> rusqlite::Result<u64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if length(&tx)? > 0 {
        tx.execute_batch(MOVE_ALL)?;
    }
    let mut latest = BTreeMap::new();
    let (folded, _) = note_latest(&tx, i64::MIN, u64::MAX >> 1, &mut latest)?;
    if folded == 0 {
        return Ok(0);
    }
    write_latest(&tx, &mut latest, usize::MAX)?;
    tx.execute_batch(CLEAR_FOLDED)?;
    tx.commit()?;
    Ok(folded)
}

/// The binding id a change is about, as `location` stores it (the signed integer with the same bits).
fn change_id(change: &JournalChange) -> i64 {
    match change {
        JournalChange::Upsert(b) => b.id.cast_signed(),
        JournalChange::Remove(id) => id.cast_signed(),
    }
}

/// Applies the journal, read within `tx`, to `bindings` (the `location` rows read in the same transaction).
pub(super) fn overlay(
    tx: &Transaction<'_>,
    bindings: Vec<Binding>,
) -> rusqlite::Result<Vec<Binding>> {
    if next_seq(tx)? == 1 {
        return Ok(bindings);
    }
    // Changes apply in place: replaced bindings are overwritten, removed ones marked and dropped at the end, so the
    // whole set is never copied.
    let mut bindings = bindings;
    let mut removed = vec![false; bindings.len()];
    let mut index: HashMap<u64, usize> = bindings
        .iter()
        .enumerate()
        .map(|(i, b)| (b.id, i))
        .collect();
    let mut select = tx.prepare(SELECT_IN_ORDER)?;
    let mut rows = select.query([])?;
    while let Some(row) = rows.next()? {
        match decode(row.get(0)?, row.get_ref(1)?) {
            Some(JournalChange::Upsert(b)) => match index.get(&b.id) {
                Some(&i) => {
                    bindings[i] = b;
                    removed[i] = false;
                }
                None => {
                    index.insert(b.id, bindings.len());
                    bindings.push(b);
                    removed.push(false);
                }
            },
            Some(JournalChange::Remove(id)) => {
                if let Some(&i) = index.get(&id) {
                    removed[i] = true;
                }
            }
            None => {}
        }
    }
    let mut gone = removed.into_iter();
    bindings.retain(|_| !gone.next().unwrap_or(false));
    Ok(bindings)
}

/// Decodes the change at `seq`, logging and skipping one that cannot be read (written by a newer version, or
/// damaged).
fn decode(seq: i64, value: ValueRef<'_>) -> Option<JournalChange> {
    let decoded = match value {
        ValueRef::Blob(bytes) => journal_codec::decode(bytes),
        other => Err(format!("a {} value, not a blob", other.data_type())),
    };
    match decoded {
        Ok(change) => Some(change),
        Err(problem) => {
            tracing::warn!(seq, %problem, "skipping an unreadable location journal row");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use registrar::{Source, Transport, UnixTime};

    use super::*;

    fn binding(id: u64, cseq: u32) -> Binding {
        let addr: SocketAddr = "192.0.2.1:5060".parse().unwrap();
        Binding {
            id,
            aor: format!("u{id}@example.com").into(),
            uri: format!("sip:u{id}@192.0.2.1").into(),
            q: None,
            expires_at: UnixTime(100),
            registered_at: UnixTime(1),
            updated_at: UnixTime(2),
            call_id: "c".into(),
            cseq,
            branch_hash: 0,
            source: Source {
                remote: addr,
                local: addr.into(),
                transport: Transport::Udp,
                connection: None,
            },
            user_agent: "".into(),
            extras: registrar::Extras::default(),
        }
    }

    /// Appends `change` with the next `seq`, as the store does.
    fn append(conn: &Connection, change: &[u8]) {
        let seq = next_seq(conn).unwrap();
        conn.execute(APPEND, rusqlite::params![seq, change])
            .unwrap();
    }

    /// Rows of both journal tables.
    fn journal_rows(conn: &Connection) -> i64 {
        conn.query_row(
            "SELECT (SELECT count(*) FROM location_journal) + (SELECT count(*) FROM location_journal_folding)",
            [],
            |r| r.get(0),
        )
        .unwrap()
    }

    /// Appends the changes of the first tests: upserts and removes of ids whose signed order (the fold's) differs
    /// from the unsigned one, a damaged row and a row that is not a blob.
    fn append_mixed(conn: &Connection) {
        let ids = [5, u64::MAX, 1 << 63, 2, 9];
        let mut cseq = 0;
        for round in 0..4 {
            for (i, &id) in ids.iter().enumerate() {
                cseq += 1;
                if (i + round) % 3 == 0 {
                    append(conn, &journal_codec::encode_remove(id));
                } else {
                    append(conn, &journal_codec::encode_upsert(&binding(id, cseq)));
                }
            }
        }
        // Damaged and foreign rows are skipped, by readers and folds alike.
        append(conn, &[9, 9, 9]);
        let seq = next_seq(conn).unwrap();
        conn.execute(APPEND, rusqlite::params![seq, "text, not a blob"])
            .unwrap();
        append(conn, &journal_codec::encode_upsert(&binding(7, 99)));
    }

    const TINY: Budget = Budget {
        scan_rows: 3,
        write_bindings: 2,
    };

    /// `location` alone, sorted by id.
    fn location(conn: &mut Connection) -> Vec<Binding> {
        let mut select = conn.prepare(binding_row::SELECT_ALL).unwrap();
        let mut out: Vec<Binding> = select
            .query_map([], |row| Ok(binding_row::decode(row).unwrap()))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        out.sort_by_key(|b| b.id);
        out
    }

    /// What a reader sees, sorted by id.
    fn view(conn: &mut Connection) -> Vec<Binding> {
        let rows = location(conn);
        let tx = conn.transaction().unwrap();
        let mut out = overlay(&tx, rows).unwrap();
        out.sort_by_key(|b| b.id);
        out
    }

    #[test]
    fn folding_step_by_step_never_changes_what_readers_see() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::prepare(&mut conn).unwrap();
        append_mixed(&conn);
        let before = view(&mut conn);
        assert!(before.iter().any(|b| b.id == 7 && b.cseq == 99));
        assert_eq!(length(&conn).unwrap(), 23);

        // Below the threshold (50,000 rows) nothing starts.
        let mut fold = Fold::new(&conn).unwrap();
        assert!(!fold.step(&mut conn, TINY).unwrap());
        // Started by hand, a fold in tiny steps; fresh bindings are appended before each step, and readers always
        // see everything.
        fold.phase = rotate(&mut conn).unwrap();
        assert_eq!(length(&conn).unwrap(), 0);
        fold.next_seq = next_seq(&conn).unwrap();
        let mut steps = 0;
        let mut late = Vec::new();
        while !matches!(fold.phase, Phase::Idle) {
            let b = binding(100 + steps, 500);
            fold.append(&mut conn, &[journal_codec::encode_upsert(&b)])
                .unwrap();
            late.push(b);
            assert!(fold.step(&mut conn, TINY).unwrap());
            steps += 1;
            let mut expected = before.clone();
            expected.extend(late.iter().cloned());
            expected.sort_by_key(|b| b.id);
            assert_eq!(view(&mut conn), expected, "after step {steps}");
        }
        // 23 rows scanned 3 at a time (the last step finds 2), 6 bindings written 2 at a time, one clear.
        assert_eq!(steps, 8 + 3 + 1);
        // Only the rows appended during the fold are left, and `location` holds the rest.
        assert_eq!(journal_rows(&conn), 12);
        assert_eq!(location(&mut conn), before);
        assert_eq!(fold_all(&mut conn).unwrap(), 12);
        assert_eq!(journal_rows(&conn), 0);
        let mut expected = before;
        expected.extend(late);
        expected.sort_by_key(|b| b.id);
        assert_eq!(location(&mut conn), expected);
        assert_eq!(fold_all(&mut conn).unwrap(), 0);
    }

    #[test]
    fn a_fold_left_half_done_is_finished_by_fold_all() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::prepare(&mut conn).unwrap();
        append_mixed(&conn);
        let mut fold = Fold::new(&conn).unwrap();
        fold.phase = rotate(&mut conn).unwrap();
        assert!(fold.step(&mut conn, TINY).unwrap());
        // More changes, some of bindings being folded, then the fold is abandoned (as a crash would).
        let newer = binding(5, 1_000);
        fold.append(
            &mut conn,
            &[
                journal_codec::encode_upsert(&newer),
                journal_codec::encode_remove(7),
            ],
        )
        .unwrap();
        let before = view(&mut conn);
        assert!(before.contains(&newer));
        assert!(!before.iter().any(|b| b.id == 7));
        assert_eq!(fold_all(&mut conn).unwrap(), 25);
        assert_eq!(journal_rows(&conn), 0);
        assert_eq!(location(&mut conn), before);
    }

    #[test]
    fn a_commit_by_another_connection_makes_the_fold_start_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.db");
        let mut conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        super::super::schema::prepare(&mut conn).unwrap();
        for id in 0..10 {
            append(&conn, &journal_codec::encode_upsert(&binding(id, 1)));
        }
        let budget = Budget {
            scan_rows: 100,
            write_bindings: 3,
        };
        let mut fold = Fold::new(&conn).unwrap();
        fold.phase = rotate(&mut conn).unwrap();
        assert!(fold.step(&mut conn, budget).unwrap());
        assert!(matches!(fold.phase, Phase::Writing { .. }));
        // Another connection folds everything and appends.
        let mut other = Connection::open(&path).unwrap();
        fold_all(&mut other).unwrap();
        append(&other, &journal_codec::encode_upsert(&binding(1, 2)));
        drop(other);
        assert!(fold.step(&mut conn, budget).unwrap());
        assert!(matches!(fold.phase, Phase::Idle));
        // Nothing was lost: the new row is still in the journal.
        assert_eq!(journal_rows(&conn), 1);
        assert!(view(&mut conn).iter().any(|b| b.id == 1 && b.cseq == 2));
        assert_eq!(view(&mut conn).len(), 10);
    }
}
