//! The location journal: binding changes appended to `location_journal`, folded into `location` in the background.
//!
//! # Why
//! Refreshes hit bindings in no particular order, so writing each one into `location` costs a B-tree page of its
//! own: a page read, a WAL frame and a checkpoint copy per binding. Appending to the journal instead lands every row
//! of a batch on the rightmost page of one B-tree, so a batch touches a page or two whatever its size.
//!
//! # Folding
//! Once the journal holds more than [`FOLD_ROWS`] changes, the writer folds it between batches, one slice of at
//! most [`FOLD_SLICE`] rows per transaction: it reads the slice in `seq` order, keeps the last change of each binding,
//! applies those to `location` in id order (so consecutive rows share pages, which is what makes a fold cheaper than
//! the writes it replaces) and deletes the slice, all in one transaction. Nothing else writes meanwhile, and a crash
//! mid-fold rolls the slice back whole, so a change is always in exactly one of the two tables' view.
//!
//! The trade-off: commits that arrive while a slice folds wait for it, so the slice is sized for latency. On a
//! 100,000-binding table refreshed in random order a fold costs about 11 µs per journal row on tmpfs, so a slice of
//! [`FOLD_SLICE`] rows holds replies for about 45 ms (measured mean; 65 ms at worst); on ext4 the checkpoints' page
//! writes and fsyncs make that about 95 ms on average and up to about 300 ms. Bigger slices fold cheaper per row (the
//! sorted writes share more pages: about 5 µs per row when 60,000 rows fold at once, on tmpfs) but hold replies
//! for hundreds of milliseconds. So the journal takes the page-per-binding cost off the reply path without making
//! the writer's total work smaller, unless the journal holds several changes per binding, which coalesce into one
//! write.
//!
//! # Reading
//! [`overlay`] applies the journal, in `seq` order, on top of the `location` rows, which gives exactly what
//! writing every change to `location` directly would have.

use std::collections::{BTreeMap, HashMap};

use registrar::Binding;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::binding_row::{self, BindingRow};
use super::journal_codec::{self, JournalChange};

/// Journal length above which the writer folds between batches.
pub(super) const FOLD_ROWS: u64 = 50_000;

/// Most journal rows folded in one transaction.
pub(super) const FOLD_SLICE: u64 = 4_000;

/// Appends one encoded change; `seq` is assigned by SQLite (the next rowid).
pub(super) const APPEND: &str = "INSERT INTO location_journal (change) VALUES (?1)";

/// Journal rows in the order they were written.
const SELECT_IN_ORDER: &str = "SELECT seq, change FROM location_journal ORDER BY seq";

/// The oldest `?1` journal rows.
const SELECT_SLICE: &str = "SELECT seq, change FROM location_journal ORDER BY seq LIMIT ?1";

/// Deletes the journal rows up to a folded `seq`.
const DELETE_FOLDED: &str = "DELETE FROM location_journal WHERE seq <= ?1";

/// How many changes the journal holds: folds delete a prefix and appends take the next `seq`, so the rows are
/// contiguous and two index look-ups give the count.
const LENGTH: &str = "SELECT coalesce((SELECT max(seq) FROM location_journal) - \
     (SELECT min(seq) FROM location_journal) + 1, 0)";

/// How many changes wait in the journal.
pub(super) fn length(conn: &Connection) -> rusqlite::Result<u64> {
    let n: i64 = conn
        .prepare_cached(LENGTH)?
        .query_row([], |row| row.get(0))?;
    Ok(n.cast_unsigned())
}

/// Folds one slice of at most `limit` changes into `location` in one transaction; returns how many journal rows it
/// folded (0 when the journal is empty).
pub(super) fn fold_slice(conn: &mut Connection, limit: u64) -> rusqlite::Result<u64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Last change per binding id, ordered as `location`'s rowid (the id's signed bits) is.
    let mut last: BTreeMap<i64, Option<Binding>> = BTreeMap::new();
    let mut folded = 0;
    let mut last_seq = None;
    {
        let mut select = tx.prepare_cached(SELECT_SLICE)?;
        let mut rows = select.query([limit.cast_signed()])?;
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            match decode(seq, row.get_ref(1)?) {
                Some(JournalChange::Upsert(b)) => {
                    last.insert(b.id.cast_signed(), Some(b));
                }
                Some(JournalChange::Remove(id)) => {
                    last.insert(id.cast_signed(), None);
                }
                None => {}
            }
            folded += 1;
            last_seq = Some(seq);
        }
    }
    let Some(last_seq) = last_seq else {
        return Ok(0);
    };
    apply_sorted(&tx, &last)?;
    tx.prepare_cached(DELETE_FOLDED)?.execute([last_seq])?;
    tx.commit()?;
    Ok(folded)
}

