//! What the API and CLI show of an outbound registration. Never a secret.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sip_uac::{Registration, Secret, State};
use uacreg::UacRow;

use super::account::Origin;

/// One registration's configuration and live state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegistrationView {
    /// The `l_uuid`.
    pub id: String,
    /// `"table"` or `"config"`.
    pub origin: String,
    /// The table row's id, for table rows.
    pub row_id: Option<i64>,
    /// The local AOR calls from the trunk are handed to.
    pub local_aor: String,
    /// The AOR registered at the trunk.
    pub remote_aor: String,
    /// Where REGISTERs go: the proxy URI, or the trunk domain.
    pub next_hop: String,
    /// `udp` or `tcp`.
    pub transport: String,
    /// The digest user name.
    pub auth_username: String,
    /// Whether the secret is an HA1 (`ha1`) or a password (`password`); never the secret itself.
    pub auth_secret: String,
    /// The realm the row insists on; `None` accepts the trunk's.
    pub realm_expected: Option<String>,
    /// Whether the registration is enabled.
    pub enabled: bool,
    /// The state, e.g. `registered`, `timeout`, `credentials_rejected`.
    pub state: String,
    /// The last final response's status code.
    pub last_code: Option<u16>,
    /// The last final response's reason phrase.
    pub last_reason: Option<String>,
    /// The realm the trunk challenged with.
    pub realm: Option<String>,
    /// Unix time of the last successful REGISTER.
    pub last_success: Option<u64>,
    /// Consecutive failures.
    pub failures: u32,
    /// Expiry asked for.
    pub requested_expires: u32,
    /// Expiry the trunk granted.
    pub granted_expires: Option<u32>,
    /// Seconds until the binding at the trunk expires.
    pub expires_in: Option<u64>,
    /// Seconds until the next REGISTER (refresh or retry).
    pub next_attempt_in: Option<u64>,
    /// What went wrong last, in words, with what to do.
    pub last_error: Option<String>,
    /// The Contact registered.
    pub contact: String,
    /// The trunk's 200 did not list our Contact as sent.
    pub contact_rewritten: bool,
    /// The Call-ID, kept across refreshes.
    pub call_id: String,
    /// The last CSeq sent.
    pub cseq: u32,
}

/// The view of `reg` at `now`.
pub(crate) fn view(reg: &Registration, origin: &Origin, now: Instant) -> RegistrationView {
    let account = reg.account().unpack();
    let status = reg.status();
    let secs_until = |t: Option<Instant>| t.map(|t| t.saturating_duration_since(now).as_secs());
    let wall = |t: Option<Instant>| {
        t.and_then(|t| {
            let ago = now.saturating_duration_since(t);
            SystemTime::now()
                .checked_sub(ago)
                .and_then(|w| w.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_secs())
        })
    };
    RegistrationView {
        id: account.id.clone(),
        origin: origin.kind().to_owned(),
        row_id: origin.row_id(),
        local_aor: format!("{}@{}", account.local_user, account.local_domain),
        remote_aor: format!("{}@{}", account.remote_user, account.remote_domain),
        next_hop: account.proxy.as_ref().map_or_else(
            || account.remote_domain.clone(),
            |p| match p.port {
                Some(port) => format!("{}:{port}", p.host),
                None => p.host.clone(),
            },
        ),
        transport: account.transport.as_str().to_ascii_lowercase(),
        auth_username: account.auth_user.clone(),
        auth_secret: match account.secret {
            Secret::Password(_) => "password",
            Secret::Ha1(_) => "ha1",
        }
        .to_owned(),
        realm_expected: account.realm.clone(),
        enabled: account.enabled,
        state: status.state.as_str().to_owned(),
        last_code: status.last_code,
        last_reason: status.last_reason,
        realm: status.realm,
        last_success: wall(status.last_success),
        failures: status.failures,
        requested_expires: account.expires,
        granted_expires: status.granted_expires,
        expires_in: secs_until(status.registered_until.filter(|&t| t > now)),
        next_attempt_in: secs_until(status.next_attempt),
        last_error: status.last_error,
        contact: status.contact,
        contact_rewritten: status.contact_rewritten,
        call_id: status.call_id,
        cseq: status.cseq,
    }
}

/// The view of a row that cannot be used: state `config_error`, with the reason.
pub(crate) fn invalid(row: &UacRow, origin: &Origin, error: &str) -> RegistrationView {
    RegistrationView {
        id: row.l_uuid.clone(),
        origin: origin.kind().to_owned(),
        row_id: origin.row_id(),
        local_aor: format!("{}@{}", row.l_username, row.l_domain),
        remote_aor: format!("{}@{}", row.r_username, row.r_domain),
        next_hop: if row.auth_proxy.is_empty() {
            row.r_domain.clone()
        } else {
            row.auth_proxy.clone()
        },
        transport: String::new(),
        auth_username: row.auth_username.clone(),
        auth_secret: if row.auth_ha1.is_empty() {
            "password"
        } else {
            "ha1"
        }
        .to_owned(),
        realm_expected: (!row.realm.is_empty()).then(|| row.realm.clone()),
        enabled: row.flags & 1 == 0,
        state: State::ConfigError.as_str().to_owned(),
        last_code: None,
        last_reason: None,
        realm: None,
        last_success: None,
        failures: 0,
        requested_expires: u32::try_from(row.expires).unwrap_or(0),
        granted_expires: None,
        expires_in: None,
        next_attempt_in: None,
        last_error: Some(error.to_owned()),
        contact: String::new(),
        contact_rewritten: false,
        call_id: String::new(),
        cseq: 0,
    }
}
