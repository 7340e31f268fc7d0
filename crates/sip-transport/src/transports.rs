//! [`Transports`]: binding every listen address and running its loops.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use sip_msg::Transport;
use tokio::net::{TcpListener, UdpSocket};
use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::connections::Connections;
use crate::error::TransportError;
use crate::inbound::Handler;
use crate::limits::TransportLimits;
use crate::listen::Listen;
use crate::socket;
use crate::tcp::{self, TcpContext};
use crate::udp::{self, Overflow, UdpEndpoint};

/// The running transports: bound sockets, their receive loops and the connection table.
///
/// Dropping it stops the loops, like [`Transports::shutdown`] without waiting.
#[derive(Debug)]
pub struct Transports {
    bound: Vec<Listen>,
    udp: Vec<Arc<UdpEndpoint>>,
    connections: Connections,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

/// A socket bound but not yet served.
enum Bound {
    Udp(Arc<UdpEndpoint>, Overflow),
    Tcp(TcpListener),
}

impl Transports {
    /// Binds every listen address and starts serving them, calling `handler` for each
    /// message. Must be called from within a tokio runtime. Nothing is served unless every
    /// address binds.
    pub fn bind(
        listens: &[Listen],
        handler: Arc<dyn Handler>,
        limits: &TransportLimits,
    ) -> Result<Self, TransportError> {
        let runtime = Handle::try_current().map_err(|_| TransportError::NoRuntime)?;
        let mut bound = Vec::with_capacity(listens.len());
        let mut sockets = Vec::with_capacity(listens.len());
        for &listen in listens {
            let (addr, socket) = bind_one(listen, limits)?;
            bound.push(Listen::new(listen.transport, addr));
            sockets.push(socket);
        }

        let shutdown = CancellationToken::new();
        let tasks = TaskTracker::new();
        let connections = Connections::default();
        let tcp = Arc::new(TcpContext {
            handler: Arc::clone(&handler),
            limits: limits.clone(),
            connections: connections.clone(),
            shutdown: shutdown.clone(),
            tasks: tasks.clone(),
        });
        let mut udp_endpoints = Vec::new();
        for socket in sockets {
            match socket {
                Bound::Udp(endpoint, overflow) => {
                    let receive = udp::receive_loop(
                        Arc::clone(&endpoint),
                        Arc::clone(&handler),
                        limits.max_message_size,
                        shutdown.clone(),
                    );
                    tasks.spawn_on(receive, &runtime);
                    let send = udp::send_loop(Arc::clone(&endpoint), overflow, shutdown.clone());
                    tasks.spawn_on(send, &runtime);
                    udp_endpoints.push(endpoint);
                }
                Bound::Tcp(listener) => {
                    tasks.spawn_on(tcp::accept_loop(listener, Arc::clone(&tcp)), &runtime);
                }
            }
        }
        Ok(Self {
            bound,
            udp: udp_endpoints,
            connections,
            shutdown,
            tasks,
        })
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
                .send(remote, data),
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

    /// Stops accepting and receiving, closes every connection (flushing queued messages for
    /// at most [`TransportLimits::close_linger`]) and waits for all loops to end.
    pub async fn shutdown(&self) {
        self.shutdown.cancel();
        self.tasks.close();
        self.tasks.wait().await;
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
        self.shutdown.cancel();
    }
}

/// Binds one listen address; returns the address actually bound.
fn bind_one(
    listen: Listen,
    limits: &TransportLimits,
) -> Result<(SocketAddr, Bound), TransportError> {
    let bind_error = |source| TransportError::Bind { listen, source };
    match listen.transport {
        Transport::Udp => {
            let socket = socket::udp_socket(listen.addr).and_then(UdpSocket::from_std);
            let (endpoint, overflow) = socket
                .and_then(|s| UdpEndpoint::new(s, limits.writer_queue))
                .map_err(bind_error)?;
            Ok((endpoint.local(), Bound::Udp(endpoint, overflow)))
        }
        Transport::Tcp => {
            let listener = socket::tcp_listener(listen.addr)
                .and_then(TcpListener::from_std)
                .map_err(bind_error)?;
            let addr = listener.local_addr().map_err(bind_error)?;
            Ok((addr, Bound::Tcp(listener)))
        }
        other => Err(TransportError::Unsupported(other)),
    }
}
