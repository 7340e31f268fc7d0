//! Reaching the test database servers, and tables private to one test.

use std::fmt::Display;
use std::future::Future;
use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};

/// The URL of a test server: the environment variable `var` when set, else `default`.
pub(crate) fn server_url(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

/// Reports that `test` cannot run because `server` is not reachable at `url`: a loud line on stderr, or a failure
/// when `LAMPPOST_REQUIRE_DB=1` (as in CI).
pub(crate) fn skip(test: &str, server: &str, url: &str, reason: &dyn Display) {
    let line = format!("SKIPPED: {test}: {server} not reachable at {url} ({reason})");
    if std::env::var("LAMPPOST_REQUIRE_DB").is_ok_and(|v| v == "1") {
        panic!("{line}, and LAMPPOST_REQUIRE_DB=1 requires it");
    }
    // Written to the process's stderr directly, past the test harness's output capture.
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// A table name no other test (in this or another concurrent test process) uses.
pub(crate) fn unique_table(tag: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("uacreg_{tag}_{}_{n}", std::process::id())
}

/// Runs `body`, then `cleanup` whether or not `body` panicked, then fails with `body`'s panic if it had one.
pub(crate) async fn run_then_cleanup(
    body: impl Future<Output = ()> + Send + 'static,
    cleanup: impl Future<Output = ()>,
) {
    let outcome = tokio::spawn(body).await;
    cleanup.await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}
