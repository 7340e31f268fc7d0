//! One outbound registration's settings, and their validation.

mod packed;

use std::fmt;
use std::time::Duration;

use sip_msg::Transport;

use crate::next_hop::{NextHop, NextHopError};

pub use packed::PackedAccount;
pub(crate) use packed::SecretRef;

/// The secret answering the trunk's digest challenges.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// The plaintext password (`auth_password`).
    Password(String),
    /// The hex HA1 (`auth_ha1`): 32 digits for MD5 challenges, 64 for SHA-256 ones.
    Ha1(String),
}

/// Prints only which kind of secret it is, never the secret.
impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Password(_) => "Password(..)",
            Self::Ha1(_) => "Ha1(..)",
        })
    }
}

/// One outbound registration (built by the shell from a `uacreg` row or the TOML config).
///
/// `Debug` prints no secret (see [`Secret`]). Check it with [`Account::validate`] before use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// `l_uuid`: the key used by the CLI and the API.
    pub id: String,
    /// `l_username`.
    pub local_user: String,
    /// `l_domain`.
    pub local_domain: String,
    /// `r_username`: the user part of From, To and the registered address of record.
    pub remote_user: String,
    /// `r_domain`: host or host:port; the Request-URI is `sip:<remote_domain>`.
    pub remote_domain: String,
    /// The realm the trunk must challenge with; `None` or empty accepts the challenge's realm.
    pub realm: Option<String>,
    /// `auth_username`; empty means [`Account::remote_user`].
    pub auth_user: String,
    /// `auth_ha1` when set, else `auth_password`.
    pub secret: Secret,
    /// `auth_proxy` parsed; `None` sends to [`Account::remote_domain`].
    pub proxy: Option<NextHop>,
    /// Requested expiry in seconds; 0 means never register.
    pub expires: u32,
    /// Whether the registration is active (`flags & 1 == 0`).
    pub enabled: bool,
    /// Wait after loading before the first REGISTER.
    pub reg_delay: Duration,
    /// The user part of the Contact: `contact_user` when set, else `l_uuid`.
    pub contact_user: String,
    /// The transport: from the proxy URI's `;transport=`, default UDP.
    pub transport: Transport,
}

/// Why an [`Account`] cannot be used; the text says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    /// A required field is empty.
    #[error("{0} is empty: set it")]
    Empty(&'static str),
    /// The transport is one the client does not support yet.
    #[error("transport {0} is not supported for outbound registration yet: use udp or tcp")]
    UnsupportedTransport(&'static str),
    /// `remote_domain` is not `host[:port]`.
    #[error("r_domain: {0}")]
    RemoteDomain(NextHopError),
    /// The proxy's transport differs from the account's.
    #[error(
        "auth_proxy uses transport {proxy} but the registration uses {account}: make them the same"
    )]
    TransportMismatch {
        /// The proxy's transport.
        proxy: &'static str,
        /// The account's transport.
        account: &'static str,
    },
    /// `auth_ha1` is not an MD5 (32 hex digits) or SHA-256 (64 hex digits) HA1.
    #[error(
        "auth_ha1 is not 32 (MD5) or 64 (SHA-256) hex digits: write the hex HA1, or leave it empty and set auth_password"
    )]
    Ha1,
    /// A field holds a control character, which SIP headers cannot carry.
    #[error("{0} contains a control character: remove it")]
    ControlCharacter(&'static str),
}

impl Account {
    /// The user name answering challenges: [`Account::auth_user`], or [`Account::remote_user`] when empty.
    pub fn auth_username(&self) -> &str {
        auth_username(&self.auth_user, &self.remote_user)
    }

    /// The realm the trunk must use, if one is configured (an empty realm counts as none).
    pub fn required_realm(&self) -> Option<&str> {
        required_realm(self.realm.as_deref())
    }

    /// Where REGISTERs go: the proxy, else [`Account::remote_domain`] with the account's transport.
    ///
    /// For an invalid `remote_domain` (see [`Account::validate`]) the whole text is the host.
    pub fn next_hop(&self) -> NextHop {
        match &self.proxy {
            Some(proxy) => proxy.clone(),
            None => domain_hop(&self.remote_domain, self.transport),
        }
    }

    /// Checks everything a REGISTER needs; the error says what to fix.
    pub fn validate(&self) -> Result<(), AccountError> {
        for (name, value) in [
            ("l_uuid", &self.id),
            ("r_username", &self.remote_user),
            ("r_domain", &self.remote_domain),
            ("contact_user (or l_uuid)", &self.contact_user),
        ] {
            if value.is_empty() {
                return Err(AccountError::Empty(name));
            }
        }
        let texts = [
            ("r_username", self.remote_user.as_str()),
            ("auth_username", self.auth_user.as_str()),
            ("realm", self.realm.as_deref().unwrap_or("")),
            ("contact_user", self.contact_user.as_str()),
        ];
        for (name, value) in texts {
            if value.chars().any(char::is_control) {
                return Err(AccountError::ControlCharacter(name));
            }
        }
        match self.transport {
            Transport::Udp | Transport::Tcp => {}
            other => return Err(AccountError::UnsupportedTransport(other.as_str())),
        }
        NextHop::from_domain(&self.remote_domain, self.transport)
            .map_err(AccountError::RemoteDomain)?;
        if let Some(proxy) = &self.proxy
            && proxy.transport != self.transport
        {
            return Err(AccountError::TransportMismatch {
                proxy: proxy.transport.as_str(),
                account: self.transport.as_str(),
            });
        }
        match &self.secret {
            Secret::Ha1(ha1)
                if !(matches!(ha1.len(), 32 | 64)
                    && ha1.bytes().all(|b| b.is_ascii_hexdigit())) =>
            {
                Err(AccountError::Ha1)
            }
            Secret::Password(password) if password.chars().any(char::is_control) => {
                Err(AccountError::ControlCharacter("auth_password"))
            }
            _ => Ok(()),
        }
    }
}

