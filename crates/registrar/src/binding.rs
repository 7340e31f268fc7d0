//! The binding: one contact registered for one address-of-record.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use sip_msg::Transport;

/// Seconds since the Unix epoch; bindings store absolute times so they survive restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixTime(pub u64);

impl UnixTime {
    /// Converts a wall-clock time, saturating at the epoch.
    pub fn from_system(t: SystemTime) -> Self {
        Self(t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
    }

    /// Converts back to a wall-clock time.
    pub fn to_system(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.0)
    }

    /// This time plus `secs` seconds.
    pub fn plus(self, secs: u32) -> Self {
        Self(self.0 + u64::from(secs))
    }

    /// Seconds from `now` until this time, zero if it has passed.
    pub fn secs_after(self, now: Self) -> u32 {
        u32::try_from(self.0.saturating_sub(now.0)).unwrap_or(u32::MAX)
    }
}

/// Why a binding left the location table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RemovalReason {
    /// The client removed it (expires=0 or `Contact: *`).
    Unregistered,
    /// Its expiry time passed without a refresh.
    Expired,
    /// A newer registration of the same device (same `+sip.instance`/`reg-id`) took its place.
    Replaced,
    /// `max_contacts` was reached and the oldest binding was evicted for a new one.
    Evicted,
    /// An operator removed it through the management API.
    Administrative,
}

impl RemovalReason {
    /// Lower-case name used in logs, metrics and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unregistered => "unregistered",
            Self::Expired => "expired",
            Self::Replaced => "replaced",
            Self::Evicted => "evicted",
            Self::Administrative => "administrative",
        }
    }
}

/// Where a REGISTER came from: what the transport layer saw, not what the message claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    /// Remote address the request was received from.
    pub remote: SocketAddr,
    /// Local socket it arrived on.
    pub local: SocketAddr,
    /// Transport it arrived over.
    pub transport: Transport,
    /// Connection identifier for connection-oriented transports.
    pub connection: Option<u64>,
}

/// One contact bound to an address-of-record.
///
/// Strings are boxed (no spare capacity) and the AOR and User-Agent are shared: a server holds one of these per
/// registered device, and its size is the memory per binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// Unique, stable identifier of this binding (survives refreshes).
    pub id: u64,
    /// Canonical address-of-record, `user@domain` (domain in lower case); shared with the table's key.
    pub aor: Arc<str>,
    /// The contact URI, exactly as the client sent it (without angle brackets).
    pub uri: Box<str>,
    /// Contact header parameters other than `expires` and `q`, raw, each starting with `;`.
    pub params: Box<str>,
    /// Preference in thousandths (`q=0.5` is 500); `None` when the client sent no q.
    pub q: Option<u16>,
    /// When the binding expires.
    pub expires_at: UnixTime,
    /// When the binding was first created.
    pub registered_at: UnixTime,
    /// When the binding was last created or refreshed.
    pub updated_at: UnixTime,
    /// Call-ID of the REGISTER that last wrote it.
    pub call_id: Box<str>,
    /// CSeq number of the REGISTER that last wrote it.
    pub cseq: u32,
    /// Hash of the top Via branch of that REGISTER, to recognise retransmissions.
    pub branch_hash: u64,
    /// Where the REGISTER came from.
    pub source: Source,
    /// User-Agent header of the registering client (empty if none); one shared copy per distinct value.
    pub user_agent: Arc<str>,
    /// Path header values (RFC 3327), in order; empty when none.
    pub path: Box<[Box<str>]>,
    /// `+sip.instance` contact parameter (RFC 5626), without quotes.
    pub instance: Option<Box<str>>,
    /// `reg-id` contact parameter (RFC 5626).
    pub reg_id: Option<u32>,
}

impl Binding {
    /// Seconds left before expiry at `now`.
    pub fn expires_in(&self, now: UnixTime) -> u32 {
        self.expires_at.secs_after(now)
    }

    /// The q-value formatted as in SIP (`0.5`, `1`), if one was given.
    pub fn q_str(&self) -> Option<String> {
        self.q.map(format_q)
    }
}

/// Formats a q-value in thousandths the way SIP writes it (`1`, `0.5`, `0.125`).
pub fn format_q(q: u16) -> String {
    if q >= 1000 {
        "1".to_owned()
    } else {
        let s = format!("0.{q:03}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// Parses a SIP q-value (`0`, `0.5`, `1.000`) into thousandths.
pub fn parse_q(s: &str) -> Option<u16> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (i, b) in frac.bytes().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1][i];
    }
    match int {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// A change to the location table that must be made durable before the reply is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Insert or replace the binding with this id.
    Upsert(Binding),
    /// Remove the binding with this id.
    Remove {
        /// Binding identifier.
        id: u64,
        /// Address-of-record it belonged to.
        aor: String,
        /// Its contact URI.
        uri: String,
        /// Why it was removed.
        reason: RemovalReason,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_values_round_trip() {
        for (text, q, back) in [
            ("1", 1000, "1"),
            ("1.0", 1000, "1"),
            ("0.5", 500, "0.5"),
            ("0.125", 125, "0.125"),
            ("0", 0, "0"),
        ] {
            assert_eq!(parse_q(text), Some(q), "{text}");
            assert_eq!(format_q(q), back);
        }
        for bad in ["1.5", "2", "0.1234", "-0.1", "x", ""] {
            assert_eq!(parse_q(bad), None, "{bad}");
        }
    }
}
