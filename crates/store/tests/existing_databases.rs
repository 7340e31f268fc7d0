//! Opening databases this crate did not create: Kamailio's tables, foreign layouts, and URL handling.

mod common;

use common::{open, url};
use registrar::Change;
use store::{
    LocationStore, SqliteOptions, SqliteStore, StoreError, StoreOptions, Subscriber,
    SubscriberStore, open_store,
};

/// Kamailio's SQLite DDL for the `version` and `subscriber` tables (kamailio/utils/kamctl/db_sqlite).
const KAMAILIO_DDL: &[&str] = &[
    "CREATE TABLE version (
        id INTEGER PRIMARY KEY NOT NULL,
        table_name VARCHAR(32) NOT NULL,
        table_version INTEGER DEFAULT 0 NOT NULL,
        CONSTRAINT version_table_name_idx UNIQUE (table_name)
    )",
    "INSERT INTO version (table_name, table_version) values ('version','1')",
    "CREATE TABLE subscriber (
        id INTEGER PRIMARY KEY NOT NULL,
        username VARCHAR(64) DEFAULT '' NOT NULL,
        domain VARCHAR(64) DEFAULT '' NOT NULL,
        password VARCHAR(64) DEFAULT '' NOT NULL,
        ha1 VARCHAR(128) DEFAULT '' NOT NULL,
        ha1b VARCHAR(128) DEFAULT '' NOT NULL,
        CONSTRAINT subscriber_account_idx UNIQUE (username, domain)
    )",
    "CREATE INDEX subscriber_username_idx ON subscriber (username)",
    "INSERT INTO version (table_name, table_version) values ('subscriber','7')",
    "INSERT INTO subscriber (username, domain, password, ha1, ha1b) VALUES \
        ('alice', 'example.com', 'secret', '0123456789abcdef0123456789abcdef', 'fedcba9876543210fedcba9876543210')",
];

/// Kamailio's usrloc `location` table (version 9), abridged to the columns that differ from ours.
const KAMAILIO_LOCATION_DDL: &[&str] = &[
    "CREATE TABLE location (
        id INTEGER PRIMARY KEY NOT NULL,
        ruid VARCHAR(64) DEFAULT '' NOT NULL,
        username VARCHAR(64) DEFAULT '' NOT NULL,
        domain VARCHAR(64) DEFAULT NULL,
        contact VARCHAR(512) DEFAULT '' NOT NULL,
        received VARCHAR(128) DEFAULT NULL,
        path VARCHAR(512) DEFAULT NULL,
        expires TIMESTAMP WITHOUT TIME ZONE DEFAULT '2030-05-28 21:32:15' NOT NULL,
        q FLOAT(10,2) DEFAULT 1.0 NOT NULL,
        callid VARCHAR(255) DEFAULT 'Default-Call-ID' NOT NULL,
        cseq INTEGER DEFAULT 1 NOT NULL,
        last_modified TIMESTAMP WITHOUT TIME ZONE DEFAULT '2000-01-01 00:00:01' NOT NULL,
        flags INTEGER DEFAULT 0 NOT NULL,
        cflags INTEGER DEFAULT 0 NOT NULL,
        user_agent VARCHAR(255) DEFAULT '' NOT NULL,
        socket VARCHAR(64) DEFAULT NULL,
        methods INTEGER DEFAULT NULL,
        instance VARCHAR(255) DEFAULT NULL,
        reg_id INTEGER DEFAULT 0 NOT NULL,
        server_id INTEGER DEFAULT 0 NOT NULL,
        connection_id INTEGER DEFAULT 0 NOT NULL,
        keepalive INTEGER DEFAULT 0 NOT NULL,
        partition INTEGER DEFAULT 0 NOT NULL,
        CONSTRAINT location_ruid_idx UNIQUE (ruid)
    )",
    "INSERT INTO version (table_name, table_version) values ('location','9')",
];

