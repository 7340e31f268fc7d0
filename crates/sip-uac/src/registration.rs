//! One outbound registration's state machine (RFC 3261 §10.2), driven by the shell.

mod outcome;
mod random;

use std::collections::VecDeque;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use rand::RngExt;
use sip_msg::{Message, Method};

use crate::account::{Account, PackedAccount};
use crate::auth::AuthCache;
use crate::backoff::RetryPolicy;
use crate::explain;
use crate::next_hop::NextHop;
use crate::request::{AuthHeader, RegisterRequest, contact_uri, request_uri};
use crate::response;
use crate::status::{State, Status};
use crate::transaction::{ClientTransaction, TimerEvent, Timers};
use crate::transmit::{LocalBinding, SendError, Transmit};
use random::{DialogIds, RandomSeed, random_hex};

/// What a REGISTER is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Register,
    Unregister,
}

/// What follows a completed unregistration.
#[derive(Debug)]
enum AfterUnregister {
    Shutdown,
    Disable,
    Replace(Box<Account>),
}

/// The REGISTER on its way.
#[derive(Debug)]
struct InFlight {
    txn: ClientTransaction,
    purpose: Purpose,
    destination: NextHop,
    /// The request answers a challenge received for the previous one.
    answered: bool,
    /// A `stale=true` challenge was already answered in this exchange.
    stale_retried: bool,
}

/// One outbound registration: a sans-IO state machine.
///
/// The shell sends what [`Registration::poll_transmit`] returns, calls [`Registration::handle_timeout`] at
/// [`Registration::poll_timeout`], and hands it responses whose Call-ID it claims
/// ([`Registration::matches_call_id`]). The Call-ID and From tag stay the same for the registration's life, across
/// refreshes and failures; only [`Registration::update_account`] with changed settings starts a new one.
#[derive(Debug)]
pub struct Registration {
    account: PackedAccount,
    /// Shared by every registration with the same local addresses.
    binding: Arc<LocalBinding>,
    /// Shared by every registration with the same timers.
    timers: Arc<Timers>,
    /// Shared by every registration that uses the same policy.
    policy: Arc<RetryPolicy>,
    rng: RandomSeed,
    /// The Call-ID and From tag, written from these when needed.
    ids: DialogIds,
    cseq: u32,
    /// Requested expiry; raised by a 423's Min-Expires.
    expires: u32,
    auth: Option<AuthCache>,
    /// Boxed: most of the time there is none, and thousands of registrations sit idle.
    in_flight: Option<Box<InFlight>>,
    /// Branch and CSeq of the last completed transaction, whose retransmitted responses are ignored.
    previous: Option<(u64, u32)>,
    outbox: VecDeque<Transmit>,
    next_attempt: Option<Instant>,
    after_unregister: Option<AfterUnregister>,
    shutting_down: bool,
    finished: bool,
    state: State,
    last_code: Option<u16>,
    last_reason: Option<Box<str>>,
    realm: Option<Box<str>>,
    last_success: Option<Instant>,
    failures: u32,
    granted_expires: Option<u32>,
    registered_until: Option<Instant>,
    last_error: Option<Box<str>>,
    contact_rewritten: bool,
}

impl Registration {
    /// A registration whose first REGISTER is due at `now + reg_delay + random(0..initial_spread)`.
    ///
    /// A disabled account, `expires == 0` or an account that fails [`Account::validate`] sends nothing (states
    /// [`State::Disabled`], [`State::NotRegistering`], [`State::ConfigError`]). `seed` drives every random choice
    /// (Call-ID, tags, branches, cnonces, jitter). Registrations with the same local addresses may share one
    /// `binding`.
    pub fn new(
        account: Account,
        binding: impl Into<Arc<LocalBinding>>,
        now: Instant,
        initial_spread: Duration,
        seed: u64,
    ) -> Self {
        let binding = binding.into();
        let mut rng = RandomSeed::new(seed);
        let ids = DialogIds::new(&mut rng, &binding);
        let expires = account.expires;
        let mut reg = Self {
            account: PackedAccount::new(&account),
            binding,
            timers: Arc::new(Timers::default()),
            policy: default_policy(),
            rng,
            ids,
            cseq: 0,
            expires,
            auth: None,
            in_flight: None,
            previous: None,
            outbox: VecDeque::new(),
            next_attempt: None,
            after_unregister: None,
            shutting_down: false,
            finished: false,
            state: State::Waiting,
            last_code: None,
            last_reason: None,
            realm: None,
            last_success: None,
            failures: 0,
            granted_expires: None,
            registered_until: None,
            last_error: None,
            contact_rewritten: false,
        };
        if reg.settle_idle_state(&account) {
            let spread = initial_spread.mul_f64(reg.rng.generator().random::<f64>());
            reg.next_attempt = Some(now + reg.account.reg_delay() + spread);
        }
        reg
    }

