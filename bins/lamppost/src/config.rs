//! The TOML configuration file: every key, its default, and validation that names the file, line and fix.
//!
//! `lamppost.example.toml` at the repository root documents each key; keep the two in step.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use ipnet::IpNet;
use registrar::{AuthPolicy, OverflowPolicy, RegistrarConfig, ThirdPartyGrant};
use serde::Deserialize;
use sip_transport::Listen;
use toml::Spanned;

/// The whole configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// SIP listeners and message limits.
    pub sip: SipSection,
    /// Registrar rules.
    pub registrar: RegistrarSection,
    /// Digest authentication and third-party registration.
    pub auth: AuthSection,
    /// Where bindings and users are kept.
    pub store: StoreSection,
    /// The management HTTP API.
    pub http: HttpSection,
    /// Logging.
    pub log: LogSection,
    /// Outbound registrations to SIP trunks.
    pub uac: UacSection,
}

/// `[sip]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SipSection {
    /// Listen addresses such as `udp:127.0.0.1:5060`.
    pub listen: Vec<Spanned<String>>,
    /// Largest SIP message accepted, in bytes.
    pub max_message_size: Spanned<usize>,
    /// Most simultaneous TCP connections.
    pub max_connections: usize,
}

/// `[registrar]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrarSection {
    /// Domains served.
    pub domains: Spanned<Vec<String>>,
    /// Expiry granted when the client asks for none.
    pub default_expires: Spanned<u32>,
    /// Smallest expiry accepted (423 below it).
    pub min_expires: Spanned<u32>,
    /// Largest expiry granted.
    pub max_expires: Spanned<u32>,
    /// Most bindings per AOR; 0 is unlimited.
    pub max_contacts: usize,
    /// `reject` or `evict-oldest`.
    pub max_contacts_policy: Spanned<String>,
    /// Seconds between sweeps that remove expired bindings.
    pub expiry_interval: Spanned<u64>,
}

/// `[auth]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSection {
    /// Require digest authentication.
    pub enabled: bool,
    /// Digest algorithms offered: `MD5` (every phone) and/or `SHA-256`; SHA-256 is always offered first.
    pub algorithms: Spanned<Vec<String>>,
    /// Seconds a nonce stays valid before it is answered with `stale=true`.
    pub nonce_lifetime: Spanned<u64>,
    /// Secret that signs nonces; random at each start when empty.
    pub nonce_secret: String,
    /// Domains accepted without authentication.
    pub exempt_domains: Vec<String>,
    /// Source networks accepted without authentication.
    pub trusted_networks: Vec<Spanned<String>>,
    /// Users who may register AORs other than their own.
    pub third_party: Vec<ThirdPartySection>,
}

/// `[[auth.third_party]]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThirdPartySection {
    /// The authenticated user, `user@domain`.
    pub user: Spanned<String>,
    /// AOR patterns: `user@domain`, `*@domain` or `*`.
    pub may_register: Vec<String>,
}

/// `[store]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    /// Store URL, e.g. `sqlite://data/lamppost.db`.
    pub url: Spanned<String>,
    /// SQLite `synchronous`: `normal` survives a process crash, `full` also a power loss.
    pub synchronous: Spanned<String>,
}

/// `[http]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSection {
    /// Address of the management API and `/metrics`.
    pub listen: Spanned<String>,
}

/// `[log]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    /// A tracing filter such as `info` or `lamppost=debug,info`; `RUST_LOG` overrides it.
    pub level: String,
}

/// `[uac]`: outbound registrations, from a Kamailio-compatible `uacreg` table and from the config file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UacSection {
    /// Where the `uacreg` table lives: `"store"` (the store's own SQLite file), a `sqlite://`, `mysql://` or
    /// `postgres://` URL, or `""` for no table.
    pub table_url: Spanned<String>,
    /// The table's name.
    pub table: Spanned<String>,
    /// `host[:port]` advertised in the Contact of rows that set no `contact_addr`; empty: the SIP listen address.
    pub contact_addr: String,
    /// First REGISTERs after a start or reload are spread at random over this many seconds (on top of `reg_delay`).
    pub initial_spread: u64,
    /// Send `Expires: 0` for every registration when the server stops.
    pub unregister_on_shutdown: bool,
    /// SIP timer T1 in milliseconds (UDP retransmissions start at T1 and double up to 4 s).
    pub t1_ms: Spanned<u64>,
    /// Seconds without a final response before a REGISTER counts as timed out (Timer F).
    pub timeout: Spanned<u64>,
    /// Registrations written in the config file, with the `uacreg` column names.
    pub registration: Vec<Spanned<UacRegistrationEntry>>,
}