/// Runs `statements` on the database file `url` names, outside the store.
fn run(url: &str, statements: &[&str]) {
    let conn = common::raw(url);
    for sql in statements {
        conn.execute_batch(sql).unwrap();
    }
}

#[tokio::test]
async fn a_kamailio_subscriber_table_opens_and_works() {
    let dir = tempfile::tempdir().unwrap();
    let url = url(dir.path(), "kamailio.db");
    run(&url, KAMAILIO_DDL);

    let store = SqliteStore::open(&url, &SqliteOptions::default())
        .await
        .unwrap();
    let alice = store
        .subscriber("alice", "example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        alice,
        Subscriber {
            username: "alice".to_owned(),
            domain: "example.com".to_owned(),
            password: Some("secret".to_owned()),
            ha1: "0123456789abcdef0123456789abcdef".to_owned(),
            ha1b: "fedcba9876543210fedcba9876543210".to_owned(),
            ha1_sha256: None,
        }
    );
    let bob = Subscriber {
        username: "bob".to_owned(),
        domain: "example.com".to_owned(),
        password: None,
        ha1: "a".repeat(32),
        ha1b: "b".repeat(32),
        ha1_sha256: Some("c".repeat(64)),
    };
    store.add_subscriber(&bob).await.unwrap();
    assert!(matches!(
        store.add_subscriber(&alice).await,
        Err(StoreError::AlreadyExists { .. })
    ));
    let with_sha = Subscriber {
        ha1_sha256: Some("d".repeat(64)),
        ..alice.clone()
    };
    assert_eq!(
        store
            .import_subscribers(std::slice::from_ref(&with_sha))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store.all_subscribers().await.unwrap(),
        vec![with_sha.clone(), bob.clone()]
    );
    store.close().await;

    // Reopening is a no-op: the column is not added twice, versions stay as Kamailio wrote them.
    let store = SqliteStore::open(&url, &SqliteOptions::default())
        .await
        .unwrap();
    assert_eq!(store.all_subscribers().await.unwrap(), vec![with_sha, bob]);
    store.close().await;

    let conn = common::raw(&url);
    let versions: Vec<(String, i64)> = conn
        .prepare("SELECT table_name, table_version FROM version ORDER BY table_name")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        versions,
        vec![
            ("location".to_owned(), 1),
            ("subscriber".to_owned(), 7),
            ("version".to_owned(), 1)
        ]
    );
    // Kamailio's own columns still work for Kamailio: ha1_sha256 is only an extra nullable column.
    let (user, ha1): (String, String) = conn
        .query_row(
            "SELECT username, ha1 FROM subscriber WHERE username = 'bob'",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap();
    assert_eq!((user.as_str(), ha1), ("bob", "a".repeat(32)));
}

#[tokio::test]
async fn a_kamailio_location_table_is_refused_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let url = url(dir.path(), "kamailio.db");
    run(&url, KAMAILIO_DDL);
    run(&url, KAMAILIO_LOCATION_DDL);

    let err = SqliteStore::open(&url, &SqliteOptions::default())
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(
            err,
            StoreError::Schema {
                table: "location",
                ..
            }
        ),
        "{message}"
    );
    assert!(
        message.contains("lacks column(s) params, registered_at, transport, branch_hash"),
        "{message}"
    );
    assert!(
        message.contains("give lamppost its own database file"),
        "{message}"
    );
}

#[tokio::test]
async fn a_location_table_of_another_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), "loc.db").await;
    store.apply(&[]).await.unwrap();
    store.close().await;
    let url = url(dir.path(), "loc.db");
    run(
        &url,
        &["UPDATE version SET table_version = 2 WHERE table_name = 'location'"],
    );

    let err = SqliteStore::open(&url, &SqliteOptions::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("records version 2, lamppost needs 1"),
        "{err}"
    );
}

