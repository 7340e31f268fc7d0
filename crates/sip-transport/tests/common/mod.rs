//! A recording handler and helpers shared by the socket tests.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use sip_transport::{FrameError, Handler, Inbound, Listen, TransportLimits, Transports};
use tokio::sync::mpsc;

/// What the handler saw.
#[derive(Debug)]
pub enum Event {
    Message(Inbound),
    Invalid(Inbound, FrameError),
    Closed(u64, SocketAddr),
}

/// Records every callback; echoes messages back, and answers invalid ones with `400`.
pub struct Recorder {
    events: mpsc::UnboundedSender<Event>,
}

impl Handler for Recorder {
    fn on_message(&self, msg: Inbound) {
        msg.reply.send(msg.data.clone()).unwrap();
        self.events.send(Event::Message(msg)).unwrap();
    }

    fn on_invalid(&self, msg: Inbound, error: &FrameError) {
        msg.reply.send(Bytes::from_static(b"400")).unwrap();
        self.events
            .send(Event::Invalid(msg, error.clone()))
            .unwrap();
    }

    fn on_connection_closed(&self, id: u64, remote: SocketAddr) {
        self.events.send(Event::Closed(id, remote)).unwrap();
    }
}

/// The running transports and the handler's event stream.
pub struct Harness {
    pub transports: Transports,
    pub events: mpsc::UnboundedReceiver<Event>,
}

impl Harness {
    pub fn start(listens: &[&str], limits: &TransportLimits) -> Self {
        let listens: Vec<Listen> = listens.iter().map(|l| l.parse().unwrap()).collect();
        let (tx, events) = mpsc::unbounded_channel();
        let handler = Arc::new(Recorder { events: tx });
        let transports = Transports::bind(&listens, handler, limits).unwrap();
        Self { transports, events }
    }

    /// The bound address of listen `index`.
    pub fn addr(&self, index: usize) -> SocketAddr {
        self.transports.local_addrs()[index].addr
    }

    /// The next event, failing the test after 5 s.
    pub async fn next(&mut self) -> Event {
        tokio::time::timeout(Duration::from_secs(5), self.events.recv())
            .await
            .expect("no event within 5 s")
            .expect("handler dropped")
    }

    /// The next event, which must be a message.
    pub async fn message(&mut self) -> Inbound {
        match self.next().await {
            Event::Message(msg) => msg,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// The next event, which must be a close.
    pub async fn closed(&mut self) -> (u64, SocketAddr) {
        match self.next().await {
            Event::Closed(id, remote) => (id, remote),
            other => panic!("expected a close, got {other:?}"),
        }
    }

    /// Asserts that no event arrives for a while (or ever, once the handler is dropped).
    pub async fn quiet(&mut self, wait: Duration) {
        if let Ok(Some(event)) = tokio::time::timeout(wait, self.events.recv()).await {
            panic!("unexpected event {event:?}");
        }
    }
}

pub const OPTIONS: &[u8] =
    b"OPTIONS sip:example.com SIP/2.0\r\nVia: SIP/2.0/TCP client\r\nContent-Length: 0\r\n\r\n";

/// A request with a `len`-byte body.
pub fn with_body(len: usize) -> Vec<u8> {
    let head =
        format!("MESSAGE sip:example.com SIP/2.0\r\nContent-Type: text/plain\r\nl: {len}\r\n\r\n");
    let body: Vec<u8> = (0..len).map(|i| b"0123456789\r\n"[i % 12]).collect();
    [head.into_bytes(), body].concat()
}