/// `[[uac.registration]]`: one registration, with the `uacreg` table's column names. Its `Debug` hides the secrets.
#[derive(Default, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct UacRegistrationEntry {
    /// Unique id of the registration; also the Contact user unless `contact_user` is set.
    pub l_uuid: String,
    /// Local user that calls from this trunk registration are handed to.
    pub l_username: String,
    /// Local domain of that user.
    pub l_domain: String,
    /// User registered at the trunk (To/From).
    pub r_username: String,
    /// The trunk's domain (Request-URI, To/From host).
    pub r_domain: String,
    /// Expected digest realm; empty accepts the trunk's.
    pub realm: String,
    /// Digest user name; empty uses `r_username`.
    pub auth_username: String,
    /// Digest password.
    pub auth_password: String,
    /// Digest HA1, used instead of the password when set.
    pub auth_ha1: String,
    /// Next hop as a SIP URI, e.g. `sip:203.0.113.5:5060;transport=tcp`; empty sends to `r_domain`.
    pub auth_proxy: String,
    /// Requested expiry in seconds; 0 never registers.
    pub expires: i64,
    /// 1 = disabled.
    pub flags: i64,
    /// Seconds to wait after start before the first REGISTER.
    pub reg_delay: i64,
    /// Local socket to send from, e.g. `udp:192.0.2.1:5060`.
    pub socket: String,
    /// `host[:port]` for the Contact.
    pub contact_addr: String,
    /// Contact user; empty uses `l_uuid`.
    pub contact_user: String,
}

impl std::fmt::Debug for UacRegistrationEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |s: &str| if s.is_empty() { "" } else { "<set>" };
        f.debug_struct("UacRegistrationEntry")
            .field("l_uuid", &self.l_uuid)
            .field("l_username", &self.l_username)
            .field("l_domain", &self.l_domain)
            .field("r_username", &self.r_username)
            .field("r_domain", &self.r_domain)
            .field("auth_username", &self.auth_username)
            .field("auth_password", &set(&self.auth_password))
            .field("auth_ha1", &set(&self.auth_ha1))
            .field("auth_proxy", &self.auth_proxy)
            .finish_non_exhaustive()
    }
}

fn spanned<T>(v: T) -> Spanned<T> {
    Spanned::new(0..0, v)
}

impl Default for SipSection {
    fn default() -> Self {
        Self {
            listen: vec![
                spanned("udp:127.0.0.1:5060".into()),
                spanned("tcp:127.0.0.1:5060".into()),
            ],
            max_message_size: spanned(65_535),
            max_connections: 10_000,
        }
    }
}

impl Default for RegistrarSection {
    fn default() -> Self {
        Self {
            domains: spanned(vec!["localhost".into(), "127.0.0.1".into()]),
            default_expires: spanned(3600),
            min_expires: spanned(60),
            max_expires: spanned(7200),
            max_contacts: 10,
            max_contacts_policy: spanned("reject".into()),
            expiry_interval: spanned(1),
        }
    }
}

impl Default for AuthSection {
    fn default() -> Self {
        Self {
            enabled: true,
            algorithms: spanned(vec!["MD5".into()]),
            nonce_lifetime: spanned(300),
            nonce_secret: String::new(),
            exempt_domains: Vec::new(),
            trusted_networks: Vec::new(),
            third_party: Vec::new(),
        }
    }
}

impl Default for StoreSection {
    fn default() -> Self {
        Self {
            url: spanned("sqlite://data/lamppost.db".into()),
            synchronous: spanned("normal".into()),
        }
    }
}

impl Default for HttpSection {
    fn default() -> Self {
        Self {
            listen: spanned("127.0.0.1:8080".into()),
        }
    }
}

impl Default for UacSection {
    fn default() -> Self {
        Self {
            table_url: spanned("store".into()),
            table: spanned("uacreg".into()),
            contact_addr: String::new(),
            initial_spread: 10,
            unregister_on_shutdown: true,
            t1_ms: spanned(500),
            timeout: spanned(32),
            registration: Vec::new(),
        }
    }
}

