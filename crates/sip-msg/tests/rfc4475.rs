//! RFC 4475 torture messages, as far as they concern a registrar's parser.
//!
//! Each vector is written with LF line ends and sent with CRLF, as in the RFC.

use sip_msg::{Contacts, HeaderName, Limits, Message, Method, ParseError, Scheme, Uri, parse};

fn crlf(text: &str) -> Vec<u8> {
    text.replace('\n', "\r\n").into_bytes()
}

fn parse_ok(bytes: &[u8]) -> Message<'_> {
    parse(bytes, &Limits::default()).unwrap_or_else(|e| panic!("should parse: {e}"))
}

fn parse_err(bytes: &[u8]) -> ParseError {
    match parse(bytes, &Limits::default()) {
        Ok(_) => panic!("should be rejected"),
        Err(e) => e,
    }
}

fn malformed(header: HeaderName) -> impl Fn(&ParseError) -> bool {
    move |e| matches!(e, ParseError::MalformedHeader { header: h, .. } if *h == header)
}

const SDP_150: &str = "v=0
o=mhandley 29739 7272939 IN IP4 192.0.2.1
s=-
c=IN IP4 192.0.2.1
t=0 0
m=audio 49217 RTP/AVP 0 12
m=video 3227 RTP/AVP 31
a=rtpmap:31 LPC
";

