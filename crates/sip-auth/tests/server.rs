//! End-to-end: server challenges, client `respond()`, server `verify()`.

use std::sync::Arc;

use sip_auth::{
    Algorithm, Challenge, ClientSecret, Credentials, NonceSecret, StoredSecret, Unsupported,
    Verdict, Verifier, VerifierConfig, respond,
};

const REALM: &str = "example.com";
const USER: &str = "alice";
const PASSWORD: &str = "s3cret";
const URI: &str = "sip:example.com";
const T0: u64 = 1_700_000_000;

fn verifier(config: VerifierConfig) -> Verifier {
    Verifier::new(&NonceSecret::from_bytes([1; 32]), config)
}

fn stored() -> StoredSecret {
    StoredSecret::from_password(USER, REALM, PASSWORD)
}

/// One challenge value for `alg` issued at `now`.
fn challenge(v: &Verifier, alg: Algorithm, now: u64) -> String {
    v.challenge(REALM, now, false, &[alg]).remove(0)
}

fn answer(challenge: &str, password: &str, nc: u32) -> String {
    let c = Challenge::parse(challenge).unwrap();
    respond(
        &c,
        "REGISTER",
        URI,
        USER,
        ClientSecret::Password(password),
        "0a4f113b",
        nc,
    )
    .unwrap()
}

fn check(v: &Verifier, authorization: &str, secret: &StoredSecret, now: u64) -> Verdict {
    let creds = Credentials::parse(authorization).unwrap();
    v.verify(&creds, "REGISTER", REALM, secret, now)
}

#[test]
fn client_answer_verifies_for_each_algorithm_and_secret_form() {
    let v = verifier(VerifierConfig::default());
    let ha1_only = StoredSecret::from_ha1_hex(
        Some(&sip_auth::ha1(Algorithm::Md5, USER, REALM, PASSWORD)),
        Some(&sip_auth::ha1(Algorithm::Sha256, USER, REALM, PASSWORD)),
    )
    .unwrap();
    for alg in [Algorithm::Sha256, Algorithm::Md5] {
        for secret in [stored(), ha1_only.clone()] {
            let auth = answer(&challenge(&v, alg, T0), PASSWORD, 1);
            assert_eq!(check(&v, &auth, &secret, T0 + 5), Verdict::Ok, "{alg}");
        }
    }
}

#[test]
fn challenge_values() {
    let v = verifier(VerifierConfig {
        opaque: Some("op\"aque".into()),
        ..VerifierConfig::default()
    });
    let values = v.challenge(
        REALM,
        T0,
        true,
        &[Algorithm::Md5, Algorithm::Sha256, Algorithm::Md5],
    );
    assert_eq!(values.len(), 2);
    let parsed: Vec<_> = values
        .iter()
        .map(|c| Challenge::parse(c).unwrap())
        .collect();
    assert_eq!(parsed[0].algorithm, Algorithm::Sha256);
    assert_eq!(parsed[1].algorithm, Algorithm::Md5);
    assert_eq!(parsed[0].nonce, parsed[1].nonce);
    let nonce = &parsed[0].nonce;
    assert_eq!(
        values[0],
        format!(
            r#"Digest realm="example.com", nonce="{nonce}", opaque="op\"aque", algorithm=SHA-256, qop="auth", stale=true"#
        )
    );
    for c in &parsed {
        assert!(c.stale);
        assert_eq!(c.opaque.as_deref(), Some("op\"aque"));
        assert!(c.qop.is_some_and(|q| q.auth && !q.auth_int));
    }
    let fresh = v.challenge(REALM, T0, false, &[Algorithm::Md5]);
    assert!(!fresh[0].contains("stale") && !Challenge::parse(&fresh[0]).unwrap().stale);
    assert_ne!(Challenge::parse(&fresh[0]).unwrap().nonce, *nonce);
    assert!(v.challenge(REALM, T0, false, &[]).is_empty());
}

#[test]
fn write_challenge_into_a_caller_buffer() {
    let v = verifier(VerifierConfig::default());
    let nonce = v.issue_nonce(REALM, T0);
    let mut buf = String::from("WWW-Authenticate: ");
    v.write_challenge(&mut buf, REALM, &nonce, Algorithm::Sha256, false)
        .unwrap();
    assert_eq!(
        buf,
        format!(
            r#"WWW-Authenticate: Digest realm="example.com", nonce="{nonce}", algorithm=SHA-256, qop="auth""#
        )
    );
}

