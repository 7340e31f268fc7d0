//! Digest algorithms and quality-of-protection values.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// A digest algorithm (RFC 7616 §3.3 and RFC 8760).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `MD5`, the default when the `algorithm` parameter is absent.
    Md5,
    /// `MD5-sess`: HA1 is re-hashed with the nonce and cnonce.
    Md5Sess,
    /// `SHA-256` (RFC 8760).
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
}

impl Algorithm {
    /// Every algorithm, in order of preference (SHA-256 before MD5, plain before `-sess`).
    pub const ALL: [Self; 4] = [Self::Sha256, Self::Sha256Sess, Self::Md5, Self::Md5Sess];

    /// The name as written in the `algorithm` parameter.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Md5Sess => "MD5-sess",
            Self::Sha256 => "SHA-256",
            Self::Sha256Sess => "SHA-256-sess",
        }
    }

    /// Whether this is a `-sess` variant.
    pub const fn is_session(self) -> bool {
        matches!(self, Self::Md5Sess | Self::Sha256Sess)
    }

    /// The algorithm without its `-sess` suffix: the one a stored HA1 is computed with.
    pub const fn base(self) -> Self {
        match self {
            Self::Md5 | Self::Md5Sess => Self::Md5,
            Self::Sha256 | Self::Sha256Sess => Self::Sha256,
        }
    }

    /// Length in bytes of the hash output.
    pub const fn digest_len(self) -> usize {
        match self.base() {
            Self::Sha256 => 32,
            _ => 16,
        }
    }

    /// Position in [`Self::ALL`]: lower is preferred.
    pub(crate) fn preference(self) -> usize {
        Self::ALL
            .iter()
            .position(|&a| a == self)
            .unwrap_or(Self::ALL.len())
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = Error;

    /// Parses an algorithm name, case-insensitively.
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| Error::UnsupportedAlgorithm(s.to_owned()))
    }
}

/// A quality-of-protection value (RFC 7616 §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Qop {
    /// `auth`: authentication only.
    Auth,
    /// `auth-int`: authentication with body integrity (recognised, not implemented).
    AuthInt,
}

impl Qop {
    /// The token as written on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::AuthInt => "auth-int",
        }
    }

    /// Parses a qop token, case-insensitively; `None` for unknown tokens.
    pub fn from_token(token: &str) -> Option<Self> {
        [Self::Auth, Self::AuthInt]
            .into_iter()
            .find(|q| q.as_str().eq_ignore_ascii_case(token))
    }
}

impl fmt::Display for Qop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_case_insensitively() {
        for alg in Algorithm::ALL {
            assert_eq!(alg.as_str().parse::<Algorithm>(), Ok(alg));
            assert_eq!(
                alg.as_str().to_ascii_lowercase().parse::<Algorithm>(),
                Ok(alg)
            );
        }
        assert_eq!(
            "AKAv1-MD5".parse::<Algorithm>(),
            Err(Error::UnsupportedAlgorithm("AKAv1-MD5".into()))
        );
    }

    #[test]
    fn base_and_lengths() {
        assert_eq!(Algorithm::Sha256Sess.base(), Algorithm::Sha256);
        assert_eq!(Algorithm::Md5Sess.base(), Algorithm::Md5);
        assert!(Algorithm::Md5Sess.is_session() && !Algorithm::Md5.is_session());
        assert_eq!(Algorithm::Sha256Sess.digest_len(), 32);
        assert_eq!(Algorithm::Md5.digest_len(), 16);
    }

    #[test]
    fn qop_tokens() {
        assert_eq!(Qop::from_token("AUTH"), Some(Qop::Auth));
        assert_eq!(Qop::from_token("auth-int"), Some(Qop::AuthInt));
        assert_eq!(Qop::from_token("auth-conf"), None);
    }
}
