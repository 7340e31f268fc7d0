//! Header field names, including the compact forms of RFC 3261 §7.3.3.

/// A header field name the crate knows by name; anything else is [`HeaderName::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HeaderName {
    /// `Via` (compact `v`).
    Via,
    /// `From` (compact `f`).
    From,
    /// `To` (compact `t`).
    To,
    /// `Call-ID` (compact `i`).
    CallId,
    /// `CSeq`.
    CSeq,
    /// `Contact` (compact `m`).
    Contact,
    /// `Expires`.
    Expires,
    /// `Max-Forwards`.
    MaxForwards,
    /// `Content-Length` (compact `l`).
    ContentLength,
    /// `Content-Type` (compact `c`).
    ContentType,
    /// `Authorization`.
    Authorization,
    /// `Proxy-Authorization`.
    ProxyAuthorization,
    /// `WWW-Authenticate`.
    WwwAuthenticate,
    /// `Proxy-Authenticate`.
    ProxyAuthenticate,
    /// `Require`.
    Require,
    /// `Proxy-Require`.
    ProxyRequire,
    /// `Supported` (compact `k`).
    Supported,
    /// `Unsupported`.
    Unsupported,
    /// `User-Agent`.
    UserAgent,
    /// `Server`.
    Server,
    /// `Path` (RFC 3327).
    Path,
    /// `Min-Expires`.
    MinExpires,
    /// `Route`.
    Route,
    /// `Record-Route`.
    RecordRoute,
    /// `Allow`.
    Allow,
    /// `Date`.
    Date,
    /// `Event` (compact `o`, RFC 6665).
    Event,
    /// `Subject` (compact `s`).
    Subject,
    /// `Content-Encoding` (compact `e`).
    ContentEncoding,
    /// `Allow-Events` (compact `u`, RFC 6665).
    AllowEvents,
    /// Any other name; see [`Header::raw_name`](crate::Header) for its spelling.
    Other,
}

use crate::lex::{TOKEN, all_in, span};

use HeaderName as H;

/// Header names are compared as three little-endian words of lower-cased bytes, padded with
/// spaces. For token characters, OR-ing 0x20 into every byte lower-cases letters and leaves
/// `-` alone, and only letters and `-` occur in known names, so the comparison is exact.
type Words = [u64; 3];

const PAD: u64 = u64::from_le_bytes([0x20; 8]);

const fn pack(name: &[u8]) -> Words {
    let mut bytes = [0x20u8; 24];
    let mut i = 0;
    while i < name.len() {
        bytes[i] = name[i];
        i += 1;
    }
    let mut words = [0u64; 3];
    let mut w = 0;
    while w < 3 {
        let mut b = 0;
        while b < 8 {
            words[w] |= (bytes[w * 8 + b] as u64) << (8 * b);
            b += 1;
        }
        words[w] |= PAD;
        w += 1;
    }
    words
}

/// The header a one-letter compact form stands for (RFC 3261 §7.3.3).
fn compact(c: u8) -> HeaderName {
    match c.to_ascii_lowercase() {
        b'v' => H::Via,
        b'f' => H::From,
        b't' => H::To,
        b'i' => H::CallId,
        b'm' => H::Contact,
        b'l' => H::ContentLength,
        b'k' => H::Supported,
        b's' => H::Subject,
        b'c' => H::ContentType,
        b'e' => H::ContentEncoding,
        b'o' => H::Event,
        b'u' => H::AllowEvents,
        _ => H::Other,
    }
}

/// High bit of each byte of `w` that is an ASCII letter or `-`.
#[inline]
fn letters_or_dash(w: u64) -> u64 {
    const LOW7: u64 = splat(0x7f);
    let lower = (w | PAD) & LOW7;
    let ge_a = lower.wrapping_add(splat(0x80 - b'a'));
    let gt_z = lower.wrapping_add(splat(0x80 - b'z' - 1));
    let dash = w ^ splat(b'-');
    let is_dash = !(((dash & LOW7).wrapping_add(LOW7)) | dash);
    ((ge_a & !gt_z) | is_dash) & !w & HIGH
}

/// The first `n` bytes of `w` (n <= 8), the others zero.
#[inline]
fn keep(w: u64, n: usize) -> u64 {
    if n >= 8 { w } else { w & ((1 << (8 * n)) - 1) }
}

const HIGH: u64 = splat(0x80);

const fn splat(b: u8) -> u64 {
    u64::from_le_bytes([b; 8])
}

