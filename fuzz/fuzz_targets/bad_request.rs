//! Feeds arbitrary bytes to `write_bad_request`: it must never panic, and what it writes must
//! parse as a response (see `crates/sip-msg/tests/support`).
#![no_main]

#[allow(dead_code, reason = "each target uses one of the shared checks")]
#[path = "../../crates/sip-msg/tests/support/mod.rs"]
mod support;

libfuzzer_sys::fuzz_target!(|data: &[u8]| support::check_bad_request(data));
