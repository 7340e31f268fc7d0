//! The CSeq header (RFC 3261 §20.16).

use crate::Method;
use crate::lex::{TOKEN, parse_u32, skip_lws, span};

/// A CSeq value: sequence number and method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CSeq<'a> {
    /// The sequence number.
    pub seq: u32,
    /// The method.
    pub method: Method<'a>,
}

/// Parses a trimmed CSeq value.
pub(crate) fn parse_cseq(s: &str) -> Result<CSeq<'_>, &'static str> {
    let b = s.as_bytes();
    let digits_end = b
        .iter()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(b.len());
    let seq = parse_u32(&b[..digits_end]).ok_or("invalid sequence number")?;
    let method_start = skip_lws(b, digits_end);
    if method_start == digits_end {
        return Err("missing method");
    }
    let method_end = span(b, method_start, &TOKEN);
    if method_end == method_start || method_end != b.len() {
        return Err("invalid method");
    }
    Ok(CSeq {
        seq,
        method: Method::parse(&s[method_start..]),
    })
}

#[cfg(test)]
mod tests {
    use super::parse_cseq;
    use crate::Method;

    #[test]
    fn folded_and_zero_padded() {
        let c = parse_cseq("0009\r\n  INVITE").unwrap();
        assert_eq!(c.seq, 9);
        assert_eq!(c.method, Method::Invite);
        let c = parse_cseq("4294967295 REGISTER").unwrap();
        assert_eq!(c.seq, u32::MAX);
        assert_eq!(
            parse_cseq("139122385 !interesting-Method0123456789_*+`.%indeed'~")
                .unwrap()
                .method,
            Method::Other("!interesting-Method0123456789_*+`.%indeed'~")
        );
    }

    #[test]
    fn malformed() {
        for s in [
            "36893488147419103232 REGISTER",
            "4294967296 REGISTER",
            "REGISTER",
            "1REGISTER",
            "1",
            "1 ",
            "-1 REGISTER",
            "1 REGISTER x",
            "1 REG/ISTER",
        ] {
            assert!(parse_cseq(s).is_err(), "{s:?} should be rejected");
        }
    }
}
