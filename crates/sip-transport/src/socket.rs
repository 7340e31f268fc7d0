//! Creation of the listening sockets (socket2), with the options a busy SIP server needs.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, Socket, Type};

/// Kernel send and receive buffer size requested for UDP sockets, so bursts survive while
/// the receive workers are busy. The kernel may cap it (`net.core.rmem_max`, `wmem_max`).
const UDP_BUFFER_SIZE: usize = 8 * 1024 * 1024;

/// Pending-connection backlog of TCP listeners.
const LISTEN_BACKLOG: i32 = 1024;

/// A UDP socket bound to `addr`, left blocking (as created) for the receive worker threads.
///
/// `SO_REUSEADDR` is deliberately not set: on Linux it lets several UDP sockets share one
/// port, so a second server would silently steal part of the traffic instead of failing to
/// bind; UDP has no TIME_WAIT state that would call for it.
pub(crate) fn udp_socket(addr: SocketAddr) -> io::Result<std::net::UdpSocket> {
    let socket = new_socket(addr, Type::DGRAM, Protocol::UDP)?;
    if let Err(error) = socket.set_recv_buffer_size(UDP_BUFFER_SIZE) {
        tracing::debug!(%addr, %error, "cannot enlarge the UDP receive buffer");
    }
    if let Err(error) = socket.set_send_buffer_size(UDP_BUFFER_SIZE) {
        tracing::debug!(%addr, %error, "cannot enlarge the UDP send buffer");
    }
    socket.bind(&addr.into())?;
    tracing::debug!(
        %addr,
        recv_buffer = socket.recv_buffer_size().ok(),
        send_buffer = socket.send_buffer_size().ok(),
        "UDP socket bound"
    );
    Ok(socket.into())
}

/// A non-blocking TCP listener on `addr`, with `SO_REUSEADDR` so a restart can bind while old
/// connections linger in TIME_WAIT.
pub(crate) fn tcp_listener(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = new_socket(addr, Type::STREAM, Protocol::TCP)?;
    socket.set_nonblocking(true)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    tracing::debug!(%addr, "TCP listener bound");
    Ok(socket.into())
}

/// A socket for `addr`'s family; IPv6 sockets are IPv6-only, so an IPv4 and an IPv6 socket
/// can share a port.
fn new_socket(addr: SocketAddr, ty: Type, protocol: Protocol) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), ty, Some(protocol))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    Ok(socket)
}
