//! The task that runs every outbound registration: it feeds each sans-IO [`Registration`] with responses,
//! timer expiries, send failures and operator commands, and sends what they ask.
//!
//! Timers are one binary heap of `(deadline, slot)`; an entry whose deadline moved is skipped when it pops (each
//! registration remembers the deadline it is scheduled for), so thousands of registrations cost one sleep. The
//! registrations themselves live in a [`Registry`].

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sip_msg::Limits;
use sip_transport::{ReplyHandle, Transports};
use sip_uac::{Registration, State, Timers};
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};
use uacreg::UacRow;

use super::account::Origin;
use super::bindings::SharedBindings;
use super::inbound::{InboundMap, InboundTargets};
use super::registry::{Entry, Registry, Slot};
use super::sender::{Failed, Sender};
use super::source::{Definition, Sources};
use super::view::{RegistrationView, view};
use super::{ReloadReport, UacError};

/// Everything the driver reacts to.
pub(crate) enum Event {
    /// A SIP response arrived on one of our sockets.
    Response(Bytes),
    /// A TCP connection closed.
    ConnectionClosed(u64),
    /// A name lookup finished.
    Resolved {
        key: (String, u16),
        result: Result<Vec<std::net::SocketAddr>, String>,
    },
    /// An outgoing connection was opened, or failed.
    Connected {
        remote: std::net::SocketAddr,
        result: Result<ReplyHandle, String>,
    },
    /// An operator command.
    Control(Control),
}

/// Operator commands, each with the channel its answer goes to.
pub(crate) enum Control {
    List(oneshot::Sender<Vec<RegistrationView>>),
    Show(String, oneshot::Sender<Result<RegistrationView, UacError>>),
    Refresh(String, oneshot::Sender<Result<RegistrationView, UacError>>),
    SetEnabled(
        String,
        bool,
        oneshot::Sender<Result<RegistrationView, UacError>>,
    ),
    Reload(oneshot::Sender<Result<ReloadReport, UacError>>),
    Add(
        Box<UacRow>,
        oneshot::Sender<Result<RegistrationView, UacError>>,
    ),
    Remove(String, oneshot::Sender<Result<(), UacError>>),
    Shutdown(bool, oneshot::Sender<()>),
}

/// Settings fixed at start.
pub(crate) struct Settings {
    pub(crate) sources: Sources,
    pub(crate) timers: Arc<Timers>,
    pub(crate) initial_spread: Duration,
}

