//! TCP transport over real sockets.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use common::{Event, Harness, OPTIONS, with_body};
use sip_transport::{FrameError, Transport, TransportError, TransportLimits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(5);

fn short_linger() -> TransportLimits {
    TransportLimits {
        close_linger: Duration::from_millis(50),
        ..TransportLimits::default()
    }
}

async fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// Reads exactly `len` bytes.
async fn read_exact(stream: &mut TcpStream, len: usize) -> Vec<u8> {
    let mut buf = vec![0; len];
    tokio::time::timeout(WAIT, stream.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    buf
}

/// Reads until the server closes; returns what came before.
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    match tokio::time::timeout(WAIT, stream.read_to_end(&mut buf)).await {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset),
        Err(_) => panic!("server did not close the connection"),
    }
    buf
}

#[tokio::test]
async fn frames_one_message_per_write_and_replies_on_the_connection() {
    let mut harness = Harness::start(&["tcp:127.0.0.1:0"], &TransportLimits::default());
    let server = harness.addr(0);
    let mut client = connect(server).await;
    for _ in 0..2 {
        client.write_all(OPTIONS).await.unwrap();
        let msg = harness.message().await;
        assert_eq!(msg.data, OPTIONS);
        assert_eq!(msg.transport, Transport::Tcp);
        assert_eq!(msg.remote, client.local_addr().unwrap());
        assert_eq!(msg.local, server);
        assert_eq!(msg.connection, msg.reply.connection());
        assert!(msg.connection.is_some());
        assert_eq!(read_exact(&mut client, OPTIONS.len()).await, OPTIONS);
    }
}

