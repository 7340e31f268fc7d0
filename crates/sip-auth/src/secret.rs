//! The secret a server holds for an account.

use std::fmt;
use std::sync::OnceLock;

use crate::hashing::{DigestBytes, HexDigest, ha1_bytes};
use crate::{Algorithm, Error};

/// The HA1 values stored for one account (per base algorithm), or the dummy used for unknown accounts.
///
/// HA1 is `H(username ":" realm ":" password)`, so it is bound to the realm it was computed for.
#[derive(Clone)]
pub struct StoredSecret {
    md5: Option<DigestBytes>,
    sha256: Option<DigestBytes>,
    dummy: bool,
}

impl StoredSecret {
    /// Computes the MD5 and SHA-256 HA1 from a plaintext password.
    pub fn from_password(username: &str, realm: &str, password: &str) -> Self {
        Self {
            md5: Some(ha1_bytes(Algorithm::Md5, username, realm, password)),
            sha256: Some(ha1_bytes(Algorithm::Sha256, username, realm, password)),
            dummy: false,
        }
    }

    /// Uses precomputed HA1 values given as hex (either case); an absent one makes that algorithm fail.
    pub fn from_ha1_hex(md5: Option<&str>, sha256: Option<&str>) -> Result<Self, Error> {
        let decode = |text: Option<&str>, alg: Algorithm| {
            text.map(|t| DigestBytes::from_hex(t, alg.digest_len()).ok_or(Error::InvalidHa1(alg)))
                .transpose()
        };
        Ok(Self {
            md5: decode(md5, Algorithm::Md5)?,
            sha256: decode(sha256, Algorithm::Sha256)?,
            dummy: false,
        })
    }

    /// Uses precomputed HA1 values given as raw hash output.
    pub fn from_ha1_bytes(md5: Option<[u8; 16]>, sha256: Option<[u8; 32]>) -> Self {
        Self {
            md5: md5.map(|b| DigestBytes::from_slice(&b)),
            sha256: sha256.map(|b| DigestBytes::from_slice(&b)),
            dummy: false,
        }
    }

    /// A secret for accounts that do not exist, so that verifying them costs the same and yields the same
    /// [`crate::Verdict::WrongResponse`] as a wrong password: it holds random HA1 values for every algorithm (drawn
    /// once per process) and never verifies, even if a response happened to match.
    pub fn dummy() -> Self {
        let &(md5, sha256) = dummy_values();
        Self {
            md5: Some(md5),
            sha256: Some(sha256),
            dummy: true,
        }
    }

    /// The raw MD5 HA1, if one is stored (`None` for [`StoredSecret::dummy`]).
    pub fn md5_ha1(&self) -> Option<[u8; 16]> {
        self.md5
            .filter(|_| !self.dummy)
            .and_then(|d| d.as_bytes().try_into().ok())
    }

    /// The raw SHA-256 HA1, if one is stored (`None` for [`StoredSecret::dummy`]).
    pub fn sha256_ha1(&self) -> Option<[u8; 32]> {
        self.sha256
            .filter(|_| !self.dummy)
            .and_then(|d| d.as_bytes().try_into().ok())
    }

    /// Whether this is [`StoredSecret::dummy`].
    pub fn is_dummy(&self) -> bool {
        self.dummy
    }

    /// The hex HA1 for `alg`'s base algorithm and whether a response computed from it may verify.
    ///
    /// Without a stored HA1 for the algorithm the dummy's is returned, so the work done is the same.
    pub(crate) fn ha1_for(&self, alg: Algorithm) -> (HexDigest, bool) {
        let sha256 = alg.base() == Algorithm::Sha256;
        let stored = if sha256 { self.sha256 } else { self.md5 };
        match stored {
            Some(ha1) => (ha1.to_hex(), !self.dummy),
            None => {
                let &(md5, sha) = dummy_values();
                (if sha256 { sha } else { md5 }.to_hex(), false)
            }
        }
    }
}

/// The dummy's MD5 and SHA-256 HA1, drawn at random once per process.
fn dummy_values() -> &'static (DigestBytes, DigestBytes) {
    static DUMMY: OnceLock<(DigestBytes, DigestBytes)> = OnceLock::new();
    DUMMY.get_or_init(|| (DigestBytes::random(16), DigestBytes::random(32)))
}

impl fmt::Debug for StoredSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredSecret")
            .field("md5", &self.md5.map(|_| ".."))
            .field("sha256", &self.sha256.map(|_| ".."))
            .field("dummy", &self.dummy)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MD5_HA1: &str = "3d78807defe7de2157e2b0b6573a855f";

    #[test]
    fn password_hex_and_bytes_agree() {
        let from_pw =
            StoredSecret::from_password("Mufasa", "http-auth@example.org", "Circle of Life");
        let from_hex = StoredSecret::from_ha1_hex(Some(&MD5_HA1.to_uppercase()), None).unwrap();
        let mut bytes = [0; 16];
        hex::decode_to_slice(MD5_HA1, &mut bytes).unwrap();
        let from_bytes = StoredSecret::from_ha1_bytes(Some(bytes), None);
        for s in [&from_pw, &from_hex, &from_bytes] {
            let (hex, usable) = s.ha1_for(Algorithm::Md5Sess);
            assert_eq!(hex.as_bytes(), MD5_HA1.as_bytes());
            assert!(usable);
        }
        assert!(!from_hex.ha1_for(Algorithm::Sha256).1);
        assert_eq!(from_pw.md5_ha1(), Some(bytes));
        assert_eq!(from_hex.sha256_ha1(), None);
        let rebuilt = StoredSecret::from_ha1_bytes(from_pw.md5_ha1(), from_pw.sha256_ha1());
        assert_eq!(
            rebuilt.ha1_for(Algorithm::Sha256).0.as_bytes(),
            from_pw.ha1_for(Algorithm::Sha256).0.as_bytes()
        );
        assert_eq!(StoredSecret::dummy().md5_ha1(), None);
        assert!(from_pw.ha1_for(Algorithm::Sha256).1);
    }

    #[test]
    fn bad_hex_is_refused() {
        assert_eq!(
            StoredSecret::from_ha1_hex(Some("abcd"), None).unwrap_err(),
            Error::InvalidHa1(Algorithm::Md5)
        );
        assert_eq!(
            StoredSecret::from_ha1_hex(None, Some(MD5_HA1)).unwrap_err(),
            Error::InvalidHa1(Algorithm::Sha256)
        );
    }

    #[test]
    fn dummy_is_stable_within_the_process_and_redacted() {
        let (a, b) = (StoredSecret::dummy(), StoredSecret::dummy());
        assert!(a.is_dummy());
        let (a_ha1, usable) = a.ha1_for(Algorithm::Sha256);
        assert!(!usable);
        assert_eq!(a_ha1.as_bytes(), b.ha1_for(Algorithm::Sha256).0.as_bytes());
        assert_eq!(a_ha1.as_bytes().len(), 64);
        // A secret lacking the algorithm's HA1 falls back to the dummy's.
        let md5_only = StoredSecret::from_ha1_hex(Some(MD5_HA1), None).unwrap();
        assert_eq!(
            md5_only.ha1_for(Algorithm::Sha256).0.as_bytes(),
            a_ha1.as_bytes()
        );
        assert!(!format!("{a:?}").contains(MD5_HA1));
        assert_eq!(
            format!(
                "{:?}",
                StoredSecret::from_ha1_hex(Some(MD5_HA1), None).unwrap()
            ),
            r#"StoredSecret { md5: Some(".."), sha256: None, dummy: false }"#
        );
    }
}