/// The driver's state.
pub(crate) struct Driver {
    settings: Settings,
    entries: Registry,
    bindings: SharedBindings,
    timers: BinaryHeap<Reverse<(Instant, Slot)>>,
    sender: Sender,
    inbound: Arc<InboundMap>,
    counts: Arc<Mutex<Vec<(&'static str, usize)>>>,
    limits: Limits,
    seed: u64,
    stopping: Option<oneshot::Sender<()>>,
    /// Rows that cannot be used, shown in the list with their reason.
    invalid: Vec<RegistrationView>,
}

impl Driver {
    /// A driver with no registrations yet; [`Driver::run`] loads them.
    pub(crate) fn new(
        settings: Settings,
        transports: Arc<Transports>,
        events: mpsc::Sender<Event>,
        inbound: Arc<InboundMap>,
        counts: Arc<Mutex<Vec<(&'static str, usize)>>>,
    ) -> Self {
        Self {
            settings,
            entries: Registry::default(),
            bindings: SharedBindings::default(),
            timers: BinaryHeap::new(),
            sender: Sender::new(transports, events),
            inbound,
            counts,
            limits: Limits::default(),
            seed: rand::random(),
            stopping: None,
            invalid: Vec::new(),
        }
    }

    /// Loads the registrations and runs them until shut down (or every handle is gone).
    pub(crate) async fn run(mut self, mut events: mpsc::Receiver<Event>) {
        let report = self.reload().await;
        info!(
            registrations = self.entries.len(),
            errors = report.errors.len(),
            "outbound registrations loaded"
        );
        let mut gauges = tokio::time::interval(Duration::from_secs(1));
        gauges.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let next = self.timers.peek().map(|Reverse((t, _))| *t);
            let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(
                next.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600)),
            ));
            tokio::select! {
                event = events.recv() => match event {
                    Some(event) => self.handle(event).await,
                    None => break,
                },
                () = sleep, if next.is_some() => self.fire_timers(Instant::now()),
                _ = gauges.tick() => self.publish_counts(),
            }
            if self.stopping.is_some() && self.entries.iter().all(|(_, e)| e.reg.is_finished()) {
                break;
            }
        }
        self.publish_counts();
        if let Some(done) = self.stopping.take() {
            let _ = done.send(());
        }
    }

    async fn handle(&mut self, event: Event) {
        let now = Instant::now();
        match event {
            Event::Response(data) => self.response(&data, now),
            Event::ConnectionClosed(connection) => {
                for id in self.sender.connection_closed(connection) {
                    self.with(&id, now, |reg| reg.connection_lost(now));
                }
            }
            Event::Resolved { key, result } => {
                let failed = self.sender.resolved(key, result, now);
                self.fail_sends(failed, now);
            }
            Event::Connected { remote, result } => {
                let failed = self.sender.connected(remote, result);
                self.fail_sends(failed, now);
            }
            Event::Control(control) => self.control(control, now).await,
        }
    }

    fn response(&mut self, data: &[u8], now: Instant) {
        let Ok(msg) = sip_msg::parse(data, &self.limits) else {
            return;
        };
        let Some(slot) = msg
            .call_id()
            .ok()
            .and_then(|c| self.entries.slot_of_call_id(c))
        else {
            return;
        };
        self.with_slot(slot, now, |reg| {
            reg.handle_response(now, &msg);
        });
    }

    fn fail_sends(&mut self, failed: Vec<Failed>, now: Instant) {
        for f in failed {
            let Failed { id, error } = f;
            self.with(&id, now, move |reg| reg.handle_send_error(now, error));
        }
    }

    /// Runs `f` on registration `id`, then sends what it asks and reschedules it.
    fn with(&mut self, id: &str, now: Instant, f: impl FnOnce(&mut Registration)) {
        if let Some(slot) = self.entries.slot_of(id) {
            self.with_slot(slot, now, f);
        }
    }

    /// Runs `f` on the registration in `slot`, then sends what it asks and reschedules it.
    fn with_slot(&mut self, slot: Slot, now: Instant, f: impl FnOnce(&mut Registration)) {
        let Some(entry) = self.entries.get_mut(slot) else {
            return;
        };
        f(&mut entry.reg);
        self.after(slot, now);
    }

    /// Sends a registration's transmits, re-indexes its Call-ID, reschedules its timer, and drops it once a
    /// leaving registration is finished.
    fn after(&mut self, slot: Slot, now: Instant) {
        let mut failed = Vec::new();
        loop {
            let Some(entry) = self.entries.get_mut(slot) else {
                return;
            };
            let Some(t) = entry.reg.poll_transmit() else {
                break;
            };
            if let Some(f) = self.sender.send(entry.reg.account().id(), t, now) {
                failed.push(f);
            }
        }
        let Some(entry) = self.entries.get_mut(slot) else {
            return;
        };
        for Failed { error, .. } in failed {
            // A failed send schedules a retry through the timer; it never asks for a send at once.
            entry.reg.handle_send_error(now, error);
        }
        if entry.leaving && entry.reg.is_finished() {
            self.entries.remove(slot);
            return;
        }
        let deadline = entry.reg.poll_timeout();
        if deadline != entry.scheduled {
            entry.scheduled = deadline;
            if let Some(t) = deadline {
                self.timers.push(Reverse((t, slot)));
            }
        }
        // The account may have changed and taken a new Call-ID.
        self.entries.index_call_id(slot);
    }

    fn fire_timers(&mut self, now: Instant) {
        while let Some(Reverse((t, _))) = self.timers.peek() {
            if *t > now {
                break;
            }
            let Some(Reverse((t, slot))) = self.timers.pop() else {
                break;
            };
            // A slot freed and reused since keeps its own deadline, so this one is skipped.
            let Some(entry) = self.entries.get_mut(slot) else {
                continue;
            };
            if entry.scheduled != Some(t) {
                continue;
            }
            entry.scheduled = None;
            entry.reg.handle_timeout(now);
            self.after(slot, now);
        }
    }

    async fn control(&mut self, control: Control, now: Instant) {
        match control {
            Control::List(reply) => {
                let mut all: Vec<_> = self
                    .entries
                    .iter()
                    .map(|(_, e)| e)
                    .filter(|e| !e.leaving)
                    .map(|e| view(&e.reg, &e.origin, now))
                    .chain(self.invalid.iter().cloned())
                    .collect();
                all.sort_by(|a, b| a.id.cmp(&b.id));
                let _ = reply.send(all);
            }
            Control::Show(id, reply) => {
                let _ = reply.send(self.view_of(&id, now));
            }
            Control::Refresh(id, reply) => {
                self.with(&id, now, |reg| reg.refresh_now(now));
                let _ = reply.send(self.view_of(&id, now));
            }
            Control::SetEnabled(id, enabled, reply) => {
                let _ = reply.send(self.set_enabled(&id, enabled, now).await);
            }
            Control::Reload(reply) => {
                let _ = reply.send(Ok(self.reload().await));
            }
            Control::Add(row, reply) => {
                let _ = reply.send(self.add(*row).await);
            }
            Control::Remove(id, reply) => {
                let _ = reply.send(self.remove(&id).await);
            }
            Control::Shutdown(unregister, done) => {
                let slots: Vec<Slot> = self.entries.iter().map(|(s, _)| s).collect();
                for slot in slots {
                    self.with_slot(slot, now, |reg| reg.shutdown(now, unregister));
                }
                self.stopping = Some(done);
            }
        }
    }

    fn view_of(&self, id: &str, now: Instant) -> Result<RegistrationView, UacError> {
        self.entries
            .find(id)
            .filter(|e| !e.leaving)
            .map(|e| view(&e.reg, &e.origin, now))
            .or_else(|| self.invalid.iter().find(|v| v.id == id).cloned())
            .ok_or_else(|| UacError::NotFound(id.to_owned()))
    }

    async fn set_enabled(
        &mut self,
        id: &str,
        enabled: bool,
        now: Instant,
    ) -> Result<RegistrationView, UacError> {
        let entry = self
            .entries
            .find(id)
            .filter(|e| !e.leaving)
            .ok_or_else(|| UacError::NotFound(id.to_owned()))?;
        if let Origin::Table { .. } = entry.origin {
            // Kept in the table, so the choice survives a restart or reload.
            let flags = i64::from(!enabled);
            self.settings
                .sources
                .set_flags(id, flags)
                .await
                .map_err(UacError::Table)?;
        }
        self.with(id, now, |reg| reg.set_enabled(now, enabled));
        self.view_of(id, now)
    }

    async fn add(&mut self, mut row: UacRow) -> Result<RegistrationView, UacError> {
        if self
            .entries
            .find(row.l_uuid.as_str())
            .is_some_and(|e| !e.leaving)
        {
            return Err(UacError::Invalid(format!(
                "l_uuid {:?} is already registered; remove it first or pick another id",
                row.l_uuid
            )));
        }
        // Checked before it is written, so a bad row never reaches the table.
        self.settings
            .sources
            .definition(&row, Origin::Table { id: 0 })
            .map_err(|e| UacError::Invalid(e.0))?;
        row.id = self
            .settings
            .sources
            .insert(&row)
            .await
            .map_err(UacError::Table)?;
        let definition = self
            .settings
            .sources
            .definition(&row, Origin::Table { id: row.id })
            .map_err(|e| UacError::Invalid(e.0))?;
        let id = definition.account.id.clone();
        self.start(definition, Duration::ZERO, Instant::now());
        self.rebuild_inbound();
        self.view_of(&id, Instant::now())
    }

    async fn remove(&mut self, id: &str) -> Result<(), UacError> {
        let entry = self
            .entries
            .find(id)
            .filter(|e| !e.leaving)
            .ok_or_else(|| UacError::NotFound(id.to_owned()))?;
        if let Origin::Config(_) = entry.origin {
            return Err(UacError::Invalid(format!(
                "{id:?} is defined in {}; delete it there and run `lamppost reg reload`",
                entry.origin
            )));
        }
        self.settings
            .sources
            .remove(id)
            .await
            .map_err(UacError::Table)?;
        self.leave(id, Instant::now());
        self.rebuild_inbound();
        Ok(())
    }

    /// Unregisters a registration whose definition is gone; it is dropped once that is done.
    fn leave(&mut self, id: &str, now: Instant) {
        let Some(slot) = self.entries.slot_of(id) else {
            return;
        };
        if let Some(entry) = self.entries.get_mut(slot) {
            entry.leaving = true;
            entry.reg.shutdown(now, true);
            self.after(slot, now);
        }
    }

    /// Re-reads every definition and applies the difference: unchanged registrations keep their state, Call-ID
    /// and timers; changed ones re-register; new ones start; removed ones unregister.
    async fn reload(&mut self) -> ReloadReport {
        let reading = self.settings.sources.read().await;
        let now = Instant::now();
        let mut report = ReloadReport::default();
        // What runs from a source that could not be read stays as it is: a database outage must not unregister
        // every trunk.
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        for (error, kind) in [
            (&reading.table_error, "table"),
            (&reading.config_error, "config"),
        ] {
            if let Some(error) = error {
                warn!(%error, "outbound registrations: cannot read the {kind}; its registrations keep running");
                report.errors.push(format!(
                    "cannot read the {kind} ({error}); its registrations keep running as they were"
                ));
                seen.extend(
                    self.entries
                        .iter()
                        .filter(|(_, e)| e.origin.kind() == kind)
                        .map(|(_, e)| e.reg.account().id().to_owned()),
                );
            }
        }
        self.invalid.clear();
        for bad in reading.invalid {
            warn!(error = %bad.error, "outbound registration skipped");
            if self
                .entries
                .find(bad.row.l_uuid.as_str())
                .is_some_and(|e| !e.leaving)
            {
                // A running registration whose row turned bad keeps its last good settings.
                seen.insert(bad.row.l_uuid.clone());
                report.errors.push(format!(
                    "{}; it keeps running with its previous settings",
                    bad.error
                ));
            } else {
                report.errors.push(bad.error.clone());
                self.invalid
                    .push(super::view::invalid(&bad.row, &bad.origin, &bad.error));
            }
        }
        let definitions = reading.definitions;
        self.entries.reserve(definitions.len());
        for d in definitions {
            let id = d.account.id.clone();
            seen.insert(id.clone());
            let running = self.entries.slot_of(&id);
            match running.and_then(|slot| Some((slot, self.entries.get_mut(slot)?))) {
                Some((slot, entry)) if !entry.leaving => {
                    entry.origin = d.origin;
                    let same_account = entry.reg.account().same_settings(&d.account);
                    let same_binding = *entry.reg.local_binding() == d.binding;
                    if same_account && same_binding {
                        report.unchanged += 1;
                        continue;
                    }
                    if !same_binding {
                        entry
                            .reg
                            .set_local_binding(now, self.bindings.share(d.binding));
                    }
                    if !same_account {
                        entry.reg.update_account(now, d.account);
                    }
                    self.after(slot, now);
                    report.changed.push(id);
                }
                _ => {
                    self.start(d, self.settings.initial_spread, now);
                    report.added.push(id);
                }
            }
        }
        let gone: Vec<String> = self
            .entries
            .iter()
            .map(|(_, e)| e)
            .filter(|e| !e.leaving && !seen.contains(e.reg.account().id()))
            .map(|e| e.reg.account().id().to_owned())
            .collect();
        for id in gone {
            self.leave(&id, now);
            report.removed.push(id);
        }
        self.entries.shrink_to_fit();
        self.bindings.forget_unused();
        self.rebuild_inbound();
        self.publish_counts();
        info!(
            added = report.added.len(),
            changed = report.changed.len(),
            unchanged = report.unchanged,
            removed = report.removed.len(),
            errors = report.errors.len(),
            "outbound registrations reloaded"
        );
        report
    }

    /// Starts a registration (replacing a leaving one of the same id).
    fn start(&mut self, d: Definition, spread: Duration, now: Instant) {
        self.seed = self.seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let binding = self.bindings.share(d.binding);
        let reg = Registration::new(d.account, binding, now, spread, self.seed)
            .with_timers(Arc::clone(&self.settings.timers));
        let slot = self.entries.insert(Entry::new(reg, d.origin));
        self.after(slot, now);
    }

    fn rebuild_inbound(&self) {
        let mut targets = InboundTargets::with_capacity(self.entries.len());
        for (_, e) in self.entries.iter() {
            if e.leaving {
                continue;
            }
            let account = e.reg.account();
            let local_aor = crate::api::canonical_aor(&format!(
                "{}@{}",
                account.local_user(),
                account.local_domain()
            ));
            targets.add(account.contact_user(), account.id(), &local_aor);
        }
        self.inbound.replace(targets);
    }

    fn publish_counts(&self) {
        let mut by_state = [0_usize; State::ALL.len()];
        for (_, e) in self.entries.iter() {
            by_state[e.reg.state().index()] += 1;
        }
        by_state[State::ConfigError.index()] += self.invalid.len();
        let counts = State::ALL
            .iter()
            .map(|s| (s.as_str(), by_state[s.index()]))
            .collect();
        *self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = counts;
    }
}