impl Default for LogSection {
    fn default() -> Self {
        Self {
            level: "info".into(),
        }
    }
}

/// A configuration read from a file (or the built-in defaults) and checked.
#[derive(Debug)]
pub struct Loaded {
    /// The parsed file.
    pub config: Config,
    /// The file it came from, if any.
    pub path: Option<PathBuf>,
    /// Its text, to locate keys in error messages.
    text: String,
}

/// The file read when `--config` is not given and it exists.
pub const DEFAULT_PATH: &str = "lamppost.toml";

impl Loaded {
    /// Reads `path`, or `lamppost.toml` when present, or falls back to the defaults.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let path = match path {
            Some(p) => Some(p.to_path_buf()),
            None => Some(PathBuf::from(DEFAULT_PATH)).filter(|p| p.exists()),
        };
        let Some(path) = path else {
            return Ok(Self {
                config: Config::default(),
                path: None,
                text: String::new(),
            });
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        Self::parse(&text, Some(path))
    }

    /// Parses and validates configuration text.
    pub fn parse(text: &str, path: Option<PathBuf>) -> anyhow::Result<Self> {
        let name = path
            .as_deref()
            .map_or_else(|| "<config>".to_owned(), |p| p.display().to_string());
        let config: Config = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(0, |s| line_of(text, s.start));
            anyhow::anyhow!("{name}:{line}: {}", e.message().trim_end())
        })?;
        let loaded = Self {
            config,
            path,
            text: text.to_owned(),
        };
        loaded.registrar_config()?;
        loaded.listens()?;
        loaded.http_listen()?;
        loaded.uac_table()?;
        loaded.uac_timers()?;
        Ok(loaded)
    }

    /// An error about the value at `span`: `file:line: key: problem (fix: ...)`.
    fn error<T>(
        &self,
        span: std::ops::Range<usize>,
        key: &str,
        problem: &str,
    ) -> anyhow::Result<T> {
        let name = self
            .path
            .as_deref()
            .map_or_else(|| "<defaults>".to_owned(), |p| p.display().to_string());
        if self.text.is_empty() {
            bail!("{name}: {key}: {problem}");
        }
        bail!(
            "{name}:{}: {key}: {problem}",
            line_of(&self.text, span.start)
        )
    }

    /// SIP listen addresses.
    pub fn listens(&self) -> anyhow::Result<Vec<Listen>> {
        self.config
            .sip
            .listen
            .iter()
            .map(|l| {
                l.get_ref().parse::<Listen>().or_else(|e| {
                    self.error(
                        l.span(),
                        "sip.listen",
                        &format!(
                            "{e}; write entries like \"udp:127.0.0.1:5060\" or \"tcp:[::1]:5060\""
                        ),
                    )
                })
            })
            .collect()
    }

    /// The management API address.
    pub fn http_listen(&self) -> anyhow::Result<SocketAddr> {
        let l = &self.config.http.listen;
        l.get_ref().parse().or_else(|_| {
            self.error(
                l.span(),
                "http.listen",
                &format!(
                    "{:?} is not an address; write e.g. \"127.0.0.1:8080\"",
                    l.get_ref()
                ),
            )
        })
    }

    /// The `uacreg` table's URL (`None`: no table) and name. `"store"` names the store's SQLite file.
    pub fn uac_table(&self) -> anyhow::Result<Option<(String, String)>> {
        let u = &self.config.uac;
        let url = match u.table_url.get_ref().as_str() {
            "" => return Ok(None),
            "store" => {
                let store = self.config.store.url.get_ref();
                if !store.starts_with("sqlite:") {
                    return self.error(
                        u.table_url.span(),
                        "uac.table_url",
                        "\"store\" works only with a sqlite: store; give the table's own URL",
                    );
                }
                store.clone()
            }
            url if [
                "sqlite:",
                "mysql://",
                "mariadb://",
                "postgres://",
                "postgresql://",
            ]
            .iter()
            .any(|scheme| url.starts_with(scheme)) =>
            {
                url.to_owned()
            }
            other => {
                return self.error(
                    u.table_url.span(),
                    "uac.table_url",
                    &format!(
                        "{other:?} is not a database URL; use \"store\", \"sqlite://path.db\", \
                         \"mysql://user@host/db\", \"postgres://user@host/db\" or \"\" for none"
                    ),
                );
            }
        };
        let table = u.table.get_ref();
        if table.is_empty() || !table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return self.error(
                u.table.span(),
                "uac.table",
                &format!("{table:?} is not a plain table name; use letters, digits and _"),
            );
        }
        Ok(Some((url, table.clone())))
    }

    /// The client transaction timers T1 and F.
    pub fn uac_timers(&self) -> anyhow::Result<(std::time::Duration, std::time::Duration)> {
        let u = &self.config.uac;
        let (t1, f) = (*u.t1_ms.get_ref(), *u.timeout.get_ref());
        if !(10..=10_000).contains(&t1) {
            return self.error(
                u.t1_ms.span(),
                "uac.t1_ms",
                &format!("{t1} is out of range; use 10..=10000 (RFC 3261's default is 500)"),
            );
        }
        if f == 0 || f.saturating_mul(1000) <= t1 {
            return self.error(
                u.timeout.span(),
                "uac.timeout",
                &format!("{f} s must be longer than t1_ms; RFC 3261's default is 32"),
            );
        }
        Ok((
            std::time::Duration::from_millis(t1),
            std::time::Duration::from_secs(f),
        ))
    }

    /// 1-based line where the config file defines `span`, for errors about rows from the file.
    pub fn line_of_span(&self, span: std::ops::Range<usize>) -> Option<usize> {
        (!self.text.is_empty()).then(|| line_of(&self.text, span.start))
    }

    /// The file name for error messages.
    pub fn file_name(&self) -> String {
        self.path
            .as_deref()
            .map_or_else(|| "<defaults>".to_owned(), |p| p.display().to_string())
    }

    /// The registrar rules, validated.
    pub fn registrar_config(&self) -> anyhow::Result<Arc<RegistrarConfig>> {
        let r = &self.config.registrar;
        let a = &self.config.auth;
        if r.domains.get_ref().is_empty() {
            return self.error(
                r.domains.span(),
                "registrar.domains",
                "no domain is served; list at least one, e.g. domains = [\"example.com\"]",
            );
        }
        let (min, max, default) = (
            *r.min_expires.get_ref(),
            *r.max_expires.get_ref(),
            *r.default_expires.get_ref(),
        );
        if min > max {
            return self.error(
                r.min_expires.span(),
                "registrar.min_expires",
                &format!("{min} is above max_expires ({max}); lower it or raise max_expires"),
            );
        }
        if default < min || default > max {
            return self.error(
                r.default_expires.span(),
                "registrar.default_expires",
                &format!("{default} is outside min_expires..=max_expires ({min}..={max})"),
            );
        }
        if *r.expiry_interval.get_ref() == 0 {
            return self.error(
                r.expiry_interval.span(),
                "registrar.expiry_interval",
                "must be at least 1 second",
            );
        }
        let overflow = match r.max_contacts_policy.get_ref().as_str() {
            "reject" => OverflowPolicy::Reject,
            "evict-oldest" => OverflowPolicy::EvictOldest,
            other => {
                return self.error(
                    r.max_contacts_policy.span(),
                    "registrar.max_contacts_policy",
                    &format!("{other:?} is not a policy; use \"reject\" or \"evict-oldest\""),
                );
            }
        };
        let mut trusted_networks = Vec::new();
        for net in &a.trusted_networks {
            let parsed: IpNet = match net.get_ref().parse() {
                Ok(n) => n,
                Err(_) => match net.get_ref().parse::<std::net::IpAddr>() {
                    Ok(ip) => IpNet::from(ip),
                    Err(_) => {
                        return self.error(
                            net.span(),
                            "auth.trusted_networks",
                            &format!(
                                "{:?} is not a network; write e.g. \"10.0.0.0/8\" or \"192.0.2.7\"",
                                net.get_ref()
                            ),
                        );
                    }
                },
            };
            trusted_networks.push(parsed);
        }
        for alg in a.algorithms.get_ref() {
            if !matches!(
                alg.parse::<sip_auth::Algorithm>(),
                Ok(sip_auth::Algorithm::Md5 | sip_auth::Algorithm::Sha256)
            ) {
                return self.error(
                    a.algorithms.span(),
                    "auth.algorithms",
                    &format!("{alg:?} is not supported; use \"SHA-256\" and/or \"MD5\""),
                );
            }
        }
        if a.algorithms.get_ref().is_empty() {
            return self.error(
                a.algorithms.span(),
                "auth.algorithms",
                "list at least one algorithm, e.g. [\"SHA-256\", \"MD5\"]",
            );
        }
        let mut third_party = Vec::new();
        for g in &a.third_party {
            if !g.user.get_ref().contains('@') {
                return self.error(
                    g.user.span(),
                    "auth.third_party.user",
                    "write the user as user@domain",
                );
            }
            third_party.push(ThirdPartyGrant {
                user: g.user.get_ref().clone(),
                may_register: g.may_register.clone(),
            });
        }
        Ok(Arc::new(RegistrarConfig {
            domains: r
                .domains
                .get_ref()
                .iter()
                .map(|d| d.to_ascii_lowercase())
                .collect(),
            default_expires: default,
            min_expires: min,
            max_expires: max,
            max_contacts: r.max_contacts,
            overflow,
            max_contact_uri_len: 512,
            auth: AuthPolicy {
                enabled: a.enabled,
                exempt_domains: a.exempt_domains.clone(),
                trusted_networks,
                third_party,
            },
        }))
    }
}

