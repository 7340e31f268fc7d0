//! The `uacreg` table in SQLite files created with Kamailio's own DDL (`utils/kamctl/db_sqlite`).

#[path = "support/rows.rs"]
mod rows;

use std::path::{Path, PathBuf};

use rows::{V4, V5, V6, as_stored, tricky_row};
use rusqlite::{Connection, params_from_iter, types::Value};
use uacreg::{TableSchema, UacRow, UacTable, UacTableError};

/// Kamailio's `version` table (standard-create.sql), which uac-create.sql inserts into.
const VERSION_TABLE: &str = "CREATE TABLE version (
    id INTEGER PRIMARY KEY NOT NULL,
    table_name VARCHAR(32) NOT NULL,
    table_version INTEGER DEFAULT 0 NOT NULL,
    CONSTRAINT version_table_name_idx UNIQUE (table_name)
);";

/// Kamailio 5.3/5.4's db_sqlite/uac-create.sql (version 4, with `socket`).
const DDL_V4: &str = "CREATE TABLE uacreg (
    id INTEGER PRIMARY KEY NOT NULL,
    l_uuid VARCHAR(64) DEFAULT '' NOT NULL,
    l_username VARCHAR(64) DEFAULT '' NOT NULL,
    l_domain VARCHAR(64) DEFAULT '' NOT NULL,
    r_username VARCHAR(64) DEFAULT '' NOT NULL,
    r_domain VARCHAR(64) DEFAULT '' NOT NULL,
    realm VARCHAR(64) DEFAULT '' NOT NULL,
    auth_username VARCHAR(64) DEFAULT '' NOT NULL,
    auth_password VARCHAR(64) DEFAULT '' NOT NULL,
    auth_ha1 VARCHAR(128) DEFAULT '' NOT NULL,
    auth_proxy VARCHAR(128) DEFAULT '' NOT NULL,
    expires INTEGER DEFAULT 0 NOT NULL,
    flags INTEGER DEFAULT 0 NOT NULL,
    reg_delay INTEGER DEFAULT 0 NOT NULL,
    socket VARCHAR(128) DEFAULT '' NOT NULL,
    CONSTRAINT uacreg_l_uuid_idx UNIQUE (l_uuid)
);

INSERT INTO version (table_name, table_version) values ('uacreg','4');";

/// Version 5 (Kamailio 5.6 to 6.1): version 4 plus `contact_addr`, `auth_proxy` widened to 255.
const DDL_V5: &str = "CREATE TABLE uacreg (
    id INTEGER PRIMARY KEY NOT NULL,
    l_uuid VARCHAR(64) DEFAULT '' NOT NULL,
    l_username VARCHAR(64) DEFAULT '' NOT NULL,
    l_domain VARCHAR(64) DEFAULT '' NOT NULL,
    r_username VARCHAR(64) DEFAULT '' NOT NULL,
    r_domain VARCHAR(64) DEFAULT '' NOT NULL,
    realm VARCHAR(64) DEFAULT '' NOT NULL,
    auth_username VARCHAR(64) DEFAULT '' NOT NULL,
    auth_password VARCHAR(64) DEFAULT '' NOT NULL,
    auth_ha1 VARCHAR(128) DEFAULT '' NOT NULL,
    auth_proxy VARCHAR(255) DEFAULT '' NOT NULL,
    expires INTEGER DEFAULT 0 NOT NULL,
    flags INTEGER DEFAULT 0 NOT NULL,
    reg_delay INTEGER DEFAULT 0 NOT NULL,
    contact_addr VARCHAR(255) DEFAULT '' NOT NULL,
    socket VARCHAR(128) DEFAULT '' NOT NULL,
    CONSTRAINT uacreg_l_uuid_idx UNIQUE (l_uuid)
);

INSERT INTO version (table_name, table_version) values ('uacreg','5');";

