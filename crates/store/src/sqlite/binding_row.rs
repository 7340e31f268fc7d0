//! How a [`Binding`] maps onto a `location` row, and back.
//!
//! Unsigned 64-bit values (the binding id, the branch hash, the connection id) are stored as the signed integer with
//! the same bits, so large values read back as negative numbers in SQL. Times are Unix seconds. `q` is the SIP value
//! (`0.5`), NULL when the client sent none. The IPv6 flow label of an address is not kept (sockets report 0 unless
//! asked otherwise); the scope id is.

use std::net::SocketAddr;
use std::num::NonZeroU64;

use registrar::{Binding, ContactExtras, Source, Transport, UnixTime};
use rusqlite::{Row, Statement, params};

/// Inserts a binding, or updates it when its id exists; parameters follow [`BindingRow`] field order. A binding never
/// changes its AOR, so the update leaves `username` and `domain` out: SQLite then leaves the `(username, domain)`
/// index alone on every refresh.
pub(super) const UPSERT: &str = "INSERT INTO location (id, username, domain, contact, params, \
     received, path, expires, q, callid, cseq, last_modified, registered_at, user_agent, socket, transport, \
     connection_id, instance, reg_id, branch_hash) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20) \
     ON CONFLICT(id) DO UPDATE SET contact = excluded.contact, \
     params = excluded.params, received = excluded.received, path = excluded.path, expires = excluded.expires, \
     q = excluded.q, callid = excluded.callid, cseq = excluded.cseq, last_modified = excluded.last_modified, \
     registered_at = excluded.registered_at, user_agent = excluded.user_agent, socket = excluded.socket, \
     transport = excluded.transport, connection_id = excluded.connection_id, instance = excluded.instance, \
     reg_id = excluded.reg_id, branch_hash = excluded.branch_hash";

/// Deletes the binding whose id is the one parameter.
pub(super) const DELETE: &str = "DELETE FROM location WHERE id = ?1";

/// Every column [`decode`] reads.
pub(super) const SELECT_ALL: &str = "SELECT id, username, domain, contact, params, received, path, expires, q, \
     callid, cseq, last_modified, registered_at, user_agent, socket, transport, connection_id, instance, reg_id, \
     branch_hash FROM location";

/// A binding converted to column values, checked and ready to write.
#[derive(Debug)]
pub(super) struct BindingRow<'a> {
    id: i64,
    username: &'a str,
    domain: Option<&'a str>,
    contact: &'a str,
    params: &'a str,
    received: String,
    path: Option<String>,
    expires: i64,
    q: Option<f64>,
    callid: &'a str,
    cseq: i64,
    last_modified: i64,
    registered_at: i64,
    user_agent: &'a str,
    socket: String,
    transport: &'static str,
    connection_id: Option<i64>,
    instance: Option<&'a str>,
    reg_id: Option<i64>,
    branch_hash: i64,
}

impl<'a> BindingRow<'a> {
    /// Converts `b`.
    pub(super) fn encode(b: &'a Binding) -> Self {
        let time = |t: UnixTime| i64::from(t.0);
        let (username, domain) = match b.aor.rsplit_once('@') {
            Some((user, domain)) => (user, Some(domain)),
            None => (&*b.aor, None),
        };
        Self {
            id: b.id.cast_signed(),
            username,
            domain,
            contact: &b.uri,
            params: b.params(),
            received: format!("sip:{}", b.source.remote),
            path: (!b.path().is_empty()).then(|| encode_path(b.path())),
            expires: time(b.expires_at),
            q: b.q.map(|q| f64::from(q) / 1000.0),
            callid: &b.call_id,
            cseq: i64::from(b.cseq),
            last_modified: time(b.updated_at),
            registered_at: time(b.registered_at),
            user_agent: &b.user_agent,
            socket: format!(
                "{}:{}",
                b.source.transport.as_str().to_ascii_lowercase(),
                b.source.local
            ),
            transport: b.source.transport.as_str(),
            connection_id: b.source.connection.map(|c| c.get().cast_signed()),
            instance: b.instance(),
            reg_id: b.reg_id().map(i64::from),
            branch_hash: i64::from(b.branch_hash),
        }
    }

    /// Runs `upsert`, a statement prepared from [`UPSERT`], for this row.
    pub(super) fn upsert(&self, upsert: &mut Statement<'_>) -> rusqlite::Result<()> {
        upsert.execute(params![
            self.id,
            self.username,
            self.domain,
            self.contact,
            self.params,
            self.received,
            self.path,
            self.expires,
            self.q,
            self.callid,
            self.cseq,
            self.last_modified,
            self.registered_at,
            self.user_agent,
            self.socket,
            self.transport,
            self.connection_id,
            self.instance,
            self.reg_id,
            self.branch_hash,
        ])?;
        Ok(())
    }
}