/// The known name of two or more bytes whose packed, lower-cased words are `words`.
#[inline]
fn identify([w0, w1, w2]: Words) -> HeaderName {
    // The first word decides; longer names confirm with the others (the padding makes
    // the comparison exact in length too).
    const TO: u64 = pack(b"to")[0];
    const VIA: u64 = pack(b"via")[0];
    const FROM: u64 = pack(b"from")[0];
    const CSEQ: u64 = pack(b"cseq")[0];
    const PATH: u64 = pack(b"path")[0];
    const DATE: u64 = pack(b"date")[0];
    const ROUTE: u64 = pack(b"route")[0];
    const ALLOW: u64 = pack(b"allow")[0];
    const EVENT: u64 = pack(b"event")[0];
    const SERVER: u64 = pack(b"server")[0];
    const CALL_ID: u64 = pack(b"call-id")[0];
    const CONTACT: u64 = pack(b"contact")[0];
    const EXPIRES: u64 = pack(b"expires")[0];
    const REQUIRE: u64 = pack(b"require")[0];
    const SUBJECT: u64 = pack(b"subject")[0];
    const SUPPORTE: u64 = pack(b"supporte")[0];
    const USER_AGE: u64 = pack(b"user-age")[0];
    const UNSUPPOR: u64 = pack(b"unsuppor")[0];
    const MIN_EXPI: u64 = pack(b"min-expi")[0];
    const MAX_FORW: u64 = pack(b"max-forw")[0];
    const RECORD_R: u64 = pack(b"record-r")[0];
    const ALLOW_EV: u64 = pack(b"allow-ev")[0];
    const AUTHORIZ: u64 = pack(b"authoriz")[0];
    const PROXY_RE: u64 = pack(b"proxy-re")[0];
    const WWW_AUTH: u64 = pack(b"www-auth")[0];
    const CONTENT_: u64 = pack(b"content-")[0];
    const PROXY_AU: u64 = pack(b"proxy-au")[0];
    const NONE: Words = pack(b"");
    let (name, tail) = match w0 {
        TO => (H::To, NONE),
        VIA => (H::Via, NONE),
        FROM => (H::From, NONE),
        CSEQ => (H::CSeq, NONE),
        PATH => (H::Path, NONE),
        DATE => (H::Date, NONE),
        ROUTE => (H::Route, NONE),
        ALLOW => (H::Allow, NONE),
        EVENT => (H::Event, NONE),
        SERVER => (H::Server, NONE),
        CALL_ID => (H::CallId, NONE),
        CONTACT => (H::Contact, NONE),
        EXPIRES => (H::Expires, NONE),
        REQUIRE => (H::Require, NONE),
        SUBJECT => (H::Subject, NONE),
        SUPPORTE => (H::Supported, const { pack(b"d") }),
        USER_AGE => (H::UserAgent, const { pack(b"nt") }),
        UNSUPPOR => (H::Unsupported, const { pack(b"ted") }),
        MIN_EXPI => (H::MinExpires, const { pack(b"res") }),
        MAX_FORW => (H::MaxForwards, const { pack(b"ards") }),
        RECORD_R => (H::RecordRoute, const { pack(b"oute") }),
        ALLOW_EV => (H::AllowEvents, const { pack(b"ents") }),
        AUTHORIZ => (H::Authorization, const { pack(b"ation") }),
        PROXY_RE => (H::ProxyRequire, const { pack(b"quire") }),
        WWW_AUTH => (H::WwwAuthenticate, const { pack(b"enticate") }),
        CONTENT_ => {
            const TYPE: u64 = pack(b"type")[0];
            const LENGTH: u64 = pack(b"length")[0];
            const ENCODING: u64 = pack(b"encoding")[0];
            match w1 {
                TYPE => (H::ContentType, [TYPE, PAD, PAD]),
                LENGTH => (H::ContentLength, [LENGTH, PAD, PAD]),
                ENCODING => (H::ContentEncoding, [ENCODING, PAD, PAD]),
                _ => return H::Other,
            }
        }
        PROXY_AU => {
            const THENTICATE: Words = pack(b"thenticate");
            if w1 == THENTICATE[0] {
                (H::ProxyAuthenticate, THENTICATE)
            } else {
                (H::ProxyAuthorization, const { pack(b"thorization") })
            }
        }
        _ => return H::Other,
    };
    if w1 == tail[0] && w2 == tail[1] {
        name
    } else {
        H::Other
    }
}

impl HeaderName {
    /// Identifies a header name, case-insensitively, including compact forms.
    pub fn parse(name: &[u8]) -> Self {
        if !all_in(name, &TOKEN) {
            return Self::Other;
        }
        match name.len() {
            1 => compact(name[0]),
            2..=24 => {
                let mut bytes = [0x20u8; 24];
                bytes[..name.len()].copy_from_slice(name);
                identify(pack(&bytes))
            }
            _ => Self::Other,
        }
    }

