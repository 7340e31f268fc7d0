//! UDP transport over real sockets.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::{Harness, OPTIONS};
use sip_transport::{Handler, Inbound, Transport, TransportError, TransportLimits, Transports};
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
    tokio::time::timeout(Duration::from_secs(1), harness.transports.shutdown())
        .await
        .expect("shutdown took over a second");
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

/// `clients` clients each send `per_client` distinct requests at once; every one must be
/// handled and answered to its own sender.
async fn answers_many_clients_at_once(listen: &str, client_addr: &str) {
    const CLIENTS: usize = 8;
    const PER_CLIENT: usize = 25;
    let limits = TransportLimits {
        udp_workers: 4,
        ..TransportLimits::default()
    };
    let mut harness = Harness::start(&[listen], &limits);
    let server = harness.addr(0);
    let request = |client: usize, seq: usize| {
        format!("OPTIONS sip:example.com SIP/2.0\r\nCall-ID: {client}-{seq}\r\nl: 0\r\n\r\n")
    };

    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let socket = UdpSocket::bind(client_addr).await.unwrap();
        clients.push(tokio::spawn(async move {
            for seq in 0..PER_CLIENT {
                socket
                    .send_to(request(client, seq).as_bytes(), server)
                    .await
                    .unwrap();
            }
            let mut answers = HashSet::new();
            let mut buf = [0; 2048];
            while answers.len() < PER_CLIENT {
                let (len, from) =
                    tokio::time::timeout(Duration::from_secs(5), socket.recv_from(&mut buf))
                        .await
                        .expect("an answer is missing")
                        .unwrap();
                assert_eq!(from, server);
                assert!(answers.insert(buf[..len].to_vec()), "answered twice");
            }
            let expected: HashSet<Vec<u8>> = (0..PER_CLIENT)
                .map(|seq| request(client, seq).into_bytes())
                .collect();
            assert_eq!(answers, expected);
        }));
    }
    for client in clients {
        client.await.unwrap();
    }
    let mut handled = HashSet::new();
    for _ in 0..CLIENTS * PER_CLIENT {
        assert!(handled.insert(harness.message().await.data));
    }
    harness.quiet(Duration::from_millis(100)).await;
}

#[tokio::test]
async fn answers_many_clients_at_once_over_ipv4() {
    answers_many_clients_at_once("udp:127.0.0.1:0", "127.0.0.1:0").await;
}

#[tokio::test]
async fn answers_many_clients_at_once_over_ipv6() {
    answers_many_clients_at_once("udp:[::1]:0", "[::1]:0").await;
}

/// Holds every message until `expected` are being handled at once (or 5 s pass), then
/// reports how many were, and on which thread, inside a runtime context or not.
struct Gate {
    expected: usize,
    inside: Mutex<usize>,
    all_in: Condvar,
    seen: std::sync::mpsc::Sender<(usize, Option<String>, bool)>,
}

impl Handler for Gate {
    fn on_message(&self, msg: Inbound) {
        let mut inside = self.inside.lock().unwrap();
        *inside += 1;
        self.all_in.notify_all();
        let (inside, _) = self
            .all_in
            .wait_timeout_while(inside, Duration::from_secs(5), |n| *n < self.expected)
            .unwrap();
        let thread = std::thread::current().name().map(str::to_owned);
        let in_runtime = tokio::runtime::Handle::try_current().is_ok();
        self.seen.send((*inside, thread, in_runtime)).unwrap();
        drop(inside);
        msg.reply.send(msg.data).unwrap();
    }
}

