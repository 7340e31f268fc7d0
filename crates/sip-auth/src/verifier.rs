//! The server side: issuing challenges and verifying credentials.

use std::fmt;

use subtle::{Choice, ConstantTimeEq};

use crate::challenge::ChallengeFields;
use crate::hashing::{DigestBytes, QopFields, ResponseInput, response};
use crate::{
    Algorithm, Credentials, NcVerdict, Nonce, NonceCheck, NonceCodec, NonceSecret, NonceTracker,
    Qop, StoredSecret,
};

/// Settings of a [`Verifier`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierConfig {
    /// Seconds a nonce stays fresh; older ones get [`Verdict::Stale`]. Default 300.
    pub nonce_lifetime: u64,
    /// Hard cap on nonces tracked for replay protection (see [`NonceTracker`]). Default 1 048 576.
    pub max_tracked_nonces: usize,
    /// `opaque` sent in every challenge and required back unchanged; default none.
    pub opaque: Option<String>,
    /// Accept the `-sess` algorithms (never offered in our challenges); default false.
    pub accept_sess: bool,
}

impl Default for VerifierConfig {
    fn default() -> Self {
        Self {
            nonce_lifetime: 300,
            max_tracked_nonces: 1 << 20,
            opaque: None,
            accept_sess: false,
        }
    }
}

/// The outcome of verifying credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub enum Verdict {
    /// Authenticated.
    Ok,
    /// The digest is right but the nonce expired (or was forgotten under memory pressure): challenge again
    /// with `stale=true`.
    Stale,
    /// The digest does not match (wrong password, unknown user verified against [`StoredSecret::dummy`], or an
    /// account without an HA1 for the algorithm).
    WrongResponse,
    /// The nonce (or `opaque`) was not issued by us for this realm, or is dated in the future.
    BadNonce,
    /// The nonce count was already used (or the nonce, without `qop`).
    Replay,
    /// The credentials are for another realm.
    RealmMismatch,
    /// The credentials use something this verifier does not support.
    Unsupported(Unsupported),
}

/// What a [`Verdict::Unsupported`] refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unsupported {
    /// A `-sess` algorithm while [`VerifierConfig::accept_sess`] is off.
    Algorithm(Algorithm),
    /// `qop=auth-int`.
    Qop(Qop),
}

/// Issues challenges and verifies `Digest` credentials; `Sync`, shared by reference between threads.
///
/// Nonces are stateless ([`NonceCodec`]); nonce counts are tracked for replay protection ([`NonceTracker`]),
/// whose memory the caller bounds by calling [`Verifier::purge`] periodically (e.g. every few seconds).
#[derive(Debug)]
pub struct Verifier {
    codec: NonceCodec,
    tracker: NonceTracker,
    opaque: Option<String>,
    accept_sess: bool,
}

impl Verifier {
    /// A verifier signing nonces with `secret`.
    pub fn new(secret: &NonceSecret, config: VerifierConfig) -> Self {
        Self {
            codec: NonceCodec::new(secret, config.nonce_lifetime),
            tracker: NonceTracker::new(config.nonce_lifetime, config.max_tracked_nonces),
            opaque: config.opaque,
            accept_sess: config.accept_sess,
        }
    }

    /// Issues a fresh nonce for `realm` at `now` (seconds since the Unix epoch).
    pub fn issue_nonce(&self, realm: &str, now: u64) -> Nonce {
        self.codec.issue(realm, now)
    }

    /// Writes one `WWW-Authenticate` / `Proxy-Authenticate` value offering `qop="auth"` with `algorithm`:
    /// `Digest realm="..", nonce="..", opaque="..", algorithm=SHA-256, qop="auth"[, stale=true]`.
    pub fn write_challenge(
        &self,
        out: &mut impl fmt::Write,
        realm: &str,
        nonce: &Nonce,
        algorithm: Algorithm,
        stale: bool,
    ) -> fmt::Result {
        write!(
            out,
            "{}",
            self.challenge_fields(realm, nonce, algorithm, stale)
        )
    }