/// `auth_user`, or `remote_user` when it is empty.
fn auth_username<'a>(auth_user: &'a str, remote_user: &'a str) -> &'a str {
    if auth_user.is_empty() {
        remote_user
    } else {
        auth_user
    }
}

/// The configured realm; an empty one counts as none.
fn required_realm(realm: Option<&str>) -> Option<&str> {
    realm.filter(|r| !r.is_empty())
}

/// `remote_domain` as the next hop; an invalid one (see [`Account::validate`]) is taken whole as the host.
fn domain_hop(remote_domain: &str, transport: Transport) -> NextHop {
    NextHop::from_domain(remote_domain, transport).unwrap_or_else(|_| NextHop {
        host: remote_domain.to_owned(),
        port: None,
        transport,
    })
}

/// Whether two accounts have the same settings, so a reload keeps the running registration.
pub fn same_settings(a: &Account, b: &Account) -> bool {
    a == b
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn account() -> Account {
        Account {
            id: "trunk1".into(),
            local_user: "alice".into(),
            local_domain: "pbx.local".into(),
            remote_user: "4930123".into(),
            remote_domain: "trunk.example.com".into(),
            realm: None,
            auth_user: String::new(),
            secret: Secret::Password("s3cret-pw".into()),
            proxy: None,
            expires: 600,
            enabled: true,
            reg_delay: Duration::ZERO,
            contact_user: "trunk1".into(),
            transport: Transport::Udp,
        }
    }

    #[test]
    fn debug_prints_no_secret() {
        let mut a = account();
        let printed = format!("{a:?}");
        assert!(printed.contains("Password(..)"), "{printed}");
        assert!(!printed.contains("s3cret-pw"), "{printed}");
        a.secret = Secret::Ha1("0123456789abcdef0123456789abcdef".into());
        let printed = format!("{a:?}");
        assert!(printed.contains("Ha1(..)") && !printed.contains("0123456789abcdef"));
    }

    #[test]
    fn auth_user_and_realm_defaults() {
        let mut a = account();
        assert_eq!(a.auth_username(), "4930123");
        a.auth_user = "auth-u".into();
        assert_eq!(a.auth_username(), "auth-u");
        a.realm = Some(String::new());
        assert_eq!(a.required_realm(), None);
        a.realm = Some("r".into());
        assert_eq!(a.required_realm(), Some("r"));
    }

    #[test]
    fn next_hop_is_the_proxy_or_the_domain() {
        let mut a = account();
        a.remote_domain = "trunk.example.com:5070".into();
        a.transport = Transport::Tcp;
        let hop = a.next_hop();
        assert_eq!(
            (hop.host.as_str(), hop.port, hop.transport),
            ("trunk.example.com", Some(5070), Transport::Tcp)
        );
        a.proxy = Some(NextHop::parse_uri("sip:edge.example.com;transport=tcp").unwrap());
        assert_eq!(a.next_hop().host, "edge.example.com");
    }

    #[test]
    fn validation_names_the_problem() {
        assert_eq!(account().validate(), Ok(()));
        type Change = fn(&mut Account);
        let cases: [(Change, &str); 7] = [
            (|a| a.remote_user.clear(), "r_username is empty"),
            (|a| a.transport = Transport::Tls, "transport TLS"),
            (|a| a.remote_domain = "a@b".into(), "r_domain"),
            (
                |a| a.secret = Secret::Ha1("xyz".into()),
                "auth_ha1 is not 32 (MD5) or 64",
            ),
            (
                |a| a.proxy = Some(NextHop::parse_uri("sip:p;transport=tcp").unwrap()),
                "auth_proxy uses transport TCP",
            ),
            (
                |a| a.contact_user = "a\r\nb".into(),
                "contact_user contains a control character",
            ),
            (
                |a| a.contact_user.clear(),
                "contact_user (or l_uuid) is empty",
            ),
        ];
        for (change, expected) in cases {
            let mut a = account();
            change(&mut a);
            let err = a.validate().unwrap_err().to_string();
            assert!(err.contains(expected), "{err:?} lacks {expected:?}");
        }
    }

    #[test]
    fn same_settings_compares_every_field() {
        let a = account();
        assert!(same_settings(&a, &a.clone()));
        let mut b = a.clone();
        b.secret = Secret::Password("other".into());
        assert!(!same_settings(&a, &b));
    }
}