/// Folds the whole journal, slice by slice; returns how many rows it folded.
pub(super) fn fold_all(conn: &mut Connection) -> rusqlite::Result<u64> {
    let mut total = 0;
    loop {
        match fold_slice(conn, FOLD_SLICE)? {
            0 => return Ok(total),
            n => total += n,
        }
    }
}

/// Writes the coalesced changes into `location`, in id order.
fn apply_sorted(
    tx: &Transaction<'_>,
    last: &BTreeMap<i64, Option<Binding>>,
) -> rusqlite::Result<()> {
    let mut upsert = tx.prepare_cached(binding_row::UPSERT)?;
    let mut delete = tx.prepare_cached(binding_row::DELETE)?;
    for (id, change) in last {
        match change {
            None => {
                delete.execute([id])?;
            }
            // Appends are checked with the same conversion, so this fails only for a row written by hand.
            Some(b) => match BindingRow::encode(b) {
                Ok(row) => row.upsert(&mut upsert)?,
                Err(e) => {
                    tracing::warn!(id = b.id, error = %e, "dropping an unstorable journal change")
                }
            },
        }
    }
    Ok(())
}

/// Applies the journal, read within `tx`, to `bindings` (the `location` rows read in the same transaction).
pub(super) fn overlay(
    tx: &Transaction<'_>,
    bindings: Vec<Binding>,
) -> rusqlite::Result<Vec<Binding>> {
    if length(tx)? == 0 {
        return Ok(bindings);
    }
    let mut slots: Vec<Option<Binding>> = bindings.into_iter().map(Some).collect();
    let mut index: HashMap<u64, usize> = slots
        .iter()
        .enumerate()
        .filter_map(|(i, b)| b.as_ref().map(|b| (b.id, i)))
        .collect();
    let mut select = tx.prepare(SELECT_IN_ORDER)?;
    let mut rows = select.query([])?;
    while let Some(row) = rows.next()? {
        match decode(row.get(0)?, row.get_ref(1)?) {
            Some(JournalChange::Upsert(b)) => match index.get(&b.id) {
                Some(&i) => slots[i] = Some(b),
                None => {
                    index.insert(b.id, slots.len());
                    slots.push(Some(b));
                }
            },
            Some(JournalChange::Remove(id)) => {
                if let Some(&i) = index.get(&id) {
                    slots[i] = None;
                }
            }
            None => {}
        }
    }
    Ok(slots.into_iter().flatten().collect())
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

    fn append(conn: &Connection, change: &[u8]) {
        conn.execute(APPEND, [change]).unwrap();
    }

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
    fn folding_slice_by_slice_never_changes_what_readers_see() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::prepare(&mut conn).unwrap();
        // Ids chosen so the signed order (the fold's) differs from the unsigned one.
        let ids = [5, u64::MAX, 1 << 63, 2, 9];
        let mut cseq = 0;
        for round in 0..4 {
            for (i, &id) in ids.iter().enumerate() {
                cseq += 1;
                if (i + round) % 3 == 0 {
                    append(&conn, &journal_codec::encode_remove(id));
                } else {
                    append(&conn, &journal_codec::encode_upsert(&binding(id, cseq)));
                }
            }
        }
        // Damaged and foreign rows are skipped, by readers and folds alike.
        append(&conn, &[9, 9, 9]);
        conn.execute(APPEND, ["text, not a blob"]).unwrap();
        append(&conn, &journal_codec::encode_upsert(&binding(7, 99)));
        let before = view(&mut conn);
        assert!(before.iter().any(|b| b.id == 7 && b.cseq == 99));
        assert_eq!(length(&conn).unwrap(), 23);

        let mut slices = 0;
        loop {
            let folded = fold_slice(&mut conn, 3).unwrap();
            if folded == 0 {
                break;
            }
            assert!(folded <= 3);
            slices += 1;
            assert_eq!(view(&mut conn), before, "after slice {slices}");
        }
        assert_eq!(slices, 8);
        assert_eq!(length(&conn).unwrap(), 0);
        assert_eq!(location(&mut conn), before);
        assert_eq!(fold_all(&mut conn).unwrap(), 0);
    }
}
