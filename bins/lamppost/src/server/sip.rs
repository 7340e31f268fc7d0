//! The SIP service: what happens to each message the transports deliver.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use registrar::reply::{start, write_reply};
use registrar::{Identity, Source, Target, precheck};
use sip_msg::{Limits, Message, Method};
use sip_transport::{FrameError, Handler, Inbound, ReplyHandle};
use tracing::{debug, info, warn};

use super::Server;
use super::auth::AuthStep;
use super::metrics;

/// Methods this server answers itself.
const ALLOW: &str = "REGISTER, OPTIONS";

/// Receives messages from the transports and answers them.
pub(crate) struct SipService {
    server: Arc<Server>,
    limits: Limits,
    runtime: tokio::runtime::Handle,
}

impl SipService {
    /// A service over `server`, accepting messages up to `max_message_size` bytes.
    ///
    /// Must be called inside the runtime that slow paths (store lookups) are spawned on: the transports may call the
    /// service from plain threads.
    pub(crate) fn new(server: Arc<Server>, max_message_size: usize) -> Self {
        Self {
            runtime: tokio::runtime::Handle::current(),
            server,
            limits: Limits {
                max_message_size,
                ..Limits::default()
            },
        }
    }
}

impl Handler for SipService {
    fn on_message(&self, inbound: Inbound) {
        handle(&self.server, &self.limits, &self.runtime, inbound);
    }

    fn on_connection_closed(&self, id: u64, _remote: std::net::SocketAddr) {
        self.server.uac.connection_closed(id);
    }

    fn on_invalid(&self, inbound: Inbound, error: &FrameError) {
        debug!(remote = %inbound.remote, %error, "unframeable message on a stream");
        metrics::parse_error();
        let err = parse_error_of(error);
        let mut out = Vec::new();
        if sip_msg::write_bad_request(&mut out, &inbound.data, &err, inbound.remote) {
            send(&inbound.reply, out);
        }
    }
}

/// Handles one message; may finish on another task when the store must be consulted or written.
fn handle(
    server: &Arc<Server>,
    limits: &Limits,
    runtime: &tokio::runtime::Handle,
    inbound: Inbound,
) {
    let mut out = Vec::with_capacity(768);
    let msg = match sip_msg::parse(&inbound.data, limits) {
        Ok(m) => m,
        Err(e) => {
            metrics::parse_error();
            debug!(remote = %inbound.remote, error = %e, "unparseable message");
            if sip_msg::write_bad_request(&mut out, &inbound.data, &e, inbound.remote) {
                send(&inbound.reply, out);
            }
            return;
        }
    };
    let Some(method) = msg.method() else {
        // Responses belong to the outbound registrations' client transactions.
        server.uac.deliver_response(inbound.data.clone());
        return;
    };
    if !matches!(method, Method::Register | Method::Ack | Method::Options)
        && let Some(target) = request_user(&msg).and_then(|user| server.uac.inbound_target(user))
    {
        from_trunk(server, &inbound, &msg, method, &target, out);
        return;
    }
    match method {
        Method::Register => register(server, limits, runtime, &inbound, &msg, out),
        Method::Ack => {}
        Method::Options => {
            if write_reply(
                &mut out,
                &msg,
                inbound.remote,
                200,
                "OK",
                &[
                    ("Allow", ALLOW),
                    ("Accept", "application/sdp"),
                    ("Supported", "path"),
                ],
            ) {
                send(&inbound.reply, out);
            }
        }
        _ => {
            if write_reply(
                &mut out,
                &msg,
                inbound.remote,
                405,
                "Method Not Allowed",
                &[("Allow", ALLOW)],
            ) {
                send(&inbound.reply, out);
            }
        }
    }
}

/// The user part of the Request-URI.
fn request_user<'a>(msg: &Message<'a>) -> Option<&'a str> {
    let uri = msg.request_uri()?;
    let rest = uri.split_once(':')?.1;
    let (user, _) = rest.split_once('@')?;
    Some(user.split(';').next().unwrap_or(user))
}

/// A request a trunk sent to one of our registrations' Contacts: it is for the registration's local AOR. Routing
/// to that AOR's bindings comes with the proxy; until then it is logged and answered 480.
fn from_trunk(
    server: &Server,
    inbound: &Inbound,
    msg: &Message<'_>,
    method: Method<'_>,
    target: &crate::uac::InboundTarget,
    mut out: Vec<u8>,
) {
    let bindings = server.location.binding_count(&target.local_aor);
    info!(
        registration = %target.registration,
        local_aor = %target.local_aor,
        method = method.as_str(),
        from = %inbound.remote,
        bindings,
        "request from a trunk for a local AOR; routing is not available yet, answered 480"
    );
    metrics::trunk_request();
    if write_reply(
        &mut out,
        msg,
        inbound.remote,
        480,
        "Temporarily Unavailable",
        &[("Retry-After", "60")],
    ) {
        send(&inbound.reply, out);
    }
}

