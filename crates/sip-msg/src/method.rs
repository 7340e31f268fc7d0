//! SIP request methods.

/// A request method; methods are case-sensitive (RFC 3261 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method<'a> {
    /// REGISTER (RFC 3261).
    Register,
    /// INVITE (RFC 3261).
    Invite,
    /// ACK (RFC 3261).
    Ack,
    /// BYE (RFC 3261).
    Bye,
    /// CANCEL (RFC 3261).
    Cancel,
    /// OPTIONS (RFC 3261).
    Options,
    /// SUBSCRIBE (RFC 6665).
    Subscribe,
    /// NOTIFY (RFC 6665).
    Notify,
    /// MESSAGE (RFC 3428).
    Message,
    /// INFO (RFC 6086).
    Info,
    /// UPDATE (RFC 3311).
    Update,
    /// PRACK (RFC 3262).
    Prack,
    /// REFER (RFC 3515).
    Refer,
    /// PUBLISH (RFC 3903).
    Publish,
    /// Any other method token, as written.
    Other(&'a str),
}

impl<'a> Method<'a> {
    /// Maps a method token to its variant (exact, case-sensitive match).
    pub fn parse(token: &'a str) -> Self {
        match token {
            "REGISTER" => Self::Register,
            "INVITE" => Self::Invite,
            "ACK" => Self::Ack,
            "BYE" => Self::Bye,
            "CANCEL" => Self::Cancel,
            "OPTIONS" => Self::Options,
            "SUBSCRIBE" => Self::Subscribe,
            "NOTIFY" => Self::Notify,
            "MESSAGE" => Self::Message,
            "INFO" => Self::Info,
            "UPDATE" => Self::Update,
            "PRACK" => Self::Prack,
            "REFER" => Self::Refer,
            "PUBLISH" => Self::Publish,
            other => Self::Other(other),
        }
    }

    /// The method token.
    pub fn as_str(&self) -> &'a str {
        match self {
            Self::Register => "REGISTER",
            Self::Invite => "INVITE",
            Self::Ack => "ACK",
            Self::Bye => "BYE",
            Self::Cancel => "CANCEL",
            Self::Options => "OPTIONS",
            Self::Subscribe => "SUBSCRIBE",
            Self::Notify => "NOTIFY",
            Self::Message => "MESSAGE",
            Self::Info => "INFO",
            Self::Update => "UPDATE",
            Self::Prack => "PRACK",
            Self::Refer => "REFER",
            Self::Publish => "PUBLISH",
            Self::Other(token) => token,
        }
    }
}

impl std::fmt::Display for Method<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Method;

    #[test]
    fn known_methods_round_trip() {
        for token in [
            "REGISTER",
            "INVITE",
            "ACK",
            "BYE",
            "CANCEL",
            "OPTIONS",
            "SUBSCRIBE",
            "NOTIFY",
            "MESSAGE",
            "INFO",
            "UPDATE",
            "PRACK",
            "REFER",
            "PUBLISH",
        ] {
            let m = Method::parse(token);
            assert!(!matches!(m, Method::Other(_)), "{token}");
            assert_eq!(m.as_str(), token);
        }
    }

    #[test]
    fn methods_are_case_sensitive() {
        assert_eq!(Method::parse("register"), Method::Other("register"));
        assert_eq!(Method::parse("NEWMETHOD").as_str(), "NEWMETHOD");
    }
}
