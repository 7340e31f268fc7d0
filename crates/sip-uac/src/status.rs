//! What a registration is doing, for the CLI, the API and metrics.

use std::fmt;
use std::time::Instant;

/// The state of one registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Disabled by its flags or by the operator.
    Disabled,
    /// `expires` is 0: this row never registers.
    NotRegistering,
    /// Waiting for the first REGISTER (initial delay and spread).
    Waiting,
    /// A REGISTER is on its way (first one, or a retry after a failure).
    Registering,
    /// The trunk challenged the first REGISTER; the answer is on its way.
    Authenticating,
    /// The trunk accepted the binding (also while a refresh is on its way).
    Registered,
    /// A REGISTER with `Expires: 0` is on its way.
    Unregistering,
    /// Unregistered after a shutdown.
    Unregistered,
    /// The trunk rejected the credentials.
    CredentialsRejected,
    /// The trunk answered 403 Forbidden.
    Forbidden,
    /// The trunk challenged with another realm than the configured one.
    RealmMismatch,
    /// The trunk answered with an error (3xx to 6xx other than the ones above).
    ServerError,
    /// No final response in time (or a 408).
    Timeout,
    /// The request could not be sent.
    TransportError,
    /// The next hop's name did not resolve.
    DnsFailure,
    /// The account's settings cannot be used ([`crate::Account::validate`] failed); nothing is sent.
    ConfigError,
}

impl State {
    /// Every state, in declaration order.
    pub const ALL: [Self; 16] = [
        Self::Disabled,
        Self::NotRegistering,
        Self::Waiting,
        Self::Registering,
        Self::Authenticating,
        Self::Registered,
        Self::Unregistering,
        Self::Unregistered,
        Self::CredentialsRejected,
        Self::Forbidden,
        Self::RealmMismatch,
        Self::ServerError,
        Self::Timeout,
        Self::TransportError,
        Self::DnsFailure,
        Self::ConfigError,
    ];

    /// The position of this state in [`State::ALL`], for tables indexed by state.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The stable snake_case name used in JSON and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disabled => "disabled",
            Self::NotRegistering => "not_registering",
            Self::Waiting => "waiting",
            Self::Registering => "registering",
            Self::Authenticating => "authenticating",
            Self::Registered => "registered",
            Self::Unregistering => "unregistering",
            Self::Unregistered => "unregistered",
            Self::CredentialsRejected => "credentials_rejected",
            Self::Forbidden => "forbidden",
            Self::RealmMismatch => "realm_mismatch",
            Self::ServerError => "server_error",
            Self::Timeout => "timeout",
            Self::TransportError => "transport_error",
            Self::DnsFailure => "dns_failure",
            Self::ConfigError => "config_error",
        }
    }

    /// Whether the state is a failure that an operator may need to look at.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Self::CredentialsRejected
                | Self::Forbidden
                | Self::RealmMismatch
                | Self::ServerError
                | Self::Timeout
                | Self::TransportError
                | Self::DnsFailure
                | Self::ConfigError
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A snapshot of one registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The current state.
    pub state: State,
    /// The last final response's status code.
    pub last_code: Option<u16>,
    /// The last final response's reason phrase.
    pub last_reason: Option<String>,
    /// The realm of the last challenge.
    pub realm: Option<String>,
    /// When the trunk last accepted a REGISTER.
    pub last_success: Option<Instant>,
    /// Consecutive failures; 0 after a success.
    pub failures: u32,
    /// The expiry the trunk granted last, in seconds.
    pub granted_expires: Option<u32>,
    /// Until when the trunk holds our binding (kept through later failures while in the future).
    pub registered_until: Option<Instant>,
    /// When the next REGISTER is due (refresh or retry).
    pub next_attempt: Option<Instant>,
    /// What went wrong and what to do about it, in words; also warnings such as a rewritten Contact.
    pub last_error: Option<String>,
    /// The Contact URI we register.
    pub contact: String,
    /// The Call-ID of the registration.
    pub call_id: String,
    /// The CSeq number of the last REGISTER sent.
    pub cseq: u32,
    /// The trunk's last 200 OK did not list our Contact as sent.
    pub contact_rewritten: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_indexes_its_place_in_all() {
        for (i, s) in State::ALL.iter().enumerate() {
            assert_eq!(s.index(), i, "{s:?}");
        }
    }

    #[test]
    fn names_are_unique_snake_case() {
        let mut names: Vec<&str> = State::ALL.iter().map(|s| s.as_str()).collect();
        assert!(
            names
                .iter()
                .all(|n| n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        );
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), State::ALL.len());
        assert_eq!(State::RealmMismatch.to_string(), "realm_mismatch");
    }

    #[test]
    fn failures() {
        let failing: Vec<State> = State::ALL.into_iter().filter(|s| s.is_failure()).collect();
        assert_eq!(failing.len(), 8);
        assert!(!State::Registered.is_failure() && !State::Disabled.is_failure());
        assert!(State::Timeout.is_failure() && State::ConfigError.is_failure());
    }
}
