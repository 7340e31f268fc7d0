//! [`Transports`]: binding every listen address and running its loops.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use sip_msg::Transport;
use tokio::net::TcpListener;
use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::connections::Connections;
use crate::error::TransportError;
use crate::inbound::Handler;
use crate::limits::TransportLimits;
use crate::listen::Listen;
use crate::reply::ReplyHandle;
use crate::socket;
use crate::tcp::{self, TcpContext};
use crate::udp::UdpEndpoint;

/// The running transports: bound sockets, their receive loops and the connection table.
///
/// Dropping it stops the loops, like [`Transports::shutdown`] without waiting: UDP receive
/// threads are left to exit on their own, within a fraction of a second.
#[derive(Debug)]
pub struct Transports {
    bound: Vec<Listen>,
    udp: Vec<Arc<UdpEndpoint>>,
    connections: Connections,
    shutdown: CancellationToken,
    /// What TCP connections, accepted or opened, run with.
    tcp: Arc<TcpContext>,
    /// Tracks the TCP tasks and, by token, the UDP receive threads.
    tasks: TaskTracker,
}

/// A socket bound but not yet served.
enum Bound {
    Udp(Arc<UdpEndpoint>),
    Tcp(TcpListener, Handle),
}

impl Transports {
    /// Binds every listen address and starts serving them, calling `handler` for each
    /// message. Nothing is served unless every address binds.
    ///
    /// Each UDP socket is served by [`TransportLimits::udp_workers`] OS threads of its own, so
    /// UDP needs no runtime. TCP listeners are served by tasks on the current tokio runtime:
    /// binding one outside a runtime fails with [`TransportError::NoRuntime`].
    pub fn bind(
        listens: &[Listen],
        handler: Arc<dyn Handler>,
        limits: &TransportLimits,
    ) -> Result<Self, TransportError> {
        let mut bound = Vec::with_capacity(listens.len());
        let mut sockets = Vec::with_capacity(listens.len());
        for &listen in listens {
            let (addr, socket) = bind_one(listen)?;
            bound.push(Listen::new(listen.transport, addr));
            sockets.push(socket);
        }

        // Built before anything is started, so that an error below drops it, which stops
        // whatever was already started.
        let connections = Connections::default();
        let shutdown = CancellationToken::new();
        let tasks = TaskTracker::new();
        let tcp = Arc::new(TcpContext {
            handler: Arc::clone(&handler),
            limits: limits.clone(),
            connections: connections.clone(),
            shutdown: shutdown.clone(),
            tasks: tasks.clone(),
        });
        let mut transports = Self {
            bound,
            udp: Vec::new(),
            connections,
            shutdown,
            tcp: Arc::clone(&tcp),
            tasks,
        };
        let workers = limits.udp_workers.max(1);
        let mut next_worker = 0;
        for (&listen, socket) in listens.iter().zip(sockets) {
            match socket {
                Bound::Udp(endpoint) => {
                    transports.udp.push(Arc::clone(&endpoint));
                    for _ in 0..workers {
                        let running = transports.tasks.token();
                        endpoint
                            .spawn_worker(
                                next_worker,
                                Arc::clone(&handler),
                                limits.max_message_size,
                                running,
                            )
                            .map_err(|source| TransportError::Bind { listen, source })?;
                        next_worker += 1;
                    }
                }
                Bound::Tcp(listener, runtime) => {
                    let accept = tcp::accept_loop(listener, Arc::clone(&tcp));
                    transports.tasks.spawn_on(accept, &runtime);
                }
            }
        }
        Ok(transports)
    }

    /// The addresses actually bound, in the order given to [`Transports::bind`] (port 0
    /// replaced by the port the system chose).
    pub fn local_addrs(&self) -> &[Listen] {
        &self.bound
    }

    /// The open connections, to send over an existing flow or close one.
    pub fn connections(&self) -> &Connections {
        &self.connections
    }

