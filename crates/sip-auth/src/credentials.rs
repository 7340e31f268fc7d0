//! Parsing of `Authorization` / `Proxy-Authorization` header values (the server side).

use std::borrow::Cow;

use crate::Error;
use crate::params::known_params;
use crate::{Algorithm, Qop};

/// The nonce count (`nc`) of a request: its value and its text exactly as sent, which the response digest covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonceCount<'a> {
    value: u32,
    text: Cow<'a, str>,
}

impl<'a> NonceCount<'a> {
    /// Parses eight hex digits (either case); zero is refused as counts start at 1.
    fn parse(text: Cow<'a, str>) -> Result<Self, Error> {
        let valid = text.len() == 8 && text.bytes().all(|b| b.is_ascii_hexdigit());
        match u32::from_str_radix(&text, 16) {
            Ok(value) if valid && value != 0 => Ok(Self { value, text }),
            _ => Err(Error::InvalidValue("nc")),
        }
    }

    /// The count.
    pub fn value(&self) -> u32 {
        self.value
    }

    /// The count as written in the header.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Parsed `Digest` credentials from an `Authorization` or `Proxy-Authorization` header value.
///
/// Values borrow from the header unless they contained escapes. Unknown parameters are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials<'a> {
    /// `username`: the account to look the stored secret up by.
    pub username: Cow<'a, str>,
    /// `realm`.
    pub realm: Cow<'a, str>,
    /// `nonce`, as issued by the server.
    pub nonce: Cow<'a, str>,
    /// `uri` (digest-uri): the caller checks it against the Request-URI.
    pub uri: Cow<'a, str>,
    /// `response`: the hex digest proving knowledge of the secret.
    pub response: Cow<'a, str>,
    /// `algorithm`; [`Algorithm::Md5`] when absent.
    pub algorithm: Algorithm,
    /// `cnonce`; present whenever `qop` is or the algorithm is a `-sess` one.
    pub cnonce: Option<Cow<'a, str>>,
    /// `opaque`, echoed from the challenge.
    pub opaque: Option<Cow<'a, str>>,
    /// `qop`; absent for RFC 2069-style requests.
    pub qop: Option<Qop>,
    /// `nc`; present whenever `qop` is.
    pub nc: Option<NonceCount<'a>>,
}

const USERNAME: &str = "username";
const REALM: &str = "realm";
const NONCE: &str = "nonce";
const URI: &str = "uri";
const RESPONSE: &str = "response";
const ALGORITHM: &str = "algorithm";
const CNONCE: &str = "cnonce";
const OPAQUE: &str = "opaque";
const QOP: &str = "qop";
const NC: &str = "nc";
const KNOWN: [&str; 10] = [
    USERNAME, REALM, NONCE, URI, RESPONSE, ALGORITHM, CNONCE, OPAQUE, QOP, NC,
];

