//! The `uacreg` table in PostgreSQL, created with Kamailio's own DDL (`utils/kamctl/postgres/uac-create.sql`).
//!
//! Needs a server at `postgres://postgres@127.0.0.1:5432/test` (or `LAMPPOST_TEST_POSTGRES_URL`); without one each
//! test prints `SKIPPED: ...` and passes, unless `LAMPPOST_REQUIRE_DB=1`.

#[path = "support/rows.rs"]
mod rows;
#[path = "support/server.rs"]
mod server;

use std::time::Duration;

use rows::{V4, V5, V6, as_stored, tricky_row};
use server::{run_then_cleanup, server_url, skip, unique_table};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Row};
use uacreg::{TableSchema, UacRow, UacTable, UacTableError};

/// Kamailio 5.3/5.4's uac-create.sql (version 4: `socket`, no `contact_addr`).
const DDL_V4: &str = "CREATE TABLE uacreg (
    id SERIAL PRIMARY KEY NOT NULL,
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
)";

/// Kamailio 5.6 to 6.1's uac-create.sql (version 5).
const DDL_V5: &str = "CREATE TABLE uacreg (
    id SERIAL PRIMARY KEY NOT NULL,
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
)";

/// Version 6: version 5 plus `contact_user`.
const DDL_V6: &str = "CREATE TABLE uacreg (
    id SERIAL PRIMARY KEY NOT NULL,
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
)";

/// Every Kamailio layout with the schema it should be detected as.
const LAYOUTS: [(&str, &str, TableSchema); 3] =
    [("v4", DDL_V4, V4), ("v5", DDL_V5, V5), ("v6", DDL_V6, V6)];

fn url() -> String {
    server_url(
        "LAMPPOST_TEST_POSTGRES_URL",
        "postgres://postgres@127.0.0.1:5432/test",
    )
}

/// A connection pool to the test server, or `None` (after saying so) when it is not reachable.
async fn connect(test: &str) -> Option<PgPool> {
    let url = url();
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(3))
        .connect(&url)
        .await;
    match pool {
        Ok(pool) => Some(pool),
        Err(error) => {
            let shown = UacTable::open(&url, "uacreg").await.unwrap().describe();
            skip(test, "PostgreSQL", &shown, &error);
            None
        }
    }
}

/// Runs `body` on a table made with `ddl` under a fresh name, dropping it afterwards.
async fn with_table<F, Fut>(pool: &PgPool, ddl: &str, body: F)
where
    F: FnOnce(PgPool, String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let table = unique_table("pg");
    // The constraint is renamed too: PostgreSQL names constraints per schema.
    let create = ddl.replace("uacreg", &table);
    sqlx::query(AssertSqlSafe(create))
        .execute(pool)
        .await
        .unwrap();
    let cleanup = drop_table(pool.clone(), table.clone());
    run_then_cleanup(body(pool.clone(), table), cleanup).await;
}

async fn drop_table(pool: PgPool, table: String) {
    sqlx::query(AssertSqlSafe(format!("DROP TABLE IF EXISTS {table}")))
        .execute(&pool)
        .await
        .unwrap();
}

