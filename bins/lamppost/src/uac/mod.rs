//! Outbound registration: lamppost registers itself to SIP trunks listed in a `uacreg` table or the config file.
//!
//! The protocol is the sans-IO `sip-uac` crate; this module is its shell. [`Uac`] is the handle the SIP service
//! (responses, closed connections, requests to our Contacts), the API and shutdown use; a driver task owns every
//! [`Registration`](sip_uac::Registration), its timers and sends (see `driver`).

mod account;
mod bindings;
mod driver;
mod inbound;
mod registry;
mod sender;
mod source;
mod view;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sip_transport::Transports;
use sip_uac::Timers;
use tokio::sync::{mpsc, oneshot};
use tracing::debug;
use uacreg::{UacRow, UacTable};

pub use account::{ConfigEntry, Origin, RowError, account_from_row};
pub use inbound::{InboundMap, InboundTarget};
pub use source::row_of_entry;
pub use view::RegistrationView;

use crate::config::Loaded;
use driver::{Control, Driver, Event, Settings};
use source::Sources;

/// Events queued for the driver before the oldest is handled; beyond it responses are dropped (the client
/// transaction retransmits).
const QUEUE: usize = 16_384;

/// What went wrong with a registration command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UacError {
    /// No registration has this id.
    #[error("no outbound registration has id {0:?}; `lamppost reg list` shows them")]
    NotFound(String),
    /// The request cannot be carried out as asked.
    #[error("{0}")]
    Invalid(String),
    /// The `uacreg` table could not be read or written.
    #[error("uacreg table: {0}")]
    Table(String),
    /// The server is stopping.
    #[error("outbound registration is stopped")]
    Stopped,
}

/// What a reload did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadReport {
    /// Registrations started.
    pub added: Vec<String>,
    /// Registrations whose settings changed: they re-register.
    pub changed: Vec<String>,
    /// Registrations left running as they were (same state, Call-ID and timers).
    pub unchanged: usize,
    /// Registrations unregistered because their definition is gone.
    pub removed: Vec<String>,
    /// Definitions that cannot be used, each naming its row and the fix.
    pub errors: Vec<String>,
}

/// The handle on outbound registration. Cheap to clone.
#[derive(Clone)]
pub struct Uac {
    events: mpsc::Sender<Event>,
    inbound: Arc<InboundMap>,
    counts: Arc<Mutex<Vec<(&'static str, usize)>>>,
}

/// The driver's end of the queue, until [`Uac::start`] hands it to the driver.
pub struct UacInbox(mpsc::Receiver<Event>);

impl Uac {
    /// A handle and its queue; nothing runs until [`Uac::start`], but events queue meanwhile.
    pub fn channel() -> (Self, UacInbox) {
        let (events, inbox) = mpsc::channel(QUEUE);
        (
            Self {
                events,
                inbound: Arc::new(InboundMap::default()),
                counts: Arc::new(Mutex::new(Vec::new())),
            },
            UacInbox(inbox),
        )
    }

    /// Starts the driver: loads every registration from the config's sources and runs them over `transports`.
    pub async fn start(
        &self,
        inbox: UacInbox,
        loaded: &Loaded,
        transports: Arc<Transports>,
    ) -> anyhow::Result<tokio::task::JoinHandle<()>> {
        let uac = &loaded.config.uac;
        let table = match loaded.uac_table()? {
            Some((url, name)) => {
                let table = UacTable::open(&url, &name).await?;
                if uac.table_url.get_ref() == "store" {
                    // The embedded default: the table lives beside the bindings and is created when missing.
                    table.create_if_missing().await?;
                }
                Some(table)
            }
            None => None,
        };
        let (t1, timeout) = loaded.uac_timers()?;
        let default_domain = loaded
            .registrar_config()?
            .domains
            .first()
            .cloned()
            .unwrap_or_default();
        let settings = Settings {
            sources: Sources {
                table,
                config_path: loaded.path.clone(),
                listens: transports.local_addrs().to_vec(),
                contact_addr: uac.contact_addr.clone(),
                default_domain,
            },
            timers: Arc::new(Timers {
                t1,
                timer_f: timeout,
                ..Timers::default()
            }),
            initial_spread: Duration::from_secs(uac.initial_spread),
        };
        let driver = Driver::new(
            settings,
            transports,
            self.events.clone(),
            Arc::clone(&self.inbound),
            Arc::clone(&self.counts),
        );
        Ok(tokio::spawn(driver.run(inbox.0)))
    }

    /// Hands over a SIP response that arrived (from any thread; never blocks).
    pub fn deliver_response(&self, data: Bytes) {
        if self.events.try_send(Event::Response(data)).is_err() {
            debug!("outbound registration queue full or stopped; response dropped");
        }
    }

    /// Tells the driver a TCP connection closed (from any thread; never blocks).
    pub fn connection_closed(&self, connection: u64) {
        let _ = self.events.try_send(Event::ConnectionClosed(connection));
    }

    /// The local AOR a request to our Contact user `user` is for.
    pub fn inbound_target(&self, user: &str) -> Option<InboundTarget> {
        self.inbound.get(user)
    }

    /// Registrations per state, for the metrics.
    pub fn state_counts(&self) -> Vec<(&'static str, usize)> {
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    async fn ask<T>(
        &self,
        control: impl FnOnce(oneshot::Sender<T>) -> Control,
    ) -> Result<T, UacError> {
        let (tx, rx) = oneshot::channel();
        self.events
            .send(Event::Control(control(tx)))
            .await
            .map_err(|_| UacError::Stopped)?;
        rx.await.map_err(|_| UacError::Stopped)
    }

    /// Every registration, sorted by id.
    pub async fn list(&self) -> Result<Vec<RegistrationView>, UacError> {
        self.ask(Control::List).await
    }

    /// One registration.
    pub async fn show(&self, id: &str) -> Result<RegistrationView, UacError> {
        self.ask(|tx| Control::Show(id.to_owned(), tx)).await?
    }

    /// Sends a REGISTER now.
    pub async fn refresh(&self, id: &str) -> Result<RegistrationView, UacError> {
        self.ask(|tx| Control::Refresh(id.to_owned(), tx)).await?
    }

    /// Enables or disables a registration (a registered one is unregistered first); kept in the table.
    pub async fn set_enabled(&self, id: &str, enabled: bool) -> Result<RegistrationView, UacError> {
        self.ask(|tx| Control::SetEnabled(id.to_owned(), enabled, tx))
            .await?
    }

    /// Re-reads the table and the config file, applying only the differences.
    pub async fn reload(&self) -> Result<ReloadReport, UacError> {
        self.ask(Control::Reload).await?
    }

    /// Adds a row to the table and starts it.
    pub async fn add(&self, row: UacRow) -> Result<RegistrationView, UacError> {
        self.ask(|tx| Control::Add(Box::new(row), tx)).await?
    }

    /// Deletes a row from the table and unregisters it.
    pub async fn remove(&self, id: &str) -> Result<(), UacError> {
        self.ask(|tx| Control::Remove(id.to_owned(), tx)).await?
    }

    /// Stops every registration, unregistering them first when asked; returns when done or after `limit`.
    pub async fn shutdown(&self, unregister: bool, limit: Duration) {
        let stopped = self.ask(|tx| Control::Shutdown(unregister, tx));
        let _ = tokio::time::timeout(limit, stopped).await;
    }
}
