//! The RFC 3261 §10 registrar core, sans-IO.
//!
//! Nothing here touches a socket, a clock or a database: the caller passes the parsed request, where it came from and
//! the current time, and gets back the response bytes (written into a buffer it owns) and the list of [`Change`]s that
//! must be made durable before that response is sent.

pub mod binding;

pub use binding::{
    Binding, Change, ContactExtras, Extras, LocalAddr, RemovalReason, Source, Transport, UnixTime,
};
pub mod config;
pub mod contact;
pub mod location;
pub mod register;
pub mod reply;

pub use config::{AuthPolicy, OverflowPolicy, RegistrarConfig, ThirdPartyGrant};
pub use location::LocationTable;
pub use register::{Identity, Outcome, Registrar, Target, aor_of, precheck};
