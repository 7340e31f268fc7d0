//! Turning a `uacreg` row (from the table or the config file) into a validated [`Account`].

use std::fmt;
use std::time::Duration;

use sip_uac::{Account, NextHop, Secret, Transport};
use uacreg::UacRow;

/// Where a registration was defined, for error messages and the status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A row of the `uacreg` table.
    Table {
        /// The row's `id`.
        id: i64,
    },
    /// A `[[uac.registration]]` entry of the config file (boxed, so that every registration's origin is 16 bytes).
    Config(Box<ConfigEntry>),
}

/// Where in the config file a registration is defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    /// The file.
    pub file: String,
    /// The entry's line, when known.
    pub line: Option<usize>,
}

impl Origin {
    /// A `[[uac.registration]]` entry of `file`, at `line` when known.
    pub fn config(file: String, line: Option<usize>) -> Self {
        Self::Config(Box::new(ConfigEntry { file, line }))
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Table { id } => write!(f, "uacreg row id={id}"),
            Self::Config(entry) => match entry.line {
                Some(line) => write!(f, "{}:{line}: [[uac.registration]]", entry.file),
                None => write!(f, "{}: [[uac.registration]]", entry.file),
            },
        }
    }
}

impl Origin {
    /// The table row's id, for table rows.
    pub fn row_id(&self) -> Option<i64> {
        match self {
            Self::Table { id } => Some(*id),
            Self::Config(_) => None,
        }
    }

    /// `"table"` or `"config"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Table { .. } => "table",
            Self::Config(_) => "config",
        }
    }
}

/// A row that cannot become a registration; the message names the row, the column and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError(pub String);

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RowError {}