/// Rebuilds a binding from a row read with [`SELECT_ALL`]; the error says which column is wrong.
pub(super) fn decode(row: &Row<'_>) -> Result<Binding, String> {
    let text = |col: &str| {
        row.get::<_, String>(col)
            .map_err(|e| format!("column {col}: {e}"))
    };
    let opt_text = |col: &str| {
        row.get::<_, Option<String>>(col)
            .map_err(|e| format!("column {col}: {e}"))
    };
    let int = |col: &str| {
        row.get::<_, i64>(col)
            .map_err(|e| format!("column {col}: {e}"))
    };
    let opt_int = |col: &str| {
        row.get::<_, Option<i64>>(col)
            .map_err(|e| format!("column {col}: {e}"))
    };
    let time = |col: &str| {
        int(col).and_then(|t| {
            u32::try_from(t)
                .map(UnixTime)
                .map_err(|_| format!("column {col}: time {t} is out of range"))
        })
    };

    let username = text("username")?;
    let aor = match opt_text("domain")? {
        Some(domain) => format!("{username}@{domain}"),
        None => username,
    };
    let received = text("received")?;
    let remote = received
        .strip_prefix("sip:")
        .and_then(|addr| addr.parse::<SocketAddr>().ok())
        .ok_or_else(|| format!("column received: `{received}` is not sip:address:port"))?;
    let socket = text("socket")?;
    let local = socket
        .split_once(':')
        .and_then(|(_proto, addr)| addr.parse::<SocketAddr>().ok())
        .ok_or_else(|| format!("column socket: `{socket}` is not proto:address:port"))?;
    let transport_name = text("transport")?;
    let transport = Transport::parse(&transport_name)
        .ok_or_else(|| format!("column transport: unknown transport `{transport_name}`"))?;
    let q = match row
        .get::<_, Option<f64>>("q")
        .map_err(|e| format!("column q: {e}"))?
    {
        None => None,
        Some(q) => {
            let milli = (q * 1000.0).round();
            if !(0.0..=f64::from(u16::MAX)).contains(&milli) {
                return Err(format!("column q: {q} is out of range"));
            }
            // In range and integral, checked above.
            Some(milli as u16)
        }
    };
    let cseq = int("cseq")?;
    let reg_id = opt_int("reg_id")?
        .map(u32::try_from)
        .transpose()
        .map_err(|_| "column reg_id: out of range".to_owned())?;

    Ok(Binding {
        id: int("id")?.cast_unsigned(),
        aor: aor.into(),
        uri: text("contact")?.into(),
        q,
        expires_at: time("expires")?,
        registered_at: time("registered_at")?,
        updated_at: time("last_modified")?,
        call_id: text("callid")?.into(),
        cseq: u32::try_from(cseq).map_err(|_| format!("column cseq: {cseq} is out of range"))?,
        // Earlier versions stored 64-bit hashes; the low half is what the hash is now.
        branch_hash: int("branch_hash")? as u32,
        source: Source {
            remote,
            local: local.into(),
            transport,
            connection: opt_int("connection_id")?.and_then(|c| NonZeroU64::new(c.cast_unsigned())),
        },
        user_agent: text("user_agent")?.into(),
        extras: ContactExtras {
            params: text("params")?.into(),
            path: opt_text("path")?.map_or_else(Default::default, |p| decode_path(&p)),
            instance: opt_text("instance")?.map(Into::into),
            reg_id,
        }
        .into(),
    })
}

/// Joins Path values with `,` (as Kamailio stores them), escaping `,` and `\` inside a value with `\`.
fn encode_path(path: &[Box<str>]) -> String {
    let mut out = String::new();
    for (i, value) in path.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for c in value.chars() {
            if c == ',' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

/// Inverse of [`encode_path`].
fn decode_path(stored: &str) -> Box<[Box<str>]> {
    let mut values = Vec::new();
    let mut current = String::new();
    let mut chars = stored.chars();
    while let Some(c) = chars.next() {
        match c {
            ',' => values.push(std::mem::take(&mut current).into_boxed_str()),
            '\\' => current.extend(chars.next()),
            _ => current.push(c),
        }
    }
    values.push(current.into_boxed_str());
    values.into_boxed_slice()
}

#[cfg(test)]
mod tests {
    use super::{decode_path, encode_path};

    #[test]
    fn path_values_with_commas_and_backslashes_round_trip() {
        let cases: Vec<Vec<Box<str>>> = vec![
            vec!["<sip:p1.example;lr>".into()],
            vec!["<sip:p1.example;lr>".into(), "<sip:p2.example;lr>".into()],
            vec![
                "\"a, b\" <sip:p1;lr>".into(),
                "<sip:x\\y;lr>".into(),
                "".into(),
            ],
            vec!["".into()],
            vec![",".into(), "\\".into(), "\\,".into()],
        ];
        for path in cases {
            assert_eq!(*decode_path(&encode_path(&path)), *path, "{path:?}");
        }
    }

    #[test]
    fn plain_paths_are_stored_as_kamailio_does() {
        let path: Vec<Box<str>> = vec!["<sip:p1;lr>".into(), "<sip:p2;lr>".into()];
        assert_eq!(encode_path(&path), "<sip:p1;lr>,<sip:p2;lr>");
    }
}