/// Inserts `row` (with its id) with plain SQL, writing only the columns of `schema`.
async fn sql_insert(pool: &PgPool, table: &str, row: &UacRow, schema: &TableSchema) {
    let mut texts = vec![
        ("l_uuid", &row.l_uuid),
        ("l_username", &row.l_username),
        ("l_domain", &row.l_domain),
        ("r_username", &row.r_username),
        ("r_domain", &row.r_domain),
        ("realm", &row.realm),
        ("auth_username", &row.auth_username),
        ("auth_password", &row.auth_password),
        ("auth_ha1", &row.auth_ha1),
        ("auth_proxy", &row.auth_proxy),
    ];
    if schema.has_socket {
        texts.push(("socket", &row.socket));
    }
    if schema.has_contact_addr {
        texts.push(("contact_addr", &row.contact_addr));
    }
    if schema.has_contact_user {
        texts.push(("contact_user", &row.contact_user));
    }
    let names: Vec<&str> = texts.iter().map(|(name, _)| *name).collect();
    let sql = format!(
        "INSERT INTO {table} (id, expires, flags, reg_delay, {}) VALUES ({})",
        names.join(", "),
        (1..=names.len() + 4)
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let int = |value: i64| i32::try_from(value).unwrap();
    let mut query = sqlx::query(AssertSqlSafe(sql))
        .bind(int(row.id))
        .bind(int(row.expires))
        .bind(int(row.flags))
        .bind(int(row.reg_delay));
    for (_, value) in texts {
        query = query.bind(value.as_str());
    }
    query.execute(pool).await.unwrap();
}

/// `(l_uuid, flags, l_username, auth_password)` of every row, by id, read with plain SQL.
async fn sql_rows(pool: &PgPool, table: &str) -> Vec<(String, i32, String, String)> {
    let sql = format!("SELECT l_uuid, flags, l_username, auth_password FROM {table} ORDER BY id");
    sqlx::query(AssertSqlSafe(sql))
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

async fn open(table: &str) -> UacTable {
    UacTable::open(&url(), table).await.unwrap()
}

#[tokio::test]
async fn rows_of_each_kamailio_layout_load_in_id_order() {
    let Some(pool) = connect("postgres::rows_of_each_kamailio_layout_load_in_id_order").await
    else {
        return;
    };
    for (name, ddl, schema) in LAYOUTS {
        with_table(&pool, ddl, move |pool, table| async move {
            let later = UacRow {
                id: 7,
                ..as_stored(&tricky_row("first-inserted", 1), &schema)
            };
            let earlier = UacRow {
                id: 3,
                ..as_stored(&tricky_row("second-inserted", 2), &schema)
            };
            sql_insert(&pool, &table, &later, &schema).await;
            sql_insert(&pool, &table, &earlier, &schema).await;

            let uac = open(&table).await;
            assert_eq!(uac.schema().await.unwrap(), schema, "{name}");
            assert_eq!(uac.load().await.unwrap(), vec![earlier, later], "{name}");
        })
        .await;
    }
}

#[tokio::test]
async fn api_writes_are_visible_to_sql_in_each_layout() {
    let Some(pool) = connect("postgres::api_writes_are_visible_to_sql_in_each_layout").await else {
        return;
    };
    for (name, ddl, schema) in LAYOUTS {
        with_table(&pool, ddl, move |pool, table| async move {
            let uac = open(&table).await;
            let first = as_stored(&tricky_row("a'1", 4), &schema);
            let second = as_stored(&tricky_row("ü\"2", 5), &schema);
            let first_id = uac
                .insert(&UacRow {
                    id: 99,
                    ..first.clone()
                })
                .await
                .unwrap();
            let second_id = uac.insert(&second).await.unwrap();
            assert!(second_id > first_id, "{name}");
            assert_eq!(
                sql_rows(&pool, &table).await,
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
            assert_eq!(
                uac.load().await.unwrap(),
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

            assert!(uac.set_flags("a'1", 1).await.unwrap(), "{name}");
            assert!(
                uac.set_flags("a'1", 1).await.unwrap(),
                "unchanged value, {name}"
            );
            assert!(uac.set_flags("ü\"2", 0).await.unwrap(), "{name}");
            assert!(!uac.set_flags("nobody", 1).await.unwrap(), "{name}");
            let flags: Vec<i32> = sql_rows(&pool, &table).await.iter().map(|r| r.1).collect();
            assert_eq!(flags, [1, 0], "{name}");

            assert!(uac.remove("a'1").await.unwrap(), "{name}");
            assert!(!uac.remove("a'1").await.unwrap(), "{name}");
            let left: Vec<String> = sql_rows(&pool, &table)
                .await
                .into_iter()
                .map(|r| r.0)
                .collect();
            assert_eq!(left, ["ü\"2"], "{name}");
        })
        .await;
    }
}

#[tokio::test]
async fn insert_refuses_absent_columns_and_repeated_uuids() {
    let Some(pool) = connect("postgres::insert_refuses_absent_columns_and_repeated_uuids").await
    else {
        return;
    };
    with_table(&pool, DDL_V4, |pool, table| async move {
        let uac = open(&table).await;
        let error = uac.insert(&tricky_row("x", 1)).await.unwrap_err();
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
        uac.insert(&as_stored(&tricky_row("x", 1), &V4))
            .await
            .unwrap();
        let error = uac
            .insert(&as_stored(&tricky_row("x", 2), &V4))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, UacTableError::DuplicateUuid { l_uuid, .. } if l_uuid == "x"),
            "{error:?}"
        );
        assert_eq!(sql_rows(&pool, &table).await.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_missing_table_is_left_to_kamailios_ddl() {
    let test = "postgres::a_missing_table_is_left_to_kamailios_ddl";
    if connect(test).await.is_none() {
        return;
    }
    let uac = open(&unique_table("absent")).await;
    for error in [
        uac.load().await.unwrap_err(),
        uac.create_if_missing().await.unwrap_err(),
    ] {
        assert!(
            matches!(error, UacTableError::TableMissing { .. }),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains("utils/kamctl/postgres/uac-create.sql"),
            "{message}"
        );
        assert!(
            message.contains("127.0.0.1") || message.contains("postgres://"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn create_if_missing_accepts_an_existing_table() {
    let Some(pool) = connect("postgres::create_if_missing_accepts_an_existing_table").await else {
        return;
    };
    with_table(&pool, DDL_V5, |_pool, table| async move {
        let uac = open(&table).await;
        uac.create_if_missing().await.unwrap();
        assert_eq!(uac.schema().await.unwrap(), V5);
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_server_is_reported_without_the_password() {
    let uac = UacTable::open("postgres://kam:topsecret@127.0.0.1:9/kamailio", "uacreg")
        .await
        .unwrap();
    assert_eq!(uac.describe(), "postgres://kam:***@127.0.0.1:9/kamailio");
    let error = uac.load().await.unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, UacTableError::Server { .. }), "{error:?}");
    assert!(!message.contains("topsecret") && !format!("{error:?}").contains("topsecret"));
    assert!(
        message.contains("postgres://kam:***@127.0.0.1:9/kamailio"),
        "{message}"
    );
    assert!(message.contains("reachable"), "{message}");
}
