//! The digest computations of RFC 7616 §3.4.1–3.4.3, on stack buffers.

use std::fmt;

use md5::{Digest, Md5};
use sha2::Sha256;

use crate::{Algorithm, Qop};

/// A hash output (16 bytes for MD5, 32 for SHA-256) kept on the stack.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct DigestBytes {
    buf: [u8; 32],
    len: usize,
}

impl DigestBytes {
    /// Copies a hash output of at most 32 bytes.
    pub(crate) fn from_slice(bytes: &[u8]) -> Self {
        let mut buf = [0; 32];
        buf[..bytes.len()].copy_from_slice(bytes);
        Self {
            buf,
            len: bytes.len(),
        }
    }

    /// Decodes `len` bytes of hex (either case); `None` unless `text` is exactly `2 * len` hex digits.
    pub(crate) fn from_hex(text: &str, len: usize) -> Option<Self> {
        let mut buf = [0; 32];
        let out = buf.get_mut(..len)?;
        hex::decode_to_slice(text, out).ok()?;
        Some(Self { buf, len })
    }

    /// A value of `len` bytes drawn from the thread's random generator.
    pub(crate) fn random(len: usize) -> Self {
        let mut buf = [0; 32];
        rand::fill(&mut buf);
        Self { buf, len }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The lower-case hex text, as it is fed into the next hash.
    pub(crate) fn to_hex(self) -> HexDigest {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut buf = [0; 64];
        for (pair, byte) in buf.chunks_exact_mut(2).zip(self.as_bytes()) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 0x0f)];
        }
        HexDigest {
            buf,
            len: 2 * self.len,
        }
    }
}

impl fmt::Display for DigestBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.to_hex().as_str())
    }
}

/// Lower-case hex text of a [`DigestBytes`].
#[derive(Clone, Copy)]
pub(crate) struct HexDigest {
    buf: [u8; 64],
    len: usize,
}

impl HexDigest {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The hex digits as text (always ASCII).
    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

/// `H(f1 ":" f2 ":" ...)` with the hash of `alg`.
fn hash_fields(alg: Algorithm, fields: &[&[u8]]) -> DigestBytes {
    fn run<D: Digest>(fields: &[&[u8]]) -> DigestBytes {
        let mut hasher = D::new();
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                hasher.update(b":");
            }
            hasher.update(field);
        }
        DigestBytes::from_slice(&hasher.finalize())
    }
    match alg.base() {
        Algorithm::Sha256 => run::<Sha256>(fields),
        _ => run::<Md5>(fields),
    }
}

/// The HA1 stored for a user: `H(username ":" realm ":" password)` with the hash of `alg`
/// (for a `-sess` algorithm this is the HA1 of its base algorithm; the session part needs the nonce).
pub(crate) fn ha1_bytes(
    alg: Algorithm,
    username: &str,
    realm: &str,
    password: &str,
) -> DigestBytes {
    hash_fields(
        alg,
        &[username.as_bytes(), realm.as_bytes(), password.as_bytes()],
    )
}

/// Computes the HA1 a server stores for a user, as lower-case hex (RFC 7616 §3.4.2).
///
/// For a `-sess` algorithm this returns the HA1 of its base algorithm, which is what gets stored.
pub fn ha1(alg: Algorithm, username: &str, realm: &str, password: &str) -> String {
    ha1_bytes(alg, username, realm, password).to_string()
}

/// The `qop`-dependent inputs of a response.
#[derive(Clone, Copy)]
pub(crate) struct QopFields<'a> {
    /// The qop in use.
    pub(crate) qop: Qop,
    /// The nonce count exactly as written in the header.
    pub(crate) nc: &'a str,
}

/// Everything a `response` digest depends on.
pub(crate) struct ResponseInput<'a> {
    pub(crate) algorithm: Algorithm,
    /// Lower-case hex HA1 of the base algorithm.
    pub(crate) ha1: &'a [u8],
    pub(crate) nonce: &'a str,
    /// Needed with `qop` and with `-sess` algorithms.
    pub(crate) cnonce: &'a str,
    pub(crate) qop: Option<QopFields<'a>>,
    pub(crate) method: &'a str,
    pub(crate) uri: &'a str,
}

/// Computes the `response` digest (RFC 7616 §3.4.1, with RFC 2069 compatibility when `qop` is absent).
pub(crate) fn response(input: &ResponseInput<'_>) -> DigestBytes {
    let alg = input.algorithm;
    let session;
    let ha1 = if alg.is_session() {
        session = hash_fields(
            alg,
            &[input.ha1, input.nonce.as_bytes(), input.cnonce.as_bytes()],
        )
        .to_hex();
        session.as_bytes()
    } else {
        input.ha1
    };
    let ha2 = hash_fields(alg, &[input.method.as_bytes(), input.uri.as_bytes()]).to_hex();
    match input.qop {
        Some(q) => hash_fields(
            alg,
            &[
                ha1,
                input.nonce.as_bytes(),
                q.nc.as_bytes(),
                input.cnonce.as_bytes(),
                q.qop.as_str().as_bytes(),
                ha2.as_bytes(),
            ],
        ),
        None => hash_fields(alg, &[ha1, input.nonce.as_bytes(), ha2.as_bytes()]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ha1_matches_rfc_7616_inputs() {
        // Independently computed: printf 'Mufasa:http-auth@example.org:Circle of Life' | md5sum / sha256sum
        assert_eq!(
            ha1(
                Algorithm::Md5,
                "Mufasa",
                "http-auth@example.org",
                "Circle of Life"
            ),
            "3d78807defe7de2157e2b0b6573a855f"
        );
        assert_eq!(
            ha1(
                Algorithm::Sha256Sess,
                "Mufasa",
                "http-auth@example.org",
                "Circle of Life"
            ),
            ha1(
                Algorithm::Sha256,
                "Mufasa",
                "http-auth@example.org",
                "Circle of Life"
            )
        );
    }

    #[test]
    fn hex_round_trip() {
        let d = DigestBytes::from_hex("00ff10AB", 4).unwrap();
        assert_eq!(d.as_bytes(), &[0x00, 0xff, 0x10, 0xab]);
        assert_eq!(d.to_hex().as_bytes(), b"00ff10ab");
        assert_eq!(d.to_string(), "00ff10ab");
        assert!(DigestBytes::from_hex("00ff10", 4).is_none());
        assert!(DigestBytes::from_hex("00ff10zz", 4).is_none());
        assert!(DigestBytes::from_hex("00", 33).is_none());
    }
}
