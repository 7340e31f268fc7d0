//! `lamppost serve`: wires transports, the registrar, authentication, the store and the management API.

mod auth;
mod location;
mod metrics;
mod sip;
mod user_cache;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use registrar::{Change, RegistrarConfig};
use sip_transport::{TransportLimits, Transports};
use store::{GroupCommit, LocationStore, SqliteOptions, SqliteStore, Synchronous};
use tracing::{info, warn};

use crate::api::dto::StatusView;
use crate::config::Loaded;
use crate::uac::Uac;
pub use auth::Authenticator;
pub use location::Location;

/// Most changes written in one store transaction.
const MAX_COMMIT_BATCH: usize = 4096;

/// The running server: everything the SIP service and the API share.
pub struct Server {
    /// The bindings.
    pub location: Location,
    /// Digest authentication and the user cache.
    pub auth: Authenticator,
    commits: GroupCommit,
    config_path: Option<PathBuf>,
    registrar_config: RwLock<Arc<RegistrarConfig>>,
    started: Instant,
    listening: RwLock<Vec<String>>,
    metrics: metrics::Metrics,
    /// Outbound registrations to trunks.
    pub uac: Uac,
}

impl Server {
    /// Makes `changes` durable; resolves once they are committed.
    pub async fn persist(&self, changes: Vec<Change>) -> Result<(), store::StoreError> {
        self.submit(changes)?.wait().await
    }

    /// Queues `changes` for the store; the store's writer calls `done` with the outcome once they are committed.
    /// Call it while holding the shard lock that produced them (see [`Self::submit`]).
    pub fn submit_then(
        &self,
        changes: Vec<Change>,
        done: impl FnOnce(Result<(), store::StoreError>) + Send + 'static,
    ) -> Result<(), store::StoreError> {
        log_removals(&changes);
        self.metrics.record_changes(&changes);
        self.commits.submit_then(changes, done)
    }

    /// Queues `changes` for the store without waiting; call it while holding the shard lock that produced them, so
    /// changes to one binding reach the store in the order they were made.
    pub fn submit(&self, changes: Vec<Change>) -> Result<store::Pending, store::StoreError> {
        log_removals(&changes);
        self.metrics.record_changes(&changes);
        self.commits.submit(changes)
    }

    /// The registrar rules in force.
    pub fn registrar_config(&self) -> Arc<RegistrarConfig> {
        read(&self.registrar_config).clone()
    }

    /// Status for the API.
    pub fn status(&self) -> StatusView {
        let (mut aors, mut bindings) = (0, 0);
        self.location.for_each(|r| {
            aors += r.table().aor_count();
            bindings += r.table().len();
        });
        StatusView {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            uptime_secs: self.started.elapsed().as_secs(),
            listening: read(&self.listening).clone(),
            aors,
            bindings,
            domains: self.registrar_config().domains.clone(),
        }
    }

    /// Re-reads the config file and applies the registrar and auth rules; listeners and store need a restart.
    pub fn reload(&self) -> anyhow::Result<String> {
        let loaded = Loaded::load(self.config_path.as_deref())?;
        let config = loaded.registrar_config()?;
        self.location.set_config(config.clone());
        *self
            .registrar_config
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = config;
        self.auth.reload(&loaded)?;
        info!("configuration reloaded");
        Ok(
            "registrar and auth rules reloaded; listeners and store are unchanged until a restart"
                .into(),
        )
    }

