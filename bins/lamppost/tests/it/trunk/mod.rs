//! SIP trunks for lamppost's outbound registration client to register to.
//!
//! [`fake::FakeTrunk`] is an in-process registrar whose answers a test scripts (faults, challenges, odd
//! expiries); [`kamailio::KamailioTrunk`] is a real Kamailio with digest authentication and a location table.

pub(crate) mod fake;
pub(crate) mod kamailio;
