//! The TCP transport: an accept loop, and per connection a reader and a writer task.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use sip_msg::Transport;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::connections::{Connection, Connections, NewConnection};
use crate::error::TransportError;
use crate::framing::{Frame, FrameError, StreamFramer};
use crate::handler_call::deliver;
use crate::inbound::{Handler, Inbound};
use crate::limits::TransportLimits;
use crate::reply::ReplyHandle;

/// The keep-alive pong (RFC 5626 §4.4.1).
const PONG: &[u8] = b"\r\n";

/// Pause after an accept error such as running out of file descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What the TCP tasks share.
pub(crate) struct TcpContext {
    pub(crate) handler: Arc<dyn Handler>,
    pub(crate) limits: TransportLimits,
    pub(crate) connections: Connections,
    pub(crate) shutdown: CancellationToken,
    pub(crate) tasks: TaskTracker,
}

impl std::fmt::Debug for TcpContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpContext")
            .field("limits", &self.limits)
            .field("connections", &self.connections.len())
            .finish_non_exhaustive()
    }
}

/// Why a connection closed, for the logs.
#[derive(Debug)]
enum CloseReason {
    PeerClosed,
    ReadFailed(io::Error),
    IdleTimeout,
    Framing(FrameError),
    HandlerPanicked,
    Closed,
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::PeerClosed => f.write_str("closed by peer"),
            Self::ReadFailed(error) => write!(f, "read failed: {error}"),
            Self::IdleTimeout => f.write_str("idle timeout"),
            Self::Framing(error) => write!(f, "framing error: {error}"),
            Self::HandlerPanicked => f.write_str("handler panicked"),
            Self::Closed => f.write_str("closed locally"),
        }
    }
}

/// Accepts connections until shutdown, each run by [`run_connection`] on its own task.
pub(crate) async fn accept_loop(listener: TcpListener, ctx: Arc<TcpContext>) {
    loop {
        let accepted = tokio::select! {
            () = ctx.shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, remote) = match accepted {
            Ok(accepted) => accepted,
            Err(error) if is_per_connection(&error) => {
                tracing::debug!(%error, "TCP accept failed");
                continue;
            }
            Err(error) => {
                tracing::warn!(%error, "TCP accept failed; pausing");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let local = match stream.local_addr() {
            Ok(local) => local,
            Err(error) => {
                tracing::debug!(%remote, %error, "accepted TCP connection is already gone");
                continue;
            }
        };
        let new = NewConnection {
            transport: Transport::Tcp,
            local,
            remote,
            writer_queue: ctx.limits.writer_queue,
            max_connections: ctx.limits.max_connections,
            shutdown: &ctx.shutdown,
        };
        let Some((connection, queue)) = ctx.connections.try_insert(new) else {
            tracing::warn!(
                %remote, %local, limit = ctx.limits.max_connections,
                "connection limit reached; closing new TCP connection"
            );
            continue;
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%remote, %error, "cannot set TCP_NODELAY");
        }
        tracing::debug!(id = connection.id(), %remote, %local, "TCP connection accepted");
        ctx.tasks
            .spawn(run_connection(Arc::clone(&ctx), connection, stream, queue));
    }
}

/// Opens a connection to `remote` (within [`TransportLimits::connect_timeout`]), registers it
/// in the connection table and serves it like an accepted one: messages arriving on it go to
/// the handler, and its close is reported.
pub(crate) async fn connect(
    ctx: &Arc<TcpContext>,
    remote: SocketAddr,
) -> Result<ReplyHandle, TransportError> {
    let connect_error = |source| TransportError::Connect { remote, source };
    let stream = tokio::time::timeout(ctx.limits.connect_timeout, TcpStream::connect(remote))
        .await
        .map_err(|_| connect_error(io::ErrorKind::TimedOut.into()))?
        .map_err(connect_error)?;
    let local = stream.local_addr().map_err(connect_error)?;
    let new = NewConnection {
        transport: Transport::Tcp,
        local,
        remote,
        writer_queue: ctx.limits.writer_queue,
        max_connections: ctx.limits.max_connections,
        shutdown: &ctx.shutdown,
    };
    let (connection, queue) = ctx
        .connections
        .try_insert(new)
        .ok_or(TransportError::TooManyConnections { remote })?;
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%remote, %error, "cannot set TCP_NODELAY");
    }
    tracing::debug!(id = connection.id(), %remote, %local, "TCP connection opened");
    let handle = ReplyHandle::stream(Arc::clone(&connection));
    ctx.tasks
        .spawn(run_connection(Arc::clone(ctx), connection, stream, queue));
    Ok(handle)
}

/// Whether an accept error concerns only the one connection being accepted.
fn is_per_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

