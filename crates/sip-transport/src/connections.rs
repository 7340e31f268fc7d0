//! The table of open connections: id -> writer queue and addresses (RFC 5626 flows).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use sip_msg::Transport;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::error::TransportError;
use crate::reply::ReplyHandle;

/// One open connection as seen by senders: its writer queue, addresses and close signal.
#[derive(Debug)]
pub(crate) struct Connection {
    id: u64,
    transport: Transport,
    local: SocketAddr,
    remote: SocketAddr,
    writer: mpsc::Sender<Bytes>,
    closed: CancellationToken,
    opened: Instant,
    /// Milliseconds from `opened` to the last traffic in either direction.
    last_activity_ms: AtomicU64,
}

impl Connection {
    /// The connection id.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The transport.
    pub(crate) fn transport(&self) -> Transport {
        self.transport
    }

    /// The local address.
    pub(crate) fn local(&self) -> SocketAddr {
        self.local
    }

    /// The peer's address.
    pub(crate) fn remote(&self) -> SocketAddr {
        self.remote
    }

    /// Queues a message for the writer.
    pub(crate) fn send(&self, data: Bytes) -> Result<(), TransportError> {
        if self.closed.is_cancelled() {
            return Err(TransportError::ConnectionClosed { id: self.id });
        }
        self.writer.try_send(data).map_err(|error| match error {
            mpsc::error::TrySendError::Full(_) => {
                tracing::warn!(id = self.id, remote = %self.remote, "connection send queue full");
                TransportError::QueueFull {
                    remote: self.remote,
                }
            }
            mpsc::error::TrySendError::Closed(_) => {
                TransportError::ConnectionClosed { id: self.id }
            }
        })
    }

    /// Fires when the connection starts closing.
    pub(crate) fn closed(&self) -> &CancellationToken {
        &self.closed
    }

    /// Starts closing the connection.
    pub(crate) fn close(&self) {
        self.closed.cancel();
    }

    /// Records traffic now, which postpones the idle timeout.
    pub(crate) fn touch(&self) {
        let elapsed = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_activity_ms.store(elapsed, Ordering::Relaxed);
    }

    /// When the connection times out if no traffic comes first.
    pub(crate) fn idle_deadline(&self, idle_timeout: Duration) -> Instant {
        let last = Duration::from_millis(self.last_activity_ms.load(Ordering::Relaxed));
        self.opened + last + idle_timeout
    }
}

/// The open connections of all stream listeners, by id. Cheap to clone.
///
/// Ids increase monotonically from 1 and are never reused, so an id stored with a binding
/// (RFC 5626 flow) can only ever reach the connection it was learnt from.
#[derive(Debug, Clone, Default)]
pub struct Connections {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    last_id: AtomicU64,
    table: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    by_id: HashMap<u64, Arc<Connection>>,
    by_flow: HashMap<(SocketAddr, SocketAddr), u64>,
}

/// What the accept loop needs to register a new connection.
#[derive(Debug)]
pub(crate) struct NewConnection<'a> {
    pub(crate) transport: Transport,
    pub(crate) local: SocketAddr,
    pub(crate) remote: SocketAddr,
    pub(crate) writer_queue: usize,
    pub(crate) max_connections: usize,
    pub(crate) shutdown: &'a CancellationToken,
}

impl Connections {
    /// The number of open connections (including those still flushing on close).
    pub fn len(&self) -> usize {
        self.table().by_id.len()
    }

    /// Whether no connection is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A handle sending over connection `id`, if it is open.
    pub fn get(&self, id: u64) -> Option<ReplyHandle> {
        let connection = self.table().by_id.get(&id).cloned()?;
        Some(ReplyHandle::stream(connection))
    }

    /// A handle sending over the connection from `local` to `remote`, if one is open.
    pub fn find(&self, local: SocketAddr, remote: SocketAddr) -> Option<ReplyHandle> {
        let table = self.table();
        let id = table.by_flow.get(&(local, remote))?;
        let connection = table.by_id.get(id).cloned()?;
        Some(ReplyHandle::stream(connection))
    }

    /// Starts closing connection `id`; returns whether it was open. Queued messages are
    /// flushed first, then [`Handler::on_connection_closed`](crate::Handler) is called.
    pub fn close(&self, id: u64) -> bool {
        let connection = self.table().by_id.get(&id).cloned();
        connection.map(|c| c.close()).is_some()
    }

    /// Registers a new connection unless `max_connections` are open; returns it and the
    /// receiving end of its writer queue.
    pub(crate) fn try_insert(
        &self,
        new: NewConnection<'_>,
    ) -> Option<(Arc<Connection>, mpsc::Receiver<Bytes>)> {
        let mut table = self.table();
        if table.by_id.len() >= new.max_connections {
            return None;
        }
        let id = self.shared.last_id.fetch_add(1, Ordering::Relaxed) + 1;
        let (writer, queue) = mpsc::channel(new.writer_queue.max(1));
        let connection = Arc::new(Connection {
            id,
            transport: new.transport,
            local: new.local,
            remote: new.remote,
            writer,
            closed: new.shutdown.child_token(),
            opened: Instant::now(),
            last_activity_ms: AtomicU64::new(0),
        });
        table.by_id.insert(id, Arc::clone(&connection));
        table.by_flow.insert((new.local, new.remote), id);
        Some((connection, queue))
    }

    /// Forgets a closed connection.
    pub(crate) fn remove(&self, id: u64) {
        let mut table = self.table();
        if let Some(connection) = table.by_id.remove(&id) {
            let flow = (connection.local, connection.remote);
            if table.by_flow.get(&flow) == Some(&id) {
                table.by_flow.remove(&flow);
            }
        }
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        self.shared
            .table
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
