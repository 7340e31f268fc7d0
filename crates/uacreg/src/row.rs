//! One `uacreg` row, and how it maps to column values.

use std::fmt;

use crate::schema::TableSchema;

/// One row of the `uacreg` table as stored.
///
/// Raw: nothing is validated here; turning a row into a registration (and rejecting unusable ones) is the
/// caller's job. Columns the table lacks read as `""`. `Debug` shows `auth_password` and `auth_ha1` only as
/// `<set>` or `""`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct UacRow {
    /// Row id (the table's auto-increment primary key).
    pub id: i64,
    /// Local unique id, used to build and match the Contact; unique in the table.
    pub l_uuid: String,
    /// Local user name.
    pub l_username: String,
    /// Local domain.
    pub l_domain: String,
    /// User name registered at the remote registrar.
    pub r_username: String,
    /// Domain of the remote registrar.
    pub r_domain: String,
    /// Authentication realm (`""` accepts the realm of the challenge).
    pub realm: String,
    /// Authentication user name.
    pub auth_username: String,
    /// Authentication password in clear text.
    pub auth_password: String,
    /// Precomputed HA1 (used instead of the password when set).
    pub auth_ha1: String,
    /// Outbound proxy SIP URI (`""`: send to `r_domain`).
    pub auth_proxy: String,
    /// Requested registration expiry in seconds; 0 means never register.
    pub expires: i64,
    /// Flags; 1 means the registration is disabled.
    pub flags: i64,
    /// Seconds to wait after loading before the first REGISTER.
    pub reg_delay: i64,
    /// Local socket to send from, like `udp:192.0.2.10:5060`.
    pub socket: String,
    /// Contact address overriding the configured one: `host[:port][;params]`, without `sip:`.
    pub contact_addr: String,
    /// Contact user overriding `l_uuid`.
    pub contact_user: String,
}

impl fmt::Debug for UacRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |secret: &str| if secret.is_empty() { "" } else { "<set>" };
        f.debug_struct("UacRow")
            .field("id", &self.id)
            .field("l_uuid", &self.l_uuid)
            .field("l_username", &self.l_username)
            .field("l_domain", &self.l_domain)
            .field("r_username", &self.r_username)
            .field("r_domain", &self.r_domain)
            .field("realm", &self.realm)
            .field("auth_username", &self.auth_username)
            .field("auth_password", &hidden(&self.auth_password))
            .field("auth_ha1", &hidden(&self.auth_ha1))
            .field("auth_proxy", &self.auth_proxy)
            .field("expires", &self.expires)
            .field("flags", &self.flags)
            .field("reg_delay", &self.reg_delay)
            .field("socket", &self.socket)
            .field("contact_addr", &self.contact_addr)
            .field("contact_user", &self.contact_user)
            .finish()
    }
}

/// A value bound to a statement parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SqlValue<'a> {
    /// A string column's value.
    Text(&'a str),
    /// An integer column's value, within Kamailio's 32-bit `INT`.
    Int(i32),
}

