//! Published and independently computed digest vectors, exercised through the client `respond()` and the parser.

use sip_auth::{Algorithm, Challenge, ClientSecret, Credentials, Qop, respond};

const RFC7616_NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
const RFC7616_CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
const RFC7616_OPAQUE: &str = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";

fn rfc7616_challenge(algorithm: &str) -> String {
    format!(
        "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", algorithm={algorithm}, \
         nonce=\"{RFC7616_NONCE}\", opaque=\"{RFC7616_OPAQUE}\""
    )
}

fn rfc7616_response(algorithm: &str, secret: ClientSecret<'_>) -> String {
    let challenge_value = rfc7616_challenge(algorithm);
    let challenge = Challenge::parse(&challenge_value).unwrap();
    respond(
        &challenge,
        "GET",
        "/dir/index.html",
        "Mufasa",
        secret,
        RFC7616_CNONCE,
        1,
    )
    .unwrap()
}

fn response_of(authorization: &str) -> String {
    Credentials::parse(authorization)
        .unwrap()
        .response
        .into_owned()
}

/// RFC 7616 §3.9.1, MD5.
#[test]
fn rfc7616_md5() {
    let auth = rfc7616_response("MD5", ClientSecret::Password("Circle of Life"));
    assert_eq!(
        auth,
        format!(
            "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", nonce=\"{RFC7616_NONCE}\", \
             uri=\"/dir/index.html\", response=\"8ca523f5e9506fed4657c9700eebdbec\", algorithm=MD5, \
             cnonce=\"{RFC7616_CNONCE}\", opaque=\"{RFC7616_OPAQUE}\", qop=auth, nc=00000001"
        )
    );
    let creds = Credentials::parse(&auth).unwrap();
    assert_eq!(creds.qop, Some(Qop::Auth));
    assert_eq!(creds.opaque.as_deref(), Some(RFC7616_OPAQUE));
}

/// RFC 7616 §3.9.1, SHA-256.
#[test]
fn rfc7616_sha256() {
    let auth = rfc7616_response("SHA-256", ClientSecret::Password("Circle of Life"));
    assert_eq!(
        response_of(&auth),
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    );
    assert_eq!(
        Credentials::parse(&auth).unwrap().algorithm,
        Algorithm::Sha256
    );
}

/// The same vectors from a stored HA1 instead of the password.
#[test]
fn rfc7616_from_ha1() {
    for (alg, expected) in [
        (Algorithm::Md5, "8ca523f5e9506fed4657c9700eebdbec"),
        (
            Algorithm::Sha256,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
        ),
    ] {
        let ha1 = sip_auth::ha1(alg, "Mufasa", "http-auth@example.org", "Circle of Life");
        let auth = rfc7616_response(alg.as_str(), ClientSecret::Ha1(&ha1));
        assert_eq!(response_of(&auth), expected);
    }
}

/// The `-sess` variants on the RFC 7616 inputs (values computed independently with Python's hashlib).
#[test]
fn rfc7616_inputs_with_sess_algorithms() {
    for (alg, expected) in [
        ("MD5-sess", "e783283f46242139c486a698fec7211d"),
        (
            "SHA-256-sess",
            "2fd51b3a77ad75bad6afad6003e818d767133c46d9e2749e7f5232ae1ea3efd7",
        ),
    ] {
        let auth = rfc7616_response(alg, ClientSecret::Password("Circle of Life"));
        assert_eq!(response_of(&auth), expected, "{alg}");
    }
}

/// RFC 2617 §3.5 (MD5, qop=auth).
#[test]
fn rfc2617_example() {
    let challenge = Challenge::parse(
        "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", \
         nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
    )
    .unwrap();
    let auth = respond(
        &challenge,
        "GET",
        "/dir/index.html",
        "Mufasa",
        ClientSecret::Password("Circle Of Life"),
        "0a4f113b",
        1,
    )
    .unwrap();
    assert_eq!(response_of(&auth), "6629fae49393a05397450978507c4ef1");
}