    /// Prometheus text exposition.
    pub fn render_metrics(&self) -> String {
        let (mut aors, mut bindings) = (0, 0);
        self.location.for_each(|r| {
            aors += r.table().aor_count();
            bindings += r.table().len();
        });
        self.metrics
            .render(aors, bindings, &self.uac.state_counts())
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Opens the store the configuration names.
pub async fn open_store(loaded: &Loaded) -> anyhow::Result<SqliteStore> {
    let store = &loaded.config.store;
    let synchronous = Synchronous::parse(store.synchronous.get_ref()).with_context(|| {
        format!(
            "store.synchronous = {:?}: use \"normal\" or \"full\"",
            store.synchronous.get_ref()
        )
    })?;
    let opts = SqliteOptions {
        synchronous,
        ..SqliteOptions::default()
    };
    SqliteStore::open(store.url.get_ref(), &opts)
        .await
        .with_context(|| format!("cannot open the store {}", store.url.get_ref()))
}

/// Runs the server until SIGINT or SIGTERM.
pub fn run(loaded: Loaded) -> anyhow::Result<()> {
    init_tracing(&loaded.config.log.level);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("lamppost")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(loaded))
}

fn init_tracing(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

async fn serve(loaded: Loaded) -> anyhow::Result<()> {
    let registrar_config = loaded.registrar_config()?;
    let listens = loaded.listens()?;
    let http = loaded.http_listen()?;
    let store = Arc::new(open_store(&loaded).await?);

    let location = Location::new(registrar_config.clone());
    let bindings = store
        .load_bindings()
        .await
        .context("cannot read bindings back from the store")?;
    let loaded_count = bindings.len();
    let kept = location.restore(bindings, SystemTime::now());
    info!(
        loaded = loaded_count,
        kept,
        dropped = loaded_count - kept,
        "bindings restored"
    );
    let commits = GroupCommit::spawn(store.clone(), MAX_COMMIT_BATCH);
    // Bindings that expired while the server was down are removed from the store too.
    let expired = location.expire(SystemTime::now());
    let auth = Authenticator::new(&loaded, store.clone()).await?;
    let (uac, uac_inbox) = Uac::channel();

    let server = Arc::new(Server {
        location,
        auth,
        commits,
        config_path: loaded.path.clone(),
        registrar_config: RwLock::new(registrar_config),
        started: Instant::now(),
        listening: RwLock::new(Vec::new()),
        metrics: metrics::Metrics::new(),
        uac,
    });
    if !expired.is_empty() {
        server.persist(expired).await?;
    }

    let limits = TransportLimits {
        max_message_size: *loaded.config.sip.max_message_size.get_ref(),
        max_connections: loaded.config.sip.max_connections,
        ..TransportLimits::default()
    };
    let service = Arc::new(sip::SipService::new(
        server.clone(),
        limits.max_message_size,
    ));
    let transports = Arc::new(
        Transports::bind(&listens, service, &limits).context("cannot bind the SIP listeners")?,
    );
    let bound: Vec<String> = transports
        .local_addrs()
        .iter()
        .map(ToString::to_string)
        .collect();
    *server
        .listening
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = bound.clone();

    let api = tokio::net::TcpListener::bind(http)
        .await
        .with_context(|| format!("cannot bind the management API on {http}"))?;
    info!(sip = ?bound, http = %api.local_addr()?, "lamppost is listening");
    let router = crate::api::router(server.clone());
    let api_task = tokio::spawn(async move {
        if let Err(e) = axum::serve(api, router).await {
            warn!(error = %e, "management API stopped");
        }
    });

    let uac_task = server
        .uac
        .start(uac_inbox, &loaded, transports.clone())
        .await
        .context("cannot start outbound registrations")?;

    let sweeper = tokio::spawn(expiry_sweeps(
        server.clone(),
        Duration::from_secs(*loaded.config.registrar.expiry_interval.get_ref()),
    ));

    shutdown_signal().await;
    info!("shutting down");
    let (_, uac_timeout) = loaded.uac_timers()?;
    server
        .uac
        .shutdown(
            loaded.config.uac.unregister_on_shutdown,
            uac_timeout.min(Duration::from_secs(5)),
        )
        .await;
    uac_task.abort();
    transports.shutdown().await;
    sweeper.abort();
    api_task.abort();
    // Commit whatever is still queued before the process ends.
    server.commits.clone().shutdown().await;
    Ok(())
}

/// Removes expired bindings every `interval` and persists the removals.
async fn expiry_sweeps(server: Arc<Server>, interval: Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        server.auth.purge(SystemTime::now());
        let expired = server.location.expire(SystemTime::now());
        if expired.is_empty() {
            continue;
        }
        if let Err(e) = server.persist(expired).await {
            warn!(error = %e, "cannot persist expired bindings; they will be dropped again at start");
        }
    }
}

/// Every removal is logged with its reason.
fn log_removals(changes: &[Change]) {
    for change in changes {
        if let Change::Remove {
            aor, uri, reason, ..
        } = change
        {
            info!(%aor, contact = %uri, reason = reason.as_str(), "binding removed");
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            let _ = ctrl_c.await;
            return;
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