/// The account a row describes, or why it cannot be used. `default_domain` stands in for an empty `l_domain`.
pub fn account_from_row(
    row: &UacRow,
    origin: &Origin,
    default_domain: &str,
) -> Result<Account, RowError> {
    let fail = |column: &str, problem: String| {
        Err(RowError(format!(
            "{origin} (l_uuid {:?}): {column}: {problem}",
            row.l_uuid
        )))
    };
    if row.l_uuid.is_empty() {
        return fail(
            "l_uuid",
            "is empty; give each registration a unique id".into(),
        );
    }
    if let Some(c) = row
        .l_uuid
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || "/?#%".contains(*c))
    {
        return fail(
            "l_uuid",
            format!("contains {c:?}; use letters, digits and -_.!~*'()&=+$,;"),
        );
    }
    for (column, value) in [
        ("l_username", &row.l_username),
        ("r_username", &row.r_username),
        ("r_domain", &row.r_domain),
    ] {
        if value.trim().is_empty() {
            return fail(column, "is empty; it is required".into());
        }
    }
    let contact_user = if row.contact_user.is_empty() {
        row.l_uuid.clone()
    } else {
        row.contact_user.clone()
    };
    if let Some(c) = contact_user
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || "@:;<>\"/?#%".contains(*c))
    {
        return fail(
            "contact_user",
            format!(
                "the Contact user {contact_user:?} contains {c:?}, which a SIP URI user cannot carry"
            ),
        );
    }
    let proxy = if row.auth_proxy.trim().is_empty() {
        None
    } else {
        match NextHop::parse_uri(row.auth_proxy.trim()) {
            Ok(hop) => Some(hop),
            Err(e) => {
                return fail(
                    "auth_proxy",
                    format!(
                        "{:?} is not usable ({e}); write a SIP URI such as \
                         \"sip:203.0.113.5:5060\" or \"sip:proxy.example.com;transport=tcp\", or leave it empty",
                        row.auth_proxy
                    ),
                );
            }
        }
    };
    let transport = proxy.as_ref().map_or(Transport::Udp, |p| p.transport);
    let ha1 = row.auth_ha1.trim();
    let secret = if ha1.is_empty() {
        Secret::Password(row.auth_password.clone())
    } else if (ha1.len() == 32 || ha1.len() == 64) && ha1.bytes().all(|b| b.is_ascii_hexdigit()) {
        Secret::Ha1(ha1.to_ascii_lowercase())
    } else {
        return fail(
            "auth_ha1",
            "is not an HA1 (32 hex digits for MD5, 64 for SHA-256); fix it or leave it empty to use auth_password".into(),
        );
    };
    let Ok(expires) = u32::try_from(row.expires) else {
        return fail(
            "expires",
            format!("{} is not a number of seconds", row.expires),
        );
    };
    let reg_delay = match u64::try_from(row.reg_delay) {
        Ok(d) => Duration::from_secs(d),
        Err(_) => return fail("reg_delay", format!("{} is negative", row.reg_delay)),
    };
    let realm = row.realm.trim();
    Ok(Account {
        id: row.l_uuid.clone(),
        local_user: row.l_username.trim().to_owned(),
        local_domain: if row.l_domain.trim().is_empty() {
            default_domain.to_owned()
        } else {
            row.l_domain.trim().to_owned()
        },
        remote_user: row.r_username.trim().to_owned(),
        remote_domain: row.r_domain.trim().to_owned(),
        realm: (!realm.is_empty()).then(|| realm.to_owned()),
        auth_user: if row.auth_username.trim().is_empty() {
            row.r_username.trim().to_owned()
        } else {
            row.auth_username.trim().to_owned()
        },
        secret,
        proxy,
        expires,
        enabled: row.flags & 1 == 0,
        reg_delay,
        contact_user,
        transport,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> UacRow {
        UacRow {
            id: 7,
            l_uuid: "trunk1".into(),
            l_username: "alice".into(),
            l_domain: "example.com".into(),
            r_username: "4930".into(),
            r_domain: "trunk.example".into(),
            realm: String::new(),
            auth_username: String::new(),
            auth_password: "pw".into(),
            auth_ha1: String::new(),
            auth_proxy: String::new(),
            expires: 600,
            flags: 0,
            reg_delay: 0,
            socket: String::new(),
            contact_addr: String::new(),
            contact_user: String::new(),
        }
    }

    fn table() -> Origin {
        Origin::Table { id: 7 }
    }

    #[test]
    fn a_plain_row_becomes_an_account_with_kamailio_defaults() {
        let a = account_from_row(&row(), &table(), "d").unwrap();
        assert_eq!(a.id, "trunk1");
        assert_eq!(a.contact_user, "trunk1");
        assert_eq!(a.auth_user, "4930");
        assert_eq!(a.realm, None);
        assert!(a.enabled);
        assert_eq!(a.transport, Transport::Udp);
        assert!(matches!(a.secret, Secret::Password(ref p) if p == "pw"));
    }

    #[test]
    fn flags_ha1_proxy_and_contact_user_are_applied() {
        let mut r = row();
        r.flags = 1;
        r.auth_ha1 = "0123456789ABCDEF0123456789abcdef".into();
        r.auth_proxy = "sip:192.0.2.9:5080;transport=tcp".into();
        r.contact_user = "line7".into();
        r.l_domain = String::new();
        let a = account_from_row(&r, &table(), "fallback.example").unwrap();
        assert!(!a.enabled);
        assert!(matches!(a.secret, Secret::Ha1(ref h) if h == "0123456789abcdef0123456789abcdef"));
        assert_eq!(a.transport, Transport::Tcp);
        assert_eq!(a.contact_user, "line7");
        assert_eq!(a.local_domain, "fallback.example");
    }

    #[test]
    fn errors_name_the_row_the_column_and_the_fix() {
        let mut r = row();
        r.auth_proxy = "proxy.example.com".into();
        let e = account_from_row(&r, &table(), "d").unwrap_err().0;
        assert!(
            e.starts_with("uacreg row id=7 (l_uuid \"trunk1\"): auth_proxy:"),
            "{e}"
        );
        assert!(e.contains("sip:"), "{e}");

        let mut r = row();
        r.r_domain = String::new();
        let e = account_from_row(&r, &table(), "d").unwrap_err().0;
        assert!(e.contains("r_domain: is empty"), "{e}");

        let mut r = row();
        r.auth_ha1 = "xyz".into();
        let origin = Origin::config("l.toml".into(), Some(12));
        let e = account_from_row(&r, &origin, "d").unwrap_err().0;
        assert!(e.starts_with("l.toml:12: [[uac.registration]]"), "{e}");
        assert!(e.contains("auth_ha1"), "{e}");
    }
}
