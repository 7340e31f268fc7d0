//! Operator and shell actions: shutdown, enable/disable, refresh, reload, connection and address changes.

use std::net::SocketAddr;

use sip_auth::{Algorithm, Verdict};
use sip_msg::Transport;
use sip_uac::{LocalBinding, State};

use crate::support::{Harness, account, challenge, verifier, verify};

fn registered() -> Harness {
    let mut h = Harness::new(account());
    let req = h.next_request();
    h.accept(&req);
    assert_eq!(h.reg.status().state, State::Registered);
    h
}

#[test]
fn shutdown_unregisters_with_expires_zero() {
    let mut h = registered();
    h.advance_to(h.at(10.0));
    h.reg.shutdown(h.now, true);
    assert_eq!(h.reg.status().state, State::Unregistering);
    assert!(!h.reg.is_finished());
    let bye = h.sent();
    assert_eq!(bye.header("Expires"), "0");
    assert_eq!(
        bye.header("Contact"),
        "<sip:trunk1@192.0.2.1:5060>;expires=0"
    );
    assert_eq!(bye.call_id(), h.reg.call_id());
    assert_eq!(bye.cseq(), 2);
    assert!(h.answer(&bye, 200, "OK", ""));
    let status = h.reg.status();
    assert_eq!(status.state, State::Unregistered);
    assert_eq!(status.registered_until, None);
    assert!(h.reg.is_finished());
    assert_eq!(h.reg.poll_timeout(), None);
    assert!(h.reg.poll_transmit().is_none());
}

#[test]
fn shutdown_answers_a_challenge_to_the_unregister() {
    let v = verifier();
    let mut h = registered();
    h.reg.shutdown(h.now, true);
    let bye = h.sent();
    let c = challenge(&v, "trunk.example.com", Algorithm::Md5, false);
    assert!(h.answer(
        &bye,
        401,
        "Unauthorized",
        &format!("WWW-Authenticate: {c}\r\n")
    ));
    assert_eq!(h.reg.status().state, State::Unregistering);
    let answered = h.sent();
    assert_eq!(answered.header("Expires"), "0");
    assert_eq!(
        verify(&v, &answered, "Authorization", "trunk.example.com"),
        Verdict::Ok
    );
    assert!(h.answer(&answered, 200, "OK", ""));
    assert!(h.reg.is_finished());
}

#[test]
fn shutdown_finishes_after_an_unanswered_unregister() {
    let mut h = registered();
    h.reg.shutdown(h.now, true);
    h.sent();
    while !h.reg.is_finished() {
        h.fire();
    }
    assert_eq!(h.elapsed(), 32.0);
    let status = h.reg.status();
    assert_eq!(status.state, State::Unregistered);
    assert!(
        status
            .last_error
            .unwrap()
            .starts_with("could not unregister (no final answer")
    );
}

#[test]
fn shutdown_without_unregistering_or_binding_is_immediate() {
    let mut h = registered();
    h.reg.shutdown(h.now, false);
    assert!(h.reg.is_finished());
    assert!(h.reg.poll_transmit().is_none() && h.reg.poll_timeout().is_none());

    let mut h = Harness::new(account());
    h.reg.shutdown(h.now, true);
    assert!(h.reg.is_finished(), "nothing registered: nothing to remove");
    assert_eq!(h.reg.status().state, State::Unregistered);
    assert!(h.reg.poll_transmit().is_none());
}

#[test]
fn disable_unregisters_and_enable_registers_again() {
    let mut h = registered();
    h.reg.set_enabled(h.now, false);
    let bye = h.sent();
    assert_eq!(bye.header("Expires"), "0");
    assert!(h.answer(&bye, 200, "OK", ""));
    assert_eq!(h.reg.status().state, State::Disabled);
    assert!(!h.reg.account().enabled());
    assert_eq!(h.reg.poll_timeout(), None);
    assert!(!h.reg.is_finished());

    h.advance_to(h.at(50.0));
    h.reg.set_enabled(h.now, true);
    let again = h.sent();
    assert_eq!(again.header("Expires"), "600");
    assert_eq!(again.call_id(), bye.call_id());
    assert_eq!(again.cseq(), bye.cseq() + 1);
    assert_eq!(h.reg.status().state, State::Registering);
}

#[test]
fn disabling_an_unregistered_one_sends_nothing() {
    let mut h = Harness::new(account());
    h.reg.set_enabled(h.now, false);
    assert_eq!(h.reg.status().state, State::Disabled);
    assert!(h.reg.poll_transmit().is_none());
    assert_eq!(h.reg.poll_timeout(), None);
}

