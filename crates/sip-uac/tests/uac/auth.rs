//! Digest challenges: answering, reusing, and the failures an operator must fix.

use sip_auth::{Algorithm, Credentials, Verdict};
use sip_uac::{Secret, State};

use crate::support::{Harness, PASSWORD, account, challenge, verifier, verify};

#[test]
fn answers_a_401_with_verifiable_credentials() {
    let v = verifier();
    let mut h = Harness::new(account());
    let first = h.next_request();
    let www = challenge(&v, "trunk.example.com", Algorithm::Md5, false);
    assert!(h.answer(
        &first,
        401,
        "Unauthorized",
        &format!("WWW-Authenticate: {www}\r\n")
    ));
    let status = h.reg.status();
    assert_eq!(status.state, State::Authenticating);
    assert_eq!(status.realm.as_deref(), Some("trunk.example.com"));
    assert_eq!(status.last_code, Some(401));

    let second = h.sent();
    assert_eq!(second.cseq(), first.cseq() + 1);
    assert_eq!(second.call_id(), first.call_id());
    assert_ne!(second.branch(), first.branch());
    let value = second.header("Authorization");
    let creds = Credentials::parse(&value).unwrap();
    assert_eq!(creds.username, "4930123");
    assert_eq!(creds.nc.map(|nc| nc.value()), Some(1));
    assert!(creds.cnonce.is_some_and(|c| !c.is_empty()));
    assert_eq!(
        verify(&v, &second, "Authorization", "trunk.example.com"),
        Verdict::Ok
    );
    assert!(!value.contains(PASSWORD));
    h.accept(&second);
    assert_eq!(h.reg.status().state, State::Registered);

    // The refresh answers the kept challenge at once, with the next nonce count.
    let refresh = h.next_request();
    let creds_value = refresh.header("Authorization");
    let creds = Credentials::parse(&creds_value).unwrap();
    assert_eq!(creds.nc.map(|nc| nc.value()), Some(2));
    assert_eq!(
        verify(&v, &refresh, "Authorization", "trunk.example.com"),
        Verdict::Ok
    );
}

#[test]
fn answers_a_407_with_proxy_authorization() {
    let v = verifier();
    let mut h = Harness::new(account());
    let first = h.next_request();
    let c = challenge(&v, "proxy.example.com", Algorithm::Md5, false);
    assert!(h.answer(
        &first,
        407,
        "Proxy Authentication Required",
        &format!("Proxy-Authenticate: {c}\r\n")
    ));
    let second = h.sent();
    assert!(!second.has_header("Authorization"));
    assert_eq!(
        verify(&v, &second, "Proxy-Authorization", "proxy.example.com"),
        Verdict::Ok
    );
}

#[test]
fn answers_sha256_in_preference_to_md5() {
    let v = verifier();
    let mut h = Harness::new(account());
    let first = h.next_request();
    let md5 = challenge(&v, "trunk.example.com", Algorithm::Md5, false);
    let sha = challenge(&v, "trunk.example.com", Algorithm::Sha256, false);
    let extra = format!("WWW-Authenticate: {md5}\r\nWWW-Authenticate: {sha}\r\n");
    assert!(h.answer(&first, 401, "Unauthorized", &extra));
    let second = h.sent();
    let value = second.header("Authorization");
    assert!(value.contains("algorithm=SHA-256"), "{value}");
    assert_eq!(
        verify(&v, &second, "Authorization", "trunk.example.com"),
        Verdict::Ok
    );
}

