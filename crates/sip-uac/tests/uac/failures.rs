//! Timeouts, error responses, send failures and the backoff that follows them.

use std::time::Duration;

use sip_msg::Transport;
use sip_uac::{SendError, State, Timers};

use crate::support::{Harness, account};

#[test]
fn udp_retransmits_then_times_out() {
    let mut h = Harness::new(account());
    let first = h.next_request();
    let mut times = Vec::new();
    while h.reg.status().state == State::Registering {
        h.fire();
        if let Some(t) = h.reg.poll_transmit() {
            assert_eq!(
                t.payload, first.transmit.payload,
                "a retransmission is identical"
            );
            times.push(h.elapsed());
        }
    }
    assert_eq!(
        times,
        [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    );
    assert_eq!(h.elapsed(), 32.0);
    let status = h.reg.status();
    assert_eq!(status.state, State::Timeout);
    assert_eq!(status.failures, 1);
    assert_eq!(
        status.last_error.as_deref(),
        Some(
            "no final answer from sip:trunk.example.com within 32 s (11 transmissions): check the trunk's \
             address, port and transport, and that firewalls let SIP through"
        )
    );
    let wait = (status.next_attempt.unwrap() - h.now).as_secs_f64();
    assert!((4.0..=6.0).contains(&wait), "{wait}");
}

#[test]
fn a_provisional_response_slows_retransmission_to_t2() {
    let mut h = Harness::new(account());
    let first = h.next_request();
    assert!(h.answer(&first, 100, "Trying", ""));
    assert_eq!(
        h.reg.status().last_code,
        None,
        "provisional responses are not final"
    );
    let mut times = Vec::new();
    for _ in 0..3 {
        h.fire();
        assert!(h.reg.poll_transmit().is_some());
        times.push(h.elapsed());
    }
    assert_eq!(times, [0.5, 4.5, 8.5]);
}

#[test]
fn tcp_does_not_retransmit() {
    let mut a = account();
    a.transport = Transport::Tcp;
    let mut h = Harness::new(a);
    h.next_request();
    assert_eq!(h.fire(), 32.0);
    assert!(h.reg.poll_transmit().is_none());
    assert_eq!(h.reg.status().state, State::Timeout);
    let text = h.reg.status().last_error.unwrap();
    assert!(
        text.contains("sip:trunk.example.com;transport=tcp within 32 s (1 transmission)"),
        "{text}"
    );
}

#[test]
fn backoff_grows_caps_and_never_stops() {
    let mut a = account();
    a.transport = Transport::Tcp;
    let timers = Timers {
        timer_f: Duration::from_secs(1),
        ..Timers::default()
    };
    let mut h = Harness::new(a);
    h.reg = h.reg.with_timers(std::sync::Arc::new(timers));
    let mut waits = Vec::new();
    for n in 1..=40u32 {
        h.next_request();
        h.fire();
        let status = h.reg.status();
        assert_eq!((status.state, status.failures), (State::Timeout, n));
        let wait = (status.next_attempt.unwrap() - h.now).as_secs_f64();
        let nominal = (5.0 * 2f64.powi(n as i32 - 1)).min(300.0);
        assert!(
            (nominal * 0.8..=nominal * 1.2).contains(&wait),
            "failure {n}: {wait} s vs {nominal} s"
        );
        waits.push(wait);
    }
    let capped = &waits[10..];
    let spread = capped.iter().copied().fold(f64::MIN, f64::max)
        - capped.iter().copied().fold(f64::MAX, f64::min);
    assert!(spread > 10.0, "capped delays are jittered: {capped:?}");
}

#[test]
fn recovers_after_silence() {
    let mut a = account();
    a.transport = Transport::Tcp;
    let mut h = Harness::new(a);
    for _ in 0..3 {
        h.next_request();
        h.fire();
    }
    assert_eq!(h.reg.status().failures, 3);
    let req = h.next_request();
    h.accept(&req);
    let status = h.reg.status();
    assert_eq!(status.state, State::Registered);
    assert_eq!(status.failures, 0);
    assert_eq!(status.last_error, None);
}

#[test]
fn retry_after_sets_the_next_attempt_exactly() {
    let mut h = Harness::new(account());
    let req = h.next_request();
    assert!(h.answer(
        &req,
        503,
        "Service Unavailable",
        "Retry-After: 120 (maintenance)\r\n"
    ));
    let status = h.reg.status();
    assert_eq!(status.state, State::ServerError);
    assert_eq!(
        (status.last_code, status.last_reason.as_deref()),
        (Some(503), Some("Service Unavailable"))
    );
    assert_eq!(status.next_attempt, Some(h.now + Duration::from_secs(120)));
    let text = status.last_error.unwrap();
    assert!(
        text.starts_with("the trunk answered 503 Service Unavailable to the REGISTER for sip:4930123@trunk.example.com"),
        "{text}"
    );
    let again = h.next_request();
    assert_eq!(h.elapsed(), 120.0);
    assert!(h.answer(&again, 500, "Server Error", "Retry-After: 9999999\r\n"));
    assert_eq!(
        h.reg.status().next_attempt,
        Some(h.now + Duration::from_secs(86_400)),
        "capped at one day"
    );
}

#[test]
fn forbidden_and_server_errors_have_their_own_backoff() {
    let mut h = Harness::new(account());
    let req = h.next_request();
    assert!(h.answer(&req, 403, "Forbidden", ""));
    let status = h.reg.status();
    assert_eq!(status.state, State::Forbidden);
    let wait = (status.next_attempt.unwrap() - h.now).as_secs_f64();
    assert!((48.0..=72.0).contains(&wait), "{wait}");

    let req = h.next_request();
    assert!(h.answer(&req, 404, "Not Found", ""));
    let status = h.reg.status();
    assert_eq!((status.state, status.failures), (State::ServerError, 2));
    let wait = (status.next_attempt.unwrap() - h.now).as_secs_f64();
    assert!(
        (16.0..=24.0).contains(&wait),
        "second failure: 20 s ± 20 %: {wait}"
    );
    assert!(
        status
            .last_error
            .unwrap()
            .contains("check r_username and r_domain")
    );
}

#[test]
fn send_errors_are_classified() {
    let mut h = Harness::new(account());
    h.next_request();
    h.reg
        .handle_send_error(h.now, SendError::Dns("NXDOMAIN".into()));
    let status = h.reg.status();
    assert_eq!(status.state, State::DnsFailure);
    assert_eq!(
        status.last_error.as_deref(),
        Some(
            "could not resolve trunk.example.com (NXDOMAIN): check r_domain or auth_proxy and the DNS"
        )
    );
    let wait = (status.next_attempt.unwrap() - h.now).as_secs_f64();
    assert!((8.0..=12.0).contains(&wait), "{wait}");
    assert_eq!(
        h.reg.poll_timeout(),
        status.next_attempt,
        "no transaction is left"
    );

    h.next_request();
    h.reg
        .handle_send_error(h.now, SendError::Transport("connection refused".into()));
    let status = h.reg.status();
    assert_eq!((status.state, status.failures), (State::TransportError, 2));
    assert!(status.last_error.unwrap().contains("(connection refused)"));
}

#[test]
fn failure_while_registered_keeps_the_binding_visible() {
    let mut h = Harness::new(account());
    let req = h.next_request();
    h.accept(&req);
    let until = h.reg.status().registered_until;
    let refresh = h.next_request();
    assert!(h.answer(&refresh, 500, "Server Internal Error", ""));
    let status = h.reg.status();
    assert_eq!(status.state, State::ServerError);
    assert_eq!(status.registered_until, until);
    assert!(until.unwrap() > h.now);
}

#[test]
fn foreign_and_repeated_responses_are_ignored() {
    let mut h = Harness::new(account());
    let req = h.next_request();
    let good = req.reply(200, "OK", "Contact: <sip:trunk1@192.0.2.1:5060>\r\n");
    let text = String::from_utf8(good.clone()).unwrap();
    let other_branch = text.replace(&req.branch(), "z9hG4bKforged");
    let other_call = text.replace(&req.call_id(), "someone-else@198.51.100.1");
    let other_cseq = text.replace("CSeq: 1 REGISTER", "CSeq: 2 REGISTER");
    let other_method = text.replace("CSeq: 1 REGISTER", "CSeq: 1 OPTIONS");
    for forged in [other_branch, other_call, other_cseq, other_method] {
        assert!(!h.deliver(forged.as_bytes()), "{forged}");
        assert_eq!(h.reg.status().state, State::Registering);
    }
    assert!(h.deliver(&good));
    assert_eq!(h.reg.status().state, State::Registered);
    let next = h.reg.status().next_attempt;
    // A retransmitted 200 is ours but changes nothing; nor does a late error for it.
    assert!(h.deliver(&good));
    assert!(h.deliver(&req.reply(500, "Late", "")));
    let status = h.reg.status();
    assert_eq!(
        (status.state, status.next_attempt, status.last_code),
        (State::Registered, next, Some(200))
    );
    assert!(h.reg.poll_transmit().is_none());
}