/// §3.1.1.1 A Short Tortuous INVITE (wsinv).
#[test]
fn wsinv() {
    let raw = crlf(
        r#"INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0
TO :
 sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n
from   : "J Rosenberg \\\""       <sip:jdrosen@example.com>
  ;
  tag = 98asjd8
MaX-fOrWaRdS: 0068
Call-ID: wsinv.ndaksdj@192.0.2.1
Content-Length   : 150
cseq: 0009
  INVITE
Via  : SIP  /   2.0
 /UDP
    192.0.2.2;branch=390skdjuw
s :
NewFangledHeader:   newfangled value
 continued newfangled value
UnknownHeaderWithUnusualValue: ;;,,;;,;
Content-Type: application/sdp
Route:
 <sip:services.example.com;lr;unknownwith=value;unknown-no-value>
v:  SIP  / 2.0  / TCP     spindle.example.com   ;
  branch  =   z9hG4bK9ikj8  ,
 SIP  /    2.0   / UDP  192.168.255.111   ; branch=
 z9hG4bK30239
m:"Quoted string \"\"" <sip:jdrosen@example.com> ; newparam =
      newvalue ;
  secondparam ; q = 0.33

v=0
o=mhandley 29739 7272939 IN IP4 192.0.2.3
s=-
c=IN IP4 192.0.2.4
t=0 0
m=audio 49217 RTP/AVP 0 12
m=video 3227 RTP/AVP 31
a=rtpmap:31 LPC
"#,
    );
    let m = parse_ok(&raw);
    assert_eq!(m.method(), Some(Method::Invite));
    let ruri = Uri::parse(m.request_uri().unwrap()).unwrap();
    assert_eq!(ruri.user, Some("vivekg"));
    assert!(ruri.params.contains("unknownparam"));

    let to = m.to().unwrap();
    assert_eq!(to.raw_uri(), "sip:vivekg@chair-dnrc.example.com");
    assert_eq!(to.tag(), Some("1918181833n"));
    let from = m.from().unwrap();
    assert_eq!(from.display_name, Some(r#"J Rosenberg \\\""#));
    assert_eq!(from.raw_uri(), "sip:jdrosen@example.com");
    assert_eq!(from.tag(), Some("98asjd8"));

    assert_eq!(m.max_forwards(), Ok(Some(68)));
    assert_eq!(m.call_id(), Ok("wsinv.ndaksdj@192.0.2.1"));
    let cseq = m.cseq().unwrap();
    assert_eq!((cseq.seq, cseq.method), (9, Method::Invite));
    assert!(m.cseq_matches_method());
    assert_eq!(m.check_request(), Ok(()));

    let via = m.top_via().unwrap();
    assert_eq!(
        (via.transport, via.host, via.port),
        ("UDP", "192.0.2.2", None)
    );
    assert_eq!(via.branch(), Some("390skdjuw"));
    let vias: Vec<_> = m.list_items(HeaderName::Via).collect();
    assert_eq!(vias.len(), 3);
    assert!(vias[1].starts_with("SIP  / 2.0  / TCP     spindle.example.com"));
    assert!(vias[2].ends_with("branch=\r\n z9hG4bK30239"));

    assert_eq!(m.header(HeaderName::Subject), Some(""));
    assert_eq!(
        m.header_named("newfangledheader"),
        Some("newfangled value\r\n continued newfangled value")
    );
    assert_eq!(
        m.header_named("UnknownHeaderWithUnusualValue"),
        Some(";;,,;;,;")
    );
    assert_eq!(
        m.header(HeaderName::Route),
        Some("<sip:services.example.com;lr;unknownwith=value;unknown-no-value>")
    );

    let Contacts::List(contacts) = m.contacts().unwrap() else {
        panic!("expected a list");
    };
    assert_eq!(contacts.len(), 1);
    let c = &contacts[0];
    assert_eq!(c.display_name, Some(r#"Quoted string \"\""#));
    assert_eq!(c.raw_uri(), "sip:jdrosen@example.com");
    let params: Vec<_> = c.params.iter().collect();
    assert_eq!(
        params,
        [
            ("newparam", Some("newvalue")),
            ("secondparam", None),
            ("q", Some("0.33"))
        ]
    );
    assert_eq!(m.body().len(), 150);
    assert!(m.body().starts_with(b"v=0\r\n"));
}

/// §3.1.1.2 Wide Range of Valid Characters (intmeth).
#[test]
fn intmeth() {
    let raw = crlf(concat!(
        "!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0\n",
        "Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~\n",
        "To: \"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7F\" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>\n",
        "From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%=\"работающий\";tag=_token~1'+`*%!-.\n",
        "Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{\n",
        "CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~\n",
        "Max-Forwards: 255\n",
        "extensionHeader-!.%*+_`'~:\u{feff}大停電\n",
        "Content-Length: 0\n",
        "\n",
    ));
    let m = parse_ok(&raw);
    let method = "!interesting-Method0123456789_*+`.%indeed'~";
    assert_eq!(m.method(), Some(Method::Other(method)));
    let ruri = Uri::parse(m.request_uri().unwrap()).unwrap();
    assert_eq!(
        ruri.user,
        Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
    );
    assert_eq!(
        ruri.password,
        Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
    );
    assert_eq!(ruri.host, "example.com");

    assert_eq!(m.top_via().unwrap().branch(), Some("z9hG4bK-.!%66*_+`'~"));
    let to = m.to().unwrap();
    assert_eq!(to.display_name, Some("BEL:\\\x07 NUL:\\\x00 DEL:\\\x7F"));
    assert_eq!(to.uri.user, ruri.user);
    let from = m.from().unwrap();
    assert_eq!(from.display_name, Some("token1~` token2'+_ token3*%!.-"));
    assert_eq!(
        from.params.get("fromParam''~+*_!.-%"),
        Some(Some("работающий"))
    );
    assert_eq!(from.tag(), Some("_token~1'+`*%!-."));
    assert_eq!(
        m.call_id(),
        Ok("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{")
    );
    assert_eq!(m.cseq().unwrap().seq, 139_122_385);
    assert!(m.cseq_matches_method());
    assert_eq!(m.max_forwards(), Ok(Some(255)));
    assert_eq!(
        m.header_named("extensionHeader-!.%*+_`'~"),
        Some("\u{feff}大停電")
    );
    assert!(m.body().is_empty());
}

/// §3.1.1.3 Valid Use of the % Escaping Mechanism (esc01).
#[test]
fn esc01() {
    let raw = crlf(&format!(
        "INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0
To: sip:%75se%72@example.com
From: <sip:I%20have%20spaces@example.net>;tag=938
Max-Forwards: 87
i: esc01.239409asdfakjkn23onasd0-3234
CSeq: 234234 INVITE
Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw
C: application/sdp
Contact:
  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>
Content-Length: 150

{SDP_150}"
    ));
    let m = parse_ok(&raw);
    let ruri = Uri::parse(m.request_uri().unwrap()).unwrap();
    assert_eq!(ruri.user_unescaped(), "sips:user@example.com");
    assert_eq!(ruri.host, "example.net");
    let to = m.to().unwrap();
    assert_eq!(to.uri.user_unescaped(), "user");
    assert!(
        to.uri
            .equivalent(&Uri::parse("sip:user@example.com").unwrap())
    );
    assert_eq!(m.from().unwrap().uri.user_unescaped(), "I have spaces");
    assert_eq!(m.call_id(), Ok("esc01.239409asdfakjkn23onasd0-3234"));
    assert_eq!(m.header(HeaderName::ContentType), Some("application/sdp"));
    let Contacts::List(contacts) = m.contacts().unwrap() else {
        panic!("expected a list");
    };
    let contact = contacts[0].uri;
    assert_eq!(contact.user_unescaped(), "caller");
    let expected = Uri::parse("sip:caller@host5.example.net;lr;name=value%2541").unwrap();
    assert!(contact.equivalent(&expected));
    assert_eq!(m.body().len(), 150);
}

/// §3.1.1.4 Escaped Nulls in URIs (escnull).
#[test]
fn escnull() {
    let raw = crlf(
        "REGISTER sip:example.com SIP/2.0
To: sip:null-%00-null@example.com
From: sip:null-%00-null@example.com;tag=839923423
Max-Forwards: 70
Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd
CSeq: 14398234 REGISTER
Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw
Contact: <sip:%00@host5.example.com>
Contact: <sip:%00%00@host5.example.com>
L:0

",
    );
    let m = parse_ok(&raw);
    assert_eq!(m.method(), Some(Method::Register));
    assert_eq!(m.to().unwrap().uri.user_unescaped(), "null-\0-null");
    let Contacts::List(contacts) = m.contacts().unwrap() else {
        panic!("expected a list");
    };
    let users: Vec<_> = contacts.iter().map(|c| c.uri.user_unescaped()).collect();
    assert_eq!(users, ["\0", "\0\0"]);
    assert_eq!(m.check_request(), Ok(()));
}

/// §3.1.1.5 Use of % When It Is Not an Escape (esc02).
#[test]
fn esc02() {
    let raw = crlf(
        r#"RE%47IST%45R sip:registrar.example.com SIP/2.0
To: "%Z%45" <sip:resource@example.com>
From: "%Z%45" <sip:resource@example.com>;tag=f232jadfj23
Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf
Via: SIP/2.0/TCP host.example.com;branch=z9hG4bK209%fzsnel234
CSeq: 29344 RE%47IST%45R
Max-Forwards: 70
Contact: <sip:alias1@host1.example.com>
C%6Fntact: <sip:alias2@host2.example.com>
Contact: <sip:alias3@host3.example.com>
l: 0

"#,
    );
    let m = parse_ok(&raw);
    assert_eq!(m.method(), Some(Method::Other("RE%47IST%45R")));
    assert!(m.cseq_matches_method());
    assert_eq!(m.to().unwrap().display_name, Some("%Z%45"));
    assert_eq!(m.top_via().unwrap().branch(), Some("z9hG4bK209%fzsnel234"));
    let Contacts::List(contacts) = m.contacts().unwrap() else {
        panic!("expected a list");
    };
    let hosts: Vec<_> = contacts.iter().map(|c| c.uri.host).collect();
    assert_eq!(hosts, ["host1.example.com", "host3.example.com"]);
    assert_eq!(
        m.header_named("C%6Fntact"),
        Some("<sip:alias2@host2.example.com>")
    );
}

/// §3.1.1.6 Message with No LWS between Display Name and < (lwsdisp).
#[test]
fn lwsdisp() {
    let raw = crlf(
        "OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: caller<sip:caller@example.com>;tag=323
Max-Forwards: 70
Call-ID: lwsdisp.1234abcd@funky.example.com
CSeq: 60 OPTIONS
Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw
l: 0

",
    );
    let m = parse_ok(&raw);
    let from = m.from().unwrap();
    assert_eq!(from.display_name, Some("caller"));
    assert_eq!(from.raw_uri(), "sip:caller@example.com");
    assert_eq!(from.tag(), Some("323"));
}

/// §3.1.1.7 Long Values in Header Fields (longreq).
#[test]
fn longreq() {
    let long = "long".repeat(20);
    let name = "name".repeat(25);
    let call_id = format!("longreq.one{}longcallid", "really".repeat(20));
    let branch = format!("very{}branchvalue", "long".repeat(50));
    let mut vias = String::new();
    for (i, spelling) in [
        "Via: ", "v: ", "V: ", "Via: ", "ViA: ", "VIa: ", "VIA: ", "via: ", "viA: ", "vIa: ",
        "vIA: ", "V :  ", "v :  ", "V  : ", "v  : ", "Via : ", "Via  : ",
    ]
    .iter()
    .enumerate()
    {
        vias.push_str(&format!(
            "{spelling}SIP/2.0/TCP sip{}.example.com\n",
            33 - i
        ));
    }
    for i in (1..=16).rev() {
        vias.push_str(&format!("Via: SIP/2.0/TCP sip{i}.example.com\n"));
    }
    let raw = crlf(&format!(
        "INVITE sip:user@example.com SIP/2.0
To: \"I have a user name of {extreme} proportion\"<sip:user@example.com:6000;unknownparam1=very{long}value;longparam{name}=shortvalue;very{long}ParameterNameWithNoValue>
F: sip:{caller}@example.net;tag=12{tag}424;unknownheaderparam{name}=unknowheaderparam{value};unknownValuelessparam{param}
Call-ID: {call_id}
CSeq: 3882340 INVITE
Unknown-{llong}-Name: unknown-{long}-value; unknown-{long}-parameter-name = unknown-{long}-parameter-value
{vias}Via: SIP/2.0/TCP host.example.com;received=192.0.2.5;branch={branch}
Max-Forwards: 70
Contact: <sip:{caller}@host5.example.net>
Content-Type: application/sdp
l: 150

{SDP_150}",
        extreme = "extreme".repeat(10),
        caller = "amazinglylongcallername".repeat(5),
        tag = "982".repeat(60),
        value = "value".repeat(15),
        param = "paramname".repeat(10),
        llong = "Long".repeat(20),
    ));
    let m = parse_ok(&raw);
    assert_eq!(m.list_items(HeaderName::Via).count(), 34);
    assert_eq!(m.top_via().unwrap().host, "sip33.example.com");
    let to = m.to().unwrap();
    assert_eq!(to.uri.port, Some(6000));
    assert_eq!(to.uri.params.iter().count(), 3);
    let from = m.from().unwrap();
    assert_eq!(from.tag().map(str::len), Some(2 + 180 + 3));
    assert_eq!(from.params.iter().count(), 3);
    assert_eq!(m.call_id(), Ok(call_id.as_str()));
    let last_via = m.header_values(HeaderName::Via).last().unwrap();
    assert!(last_via.ends_with(&branch));
    assert_eq!(
        m.contacts()
            .map(|c| matches!(c, Contacts::List(l) if l.len() == 1)),
        Ok(true)
    );
    assert_eq!(m.body().len(), 150);
}

/// §3.1.1.8 Extra Trailing Octets in a UDP Datagram (dblreq).
#[test]
fn dblreq() {
    let register = "REGISTER sip:example.com SIP/2.0
To: sip:j.user@example.com
From: sip:j.user@example.com;tag=43251j3j324
Max-Forwards: 8
I: dblreq.0ha0isndaksdj99sdfafnl3lk233412
Contact: sip:j.user@host.example.com
CSeq: 8 REGISTER
Via: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492
Content-Length: 0

";
    let raw = crlf(&format!(
        "{register}INVITE sip:joe@example.com SIP/2.0
t: sip:joe@example.com
From: sip:caller@example.net;tag=141334
Max-Forwards: 8
Call-ID: dblreq.0ha0isnda977644900765@192.0.2.15
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234
Content-Type: application/sdp
Content-Length: 150

{SDP_150}"
    ));
    let m = parse_ok(&raw);
    assert_eq!(m.method(), Some(Method::Register));
    assert_eq!(m.as_bytes(), crlf(register).as_slice());
    assert!(m.body().is_empty());
    assert_eq!(m.call_id(), Ok("dblreq.0ha0isndaksdj99sdfafnl3lk233412"));
    let Contacts::List(contacts) = m.contacts().unwrap() else {
        panic!("expected a list");
    };
    assert_eq!(contacts[0].raw_uri(), "sip:j.user@host.example.com");
}

/// §3.1.1.9 Semicolon-Separated Parameters in URI User Part (semiuri).
#[test]
fn semiuri() {
    let raw = crlf(
        "OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0
To: sip:j_user@example.com
From: sip:caller@example.org;tag=33242
Max-Forwards: 3
Call-ID: semiuri.0ha0isndaksdj
CSeq: 8 OPTIONS
Accept: application/sdp, application/pkcs7-mime,
        multipart/mixed, multipart/signed,
        message/sip, message/sipfrag
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw
l: 0

",
    );
    let m = parse_ok(&raw);
    let ruri = Uri::parse(m.request_uri().unwrap()).unwrap();
    assert_eq!(ruri.user_unescaped(), "user;par=u@example.net");
    assert_eq!(ruri.host, "example.com");
    assert!(ruri.params.is_empty());
    let accept = m.header_named("accept").unwrap();
    assert!(accept.ends_with("message/sip, message/sipfrag"));
}

/// §3.1.1.10 Varied and Unknown Transport Types (transports).
#[test]
fn transports() {
    let raw = crlf(
        "OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: <sip:caller@example.com>;tag=323
Max-Forwards: 70
Call-ID:  transports.kijh4akdnaqjkwendsasfdj
Accept: application/sdp
CSeq: 60 OPTIONS
Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw
Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf
Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj
Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en
Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee
l: 0

",
    );
    let m = parse_ok(&raw);
    assert_eq!(m.call_id(), Ok("transports.kijh4akdnaqjkwendsasfdj"));
    let transports: Vec<_> = m
        .header_values(HeaderName::Via)
        .map(|v| v.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        transports,
        [
            "SIP/2.0/UDP",
            "SIP/2.0/SCTP",
            "SIP/2.0/TLS",
            "SIP/2.0/UNKNOWN",
            "SIP/2.0/TCP"
        ]
    );
    assert_eq!(m.top_via().unwrap().transport, "UDP");
}

/// §3.1.1.11 Multipart MIME Message (mpart01): the body holds bare LFs and arbitrary bytes.
#[test]
fn mpart01() {
    let mut body = crlf(
        "--7a9cbec02ceef655
Content-Type: text/plain
Content-Transfer-Encoding: binary

Hello
--7a9cbec02ceef655
Content-Type: application/octet-stream
Content-Transfer-Encoding: binary

",
    );
    body.extend_from_slice(
        b"0\x82\x01R\x06\t*\x86H\x86\xf7\r\x01\x07\x02\n\x00\xff\n\n\r\n\r\n\x00",
    );
    body.extend_from_slice(&crlf("\n--7a9cbec02ceef655--\n"));
    let mut raw = crlf(&format!(
        "MESSAGE sip:kumiko@example.org SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-;rport
Max-Forwards: 70
Route: <sip:127.0.0.1:5080>
Contact: <sip:fluffy@127.0.0.1:5070>
To: <sip:kumiko@example.org>
From: <sip:fluffy@example.com>;tag=2fb0dcc9
Call-ID: 3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..
CSeq: 1 MESSAGE
Content-Transfer-Encoding: binary
Content-Type: multipart/mixed;boundary=7a9cbec02ceef655
Date: Sat, 15 Oct 2005 04:44:56 GMT
User-Agent: SIPimp.org/0.2.5 (curses)
Content-Length: {}

",
        body.len()
    ));
    raw.extend_from_slice(&body);
    let m = parse_ok(&raw);
    assert_eq!(m.method(), Some(Method::Message));
    assert_eq!(m.body(), body.as_slice());
    let via = m.top_via().unwrap();
    assert_eq!(
        (via.host, via.port, via.rport()),
        ("127.0.0.1", Some(5070), Some(None))
    );
    assert_eq!(
        m.header(HeaderName::UserAgent),
        Some("SIPimp.org/0.2.5 (curses)")
    );
}

/// §3.1.1.12 Unusual Reason Phrase (unreason).
#[test]
fn unreason() {
    let raw = crlf(&format!(
        "SIP/2.0 200 = 2**3 * 5**2 но сто девяносто девять - простое
Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923
Call-ID: unreason.1234ksdfak3j2erwedfsASdf
CSeq: 35 INVITE
From: sip:user@example.com;tag=11141343
To: sip:user@example.edu;tag=2229
Content-Length: 150
Content-Type: application/sdp
Contact: <sip:user@host198.example.com>

{SDP_150}"
    ));
    let m = parse_ok(&raw);
    assert!(!m.is_request());
    assert_eq!(m.method(), None);
    assert_eq!(
        m.status(),
        Some((200, "= 2**3 * 5**2 но сто девяносто девять - простое"))
    );
    assert_eq!(m.to().unwrap().tag(), Some("2229"));
    assert!(!m.cseq_matches_method());
}

/// §3.1.1.13 Empty Reason Phrase (noreason).
#[test]
fn noreason() {
    let raw = crlf(
        "SIP/2.0 100 
Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe
Call-ID: noreason.asndj203insdf99223ndf
CSeq: 35 INVITE
From: <sip:user@example.com>;tag=39ansfi3
To: <sip:user@example.edu>;tag=902jndnke3
Content-Length: 0
Contact: <sip:user@host105.example.com>

",
    );
    let m = parse_ok(&raw);
    assert_eq!(m.status(), Some((100, "")));
    assert_eq!(m.request_uri(), None);
}

/// §3.1.2.1 Extraneous Header Field Separators (badinv01).
#[test]
fn badinv01() {
    let raw = crlf(&format!(
        "INVITE sip:user@example.com SIP/2.0
To: sip:j.user@example.com
From: sip:caller@example.net;tag=134161461246
Max-Forwards: 7
Call-ID: badinv01.0ha0isndaksdjasdf3234nas
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.15;;,;,,
Contact: \"Joe\" <sip:joe@example.org>;;;;
Content-Length: 150
Content-Type: application/sdp

{SDP_150}"
    ));
    let m = parse_ok(&raw);
    assert!(malformed(HeaderName::Via)(&m.top_via().unwrap_err()));
    assert!(malformed(HeaderName::Contact)(&m.contacts().unwrap_err()));
    assert!(malformed(HeaderName::Via)(&m.check_request().unwrap_err()));
}

/// §3.1.2.2 Content Length Larger Than Message (clerr).
#[test]
fn clerr() {
    let raw = crlf(&format!(
        "INVITE sip:user@example.com SIP/2.0
Max-Forwards: 80
To: sip:j.user@example.com
From: sip:caller@example.net;tag=93942939o2
Contact: <sip:caller@hungry.example.net>
Call-ID: clerr.0ha0isndaksdjweiafasdk3
CSeq: 8 INVITE
Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523
Content-Type: application/sdp
Content-Length: 9999

{SDP_150}"
    ));
    let err = parse_err(&raw);
    assert!(
        matches!(err, ParseError::BadContentLength { .. }),
        "{err:?}"
    );
    assert_eq!(err.reason_phrase(), "Bad Content-Length");
}

/// §3.1.2.3 Negative Content-Length (ncl).
#[test]
fn ncl() {
    let raw = crlf(&format!(
        "INVITE sip:user@example.com SIP/2.0
Max-Forwards: 254
To: sip:j.user@example.com
From: sip:caller@example.net;tag=32394234
Call-ID: ncl.0ha0isndaksdj2193423r542w35
CSeq: 0 INVITE
Via: SIP/2.0/UDP 192.0.2.53;branch=z9hG4bKkdjuw
Contact: <sip:caller@example53.example.net>
Content-Type: application/sdp
Content-Length: -999

{SDP_150}"
    ));
    assert!(matches!(
        parse_err(&raw),
        ParseError::BadContentLength { .. }
    ));
}

/// §3.1.2.4 Request Scalar Fields with Overlarge Values (scalar02).
#[test]
fn scalar02() {
    let raw = crlf(&format!(
        "REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3
To: <sip:user@example.com>
From: <sip:user@example.com>;tag=239232jh3
CSeq: 36893488147419103232 REGISTER
Call-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32
Max-Forwards: 300
Expires: 1{zeros}
Contact: <sip:user@host129.example.com>
  ;expires=280297596632815
l: 0

",
        zeros = "0".repeat(100)
    ));
    let m = parse_ok(&raw);
    assert!(malformed(HeaderName::CSeq)(&m.cseq().unwrap_err()));
    assert!(malformed(HeaderName::MaxForwards)(
        &m.max_forwards().unwrap_err()
    ));
    assert_eq!(m.expires(), Ok(Some(u32::MAX)));
    let Contacts::List(contacts) = m.contacts().unwrap() else {
        panic!("expected a list");
    };
    let expires = contacts[0].params.get("expires").flatten().unwrap();
    assert_eq!(sip_msg::delta_seconds(expires), Some(u32::MAX));
    assert!(!m.cseq_matches_method());
}

/// §3.1.2.5 Response Scalar Fields with Overlarge Values (scalarlg).
#[test]
fn scalarlg() {
    let raw = crlf(
        r#"SIP/2.0 503 Service Unavailable
Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bKzzxdiwo34sw;received=192.0.2.129
To: <sip:user@example.com>
From: <sip:other@example.net>;tag=2easdjfejw
CSeq: 9292394834772304023312 OPTIONS
Call-ID: scalarlg.noase0of0234hn2qofoaf0232aewf2394r
Retry-After: 949302838503028349304023988
Warning: 1812 overture "In Progress"
Content-Length: 0

"#,
    );
    let m = parse_ok(&raw);
    assert_eq!(m.status(), Some((503, "Service Unavailable")));
    assert!(malformed(HeaderName::CSeq)(&m.cseq().unwrap_err()));
    assert_eq!(m.top_via().unwrap().received(), Some("192.0.2.129"));
}

/// §3.1.2.6 Unterminated Quoted String in Display Name (quotbal).
#[test]
fn quotbal() {
    let raw = crlf(&format!(
        "INVITE sip:user@example.com SIP/2.0
To: \"Mr. J. User <sip:j.user@example.com>
From: sip:caller@example.net;tag=93334
Max-Forwards: 10
Call-ID: quotbal.aksdj
Contact: <sip:caller@host59.example.net>
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.59:5050;branch=z9hG4bKkdjuw39234
Content-Type: application/sdp
Content-Length: 150

{SDP_150}"
    ));
    let m = parse_ok(&raw);
    let err = m.to().unwrap_err();
    assert!(malformed(HeaderName::To)(&err));
    assert_eq!(err.reason_phrase(), "Malformed To header");
    assert_eq!(m.top_via().unwrap().port, Some(5050));
}

/// §3.1.2.7-10: malformed Request-Lines (ltgtruri, lwsruri, lwsstart, trws).
#[test]
fn malformed_request_lines() {
    for line in [
        "INVITE <sip:user@example.com> SIP/2.0",
        "INVITE sip:user@example.com; lr SIP/2.0",
        "INVITE  sip:user@example.com  SIP/2.0",
        "OPTIONS sip:remote-target@example.com SIP/2.0  ",
    ] {
        let raw = crlf(&format!(
            "{line}
Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK299342093
To: <sip:remote-target@example.com>
From: <sip:local-resource@example.com>;tag=329429089
Call-ID: trws.oicu34958239neffasdhr2345r
CSeq: 238923 OPTIONS
Max-Forwards: 70
Content-Length: 0

"
        ));
        let err = parse_err(&raw);
        assert_eq!(err, ParseError::BadRequestLine, "{line:?}");
        assert_eq!(err.reason_phrase(), "Malformed Request-Line");
    }
}

/// §3.1.2.11 Escaped Headers in SIP Request-URI (escruri): the parser exposes the headers so
/// that the registrar can refuse them.
#[test]
fn escruri() {
    let raw = crlf(
        "INVITE sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=341518
Max-Forwards: 7
Contact: <sip:caller@host39923.example.net>
Call-ID: escruri.23940-asdfhj-aje3br-234q098w-fawerh2q-h4n5
CSeq: 149209342 INVITE
Via: SIP/2.0/UDP host-of-the-hour.example.com;branch=z9hG4bKkdjuw
l: 0

",
    );
    let m = parse_ok(&raw);
    let ruri = Uri::parse(m.request_uri().unwrap()).unwrap();
    assert_eq!(ruri.headers, Some("Route=%3Csip:example.com%3E"));
}

/// §3.1.2.13 Failure to Enclose name-addr URI in <> (regbadct).
#[test]
fn regbadct() {
    let raw = crlf(
        "REGISTER sip:example.com SIP/2.0
To: sip:user@example.com
From: sip:user@example.com;tag=998332
Max-Forwards: 70
Call-ID: regbadct.k345asrl3fdbv@10.0.0.1
CSeq: 1 REGISTER
Via: SIP/2.0/UDP 135.180.130.133:5060;branch=z9hG4bKkdjuw
Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E
l: 0

",
    );
    let m = parse_ok(&raw);
    let err = m.contacts().unwrap_err();
    assert!(malformed(HeaderName::Contact)(&err));
    assert_eq!(err.reason_phrase(), "Malformed Contact header");
    assert_eq!(m.check_request(), Ok(()));
}

/// §3.1.2.14 Spaces within addr-spec (badaspec) and §3.1.2.15 Non-token Characters in Display
/// Name (baddn).
#[test]
fn badaspec_and_baddn() {
    let raw = crlf(
        r#"OPTIONS sip:user@example.org SIP/2.0
Via: SIP/2.0/UDP host4.example.com:5060;branch=z9hG4bKkdju43234
Max-Forwards: 70
From: "Bell, Alexander" <sip:a.g.bell@example.com>;tag=433423
To: "Watson, Thomas" < sip:t.watson@example.org >
Call-ID: badaspec.sdf0234n2nds0a099u23h3hnnw009cdkne3
Accept: application/sdp
CSeq: 3923239 OPTIONS
l: 0

"#,
    );
    let m = parse_ok(&raw);
    assert_eq!(m.from().unwrap().display_name, Some("Bell, Alexander"));
    assert!(malformed(HeaderName::To)(&m.to().unwrap_err()));

    let raw = crlf(
        "OPTIONS sip:t.watson@example.org SIP/2.0
Via:     SIP/2.0/UDP c.example.com:5060;branch=z9hG4bKkdjuw
Max-Forwards:      70
From:    Bell, Alexander <sip:a.g.bell@example.com>;tag=43
To:      Watson, Thomas <sip:t.watson@example.org>
Call-ID: baddn.31415@c.example.com
Accept: application/sdp
CSeq:    3923239 OPTIONS
l: 0

",
    );
    let m = parse_ok(&raw);
    assert!(malformed(HeaderName::From)(&m.from().unwrap_err()));
    assert!(malformed(HeaderName::To)(&m.to().unwrap_err()));
    assert_eq!(m.top_via().unwrap().host, "c.example.com");
}

/// §3.1.2.16 Unknown Protocol Version (badvers).
#[test]
fn badvers() {
    let raw = crlf(
        "OPTIONS sip:t.watson@example.org SIP/7.0
Via:     SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw
Max-Forwards:     70
From:    A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe
To:      T. Watson <sip:t.watson@example.org>
Call-ID: badvers.31417@c.example.com
CSeq:    1 OPTIONS
l: 0

",
    );
    let err = parse_err(&raw);
    assert_eq!(err, ParseError::UnsupportedVersion);
    assert_eq!(err.reason_phrase(), "Unsupported SIP version");
    assert_eq!(err.status_code(), 505);
}

/// §3.1.2.17-18 Start Line and CSeq Method Mismatch (mismatch01, mismatch02).
#[test]
fn mismatch() {
    for (start, call_id) in [
        ("OPTIONS", "mismatch01.dj0234sxdfl3"),
        ("NEWMETHOD", "mismatch02.dj0234sxdfl3"),
    ] {
        let raw = crlf(&format!(
            "{start} sip:user@example.com SIP/2.0
To: sip:j.user@example.com
From: sip:caller@example.net;tag=34525
Max-Forwards: 6
Call-ID: {call_id}
CSeq: 8 INVITE
Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw
l: 0

"
        ));
        let m = parse_ok(&raw);
        assert!(!m.cseq_matches_method(), "{start}");
        assert_eq!(m.check_request(), Err(ParseError::CSeqMethodMismatch));
    }
}

/// §3.1.2.19 Overlarge Response Code (bigcode).
#[test]
fn bigcode() {
    let raw = crlf(
        "SIP/2.0 4294967301 better not break the receiver
Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe
Call-ID: bigcode.asdof3uj203asdnf3429uasdhfas3ehjasdfas9i
CSeq: 353494 INVITE
From: <sip:user@example.com>;tag=39ansfi3
To: <sip:user@example.edu>;tag=902jndnke3
Content-Length: 0

",
    );
    assert_eq!(parse_err(&raw), ParseError::BadStatusLine);
}

/// §3.3.1 Missing Required Header Fields (insuf).
#[test]
fn insuf() {
    let raw = crlf(&format!(
        "INVITE sip:user@example.com SIP/2.0
CSeq: 193942 INVITE
Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf
Content-Type: application/sdp
l: 150

{SDP_150}"
    ));
    let m = parse_ok(&raw);
    assert_eq!(
        m.call_id(),
        Err(ParseError::MissingHeader(HeaderName::CallId))
    );
    assert_eq!(m.from(), Err(ParseError::MissingHeader(HeaderName::From)));
    assert_eq!(m.to(), Err(ParseError::MissingHeader(HeaderName::To)));
    assert_eq!(
        m.check_request(),
        Err(ParseError::MissingHeader(HeaderName::From))
    );
    assert_eq!(
        m.call_id().unwrap_err().reason_phrase(),
        "Missing Call-ID header"
    );
}

/// §3.3.2-4 Unknown and atypical URI schemes (unkscm, novelsc, unksm2).
#[test]
fn unknown_schemes() {
    for (ruri, rest) in [
        (
            "nobodyKnowsThisScheme:totallyopaquecontent",
            "totallyopaquecontent",
        ),
        ("soap.beep://192.0.2.103:3002", "//192.0.2.103:3002"),
    ] {
        let u = Uri::parse(ruri).unwrap();
        assert_eq!((u.scheme, u.host), (Scheme::Other, rest));
    }
    let raw = crlf(
        "REGISTER sip:example.com SIP/2.0
To: isbn:2983792873
From: <http://www.example.com>;tag=3234233
Call-ID: unksm2.daksdj@hyphenated-host.example.com
CSeq: 234902 REGISTER
Max-Forwards: 70
Via: SIP/2.0/UDP 192.0.2.21:5060;branch=z9hG4bKkdjuw
Contact: <name:John_Smith>
l: 0

",
    );
    let m = parse_ok(&raw);
    assert_eq!(m.to().unwrap().uri.scheme, Scheme::Other);
    let from = m.from().unwrap();
    assert_eq!(
        (from.uri.scheme, from.tag()),
        (Scheme::Other, Some("3234233"))
    );
    let Contacts::List(contacts) = m.contacts().unwrap() else {
        panic!("expected a list");
    };
    assert_eq!(contacts[0].raw_uri(), "name:John_Smith");
}

/// §3.3.5 Proxy-Require and Require (bext01) and §3.3.7 Unknown Authorization Scheme (regaut01).
#[test]
fn bext01_and_regaut01() {
    let raw = crlf(
        "OPTIONS sip:user@example.com SIP/2.0
To: sip:j_user@example.com
From: sip:caller@example.net;tag=242etr
Max-Forwards: 6
Call-ID: bext01.0ha0isndaksdj
Require: nothingSupportsThis, nothingSupportsThisEither
Proxy-Require: noProxiesSupportThis, norDoAnyProxiesSupportThis
CSeq: 8 OPTIONS
Via: SIP/2.0/TLS fold-and-staple.example.com;branch=z9hG4bKkdjuw
Authorization: NoOneKnowsThisScheme opaque-data=here
Content-Length: 0

",
    );
    let m = parse_ok(&raw);
    let require: Vec<_> = m.list_items(HeaderName::Require).collect();
    assert_eq!(
        require,
        ["nothingSupportsThis", "nothingSupportsThisEither"]
    );
    let proxy_require: Vec<_> = m.list_items(HeaderName::ProxyRequire).collect();
    assert_eq!(
        proxy_require,
        ["noProxiesSupportThis", "norDoAnyProxiesSupportThis"]
    );
    assert_eq!(
        m.header(HeaderName::Authorization),
        Some("NoOneKnowsThisScheme opaque-data=here")
    );
}

/// §3.3.8 Multiple Values in Single Value Required Fields (multi01).
#[test]
fn multi01() {
    let raw = crlf(&format!(
        "INVITE sip:user@company.com SIP/2.0
Contact: <sip:caller@host25.example.net>
Via: SIP/2.0/UDP 192.0.2.25;branch=z9hG4bKkdjuw
Max-Forwards: 70
CSeq: 5 INVITE
Call-ID: multi01.98asdh@192.0.2.1
CSeq: 59 INVITE
Call-ID: multi01.98asdh@192.0.2.2
From: sip:caller@example.com;tag=3413415
To: sip:user@example.com
To: sip:other@example.net
From: sip:caller@example.net;tag=2923420123
Content-Type: application/sdp
l: 150
Contact: <sip:caller@host36.example.net>
Max-Forwards: 5

{SDP_150}"
    ));
    let m = parse_ok(&raw);
    for (result, name) in [
        (m.call_id().map(drop), HeaderName::CallId),
        (m.cseq().map(drop), HeaderName::CSeq),
        (m.from().map(drop), HeaderName::From),
        (m.to().map(drop), HeaderName::To),
    ] {
        let err = result.unwrap_err();
        assert_eq!(err, ParseError::DuplicateHeader(name));
        assert_eq!(
            err.reason_phrase(),
            format!("Multiple {} headers", name.as_str())
        );
    }
}

/// §3.3.9 Multiple Content-Length Values (mcl01).
#[test]
fn mcl01() {
    let raw = crlf(
        "OPTIONS sip:user@example.com SIP/2.0
Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bK293423
To: sip:user@example.com
From: sip:other@example.net;tag=3923942
Call-ID: mcl01.fhn2323orihawfdoa3o4r52o3irsdf
CSeq: 15932 OPTIONS
Content-Length: 13
Max-Forwards: 60
Content-Length: 5
Content-Type: text/plain

There's no way to know how many octets are supposed to be here.
",
    );
    assert!(matches!(
        parse_err(&raw),
        ParseError::BadContentLength { .. }
    ));
}

/// §3.3.12-14 REGISTER Contact parameters (cparam01, cparam02, regescrt) and §3.3.11 zeromf.
#[test]
fn register_contact_forms() {
    let register = |contact: &str| {
        crlf(&format!(
            "REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw
Max-Forwards: 0
From: sip:watson@example.com;tag=DkfVgjkrtMwaerKKpe
To: sip:watson@example.com
Call-ID: cparam01.70710@saturn.example.com
CSeq: 2 REGISTER
{contact}
l: 0

"
        ))
    };
    let first = |raw: &[u8]| -> sip_msg::Contacts<'static> {
        let raw: &'static [u8] = Box::leak(raw.to_vec().into_boxed_slice());
        parse_ok(raw).contacts().unwrap()
    };

    let Contacts::List(c) = first(&register(
        "Contact: sip:+19725552222@gw1.example.net;unknownparam",
    )) else {
        panic!("expected a list");
    };
    assert!(c[0].uri.params.is_empty());
    assert!(c[0].params.contains("unknownparam"));

    let Contacts::List(c) = first(&register(
        "Contact: <sip:+19725552222@gw1.example.net;unknownparam>",
    )) else {
        panic!("expected a list");
    };
    assert!(c[0].uri.params.contains("unknownparam"));
    assert!(c[0].params.is_empty());

    let Contacts::List(c) = first(&register(
        "M: <sip:user@example.com?Route=%3Csip:sip.example.com%3E>",
    )) else {
        panic!("expected a list");
    };
    assert_eq!(c[0].uri.headers, Some("Route=%3Csip:sip.example.com%3E"));

    let raw = register("Contact: <sip:a@b>");
    assert_eq!(parse_ok(&raw).max_forwards(), Ok(Some(0)));
}

/// §3.4.1 INVITE with RFC 2543 Syntax (inv2543): no branch, no Content-Length.
#[test]
fn inv2543() {
    let raw = crlf(
        "INVITE sip:UserB@example.com SIP/2.0
Via: SIP/2.0/UDP iftgw.example.com
From: <sip:+13035551111@ift.client.example.net;user=phone>
Record-Route: <sip:UserB@example.com;maddr=ss1.example.com>
To: sip:+16505552222@ss1.example.net;user=phone
Call-ID: inv2543.1717@ift.client.example.com
CSeq: 56 INVITE
Content-Type: application/sdp

v=0
o=mhandley 29739 7272939 IN IP4 192.0.2.5
s=-
c=IN IP4 192.0.2.5
t=0 0
m=audio 49217 RTP/AVP 0
",
    );
    let m = parse_ok(&raw);
    assert_eq!(m.top_via().unwrap().branch(), None);
    assert!(m.body().starts_with(b"v=0\r\n") && m.body().ends_with(b"RTP/AVP 0\r\n"));
    let to = m.to().unwrap();
    assert_eq!(to.params.get("user"), Some(Some("phone")));
    assert!(to.uri.params.is_empty());
    let from = m.from().unwrap();
    assert_eq!(from.uri.params.get("user"), Some(Some("phone")));
}