#[test]
fn answers_with_an_ha1() {
    let v = verifier();
    let mut a = account();
    let ha1 = sip_auth::ha1(Algorithm::Md5, "auth-user", "trunk.example.com", PASSWORD);
    a.secret = Secret::Ha1(ha1.to_ascii_uppercase());
    a.auth_user = "auth-user".into();
    let mut h = Harness::new(a);
    let first = h.next_request();
    // The MD5 HA1 cannot answer SHA-256, so the MD5 challenge is used.
    let md5 = challenge(&v, "trunk.example.com", Algorithm::Md5, false);
    let sha = challenge(&v, "trunk.example.com", Algorithm::Sha256, false);
    let extra = format!("WWW-Authenticate: {sha}\r\nWWW-Authenticate: {md5}\r\n");
    assert!(h.answer(&first, 401, "Unauthorized", &extra));
    let second = h.sent();
    let value = second.header("Authorization");
    assert!(value.contains("username=\"auth-user\"") && value.contains("algorithm=MD5"));
    assert_eq!(
        verify(&v, &second, "Authorization", "trunk.example.com"),
        Verdict::Ok
    );
}

#[test]
fn an_ha1_that_fits_no_challenge_says_so() {
    let v = verifier();
    let mut a = account();
    a.secret = Secret::Ha1("0".repeat(32));
    let mut h = Harness::new(a);
    let first = h.next_request();
    let sha = challenge(&v, "trunk.example.com", Algorithm::Sha256, false);
    assert!(h.answer(
        &first,
        401,
        "Unauthorized",
        &format!("WWW-Authenticate: {sha}\r\n")
    ));
    assert!(h.reg.poll_transmit().is_none());
    let status = h.reg.status();
    assert_eq!(status.state, State::CredentialsRejected);
    let text = status.last_error.unwrap();
    assert!(
        text.contains("SHA-256") && text.contains("auth_password"),
        "{text}"
    );
}

#[test]
fn realm_mismatch_says_how_to_fix_it() {
    let v = verifier();
    let mut a = account();
    a.realm = Some("trunk.example.com".into());
    let mut h = Harness::new(a);
    let first = h.next_request();
    let c = challenge(&v, "sip-1.pb", Algorithm::Md5, false);
    assert!(h.answer(
        &first,
        401,
        "Unauthorized",
        &format!("WWW-Authenticate: {c}\r\n")
    ));
    assert!(
        h.reg.poll_transmit().is_none(),
        "no answer to a foreign realm"
    );
    let status = h.reg.status();
    assert_eq!(status.state, State::RealmMismatch);
    assert_eq!(status.realm.as_deref(), Some("sip-1.pb"));
    assert_eq!(
        status.last_error.as_deref(),
        Some(
            "the trunk challenged with realm \"sip-1.pb\" but this registration's realm is \
             \"trunk.example.com\": set realm to \"sip-1.pb\", or leave it empty to accept the trunk's realm"
        )
    );
    let wait = (status.next_attempt.unwrap() - h.now).as_secs_f64();
    assert!((240.0..=360.0).contains(&wait), "{wait}");

    // The operator empties the realm: the next REGISTER goes out at once and the challenge is answered.
    let mut fixed = h.reg.account().unpack();
    fixed.realm = None;
    h.reg.update_account(h.now, fixed);
    let again = h.sent();
    assert_ne!(
        again.call_id(),
        first.call_id(),
        "changed settings start a new Call-ID"
    );
    let c = challenge(&v, "sip-1.pb", Algorithm::Md5, false);
    assert!(h.answer(
        &again,
        401,
        "Unauthorized",
        &format!("WWW-Authenticate: {c}\r\n")
    ));
    let answered = h.sent();
    assert_eq!(
        verify(&v, &answered, "Authorization", "sip-1.pb"),
        Verdict::Ok
    );
}

