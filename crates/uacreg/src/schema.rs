//! Which of Kamailio's `uacreg` columns a table has.

/// The columns every supported layout has (Kamailio's uacreg version 3, Kamailio 5.0, and later).
pub(crate) const REQUIRED_COLUMNS: [&str; 14] = [
    "id",
    "l_uuid",
    "l_username",
    "l_domain",
    "r_username",
    "r_domain",
    "realm",
    "auth_username",
    "auth_password",
    "auth_ha1",
    "auth_proxy",
    "expires",
    "flags",
    "reg_delay",
];

/// The columns later layouts added: `socket` (Kamailio 5.3), `contact_addr` (5.5), `contact_user` (version 6).
pub(crate) const OPTIONAL_COLUMNS: [&str; 3] = ["socket", "contact_addr", "contact_user"];

/// The integer-valued columns; all others hold strings.
pub(crate) const INTEGER_COLUMNS: [&str; 4] = ["id", "expires", "flags", "reg_delay"];

/// The optional columns an existing `uacreg` table has.
///
/// Kamailio 5.3 and 5.4 (version 4) have `socket` only; 5.5 adds `contact_addr` (still version 4; version 5 from
/// 5.6 on); version 6 adds `contact_user`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSchema {
    /// The table has the `socket` column (the local socket to send from, like `udp:192.0.2.10:5060`).
    pub has_socket: bool,
    /// The table has the `contact_addr` column (overrides the Contact address, `host[:port][;params]`).
    pub has_contact_addr: bool,
    /// The table has the `contact_user` column (overrides the Contact user).
    pub has_contact_user: bool,
}

/// Why a column list does not describe a usable `uacreg` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SchemaProblem {
    /// No columns at all: the table does not exist.
    NoTable,
    /// A column every supported layout has is missing.
    MissingColumn(&'static str),
}

impl TableSchema {
    /// The schema of a table with these column names (compared ignoring ASCII case, as SQLite and MySQL do).
    pub(crate) fn detect<S: AsRef<str>>(columns: &[S]) -> Result<Self, SchemaProblem> {
        if columns.is_empty() {
            return Err(SchemaProblem::NoTable);
        }
        let present = |wanted: &str| {
            columns
                .iter()
                .any(|name| name.as_ref().eq_ignore_ascii_case(wanted))
        };
        if let Some(missing) = REQUIRED_COLUMNS.into_iter().find(|c| !present(c)) {
            return Err(SchemaProblem::MissingColumn(missing));
        }
        Ok(Self {
            has_socket: present("socket"),
            has_contact_addr: present("contact_addr"),
            has_contact_user: present("contact_user"),
        })
    }

    /// Whether the table has `column`: always for the required columns, as detected for the optional ones.
    pub(crate) fn has(&self, column: &str) -> bool {
        match column {
            "socket" => self.has_socket,
            "contact_addr" => self.has_contact_addr,
            "contact_user" => self.has_contact_user,
            other => REQUIRED_COLUMNS.contains(&other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(extra: &[&str]) -> Vec<String> {
        REQUIRED_COLUMNS
            .iter()
            .chain(extra)
            .map(|c| c.to_string())
            .collect()
    }

    #[test]
    fn optional_columns_are_detected() {
        let v4 = TableSchema::detect(&with(&["socket"])).unwrap();
        assert_eq!(
            v4,
            TableSchema {
                has_socket: true,
                has_contact_addr: false,
                has_contact_user: false
            }
        );
        let v6 = TableSchema::detect(&with(&["contact_addr", "socket", "contact_user"])).unwrap();
        assert!(v6.has_socket && v6.has_contact_addr && v6.has_contact_user);
        assert!(v6.has("contact_user") && v6.has("l_uuid") && !v6.has("nonsense"));
        assert!(!v4.has("contact_addr"));
    }

    #[test]
    fn names_match_ignoring_case() {
        let upper: Vec<String> = with(&["CONTACT_ADDR"])
            .iter()
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let schema = TableSchema::detect(&upper).unwrap();
        assert!(schema.has_contact_addr && !schema.has_socket);
    }

    #[test]
    fn missing_table_and_columns_are_reported() {
        assert_eq!(
            TableSchema::detect::<String>(&[]),
            Err(SchemaProblem::NoTable)
        );
        let mut v2 = with(&[]);
        v2.retain(|c| c != "auth_ha1");
        assert_eq!(
            TableSchema::detect(&v2),
            Err(SchemaProblem::MissingColumn("auth_ha1"))
        );
    }
}
