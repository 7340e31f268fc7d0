//! An [`Account`] as a running registration keeps it: every text in one allocation.

use std::time::Duration;

use sip_msg::Transport;

use super::{Account, Secret, auth_username, domain_hop, required_realm};
use crate::next_hop::NextHop;
use crate::packed::PackedStrs;

const ID: usize = 0;
const LOCAL_USER: usize = 1;
const LOCAL_DOMAIN: usize = 2;
const REMOTE_USER: usize = 3;
const REMOTE_DOMAIN: usize = 4;
const REALM: usize = 5;
const AUTH_USER: usize = 6;
const SECRET: usize = 7;
const PROXY_HOST: usize = 8;
const CONTACT_USER: usize = 9;
const TEXTS: usize = 10;

/// The secret of a [`PackedAccount`], borrowed.
#[derive(Clone, Copy)]
pub(crate) enum SecretRef<'a> {
    /// The plaintext password.
    Password(&'a str),
    /// The hex HA1.
    Ha1(&'a str),
}

/// The settings of one registration as it keeps them, every text in one allocation; [`PackedAccount::unpack`]
/// gives the [`Account`] back unchanged.
#[derive(Clone, PartialEq, Eq)]
pub struct PackedAccount {
    texts: PackedStrs<TEXTS>,
    reg_delay: Duration,
    expires: u32,
    proxy_port: Option<u16>,
    /// The proxy's transport; `None`: no proxy.
    proxy_transport: Option<Transport>,
    transport: Transport,
    pub(crate) enabled: bool,
    /// `realm` is `Some` (possibly empty).
    has_realm: bool,
    /// The secret is an HA1, not a password.
    secret_is_ha1: bool,
}

/// The texts of `a`, in packing order.
fn texts(a: &Account) -> [&str; TEXTS] {
    let secret = match &a.secret {
        Secret::Password(s) | Secret::Ha1(s) => s.as_str(),
    };
    [
        &a.id,
        &a.local_user,
        &a.local_domain,
        &a.remote_user,
        &a.remote_domain,
        a.realm.as_deref().unwrap_or(""),
        &a.auth_user,
        secret,
        a.proxy.as_ref().map_or("", |p| p.host.as_str()),
        &a.contact_user,
    ]
}

impl PackedAccount {
    /// Packs `a`.
    pub(crate) fn new(a: &Account) -> Self {
        Self {
            texts: PackedStrs::new(texts(a)),
            reg_delay: a.reg_delay,
            expires: a.expires,
            proxy_port: a.proxy.as_ref().and_then(|p| p.port),
            proxy_transport: a.proxy.as_ref().map(|p| p.transport),
            transport: a.transport,
            enabled: a.enabled,
            has_realm: a.realm.is_some(),
            secret_is_ha1: matches!(a.secret, Secret::Ha1(_)),
        }
    }

    /// The account as it was packed.
    pub fn unpack(&self) -> Account {
        let text = |i| self.texts.get(i).to_owned();
        Account {
            id: text(ID),
            local_user: text(LOCAL_USER),
            local_domain: text(LOCAL_DOMAIN),
            remote_user: text(REMOTE_USER),
            remote_domain: text(REMOTE_DOMAIN),
            realm: self.has_realm.then(|| text(REALM)),
            auth_user: text(AUTH_USER),
            secret: match self.secret() {
                SecretRef::Password(p) => Secret::Password(p.to_owned()),
                SecretRef::Ha1(h) => Secret::Ha1(h.to_owned()),
            },
            proxy: self.proxy(),
            expires: self.expires,
            enabled: self.enabled,
            reg_delay: self.reg_delay,
            contact_user: text(CONTACT_USER),
            transport: self.transport,
        }
    }

    /// Whether `a` has the same settings, `enabled` included (see [`crate::same_settings`]); allocates nothing.
    pub fn same_settings(&self, a: &Account) -> bool {
        self.enabled == a.enabled && self.same_but_enabled(a)
    }

    /// Whether `a` has the same settings apart from `enabled`.
    pub(crate) fn same_but_enabled(&self, a: &Account) -> bool {
        let same_texts = texts(a)
            .iter()
            .enumerate()
            .all(|(i, t)| self.texts.get(i) == *t);
        same_texts
            && self.reg_delay == a.reg_delay
            && self.expires == a.expires
            && self.proxy_port == a.proxy.as_ref().and_then(|p| p.port)
            && self.proxy_transport == a.proxy.as_ref().map(|p| p.transport)
            && self.transport == a.transport
            && self.has_realm == a.realm.is_some()
            && self.secret_is_ha1 == matches!(a.secret, Secret::Ha1(_))
    }

    /// `l_uuid`.
    pub fn id(&self) -> &str {
        self.texts.get(ID)
    }

    /// `l_username`.
    pub fn local_user(&self) -> &str {
        self.texts.get(LOCAL_USER)
    }

    /// `l_domain`.
    pub fn local_domain(&self) -> &str {
        self.texts.get(LOCAL_DOMAIN)
    }

    /// `r_username`.
    pub fn remote_user(&self) -> &str {
        self.texts.get(REMOTE_USER)
    }

    /// `r_domain`.
    pub fn remote_domain(&self) -> &str {
        self.texts.get(REMOTE_DOMAIN)
    }

    /// The user part of the Contact.
    pub fn contact_user(&self) -> &str {
        self.texts.get(CONTACT_USER)
    }

    /// See [`Account::auth_username`].
    pub fn auth_username(&self) -> &str {
        auth_username(self.texts.get(AUTH_USER), self.remote_user())
    }

    /// See [`Account::required_realm`].
    pub fn required_realm(&self) -> Option<&str> {
        required_realm(self.has_realm.then(|| self.texts.get(REALM)))
    }

    /// The secret.
    pub(crate) fn secret(&self) -> SecretRef<'_> {
        let text = self.texts.get(SECRET);
        if self.secret_is_ha1 {
            SecretRef::Ha1(text)
        } else {
            SecretRef::Password(text)
        }
    }

    /// Whether the registration is active.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Requested expiry in seconds.
    pub fn expires(&self) -> u32 {
        self.expires
    }

    /// Wait after loading before the first REGISTER.
    pub fn reg_delay(&self) -> Duration {
        self.reg_delay
    }

    /// See [`Account::next_hop`].
    pub fn next_hop(&self) -> NextHop {
        self.proxy()
            .unwrap_or_else(|| domain_hop(self.remote_domain(), self.transport))
    }

    fn proxy(&self) -> Option<NextHop> {
        self.proxy_transport.map(|transport| NextHop {
            host: self.texts.get(PROXY_HOST).to_owned(),
            port: self.proxy_port,
            transport,
        })
    }
}