/// Why a row cannot be written to a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowProblem {
    /// The field is set but the table has no such column.
    AbsentColumn(&'static str),
    /// The value does not fit the column's 32-bit `INT`.
    OutOfRange(&'static str, i64),
}

/// A field of the row as the value of its column.
enum Field<'a> {
    Text(&'a str),
    Int(i64),
}

/// Reads one field of a row.
type Getter = fn(&UacRow) -> Field<'_>;

/// The columns an insert writes (all but `id`), each with its field.
const WRITTEN: [(&str, Getter); 16] = [
    ("l_uuid", |r| Field::Text(&r.l_uuid)),
    ("l_username", |r| Field::Text(&r.l_username)),
    ("l_domain", |r| Field::Text(&r.l_domain)),
    ("r_username", |r| Field::Text(&r.r_username)),
    ("r_domain", |r| Field::Text(&r.r_domain)),
    ("realm", |r| Field::Text(&r.realm)),
    ("auth_username", |r| Field::Text(&r.auth_username)),
    ("auth_password", |r| Field::Text(&r.auth_password)),
    ("auth_ha1", |r| Field::Text(&r.auth_ha1)),
    ("auth_proxy", |r| Field::Text(&r.auth_proxy)),
    ("expires", |r| Field::Int(r.expires)),
    ("flags", |r| Field::Int(r.flags)),
    ("reg_delay", |r| Field::Int(r.reg_delay)),
    ("socket", |r| Field::Text(&r.socket)),
    ("contact_addr", |r| Field::Text(&r.contact_addr)),
    ("contact_user", |r| Field::Text(&r.contact_user)),
];

/// `value` as a 32-bit `INT` of `column`.
pub(crate) fn int_column(column: &'static str, value: i64) -> Result<i32, RowProblem> {
    i32::try_from(value).map_err(|_| RowProblem::OutOfRange(column, value))
}

impl UacRow {
    /// The columns and values that insert this row (without `id`) into a table with `schema`.
    ///
    /// A column the table lacks is left out when the field is empty, and refused when it is set.
    pub(crate) fn insert_values(
        &self,
        schema: &TableSchema,
    ) -> Result<Vec<(&'static str, SqlValue<'_>)>, RowProblem> {
        let mut values = Vec::with_capacity(WRITTEN.len());
        for (column, field) in WRITTEN {
            let value = match field(self) {
                Field::Text(text) => SqlValue::Text(text),
                Field::Int(int) => SqlValue::Int(int_column(column, int)?),
            };
            if schema.has(column) {
                values.push((column, value));
            } else if value != SqlValue::Text("") {
                return Err(RowProblem::AbsentColumn(column));
            }
        }
        Ok(values)
    }

    /// Builds a row from a result row whose columns are named as the table's, through the driver's getters.
    pub(crate) fn decode<E>(
        text: impl Fn(&'static str) -> Result<String, E>,
        int: impl Fn(&'static str) -> Result<i64, E>,
    ) -> Result<Self, E> {
        Ok(Self {
            id: int("id")?,
            l_uuid: text("l_uuid")?,
            l_username: text("l_username")?,
            l_domain: text("l_domain")?,
            r_username: text("r_username")?,
            r_domain: text("r_domain")?,
            realm: text("realm")?,
            auth_username: text("auth_username")?,
            auth_password: text("auth_password")?,
            auth_ha1: text("auth_ha1")?,
            auth_proxy: text("auth_proxy")?,
            expires: int("expires")?,
            flags: int("flags")?,
            reg_delay: int("reg_delay")?,
            socket: text("socket")?,
            contact_addr: text("contact_addr")?,
            contact_user: text("contact_user")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{INTEGER_COLUMNS, OPTIONAL_COLUMNS, REQUIRED_COLUMNS};

    const V4: TableSchema = TableSchema {
        has_socket: true,
        has_contact_addr: false,
        has_contact_user: false,
    };
    const V6: TableSchema = TableSchema {
        has_socket: true,
        has_contact_addr: true,
        has_contact_user: true,
    };

    fn sample() -> UacRow {
        UacRow {
            id: 9,
            l_uuid: "u1".into(),
            auth_password: "pw".into(),
            expires: 3600,
            flags: 1,
            socket: "udp:192.0.2.1:5060".into(),
            ..UacRow::default()
        }
    }

    #[test]
    fn every_column_but_id_is_written_in_a_full_table() {
        let row = sample();
        let values = row.insert_values(&V6).unwrap();
        let columns: Vec<&str> = values.iter().map(|(c, _)| *c).collect();
        let expected: Vec<&str> = REQUIRED_COLUMNS[1..]
            .iter()
            .chain(&OPTIONAL_COLUMNS)
            .copied()
            .collect();
        assert_eq!(columns, expected);
        assert!(values.contains(&("l_uuid", SqlValue::Text("u1"))));
        assert!(values.contains(&("auth_password", SqlValue::Text("pw"))));
        assert!(values.contains(&("expires", SqlValue::Int(3600))));
        assert!(values.contains(&("flags", SqlValue::Int(1))));
        for (column, value) in &values {
            assert_eq!(
                INTEGER_COLUMNS.contains(column),
                matches!(value, SqlValue::Int(_)),
                "{column}"
            );
        }
    }

    #[test]
    fn empty_fields_of_absent_columns_are_left_out() {
        let row = sample();
        let values = row.insert_values(&V4).unwrap();
        assert!(values.iter().any(|(c, _)| *c == "socket"));
        assert!(!values.iter().any(|(c, _)| *c == "contact_addr"));
        assert!(!values.iter().any(|(c, _)| *c == "contact_user"));
    }

    #[test]
    fn set_fields_of_absent_columns_and_wide_integers_are_refused() {
        let row = UacRow {
            contact_user: "alice".into(),
            ..sample()
        };
        assert_eq!(
            row.insert_values(&V4),
            Err(RowProblem::AbsentColumn("contact_user"))
        );
        let row = UacRow {
            reg_delay: i64::from(i32::MAX) + 1,
            ..sample()
        };
        assert_eq!(
            row.insert_values(&V6),
            Err(RowProblem::OutOfRange("reg_delay", 2_147_483_648))
        );
        assert_eq!(int_column("flags", -5), Ok(-5));
    }

    #[test]
    fn debug_hides_secrets() {
        let row = UacRow {
            auth_password: "hunter2".into(),
            auth_ha1: "0123abcd".into(),
            ..sample()
        };
        let shown = format!("{row:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("0123abcd"));
        assert!(shown.contains(r#"auth_password: "<set>""#), "{shown}");
        assert!(shown.contains(r#"auth_ha1: "<set>""#), "{shown}");
        assert!(shown.contains(r#"l_uuid: "u1""#), "{shown}");
        let empty = format!("{:?}", UacRow::default());
        assert!(empty.contains(r#"auth_password: """#), "{empty}");
    }
}
