//! Calling the application's [`Handler`](crate::Handler) without letting its panics kill a
//! receive loop.

use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs a handler callback; returns `false` (after logging) if it panicked.
pub(crate) fn deliver(callback: impl FnOnce()) -> bool {
    // The loops hold no state that a panicking callback could leave half-updated.
    let outcome = catch_unwind(AssertUnwindSafe(callback));
    if outcome.is_err() {
        tracing::error!("SIP message handler panicked");
    }
    outcome.is_ok()
}
