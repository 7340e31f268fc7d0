//! Parses arbitrary bytes, touches every typed accessor, answers requests with the response
//! writer and checks that the response parses (see `crates/sip-msg/tests/support`).
#![no_main]

#[allow(dead_code, reason = "each target uses one of the shared checks")]
#[path = "../../crates/sip-msg/tests/support/mod.rs"]
mod support;

libfuzzer_sys::fuzz_target!(|data: &[u8]| support::check_message(data));