/// Runs a connection: reads until it ends, lets the writer flush, then unregisters it and
/// tells the handler.
async fn run_connection(
    ctx: Arc<TcpContext>,
    connection: Arc<Connection>,
    stream: TcpStream,
    queue: mpsc::Receiver<Bytes>,
) {
    let (reader, writer) = stream.into_split();
    let guard = Unregister {
        connections: &ctx.connections,
        connection: &connection,
    };
    let linger = ctx.limits.close_linger;
    let writer = ctx
        .tasks
        .spawn(write_loop(Arc::clone(&connection), writer, queue, linger));
    let reason = read_loop(&ctx, &connection, reader).await;
    connection.close();
    if let Err(error) = writer.await {
        tracing::debug!(id = connection.id(), %error, "TCP writer task failed");
    }
    drop(guard);
    tracing::debug!(
        id = connection.id(), remote = %connection.remote(), %reason, "TCP connection closed"
    );
    deliver(|| {
        ctx.handler
            .on_connection_closed(connection.id(), connection.remote());
    });
}

/// Closes and unregisters a connection when its task ends, even by a panic.
struct Unregister<'a> {
    connections: &'a Connections,
    connection: &'a Connection,
}

impl Drop for Unregister<'_> {
    fn drop(&mut self) {
        self.connection.close();
        self.connections.remove(self.connection.id());
    }
}

/// Reads and frames the stream, handing messages to the handler, until the connection ends.
async fn read_loop(
    ctx: &TcpContext,
    connection: &Arc<Connection>,
    mut reader: OwnedReadHalf,
) -> CloseReason {
    let mut framer = StreamFramer::new(ctx.limits.max_message_size);
    loop {
        loop {
            match framer.next_frame() {
                Ok(None) => break,
                Ok(Some(Frame::Message(data))) => {
                    let msg = inbound(connection, data);
                    if !deliver(|| ctx.handler.on_message(msg)) {
                        return CloseReason::HandlerPanicked;
                    }
                }
                Ok(Some(Frame::KeepAlivePing)) => {
                    if let Err(error) = connection.send(Bytes::from_static(PONG)) {
                        tracing::debug!(id = connection.id(), %error, "cannot answer keep-alive");
                    }
                }
                Ok(Some(Frame::KeepAlivePong)) => {}
                Ok(Some(Frame::Invalid { head, error })) => {
                    log_framing_error(connection, &error);
                    let msg = inbound(connection, head);
                    deliver(|| ctx.handler.on_invalid(msg, &error));
                    // Give the application time to answer the bad message before closing.
                    let linger = tokio::time::sleep(ctx.limits.close_linger);
                    tokio::select! {
                        () = linger => {}
                        () = connection.closed().cancelled() => {}
                    }
                    return CloseReason::Framing(error);
                }
                Err(error) => {
                    log_framing_error(connection, &error);
                    return CloseReason::Framing(error);
                }
            }
        }
        let idle_timeout = ctx.limits.connection_idle_timeout;
        tokio::select! {
            () = connection.closed().cancelled() => return CloseReason::Closed,
            () = tokio::time::sleep_until(connection.idle_deadline(idle_timeout)) => {
                // Writes may have postponed the deadline while we slept.
                if connection.idle_deadline(idle_timeout) <= tokio::time::Instant::now() {
                    return CloseReason::IdleTimeout;
                }
            }
            read = reader.read_buf(framer.read_buffer()) => match read {
                Ok(0) => return CloseReason::PeerClosed,
                Ok(_) => connection.touch(),
                Err(error) => return CloseReason::ReadFailed(error),
            },
        }
    }
}

/// Logs a framing error: a warning for a size limit hit, debug otherwise.
fn log_framing_error(connection: &Connection, error: &FrameError) {
    let (id, remote) = (connection.id(), connection.remote());
    if matches!(error, FrameError::TooLarge { .. }) {
        tracing::warn!(id, %remote, %error, "closing TCP connection: message too large");
    } else {
        tracing::debug!(id, %remote, %error, "closing TCP connection: framing error");
    }
}

/// A message received on `connection`.
fn inbound(connection: &Arc<Connection>, data: Bytes) -> Inbound {
    Inbound {
        data,
        remote: connection.remote(),
        local: connection.local(),
        transport: connection.transport(),
        connection: Some(connection.id()),
        reply: ReplyHandle::stream(Arc::clone(connection)),
    }
}

/// Writes queued messages in order until the connection closes, then flushes what is still
/// queued for at most `linger` and shuts the write side down.
async fn write_loop(
    connection: Arc<Connection>,
    mut writer: OwnedWriteHalf,
    mut queue: mpsc::Receiver<Bytes>,
    linger: Duration,
) {
    let closed = connection.closed().clone();
    loop {
        let next = tokio::select! {
            () = closed.cancelled() => break,
            next = queue.recv() => next,
        };
        let Some(data) = next else { break };
        let write = writer.write_all(&data);
        tokio::pin!(write);
        let written = tokio::select! {
            written = &mut write => written,
            // Closing: finish this message if the peer takes it soon.
            () = closed.cancelled() => tokio::time::timeout(linger, &mut write)
                .await
                .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into())),
        };
        if let Err(error) = written {
            tracing::debug!(id = connection.id(), %error, "TCP write failed");
            connection.close();
            return;
        }
        connection.touch();
    }
    let flush = async {
        while let Ok(data) = queue.try_recv() {
            writer.write_all(&data).await?;
        }
        writer.shutdown().await
    };
    if let Ok(Err(error)) | Err(error) = tokio::time::timeout(linger, flush)
        .await
        .map_err(io::Error::from)
    {
        tracing::debug!(id = connection.id(), %error, "TCP flush on close failed");
    }
}
