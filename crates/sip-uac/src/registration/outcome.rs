//! What each final response, failure and unregistration does to a registration.

use std::time::{Duration, Instant};

use rand::RngExt;
use sip_msg::Message;

use super::random::{DialogIds, random_hex};
use super::{AfterUnregister, InFlight, Purpose, Registration, set_text};
use crate::account::{Account, PackedAccount};
use crate::auth::{self, AuthCache, ChooseError};
use crate::explain;
use crate::request::{AuthHeader, contact_uri, request_uri};
use crate::response::{self, Grant};
use crate::status::State;

impl Registration {
    pub(super) fn on_success(&mut self, now: Instant, flight: &InFlight, msg: &Message<'_>) {
        if flight.purpose == Purpose::Unregister {
            self.finish_unregister(now, None);
            return;
        }
        let contact = contact_uri(&self.account, &self.binding);
        match response::grant(msg, &contact, self.account.contact_user(), self.expires) {
            Grant::Granted { expires, warning } => {
                let sent = flight.txn.started();
                self.state = State::Registered;
                self.failures = 0;
                self.last_success = Some(now);
                self.granted_expires = Some(expires);
                self.registered_until = Some(sent + Duration::from_secs(u64::from(expires)));
                self.contact_rewritten = warning.is_some();
                self.last_error = warning.map(Into::into);
                let refresh = refresh_delay(expires)
                    .mul_f64(1.0 - self.rng.generator().random_range(0.0..=0.05));
                self.next_attempt = Some(sent + refresh);
            }
            Grant::Refused(text) => {
                self.fail(now, Purpose::Register, State::ServerError, text, None)
            }
        }
    }

    pub(super) fn on_challenge(
        &mut self,
        now: Instant,
        flight: &InFlight,
        msg: &Message<'_>,
        code: u16,
    ) {
        let header = if code == 407 {
            AuthHeader::Proxy
        } else {
            AuthHeader::Www
        };
        let chosen = match auth::choose(msg, header, &self.account) {
            Ok(chosen) => chosen,
            Err(ChooseError::Missing(text)) => {
                self.fail(now, flight.purpose, State::ServerError, text, None);
                return;
            }
            Err(ChooseError::Unanswerable(text)) => {
                self.fail(now, flight.purpose, State::CredentialsRejected, text, None);
                return;
            }
        };
        let realm = &chosen.challenge.realm;
        set_text(&mut self.realm, realm);
        if let Some(configured) = self.account.required_realm()
            && configured != realm
        {
            let text = explain::realm_mismatch(realm, configured);
            self.fail(now, flight.purpose, State::RealmMismatch, text, None);
            return;
        }
        let mut stale_retried = flight.stale_retried;
        if flight.answered {
            if chosen.challenge.stale && !stale_retried {
                stale_retried = true;
            } else {
                let text = explain::credentials_rejected(&self.account, realm);
                self.fail(now, flight.purpose, State::CredentialsRejected, text, None);
                return;
            }
        }
        let mut cache = AuthCache::adopt(self.auth.take(), &chosen);
        let cnonce = random_hex(&mut self.rng);
        let answer = cache.answer(&self.account, &request_uri(&self.account), &cnonce);
        self.auth = Some(cache);
        match answer {
            Ok(credentials) => {
                self.send(now, flight.purpose, Some(credentials), true, stale_retried);
                if flight.purpose == Purpose::Register && self.state != State::Registered {
                    self.state = State::Authenticating;
                }
            }
            Err(e) => {
                let text = format!(
                    "cannot answer the trunk's challenge for realm {realm}: {e}; check auth_username and the secret"
                );
                self.fail(now, flight.purpose, State::CredentialsRejected, text, None);
            }
        }
    }

    pub(super) fn on_interval_too_brief(
        &mut self,
        now: Instant,
        flight: &InFlight,
        msg: &Message<'_>,
    ) {
        let min = response::min_expires(msg);
        match min {
            Some(min) if flight.purpose == Purpose::Register && min > self.expires => {
                self.expires = min;
                self.start(now, Purpose::Register);
            }
            _ => {
                let text = explain::bad_min_expires(self.expires, min);
                self.fail(now, flight.purpose, State::ServerError, text, None);
            }
        }
    }

