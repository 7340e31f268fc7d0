//! Answering the trunk's digest challenges (RFC 7616, RFC 8760) and reusing them for refreshes.

use std::borrow::Cow;

use sip_auth::{Algorithm, Challenge, ClientSecret, QopOptions};
use sip_msg::{HeaderName, Message};

use crate::account::{PackedAccount, SecretRef};
use crate::packed::PackedStrs;
use crate::request::AuthHeader;

/// The challenge chosen from a 401 or 407.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chosen {
    pub(crate) header: AuthHeader,
    pub(crate) challenge: Challenge<'static>,
}

/// Why no challenge of a 401/407 can be answered, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChooseError {
    /// The response carries no challenge header: the trunk misbehaves.
    Missing(String),
    /// Every challenge needs something the account cannot give (algorithm, qop).
    Unanswerable(String),
}

/// Picks the challenge to answer: a realm equal to the configured one first, then the strongest algorithm the
/// secret can answer.
pub(crate) fn choose(
    msg: &Message<'_>,
    header: AuthHeader,
    account: &PackedAccount,
) -> Result<Chosen, ChooseError> {
    let name = match header {
        AuthHeader::Www => HeaderName::WwwAuthenticate,
        AuthHeader::Proxy => HeaderName::ProxyAuthenticate,
    };
    let mut problems = Vec::new();
    let mut best: Option<(usize, Chosen)> = None;
    for value in msg.header_values(name) {
        let challenge = match Challenge::parse(value) {
            Ok(c) => c,
            Err(e) => {
                problems.push(e.to_string());
                continue;
            }
        };
        if challenge.qop.is_some_and(|q| !q.auth) {
            problems.push("it offers only qop=auth-int, and only qop=auth is supported".to_owned());
            continue;
        }
        if !secret_fits(account.secret(), challenge.algorithm) {
            problems.push(format!(
                "it uses {}, which the configured auth_ha1 was not computed with: set auth_password instead, or an auth_ha1 of that algorithm",
                challenge.algorithm
            ));
            continue;
        }
        let realm_rank = usize::from(
            account
                .required_realm()
                .is_some_and(|r| r != challenge.realm),
        );
        let algorithm_rank = Algorithm::ALL
            .iter()
            .position(|&a| a == challenge.algorithm)
            .unwrap_or(Algorithm::ALL.len());
        let rank = realm_rank * 16 + algorithm_rank;
        if best.as_ref().is_none_or(|(r, _)| rank < *r) {
            best = Some((
                rank,
                Chosen {
                    header,
                    challenge: owned(challenge),
                },
            ));
        }
    }
    match best {
        Some((_, chosen)) => Ok(chosen),
        None if problems.is_empty() => Err(ChooseError::Missing(format!(
            "the trunk answered with a challenge but no {} header: the trunk misbehaves; ask the provider",
            name.as_str()
        ))),
        None => Err(ChooseError::Unanswerable(format!(
            "lamppost cannot answer the trunk's {} challenge: {}",
            name.as_str(),
            problems.join("; ")
        ))),
    }
}

