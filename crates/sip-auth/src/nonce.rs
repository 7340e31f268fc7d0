//! Stateless nonces: the server keeps no per-nonce state to recognise its own nonces.
//!
//! A nonce is the lower-case hex of 32 bytes: issue time (u64 seconds, big-endian), a salt (u64, big-endian; a
//! counter seeded at random, unique per issued nonce) and the first 16 bytes of
//! `HMAC-SHA256(secret, time || salt || realm)`. Checking recomputes the MAC, compares it in constant time and
//! checks the age.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::hashing::DigestBytes;

const TIME_LEN: usize = 8;
const SALT_LEN: usize = 8;
const MAC_LEN: usize = 16;
const NONCE_LEN: usize = TIME_LEN + SALT_LEN + MAC_LEN;

/// The server's nonce key. Every process that must accept another's nonces shares it.
#[derive(Clone)]
pub struct NonceSecret([u8; 32]);

impl NonceSecret {
    /// A fresh random key (nonces issued under a previous key stop verifying).
    pub fn random() -> Self {
        Self(rand::random())
    }

    /// A key from configuration.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl fmt::Debug for NonceSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NonceSecret(..)")
    }
}

/// An issued nonce; its `Display` form is what goes into the challenge.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Nonce([u8; NONCE_LEN]);

impl fmt::Display for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One write of the whole text: formatting byte by byte cost about 2% of an authenticated registration.
        f.write_str(DigestBytes::from_slice(&self.0).to_hex().as_str())
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nonce({self})")
    }
}

/// A nonce that carries a valid MAC: what the [`crate::NonceTracker`] keys its entries by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssuedNonce {
    issued_at: u64,
    id: u64,
}

impl IssuedNonce {
    /// When the nonce was issued (seconds since the Unix epoch).
    pub fn issued_at(&self) -> u64 {
        self.issued_at
    }

    /// A 64-bit identifier taken from the nonce's MAC: unique per nonce and uniformly distributed.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    #[cfg(test)]
    pub(crate) fn for_test(issued_at: u64, id: u64) -> Self {
        Self { issued_at, id }
    }
}

/// The result of checking a nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceCheck {
    /// Issued by us for this realm and within its lifetime.
    Fresh(IssuedNonce),
    /// Issued by us for this realm but older than the lifetime: reply with `stale=true`.
    Stale(IssuedNonce),
    /// Not issued by us (bad encoding, bad MAC, other realm or secret) or dated in the future.
    Invalid,
}

/// Issues and checks stateless nonces.
pub struct NonceCodec {
    mac: Hmac<Sha256>,
    lifetime: u64,
    next_salt: AtomicU64,
}

impl NonceCodec {
    /// A codec whose nonces are fresh for `lifetime` seconds.
    pub fn new(secret: &NonceSecret, lifetime: u64) -> Self {
        // HMAC pads keys to the block size, so padding here is equivalent and keeps construction infallible.
        let mut key = [0; 64];
        key[..secret.0.len()].copy_from_slice(&secret.0);
        Self {
            mac: Hmac::new(&key.into()),
            lifetime,
            next_salt: AtomicU64::new(rand::random()),
        }
    }

    /// How long nonces stay fresh, in seconds.
    pub fn lifetime(&self) -> u64 {
        self.lifetime
    }

    /// Issues a nonce for `realm` at `now` (seconds since the Unix epoch).
    pub fn issue(&self, realm: &str, now: u64) -> Nonce {
        let salt = self.next_salt.fetch_add(1, Ordering::Relaxed);
        let mut bytes = [0; NONCE_LEN];
        bytes[..TIME_LEN].copy_from_slice(&now.to_be_bytes());
        bytes[TIME_LEN..TIME_LEN + SALT_LEN].copy_from_slice(&salt.to_be_bytes());
        let mac = self.sign(&bytes[..TIME_LEN + SALT_LEN], realm);
        bytes[TIME_LEN + SALT_LEN..].copy_from_slice(&mac);
        Nonce(bytes)
    }