impl<'a> Credentials<'a> {
    /// Parses a header value such as `Digest username="alice", realm="example.com", ...`.
    ///
    /// Errors name the offending parameter: a missing `username`, `realm`, `nonce`, `uri` or `response`; a missing
    /// `cnonce` or `nc` when `qop` is present (or `cnonce` with a `-sess` algorithm); a duplicate; an `nc` that is
    /// not eight non-zero hex digits, or is sent without `qop`; an unknown `qop`; an unknown algorithm
    /// ([`Error::UnsupportedAlgorithm`]).
    pub fn parse(value: &'a str) -> Result<Self, Error> {
        let slots = known_params(value, &KNOWN)?;
        let [
            username,
            realm,
            nonce,
            uri,
            response,
            algorithm,
            cnonce,
            opaque,
            qop,
            nc,
        ] = slots;
        let algorithm = match algorithm {
            Some(name) => name.parse()?,
            None => Algorithm::Md5,
        };
        let qop = qop
            .map(|q| Qop::from_token(&q).ok_or(Error::InvalidValue(QOP)))
            .transpose()?;
        let nc = nc.map(NonceCount::parse).transpose()?;
        if qop.is_some() {
            if cnonce.is_none() {
                return Err(Error::Missing(CNONCE));
            }
            if nc.is_none() {
                return Err(Error::Missing(NC));
            }
        } else if nc.is_some() {
            return Err(Error::InvalidValue(NC));
        }
        if algorithm.is_session() && cnonce.is_none() {
            return Err(Error::Missing(CNONCE));
        }
        Ok(Self {
            username: username.ok_or(Error::Missing(USERNAME))?,
            realm: realm.ok_or(Error::Missing(REALM))?,
            nonce: nonce.ok_or(Error::Missing(NONCE))?,
            uri: uri.ok_or(Error::Missing(URI))?,
            response: response.ok_or(Error::Missing(RESPONSE))?,
            algorithm,
            cnonce,
            opaque,
            qop,
            nc,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"Digest username="alice", realm="example.com", nonce="abc", uri="sip:example.com", response="0123", algorithm=SHA-256, cnonce="xyz", opaque="op", qop=auth, nc=0000000a"#;

    #[test]
    fn parses_every_known_parameter() {
        let c = Credentials::parse(FULL).unwrap();
        assert_eq!(c.username, "alice");
        assert_eq!(c.realm, "example.com");
        assert_eq!(c.nonce, "abc");
        assert_eq!(c.uri, "sip:example.com");
        assert_eq!(c.response, "0123");
        assert_eq!(c.algorithm, Algorithm::Sha256);
        assert_eq!(c.cnonce.as_deref(), Some("xyz"));
        assert_eq!(c.opaque.as_deref(), Some("op"));
        assert_eq!(c.qop, Some(Qop::Auth));
        let nc = c.nc.unwrap();
        assert_eq!((nc.value(), nc.as_str()), (10, "0000000a"));
    }

    #[test]
    fn any_order_any_case_unknown_ignored_defaults_to_md5() {
        let c = Credentials::parse(
            r#"DIGEST Response="r", URI="sip:a", stuff="x, y", NONCE=n, Realm="re", UserName="bob""#,
        )
        .unwrap();
        assert_eq!(
            (&*c.username, &*c.realm, &*c.nonce, &*c.uri, &*c.response),
            ("bob", "re", "n", "sip:a", "r")
        );
        assert_eq!(c.algorithm, Algorithm::Md5);
        assert_eq!((c.qop, c.nc, c.cnonce), (None, None, None));
    }

    #[test]
    fn escapes_in_username() {
        let c = Credentials::parse(
            r#"Digest username="a\"b\\c", realm="r", nonce="n", uri="u", response="x""#,
        )
        .unwrap();
        assert_eq!(c.username, r#"a"b\c"#);
    }

    #[test]
    fn quoted_qop_and_nc_are_tolerated() {
        let c = Credentials::parse(
            r#"Digest username="a", realm="r", nonce="n", uri="u", response="x", qop="auth", nc="00000001", cnonce="c""#,
        )
        .unwrap();
        assert_eq!(c.qop, Some(Qop::Auth));
        assert_eq!(c.nc.map(|n| n.value()), Some(1));
    }

    #[test]
    fn missing_parameters_are_named() {
        let base = [
            r#"username="a""#,
            r#"realm="r""#,
            r#"nonce="n""#,
            r#"uri="u""#,
            r#"response="x""#,
        ];
        for (i, name) in [USERNAME, REALM, NONCE, URI, RESPONSE]
            .into_iter()
            .enumerate()
        {
            let mut parts = base.to_vec();
            parts.remove(i);
            let value = format!("Digest {}", parts.join(", "));
            assert_eq!(
                Credentials::parse(&value),
                Err(Error::Missing(name)),
                "{value}"
            );
        }
        let all = format!("Digest {}", base.join(", "));
        assert_eq!(
            Credentials::parse(&format!("{all}, qop=auth, nc=00000001")),
            Err(Error::Missing(CNONCE))
        );
        assert_eq!(
            Credentials::parse(&format!("{all}, qop=auth, cnonce=\"c\"")),
            Err(Error::Missing(NC))
        );
        assert_eq!(
            Credentials::parse(&format!("{all}, algorithm=MD5-sess")),
            Err(Error::Missing(CNONCE))
        );
        assert_eq!(
            Credentials::parse(&format!("{all}, nc=00000001")),
            Err(Error::InvalidValue(NC))
        );
    }

    #[test]
    fn bad_values_are_named() {
        let all = r#"Digest username="a", realm="r", nonce="n", uri="u", response="x", cnonce="c", qop=auth"#;
        for bad in ["00000000", "1", "0000000g", "000000001"] {
            assert_eq!(
                Credentials::parse(&format!("{all}, nc={bad}")),
                Err(Error::InvalidValue(NC)),
                "{bad}"
            );
        }
        assert_eq!(
            Credentials::parse(&all.replace("qop=auth", "qop=auth-conf, nc=00000001")),
            Err(Error::InvalidValue(QOP))
        );
        assert_eq!(
            Credentials::parse(&format!("{all}, nc=00000001, algorithm=AKAv1-MD5")),
            Err(Error::UnsupportedAlgorithm("AKAv1-MD5".into()))
        );
        assert_eq!(
            Credentials::parse(&format!("{all}, nc=00000001, Realm=\"again\"")),
            Err(Error::Duplicate(REALM))
        );
        assert_eq!(
            Credentials::parse(r#"Digest username="a, realm="r""#),
            Err(Error::Malformed("username".into()))
        );
    }
}