#[test]
fn wrong_password_is_refused() {
    let v = verifier(VerifierConfig::default());
    let auth = answer(&challenge(&v, Algorithm::Sha256, T0), "guess", 1);
    assert_eq!(check(&v, &auth, &stored(), T0), Verdict::WrongResponse);
}

#[test]
fn failed_attempts_do_not_use_up_counts() {
    let v = verifier(VerifierConfig::default());
    let c = challenge(&v, Algorithm::Md5, T0);
    assert_eq!(
        check(&v, &answer(&c, "guess", 1), &stored(), T0),
        Verdict::WrongResponse
    );
    assert_eq!(
        check(&v, &answer(&c, PASSWORD, 1), &stored(), T0),
        Verdict::Ok
    );
}

#[test]
fn unknown_user_against_the_dummy_is_a_wrong_response() {
    let v = verifier(VerifierConfig::default());
    for alg in [Algorithm::Sha256, Algorithm::Md5] {
        let auth = answer(&challenge(&v, alg, T0), PASSWORD, 1);
        assert_eq!(
            check(&v, &auth, &StoredSecret::dummy(), T0),
            Verdict::WrongResponse
        );
    }
}

#[test]
fn account_without_the_algorithms_ha1_is_a_wrong_response() {
    let v = verifier(VerifierConfig::default());
    let md5_only = StoredSecret::from_ha1_hex(
        Some(&sip_auth::ha1(Algorithm::Md5, USER, REALM, PASSWORD)),
        None,
    )
    .unwrap();
    let sha = answer(&challenge(&v, Algorithm::Sha256, T0), PASSWORD, 1);
    assert_eq!(check(&v, &sha, &md5_only, T0), Verdict::WrongResponse);
    let md5 = answer(&challenge(&v, Algorithm::Md5, T0), PASSWORD, 1);
    assert_eq!(check(&v, &md5, &md5_only, T0), Verdict::Ok);
}

#[test]
fn stale_nonce() {
    let v = verifier(VerifierConfig {
        nonce_lifetime: 30,
        ..VerifierConfig::default()
    });
    let c = challenge(&v, Algorithm::Sha256, T0);
    assert_eq!(
        check(&v, &answer(&c, PASSWORD, 1), &stored(), T0 + 31),
        Verdict::Stale
    );
    // stale=true is only for clients that know the password.
    assert_eq!(
        check(&v, &answer(&c, "guess", 1), &stored(), T0 + 31),
        Verdict::WrongResponse
    );
    // Exactly at the lifetime it is still fresh.
    assert_eq!(
        check(&v, &answer(&c, PASSWORD, 2), &stored(), T0 + 30),
        Verdict::Ok
    );
}

#[test]
fn forged_foreign_and_future_nonces() {
    let v = verifier(VerifierConfig::default());
    let c = challenge(&v, Algorithm::Md5, T0);
    let nonce = Challenge::parse(&c).unwrap().nonce.into_owned();

    // Edit the issue time to make an old nonce look new: the MAC no longer matches.
    let mut edited = nonce.clone().into_bytes();
    edited[15] = if edited[15] == b'f' { b'e' } else { b'f' };
    let edited = String::from_utf8(edited).unwrap();
    let auth = answer(&c.replace(&nonce, &edited), PASSWORD, 1);
    assert_eq!(check(&v, &auth, &stored(), T0), Verdict::BadNonce);

    let made_up = answer(&c.replace(&nonce, "7ypf/xlj9XXwfDPEoM4URrv"), PASSWORD, 1);
    assert_eq!(check(&v, &made_up, &stored(), T0), Verdict::BadNonce);

    let other = Verifier::new(&NonceSecret::from_bytes([2; 32]), VerifierConfig::default());
    let auth = answer(&challenge(&other, Algorithm::Md5, T0), PASSWORD, 1);
    assert_eq!(check(&v, &auth, &stored(), T0), Verdict::BadNonce);

    let auth = answer(&c, PASSWORD, 1);
    assert_eq!(check(&v, &auth, &stored(), T0 - 1), Verdict::BadNonce);
}

#[test]
fn nonce_issued_for_another_realm_is_bad() {
    let v = verifier(VerifierConfig::default());
    let other_realm = v
        .challenge("other.org", T0, false, &[Algorithm::Md5])
        .remove(0);
    let retargeted = other_realm.replace("other.org", REALM);
    let auth = answer(&retargeted, PASSWORD, 1);
    assert_eq!(check(&v, &auth, &stored(), T0), Verdict::BadNonce);
}

