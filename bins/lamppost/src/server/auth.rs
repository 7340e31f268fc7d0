//! Digest authentication in the server: the user cache in front of the store, and the verifier.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use registrar::{Target, UnixTime};
use sha2::{Digest, Sha256};
use sip_auth::{
    Algorithm, Credentials, NonceSecret, StoredSecret, Verdict, Verifier, VerifierConfig,
};
use sip_msg::{HeaderName, Message, ResponseWriter, Uri};
use store::{SqliteStore, Subscriber, SubscriberStore};
use tracing::{debug, info, warn};

use super::user_cache::{CachedUser, Kept, UserCache};

use crate::config::Loaded;

/// How long "no such user" is remembered before the store is asked again.
const UNKNOWN_USER_TTL: Duration = Duration::from_secs(10);

/// What to do with a REGISTER that needs authentication.
#[derive(Debug)]
pub(crate) enum AuthStep {
    /// Valid credentials for `user@realm`.
    Authenticated(String),
    /// Answer 401 with fresh challenges.
    Challenge {
        /// The credentials were right but the nonce had expired.
        stale: bool,
    },
    /// Right credentials, but their nonce count was used before: a replay, unless the request is a retransmission
    /// of the one that used it (the caller checks that against the binding it wrote).
    Replayed(String),
    /// The user is not cached: fetch it from the store, then handle the request again.
    Lookup {
        /// The digest username.
        username: String,
    },
}

struct Settings {
    verifier: Verifier,
    algorithms: Vec<Algorithm>,
}

impl Settings {
    /// The HA1s worth caching: those of the offered algorithms (a response with another one fails anyway).
    fn kept(&self) -> Kept {
        let offers = |base| self.algorithms.iter().any(|a| a.base() == base);
        Kept {
            md5: offers(Algorithm::Md5),
            sha256: offers(Algorithm::Sha256),
        }
    }
}

/// Verifies digest credentials against the subscriber table, cached in memory.
pub struct Authenticator {
    settings: RwLock<Arc<Settings>>,
    /// Keyed by `user@realm`.
    users: RwLock<UserCache>,
    store: Arc<SqliteStore>,
    random_secret: NonceSecret,
}

impl Authenticator {
    /// Builds the verifier from the configuration and, when authentication is on, loads every subscriber into the
    /// cache.
    pub async fn new(loaded: &Loaded, store: Arc<SqliteStore>) -> anyhow::Result<Self> {
        let random_secret = NonceSecret::random();
        let settings = settings(loaded, &random_secret);
        let auth = Self {
            users: RwLock::new(UserCache::new(settings.kept())),
            settings: RwLock::new(Arc::new(settings)),
            store,
            random_secret,
        };
        // With authentication off nothing needs credentials up front; any exemption case still fetches on demand.
        if loaded.config.auth.enabled {
            auth.warm().await?;
        }
        Ok(auth)
    }

    /// Fills the cache from the subscriber table, row by row.
    async fn warm(&self) -> anyhow::Result<()> {
        let kept = read(&self.settings).kept();
        let totals = self.store.subscriber_totals().await?;
        // Each key is `user@realm`: the names and one `@`.
        let cache = UserCache::with_capacity(kept, totals.count, totals.name_bytes + totals.count);
        let users = self
            .store
            .fold_subscribers(cache, |users, s| {
                users.insert(
                    &key(&s.username, &s.domain),
                    CachedUser::Known(secret_of(&s)),
                );
            })
            .await?;
        info!(users = users.len(), "subscribers loaded");
        *write(&self.users) = users;
        Ok(())
    }

    /// Applies reloaded auth settings and forgets cached users (each is read again from the store on next use).
    pub fn reload(&self, loaded: &Loaded) -> anyhow::Result<()> {
        let settings = settings(loaded, &self.random_secret);
        let kept = settings.kept();
        *write(&self.settings) = Arc::new(settings);
        write(&self.users).clear(kept);
        Ok(())
    }

