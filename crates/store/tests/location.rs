//! The SQLite location table: every binding field survives a write, a reopen and a load.

mod common;

use common::{binding, by_id, open, url};
use registrar::{Binding, Change, ContactExtras, RemovalReason, Source, Transport, UnixTime};
use std::net::SocketAddr;
use std::num::NonZeroU64;
use store::{LocationStore, SqliteOptions, SqliteStore, StoreError};

fn remove(b: &Binding) -> Change {
    Change::Remove {
        id: b.id,
        aor: b.aor.to_string(),
        uri: b.uri.to_string(),
        reason: RemovalReason::Unregistered,
    }
}

/// Bindings that between them exercise every field's edge cases.
fn varied_bindings() -> Vec<Binding> {
    let plain = binding(1, "alice@example.com");

    let mut full = binding(u64::MAX, "bob@example.com");
    full.uri = "sips:bob@[2001:db8::7]:5061;transport=tcp;ob".into();
    full.q = Some(125);
    full.expires_at = UnixTime(u32::MAX);
    full.registered_at = UnixTime(0);
    full.updated_at = UnixTime(1_700_000_000);
    full.call_id = "a84b4c76e66710@pc33.example.com".into();
    full.cseq = u32::MAX;
    full.branch_hash = u32::MAX - 1;
    full.source = Source {
        remote: "[2001:db8::7]:40123".parse().unwrap(),
        local: "[2001:db8::1]:5061".parse::<SocketAddr>().unwrap().into(),
        transport: Transport::Tls,
        connection: Some(NonZeroU64::MAX),
    };
    full.user_agent = "Téléphone/2.0 (日本語) \"quoted\"".into();
    full.extras = ContactExtras {
        params: ";+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>\";reg-id=1;ob"
            .into(),
        path: vec![
            "<sip:edge1.example.com;lr>".into(),
            "\"Edge, two\" <sip:edge2.example.com;lr;x=a,b>".into(),
            "<sip:back\\slash.example.com;lr>".into(),
        ]
        .into(),
        instance: Some("<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>".into()),
        reg_id: Some(u32::MAX),
    }
    .into();

    let mut scoped = binding(1 << 63, "carol@example.org");
    scoped.q = Some(1000);
    scoped.source = Source {
        remote: "[fe80::1%2]:5060".parse().unwrap(),
        local: "[fe80::2%2]:5060".parse::<SocketAddr>().unwrap().into(),
        transport: Transport::Wss,
        connection: NonZeroU64::new(1),
    };
    scoped.extras = ContactExtras {
        params: "".into(),
        path: vec!["".into()].into(),
        instance: Some("".into()),
        reg_id: Some(0),
    }
    .into();

    let mut zero_q = binding(3, "dave@example.net");
    zero_q.q = Some(0);
    zero_q.source.transport = Transport::Tcp;
    zero_q.source.connection = NonZeroU64::new(42);

    let mut no_domain = binding(4, "just-a-name");
    no_domain.source.transport = Transport::Ws;

    let mut at_in_user = binding(5, "odd@user@example.com");
    at_in_user.q = Some(1);

    vec![plain, full, scoped, zero_q, no_domain, at_in_user]
}

#[tokio::test]
async fn every_binding_field_round_trips_through_a_reopened_file() {
    let dir = tempfile::tempdir().unwrap();
    let bindings = varied_bindings();
    let store = open(dir.path(), "loc.db").await;
    let changes: Vec<Change> = bindings.iter().cloned().map(Change::Upsert).collect();
    store.apply(&changes).await.unwrap();
    assert_eq!(
        by_id(store.load_bindings().await.unwrap()),
        by_id(bindings.clone())
    );
    store.close().await;

    let reopened = open(dir.path(), "loc.db").await;
    assert_eq!(
        by_id(reopened.load_bindings().await.unwrap()),
        by_id(bindings)
    );
}

