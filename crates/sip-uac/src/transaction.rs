//! The non-INVITE client transaction of RFC 3261 §17.1.2 carrying one REGISTER.

use std::time::{Duration, Instant};

/// Transaction timers (RFC 3261 §17.1.2.2 and Table 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// T1, the first UDP retransmission interval (default 500 ms).
    pub t1: Duration,
    /// T2, the largest UDP retransmission interval (default 4 s).
    pub t2: Duration,
    /// Timer F, how long to wait for a final response (default 64 × T1 = 32 s).
    pub timer_f: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Self {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            timer_f: Duration::from_secs(32),
        }
    }
}

/// What a timer asks the owner of a transaction to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimerEvent {
    /// Send the request again (Timer E).
    Retransmit,
    /// No final response in time (Timer F).
    TimedOut,
}

/// One REGISTER waiting for its final response.
#[derive(Debug)]
pub(crate) struct ClientTransaction {
    branch: String,
    cseq: u32,
    payload: Vec<u8>,
    started: Instant,
    deadline: Instant,
    /// Timer E; `None` over reliable transports.
    next_retransmit: Option<Instant>,
    interval: Duration,
    proceeding: bool,
    transmissions: u32,
}

impl ClientTransaction {
    /// Starts a transaction whose request is sent at `now`; `reliable` turns retransmission off.
    pub(crate) fn new(
        branch: String,
        cseq: u32,
        payload: Vec<u8>,
        reliable: bool,
        timers: &Timers,
        now: Instant,
    ) -> Self {
        Self {
            branch,
            cseq,
            payload,
            started: now,
            deadline: now + timers.timer_f,
            next_retransmit: (!reliable).then(|| now + timers.t1),
            interval: timers.t1,
            proceeding: false,
            transmissions: 1,
        }
    }

    /// Whether a response with this top Via branch and CSeq number belongs here.
    pub(crate) fn matches(&self, branch: &str, cseq: u32) -> bool {
        self.cseq == cseq && self.branch == branch
    }

    /// The request's bytes.
    pub(crate) fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The Via branch.
    pub(crate) fn branch(&self) -> &str {
        &self.branch
    }

    /// The CSeq number.
    pub(crate) fn cseq(&self) -> u32 {
        self.cseq
    }

    /// When the request was first sent.
    pub(crate) fn started(&self) -> Instant {
        self.started
    }

    /// How many times the request was sent.
    pub(crate) fn transmissions(&self) -> u32 {
        self.transmissions
    }

    /// A provisional response arrived: retransmit every T2 from now on (Proceeding).
    pub(crate) fn provisional(&mut self) {
        self.proceeding = true;
    }

    /// The earliest time [`Self::handle_timeout`] has something to do.
    pub(crate) fn poll_timeout(&self) -> Instant {
        self.next_retransmit
            .map_or(self.deadline, |at| at.min(self.deadline))
    }

    /// Runs the timers due at `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant, timers: &Timers) -> Option<TimerEvent> {
        if now >= self.deadline {
            return Some(TimerEvent::TimedOut);
        }
        let due = self.next_retransmit.is_some_and(|at| now >= at);
        if !due {
            return None;
        }
        self.interval = if self.proceeding {
            timers.t2
        } else {
            (self.interval * 2).min(timers.t2)
        };
        self.next_retransmit = Some(now + self.interval);
        self.transmissions += 1;
        Some(TimerEvent::Retransmit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fire_all(txn: &mut ClientTransaction, timers: &Timers) -> Vec<(Duration, TimerEvent)> {
        let start = txn.started();
        let mut out = Vec::new();
        loop {
            let at = txn.poll_timeout();
            let event = txn.handle_timeout(at, timers).expect("a timer is due");
            out.push((at - start, event));
            if event == TimerEvent::TimedOut {
                return out;
            }
        }
    }

    #[test]
    fn udp_schedule_doubles_to_t2_then_times_out() {
        let timers = Timers::default();
        let mut txn = ClientTransaction::new("b".into(), 1, vec![], false, &timers, Instant::now());
        let events = fire_all(&mut txn, &timers);
        let ms: Vec<u128> = events.iter().map(|(d, _)| d.as_millis()).collect();
        assert_eq!(
            ms,
            [
                500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500, 32000
            ]
        );
        assert_eq!(events.last().map(|e| e.1), Some(TimerEvent::TimedOut));
        assert_eq!(txn.transmissions(), 11);
    }

    #[test]
    fn proceeding_retransmits_at_t2() {
        let timers = Timers::default();
        let now = Instant::now();
        let mut txn = ClientTransaction::new("b".into(), 1, vec![], false, &timers, now);
        txn.provisional();
        let first = txn.poll_timeout();
        assert_eq!(first - now, timers.t1);
        assert_eq!(
            txn.handle_timeout(first, &timers),
            Some(TimerEvent::Retransmit)
        );
        assert_eq!(txn.poll_timeout() - first, timers.t2);
    }

    #[test]
    fn tcp_only_times_out() {
        let timers = Timers::default();
        let mut txn = ClientTransaction::new("b".into(), 7, vec![], true, &timers, Instant::now());
        let events = fire_all(&mut txn, &timers);
        assert_eq!(events, [(Duration::from_secs(32), TimerEvent::TimedOut)]);
        assert!(txn.matches("b", 7) && !txn.matches("b", 8) && !txn.matches("c", 7));
    }

    #[test]
    fn early_calls_do_nothing() {
        let timers = Timers::default();
        let now = Instant::now();
        let mut txn = ClientTransaction::new("b".into(), 1, vec![], false, &timers, now);
        assert_eq!(
            txn.handle_timeout(now + Duration::from_millis(499), &timers),
            None
        );
        assert_eq!(txn.transmissions(), 1);
    }
}