#[test]
fn realm_mismatch() {
    let v = verifier(VerifierConfig::default());
    let auth = answer(&challenge(&v, Algorithm::Md5, T0), PASSWORD, 1);
    let creds = Credentials::parse(&auth).unwrap();
    assert_eq!(
        v.verify(&creds, "REGISTER", "other.org", &stored(), T0),
        Verdict::RealmMismatch
    );
}

#[test]
fn digest_covers_method_uri_and_response_text() {
    let v = verifier(VerifierConfig::default());
    let auth = answer(&challenge(&v, Algorithm::Sha256, T0), PASSWORD, 1);
    let creds = Credentials::parse(&auth).unwrap();
    assert_eq!(creds.uri, URI);
    assert_eq!(
        v.verify(&creds, "INVITE", REALM, &stored(), T0),
        Verdict::WrongResponse
    );
    let other_uri = auth.replace(URI, "sip:evil.example");
    assert_eq!(check(&v, &other_uri, &stored(), T0), Verdict::WrongResponse);
    let response = creds.response.into_owned();
    for bad in ["", "zz", &response[..62], &format!("{response}00")] {
        let edited = auth.replace(&response, bad);
        assert_eq!(check(&v, &edited, &stored(), T0), Verdict::WrongResponse);
    }
    // Hex case does not matter.
    let upper = auth.replace(&response, &response.to_uppercase());
    assert_eq!(check(&v, &upper, &stored(), T0), Verdict::Ok);
}

#[test]
fn replayed_count_is_refused() {
    let v = verifier(VerifierConfig::default());
    let auth = answer(&challenge(&v, Algorithm::Sha256, T0), PASSWORD, 1);
    assert_eq!(check(&v, &auth, &stored(), T0), Verdict::Ok);
    assert_eq!(check(&v, &auth, &stored(), T0 + 1), Verdict::Replay);
}

#[test]
fn increasing_counts_are_accepted() {
    let v = verifier(VerifierConfig::default());
    let c = challenge(&v, Algorithm::Md5, T0);
    for nc in 1..=20 {
        assert_eq!(
            check(&v, &answer(&c, PASSWORD, nc), &stored(), T0 + u64::from(nc)),
            Verdict::Ok,
            "{nc}"
        );
    }
    assert_eq!(v.tracker().len(), 1);
}

#[test]
fn out_of_order_counts_within_the_window_accepted_once() {
    let v = verifier(VerifierConfig::default());
    let c = challenge(&v, Algorithm::Md5, T0);
    for (nc, expected) in [
        (5, Verdict::Ok),
        (3, Verdict::Ok),
        (4, Verdict::Ok),
        (3, Verdict::Replay),
        (5, Verdict::Replay),
        // 38 - 31 is the oldest count still inside the window.
        (38, Verdict::Ok),
        (7, Verdict::Ok),
        (7, Verdict::Replay),
        (6, Verdict::Replay),
    ] {
        assert_eq!(
            check(&v, &answer(&c, PASSWORD, nc), &stored(), T0),
            expected,
            "nc {nc}"
        );
    }
}

#[test]
fn nonce_without_qop_is_single_use() {
    let v = verifier(VerifierConfig::default());
    let c = challenge(&v, Algorithm::Md5, T0).replace(", qop=\"auth\"", "");
    assert_eq!(Challenge::parse(&c).unwrap().qop, None);
    let auth = answer(&c, PASSWORD, 1);
    assert!(!auth.contains("nc=") && !auth.contains("cnonce"));
    assert_eq!(check(&v, &auth, &stored(), T0), Verdict::Ok);
    assert_eq!(check(&v, &auth, &stored(), T0), Verdict::Replay);
    // Nor can it be reused with a qop afterwards.
    let reuse = answer(&format!("{c}, qop=\"auth\""), PASSWORD, 1);
    assert!(reuse.contains("nc=00000001"));
    assert_eq!(check(&v, &reuse, &stored(), T0), Verdict::Replay);
}

