//! Prometheus metrics: counters are recorded where things happen, gauges are read at scrape time.

use metrics::{counter, gauge};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use registrar::Change;
use tracing::warn;

/// The metrics recorder and its renderer.
pub(crate) struct Metrics {
    handle: Option<PrometheusHandle>,
}

impl Metrics {
    /// Installs the process-wide recorder.
    pub(crate) fn new() -> Self {
        let handle = PrometheusBuilder::new()
            .install_recorder()
            .map_err(|e| warn!(error = %e, "metrics recorder not installed"))
            .ok();
        Self { handle }
    }

    /// Counts binding removals by reason.
    pub(crate) fn record_changes(&self, changes: &[Change]) {
        for c in changes {
            if let Change::Remove { reason, .. } = c {
                counter!("lamppost_binding_removals_total", "reason" => reason.as_str())
                    .increment(1);
            }
        }
    }

    /// The exposition text, with the current table sizes and outbound registrations per state.
    pub(crate) fn render(
        &self,
        aors: usize,
        bindings: usize,
        uac_states: &[(&'static str, usize)],
    ) -> String {
        gauge!("lamppost_aors").set(aors as f64);
        gauge!("lamppost_bindings").set(bindings as f64);
        for &(state, count) in uac_states {
            gauge!("lamppost_uac_registrations", "state" => state).set(count as f64);
        }
        self.handle
            .as_ref()
            .map(PrometheusHandle::render)
            .unwrap_or_default()
    }
}

/// Status codes counted separately; anything else counts as `other`.
const STATUSES: [&str; 9] = [
    "200", "400", "401", "403", "420", "423", "500", "503", "other",
];

/// Counts a response sent to a REGISTER (counter handles are looked up once, not per request).
pub(crate) fn register_response(status: u16) {
    static COUNTERS: std::sync::OnceLock<Vec<metrics::Counter>> = std::sync::OnceLock::new();
    let counters = COUNTERS.get_or_init(|| {
        STATUSES
            .iter()
            .map(|s| counter!("lamppost_register_responses_total", "status" => *s))
            .collect()
    });
    let i = match status {
        200 => 0,
        400 => 1,
        401 => 2,
        403 => 3,
        420 => 4,
        423 => 5,
        500 => 6,
        503 => 7,
        _ => 8,
    };
    counters[i].increment(1);
}

/// Counts a request a trunk sent to one of our outbound registrations' Contacts.
pub(crate) fn trunk_request() {
    counter!("lamppost_uac_inbound_requests_total").increment(1);
}

/// Counts a message that could not be parsed.
pub(crate) fn parse_error() {
    counter!("lamppost_sip_parse_errors_total").increment(1);
}
