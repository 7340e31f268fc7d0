use bytes::Bytes;
use proptest::prelude::*;

use super::{Frame, FrameError, StreamFramer};

const LIMIT: usize = 65_535;

/// Pushes `input` in one piece and drains every frame, stopping at the first error.
fn frames(input: &[u8]) -> (Vec<Frame>, Option<FrameError>) {
    frames_split(&[input], LIMIT)
}

/// Pushes each chunk in turn, draining frames after each, stopping at the first error or
/// invalid frame (as a connection does).
fn frames_split(chunks: &[&[u8]], limit: usize) -> (Vec<Frame>, Option<FrameError>) {
    let mut framer = StreamFramer::new(limit);
    let mut out = Vec::new();
    for chunk in chunks {
        framer.push(chunk);
        loop {
            match framer.next_frame() {
                Ok(Some(frame @ Frame::Invalid { .. })) => {
                    out.push(frame);
                    return (out, None);
                }
                Ok(Some(frame)) => out.push(frame),
                Ok(None) => break,
                Err(error) => return (out, Some(error)),
            }
        }
    }
    (out, None)
}

fn message(bytes: &[u8]) -> Frame {
    Frame::Message(Bytes::copy_from_slice(bytes))
}

const OPTIONS: &[u8] =
    b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\nContent-Length: 0\r\n\r\n";
const WITH_BODY: &[u8] =
    b"MESSAGE sip:a@b SIP/2.0\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nhello\r\n\r\nbye";

#[test]
fn frames_a_message_without_body() {
    assert_eq!(frames(OPTIONS), (vec![message(OPTIONS)], None));
}

#[test]
fn frames_exactly_content_length_body_bytes_even_if_they_hold_blank_lines() {
    let mut input = WITH_BODY.to_vec();
    input.extend_from_slice(OPTIONS);
    assert_eq!(
        frames(&input),
        (vec![message(WITH_BODY), message(OPTIONS)], None)
    );
}

#[test]
fn waits_for_the_whole_body() {
    let mut framer = StreamFramer::new(LIMIT);
    framer.push(&WITH_BODY[..WITH_BODY.len() - 1]);
    assert_eq!(framer.next_frame(), Ok(None));
    framer.push(&WITH_BODY[WITH_BODY.len() - 1..]);
    assert_eq!(framer.next_frame(), Ok(Some(message(WITH_BODY))));
    assert_eq!(framer.next_frame(), Ok(None));
    assert_eq!(framer.buffered(), 0);
}

#[test]
fn accepts_every_spelling_of_content_length() {
    for header in [
        "Content-Length: 3",
        "content-length:3",
        "CONTENT-LENGTH  :\t3  ",
        "l: 3",
        "L:3",
        "Content-Length:\r\n   3",
        "Content-Length: 3\r\nl: 3",
    ] {
        let msg = format!("INFO sip:a SIP/2.0\r\nVia: x\r\n{header}\r\nTo: b\r\n\r\nabc");
        assert_eq!(
            frames(msg.as_bytes()),
            (vec![message(msg.as_bytes())], None),
            "{header:?}"
        );
    }
}

#[test]
fn only_the_content_length_header_counts() {
    let msg = b"INFO sip:a SIP/2.0\r\nX-Content-Length: 9\r\nSubject: l: 9\r\nl: 1\r\n\r\nx";
    assert_eq!(frames(msg), (vec![message(msg)], None));
}

#[test]
fn handles_byte_by_byte_reads() {
    let mut input = OPTIONS.to_vec();
    input.extend_from_slice(WITH_BODY);
    let chunks: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(
        frames_split(&chunks, LIMIT),
        (vec![message(OPTIONS), message(WITH_BODY)], None)
    );
}

#[test]
fn handles_pipelined_messages() {
    let input = [OPTIONS, WITH_BODY, OPTIONS].concat();
    assert_eq!(
        frames(&input),
        (
            vec![message(OPTIONS), message(WITH_BODY), message(OPTIONS)],
            None
        )
    );
}