/// Version 6: version 5 plus `contact_user`.
const DDL_V6: &str = "CREATE TABLE uacreg (
    id INTEGER PRIMARY KEY NOT NULL,
    l_uuid VARCHAR(64) DEFAULT '' NOT NULL,
    l_username VARCHAR(64) DEFAULT '' NOT NULL,
    l_domain VARCHAR(64) DEFAULT '' NOT NULL,
    r_username VARCHAR(64) DEFAULT '' NOT NULL,
    r_domain VARCHAR(64) DEFAULT '' NOT NULL,
    realm VARCHAR(64) DEFAULT '' NOT NULL,
    auth_username VARCHAR(64) DEFAULT '' NOT NULL,
    auth_password VARCHAR(64) DEFAULT '' NOT NULL,
    auth_ha1 VARCHAR(128) DEFAULT '' NOT NULL,
    auth_proxy VARCHAR(255) DEFAULT '' NOT NULL,
    expires INTEGER DEFAULT 0 NOT NULL,
    flags INTEGER DEFAULT 0 NOT NULL,
    reg_delay INTEGER DEFAULT 0 NOT NULL,
    contact_addr VARCHAR(255) DEFAULT '' NOT NULL,
    socket VARCHAR(128) DEFAULT '' NOT NULL,
    contact_user VARCHAR(255) DEFAULT '' NOT NULL,
    CONSTRAINT uacreg_l_uuid_idx UNIQUE (l_uuid)
);

INSERT INTO version (table_name, table_version) values ('uacreg','6');";

/// Every Kamailio layout with the schema it should be detected as.
const LAYOUTS: [(&str, &str, TableSchema); 3] =
    [("v4", DDL_V4, V4), ("v5", DDL_V5, V5), ("v6", DDL_V6, V6)];

/// A database file in a fresh directory, with Kamailio's `version` table and `ddl` applied.
fn kamailio_db(ddl: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kamailio.db");
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(VERSION_TABLE).unwrap();
    conn.execute_batch(ddl).unwrap();
    (dir, path)
}

/// Inserts `row` (with its id) with plain SQL, writing only the columns of `schema`.
fn sql_insert(path: &Path, row: &UacRow, schema: &TableSchema) {
    let mut columns = vec![
        ("id", Value::Integer(row.id)),
        ("l_uuid", row.l_uuid.clone().into()),
        ("l_username", row.l_username.clone().into()),
        ("l_domain", row.l_domain.clone().into()),
        ("r_username", row.r_username.clone().into()),
        ("r_domain", row.r_domain.clone().into()),
        ("realm", row.realm.clone().into()),
        ("auth_username", row.auth_username.clone().into()),
        ("auth_password", row.auth_password.clone().into()),
        ("auth_ha1", row.auth_ha1.clone().into()),
        ("auth_proxy", row.auth_proxy.clone().into()),
        ("expires", Value::Integer(row.expires)),
        ("flags", Value::Integer(row.flags)),
        ("reg_delay", Value::Integer(row.reg_delay)),
    ];
    if schema.has_socket {
        columns.push(("socket", row.socket.clone().into()));
    }
    if schema.has_contact_addr {
        columns.push(("contact_addr", row.contact_addr.clone().into()));
    }
    if schema.has_contact_user {
        columns.push(("contact_user", row.contact_user.clone().into()));
    }
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let marks = vec!["?"; names.len()].join(", ");
    let sql = format!("INSERT INTO uacreg ({}) VALUES ({marks})", names.join(", "));
    let conn = Connection::open(path).unwrap();
    conn.execute(&sql, params_from_iter(columns.into_iter().map(|(_, v)| v)))
        .unwrap();
}

