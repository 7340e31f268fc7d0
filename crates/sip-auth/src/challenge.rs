//! `WWW-Authenticate` / `Proxy-Authenticate` values: writing them (server) and parsing them (client).

use std::borrow::Cow;
use std::fmt;

use crate::Error;
use crate::params::{known_params, write_quoted};
use crate::{Algorithm, Qop};

/// The `qop` options a challenge offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QopOptions {
    /// `auth` is offered.
    pub auth: bool,
    /// `auth-int` is offered.
    pub auth_int: bool,
}

/// A parsed `Digest` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge<'a> {
    /// `realm`.
    pub realm: Cow<'a, str>,
    /// `nonce`.
    pub nonce: Cow<'a, str>,
    /// `opaque`, to be echoed in the response.
    pub opaque: Option<Cow<'a, str>>,
    /// `algorithm`; [`Algorithm::Md5`] when absent.
    pub algorithm: Algorithm,
    /// `qop` options; `None` when the parameter is absent (RFC 2069-style challenge). Unknown tokens are ignored.
    pub qop: Option<QopOptions>,
    /// `stale=true`: the previous nonce expired but the credentials were right, so retry without re-prompting.
    pub stale: bool,
}

const REALM: &str = "realm";
const NONCE: &str = "nonce";
const OPAQUE: &str = "opaque";
const ALGORITHM: &str = "algorithm";
const QOP: &str = "qop";
const STALE: &str = "stale";
const KNOWN: [&str; 6] = [REALM, NONCE, OPAQUE, ALGORITHM, QOP, STALE];

impl<'a> Challenge<'a> {
    /// Parses a header value such as `Digest realm="example.com", nonce="...", qop="auth,auth-int"`.
    ///
    /// `realm` and `nonce` are required; an unknown algorithm is [`Error::UnsupportedAlgorithm`] (a client
    /// receiving several challenges uses one it can parse). Unknown parameters are ignored.
    pub fn parse(value: &'a str) -> Result<Self, Error> {
        let slots = known_params(value, &KNOWN)?;
        let [realm, nonce, opaque, algorithm, qop, stale] = slots;
        let qop = qop.map(|list| {
            list.split(',')
                .filter_map(|token| Qop::from_token(token.trim()))
                .fold(QopOptions::default(), |mut options, qop| {
                    match qop {
                        Qop::Auth => options.auth = true,
                        Qop::AuthInt => options.auth_int = true,
                    }
                    options
                })
        });
        Ok(Self {
            realm: realm.ok_or(Error::Missing(REALM))?,
            nonce: nonce.ok_or(Error::Missing(NONCE))?,
            opaque,
            algorithm: algorithm.map_or(Ok(Algorithm::Md5), |a| a.parse())?,
            qop,
            stale: stale.is_some_and(|s| s.eq_ignore_ascii_case("true")),
        })
    }
}

/// What a server challenge says.
pub(crate) struct ChallengeFields<'a> {
    pub(crate) realm: &'a str,
    pub(crate) nonce: &'a dyn fmt::Display,
    pub(crate) opaque: Option<&'a str>,
    pub(crate) algorithm: Algorithm,
    pub(crate) stale: bool,
}

/// Written by `Display` as a challenge offering `qop="auth"`:
/// `Digest realm="..", nonce="..", opaque="..", algorithm=SHA-256, qop="auth", stale=true`.
impl fmt::Display for ChallengeFields<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Digest realm=")?;
        write_quoted(f, self.realm)?;
        write!(f, ", nonce=\"{}\"", self.nonce)?;
        if let Some(opaque) = self.opaque {
            f.write_str(", opaque=")?;
            write_quoted(f, opaque)?;
        }
        write!(f, ", algorithm={}, qop=\"auth\"", self.algorithm)?;
        if self.stale {
            f.write_str(", stale=true")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_an_rfc_7616_challenge() {
        let c = Challenge::parse(
            "Digest\r\n realm=\"http-auth@example.org\",\r\n qop=\"auth, auth-int\",\r\n algorithm=SHA-256,\r\n \
             nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\",\r\n \
             opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"",
        )
        .unwrap();
        assert_eq!(c.realm, "http-auth@example.org");
        assert_eq!(c.nonce, "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v");
        assert_eq!(
            c.opaque.as_deref(),
            Some("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS")
        );
        assert_eq!(c.algorithm, Algorithm::Sha256);
        assert_eq!(
            c.qop,
            Some(QopOptions {
                auth: true,
                auth_int: true
            })
        );
        assert!(!c.stale);
    }

    #[test]
    fn rfc_2069_challenge_defaults() {
        let c = Challenge::parse(r#"Digest realm="r", nonce="n", stale=TRUE"#).unwrap();
        assert_eq!((c.algorithm, c.qop, c.stale), (Algorithm::Md5, None, true));
        assert_eq!(c.opaque, None);
    }

    #[test]
    fn qop_with_only_unknown_tokens_offers_nothing() {
        let c = Challenge::parse(r#"Digest realm="r", nonce="n", qop="auth-conf""#).unwrap();
        assert_eq!(c.qop, Some(QopOptions::default()));
    }

    #[test]
    fn missing_and_unsupported() {
        assert_eq!(
            Challenge::parse(r#"Digest nonce="n""#),
            Err(Error::Missing(REALM))
        );
        assert_eq!(
            Challenge::parse(r#"Digest realm="r""#),
            Err(Error::Missing(NONCE))
        );
        assert_eq!(
            Challenge::parse(r#"Digest realm="r", nonce="n", algorithm=SHA-512-256"#),
            Err(Error::UnsupportedAlgorithm("SHA-512-256".into()))
        );
    }

    #[test]
    fn written_challenge_parses_back() {
        let out = ChallengeFields {
            realm: "ex\"ample",
            nonce: &"abc",
            opaque: Some("op"),
            algorithm: Algorithm::Sha256,
            stale: true,
        }
        .to_string();
        assert_eq!(
            out,
            r#"Digest realm="ex\"ample", nonce="abc", opaque="op", algorithm=SHA-256, qop="auth", stale=true"#
        );
        let c = Challenge::parse(&out).unwrap();
        assert_eq!(c.realm, "ex\"ample");
        assert_eq!((c.algorithm, c.stale), (Algorithm::Sha256, true));
        assert_eq!(
            c.qop,
            Some(QopOptions {
                auth: true,
                auth_int: false
            })
        );
    }
}