#[test]
fn double_crlf_is_a_ping_and_a_lone_crlf_a_pong() {
    let input = [
        b"\r\n\r\n".as_slice(),
        OPTIONS,
        b"\r\n",
        OPTIONS,
        b"\r\n\r\n",
    ]
    .concat();
    assert_eq!(
        frames(&input),
        (
            vec![
                Frame::KeepAlivePing,
                message(OPTIONS),
                Frame::KeepAlivePong,
                message(OPTIONS),
                Frame::KeepAlivePing,
            ],
            None
        )
    );
}

#[test]
fn crlfs_wait_for_the_next_byte_to_be_classified() {
    let mut framer = StreamFramer::new(LIMIT);
    framer.push(b"\r\n");
    assert_eq!(framer.next_frame(), Ok(None));
    framer.push(b"\r");
    assert_eq!(framer.next_frame(), Ok(None));
    framer.push(b"\n");
    assert_eq!(framer.next_frame(), Ok(Some(Frame::KeepAlivePing)));
    framer.push(b"\r\nO");
    assert_eq!(framer.next_frame(), Ok(Some(Frame::KeepAlivePong)));
    assert_eq!(framer.next_frame(), Ok(None));
    assert_eq!(framer.buffered(), 1);
}

#[test]
fn many_leading_crlfs_are_keep_alives_not_part_of_the_message() {
    let input = [b"\r\n\r\n\r\n".as_slice(), OPTIONS].concat();
    assert_eq!(
        frames(&input),
        (
            vec![Frame::KeepAlivePing, Frame::KeepAlivePong, message(OPTIONS)],
            None
        )
    );
}

#[test]
fn missing_content_length_yields_the_head_then_fails_for_good() {
    let head = b"REGISTER sip:b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\n";
    let input = [head.as_slice(), b"body", OPTIONS].concat();
    let mut framer = StreamFramer::new(LIMIT);
    framer.push(&input);
    assert_eq!(
        framer.next_frame(),
        Ok(Some(Frame::Invalid {
            head: Bytes::from_static(head),
            error: FrameError::MissingContentLength,
        }))
    );
    assert_eq!(framer.next_frame(), Err(FrameError::Desynchronized));
    framer.push(OPTIONS);
    assert_eq!(framer.next_frame(), Err(FrameError::Desynchronized));
}

#[test]
fn bad_content_length_values_are_invalid() {
    for (header, error) in [
        ("Content-Length: abc", FrameError::InvalidContentLength),
        ("Content-Length: 1 2", FrameError::InvalidContentLength),
        ("Content-Length: -1", FrameError::InvalidContentLength),
        ("Content-Length: 0x10", FrameError::InvalidContentLength),
        ("Content-Length:", FrameError::InvalidContentLength),
        (
            "l: 1\r\nContent-Length: 2",
            FrameError::ConflictingContentLength,
        ),
        (
            "Content-Length: 99999999999999999999999999",
            FrameError::TooLarge { limit: LIMIT },
        ),
    ] {
        let head = format!("INFO sip:a SIP/2.0\r\n{header}\r\n\r\n");
        let (out, err) = frames(head.as_bytes());
        assert_eq!(err, None, "{header:?}");
        assert_eq!(
            out,
            vec![Frame::Invalid {
                head: Bytes::from(head.clone()),
                error
            }],
            "{header:?}"
        );
    }
}

#[test]
fn a_message_over_the_limit_is_invalid_with_its_head() {
    let head = b"MESSAGE sip:a SIP/2.0\r\nContent-Length: 100\r\n\r\n";
    let limit = head.len() + 99;
    let (out, err) = frames_split(&[head], limit);
    assert_eq!(err, None);
    assert_eq!(
        out,
        vec![Frame::Invalid {
            head: Bytes::from_static(head),
            error: FrameError::TooLarge { limit },
        }]
    );

    let at_limit = [head.as_slice(), &[b'x'; 100]].concat();
    let (out, err) = frames_split(&[&at_limit], at_limit.len());
    assert_eq!((out, err), (vec![message(&at_limit)], None));
}