#[tokio::test]
async fn frames_a_message_sent_one_byte_per_write() {
    let mut harness = Harness::start(&["tcp:[::1]:0"], &TransportLimits::default());
    let mut client = connect(harness.addr(0)).await;
    let msg = with_body(20);
    for byte in &msg {
        client.write_all(&[*byte]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(harness.message().await.data, msg);
}

#[tokio::test]
async fn frames_pipelined_messages_from_one_write() {
    let mut harness = Harness::start(&["tcp:127.0.0.1:0"], &TransportLimits::default());
    let mut client = connect(harness.addr(0)).await;
    let second = with_body(300);
    client
        .write_all(&[OPTIONS, &second, OPTIONS].concat())
        .await
        .unwrap();
    assert_eq!(harness.message().await.data, OPTIONS);
    assert_eq!(harness.message().await.data, second);
    assert_eq!(harness.message().await.data, OPTIONS);
    let echoed = read_exact(&mut client, 2 * OPTIONS.len() + second.len()).await;
    assert_eq!(echoed, [OPTIONS, &second, OPTIONS].concat());
}

#[tokio::test]
async fn frames_a_message_with_a_large_body() {
    let mut harness = Harness::start(&["tcp:127.0.0.1:0"], &TransportLimits::default());
    let mut client = connect(harness.addr(0)).await;
    let msg = with_body(40_000);
    client.write_all(&msg).await.unwrap();
    assert_eq!(harness.message().await.data, msg);
}

#[tokio::test]
async fn answers_a_double_crlf_ping_with_a_crlf_pong() {
    let mut harness = Harness::start(&["tcp:127.0.0.1:0"], &TransportLimits::default());
    let mut client = connect(harness.addr(0)).await;
    client.write_all(b"\r\n\r\n").await.unwrap();
    assert_eq!(read_exact(&mut client, 2).await, b"\r\n");
    client.write_all(OPTIONS).await.unwrap();
    assert_eq!(harness.message().await.data, OPTIONS);
    assert_eq!(read_exact(&mut client, OPTIONS.len()).await, OPTIONS);
}

#[tokio::test]
async fn missing_content_length_yields_the_head_a_reply_and_a_close() {
    let mut harness = Harness::start(&["tcp:127.0.0.1:0"], &short_linger());
    let mut client = connect(harness.addr(0)).await;
    let head = b"REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/TCP client\r\n\r\n";
    client.write_all(head).await.unwrap();
    client.write_all(OPTIONS).await.unwrap();
    let Event::Invalid(msg, error) = harness.next().await else {
        panic!("expected an invalid message");
    };
    assert_eq!(msg.data, head.as_slice());
    assert_eq!(error, FrameError::MissingContentLength);
    // The handler's 400 is delivered, then the connection closes; OPTIONS is never framed.
    assert_eq!(read_to_close(&mut client).await, b"400");
    let (id, remote) = harness.closed().await;
    assert_eq!((Some(id), remote), (msg.connection, msg.remote));
    assert!(harness.transports.connections().is_empty());
}

#[tokio::test]
async fn an_oversized_message_closes_the_connection() {
    let limits = TransportLimits {
        max_message_size: 1_000,
        ..short_linger()
    };
    let mut harness = Harness::start(&["tcp:127.0.0.1:0"], &limits);

    let mut client = connect(harness.addr(0)).await;
    client.write_all(&with_body(1_000)).await.unwrap();
    let Event::Invalid(_, error) = harness.next().await else {
        panic!("expected an invalid message");
    };
    assert_eq!(error, FrameError::TooLarge { limit: 1_000 });
    assert_eq!(read_to_close(&mut client).await, b"400");
    harness.closed().await;

    // A head that never ends cannot be answered: the connection just closes.
    let mut client = connect(harness.addr(0)).await;
    client.write_all(&[b'A'; 1_500]).await.unwrap();
    assert_eq!(read_to_close(&mut client).await, b"");
    harness.closed().await;
}

#[tokio::test]
async fn replies_reach_the_right_connection() {
    let mut harness = Harness::start(&["tcp:127.0.0.1:0"], &TransportLimits::default());
    let server = harness.addr(0);
    let mut alice = connect(server).await;
    let mut bob = connect(server).await;
    let bob_msg = with_body(5);
    bob.write_all(&bob_msg).await.unwrap();
    let from_bob = harness.message().await;
    alice.write_all(OPTIONS).await.unwrap();
    let from_alice = harness.message().await;
    assert_ne!(from_alice.connection, from_bob.connection);
    assert_eq!(read_exact(&mut bob, bob_msg.len()).await, bob_msg);
    assert_eq!(read_exact(&mut alice, OPTIONS.len()).await, OPTIONS);

    // Later requests over the existing flows, by id and by addresses.
    let connections = harness.transports.connections();
    assert_eq!(connections.len(), 2);
    let to_alice = connections.get(from_alice.connection.unwrap()).unwrap();
    assert_eq!(to_alice.remote(), alice.local_addr().unwrap());
    to_alice.send(Bytes::from_static(b"by id")).unwrap();
    assert_eq!(read_exact(&mut alice, 5).await, b"by id");
    harness
        .transports
        .send_to(
            Transport::Tcp,
            server,
            bob.local_addr().unwrap(),
            Bytes::from_static(b"by flow"),
        )
        .unwrap();
    assert_eq!(read_exact(&mut bob, 7).await, b"by flow");
}

#[tokio::test]
async fn closing_the_client_is_reported_and_forgets_the_connection() {
    let mut harness = Harness::start(&["tcp:127.0.0.1:0"], &TransportLimits::default());
    let mut client = connect(harness.addr(0)).await;
    client.write_all(OPTIONS).await.unwrap();
    let msg = harness.message().await;
    let id = msg.connection.unwrap();
    drop(client);
    assert_eq!(harness.closed().await, (id, msg.remote));
    assert!(harness.transports.connections().get(id).is_none());
    let err = msg.reply.send(Bytes::from_static(OPTIONS)).unwrap_err();
    assert!(
        matches!(err, TransportError::ConnectionClosed { id: closed } if closed == id),
        "{err}"
    );
    let err = harness
        .transports
        .send_to(Transport::Tcp, msg.local, msg.remote, Bytes::new())
        .unwrap_err();
    assert!(matches!(err, TransportError::NoConnection { .. }), "{err}");
}

#[tokio::test]
async fn connections_over_the_limit_are_closed_at_once() {
    let limits = TransportLimits {
        max_connections: 2,
        ..TransportLimits::default()
    };
    let mut harness = Harness::start(&["tcp:127.0.0.1:0"], &limits);
    let server = harness.addr(0);
    let mut first = connect(server).await;
    let mut second = connect(server).await;
    for client in [&mut first, &mut second] {
        client.write_all(OPTIONS).await.unwrap();
        harness.message().await;
    }
    let mut third = connect(server).await;
    assert_eq!(read_to_close(&mut third).await, b"");
    harness.quiet(Duration::from_millis(50)).await;
    assert_eq!(harness.transports.connections().len(), 2);

    drop(first);
    harness.closed().await;
    let mut fourth = connect(server).await;
    fourth.write_all(OPTIONS).await.unwrap();
    assert_eq!(harness.message().await.data, OPTIONS);
    assert_eq!(read_exact(&mut fourth, OPTIONS.len()).await, OPTIONS);
}

#[tokio::test]
async fn idle_connections_close_unless_traffic_refreshes_them() {
    let limits = TransportLimits {
        connection_idle_timeout: Duration::from_secs(1),
        ..short_linger()
    };
    let mut harness = Harness::start(&["tcp:127.0.0.1:0"], &limits);
    let mut client = connect(harness.addr(0)).await;
    // Keep-alives every 150 ms for 1.8 s: longer than the idle timeout.
    for _ in 0..12 {
        client.write_all(b"\r\n\r\n").await.unwrap();
        assert_eq!(read_exact(&mut client, 2).await, b"\r\n");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert_eq!(harness.transports.connections().len(), 1);
    // Then silence: the server closes.
    assert_eq!(read_to_close(&mut client).await, b"");
    harness.closed().await;
}

#[tokio::test]
async fn shutdown_closes_connections() {
    let mut harness = Harness::start(&["tcp:127.0.0.1:0"], &short_linger());
    let mut client = connect(harness.addr(0)).await;
    client.write_all(OPTIONS).await.unwrap();
    harness.message().await;
    harness.transports.shutdown().await;
    assert_eq!(read_to_close(&mut client).await, OPTIONS);
    harness.closed().await;
    assert!(TcpStream::connect(harness.addr(0)).await.is_err());
}

#[tokio::test]
async fn an_opened_connection_carries_messages_both_ways_and_reports_its_close() {
    // The peer is a plain listener; the transports open the connection to it.
    let peer = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut harness = Harness::start(&["tcp:127.0.0.1:0"], &short_linger());
    let handle = harness
        .transports
        .connect_tcp(peer.local_addr().unwrap())
        .await
        .unwrap();
    let (mut accepted, from) = peer.accept().await.unwrap();
    assert_eq!(handle.remote(), peer.local_addr().unwrap());
    assert_eq!(handle.local(), from);
    assert_eq!(harness.transports.connections().len(), 1);

    handle.send(Bytes::from_static(OPTIONS)).unwrap();
    assert_eq!(read_exact(&mut accepted, OPTIONS.len()).await, OPTIONS);
    accepted.write_all(OPTIONS).await.unwrap();
    let msg = harness.message().await;
    assert_eq!(msg.data, OPTIONS);
    assert_eq!(msg.connection, handle.connection());

    drop(accepted);
    let (id, remote) = harness.closed().await;
    assert_eq!(Some(id), handle.connection());
    assert_eq!(remote, peer.local_addr().unwrap());
    assert!(handle.send(Bytes::from_static(OPTIONS)).is_err());
}

#[tokio::test]
async fn connecting_to_a_closed_port_is_a_connect_error() {
    let harness = Harness::start(&["tcp:127.0.0.1:0"], &short_linger());
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let error = harness.transports.connect_tcp(closed).await.unwrap_err();
    assert!(
        matches!(error, TransportError::Connect { remote, .. } if remote == closed),
        "{error}"
    );
}