    /// Checks a nonce received for `realm` at `now`.
    ///
    /// It is stale when more than `lifetime` seconds old, invalid when dated after `now`.
    pub fn check(&self, nonce: &str, realm: &str, now: u64) -> NonceCheck {
        let mut bytes = [0; NONCE_LEN];
        if hex::decode_to_slice(nonce, &mut bytes).is_err() {
            return NonceCheck::Invalid;
        }
        let (signed, mac) = bytes.split_at(TIME_LEN + SALT_LEN);
        if !bool::from(self.sign(signed, realm).ct_eq(mac)) {
            return NonceCheck::Invalid;
        }
        let mut time = [0; TIME_LEN];
        time.copy_from_slice(&signed[..TIME_LEN]);
        let issued_at = u64::from_be_bytes(time);
        let mut id = [0; 8];
        id.copy_from_slice(&mac[..8]);
        let issued = IssuedNonce {
            issued_at,
            id: u64::from_be_bytes(id),
        };
        match now.checked_sub(issued_at) {
            None => NonceCheck::Invalid,
            Some(age) if age > self.lifetime => NonceCheck::Stale(issued),
            Some(_) => NonceCheck::Fresh(issued),
        }
    }

    fn sign(&self, time_and_salt: &[u8], realm: &str) -> [u8; MAC_LEN] {
        let mut mac = self.mac.clone();
        mac.update(time_and_salt);
        mac.update(realm.as_bytes());
        let full = mac.finalize().into_bytes();
        let mut out = [0; MAC_LEN];
        out.copy_from_slice(&full[..MAC_LEN]);
        out
    }
}

impl fmt::Debug for NonceCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NonceCodec")
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec() -> NonceCodec {
        NonceCodec::new(&NonceSecret::from_bytes([7; 32]), 300)
    }

    #[test]
    fn fresh_until_the_lifetime_then_stale() {
        let c = codec();
        let n = c.issue("example.com", 1_000).to_string();
        assert_eq!(n.len(), 64);
        let NonceCheck::Fresh(issued) = c.check(&n, "example.com", 1_000) else {
            panic!("not fresh")
        };
        assert_eq!(issued.issued_at(), 1_000);
        assert_eq!(c.check(&n, "example.com", 1_300), NonceCheck::Fresh(issued));
        assert_eq!(c.check(&n, "example.com", 1_301), NonceCheck::Stale(issued));
        assert_eq!(c.check(&n, "example.com", 999), NonceCheck::Invalid);
    }

    #[test]
    fn uppercase_hex_is_the_same_nonce() {
        let c = codec();
        let n = c.issue("r", 5).to_string();
        assert!(matches!(
            c.check(&n.to_uppercase(), "r", 5),
            NonceCheck::Fresh(_)
        ));
    }

    #[test]
    fn each_nonce_is_unique() {
        let c = codec();
        let a = c.issue("r", 5);
        let b = c.issue("r", 5);
        assert_ne!(a, b);
        let (NonceCheck::Fresh(ia), NonceCheck::Fresh(ib)) = (
            c.check(&a.to_string(), "r", 5),
            c.check(&b.to_string(), "r", 5),
        ) else {
            panic!("not fresh")
        };
        assert_ne!(ia.id(), ib.id());
    }

    #[test]
    fn forged_or_foreign_nonces_are_invalid() {
        let c = codec();
        let n = c.issue("example.com", 1_000).to_string();
        // Edit every byte in turn: time, salt and MAC are all covered.
        for i in 0..n.len() {
            let mut edited = n.clone().into_bytes();
            edited[i] = if edited[i] == b'0' { b'1' } else { b'0' };
            let edited = String::from_utf8(edited).unwrap();
            assert_eq!(
                c.check(&edited, "example.com", 1_000),
                NonceCheck::Invalid,
                "byte {i}"
            );
        }
        assert_eq!(c.check(&n, "other.com", 1_000), NonceCheck::Invalid);
        let other_key = NonceCodec::new(&NonceSecret::from_bytes([8; 32]), 300);
        assert_eq!(
            other_key.check(&n, "example.com", 1_000),
            NonceCheck::Invalid
        );
        for junk in [
            "",
            "abc",
            &n[..62],
            &format!("{n}00"),
            &n.replace(&n[..2], "zz"),
        ] {
            assert_eq!(c.check(junk, "example.com", 1_000), NonceCheck::Invalid);
        }
    }

    #[test]
    fn secrets_are_redacted() {
        assert_eq!(
            format!("{:?}", NonceSecret::from_bytes([1; 32])),
            "NonceSecret(..)"
        );
    }
}