    /// A failure of the request for `purpose`: unregistration ends; registration backs off and retries.
    pub(super) fn fail(
        &mut self,
        now: Instant,
        purpose: Purpose,
        state: State,
        text: String,
        retry_after: Option<u32>,
    ) {
        if purpose == Purpose::Unregister {
            self.finish_unregister(now, Some(text));
            return;
        }
        self.failures = self.failures.saturating_add(1);
        self.state = state;
        self.last_error = Some(text.into());
        if matches!(state, State::CredentialsRejected | State::RealmMismatch) {
            self.auth = None;
        }
        if self.registered_until.is_some_and(|until| until <= now) {
            self.registered_until = None;
        }
        let delay = match retry_after {
            Some(secs) => Duration::from_secs(u64::from(secs)).min(self.policy.max_retry_after),
            None => self
                .policy
                .retry_delay(state, self.failures, &mut self.rng.generator()),
        };
        self.next_attempt = Some(now + delay);
    }

    /// Sends `Expires: 0` for the held binding (abandoning a REGISTER in flight), then does `after`.
    pub(super) fn begin_unregister(&mut self, now: Instant, after: AfterUnregister) {
        if !matches!(self.after_unregister, Some(AfterUnregister::Shutdown)) {
            self.after_unregister = Some(after);
        }
        if self
            .in_flight
            .as_ref()
            .is_some_and(|f| f.purpose == Purpose::Unregister)
        {
            return;
        }
        self.start(now, Purpose::Unregister);
    }

    pub(super) fn finish_unregister(&mut self, now: Instant, error: Option<String>) {
        self.registered_until = None;
        self.granted_expires = None;
        self.contact_rewritten = false;
        self.next_attempt = None;
        match self.after_unregister.take() {
            Some(AfterUnregister::Disable) => self.state = State::Disabled,
            Some(AfterUnregister::Replace(account)) => self.replace(now, *account),
            Some(AfterUnregister::Shutdown) | None => {
                self.state = State::Unregistered;
                self.finished = true;
            }
        }
        match error {
            Some(e) => self.last_error = Some(explain::unregister_failed(&e).into()),
            None if self.state != State::ConfigError => {
                self.last_error = None;
                self.failures = 0;
            }
            None => {}
        }
    }

    /// Switches to new settings: new Call-ID, From tag and CSeq; registers at once when it should.
    pub(super) fn replace(&mut self, now: Instant, account: Account) {
        self.in_flight = None;
        self.previous = None;
        self.account = PackedAccount::new(&account);
        self.expires = account.expires;
        self.ids = DialogIds::new(&mut self.rng, &self.binding);
        self.cseq = 0;
        self.auth = None;
        self.realm = None;
        self.failures = 0;
        self.granted_expires = None;
        self.registered_until = None;
        self.contact_rewritten = false;
        self.last_error = None;
        self.last_code = None;
        self.last_reason = None;
        self.next_attempt = None;
        if self.settle_idle_state(&account) {
            self.start(now, Purpose::Register);
        }
    }
}

/// When to refresh a binding granted for `granted` seconds: `max(g/2, g − clamp(g/10, 5 s, 300 s))`.
pub(crate) fn refresh_delay(granted: u32) -> Duration {
    let granted = Duration::from_secs(u64::from(granted));
    let margin = (granted / 10).clamp(Duration::from_secs(5), Duration::from_secs(300));
    (granted / 2).max(granted.saturating_sub(margin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_margins() {
        let secs = |g| refresh_delay(g).as_secs_f64();
        assert_eq!(secs(3600), 3300.0);
        assert_eq!(secs(600), 540.0);
        assert_eq!(secs(60), 54.0);
        assert_eq!(secs(8), 4.0);
        assert_eq!(secs(86_400), 86_100.0);
    }
}