    /// Sends a message to `remote` from the socket bound to `local` (UDP; a wildcard-bound
    /// socket serves any local address of its family and port), or over the open connection
    /// between `local` and `remote` (TCP; no new connection is opened).
    pub fn send_to(
        &self,
        transport: Transport,
        local: SocketAddr,
        remote: SocketAddr,
        data: Bytes,
    ) -> Result<(), TransportError> {
        if self.shutdown.is_cancelled() {
            return Err(TransportError::ShutDown);
        }
        match transport {
            Transport::Udp => self
                .udp_endpoint(local)
                .ok_or(TransportError::NoSocket { transport, local })?
                .send(remote, &data),
            Transport::Tcp => self
                .connections
                .find(local, remote)
                .ok_or(TransportError::NoConnection {
                    transport,
                    local,
                    remote,
                })?
                .send(data),
            other => Err(TransportError::Unsupported(other)),
        }
    }

    /// Opens a TCP connection to `remote` from an ephemeral local port, and serves it like an
    /// accepted one: messages arriving on it reach the handler, and its close is reported with
    /// [`Handler::on_connection_closed`]. Must be called within a tokio runtime; the connection's
    /// tasks run on it.
    pub async fn connect_tcp(&self, remote: SocketAddr) -> Result<ReplyHandle, TransportError> {
        if self.shutdown.is_cancelled() {
            return Err(TransportError::ShutDown);
        }
        tcp::connect(&self.tcp, remote).await
    }

    /// Stops accepting and receiving, closes every connection (flushing queued messages for
    /// at most [`TransportLimits::close_linger`]) and waits for all loops to end, UDP receive
    /// threads included (an idle one notices within 200 ms; a busy one once its handler call
    /// returns). Needs no particular runtime, but must not be waited for from within a handler
    /// callback, whose own thread it would wait for.
    ///
    /// Reply handles of UDP messages keep working afterwards: the socket closes once the last
    /// of them and this value are dropped.
    pub async fn shutdown(&self) {
        self.stop();
        self.tasks.close();
        self.tasks.wait().await;
    }

    /// Tells every loop and receive thread to stop, without waiting.
    fn stop(&self) {
        for endpoint in &self.udp {
            endpoint.stop();
        }
        self.shutdown.cancel();
    }

    /// The UDP socket bound to `local`, else a wildcard socket of the same family and port.
    fn udp_endpoint(&self, local: SocketAddr) -> Option<&Arc<UdpEndpoint>> {
        let serves = |bound: SocketAddr| {
            bound.ip().is_unspecified()
                && bound.port() == local.port()
                && bound.is_ipv4() == local.is_ipv4()
        };
        self.udp
            .iter()
            .find(|e| e.local() == local)
            .or_else(|| self.udp.iter().find(|e| serves(e.local())))
    }
}

impl Drop for Transports {
    fn drop(&mut self) {
        // Never joins: the drop may run on a receive thread, or on a runtime worker.
        self.stop();
    }
}

/// Binds one listen address; returns the address actually bound.
fn bind_one(listen: Listen) -> Result<(SocketAddr, Bound), TransportError> {
    let bind_error = |source| TransportError::Bind { listen, source };
    match listen.transport {
        Transport::Udp => {
            let endpoint = socket::udp_socket(listen.addr)
                .and_then(UdpEndpoint::new)
                .map_err(bind_error)?;
            Ok((endpoint.local(), Bound::Udp(endpoint)))
        }
        Transport::Tcp => {
            let runtime = Handle::try_current().map_err(|_| TransportError::NoRuntime)?;
            let listener = socket::tcp_listener(listen.addr)
                .and_then(TcpListener::from_std)
                .map_err(bind_error)?;
            let addr = listener.local_addr().map_err(bind_error)?;
            Ok((addr, Bound::Tcp(listener, runtime)))
        }
        other => Err(TransportError::Unsupported(other)),
    }
}
