//! Getting a registration's [`Transmit`]s onto the wire: name resolution (cached), UDP sends from the listening
//! socket, and TCP connections opened on demand and shared by every registration to the same peer.
//!
//! Slow steps (a DNS lookup, opening a connection) run on their own tasks and report back to the driver as an
//! [`Event`]; the transmits waiting for them are kept here meanwhile.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sip_transport::{ReplyHandle, Transport, Transports};
use sip_uac::{SendError, Transmit};
use tokio::sync::mpsc;

use super::driver::Event;

/// How long a resolved name is used before it is looked up again.
const DNS_TTL: Duration = Duration::from_secs(60);

/// The port used when a next hop names none (no SRV lookup yet).
const DEFAULT_PORT: u16 = 5060;

/// A host and port to resolve.
type NameKey = (String, u16);

/// A send that could not be made; the registration `id` must hear about it.
pub(crate) struct Failed {
    pub(crate) id: String,
    pub(crate) error: SendError,
}

/// Name cache, connections, and the transmits waiting for either.
pub(crate) struct Sender {
    transports: Arc<Transports>,
    events: mpsc::Sender<Event>,
    names: HashMap<NameKey, (Vec<SocketAddr>, Instant)>,
    resolving: HashMap<NameKey, Vec<(String, Transmit)>>,
    connections: HashMap<SocketAddr, ReplyHandle>,
    connecting: HashMap<SocketAddr, Vec<(String, Transmit)>>,
    /// Which registrations use which connection, to tell them when it drops.
    users: HashMap<u64, HashSet<String>>,
}

impl Sender {
    /// A sender over `transports`, reporting finished lookups and connects on `events`.
    pub(crate) fn new(transports: Arc<Transports>, events: mpsc::Sender<Event>) -> Self {
        Self {
            transports,
            events,
            names: HashMap::new(),
            resolving: HashMap::new(),
            connections: HashMap::new(),
            connecting: HashMap::new(),
            users: HashMap::new(),
        }
    }

    /// Sends `t` for registration `id`, now or once its destination is resolved or connected.
    pub(crate) fn send(&mut self, id: &str, t: Transmit, now: Instant) -> Option<Failed> {
        let port = t.destination.port.unwrap_or(DEFAULT_PORT);
        let host = t
            .destination
            .host
            .trim_start_matches('[')
            .trim_end_matches(']');
        if let Ok(ip) = host.parse::<IpAddr>() {
            return self.send_to(id, t, SocketAddr::new(ip, port));
        }
        let key = (host.to_ascii_lowercase(), port);
        if let Some((addrs, at)) = self.names.get(&key)
            && now.duration_since(*at) < DNS_TTL
            && let Some(&addr) = addrs.first()
        {
            return self.send_to(id, t, addr);
        }
        let waiting = self.resolving.entry(key.clone()).or_default();
        waiting.push((id.to_owned(), t));
        if waiting.len() == 1 {
            let events = self.events.clone();
            tokio::spawn(async move {
                let result = match tokio::net::lookup_host((key.0.as_str(), key.1)).await {
                    Ok(addrs) => Ok(addrs.collect()),
                    Err(e) => Err(format!("cannot resolve {}: {e}", key.0)),
                };
                let _ = events.send(Event::Resolved { key, result }).await;
            });
        }
        None
    }

    /// A lookup finished: sends what waited for it, or fails it.
    pub(crate) fn resolved(
        &mut self,
        key: NameKey,
        result: Result<Vec<SocketAddr>, String>,
        now: Instant,
    ) -> Vec<Failed> {
        let waiting = self.resolving.remove(&key).unwrap_or_default();
        let resolved = result.and_then(|addrs| match addrs.first() {
            Some(&addr) => Ok((addr, addrs)),
            None => Err(format!("{} has no address", key.0)),
        });
        match resolved {
            Ok((addr, addrs)) => {
                self.names.insert(key, (addrs, now));
                waiting
                    .into_iter()
                    .filter_map(|(id, t)| self.send_to(&id, t, addr))
                    .collect()
            }
            Err(text) => waiting
                .into_iter()
                .map(|(id, _)| Failed {
                    id,
                    error: SendError::Dns(text.clone()),
                })
                .collect(),
        }
    }

    /// A connect finished: sends what waited for it, or fails it.
    pub(crate) fn connected(
        &mut self,
        remote: SocketAddr,
        result: Result<ReplyHandle, String>,
    ) -> Vec<Failed> {
        let waiting = self.connecting.remove(&remote).unwrap_or_default();
        match result {
            Ok(handle) => {
                self.connections.insert(remote, handle);
                waiting
                    .into_iter()
                    .filter_map(|(id, t)| self.send_to(&id, t, remote))
                    .collect()
            }
            Err(text) => waiting
                .into_iter()
                .map(|(id, _)| Failed {
                    id,
                    error: SendError::Transport(text.clone()),
                })
                .collect(),
        }
    }

    /// A connection closed: forgets it and returns the registrations that used it.
    pub(crate) fn connection_closed(&mut self, connection: u64) -> HashSet<String> {
        self.connections
            .retain(|_, h| h.connection() != Some(connection));
        self.users.remove(&connection).unwrap_or_default()
    }

    /// Sends to a resolved address.
    fn send_to(&mut self, id: &str, t: Transmit, remote: SocketAddr) -> Option<Failed> {
        let fail = |text: String| {
            Some(Failed {
                id: id.to_owned(),
                error: SendError::Transport(text),
            })
        };
        match t.destination.transport {
            Transport::Udp => match self.transports.send_to(
                Transport::Udp,
                t.local,
                remote,
                Bytes::from(t.payload),
            ) {
                Ok(()) => None,
                Err(e) => fail(e.to_string()),
            },
            Transport::Tcp => {
                if let Some(handle) = self.connections.get(&remote) {
                    let connection = handle.connection();
                    match handle.send(Bytes::from(t.payload)) {
                        Ok(()) => {
                            if let Some(c) = connection {
                                self.users.entry(c).or_default().insert(id.to_owned());
                            }
                            return None;
                        }
                        Err(e) => {
                            self.connections.remove(&remote);
                            return fail(e.to_string());
                        }
                    }
                }
                let waiting = self.connecting.entry(remote).or_default();
                waiting.push((id.to_owned(), t));
                if waiting.len() == 1 {
                    let (transports, events) = (Arc::clone(&self.transports), self.events.clone());
                    tokio::spawn(async move {
                        let result = transports
                            .connect_tcp(remote)
                            .await
                            .map_err(|e| e.to_string());
                        let _ = events.send(Event::Connected { remote, result }).await;
                    });
                }
                None
            }
            other => fail(format!("transport {} is not supported", other.as_str())),
        }
    }
}
