//! Parsing a typical REGISTER: indexing alone, and indexing plus decoding what a registrar reads.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sip_msg::{Contacts, Limits, parse};

/// A REGISTER as a softphone sends it after a digest challenge (about 700 bytes).
const REGISTER: &[u8] = b"REGISTER sip:sip.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.168.1.34:5060;branch=z9hG4bK-524287-1---7d9c7e2f1a8b3c4d;rport\r\n\
Max-Forwards: 70\r\n\
Contact: <sip:alice@192.168.1.34:5060;rinstance=8f1c2d3e4a5b6c7d;transport=UDP>;expires=3600;+sip.instance=\"<urn:uuid:6b1f3b7e-2c1d-4a5e-9f0a-1b2c3d4e5f60>\";reg-id=1\r\n\
To: \"Alice\" <sip:alice@sip.example.com>\r\n\
From: \"Alice\" <sip:alice@sip.example.com>;tag=5a3f9c21\r\n\
Call-ID: ZDk4NjJmZTc4YzQ1NjE2ZjBkMjM0NTY3ODlhYmNkZWY.\r\n\
CSeq: 2 REGISTER\r\n\
Expires: 3600\r\n\
Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, MESSAGE, OPTIONS, INFO, SUBSCRIBE\r\n\
Supported: replaces, norefersub, extended-refer, timer, outbound, path, X-cisco-serviceuri\r\n\
User-Agent: Softphone 5.1.2 build 110101\r\n\
Authorization: Digest username=\"alice\",realm=\"sip.example.com\",nonce=\"Z0pYvGdKWJAbyqGcXz3qLwTnRkE2\",uri=\"sip:sip.example.com\",response=\"8a1e1d3f2c4b5a69788796a5b4c3d2e1\",cnonce=\"a7f3c2e1\",nc=00000001,qop=auth,algorithm=MD5\r\n\
Allow-Events: presence, kpml, talk\r\n\
Content-Length: 0\r\n\
\r\n";

fn bench(c: &mut Criterion) {
    let limits = Limits::default();
    let mut group = c.benchmark_group("register");
    group.throughput(Throughput::Bytes(REGISTER.len() as u64));
    group.bench_function("index", |b| {
        b.iter(|| parse(black_box(REGISTER), &limits).map(|m| m.headers().count()))
    });
    group.bench_function("index_and_decode", |b| {
        b.iter(|| {
            let msg = parse(black_box(REGISTER), &limits).ok()?;
            let via = msg.top_via().ok()?;
            let to = msg.to().ok()?;
            let from = msg.from().ok()?;
            let call_id = msg.call_id().ok()?;
            let cseq = msg.cseq().ok()?;
            let expires = msg.expires().ok()?;
            let Contacts::List(contacts) = msg.contacts().ok()? else {
                return None;
            };
            Some((
                via.branch(),
                to.uri.host,
                from.tag(),
                call_id.len(),
                cseq.seq,
                expires,
                contacts.len(),
            ))
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