#[test]
fn sess_algorithms_only_when_accepted() {
    for (accept_sess, expected) in [
        (
            false,
            Verdict::Unsupported(Unsupported::Algorithm(Algorithm::Sha256Sess)),
        ),
        (true, Verdict::Ok),
    ] {
        let v = verifier(VerifierConfig {
            accept_sess,
            ..VerifierConfig::default()
        });
        let auth = answer(&challenge(&v, Algorithm::Sha256Sess, T0), PASSWORD, 1);
        assert_eq!(check(&v, &auth, &stored(), T0), expected);
    }
}

#[test]
fn auth_int_is_unsupported() {
    let v = verifier(VerifierConfig::default());
    let auth =
        answer(&challenge(&v, Algorithm::Md5, T0), PASSWORD, 1).replace("qop=auth", "qop=auth-int");
    assert_eq!(
        check(&v, &auth, &stored(), T0),
        Verdict::Unsupported(Unsupported::Qop(sip_auth::Qop::AuthInt))
    );
}

#[test]
fn opaque_must_come_back_unchanged() {
    let v = verifier(VerifierConfig {
        opaque: Some("xyz".into()),
        ..VerifierConfig::default()
    });
    let auth = answer(&challenge(&v, Algorithm::Md5, T0), PASSWORD, 1);
    assert!(auth.contains("opaque=\"xyz\""));
    for edited in [
        auth.replace(", opaque=\"xyz\"", ""),
        auth.replace("\"xyz\"", "\"abc\""),
    ] {
        assert_eq!(check(&v, &edited, &stored(), T0), Verdict::BadNonce);
    }
    assert_eq!(check(&v, &auth, &stored(), T0), Verdict::Ok);
}

#[test]
fn purge_releases_tracked_nonces() {
    let v = verifier(VerifierConfig {
        nonce_lifetime: 60,
        ..VerifierConfig::default()
    });
    for i in 0..50 {
        let auth = answer(&challenge(&v, Algorithm::Md5, T0 + i), PASSWORD, 1);
        assert_eq!(check(&v, &auth, &stored(), T0 + i), Verdict::Ok);
    }
    assert_eq!(v.tracker().len(), 50);
    v.purge(T0 + 60);
    assert_eq!(v.tracker().len(), 50);
    // Nonces are dropped a generation (a sixteenth of the lifetime, 4 s here) at a time, once all its nonces have
    // expired: at T0 + 88 those issued up to T0 + 27 have, and that is where a generation ends.
    v.purge(T0 + 88);
    assert_eq!(v.tracker().len(), 22);
    v.purge(T0 + 200);
    assert!(v.tracker().is_empty());
}

#[test]
fn shared_between_threads() {
    let v = Arc::new(verifier(VerifierConfig::default()));
    let secret = Arc::new(stored());
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (v, secret) = (Arc::clone(&v), Arc::clone(&secret));
            std::thread::spawn(move || {
                let c = challenge(&v, Algorithm::Sha256, T0);
                (1..=50)
                    .map(|nc| check(&v, &answer(&c, PASSWORD, nc), &secret, T0))
                    .filter(|&verdict| verdict == Verdict::Ok)
                    .count()
            })
        })
        .collect();
    let accepted: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(accepted, 200);
    assert_eq!(v.tracker().len(), 4);
}

#[test]
fn nc_without_qop_cannot_reuse_a_single_use_nonce() {
    let v = verifier(VerifierConfig::default());
    let c = challenge(&v, Algorithm::Md5, T0).replace(", qop=\"auth\"", "");
    let auth = answer(&c, PASSWORD, 1);
    // The parser refuses nc without qop ...
    assert_eq!(
        Credentials::parse(&format!("{auth}, nc=00000002")),
        Err(sip_auth::Error::InvalidValue("nc"))
    );
    // ... and the verifier ignores one smuggled in by a caller, as the digest does not cover it: otherwise
    // changing nc would turn one captured request into many.
    let with_qop: Vec<String> = (1..=2)
        .map(|n| answer(&challenge(&v, Algorithm::Md5, T0), PASSWORD, n))
        .collect();
    let nc: Vec<_> = with_qop
        .iter()
        .map(|value| Credentials::parse(value).unwrap().nc)
        .collect();
    let mut creds = Credentials::parse(&auth).unwrap();
    creds.nc = nc[0].clone();
    assert_eq!(
        v.verify(&creds, "REGISTER", REALM, &stored(), T0),
        Verdict::Ok
    );
    creds.nc = nc[1].clone();
    assert_eq!(
        v.verify(&creds, "REGISTER", REALM, &stored(), T0),
        Verdict::Replay
    );
}
