//! Writing a REGISTER request (RFC 3261 §10.2).

use std::borrow::Cow;
use std::fmt::Write as _;

use sip_msg::Transport;

use crate::account::PackedAccount;
use crate::transmit::LocalBinding;

/// Which credentials header a REGISTER carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthHeader {
    /// `Authorization`, answering a 401.
    Www,
    /// `Proxy-Authorization`, answering a 407.
    Proxy,
}

impl AuthHeader {
    fn name(self) -> &'static str {
        match self {
            Self::Www => "Authorization",
            Self::Proxy => "Proxy-Authorization",
        }
    }
}

/// Everything that varies between the REGISTERs of one registration.
pub(crate) struct RegisterRequest<'a> {
    pub(crate) account: &'a PackedAccount,
    pub(crate) binding: &'a LocalBinding,
    pub(crate) call_id: &'a str,
    pub(crate) from_tag: &'a str,
    pub(crate) cseq: u32,
    pub(crate) branch: &'a str,
    pub(crate) expires: u32,
    pub(crate) credentials: Option<(AuthHeader, &'a str)>,
}

impl RegisterRequest<'_> {
    /// The request's bytes.
    pub(crate) fn write(&self) -> Vec<u8> {
        let a = self.account;
        let aor = format!(
            "sip:{}@{}",
            escape_user(a.remote_user()),
            a.remote_domain().trim()
        );
        let mut out = String::with_capacity(512);
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "REGISTER {ruri} SIP/2.0\r\n\
             Via: SIP/2.0/{transport} {local};branch={branch};rport\r\n\
             Max-Forwards: 70\r\n\
             From: <{aor}>;tag={tag}\r\n\
             To: <{aor}>\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} REGISTER\r\n\
             Contact: <{contact}>;expires={expires}\r\n\
             Expires: {expires}\r\n",
            ruri = request_uri(a),
            transport = self.binding.transport.as_str(),
            local = self.binding.local,
            branch = self.branch,
            tag = self.from_tag,
            call_id = self.call_id,
            cseq = self.cseq,
            contact = contact_uri(a, self.binding),
            expires = self.expires,
        );
        if let Some((header, value)) = self.credentials {
            let _ = write!(out, "{}: {value}\r\n", header.name());
        }
        out.push_str("User-Agent: lamppost\r\nContent-Length: 0\r\n\r\n");
        out.into_bytes()
    }
}

/// The Request-URI, also the digest `uri`: `sip:<remote_domain>`.
pub(crate) fn request_uri(account: &PackedAccount) -> String {
    format!("sip:{}", account.remote_domain().trim())
}

/// The Contact URI we register: `sip:<contact_user>@<contact_host>[;transport=tcp]`.
pub(crate) fn contact_uri(account: &PackedAccount, binding: &LocalBinding) -> String {
    let mut uri = format!(
        "sip:{}@{}",
        escape_user(account.contact_user()),
        binding.contact_host
    );
    if binding.transport != Transport::Udp {
        uri.push_str(";transport=");
        uri.push_str(&binding.transport.as_str().to_ascii_lowercase());
    }
    uri
}

/// Escapes a URI user part: everything but `unreserved` and `user-unreserved` (RFC 3261 §25.1) becomes `%HH`.
pub(crate) fn escape_user(user: &str) -> Cow<'_, str> {
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"-_.!~*'()&=+$,;?/".contains(&b);
    if user.bytes().all(plain) {
        return Cow::Borrowed(user);
    }
    let mut out = String::with_capacity(user.len() + 8);
    for b in user.bytes() {
        if plain(b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_escaping() {
        assert_eq!(escape_user("trunk-1.a+b"), "trunk-1.a+b");
        assert_eq!(escape_user("a b@c%:ü"), "a%20b%40c%25%3A%C3%BC");
        let uri = format!("sip:{}@h", escape_user("a b@c%:ü"));
        let parsed = sip_msg::Uri::parse(&uri).unwrap();
        assert_eq!(parsed.user_unescaped(), "a b@c%:ü");
    }
}
