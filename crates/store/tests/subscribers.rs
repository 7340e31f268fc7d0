//! The subscriber table: add, duplicate, list, remove, bulk import.

mod common;

use std::time::Instant;

use common::open;
use store::{StoreError, Subscriber, SubscriberStore, SubscriberTotals};

fn subscriber(username: &str, domain: &str) -> Subscriber {
    Subscriber {
        username: username.to_owned(),
        domain: domain.to_owned(),
        password: Some(format!("pw-{username}")),
        ha1: format!("{:032x}", username.len()),
        ha1b: format!("{:032x}", domain.len()),
        ha1_sha256: Some(format!("{:064x}", username.len() + domain.len())),
    }
}

#[tokio::test]
async fn add_find_duplicate_list_and_remove() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), "subs.db").await;
    let alice = subscriber("alice", "example.com");
    let bob = Subscriber {
        password: None,
        ha1_sha256: None,
        ..subscriber("bob", "example.com")
    };
    let carol = subscriber("carol", "example.org");
    for s in [&carol, &bob, &alice] {
        store.add_subscriber(s).await.unwrap();
    }

    assert_eq!(
        store.subscriber("alice", "example.com").await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(
        store.subscriber("bob", "example.com").await.unwrap(),
        Some(bob.clone())
    );
    assert_eq!(
        store.subscriber("alice", "example.org").await.unwrap(),
        None
    );

    let mut changed = alice.clone();
    changed.ha1 = "ffff".to_owned();
    let err = store.add_subscriber(&changed).await.unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "subscriber `alice@example.com` already exists"
    );
    assert_eq!(
        store.subscriber("alice", "example.com").await.unwrap(),
        Some(alice.clone())
    );

    assert_eq!(
        store.list_subscribers(None).await.unwrap(),
        vec![alice.clone(), bob.clone(), carol.clone()]
    );
    assert_eq!(
        store.all_subscribers().await.unwrap(),
        vec![alice.clone(), bob.clone(), carol.clone()]
    );
    assert_eq!(
        store.list_subscribers(Some("example.com")).await.unwrap(),
        vec![alice.clone(), bob.clone()]
    );
    assert_eq!(
        store.list_subscribers(Some("example.net")).await.unwrap(),
        vec![]
    );

    assert!(
        store
            .remove_subscriber("alice", "example.com")
            .await
            .unwrap()
    );
    assert!(
        !store
            .remove_subscriber("alice", "example.com")
            .await
            .unwrap()
    );
    assert!(
        !store
            .remove_subscriber("carol", "example.com")
            .await
            .unwrap()
    );
    store.close().await;

    let reopened = open(dir.path(), "subs.db").await;
    assert_eq!(reopened.all_subscribers().await.unwrap(), vec![bob, carol]);
}

#[tokio::test]
async fn an_empty_password_reads_back_as_none() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), "subs.db").await;
    let s = Subscriber {
        password: Some(String::new()),
        ..subscriber("dave", "example.com")
    };
    store.add_subscriber(&s).await.unwrap();
    let loaded = store
        .subscriber("dave", "example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(loaded.password, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_of_100_000_upserts_in_one_go() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), "subs.db").await;
    store
        .add_subscriber(&Subscriber {
            password: Some("old".to_owned()),
            ..subscriber("u42", "d0.example")
        })
        .await
        .unwrap();

    let subs: Vec<Subscriber> = (0..100_000)
        .map(|i| subscriber(&format!("u{i}"), &format!("d{}.example", i % 7)))
        .collect();
    let started = Instant::now();
    let written = store.import_subscribers(&subs).await.unwrap();
    println!(
        "imported {} subscribers in {:?}",
        subs.len(),
        started.elapsed()
    );
    assert_eq!(written, 100_000);

    let all = store.all_subscribers().await.unwrap();
    assert_eq!(all.len(), 100_000);
    // The account added before the import was replaced, not duplicated.
    assert_eq!(
        store.subscriber("u42", "d0.example").await.unwrap(),
        Some(subscriber("u42", "d0.example"))
    );
    assert_eq!(
        store
            .list_subscribers(Some("d3.example"))
            .await
            .unwrap()
            .len(),
        14_286
    );

    // Importing again replaces rather than duplicates.
    let renamed: Vec<Subscriber> = subs[..1_000]
        .iter()
        .map(|s| Subscriber {
            password: Some("rotated".to_owned()),
            ..s.clone()
        })
        .collect();
    assert_eq!(store.import_subscribers(&renamed).await.unwrap(), 1_000);
    assert_eq!(store.all_subscribers().await.unwrap().len(), 100_000);
    let u5 = store.subscriber("u5", "d5.example").await.unwrap().unwrap();
    assert_eq!(u5.password.as_deref(), Some("rotated"));
}

#[tokio::test]
async fn import_replaces_an_existing_account() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), "subs.db").await;
    store
        .add_subscriber(&subscriber("erin", "example.com"))
        .await
        .unwrap();
    let replacement = Subscriber {
        password: None,
        ha1: "1".repeat(32),
        ha1b: "2".repeat(32),
        ha1_sha256: None,
        ..subscriber("erin", "example.com")
    };
    assert_eq!(
        store
            .import_subscribers(std::slice::from_ref(&replacement))
            .await
            .unwrap(),
        1
    );
    assert_eq!(store.all_subscribers().await.unwrap(), vec![replacement]);
    assert_eq!(store.import_subscribers(&[]).await.unwrap(), 0);
}

#[tokio::test]
async fn fold_visits_every_subscriber_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), "fold.db").await;
    let subs: Vec<Subscriber> = (0..1000)
        .map(|i| subscriber(&format!("u{i}"), "example.com"))
        .collect();
    store.import_subscribers(&subs).await.unwrap();
    let names = store
        .fold_subscribers(Vec::new(), |names, s| {
            names.push(format!("{}@{}", s.username, s.domain))
        })
        .await
        .unwrap();
    assert_eq!(names.len(), 1000);
    let unique: std::collections::HashSet<_> = names.iter().collect();
    assert_eq!(unique.len(), 1000);
    assert!(names.contains(&"u999@example.com".to_owned()));
}

#[tokio::test]
async fn totals_count_subscribers_and_the_bytes_of_their_names() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), "totals.db").await;
    assert_eq!(
        store.subscriber_totals().await.unwrap(),
        SubscriberTotals::default()
    );
    let subs = [
        subscriber("alice", "example.com"),
        // Multi-byte names count in bytes: "zoë" is 4 bytes, "exämple.org" 12.
        subscriber("zoë", "exämple.org"),
    ];
    store.import_subscribers(&subs).await.unwrap();
    assert_eq!(
        store.subscriber_totals().await.unwrap(),
        SubscriberTotals {
            count: 2,
            name_bytes: 5 + 11 + 4 + 12,
        }
    );
}