/// 1-based line number of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        Loaded::parse(text, Some("test.toml".into()))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn defaults_are_valid() {
        let l = Loaded::parse("", None).unwrap();
        assert_eq!(l.listens().unwrap().len(), 2);
        assert_eq!(l.registrar_config().unwrap().min_expires, 60);
    }

    #[test]
    fn unknown_key_names_file_and_line() {
        let e = err("[registrar]\ndomains = [\"a\"]\nmax_expire = 5\n");
        assert!(e.starts_with("test.toml:3:"), "{e}");
        assert!(e.contains("max_expire"), "{e}");
    }

    #[test]
    fn semantic_errors_name_key_line_and_fix() {
        let e = err("[registrar]\nmin_expires = 600\nmax_expires = 300\ndefault_expires = 300\n");
        assert!(e.starts_with("test.toml:2: registrar.min_expires"), "{e}");
        let e = err("[sip]\nlisten = [\"udp:127.0.0.1:5060\",\n  \"sctp:1.2.3.4:5\"]\n");
        assert!(e.starts_with("test.toml:3: sip.listen"), "{e}");
        assert!(e.contains("udp:127.0.0.1:5060"), "{e}");
        let e = err("[registrar]\nmax_contacts_policy = \"drop\"\n");
        assert!(e.contains("evict-oldest"), "{e}");
        let e = err("[auth]\ntrusted_networks = [\"10.0.0.0/33\"]\n");
        assert!(e.starts_with("test.toml:2: auth.trusted_networks"), "{e}");
    }

    #[test]
    fn wrong_type_is_reported_with_line() {
        let e = err("[registrar]\n\nmin_expires = \"soon\"\n");
        assert!(e.starts_with("test.toml:3:"), "{e}");
    }

    #[test]
    fn uac_table_url_and_timers_are_checked() {
        let l = Loaded::parse("", None).unwrap();
        assert_eq!(
            l.uac_table().unwrap(),
            Some(("sqlite://data/lamppost.db".into(), "uacreg".into()))
        );
        let l = Loaded::parse("[uac]\ntable_url = \"\"\n", None).unwrap();
        assert_eq!(l.uac_table().unwrap(), None);
        let e = err("[uac]\n\ntable_url = \"redis://x\"\n");
        assert!(e.starts_with("test.toml:3: uac.table_url"), "{e}");
        let e = err("[uac]\ntable = \"uacreg; drop\"\n");
        assert!(e.starts_with("test.toml:2: uac.table"), "{e}");
        let e = err("[uac]\nt1_ms = 0\n");
        assert!(e.starts_with("test.toml:2: uac.t1_ms"), "{e}");
        let e = err("[[uac.registration]]\nl_uuid = \"a\"\nexpire = 5\n");
        assert!(e.starts_with("test.toml:3:"), "{e}");
    }

    #[test]
    fn example_file_is_valid() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../lamppost.example.toml");
        let text = std::fs::read_to_string(path).unwrap();
        Loaded::parse(&text, Some(path.into())).unwrap();
    }
}