/// Prints the unpacked account, which hides the secret.
impl std::fmt::Debug for PackedAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.unpack().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::tests::account;

    /// Accounts that differ from the test account in one field each.
    fn variants() -> Vec<Account> {
        let base = account();
        let changes: [fn(&mut Account); 16] = [
            |a| a.id = "trunk2".into(),
            |a| a.local_user = "bob".into(),
            |a| a.local_domain = "pbx.remote".into(),
            |a| a.remote_user = "4930124".into(),
            |a| a.remote_domain = "trunk.example.com:5070".into(),
            |a| a.realm = Some(String::new()),
            |a| a.realm = Some("sip.example.com".into()),
            |a| a.auth_user = "auth-u".into(),
            |a| a.secret = Secret::Password("other".into()),
            |a| a.secret = Secret::Ha1("s3cret-pw".into()),
            |a| a.proxy = Some(NextHop::parse_uri("sip:edge.example.com").unwrap()),
            |a| a.proxy = Some(NextHop::parse_uri("sip:[::1]:5080;transport=tcp").unwrap()),
            |a| a.expires = 60,
            |a| a.reg_delay = Duration::from_secs(3),
            |a| a.contact_user = "line7".into(),
            |a| a.transport = Transport::Tcp,
        ];
        changes
            .iter()
            .map(|change| {
                let mut a = base.clone();
                change(&mut a);
                a
            })
            .collect()
    }

    #[test]
    fn unpacks_to_the_same_account() {
        for a in variants().into_iter().chain([account()]) {
            let packed = PackedAccount::new(&a);
            assert_eq!(packed.unpack(), a);
            assert!(packed.same_settings(&a), "{a:?}");
        }
    }

    #[test]
    fn a_change_of_any_field_is_seen() {
        let packed = PackedAccount::new(&account());
        for other in variants() {
            assert!(!packed.same_settings(&other), "{other:?}");
            assert!(!packed.same_but_enabled(&other), "{other:?}");
        }
        let mut off = account();
        off.enabled = false;
        assert!(!packed.same_settings(&off));
        assert!(packed.same_but_enabled(&off));
    }

    #[test]
    fn accessors_follow_the_account() {
        let mut a = account();
        a.auth_user = String::new();
        a.realm = Some(String::new());
        a.secret = Secret::Ha1("0123456789abcdef0123456789abcdef".into());
        let packed = PackedAccount::new(&a);
        assert_eq!(packed.auth_username(), a.auth_username());
        assert_eq!(packed.required_realm(), None);
        assert_eq!(packed.next_hop(), a.next_hop());
        assert!(matches!(packed.secret(), SecretRef::Ha1(h) if h.len() == 32));
        assert!(!format!("{packed:?}").contains("0123456789abcdef"));
        a.proxy = Some(NextHop::parse_uri("sip:edge.example.com:5080").unwrap());
        a.realm = Some("r".into());
        let packed = PackedAccount::new(&a);
        assert_eq!(packed.next_hop(), a.next_hop());
        assert_eq!(packed.required_realm(), Some("r"));
    }
}