    /// Checks the request's credentials for the target's realm.
    pub(crate) fn check(&self, msg: &Message<'_>, target: &Target, now: SystemTime) -> AuthStep {
        let realm = target.domain();
        let challenge = AuthStep::Challenge { stale: false };
        let Some(creds) = msg
            .header_values(HeaderName::Authorization)
            .filter_map(|v| Credentials::parse(v).ok())
            .find(|c| c.realm.eq_ignore_ascii_case(realm))
        else {
            return challenge;
        };
        if !uri_matches(&creds.uri, msg.request_uri()) {
            debug!(uri = %creds.uri, "digest uri does not match the Request-URI");
            return challenge;
        }
        let settings = read(&self.settings).clone();
        let now_secs = u64::from(UnixTime::from_system(now).0);
        let verdict = {
            let users = read(&self.users);
            match users.get(&creds.username, realm) {
                Some(CachedUser::Known(secret)) => settings
                    .verifier
                    .verify(&creds, "REGISTER", realm, &secret, now_secs),
                Some(CachedUser::Unknown { checked }) if checked.elapsed() < UNKNOWN_USER_TTL => {
                    // Same work and same answer as a wrong password: no user enumeration.
                    settings.verifier.verify(
                        &creds,
                        "REGISTER",
                        realm,
                        &StoredSecret::dummy(),
                        now_secs,
                    )
                }
                _ => {
                    return AuthStep::Lookup {
                        username: creds.username.to_string(),
                    };
                }
            }
        };
        match verdict {
            Verdict::Ok => AuthStep::Authenticated(format!("{}@{realm}", creds.username)),
            Verdict::Stale => AuthStep::Challenge { stale: true },
            Verdict::Replay => AuthStep::Replayed(format!("{}@{realm}", creds.username)),
            other => {
                debug!(user = %creds.username, %realm, verdict = ?other, "authentication failed");
                challenge
            }
        }
    }

    /// Drops one user (`user@realm`) from the cache, so the next REGISTER reads the subscriber table again.
    pub fn forget(&self, user: &str) -> bool {
        write(&self.users).remove(user)
    }

    /// Drops every cached user.
    pub fn forget_all(&self) {
        let kept = read(&self.settings).kept();
        write(&self.users).clear(kept);
    }

    /// Loads one user from the store into the cache (or remembers that it does not exist).
    pub async fn fetch(&self, username: &str, realm: &str) {
        let entry = match self.store.subscriber(username, realm).await {
            Ok(Some(s)) => CachedUser::Known(secret_of(&s)),
            Ok(None) => CachedUser::Unknown {
                checked: Instant::now(),
            },
            Err(e) => {
                warn!(error = %e, "cannot read the subscriber table; treating the user as unknown");
                CachedUser::Unknown {
                    checked: Instant::now(),
                }
            }
        };
        write(&self.users).insert(&key(username, realm), entry);
    }

    /// Adds the `WWW-Authenticate` challenges (one per configured algorithm) to a 401.
    pub fn write_challenge(
        &self,
        w: &mut ResponseWriter<'_>,
        realm: &str,
        stale: bool,
        now: SystemTime,
    ) {
        let settings = read(&self.settings).clone();
        let now = u64::from(UnixTime::from_system(now).0);
        for value in settings
            .verifier
            .challenge(realm, now, stale, &settings.algorithms)
        {
            w.header("WWW-Authenticate", &value);
        }
    }

    /// Forgets nonce-count state of expired nonces.
    pub fn purge(&self, now: SystemTime) {
        read(&self.settings)
            .verifier
            .purge(u64::from(UnixTime::from_system(now).0));
    }
}

fn settings(loaded: &Loaded, random_secret: &NonceSecret) -> Settings {
    let auth = &loaded.config.auth;
    let secret = if auth.nonce_secret.is_empty() {
        random_secret.clone()
    } else {
        NonceSecret::from_bytes(Sha256::digest(auth.nonce_secret.as_bytes()).into())
    };
    Settings {
        verifier: Verifier::new(
            &secret,
            VerifierConfig {
                nonce_lifetime: *auth.nonce_lifetime.get_ref(),
                ..VerifierConfig::default()
            },
        ),
        algorithms: auth
            .algorithms
            .get_ref()
            .iter()
            .filter_map(|a| a.parse().ok())
            .collect(),
    }
}

/// The secret to verify against: from the plaintext password when the row has one, else its stored HA1s.
fn secret_of(s: &Subscriber) -> StoredSecret {
    if let Some(pw) = s.password.as_deref().filter(|p| !p.is_empty()) {
        return StoredSecret::from_password(&s.username, &s.domain, pw);
    }
    StoredSecret::from_ha1_hex(Some(&s.ha1), s.ha1_sha256.as_deref()).unwrap_or_else(|e| {
        warn!(user = %s.username, domain = %s.domain, error = %e, "unusable HA1 in the subscriber table");
        StoredSecret::dummy()
    })
}

/// The digest `uri` must name the Request-URI (RFC 3261 §22.4); compared as URIs, not as text.
fn uri_matches(digest_uri: &str, request_uri: Option<&str>) -> bool {
    let Some(request_uri) = request_uri else {
        return false;
    };
    digest_uri == request_uri
        || matches!((Uri::parse(digest_uri), Uri::parse(request_uri)), (Ok(a), Ok(b)) if a.equivalent(&b))
}

/// The cache key of a user.
fn key(username: &str, realm: &str) -> Box<str> {
    format!("{username}@{realm}").into_boxed_str()
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