#[test]
fn connection_loss_registers_again_at_once() {
    let mut a = account();
    a.transport = Transport::Tcp;
    let mut h = Harness::new(a);
    let req = h.next_request();
    h.accept(&req);
    h.advance_to(h.at(100.0));
    h.reg.connection_lost(h.now);
    let again = h.sent();
    assert_eq!(again.call_id(), req.call_id());
    assert_eq!(again.cseq(), req.cseq() + 1);
    assert_eq!(h.reg.status().state, State::Registered);
    h.accept(&again);
    assert_eq!(h.reg.status().last_success, Some(h.at(100.0)));
}

#[test]
fn connection_loss_while_waiting_for_a_retry_changes_nothing() {
    let mut h = Harness::new(account());
    let req = h.next_request();
    assert!(h.answer(&req, 503, "Service Unavailable", "Retry-After: 60\r\n"));
    h.reg.connection_lost(h.now);
    assert!(h.reg.poll_transmit().is_none());
    assert_eq!(h.reg.status().state, State::ServerError);
}

#[test]
fn a_new_local_address_registers_the_new_contact() {
    let mut h = registered();
    let moved = LocalBinding {
        transport: Transport::Udp,
        local: SocketAddr::from(([198, 51, 100, 20], 5062)),
        contact_host: "198.51.100.20:5062".into(),
    };
    h.reg.set_local_binding(h.now, moved.clone());
    let again = h.sent();
    assert!(
        again
            .header("Via")
            .starts_with("SIP/2.0/UDP 198.51.100.20:5062;")
    );
    assert_eq!(
        again.header("Contact"),
        "<sip:trunk1@198.51.100.20:5062>;expires=600"
    );
    assert_eq!(again.transmit.local, moved.local);
    assert_eq!(again.call_id(), h.reg.call_id());
    // The same binding again is no change.
    h.reg.set_local_binding(h.now, moved);
    assert!(h.reg.poll_transmit().is_none());
}

#[test]
fn refresh_now_sends_at_once_but_not_twice() {
    let mut h = registered();
    h.advance_to(h.at(5.0));
    h.reg.refresh_now(h.now);
    let req = h.sent();
    assert_eq!(req.cseq(), 2);
    h.reg.refresh_now(h.now);
    assert!(h.reg.poll_transmit().is_none(), "one REGISTER at a time");
    h.accept(&req);
    assert_eq!(h.reg.status().last_success, Some(h.at(5.0)));
}

#[test]
fn changed_settings_unregister_the_old_binding_first() {
    let mut h = registered();
    let old_call_id = h.reg.call_id();
    let mut changed = account();
    changed.remote_user = "4930999".into();
    h.reg.update_account(h.now, changed);
    let bye = h.sent();
    assert_eq!(bye.header("To"), "<sip:4930123@trunk.example.com>");
    assert_eq!(bye.header("Expires"), "0");
    assert_eq!(bye.call_id(), old_call_id);
    assert!(h.answer(&bye, 200, "OK", ""));
    let new = h.sent();
    assert_eq!(new.header("To"), "<sip:4930999@trunk.example.com>");
    assert_ne!(new.call_id(), old_call_id);
    assert_eq!(new.cseq(), 1);
    assert_eq!(h.reg.status().state, State::Registering);
    // The old transaction's late answer is no longer ours.
    assert!(!h.deliver(&bye.reply(200, "OK", "")));
}

#[test]
fn unchanged_settings_keep_the_registration() {
    let mut h = registered();
    let status = h.reg.status();
    h.reg.update_account(h.now, account());
    assert!(h.reg.poll_transmit().is_none());
    assert_eq!(h.reg.status(), status);
    // Only the enabled flag changed: that is a disable.
    let mut off = account();
    off.enabled = false;
    h.reg.update_account(h.now, off);
    let bye = h.sent();
    assert_eq!(bye.call_id(), status.call_id);
    assert_eq!(bye.header("Expires"), "0");
}

#[test]
fn enabling_during_the_unregister_registers_again() {
    let mut h = registered();
    h.reg.set_enabled(h.now, false);
    let bye = h.sent();
    h.reg.set_enabled(h.now, true);
    let again = h.sent();
    assert_eq!(again.header("Expires"), "600");
    assert_eq!(again.cseq(), bye.cseq() + 1);
    assert!(
        h.deliver(&bye.reply(200, "OK", "")),
        "the abandoned unregister is still recognised"
    );
    assert_eq!(h.reg.status().state, State::Registering);
    h.accept(&again);
    assert_eq!(h.reg.status().state, State::Registered);
    assert!(
        h.reg.status().next_attempt.is_some(),
        "refresh scheduled, not disabled"
    );
}