fn register(
    server: &Arc<Server>,
    limits: &Limits,
    runtime: &tokio::runtime::Handle,
    inbound: &Inbound,
    msg: &Message<'_>,
    mut out: Vec<u8>,
) {
    let now = SystemTime::now();
    let source = Source {
        remote: inbound.remote,
        local: inbound.local.into(),
        transport: inbound.transport,
        connection: inbound.connection.and_then(std::num::NonZeroU64::new),
    };
    let config = server.registrar_config();
    let target = match precheck(&config, msg, &source, &mut out) {
        Ok(t) => t,
        Err(outcome) => {
            if outcome.status != 0 {
                metrics::register_response(outcome.status);
                send(&inbound.reply, out);
            }
            return;
        }
    };
    let identity = if target.needs_auth {
        match server.auth.check(msg, &target, now) {
            AuthStep::Authenticated(user) => Identity::Authenticated(user),
            // A UDP retransmission repeats the Authorization of the request that was already accepted; it must get
            // the same answer, and the registrar recognises it and changes nothing.
            AuthStep::Replayed(user)
                if server
                    .location
                    .shard(&target.aor)
                    .is_retransmission(&target.aor, msg) =>
            {
                Identity::Authenticated(user)
            }
            AuthStep::Replayed(_) => {
                debug!(aor = %target.aor, "replayed Authorization refused");
                challenge(server, inbound, msg, &target, false, now, out);
                return;
            }
            AuthStep::Challenge { stale } => {
                challenge(server, inbound, msg, &target, stale, now, out);
                return;
            }
            AuthStep::Lookup { username } => {
                // Not cached yet: fetch the user off this loop, then handle the request again.
                let (server, limits, inbound) = (server.clone(), *limits, inbound.clone());
                let realm = target.domain().to_owned();
                let rt = runtime.clone();
                runtime.spawn(async move {
                    server.auth.fetch(&username, &realm).await;
                    handle(&server, &limits, &rt, inbound);
                });
                return;
            }
        }
    } else {
        Identity::Exempt
    };
    let mut shard = server.location.shard(&target.aor);
    let outcome = shard.register(now, msg, &source, &target, &identity, &mut out);
    if outcome.status == 0 {
        return;
    }
    if outcome.changes.is_empty() {
        drop(shard);
        metrics::register_response(outcome.status);
        send(&inbound.reply, out);
        return;
    }
    // Queued under the shard lock, so two updates of one binding reach the store in order. The writer sends the
    // response itself once the batch holding these changes is committed.
    let status = outcome.status;
    let done = inbound.clone();
    let queued = server.submit_then(outcome.changes, move |result| match result {
        Ok(()) => {
            metrics::register_response(status);
            send(&done.reply, out);
        }
        Err(e) => {
            warn!(error = %e, "cannot persist bindings; answering 500");
            failed(&done, 500, "Server Internal Error", &[]);
        }
    });
    drop(shard);
    if let Err(e) = queued {
        warn!(error = %e, "cannot queue bindings for the store; answering 503");
        failed(inbound, 503, "Service Unavailable", &[("Retry-After", "5")]);
    }
}

/// Answers 401 with fresh challenges for the target's realm.
fn challenge(
    server: &Server,
    inbound: &Inbound,
    msg: &Message<'_>,
    target: &Target,
    stale: bool,
    now: SystemTime,
    mut out: Vec<u8>,
) {
    if let Some(mut w) = start(&mut out, msg, inbound.remote, 401, "Unauthorized") {
        server
            .auth
            .write_challenge(&mut w, target.domain(), stale, now);
        w.finish(b"");
        metrics::register_response(401);
        send(&inbound.reply, out);
    }
}

/// Answers a REGISTER whose changes could not be made durable.
fn failed(inbound: &Inbound, code: u16, reason: &str, headers: &[(&str, &str)]) {
    metrics::register_response(code);
    let Ok(msg) = sip_msg::parse(&inbound.data, &Limits::default()) else {
        return;
    };
    let mut out = Vec::new();
    if write_reply(&mut out, &msg, inbound.remote, code, reason, headers) {
        send(&inbound.reply, out);
    }
}

/// The parse error a framing failure amounts to, for the error response.
fn parse_error_of(error: &FrameError) -> sip_msg::ParseError {
    use sip_msg::ParseError;
    match error {
        FrameError::MissingContentLength => {
            ParseError::MissingHeader(sip_msg::HeaderName::ContentLength)
        }
        FrameError::TooLarge { limit } => ParseError::MessageTooLarge {
            size: limit + 1,
            limit: *limit,
        },
        _ => ParseError::BadContentLength {
            reason: "invalid or conflicting values",
        },
    }
}

fn send(reply: &ReplyHandle, data: Vec<u8>) {
    if let Err(e) = reply.send(Bytes::from(data)) {
        debug!(remote = %reply.remote(), error = %e, "reply not sent");
    }
}