    fn challenge_fields<'a>(
        &'a self,
        realm: &'a str,
        nonce: &'a Nonce,
        algorithm: Algorithm,
        stale: bool,
    ) -> ChallengeFields<'a> {
        ChallengeFields {
            realm,
            nonce,
            opaque: self.opaque.as_deref(),
            algorithm,
            stale,
        }
    }

    /// Challenge values for `realm` at `now`, one per algorithm, sharing one fresh nonce.
    ///
    /// Algorithms are ordered SHA-256 first (RFC 8760 §2.4: the server lists its preferred one first), duplicates
    /// dropped; an empty `algorithms` gives no challenge.
    pub fn challenge(
        &self,
        realm: &str,
        now: u64,
        stale: bool,
        algorithms: &[Algorithm],
    ) -> Vec<String> {
        let mut algorithms = algorithms.to_vec();
        algorithms.sort_by_key(|a| a.preference());
        algorithms.dedup();
        let nonce = self.issue_nonce(realm, now);
        algorithms
            .into_iter()
            .map(|alg| self.challenge_fields(realm, &nonce, alg, stale).to_string())
            .collect()
    }

    /// Verifies `creds` sent with a request of `method` for `realm` against the account's `stored` secret at `now`.
    ///
    /// The caller must also check `creds.uri` against the Request-URI. For an unknown user pass
    /// [`StoredSecret::dummy`]: the work done and the verdict ([`Verdict::WrongResponse`]) are then those of a
    /// wrong password. Only after the digest matches is the nonce count recorded, so failed attempts cannot use up
    /// a client's counts. A matching digest with an expired nonce gives [`Verdict::Stale`]; a wrong one with an
    /// expired nonce gives [`Verdict::WrongResponse`] (RFC 7616 §3.3, `stale`).
    pub fn verify(
        &self,
        creds: &Credentials<'_>,
        method: &str,
        realm: &str,
        stored: &StoredSecret,
        now: u64,
    ) -> Verdict {
        let alg = creds.algorithm;
        if alg.is_session() && !self.accept_sess {
            return Verdict::Unsupported(Unsupported::Algorithm(alg));
        }
        if creds.qop == Some(Qop::AuthInt) {
            return Verdict::Unsupported(Unsupported::Qop(Qop::AuthInt));
        }
        if creds.realm != realm {
            return Verdict::RealmMismatch;
        }
        if let Some(opaque) = &self.opaque
            && creds.opaque.as_deref() != Some(opaque.as_str())
        {
            return Verdict::BadNonce;
        }
        let issued = match self.codec.check(&creds.nonce, realm, now) {
            NonceCheck::Invalid => return Verdict::BadNonce,
            NonceCheck::Fresh(issued) => Some(issued),
            NonceCheck::Stale(_) => None,
        };

        // Same work whether or not the account exists or has an HA1 for this algorithm.
        let (ha1, usable) = stored.ha1_for(alg);
        let expected = response(&ResponseInput {
            algorithm: alg,
            ha1: ha1.as_bytes(),
            nonce: &creds.nonce,
            cnonce: creds.cnonce.as_deref().unwrap_or_default(),
            qop: creds.qop.zip(creds.nc.as_ref()).map(|(qop, nc)| QopFields {
                qop,
                nc: nc.as_str(),
            }),
            method,
            uri: &creds.uri,
        });
        let (received, well_formed) = match DigestBytes::from_hex(&creds.response, alg.digest_len())
        {
            Some(received) => (received, Choice::from(1)),
            None => (expected, Choice::from(0)),
        };
        let matched = expected.as_bytes().ct_eq(received.as_bytes())
            & well_formed
            & Choice::from(u8::from(usable));
        if !bool::from(matched) {
            return Verdict::WrongResponse;
        }

        let Some(issued) = issued else {
            return Verdict::Stale;
        };
        // Without qop the digest does not cover nc, so an nc must not make a reuse look like a new count.
        let nc = creds.qop.and(creds.nc.as_ref()).map(|nc| nc.value());
        match self.tracker.check_and_record(&issued, nc, now) {
            NcVerdict::Accepted => Verdict::Ok,
            NcVerdict::Replayed => Verdict::Replay,
            NcVerdict::Forgotten => Verdict::Stale,
        }
    }

    /// Drops replay-protection state for nonces expired at `now`; call it periodically.
    pub fn purge(&self, now: u64) {
        self.tracker.purge(now);
    }

    /// The replay-protection state (e.g. to export its size as a metric).
    pub fn tracker(&self) -> &NonceTracker {
        &self.tracker
    }
}