    /// Replaces the transaction timers (for tests, or a shell with other T1/T2).
    #[must_use]
    pub fn with_timers(mut self, timers: Arc<Timers>) -> Self {
        self.timers = timers;
        self
    }

    /// Replaces the retry policy.
    #[must_use]
    pub fn with_retry_policy(mut self, policy: Arc<RetryPolicy>) -> Self {
        self.policy = policy;
        self
    }

    /// The next request to send, if any.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        let next = self.outbox.pop_front();
        if self.outbox.is_empty() {
            // An idle registration keeps no queue buffer: thousands of them wait between refreshes.
            self.outbox = VecDeque::new();
        }
        next
    }

    /// The earliest time [`Registration::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.finished {
            return None;
        }
        let txn = self.in_flight.as_ref().map(|f| f.txn.poll_timeout());
        match (txn, self.next_attempt) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs what is due at `now`: retransmission (Timer E), timeout (Timer F), refresh or retry.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.finished {
            return;
        }
        if let Some(flight) = &mut self.in_flight {
            match flight.txn.handle_timeout(now, &self.timers) {
                Some(TimerEvent::Retransmit) => {
                    let transmit = Transmit {
                        destination: flight.destination.clone(),
                        local: self.binding.local,
                        payload: flight.txn.payload().to_vec(),
                    };
                    self.outbox.push_back(transmit);
                }
                Some(TimerEvent::TimedOut) => {
                    if let Some(flight) = self.complete_in_flight() {
                        let text = explain::timeout(
                            &flight.destination,
                            now - flight.txn.started(),
                            flight.txn.transmissions(),
                        );
                        self.fail(now, flight.purpose, State::Timeout, text, None);
                    }
                }
                None => {}
            }
            return;
        }
        if self.next_attempt.is_some_and(|at| now >= at) {
            self.start(now, Purpose::Register);
        }
    }

    /// Handles a response; returns false when it is not ours (other Call-ID, branch or CSeq).
    ///
    /// A retransmitted final response, or a late one for a request already given up, is ours but changes nothing.
    pub fn handle_response(&mut self, now: Instant, msg: &Message<'_>) -> bool {
        let Some((code, reason)) = msg.status() else {
            return false;
        };
        if !msg.call_id().is_ok_and(|c| self.matches_call_id(c)) {
            return false;
        }
        let Ok(cseq) = msg.cseq() else {
            return false;
        };
        if cseq.method != Method::Register {
            return false;
        }
        let Some(branch) = msg.top_via().ok().and_then(|via| via.branch()) else {
            return false;
        };
        let current = self
            .in_flight
            .as_ref()
            .is_some_and(|f| f.txn.matches(branch, cseq.seq));
        if !current {
            return self
                .previous
                .as_ref()
                .is_some_and(|&(b, seq)| b == branch_key(branch) && seq == cseq.seq);
        }
        if code < 200 {
            if let Some(flight) = &mut self.in_flight {
                flight.txn.provisional();
            }
            return true;
        }
        let Some(flight) = self.complete_in_flight() else {
            return true;
        };
        self.last_code = Some(code);
        set_text(&mut self.last_reason, reason);
        match code {
            200..=299 => self.on_success(now, &flight, msg),
            401 | 407 => self.on_challenge(now, &flight, msg, code),
            423 => self.on_interval_too_brief(now, &flight, msg),
            _ => {
                let state = match code {
                    403 => State::Forbidden,
                    408 => State::Timeout,
                    _ => State::ServerError,
                };
                let text = explain::error_response(&self.account, code, reason);
                let retry_after = response::retry_after(msg);
                self.fail(now, flight.purpose, state, text, retry_after);
            }
        }
        true
    }

    /// The shell could not send the last [`Transmit`]: the request in flight fails now.
    pub fn handle_send_error(&mut self, now: Instant, error: SendError) {
        let Some(flight) = self.complete_in_flight() else {
            return;
        };
        let state = match error {
            SendError::Dns(_) => State::DnsFailure,
            SendError::Transport(_) => State::TransportError,
        };
        let text = explain::send_error(&flight.destination, &error);
        self.fail(now, flight.purpose, state, text, None);
    }

    /// The TCP flow dropped: a registered or registering binding is registered again at once.
    pub fn connection_lost(&mut self, now: Instant) {
        self.restart_if_active(now);
    }

    /// The local address changed: a registered or registering binding is registered again at once, with the new
    /// Via and Contact (same Call-ID, new CSeq). The old Contact stays at the trunk until it expires.
    pub fn set_local_binding(&mut self, now: Instant, binding: impl Into<Arc<LocalBinding>>) {
        let binding = binding.into();
        let changed = binding != self.binding;
        self.binding = binding;
        if changed {
            self.restart_if_active(now);
        }
    }

    /// Sends a REGISTER now (operator request), unless one is already on its way or the registration does not
    /// register (disabled, `expires` 0, invalid settings, shut down).
    pub fn refresh_now(&mut self, now: Instant) {
        let idle_state = matches!(
            self.state,
            State::Disabled | State::NotRegistering | State::ConfigError | State::Unregistered
        );
        if self.finished || self.shutting_down || self.in_flight.is_some() || idle_state {
            return;
        }
        self.start(now, Purpose::Register);
    }

    /// Enables or disables the registration. Disabling a registered one unregisters it (`Expires: 0`) and then
    /// rests in [`State::Disabled`]; enabling registers at once.
    pub fn set_enabled(&mut self, now: Instant, enabled: bool) {
        if self.finished || self.shutting_down {
            return;
        }
        if let Some(AfterUnregister::Replace(next)) = &mut self.after_unregister {
            next.enabled = enabled;
            return;
        }
        if self.account.enabled == enabled {
            return;
        }
        self.account.enabled = enabled;
        if self.state == State::ConfigError {
            return;
        }
        if enabled {
            if matches!(self.after_unregister, Some(AfterUnregister::Disable)) {
                self.after_unregister = None;
            }
            if self.settle_idle_state(&self.account.unpack()) {
                self.start(now, Purpose::Register);
            }
        } else if self.holds_binding(now) {
            self.begin_unregister(now, AfterUnregister::Disable);
        } else {
            self.in_flight = None;
            self.next_attempt = None;
            self.state = State::Disabled;
        }
    }

    /// Applies changed settings from a reload.
    ///
    /// Unchanged settings keep everything; a change of `enabled` alone acts like
    /// [`Registration::set_enabled`]. Any other change unregisters the old binding first when the trunk may hold
    /// it, then registers the new settings at once with a new Call-ID and From tag.
    pub fn update_account(&mut self, now: Instant, account: Account) {
        if self.finished || self.shutting_down || self.account.same_settings(&account) {
            return;
        }
        if self.account.same_but_enabled(&account) {
            self.set_enabled(now, account.enabled);
            return;
        }
        if self.holds_binding(now) {
            self.begin_unregister(now, AfterUnregister::Replace(Box::new(account)));
        } else {
            self.replace(now, account);
        }
    }

    /// Stops the registration. With `unregister` a held binding is removed first (`Expires: 0`, answering a
    /// challenge if needed) and [`Registration::is_finished`] turns true once that is answered or timed out;
    /// without it, the registration is finished at once.
    pub fn shutdown(&mut self, now: Instant, unregister: bool) {
        if self.finished {
            return;
        }
        self.shutting_down = true;
        self.next_attempt = None;
        if unregister && self.holds_binding(now) {
            self.begin_unregister(now, AfterUnregister::Shutdown);
            return;
        }
        self.complete_in_flight();
        self.outbox.clear();
        self.after_unregister = None;
        self.finished = true;
        if unregister {
            self.state = State::Unregistered;
        }
    }

    /// Whether, after [`Registration::shutdown`], nothing is left to send or wait for.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The current state alone (cheap, for counting).
    pub fn state(&self) -> State {
        self.state
    }

    /// A snapshot for the CLI, the API and metrics.
    pub fn status(&self) -> Status {
        Status {
            state: self.state,
            last_code: self.last_code,
            last_reason: self.last_reason.as_deref().map(Into::into),
            realm: self.realm.as_deref().map(Into::into),
            last_success: self.last_success,
            failures: self.failures,
            granted_expires: self.granted_expires,
            registered_until: self.registered_until,
            next_attempt: self.next_attempt,
            last_error: self.last_error.as_deref().map(Into::into),
            contact: contact_uri(&self.account, &self.binding),
            call_id: self.call_id(),
            cseq: self.cseq,
            contact_rewritten: self.contact_rewritten,
        }
    }

    /// The Call-ID of every REGISTER of this registration.
    pub fn call_id(&self) -> String {
        self.ids.call_id()
    }

    /// Whether a response with this Call-ID is for this registration.
    pub fn matches_call_id(&self, call_id: &str) -> bool {
        self.ids.call_id() == call_id
    }

    /// The settings in use.
    pub fn account(&self) -> &PackedAccount {
        &self.account
    }

    /// The local addresses in use.
    pub fn local_binding(&self) -> &LocalBinding {
        &self.binding
    }

    /// Sets the resting state of `account` (the settings in use, unpacked) when it sends nothing; true when it
    /// should register.
    fn settle_idle_state(&mut self, account: &Account) -> bool {
        if let Err(e) = account.validate() {
            self.state = State::ConfigError;
            self.last_error = Some(
                format!("this registration's settings cannot be used, so nothing is sent: {e}")
                    .into(),
            );
            return false;
        }
        self.state = if !account.enabled {
            State::Disabled
        } else if account.expires == 0 {
            State::NotRegistering
        } else {
            return true;
        };
        false
    }

    /// Whether the trunk may hold our binding: registered and not expired, a REGISTER on its way, or an
    /// unregistration under way.
    fn holds_binding(&self, now: Instant) -> bool {
        self.registered_until.is_some_and(|until| until > now)
            || self
                .in_flight
                .as_ref()
                .is_some_and(|f| f.purpose == Purpose::Register)
            || self.after_unregister.is_some()
    }

    /// Sends the request in flight again at once (new CSeq), or refreshes a registered binding.
    fn restart_if_active(&mut self, now: Instant) {
        if self.finished {
            return;
        }
        if let Some(flight) = self.complete_in_flight() {
            self.start(now, flight.purpose);
        } else if self.state == State::Registered {
            self.start(now, Purpose::Register);
        }
    }

    /// Ends the transaction in flight, remembering it so its late responses are recognised.
    fn complete_in_flight(&mut self) -> Option<Box<InFlight>> {
        let flight = self.in_flight.take()?;
        self.previous = Some((branch_key(flight.txn.branch()), flight.txn.cseq()));
        Some(flight)
    }

    /// Sends a new REGISTER (new CSeq and branch), answering the kept challenge pre-emptively.
    fn start(&mut self, now: Instant, purpose: Purpose) {
        let credentials = self.preemptive_credentials();
        self.send(now, purpose, credentials, false, false);
        self.state = match purpose {
            Purpose::Register if self.state == State::Registered => State::Registered,
            Purpose::Register => State::Registering,
            Purpose::Unregister => State::Unregistering,
        };
    }

    fn preemptive_credentials(&mut self) -> Option<(AuthHeader, String)> {
        let cnonce = random_hex(&mut self.rng);
        let uri = request_uri(&self.account);
        let cache = self.auth.as_mut()?;
        cache.answer(&self.account, &uri, &cnonce).ok()
    }

    fn send(
        &mut self,
        now: Instant,
        purpose: Purpose,
        credentials: Option<(AuthHeader, String)>,
        answered: bool,
        stale_retried: bool,
    ) {
        self.complete_in_flight();
        self.cseq = self.cseq.wrapping_add(1).max(1);
        let branch = format!("z9hG4bK{}", random_hex(&mut self.rng));
        let payload = RegisterRequest {
            account: &self.account,
            binding: &self.binding,
            call_id: &self.ids.call_id(),
            from_tag: &self.ids.tag(),
            cseq: self.cseq,
            branch: &branch,
            expires: match purpose {
                Purpose::Register => self.expires,
                Purpose::Unregister => 0,
            },
            credentials: credentials.as_ref().map(|(h, v)| (*h, v.as_str())),
        }
        .write();
        let destination = self.account.next_hop();
        self.outbox.push_back(Transmit {
            destination: destination.clone(),
            local: self.binding.local,
            payload: payload.clone(),
        });
        let reliable = self.binding.transport.is_reliable();
        self.in_flight = Some(Box::new(InFlight {
            txn: ClientTransaction::new(branch, self.cseq, payload, reliable, &self.timers, now),
            purpose,
            destination,
            answered,
            stale_retried,
        }));
        self.next_attempt = None;
    }
}

/// A branch reduced to a hash: enough to recognise a late response to the previous transaction.
fn branch_key(branch: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(branch)
}

/// Stores `text` in `slot` unless it is there already: a refresh then allocates nothing that outlives it, and the
/// texts kept by thousands of registrations stay where the first exchange put them.
fn set_text(slot: &mut Option<Box<str>>, text: &str) {
    if slot.as_deref() != Some(text) {
        *slot = Some(text.into());
    }
}

/// The default retry policy, shared by every registration that keeps it.
fn default_policy() -> Arc<RetryPolicy> {
    static DEFAULT: LazyLock<Arc<RetryPolicy>> = LazyLock::new(|| Arc::new(RetryPolicy::default()));
    Arc::clone(&DEFAULT)
}
