//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::path::Path;

use registrar::{Binding, Extras, Source, Transport, UnixTime};
use store::{SqliteOptions, SqliteStore};

/// The URL of `name` inside `dir`.
pub fn url(dir: &Path, name: &str) -> String {
    format!("sqlite://{}", dir.join(name).display())
}

/// A plain connection to the database file `url` names (created if missing), for looking at or changing it behind
/// the store's back.
pub fn raw(url: &str) -> rusqlite::Connection {
    let path = url.strip_prefix("sqlite://").unwrap();
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .unwrap();
    conn
}

/// Opens `name` inside `dir` with default options.
pub async fn open(dir: &Path, name: &str) -> SqliteStore {
    SqliteStore::open(&url(dir, name), &SqliteOptions::default())
        .await
        .unwrap()
}

/// A UDP binding over IPv4 with every optional field absent.
pub fn binding(id: u64, aor: &str) -> Binding {
    let remote: SocketAddr = "192.0.2.7:5060".parse().unwrap();
    let local: SocketAddr = "198.51.100.1:5060".parse().unwrap();
    Binding {
        id,
        aor: aor.into(),
        uri: format!("sip:{}@192.0.2.7:5060", aor.split('@').next().unwrap()).into(),
        q: None,
        expires_at: UnixTime(1_800_003_600),
        registered_at: UnixTime(1_800_000_000),
        updated_at: UnixTime(1_800_000_000),
        call_id: format!("call-{id}").into(),
        cseq: 1,
        branch_hash: (id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as u32,
        source: Source {
            remote,
            local: local.into(),
            transport: Transport::Udp,
            connection: None,
        },
        user_agent: "".into(),
        extras: Extras::default(),
    }
}

/// Sorts by id, for comparing what was stored with what was loaded.
pub fn by_id(mut bindings: Vec<Binding>) -> Vec<Binding> {
    bindings.sort_by_key(|b| b.id);
    bindings
}