/// `(l_uuid, flags, l_username, auth_password)` of every row, by id, read with plain SQL.
fn sql_rows(path: &Path) -> Vec<(String, i64, String, String)> {
    let conn = Connection::open(path).unwrap();
    let mut statement = conn
        .prepare("SELECT l_uuid, flags, l_username, auth_password FROM uacreg ORDER BY id")
        .unwrap();
    statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

async fn open(path: &Path) -> UacTable {
    UacTable::open(&format!("sqlite:{}", path.display()), "uacreg")
        .await
        .unwrap()
}

#[tokio::test]
async fn rows_of_each_kamailio_layout_load_in_id_order() {
    for (name, ddl, schema) in LAYOUTS {
        let (_dir, path) = kamailio_db(ddl);
        let later = UacRow {
            id: 7,
            ..as_stored(&tricky_row("first-inserted", 1), &schema)
        };
        let earlier = UacRow {
            id: 3,
            ..as_stored(&tricky_row("second-inserted", 2), &schema)
        };
        sql_insert(&path, &later, &schema);
        sql_insert(&path, &earlier, &schema);

        let table = open(&path).await;
        assert_eq!(table.schema().await.unwrap(), schema, "{name}");
        assert_eq!(table.load().await.unwrap(), vec![earlier, later], "{name}");
    }
}

#[tokio::test]
async fn an_empty_table_loads_as_no_rows() {
    let (_dir, path) = kamailio_db(DDL_V5);
    assert_eq!(open(&path).await.load().await.unwrap(), Vec::new());
}

#[tokio::test]
async fn api_writes_are_visible_to_sql_in_each_layout() {
    for (name, ddl, schema) in LAYOUTS {
        let (_dir, path) = kamailio_db(ddl);
        let table = open(&path).await;
        let first = as_stored(&tricky_row("a'1", 4), &schema);
        let second = as_stored(&tricky_row("ü\"2", 5), &schema);
        let first_id = table
            .insert(&UacRow {
                id: 99,
                ..first.clone()
            })
            .await
            .unwrap();
        let second_id = table.insert(&second).await.unwrap();
        assert!(second_id > first_id, "{name}");
        assert_eq!(
            sql_rows(&path),
            vec![
                (
                    "a'1".to_owned(),
                    0,
                    "o'brien4".to_owned(),
                    first.auth_password.clone()
                ),
                (
                    "ü\"2".to_owned(),
                    1,
                    "o'brien5".to_owned(),
                    second.auth_password.clone()
                ),
            ],
            "{name}"
        );
        let loaded = table.load().await.unwrap();
        assert_eq!(
            loaded,
            vec![
                UacRow {
                    id: first_id,
                    ..first
                },
                UacRow {
                    id: second_id,
                    ..second
                },
            ],
            "{name}"
        );

        assert!(table.set_flags("a'1", 1).await.unwrap(), "{name}");
        assert!(table.set_flags("ü\"2", 0).await.unwrap(), "{name}");
        assert!(!table.set_flags("nobody", 1).await.unwrap(), "{name}");
        let flags: Vec<i64> = sql_rows(&path).iter().map(|r| r.1).collect();
        assert_eq!(flags, [1, 0], "{name}");

        assert!(table.remove("a'1").await.unwrap(), "{name}");
        assert!(!table.remove("a'1").await.unwrap(), "{name}");
        let left: Vec<String> = sql_rows(&path).into_iter().map(|r| r.0).collect();
        assert_eq!(left, ["ü\"2"], "{name}");
    }
}

#[tokio::test]
async fn insert_refuses_fields_the_table_cannot_store() {
    let (_dir, path) = kamailio_db(DDL_V4);
    let table = open(&path).await;

    let error = table.insert(&tricky_row("x", 1)).await.unwrap_err();
    assert!(
        matches!(
            error,
            UacTableError::AbsentColumn {
                column: "contact_addr",
                ..
            }
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("contact_addr") && message.contains("`uacreg`"),
        "{message}"
    );

    let wide = UacRow {
        expires: 1 << 31,
        ..as_stored(&tricky_row("x", 1), &V4)
    };
    let error = table.insert(&wide).await.unwrap_err();
    assert!(
        matches!(
            error,
            UacTableError::OutOfRange {
                column: "expires",
                value: 2_147_483_648,
                ..
            }
        ),
        "{error:?}"
    );
    let error = table.set_flags("x", -(1 << 40)).await.unwrap_err();
    assert!(
        matches!(
            error,
            UacTableError::OutOfRange {
                column: "flags",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(sql_rows(&path).is_empty());
}

#[tokio::test]
async fn a_repeated_l_uuid_is_refused() {
    let (_dir, path) = kamailio_db(DDL_V6);
    let table = open(&path).await;
    table.insert(&tricky_row("same", 1)).await.unwrap();
    let error = table.insert(&tricky_row("same", 2)).await.unwrap_err();
    assert!(
        matches!(&error, UacTableError::DuplicateUuid { l_uuid, .. } if l_uuid == "same"),
        "{error:?}"
    );
    assert_eq!(sql_rows(&path).len(), 1);
}

#[tokio::test]
async fn a_missing_table_file_or_column_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    Connection::open(&path)
        .unwrap()
        .execute_batch(VERSION_TABLE)
        .unwrap();
    let table = open(&path).await;
    for error in [
        table.load().await.unwrap_err(),
        table.schema().await.unwrap_err(),
        table.remove("x").await.unwrap_err(),
        table.set_flags("x", 1).await.unwrap_err(),
        table.insert(&tricky_row("x", 1)).await.unwrap_err(),
    ] {
        assert!(
            matches!(error, UacTableError::TableMissing { .. }),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(message.contains("`uacreg`"), "{message}");
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("uac-create.sql"), "{message}");
    }

    let absent = dir.path().join("absent.db");
    let error = open(&absent).await.load().await.unwrap_err();
    assert!(
        matches!(error, UacTableError::NoDatabaseFile { .. }),
        "{error:?}"
    );
    assert!(!absent.exists(), "reading must not create the file");

    // Kamailio 4.4's layout (version 2) has no auth_ha1.
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(&DDL_V4.replace("    auth_ha1 VARCHAR(128) DEFAULT '' NOT NULL,\n", ""))
        .unwrap();
    let error = table.load().await.unwrap_err();
    assert!(
        matches!(
            error,
            UacTableError::MissingColumn {
                column: "auth_ha1",
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn create_if_missing_makes_the_version_6_layout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lamppost.db");
    let table = open(&path).await;
    table.create_if_missing().await.unwrap();
    assert_eq!(table.schema().await.unwrap(), V6);

    let row = tricky_row("embedded", 3);
    let id = table.insert(&row).await.unwrap();
    table.create_if_missing().await.unwrap();
    assert_eq!(table.load().await.unwrap(), vec![UacRow { id, ..row }]);

    // No `version` table here, so none was made; where there is one, version 6 is recorded.
    let conn = Connection::open(&path).unwrap();
    let has_version: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'version')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!has_version);
    let other = dir.path().join("with-version.db");
    Connection::open(&other)
        .unwrap()
        .execute_batch(VERSION_TABLE)
        .unwrap();
    let named = UacTable::open(other.to_str().unwrap(), "outbound")
        .await
        .unwrap();
    named.create_if_missing().await.unwrap();
    named.create_if_missing().await.unwrap();
    let versions: Vec<(String, i64)> = Connection::open(&other)
        .unwrap()
        .prepare("SELECT table_name, table_version FROM version")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(versions, [("outbound".to_owned(), 6)]);
    assert_eq!(named.schema().await.unwrap(), V6);
}

#[tokio::test]
async fn create_if_missing_leaves_an_existing_table_alone() {
    let (_dir, path) = kamailio_db(DDL_V4);
    let table = open(&path).await;
    table.create_if_missing().await.unwrap();
    assert_eq!(table.schema().await.unwrap(), V4);
}

#[tokio::test]
async fn url_forms_and_table_names() {
    let (_dir, path) = kamailio_db(DDL_V5);
    sql_insert(
        &path,
        &UacRow {
            id: 1,
            ..as_stored(&tricky_row("u", 1), &V5)
        },
        &V5,
    );
    let display = path.display().to_string();
    for url in [
        display.clone(),
        format!("sqlite:{display}"),
        format!("sqlite://{display}"),
    ] {
        let table = UacTable::open(&url, "uacreg").await.unwrap();
        assert_eq!(table.describe(), url);
        assert_eq!(table.load().await.unwrap().len(), 1, "{url}");
    }
    for bad in ["", "uacreg; DROP TABLE version", "1uacreg", "uac-reg"] {
        let error = UacTable::open(&display, bad).await.unwrap_err();
        assert!(
            matches!(error, UacTableError::InvalidTableName { .. }),
            "{bad}: {error:?}"
        );
    }
    let error = UacTable::open("redis://localhost/0", "uacreg")
        .await
        .unwrap_err();
    assert!(
        matches!(error, UacTableError::UnsupportedUrl { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn loaded_rows_do_not_show_secrets_in_debug() {
    let (_dir, path) = kamailio_db(DDL_V6);
    sql_insert(
        &path,
        &UacRow {
            id: 1,
            ..tricky_row("s", 1)
        },
        &V6,
    );
    let rows = open(&path).await.load().await.unwrap();
    let shown = format!("{rows:?}");
    assert!(shown.contains("o'brien1"), "{shown}");
    assert!(
        !shown.contains("word☎") && !shown.contains("0123456789abcdef"),
        "{shown}"
    );
}