#[tokio::test]
async fn a_subscriber_table_without_kamailio_columns_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let url = url(dir.path(), "odd.db");
    run(
        &url,
        &["CREATE TABLE subscriber (id INTEGER PRIMARY KEY, username TEXT, domain TEXT)"],
    );

    let err = SqliteStore::open(&url, &SqliteOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Schema {
                table: "subscriber",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("lacks column(s) password, ha1, ha1b"),
        "{err}"
    );
}

#[tokio::test]
async fn url_forms_are_accepted_and_directories_created() {
    let dir = tempfile::tempdir().unwrap();
    let absolute = format!("sqlite://{}/deep/er/store.db", dir.path().display());
    assert!(absolute.starts_with("sqlite:///"));
    let store = open_store(&absolute, &StoreOptions::default())
        .await
        .unwrap();
    store
        .apply(&[Change::Upsert(common::binding(1, "a@example.com"))])
        .await
        .unwrap();
    store.close().await;
    assert!(dir.path().join("deep/er/store.db").is_file());
    let store = open_store(&absolute, &StoreOptions::default())
        .await
        .unwrap();
    assert_eq!(store.load_bindings().await.unwrap().len(), 1);

    let memory = open_store("sqlite::memory:", &StoreOptions::default())
        .await
        .unwrap();
    assert!(memory.load_bindings().await.unwrap().is_empty());
    let memory = SqliteStore::open("sqlite://:memory:", &SqliteOptions::default())
        .await
        .unwrap();
    assert!(memory.all_subscribers().await.unwrap().is_empty());
}

#[tokio::test]
async fn relative_paths_are_relative_to_the_working_directory() {
    // Tests run in the crate directory; a temporary directory there (removed on drop) gives a unique relative path.
    let dir = tempfile::tempdir_in(".").unwrap();
    let name = dir.path().file_name().unwrap().to_str().unwrap().to_owned();
    let url = format!("sqlite://{name}/sub/rel.db");
    let store = SqliteStore::open(&url, &SqliteOptions::default())
        .await
        .unwrap();
    store.close().await;
    assert!(dir.path().join("sub/rel.db").is_file());
}

#[tokio::test]
async fn unsupported_and_invalid_urls_say_what_to_use() {
    let err = open_store(
        "postgres://lamp:hunter2@db.example/lamppost",
        &StoreOptions::default(),
    )
    .await
    .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, StoreError::UnsupportedUrl { .. }),
        "{message}"
    );
    assert_eq!(
        message,
        "unsupported store URL `postgres://lamp:***@db.example/lamppost`: supported forms are \
         sqlite://relative/path.db, sqlite:///absolute/path.db and sqlite::memory:"
    );
    for url in [
        "/var/lib/lamppost.db",
        "redis://localhost/0",
        "mysql://db/x",
        "",
    ] {
        let err = open_store(url, &StoreOptions::default()).await.unwrap_err();
        assert!(
            matches!(err, StoreError::UnsupportedUrl { .. }),
            "{url}: {err}"
        );
        assert!(err.to_string().contains("sqlite::memory:"), "{err}");
    }
    let err = SqliteStore::open("postgres://db/x", &SqliteOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UnsupportedUrl { .. }), "{err}");

    for url in ["sqlite://", "sqlite:", "sqlite://x.db?mode=ro"] {
        let err = SqliteStore::open(url, &SqliteOptions::default())
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::InvalidUrl { .. }), "{url}: {err}");
    }
}

#[tokio::test]
async fn an_uncreatable_directory_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"not a directory").unwrap();
    let url = format!("sqlite://{}/sub/x.db", blocker.display());
    let err = SqliteStore::open(&url, &SqliteOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::CreateDir { .. }), "{err}");
    assert!(err.to_string().contains("cannot create directory"), "{err}");
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("junk.db"), vec![b'x'; 8192]).unwrap();
    let err = SqliteStore::open(&url(dir.path(), "junk.db"), &SqliteOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Open { .. } | StoreError::Database { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("not a database"), "{err}");
}