#[tokio::test]
async fn batches_mix_upserts_and_removes_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), "loc.db").await;
    let a = binding(10, "a@example.com");
    let b = binding(11, "b@example.com");
    let c = binding(12, "c@example.com");
    store
        .apply(&[
            Change::Upsert(a.clone()),
            Change::Upsert(b.clone()),
            Change::Upsert(c.clone()),
        ])
        .await
        .unwrap();

    // Refresh a (upsert replaces), remove b, remove an unknown id, add d then remove it in the same batch, and
    // remove c then add it back.
    let mut a2 = a.clone();
    a2.expires_at = UnixTime(1_900_000_000);
    a2.cseq = 2;
    a2.call_id = "new-call".into();
    a2.uri = "sip:a@192.0.2.99:5070".into();
    let d = binding(13, "d@example.com");
    let mut c2 = c.clone();
    c2.user_agent = "back again".into();
    store
        .apply(&[
            Change::Upsert(a2.clone()),
            remove(&b),
            remove(&binding(999, "nobody@example.com")),
            Change::Upsert(d.clone()),
            remove(&d),
            remove(&c),
            Change::Upsert(c2.clone()),
        ])
        .await
        .unwrap();
    let expected = vec![a2, c2];
    assert_eq!(by_id(store.load_bindings().await.unwrap()), expected);
    store.close().await;

    let reopened = open(dir.path(), "loc.db").await;
    assert_eq!(by_id(reopened.load_bindings().await.unwrap()), expected);
}

#[tokio::test]
async fn a_failing_batch_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let opts = SqliteOptions {
        busy_timeout: std::time::Duration::from_millis(50),
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open(&url(dir.path(), "loc.db"), &opts)
        .await
        .unwrap();
    let a = binding(1, "a@example.com");
    store.apply(&[Change::Upsert(a.clone())]).await.unwrap();

    // Another process holds the write lock past the busy timeout: the whole batch fails.
    let other = rusqlite::Connection::open(dir.path().join("loc.db")).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let err = store
        .apply(&[remove(&a), Change::Upsert(binding(2, "b@example.com"))])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Database { .. }), "{err}");
    other.execute_batch("ROLLBACK").unwrap();
    assert_eq!(store.load_bindings().await.unwrap(), vec![a]);
}

#[tokio::test]
async fn unreadable_rows_are_skipped_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), "loc.db").await;
    let good = binding(1, "a@example.com");
    let bad = binding(2, "b@example.com");
    store
        .apply(&[Change::Upsert(good.clone()), Change::Upsert(bad)])
        .await
        .unwrap();
    store.close().await;

    common::raw(&url(dir.path(), "loc.db"))
        .execute(
            "UPDATE location SET transport = 'CARRIER-PIGEON' WHERE id = 2",
            [],
        )
        .unwrap();

    let store = open(dir.path(), "loc.db").await;
    assert_eq!(store.load_bindings().await.unwrap(), vec![good]);
}

#[tokio::test]
async fn a_64_bit_branch_hash_of_an_earlier_version_reads_back_as_its_low_half() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), "loc.db").await;
    let mut b = binding(1, "a@example.com");
    store.apply(&[Change::Upsert(b.clone())]).await.unwrap();
    store.close().await;

    common::raw(&url(dir.path(), "loc.db"))
        .execute(
            "UPDATE location SET branch_hash = ?1 WHERE id = 1",
            [0x1234_0000_0007_i64],
        )
        .unwrap();

    let store = open(dir.path(), "loc.db").await;
    b.branch_hash = 7;
    assert_eq!(store.load_bindings().await.unwrap(), vec![b]);
}

#[tokio::test]
async fn in_memory_store_keeps_bindings_while_open() {
    let store = SqliteStore::open("sqlite::memory:", &SqliteOptions::default())
        .await
        .unwrap();
    let bindings = varied_bindings();
    let changes: Vec<Change> = bindings.iter().cloned().map(Change::Upsert).collect();
    store.apply(&changes).await.unwrap();
    assert_eq!(by_id(store.load_bindings().await.unwrap()), by_id(bindings));
}

#[tokio::test]
async fn rows_use_kamailio_like_columns() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), "loc.db").await;
    let mut b = binding(7, "alice@example.com");
    b.q = Some(500);
    b.extras = ContactExtras {
        path: vec!["<sip:p1;lr>".into(), "<sip:p2;lr>".into()].into(),
        ..ContactExtras::default()
    }
    .into();
    store.apply(&[Change::Upsert(b)]).await.unwrap();
    store.close().await;

    let conn = common::raw(&url(dir.path(), "loc.db"));
    let row: (String, String, String, String, f64, i64, String, String) = conn
        .query_row(
            "SELECT username, domain, received, socket, q, expires, path, transport FROM location WHERE id = 7",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            },
        )
        .unwrap();
    assert_eq!(
        row,
        (
            "alice".to_owned(),
            "example.com".to_owned(),
            "sip:192.0.2.7:5060".to_owned(),
            "udp:198.51.100.1:5060".to_owned(),
            0.5,
            1_800_003_600,
            "<sip:p1;lr>,<sip:p2;lr>".to_owned(),
            "UDP".to_owned(),
        )
    );
    let version: i64 = conn
        .query_row(
            "SELECT table_version FROM version WHERE table_name = 'location'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(version, 1);
}
