//! UDP transport over real sockets.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{Harness, OPTIONS};
use sip_transport::{Transport, TransportError, TransportLimits};
use tokio::net::UdpSocket;

async fn echo_round_trip(listen: &str, client_addr: &str) {
    let mut harness = Harness::start(&[listen], &TransportLimits::default());
    let server = harness.addr(0);
    assert_ne!(server.port(), 0);
    let client = UdpSocket::bind(client_addr).await.unwrap();
    client.send_to(OPTIONS, server).await.unwrap();

    let msg = harness.message().await;
    assert_eq!(msg.data, OPTIONS);
    assert_eq!(msg.remote, client.local_addr().unwrap());
    assert_eq!(msg.local, server);
    assert_eq!(msg.transport, Transport::Udp);
    assert_eq!(msg.connection, None);
    assert_eq!(msg.reply.remote(), client.local_addr().unwrap());
    assert_eq!(msg.reply.transport(), Transport::Udp);

    let mut buf = [0; 2048];
    let (len, from) = tokio::time::timeout(Duration::from_secs(5), client.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..len], OPTIONS);
    assert_eq!(from, server);
}

#[tokio::test]
async fn echoes_a_datagram_to_its_source_over_ipv4() {
    echo_round_trip("udp:127.0.0.1:0", "127.0.0.1:0").await;
}

#[tokio::test]
async fn echoes_a_datagram_to_its_source_over_ipv6() {
    echo_round_trip("udp:[::1]:0", "[::1]:0").await;
}

#[tokio::test]
async fn drops_keep_alives_and_oversized_datagrams() {
    let limits = TransportLimits {
        max_message_size: OPTIONS.len(),
        ..TransportLimits::default()
    };
    let mut harness = Harness::start(&["udp:127.0.0.1:0"], &limits);
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let server = harness.addr(0);
    client.send_to(b"\r\n\r\n", server).await.unwrap();
    let oversized = [OPTIONS, b"x"].concat();
    client.send_to(&oversized, server).await.unwrap();
    client.send_to(OPTIONS, server).await.unwrap();
    assert_eq!(harness.message().await.data, OPTIONS);
    harness.quiet(Duration::from_millis(100)).await;
}

#[tokio::test]
async fn send_to_uses_the_socket_bound_to_the_local_address() {
    let harness = Harness::start(&["udp:127.0.0.1:0"], &TransportLimits::default());
    let server = harness.addr(0);
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let remote = client.local_addr().unwrap();
    harness
        .transports
        .send_to(Transport::Udp, server, remote, Bytes::from_static(OPTIONS))
        .unwrap();
    let mut buf = [0; 2048];
    let (len, from) = tokio::time::timeout(Duration::from_secs(5), client.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((&buf[..len], from), (OPTIONS, server));

    let elsewhere = "127.0.0.1:9".parse().unwrap();
    let err = harness
        .transports
        .send_to(
            Transport::Udp,
            elsewhere,
            remote,
            Bytes::from_static(OPTIONS),
        )
        .unwrap_err();
    assert!(matches!(err, TransportError::NoSocket { .. }), "{err}");
}

#[tokio::test]
async fn shutdown_stops_receiving() {
    let mut harness = Harness::start(&["udp:127.0.0.1:0"], &TransportLimits::default());
    let server = harness.addr(0);
    harness.transports.shutdown().await;
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    client.send_to(OPTIONS, server).await.unwrap();
    harness.quiet(Duration::from_millis(100)).await;
    let err = harness
        .transports
        .send_to(
            Transport::Udp,
            server,
            client.local_addr().unwrap(),
            Bytes::new(),
        )
        .unwrap_err();
    assert!(matches!(err, TransportError::ShutDown), "{err}");
}
