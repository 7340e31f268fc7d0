//! Property tests: no input makes the parser or the writers panic, and responses re-parse.

mod support;

use proptest::prelude::*;
use sip_msg::{Contacts, Limits, parse};

const REGISTER: &str = "REGISTER sip:example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK74bf9;rport\r\n\
Max-Forwards: 70\r\n\
From: \"Alice\" <sip:alice@example.com>;tag=9fxced76sl\r\n\
To: <sip:alice@example.com>\r\n\
Call-ID: 3848276298220188511@192.0.2.10\r\n\
CSeq: 2 REGISTER\r\n\
Contact: <sip:alice@192.0.2.10:5060;transport=udp>;expires=3600;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\";reg-id=1, <sip:alice@[2001:db8::10]>;q=0.5\r\n\
Authorization: Digest username=\"alice\", realm=\"example.com\", nonce=\"ea9c8e88df84f1cec4341ae6cbe5a359\", uri=\"sip:example.com\", response=\"dfe56131d1958046689d83306477ecc\"\r\n\
Expires: 3600\r\n\
Content-Length: 0\r\n\r\n";

#[derive(Debug, Clone)]
enum Edit {
    Replace(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Splice(usize, String),
}

fn edit() -> impl Strategy<Value = Edit> {
    let interesting = prop::sample::select(b"\r\n \t:;,<>\"\\@[]=/%0".to_vec());
    let byte = prop_oneof![any::<u8>(), interesting];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(i, b)| Edit::Replace(i, b)),
        (any::<usize>(), byte).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), "[ -~\r\n\t]{0,12}").prop_map(|(i, s)| Edit::Splice(i, s)),
    ]
}

fn apply(base: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut data = base.to_vec();
    for edit in edits {
        let len = data.len().max(1);
        match edit {
            Edit::Replace(i, b) => {
                if let Some(slot) = data.get_mut(i % len) {
                    *slot = *b;
                }
            }
            Edit::Insert(i, b) => data.insert(i % (data.len() + 1), *b),
            Edit::Delete(i) => {
                if !data.is_empty() {
                    data.remove(i % len);
                }
            }
            Edit::Splice(i, s) => {
                let at = i % (data.len() + 1);
                data.splice(at..at, s.bytes());
            }
        }
    }
    data
}

prop_compose! {
    /// A well-formed REGISTER with varied values.
    fn register()(
        host in prop_oneof![
            Just("192.0.2.7".to_string()),
            Just("[2001:db8::7]".to_string()),
            "[a-z]{1,10}\\.example\\.(com|net)",
        ],
        port in proptest::option::of(1u16..),
        rport in any::<bool>(),
        branch in "z9hG4bK[a-zA-Z0-9.!%*_+`'~-]{1,20}",
        call_id in "[!-~]{1,40}",
        seq in any::<u32>(),
        from_tag in "[a-zA-Z0-9]{1,12}",
        to_tag in proptest::option::of("[a-zA-Z0-9]{1,12}"),
        user in "[a-zA-Z0-9._+-]{1,16}",
        contacts in proptest::collection::vec((1u32..100_000, 0u8..=10, any::<bool>()), 0..4),
        compact in any::<bool>(),
    ) -> String {
        let sent_by = match port {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        let rport = if rport { ";rport" } else { "" };
        let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
        let (via, from, to, cid, contact) = if compact {
            ("v", "f", "t", "i", "m")
        } else {
            ("Via", "From", "To", "Call-ID", "Contact")
        };
        let mut text = format!(
            "REGISTER sip:example.com SIP/2.0\r\n\
             {via}: SIP/2.0/UDP {sent_by};branch={branch}{rport}\r\n\
             {from}: <sip:{user}@example.com>;tag={from_tag}\r\n\
             {to}: <sip:{user}@example.com>{to_tag}\r\n\
             {cid}: {call_id}\r\n\
             CSeq: {seq} REGISTER\r\n"
        );
        for (expires, q, instance) in contacts {
            let instance = if instance {
                ";+sip.instance=\"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>\""
            } else {
                ""
            };
            text.push_str(&format!(
                "{contact}: <sip:{user}@{sent_by}>;expires={expires};q=0.{q}{instance}\r\n"
            ));
        }
        text.push_str("Content-Length: 0\r\n\r\n");
        text
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        support::check_message(&data);
        support::check_bad_request(&data);
    }

    #[test]
    fn mutated_register_never_panics(edits in proptest::collection::vec(edit(), 1..8)) {
        let data = apply(REGISTER.as_bytes(), &edits);
        support::check_message(&data);
        support::check_bad_request(&data);
    }

    #[test]
    fn generated_registers_parse_and_answer(text in register()) {
        let msg = parse(text.as_bytes(), &Limits::default()).expect("a generated REGISTER parses");
        prop_assert_eq!(msg.check_request(), Ok(()));
        prop_assert!(matches!(msg.contacts(), Ok(Contacts::List(_))));
        support::check_message(text.as_bytes());
    }
}

#[test]
fn the_base_register_is_valid() {
    let msg = parse(REGISTER.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(msg.check_request(), Ok(()));
    let Ok(Contacts::List(contacts)) = msg.contacts() else {
        panic!("expected contacts");
    };
    assert_eq!(contacts.len(), 2);
}