#[test]
fn a_second_challenge_means_wrong_credentials() {
    let v = verifier();
    let mut h = Harness::new(account());
    let first = h.next_request();
    let c = challenge(&v, "trunk.example.com", Algorithm::Md5, false);
    assert!(h.answer(
        &first,
        401,
        "Unauthorized",
        &format!("WWW-Authenticate: {c}\r\n")
    ));
    let second = h.sent();
    let c = challenge(&v, "trunk.example.com", Algorithm::Md5, false);
    assert!(h.answer(
        &second,
        401,
        "Unauthorized",
        &format!("WWW-Authenticate: {c}\r\n")
    ));
    assert!(h.reg.poll_transmit().is_none(), "no third attempt");
    let status = h.reg.status();
    assert_eq!(status.state, State::CredentialsRejected);
    assert_eq!(status.failures, 1);
    let text = status.last_error.unwrap();
    assert_eq!(
        text,
        "the trunk rejected the credentials of auth user 4930123 for realm trunk.example.com: check \
         auth_password/auth_ha1"
    );
    assert!(!text.contains(PASSWORD));
    let wait = (status.next_attempt.unwrap() - h.now).as_secs_f64();
    assert!((48.0..=72.0).contains(&wait), "{wait}");
    // The retry starts without stale credentials.
    let retry = h.next_request();
    assert!(!retry.has_header("Authorization"));
}

#[test]
fn a_stale_nonce_is_answered_once_more() {
    let v = verifier();
    let mut h = Harness::new(account());
    let first = h.next_request();
    let c = challenge(&v, "trunk.example.com", Algorithm::Md5, false);
    assert!(h.answer(
        &first,
        401,
        "Unauthorized",
        &format!("WWW-Authenticate: {c}\r\n")
    ));
    let second = h.sent();
    let stale = challenge(&v, "trunk.example.com", Algorithm::Md5, true);
    assert!(h.answer(
        &second,
        401,
        "Unauthorized",
        &format!("WWW-Authenticate: {stale}\r\n")
    ));
    let third = h.sent();
    assert_eq!(third.cseq(), second.cseq() + 1);
    let creds_value = third.header("Authorization");
    let creds = Credentials::parse(&creds_value).unwrap();
    assert!(stale.contains(&*creds.nonce), "the new nonce is used");
    assert_eq!(creds.nc.map(|nc| nc.value()), Some(1));
    // A second stale challenge in the same exchange is a rejection.
    let stale = challenge(&v, "trunk.example.com", Algorithm::Md5, true);
    assert!(h.answer(
        &third,
        401,
        "Unauthorized",
        &format!("WWW-Authenticate: {stale}\r\n")
    ));
    assert!(h.reg.poll_transmit().is_none());
    assert_eq!(h.reg.status().state, State::CredentialsRejected);
}

#[test]
fn a_challenge_to_preemptive_credentials_is_answered_normally() {
    let v = verifier();
    let mut h = Harness::new(account());
    let first = h.next_request();
    let c = challenge(&v, "trunk.example.com", Algorithm::Md5, false);
    assert!(h.answer(
        &first,
        401,
        "Unauthorized",
        &format!("WWW-Authenticate: {c}\r\n")
    ));
    let second = h.sent();
    h.accept(&second);
    let refresh = h.next_request();
    assert!(refresh.has_header("Authorization"));
    // The trunk forgot the nonce (not stale): still answered, once.
    let c = challenge(&v, "trunk.example.com", Algorithm::Md5, false);
    assert!(h.answer(
        &refresh,
        401,
        "Unauthorized",
        &format!("WWW-Authenticate: {c}\r\n")
    ));
    assert_eq!(
        h.reg.status().state,
        State::Registered,
        "the binding is still live"
    );
    let answered = h.sent();
    assert_eq!(
        verify(&v, &answered, "Authorization", "trunk.example.com"),
        Verdict::Ok
    );
    h.accept(&answered);
    assert_eq!(h.reg.status().state, State::Registered);
}

#[test]
fn a_401_without_a_challenge_is_a_server_error() {
    let mut h = Harness::new(account());
    let first = h.next_request();
    assert!(h.answer(&first, 401, "Unauthorized", ""));
    assert!(h.reg.poll_transmit().is_none());
    let status = h.reg.status();
    assert_eq!(status.state, State::ServerError);
    assert!(
        status
            .last_error
            .unwrap()
            .contains("no WWW-Authenticate header")
    );
}