#[tokio::test]
async fn workers_handle_messages_in_parallel_on_their_own_threads() {
    const WORKERS: usize = 3;
    let (seen, results) = std::sync::mpsc::channel();
    let gate = Arc::new(Gate {
        expected: WORKERS,
        inside: Mutex::new(0),
        all_in: Condvar::new(),
        seen,
    });
    let limits = TransportLimits {
        udp_workers: WORKERS,
        ..TransportLimits::default()
    };
    let listen = ["udp:127.0.0.1:0".parse().unwrap()];
    let transports = Transports::bind(&listen, gate, &limits).unwrap();
    let server = transports.local_addrs()[0].addr;
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    for _ in 0..WORKERS {
        client.send_to(OPTIONS, server).await.unwrap();
    }

    let mut threads = HashSet::new();
    for _ in 0..WORKERS {
        let (inside, thread, in_runtime) = results.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(inside, WORKERS, "messages were not handled in parallel");
        let thread = thread.expect("worker threads are named");
        assert!(thread.starts_with("sip-udp-"), "{thread}");
        assert!(!in_runtime, "handler ran inside a runtime context");
        threads.insert(thread);
    }
    assert_eq!(threads.len(), WORKERS);
    let mut buf = [0; 2048];
    for _ in 0..WORKERS {
        let (len, _) = tokio::time::timeout(Duration::from_secs(5), client.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..len], OPTIONS);
    }
}

#[tokio::test]
async fn shutdown_with_idle_workers_returns_promptly_and_frees_the_port() {
    let limits = TransportLimits {
        udp_workers: 8,
        ..TransportLimits::default()
    };
    let harness = Harness::start(&["udp:127.0.0.1:0"], &limits);
    let server = harness.addr(0);
    // Let every worker block in its receive call.
    tokio::time::sleep(Duration::from_millis(300)).await;
    tokio::time::timeout(Duration::from_secs(1), harness.transports.shutdown())
        .await
        .expect("shutdown took over a second");
    drop(harness);
    std::net::UdpSocket::bind(server).expect("a worker still holds the socket");
}

#[tokio::test]
async fn dropping_stops_the_workers() {
    let Harness {
        transports,
        mut events,
    } = Harness::start(&["udp:127.0.0.1:0"], &TransportLimits::default());
    let server = transports.local_addrs()[0].addr;
    drop(transports);
    // The channel closes once every worker has let go of the handler.
    let closed = tokio::time::timeout(Duration::from_secs(1), events.recv()).await;
    assert!(matches!(closed, Ok(None)), "{closed:?}");
    std::net::UdpSocket::bind(server).expect("a worker still holds the socket");
}

/// Hands every message to another thread, which answers it.
struct Forward(std::sync::mpsc::Sender<Inbound>);

impl Handler for Forward {
    fn on_message(&self, msg: Inbound) {
        self.0.send(msg).unwrap();
    }
}

#[tokio::test]
async fn replies_sent_from_other_threads_reach_the_client() {
    let (forward, inbox) = std::sync::mpsc::channel::<Inbound>();
    let listen = ["udp:127.0.0.1:0".parse().unwrap()];
    let transports = Transports::bind(
        &listen,
        Arc::new(Forward(forward)),
        &TransportLimits::default(),
    )
    .unwrap();
    let server = transports.local_addrs()[0].addr;
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let remote = client.local_addr().unwrap();
    client.send_to(OPTIONS, server).await.unwrap();

    std::thread::scope(|scope| {
        scope.spawn(move || {
            let msg = inbox.recv_timeout(Duration::from_secs(5)).unwrap();
            msg.reply.send(Bytes::from_static(b"first")).unwrap();
        });
        scope.spawn(|| {
            transports
                .send_to(
                    Transport::Udp,
                    server,
                    remote,
                    Bytes::from_static(b"second"),
                )
                .unwrap();
        });
    });

    let mut answers = HashSet::new();
    let mut buf = [0; 2048];
    for _ in 0..2 {
        let (len, from) = tokio::time::timeout(Duration::from_secs(5), client.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(from, server);
        answers.insert(buf[..len].to_vec());
    }
    assert_eq!(
        answers,
        HashSet::from([b"first".to_vec(), b"second".to_vec()])
    );
}
