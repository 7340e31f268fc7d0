//! Registrar policy: which domains are served, expiry bounds, contact limits and who must authenticate.

use std::net::IpAddr;

use ipnet::IpNet;

/// What to do when a REGISTER would take an AOR over `max_contacts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OverflowPolicy {
    /// Refuse the REGISTER with 403; existing bindings stay.
    #[default]
    Reject,
    /// Remove the oldest bindings (by first registration) to make room.
    EvictOldest,
}

/// The registrar's rules (RFC 3261 §10.3 knobs).
#[derive(Debug, Clone)]
pub struct RegistrarConfig {
    /// Domains whose AORs this registrar serves, in lower case.
    pub domains: Vec<String>,
    /// Expiry granted when the client asks for none.
    pub default_expires: u32,
    /// Smallest non-zero expiry accepted; below it the REGISTER gets 423 with Min-Expires.
    pub min_expires: u32,
    /// Largest expiry granted; larger requests are lowered to it.
    pub max_expires: u32,
    /// Most bindings one AOR may hold; 0 means no limit.
    pub max_contacts: usize,
    /// What happens when `max_contacts` would be exceeded.
    pub overflow: OverflowPolicy,
    /// Longest contact URI stored, in bytes (Kamailio's `contact_max_size`).
    pub max_contact_uri_len: usize,
    /// Who must authenticate, and who may register for others.
    pub auth: AuthPolicy,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        Self {
            domains: Vec::new(),
            default_expires: 3600,
            min_expires: 60,
            max_expires: 7200,
            max_contacts: 0,
            overflow: OverflowPolicy::Reject,
            max_contact_uri_len: 512,
            auth: AuthPolicy::default(),
        }
    }
}

impl RegistrarConfig {
    /// Whether `domain` (any case) is served here.
    pub fn serves(&self, domain: &str) -> bool {
        self.domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }
}

/// A grant letting one authenticated user register bindings for other AORs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThirdPartyGrant {
    /// The authenticated identity, `user@domain`.
    pub user: String,
    /// AOR patterns it may register: `user@domain`, `*@domain` or `*`.
    pub may_register: Vec<String>,
}

/// Who must authenticate, and who may register on behalf of whom.
#[derive(Debug, Clone, Default)]
pub struct AuthPolicy {
    /// Digest authentication is required unless an exemption below applies.
    pub enabled: bool,
    /// Domains whose REGISTERs are accepted without authentication.
    pub exempt_domains: Vec<String>,
    /// Source networks trusted without authentication (e.g. an SBC that authenticated already).
    pub trusted_networks: Vec<IpNet>,
    /// Users allowed to register AORs other than their own.
    pub third_party: Vec<ThirdPartyGrant>,
}

impl AuthPolicy {
    /// Whether a REGISTER for an AOR in `domain` arriving from `source` must carry valid credentials.
    pub fn requires_auth(&self, domain: &str, source: IpAddr) -> bool {
        self.enabled
            && !self
                .exempt_domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(domain))
            && !self
                .trusted_networks
                .iter()
                .any(|net| net.contains(&source))
    }

    /// Whether authenticated `identity` (`user@domain`) may change the bindings of `aor`.
    ///
    /// Everyone may change their own AOR; anything else needs a [`ThirdPartyGrant`].
    pub fn may_register(&self, identity: &str, aor: &str) -> bool {
        identity == aor
            || self
                .third_party
                .iter()
                .filter(|g| g.user == identity)
                .flat_map(|g| &g.may_register)
                .any(|pattern| aor_matches(pattern, aor))
    }
}

/// Matches `user@domain`, `*@domain` or `*` against a canonical AOR.
fn aor_matches(pattern: &str, aor: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_prefix("*@") {
        Some(domain) => aor
            .rsplit_once('@')
            .is_some_and(|(_, d)| d.eq_ignore_ascii_case(domain)),
        None => pattern == aor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> AuthPolicy {
        AuthPolicy {
            enabled: true,
            exempt_domains: vec!["open.example".into()],
            trusted_networks: vec!["10.0.0.0/8".parse().unwrap()],
            third_party: vec![ThirdPartyGrant {
                user: "admin@example.com".into(),
                may_register: vec!["*@example.com".into(), "bob@other.example".into()],
            }],
        }
    }

    #[test]
    fn exemptions_skip_authentication() {
        let p = policy();
        let outside: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(p.requires_auth("example.com", outside));
        assert!(!p.requires_auth("OPEN.example", outside));
        assert!(!p.requires_auth("example.com", "10.1.2.3".parse().unwrap()));
        let off = AuthPolicy::default();
        assert!(!off.requires_auth("example.com", outside));
    }

    #[test]
    fn third_party_needs_a_grant() {
        let p = policy();
        assert!(p.may_register("alice@example.com", "alice@example.com"));
        assert!(!p.may_register("alice@example.com", "carol@example.com"));
        assert!(p.may_register("admin@example.com", "carol@example.com"));
        assert!(p.may_register("admin@example.com", "bob@other.example"));
        assert!(!p.may_register("admin@example.com", "eve@other.example"));
    }
}
