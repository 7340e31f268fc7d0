//! Building `Authorization` values in answer to a challenge (the client side).

use std::fmt;

use crate::challenge::Challenge;
use crate::hashing::{DigestBytes, QopFields, ResponseInput, ha1_bytes, response};
use crate::params::write_quoted;
use crate::{Error, Qop};

/// The secret a client answers a challenge with.
#[derive(Clone, Copy)]
pub enum ClientSecret<'a> {
    /// The plaintext password.
    Password(&'a str),
    /// The lower-case hex HA1 of the challenge's base algorithm (see [`crate::ha1`]), for the challenge's realm.
    Ha1(&'a str),
}

impl fmt::Debug for ClientSecret<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Password(_) => "Password(..)",
            Self::Ha1(_) => "Ha1(..)",
        })
    }
}

/// Builds the `Authorization` (or `Proxy-Authorization`) header value answering `challenge`.
///
/// Uses `qop=auth` with `nc` and `cnonce` when the challenge offers it, and RFC 2069 style (no qop, and no
/// `cnonce` unless the algorithm is a `-sess` one) when the challenge has no `qop`. `nc` counts the requests made
/// with this nonce, starting at 1; `cnonce` should be fresh random text. Errors: the challenge offers only
/// `auth-int` ([`Error::UnsupportedQop`]); `nc` is 0, or `username`, `uri` or `cnonce` contains a control
/// character, which a quoted-string cannot carry ([`Error::InvalidValue`]).
pub fn respond(
    challenge: &Challenge<'_>,
    method: &str,
    uri: &str,
    username: &str,
    secret: ClientSecret<'_>,
    cnonce: &str,
    nc: u32,
) -> Result<String, Error> {
    if nc == 0 {
        return Err(Error::InvalidValue("nc"));
    }
    for (name, value) in [("username", username), ("uri", uri), ("cnonce", cnonce)] {
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(Error::InvalidValue(name));
        }
    }
    let qop = match challenge.qop {
        None => None,
        Some(options) if options.auth => Some(Qop::Auth),
        Some(_) => return Err(Error::UnsupportedQop),
    };
    let alg = challenge.algorithm;
    let computed_ha1;
    let ha1 = match secret {
        ClientSecret::Password(password) => {
            computed_ha1 = ha1_bytes(alg, username, &challenge.realm, password).to_hex();
            computed_ha1.as_bytes()
        }
        ClientSecret::Ha1(ha1) => ha1.as_bytes(),
    };
    let nc_text = format!("{nc:08x}");
    let digest = response(&ResponseInput {
        algorithm: alg,
        ha1,
        nonce: &challenge.nonce,
        cnonce,
        qop: qop.map(|qop| QopFields { qop, nc: &nc_text }),
        method,
        uri,
    });

    Ok(Authorization {
        username,
        challenge,
        uri,
        digest,
        cnonce: (qop.is_some() || alg.is_session()).then_some(cnonce),
        qop: qop.map(|qop| (qop, nc_text.as_str())),
    }
    .to_string())
}

/// The fields of an `Authorization` value, written by its `Display` implementation.
struct Authorization<'a> {
    username: &'a str,
    challenge: &'a Challenge<'a>,
    uri: &'a str,
    digest: DigestBytes,
    cnonce: Option<&'a str>,
    qop: Option<(Qop, &'a str)>,
}

impl fmt::Display for Authorization<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.challenge;
        f.write_str("Digest username=")?;
        write_quoted(f, self.username)?;
        f.write_str(", realm=")?;
        write_quoted(f, &c.realm)?;
        f.write_str(", nonce=")?;
        write_quoted(f, &c.nonce)?;
        f.write_str(", uri=")?;
        write_quoted(f, self.uri)?;
        write!(
            f,
            ", response=\"{}\", algorithm={}",
            self.digest, c.algorithm
        )?;
        if let Some(cnonce) = self.cnonce {
            f.write_str(", cnonce=")?;
            write_quoted(f, cnonce)?;
        }
        if let Some(opaque) = &c.opaque {
            f.write_str(", opaque=")?;
            write_quoted(f, opaque)?;
        }
        if let Some((qop, nc)) = self.qop {
            write!(f, ", qop={qop}, nc={nc}")?;
        }
        Ok(())
    }
}
