//! Rows with awkward values, shared by the backend tests.

use uacreg::{TableSchema, UacRow};

/// A row with every field set, using quotes, backslashes and non-ASCII text; `n` varies the values.
pub(crate) fn tricky_row(l_uuid: &str, n: i64) -> UacRow {
    UacRow {
        id: 0,
        l_uuid: l_uuid.to_owned(),
        l_username: format!("o'brien{n}"),
        l_domain: "bür.example".to_owned(),
        r_username: format!("\"quoted\" {n}"),
        r_domain: "sip.provider.example".to_owned(),
        realm: "ré`alm".to_owned(),
        auth_username: "back\\slash".to_owned(),
        auth_password: "pa'ss;--\"word☎".to_owned(),
        auth_ha1: "0123456789abcdef0123456789abcdef".to_owned(),
        auth_proxy: "sip:proxy.example;transport=tcp".to_owned(),
        expires: 3600 + n,
        flags: n % 2,
        reg_delay: -n,
        socket: "udp:192.0.2.10:5060".to_owned(),
        contact_addr: "198.51.100.7:5080;transport=udp".to_owned(),
        contact_user: "日本語".to_owned(),
    }
}

/// `row` with the fields of columns `schema` lacks emptied: what the table stores and gives back.
pub(crate) fn as_stored(row: &UacRow, schema: &TableSchema) -> UacRow {
    let mut row = row.clone();
    if !schema.has_socket {
        row.socket.clear();
    }
    if !schema.has_contact_addr {
        row.contact_addr.clear();
    }
    if !schema.has_contact_user {
        row.contact_user.clear();
    }
    row
}

/// Kamailio 5.3/5.4 (uacreg version 4): `socket` only.
pub(crate) const V4: TableSchema = TableSchema {
    has_socket: true,
    has_contact_addr: false,
    has_contact_user: false,
};

/// Kamailio 5.5 to 6.1 (versions 4 and 5): `socket` and `contact_addr`.
pub(crate) const V5: TableSchema = TableSchema {
    has_socket: true,
    has_contact_addr: true,
    has_contact_user: false,
};

/// Version 6: every column.
pub(crate) const V6: TableSchema = TableSchema {
    has_socket: true,
    has_contact_addr: true,
    has_contact_user: true,
};