/// RFC 2069 style (no qop): no cnonce, nc or qop in the answer. Values computed independently with hashlib.
#[test]
fn md5_without_qop() {
    let challenge = Challenge::parse(
        "Digest realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", \
         opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
    )
    .unwrap();
    let auth = respond(
        &challenge,
        "GET",
        "/dir/index.html",
        "Mufasa",
        ClientSecret::Password("Circle Of Life"),
        "unused",
        1,
    )
    .unwrap();
    assert_eq!(
        auth,
        "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", \
         nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/dir/index.html\", \
         response=\"670fd8c2df070c60b045671b8b24ff02\", algorithm=MD5, \
         opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""
    );

    // A SIP REGISTER in the RFC 3261 §22.4 style.
    let challenge = Challenge::parse(
        r#"Digest realm="biloxi.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093""#,
    )
    .unwrap();
    let auth = respond(
        &challenge,
        "REGISTER",
        "sip:biloxi.com",
        "bob",
        ClientSecret::Password("zanzibar"),
        "unused",
        1,
    )
    .unwrap();
    assert_eq!(response_of(&auth), "4441045a8075db3ead543693997e2a0e");
    assert_eq!(
        sip_auth::ha1(Algorithm::Md5, "bob", "biloxi.com", "zanzibar"),
        "12af60467a33e8518da5c68bbff12b11"
    );
}

/// `-sess` without qop still needs (and sends) the cnonce.
#[test]
fn sess_without_qop_sends_cnonce() {
    let value = format!(
        "Digest realm=\"http-auth@example.org\", algorithm=SHA-256-sess, nonce=\"{RFC7616_NONCE}\""
    );
    let challenge = Challenge::parse(&value).unwrap();
    let auth = respond(
        &challenge,
        "GET",
        "/dir/index.html",
        "Mufasa",
        ClientSecret::Password("Circle of Life"),
        RFC7616_CNONCE,
        1,
    )
    .unwrap();
    let creds = Credentials::parse(&auth).unwrap();
    assert_eq!(creds.cnonce.as_deref(), Some(RFC7616_CNONCE));
    assert_eq!((creds.qop, creds.nc), (None, None));
    assert_eq!(
        creds.response,
        "30bc0742357e535c85094121d22cf826b794be0667e19537beb7b28f2251c274"
    );
}

#[test]
fn respond_refusals() {
    let only_int = Challenge::parse(r#"Digest realm="r", nonce="n", qop="auth-int""#).unwrap();
    let answer = |c: &Challenge<'_>, nc| {
        respond(
            c,
            "REGISTER",
            "sip:r",
            "u",
            ClientSecret::Password("p"),
            "c",
            nc,
        )
    };
    assert_eq!(answer(&only_int, 1), Err(sip_auth::Error::UnsupportedQop));
    let plain = Challenge::parse(r#"Digest realm="r", nonce="n", qop="auth""#).unwrap();
    assert_eq!(answer(&plain, 0), Err(sip_auth::Error::InvalidValue("nc")));
    assert!(
        answer(&plain, 0x1234_abcd)
            .unwrap()
            .ends_with("nc=1234abcd")
    );
}

#[test]
fn respond_escapes_quotes_and_refuses_control_characters() {
    let challenge = Challenge::parse(r#"Digest realm="r", nonce="n", qop="auth""#).unwrap();
    let answer = |username, uri, cnonce| {
        respond(
            &challenge,
            "REGISTER",
            uri,
            username,
            ClientSecret::Password("p"),
            cnonce,
            1,
        )
    };
    let auth = answer("we\"ird\\", "sip:r", "c").unwrap();
    assert_eq!(Credentials::parse(&auth).unwrap().username, "we\"ird\\");
    assert_eq!(
        answer("u\r\nVia: x", "sip:r", "c"),
        Err(sip_auth::Error::InvalidValue("username"))
    );
    assert_eq!(
        answer("u", "sip:r\n", "c"),
        Err(sip_auth::Error::InvalidValue("uri"))
    );
    assert_eq!(
        answer("u", "sip:r", "c\0"),
        Err(sip_auth::Error::InvalidValue("cnonce"))
    );
}
