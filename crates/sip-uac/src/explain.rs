//! The operator-facing words for each failure: what happened and what to do. Never a secret.

use std::time::Duration;

use crate::account::PackedAccount;
use crate::{NextHop, SendError};

/// No final response before Timer F.
pub(crate) fn timeout(destination: &NextHop, waited: Duration, transmissions: u32) -> String {
    format!(
        "no final answer from {destination} within {} s ({transmissions} transmission{}): check the trunk's \
         address, port and transport, and that firewalls let SIP through",
        waited.as_secs(),
        if transmissions == 1 { "" } else { "s" },
    )
}

/// The shell could not send.
pub(crate) fn send_error(destination: &NextHop, error: &SendError) -> String {
    match error {
        SendError::Dns(seen) => format!(
            "could not resolve {} ({seen}): check r_domain or auth_proxy and the DNS",
            destination.host
        ),
        SendError::Transport(seen) => format!(
            "could not send the REGISTER to {destination} over {} ({seen}): check that the trunk is reachable \
             from this host",
            destination.transport.as_str()
        ),
    }
}

/// The challenge's realm is not the configured one.
pub(crate) fn realm_mismatch(challenged: &str, configured: &str) -> String {
    format!(
        "the trunk challenged with realm \"{challenged}\" but this registration's realm is \"{configured}\": \
         set realm to \"{challenged}\", or leave it empty to accept the trunk's realm"
    )
}

/// A second challenge after our answer.
pub(crate) fn credentials_rejected(account: &PackedAccount, realm: &str) -> String {
    format!(
        "the trunk rejected the credentials of auth user {} for realm {realm}: check auth_password/auth_ha1",
        account.auth_username()
    )
}

/// An error response other than a challenge or 423.
pub(crate) fn error_response(account: &PackedAccount, code: u16, reason: &str) -> String {
    let advice = match code {
        300..=399 => {
            "redirects are not followed: point r_domain or auth_proxy at the registrar the trunk names"
        }
        403 => {
            "the trunk refused this registration: check r_username, r_domain and auth_username, and that the \
                account is active with the provider"
        }
        404 => "the trunk does not know this address of record: check r_username and r_domain",
        408 => "the registrar (or a proxy on the way) did not answer in time",
        400..=499 => "check this registration's settings with the trunk provider",
        500..=599 => "the trunk has a problem on its side",
        _ => "the trunk declined the registration: check the account with the provider",
    };
    format!(
        "the trunk answered {code} {reason} to the REGISTER for sip:{}@{}: {advice}",
        account.remote_user(),
        account.remote_domain()
    )
}

/// A 423 that cannot be followed.
pub(crate) fn bad_min_expires(requested: u32, min: Option<u32>) -> String {
    let found = match min {
        Some(m) => format!("Min-Expires {m}"),
        None => "no valid Min-Expires".to_owned(),
    };
    format!(
        "the trunk answered 423 Interval Too Brief to expires {requested} with {found}: it gave no longer interval \
         to ask for; set expires to what the provider requires"
    )
}

/// Unregistering did not succeed.
pub(crate) fn unregister_failed(reason: &str) -> String {
    format!("could not unregister ({reason}); the trunk keeps the old binding until it expires")
}