/// `challenge` with its texts copied.
fn owned(challenge: Challenge<'_>) -> Challenge<'static> {
    Challenge {
        realm: Cow::Owned(challenge.realm.into_owned()),
        nonce: Cow::Owned(challenge.nonce.into_owned()),
        opaque: challenge.opaque.map(|o| Cow::Owned(o.into_owned())),
        algorithm: challenge.algorithm,
        qop: challenge.qop,
        stale: challenge.stale,
    }
}

/// Whether `secret` can answer a challenge using `algorithm`.
fn secret_fits(secret: SecretRef<'_>, algorithm: Algorithm) -> bool {
    match secret {
        SecretRef::Password(_) => true,
        SecretRef::Ha1(ha1) => ha1.len() == algorithm.digest_len() * 2,
    }
}

const REALM: usize = 0;
const NONCE: usize = 1;
const OPAQUE: usize = 2;

/// The last challenge answered, kept to answer later requests pre-emptively: only what an answer needs, its
/// texts in one allocation.
#[derive(Debug, Clone)]
pub(crate) struct AuthCache {
    /// Realm, nonce and opaque.
    texts: PackedStrs<3>,
    header: AuthHeader,
    algorithm: Algorithm,
    qop: Option<QopOptions>,
    has_opaque: bool,
    /// Requests answered with this nonce so far.
    nc: u32,
}

impl AuthCache {
    /// Keeps `chosen`; the nonce count carries on when the nonce is the one already held.
    pub(crate) fn adopt(previous: Option<Self>, chosen: &Chosen) -> Self {
        let c = &chosen.challenge;
        let nc = previous
            .filter(|p| p.texts.get(NONCE) == c.nonce && p.realm() == c.realm)
            .map_or(0, |p| p.nc);
        Self {
            texts: PackedStrs::new([&c.realm, &c.nonce, c.opaque.as_deref().unwrap_or("")]),
            header: chosen.header,
            algorithm: c.algorithm,
            qop: c.qop,
            has_opaque: c.opaque.is_some(),
            nc,
        }
    }

    /// The realm of the challenge.
    pub(crate) fn realm(&self) -> &str {
        self.texts.get(REALM)
    }

    /// The kept challenge (never `stale`: that only matters when it arrives).
    fn challenge(&self) -> Challenge<'_> {
        Challenge {
            realm: Cow::Borrowed(self.realm()),
            nonce: Cow::Borrowed(self.texts.get(NONCE)),
            opaque: self
                .has_opaque
                .then(|| Cow::Borrowed(self.texts.get(OPAQUE))),
            algorithm: self.algorithm,
            qop: self.qop,
            stale: false,
        }
    }

    /// Answers the challenge for one more request (the nonce count goes up by one).
    pub(crate) fn answer(
        &mut self,
        account: &PackedAccount,
        uri: &str,
        cnonce: &str,
    ) -> Result<(AuthHeader, String), sip_auth::Error> {
        self.nc = self.nc.saturating_add(1);
        let lower;
        let secret = match account.secret() {
            SecretRef::Password(p) => ClientSecret::Password(p),
            SecretRef::Ha1(h) => {
                lower = h.to_ascii_lowercase();
                ClientSecret::Ha1(&lower)
            }
        };
        let value = sip_auth::respond(
            &self.challenge(),
            "REGISTER",
            uri,
            account.auth_username(),
            secret,
            cnonce,
            self.nc,
        )?;
        Ok((self.header, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::tests::account;
    use crate::account::{PackedAccount, Secret};

    fn response(headers: &str) -> Vec<u8> {
        format!(
            "SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\n\
             Call-ID: c\r\nCSeq: 1 REGISTER\r\n{headers}Content-Length: 0\r\n\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn prefers_configured_realm_then_sha256() {
        let raw = response(
            "WWW-Authenticate: Digest realm=\"other\", nonce=\"n0\", algorithm=SHA-256\r\n\
             WWW-Authenticate: Digest realm=\"r\", nonce=\"n1\", algorithm=MD5\r\n\
             WWW-Authenticate: Digest realm=\"r\", nonce=\"n2\", algorithm=SHA-256\r\n",
        );
        let msg = sip_msg::parse(&raw, &sip_msg::Limits::default()).unwrap();
        let mut a = account();
        let chosen = choose(&msg, AuthHeader::Www, &PackedAccount::new(&a)).unwrap();
        assert_eq!(chosen.challenge.nonce, "n0");
        a.realm = Some("r".into());
        let chosen = choose(&msg, AuthHeader::Www, &PackedAccount::new(&a)).unwrap();
        assert_eq!(chosen.challenge.nonce, "n2");
        a.secret = Secret::Ha1("0".repeat(32));
        let chosen = choose(&msg, AuthHeader::Www, &PackedAccount::new(&a)).unwrap();
        assert_eq!(chosen.challenge.nonce, "n1");
    }

    #[test]
    fn explains_unanswerable_challenges() {
        let raw = response(
            "WWW-Authenticate: Digest realm=\"r\", nonce=\"n\", algorithm=SHA-256\r\n\
             WWW-Authenticate: Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\"\r\n",
        );
        let msg = sip_msg::parse(&raw, &sip_msg::Limits::default()).unwrap();
        let mut a = account();
        a.secret = Secret::Ha1("0".repeat(32));
        let Err(ChooseError::Unanswerable(err)) =
            choose(&msg, AuthHeader::Www, &PackedAccount::new(&a))
        else {
            panic!("unanswerable expected");
        };
        assert!(err.contains("SHA-256") && err.contains("auth-int"), "{err}");
        let Err(ChooseError::Missing(err)) =
            choose(&msg, AuthHeader::Proxy, &PackedAccount::new(&a))
        else {
            panic!("missing expected");
        };
        assert!(err.contains("no Proxy-Authenticate"), "{err}");
    }

    fn chosen(value: &'static str) -> Chosen {
        Chosen {
            header: AuthHeader::Www,
            challenge: Challenge::parse(value).unwrap(),
        }
    }

    #[test]
    fn nonce_count_continues_for_the_same_nonce() {
        let first = chosen("Digest realm=\"r\", nonce=\"n\", qop=\"auth\"");
        let a = PackedAccount::new(&account());
        let mut cache = AuthCache::adopt(None, &first);
        let (_, answer) = cache.answer(&a, "sip:r", "c").unwrap();
        assert!(answer.contains("nc=00000001"), "{answer}");
        let mut cache = AuthCache::adopt(Some(cache), &first);
        let (_, answer) = cache.answer(&a, "sip:r", "c").unwrap();
        assert!(answer.contains("nc=00000002"), "{answer}");
        let fresh = chosen("Digest realm=\"r\", nonce=\"m\", qop=\"auth\"");
        let mut cache = AuthCache::adopt(Some(cache), &fresh);
        let (_, answer) = cache.answer(&a, "sip:r", "c").unwrap();
        assert!(answer.contains("nc=00000001"), "{answer}");
    }

    #[test]
    fn the_kept_challenge_is_the_one_received() {
        for value in [
            "Digest realm=\"sip.example.com\", nonce=\"abc123\", opaque=\"\", algorithm=SHA-256, qop=\"auth,auth-int\"",
            "Digest realm=\"r\", nonce=\"n\", opaque=\"o-1\"",
            "Digest realm=\"\", nonce=\"n\", algorithm=MD5",
        ] {
            let chosen = Chosen {
                header: AuthHeader::Proxy,
                challenge: owned(Challenge::parse(value).unwrap()),
            };
            let cache = AuthCache::adopt(None, &chosen);
            assert_eq!(cache.challenge(), chosen.challenge, "{value}");
            assert_eq!(cache.header, AuthHeader::Proxy);
        }
    }
}