    /// The name at the start of `rest`, as a length and the header it identifies: the run
    /// of token characters, read a word at a time while it is letters and `-` (all that
    /// known names contain).
    #[inline]
    pub(crate) fn scan(rest: &[u8]) -> (usize, Self) {
        let mut words = [PAD; 3];
        let mut i = 0;
        for word in &mut words {
            let Some(chunk) = rest.get(i..).and_then(<[u8]>::first_chunk::<8>) else {
                break;
            };
            let w = u64::from_le_bytes(*chunk);
            let ok = letters_or_dash(w);
            if ok != HIGH {
                let n = (!ok & HIGH).trailing_zeros() / 8;
                *word = keep(w, n as usize) | PAD;
                i += n as usize;
                if rest.get(i).is_some_and(|&c| TOKEN[usize::from(c)]) {
                    break;
                }
                let name = match i {
                    1 => compact(rest[0]),
                    _ => identify(words),
                };
                return (i, name);
            }
            *word = w | PAD;
            i += 8;
        }
        // Digits or other token characters, a long name, or the end of the buffer.
        let len = span(rest, i, &TOKEN);
        (len, Self::parse(&rest[..len]))
    }

    /// The canonical spelling (`Call-ID`, `WWW-Authenticate`, ...); empty for [`HeaderName::Other`].
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Via => "Via",
            Self::From => "From",
            Self::To => "To",
            Self::CallId => "Call-ID",
            Self::CSeq => "CSeq",
            Self::Contact => "Contact",
            Self::Expires => "Expires",
            Self::MaxForwards => "Max-Forwards",
            Self::ContentLength => "Content-Length",
            Self::ContentType => "Content-Type",
            Self::Authorization => "Authorization",
            Self::ProxyAuthorization => "Proxy-Authorization",
            Self::WwwAuthenticate => "WWW-Authenticate",
            Self::ProxyAuthenticate => "Proxy-Authenticate",
            Self::Require => "Require",
            Self::ProxyRequire => "Proxy-Require",
            Self::Supported => "Supported",
            Self::Unsupported => "Unsupported",
            Self::UserAgent => "User-Agent",
            Self::Server => "Server",
            Self::Path => "Path",
            Self::MinExpires => "Min-Expires",
            Self::Route => "Route",
            Self::RecordRoute => "Record-Route",
            Self::Allow => "Allow",
            Self::Date => "Date",
            Self::Event => "Event",
            Self::Subject => "Subject",
            Self::ContentEncoding => "Content-Encoding",
            Self::AllowEvents => "Allow-Events",
            Self::Other => "",
        }
    }
}

impl std::fmt::Display for HeaderName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::HeaderName as H;

    const ALL: [H; 30] = [
        H::Via,
        H::From,
        H::To,
        H::CallId,
        H::CSeq,
        H::Contact,
        H::Expires,
        H::MaxForwards,
        H::ContentLength,
        H::ContentType,
        H::Authorization,
        H::ProxyAuthorization,
        H::WwwAuthenticate,
        H::ProxyAuthenticate,
        H::Require,
        H::ProxyRequire,
        H::Supported,
        H::Unsupported,
        H::UserAgent,
        H::Server,
        H::Path,
        H::MinExpires,
        H::Route,
        H::RecordRoute,
        H::Allow,
        H::Date,
        H::Event,
        H::Subject,
        H::ContentEncoding,
        H::AllowEvents,
    ];

    #[test]
    fn canonical_names_parse_back_in_any_case() {
        for h in ALL {
            let name = h.as_str();
            assert_eq!(H::parse(name.as_bytes()), h, "{name}");
            assert_eq!(H::parse(name.to_ascii_uppercase().as_bytes()), h, "{name}");
            assert_eq!(H::parse(name.to_ascii_lowercase().as_bytes()), h, "{name}");
        }
    }

    #[test]
    fn compact_forms() {
        let pairs = [
            ("v", H::Via),
            ("F", H::From),
            ("t", H::To),
            ("I", H::CallId),
            ("m", H::Contact),
            ("L", H::ContentLength),
            ("k", H::Supported),
            ("s", H::Subject),
            ("c", H::ContentType),
            ("e", H::ContentEncoding),
            ("o", H::Event),
            ("u", H::AllowEvents),
            ("x", H::Other),
        ];
        for (name, h) in pairs {
            assert_eq!(H::parse(name.as_bytes()), h, "{name}");
        }
    }

    #[test]
    fn unknown_and_near_miss_names_are_other() {
        for name in [
            "",
            "Vias",
            "Call_ID",
            "X-Custom",
            "C%6Fntact",
            "Contact ",
            "WWW-Authenticat",
        ] {
            assert_eq!(H::parse(name.as_bytes()), H::Other, "{name:?}");
        }
        assert_eq!(H::Other.as_str(), "");
    }
}