#[test]
fn a_head_over_the_limit_is_an_error() {
    let garbage = [b'A'; 100];
    let mut framer = StreamFramer::new(64);
    framer.push(&garbage[..63]);
    assert_eq!(framer.next_frame(), Ok(None));
    framer.push(&garbage[63..]);
    assert_eq!(framer.next_frame(), Err(FrameError::TooLarge { limit: 64 }));
    assert_eq!(framer.next_frame(), Err(FrameError::Desynchronized));
}

#[test]
fn reads_straight_into_the_buffer() {
    let mut framer = StreamFramer::new(LIMIT);
    let buffer = framer.read_buffer();
    assert!(buffer.capacity() - buffer.len() >= 8 * 1024);
    buffer.extend_from_slice(OPTIONS);
    assert_eq!(framer.next_frame(), Ok(Some(message(OPTIONS))));
}

/// A valid message using varied header spellings and an arbitrary body.
fn arb_message() -> impl Strategy<Value = Vec<u8>> {
    let name = prop::sample::select(vec![
        "Content-Length",
        "content-length",
        "CONTENT-LENGTH",
        "l",
        "L",
    ]);
    let spacing = prop::sample::select(vec![": ", ":", " : ", ":\t", ":\r\n  "]);
    let other_headers = prop::collection::vec("[A-Za-z-]{1,12}: [ -~]{0,30}", 0..6);
    let body = prop::collection::vec(any::<u8>(), 0..300);
    (name, spacing, other_headers, body, any::<bool>()).prop_map(
        |(name, spacing, headers, body, length_first)| {
            let length = format!("{name}{spacing}{}", body.len());
            let mut head = String::from("REGISTER sip:example.com SIP/2.0\r\n");
            if length_first {
                head.push_str(&length);
                head.push_str("\r\n");
            }
            for header in &headers {
                // Keep generated headers from posing as a Content-Length.
                head.push_str("X-");
                head.push_str(header);
                head.push_str("\r\n");
            }
            if !length_first {
                head.push_str(&length);
                head.push_str("\r\n");
            }
            head.push_str("\r\n");
            [head.into_bytes(), body].concat()
        },
    )
}

proptest! {
    #[test]
    fn any_split_of_valid_messages_yields_the_same_frames(
        messages in prop::collection::vec((arb_message(), 0..3_usize, any::<bool>()), 1..6),
        chunk_sizes in prop::collection::vec(1..64_usize, 1..40),
    ) {
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        for (msg, pings, pong) in &messages {
            for _ in 0..*pings {
                stream.extend_from_slice(b"\r\n\r\n");
                expected.push(Frame::KeepAlivePing);
            }
            if *pong {
                stream.extend_from_slice(b"\r\n");
                expected.push(Frame::KeepAlivePong);
            }
            stream.extend_from_slice(msg);
            expected.push(message(msg));
        }
        let mut chunks = Vec::new();
        let mut rest = stream.as_slice();
        for size in chunk_sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (chunk, tail) = rest.split_at((*size).min(rest.len()));
            chunks.push(chunk);
            rest = tail;
        }
        prop_assert_eq!(frames_split(&chunks, LIMIT), (expected, None));
    }

    #[test]
    fn arbitrary_bytes_never_yield_a_message_over_the_limit(
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..20),
    ) {
        let limit = 256;
        let chunks: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
        let (out, _) = frames_split(&chunks, limit);
        for frame in out {
            if let Frame::Message(data) | Frame::Invalid { head: data, .. } = frame {
                prop_assert!(data.len() <= limit);
            }
        }
    }
}
