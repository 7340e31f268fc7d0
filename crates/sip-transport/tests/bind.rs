//! Binding listen addresses.

mod common;

use std::net::UdpSocket;
use std::sync::Arc;
use std::time::Duration;

use common::{Harness, OPTIONS};
use sip_transport::{
    Handler, Inbound, Listen, Transport, TransportError, TransportLimits, Transports,
};

struct Ignore;

impl Handler for Ignore {
    fn on_message(&self, _msg: Inbound) {}
}

fn bind(listens: &[&str]) -> Result<Transports, TransportError> {
    let listens: Vec<Listen> = listens.iter().map(|l| l.parse().unwrap()).collect();
    Transports::bind(&listens, Arc::new(Ignore), &TransportLimits::default())
}

#[tokio::test]
async fn reports_the_bound_addresses_in_order() {
    let harness = Harness::start(
        &["udp:127.0.0.1:0", "tcp:127.0.0.1:0", "tcp:[::1]:0"],
        &TransportLimits::default(),
    );
    let bound = harness.transports.local_addrs();
    let transports: Vec<Transport> = bound.iter().map(|l| l.transport).collect();
    assert_eq!(transports, [Transport::Udp, Transport::Tcp, Transport::Tcp]);
    assert!(bound.iter().all(|l| l.addr.port() != 0));
    assert!(bound[0].addr.is_ipv4() && bound[1].addr.is_ipv4() && bound[2].addr.is_ipv6());
}

#[tokio::test]
async fn ipv4_and_ipv6_wildcards_share_a_port() {
    let first = bind(&["tcp:0.0.0.0:0"]).unwrap();
    let port = first.local_addrs()[0].addr.port();
    let both = bind(&[
        &format!("udp:0.0.0.0:{port}"),
        &format!("udp:[::]:{port}"),
        &format!("tcp:[::]:{port}"),
    ]);
    assert!(both.is_ok(), "{:?}", both.err());
}

#[tokio::test]
async fn a_udp_port_in_use_is_an_error() {
    let first = bind(&["udp:127.0.0.1:0"]).unwrap();
    let taken = first.local_addrs()[0].to_string();
    let err = bind(&[&taken]).unwrap_err();
    assert!(
        matches!(&err, TransportError::Bind { listen, .. } if listen.to_string() == taken),
        "{err}"
    );
}

#[tokio::test]
async fn unsupported_transports_are_refused() {
    let tls = Listen::new(Transport::Tls, "127.0.0.1:0".parse().unwrap());
    let err = Transports::bind(&[tls], Arc::new(Ignore), &TransportLimits::default()).unwrap_err();
    assert!(
        matches!(err, TransportError::Unsupported(Transport::Tls)),
        "{err}"
    );
}

#[test]
fn binding_tcp_outside_a_runtime_is_an_error() {
    let err = bind(&["udp:127.0.0.1:0", "tcp:127.0.0.1:0"]).unwrap_err();
    assert!(matches!(err, TransportError::NoRuntime), "{err}");
}

#[test]
fn udp_is_served_without_a_runtime() {
    let harness = Harness::start(&["udp:127.0.0.1:0"], &TransportLimits::default());
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    client.send_to(OPTIONS, harness.addr(0)).unwrap();
    let mut buf = [0; 2048];
    let (len, from) = client.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..len], from), (OPTIONS, harness.addr(0)));
}
