//! The outbound registration client: lamppost registering itself to remote SIP trunks (what Kamailio's `uac`
//! module does with its `uacreg` table).
//!
//! # I/O contract
//!
//! Sans-IO, in the manner of quinn-proto: no sockets, no clock, no threads. The caller passes the current time
//! (`now: Instant`) and a seed for the random choices, sends what [`Registration::poll_transmit`] returns, calls
//! [`Registration::handle_timeout`] at [`Registration::poll_timeout`], and feeds back parsed responses
//! ([`Registration::handle_response`]) and send failures ([`Registration::handle_send_error`]).
//!
//! # Behaviour
//!
//! - REGISTER per RFC 3261 §10.2 with one Call-ID and From tag for the registration's life and a CSeq raised by
//!   one per request; the non-INVITE client transaction of §17.1.2 ([`Timers`]) retransmits over UDP.
//! - Digest challenges (401/407, MD5 and SHA-256, password or HA1) are answered, and the last challenge answers
//!   the next refresh pre-emptively; a configured realm must match; `stale=true` is answered once more.
//! - Refresh before expiry, 423 Min-Expires adoption, `Retry-After`, and per-failure exponential backoff with
//!   jitter ([`RetryPolicy`]) that never gives up.
//! - [`Status`] tells the state, the last response, and in words what went wrong and what to do.

mod account;
mod auth;
mod backoff;
mod explain;
mod next_hop;
mod packed;
mod registration;
mod request;
mod response;
mod status;
mod transaction;
mod transmit;

pub use account::{Account, AccountError, PackedAccount, Secret, same_settings};
pub use backoff::{Backoff, RetryPolicy};
pub use next_hop::{NextHop, NextHopError};
pub use packed::PackedStrs;
pub use registration::Registration;
pub use sip_msg::Transport;
pub use status::{State, Status};
pub use transaction::Timers;
pub use transmit::{LocalBinding, SendError, Transmit};
