//! Registrations read from a `uacreg` table that Kamailio's own DDL created, in MariaDB and PostgreSQL (the servers
//! on loopback), registered to the fake trunk. Skipped, loudly, when a server or its command-line client is absent;
//! a failure instead when `LAMPPOST_REQUIRE_DB=1` (CI).

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{Opts, TestServer, program};
use crate::trunk::fake::{FakeTrunk, Mode};

/// Kamailio's MySQL uac-create.sql (table version 5), under another table name.
const MYSQL_DDL: &str = "CREATE TABLE @T@ (
    id INT(10) UNSIGNED AUTO_INCREMENT PRIMARY KEY NOT NULL,
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
    expires INT DEFAULT 0 NOT NULL,
    flags INT DEFAULT 0 NOT NULL,
    reg_delay INT DEFAULT 0 NOT NULL,
    contact_addr VARCHAR(255) DEFAULT '' NOT NULL,
    socket VARCHAR(128) DEFAULT '' NOT NULL,
    CONSTRAINT l_uuid_idx UNIQUE (l_uuid)
)";

/// Kamailio's PostgreSQL uac-create.sql (table version 4), under another table name.
const POSTGRES_DDL: &str = "CREATE TABLE @T@ (
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
    CONSTRAINT @T@_l_uuid_idx UNIQUE (l_uuid)
)";

/// A database reached through its command-line client.
struct Database {
    client: std::path::PathBuf,
    args: Vec<&'static str>,
    url: &'static str,
}

impl Database {
    /// Runs `sql`; `None` (with the client's complaint) when it fails.
    fn run(&self, sql: &str) -> Result<(), String> {
        let out = Command::new(&self.client)
            .args(&self.args)
            .arg(sql)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

/// Says loudly that `test` is skipped, or fails when the databases are required.
fn unavailable(test: &str, what: &str, why: &str) {
    let line = format!("SKIPPED: {test}: {what} not usable ({})", why.trim());
    assert!(
        std::env::var("LAMPPOST_REQUIRE_DB").as_deref() != Ok("1"),
        "{line}, and LAMPPOST_REQUIRE_DB=1 requires it"
    );
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// A table name no concurrent test uses.
fn table_name(tag: &str) -> String {
    format!("uacreg_it_{tag}_{}", std::process::id())
}

/// Creates the table with `ddl`, fills one row for the fake trunk, runs lamppost on it and checks that the row
/// registers, then that a row added with the CLI lands in the same table.
fn registers_from(test: &str, db: &Database, ddl: &str, tag: &str) {
    let table = table_name(tag);
    let _ = db.run(&format!("DROP TABLE IF EXISTS {table}"));
    if let Err(why) = db.run(&ddl.replace("@T@", &table)) {
        unavailable(test, db.url, &why);
        return;
    }
    let trunk = FakeTrunk::start(Mode::Accept { grant: 300 });
    let insert = format!(
        "INSERT INTO {table} (l_uuid, l_username, l_domain, r_username, r_domain, realm, auth_username, \
         auth_password, auth_ha1, auth_proxy, expires, flags, reg_delay, socket) VALUES ('fromdb', 'alice', \
         'example.com', '4930', '{trunk}', '', '4930', 'pw', '', 'sip:{trunk}', 3600, 0, 0, '')",
        trunk = trunk.addr()
    );
    db.run(&insert).unwrap();
    let server = TestServer::start(&Opts {
        raw: format!(
            "[uac]\ninitial_spread = 0\ntable_url = \"{}\"\ntable = \"{table}\"\n",
            db.url
        ),
        ..Opts::default()
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some((200, body)) = server.get("/api/registrations/fromdb") {
            let s: serde_json::Value = serde_json::from_str(&body).unwrap();
            if s["state"] == "registered" {
                assert_eq!(s["origin"], "table");
                break;
            }
        }
        assert!(Instant::now() < deadline, "{}", server.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        trunk.received()[0]
            .contact
            .as_deref()
            .map(|c| c.contains("sip:fromdb@")),
        Some(true)
    );

    // The table cannot be read for a while: registrations from it keep running, nothing is unregistered.
    let renamed = format!("{table}_away");
    db.run(&format!("ALTER TABLE {table} RENAME TO {renamed}"))
        .unwrap();
    let (ok, out, err) = server.cli(&["reg", "reload"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("cannot read the table"), "{out}");
    assert!(out.contains("removed 0"), "{out}");
    assert!(trunk.received().iter().all(|r| r.expires != Some(0)));
    db.run(&format!("ALTER TABLE {renamed} RENAME TO {table}"))
        .unwrap();

    let (ok, out, err) = server.cli(&[
        "reg",
        "add",
        "fromcli",
        "--l-username",
        "bob",
        "--r-username",
        "77",
        "--r-domain",
        &trunk.addr().to_string(),
        "--auth-password",
        "x",
    ]);
    assert!(ok, "{out}{err}");
    let (ok, out, err) = server.cli(&["reg", "disable", "fromcli"]);
    assert!(ok, "{out}{err}");
    db.run(&format!(
        "DELETE FROM {table} WHERE l_uuid = 'fromcli' AND flags = 1"
    ))
    .unwrap();
    // The row the CLI added and disabled is in the table with flags = 1 (the DELETE matches only then); once it
    // is gone, a reload removes it and leaves `fromdb` as it was.
    let (ok, out, err) = server.cli(&["reg", "reload"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("unchanged 1, removed 1"), "{out}");
    let _ = db.run(&format!("DROP TABLE {table}"));
}

#[test]
fn registrations_come_from_a_mariadb_uacreg_table() {
    let test = "uac_tables::mariadb";
    let Some(client) = program(test, "mysql", "mariadb-client") else {
        return;
    };
    let db = Database {
        client,
        args: vec!["-h127.0.0.1", "-P3306", "-uroot", "test", "-e"],
        url: "mysql://root@127.0.0.1:3306/test",
    };
    registers_from(test, &db, MYSQL_DDL, "my");
}

#[test]
fn registrations_come_from_a_postgresql_uacreg_table() {
    let test = "uac_tables::postgresql";
    let Some(client) = program(test, "psql", "postgresql-client") else {
        return;
    };
    let db = Database {
        client,
        args: vec![
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "test",
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-c",
        ],
        url: "postgres://postgres@127.0.0.1:5432/test",
    };
    registers_from(test, &db, POSTGRES_DDL, "pg");
}
