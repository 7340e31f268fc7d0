//! The binary form of one `location_journal` row: a binding change, compact and versioned.
//!
//! Layout (version 1): a version byte (`1`), a kind byte (`1` upsert, `2` remove), then
//! - for a remove, the binding id;
//! - for an upsert, every field of the [`Binding`] in declaration order.
//!
//! Integers are unsigned LEB128 varints, except the branch hash (8 bytes little-endian: it is a hash, so a varint
//! would only be longer). Strings are a varint byte length then UTF-8. An optional value is a byte `0` (absent) or
//! `1` followed by the value. A socket address is `4` then 4 address bytes, or `6` then 16 address bytes and the
//! scope id as a varint, then the port as 2 bytes little-endian; like the `location` table, it does not keep the
//! IPv6 flow label. The transport is stored by name (`UDP`, `TLS`, ...). Path values are a varint count then each
//! string. A decoder refuses unknown versions and kinds, truncated input and trailing bytes.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::num::NonZeroU64;

use registrar::{Binding, ContactExtras, Source, Transport, UnixTime};

/// The version byte this module writes, and the only one it reads.
const VERSION: u8 = 1;

/// Kind byte of an upsert.
const UPSERT: u8 = 1;

/// Kind byte of a remove.
const REMOVE: u8 = 2;

/// A change as the journal records it.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum JournalChange {
    /// Insert or replace this binding.
    Upsert(Binding),
    /// Remove the binding with this id.
    Remove(u64),
}

/// Encodes an upsert of `b`.
pub(super) fn encode_upsert(b: &Binding) -> Vec<u8> {
    let mut out = Writer(Vec::with_capacity(256));
    out.byte(VERSION);
    out.byte(UPSERT);
    out.varint(b.id);
    out.str(&b.aor);
    out.str(&b.uri);
    out.str(b.params());
    out.option(b.q, |out, q| out.varint(u64::from(q)));
    out.varint(b.expires_at.0.into());
    out.varint(b.registered_at.0.into());
    out.varint(b.updated_at.0.into());
    out.str(&b.call_id);
    out.varint(u64::from(b.cseq));
    // Eight bytes, as earlier versions wrote 64-bit hashes.
    out.0
        .extend_from_slice(&u64::from(b.branch_hash).to_le_bytes());
    out.addr(b.source.remote);
    out.addr(b.source.local.get());
    out.str(b.source.transport.as_str());
    out.option(b.source.connection.map(NonZeroU64::get), Writer::varint);
    out.str(&b.user_agent);
    out.varint(b.path().len() as u64);
    for value in b.path() {
        out.str(value);
    }
    out.option(b.instance(), Writer::str);
    out.option(b.reg_id(), |out, id| out.varint(u64::from(id)));
    out.0
}

/// Encodes a remove of the binding `id`.
pub(super) fn encode_remove(id: u64) -> Vec<u8> {
    let mut out = Writer(Vec::with_capacity(12));
    out.byte(VERSION);
    out.byte(REMOVE);
    out.varint(id);
    out.0
}

/// Decodes what [`encode_upsert`] or [`encode_remove`] wrote; the error says what is wrong.
pub(super) fn decode(bytes: &[u8]) -> Result<JournalChange, String> {
    let mut r = Reader(bytes);
    let version = r.byte()?;
    if version != VERSION {
        return Err(format!("unknown journal encoding version {version}"));
    }
    let change = match r.byte()? {
        UPSERT => JournalChange::Upsert(r.binding()?),
        REMOVE => JournalChange::Remove(r.varint()?),
        kind => return Err(format!("unknown journal change kind {kind}")),
    };
    if r.0.is_empty() {
        Ok(change)
    } else {
        Err(format!("{} trailing bytes", r.0.len()))
    }
}

/// Appends encoded values to a buffer.
struct Writer(Vec<u8>);

impl Writer {
    fn byte(&mut self, b: u8) {
        self.0.push(b);
    }

    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn str(&mut self, s: &str) {
        self.varint(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }

    fn option<T>(&mut self, value: Option<T>, write: impl FnOnce(&mut Self, T)) {
        match value {
            None => self.byte(0),
            Some(v) => {
                self.byte(1);
                write(self, v);
            }
        }
    }

    fn addr(&mut self, addr: SocketAddr) {
        match addr {
            SocketAddr::V4(a) => {
                self.byte(4);
                self.0.extend_from_slice(&a.ip().octets());
            }
            SocketAddr::V6(a) => {
                self.byte(6);
                self.0.extend_from_slice(&a.ip().octets());
                self.varint(u64::from(a.scope_id()));
            }
        }
        self.0.extend_from_slice(&addr.port().to_le_bytes());
    }
}

/// Reads encoded values from the front of a slice.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or_else(|| "truncated journal change".to_owned())?;
        self.0 = rest;
        Ok(*head)
    }

    fn byte(&mut self) -> Result<u8, String> {
        self.take::<1>().map(|[b]| b)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0_u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                return Err("varint overflows 64 bits".to_owned());
            }
            value |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint overflows 64 bits".to_owned())
    }

    fn small<T: TryFrom<u64>>(&mut self, what: &str) -> Result<T, String> {
        let v = self.varint()?;
        T::try_from(v).map_err(|_| format!("{what} {v} is out of range"))
    }

    fn str(&mut self) -> Result<&str, String> {
        let len: usize = self.small("string length")?;
        if len > self.0.len() {
            return Err("truncated journal change".to_owned());
        }
        let (s, rest) = self.0.split_at(len);
        self.0 = rest;
        std::str::from_utf8(s).map_err(|e| format!("invalid UTF-8: {e}"))
    }

    fn option<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, String>,
    ) -> Result<Option<T>, String> {
        match self.byte()? {
            0 => Ok(None),
            1 => read(self).map(Some),
            tag => Err(format!("bad option tag {tag}")),
        }
    }

    fn addr(&mut self) -> Result<SocketAddr, String> {
        let addr = match self.byte()? {
            4 => {
                let ip = Ipv4Addr::from(self.take::<4>()?);
                let port = u16::from_le_bytes(self.take()?);
                SocketAddr::V4(SocketAddrV4::new(ip, port))
            }
            6 => {
                let ip = Ipv6Addr::from(self.take::<16>()?);
                let scope = self.small("scope id")?;
                let port = u16::from_le_bytes(self.take()?);
                SocketAddr::V6(SocketAddrV6::new(ip, port, 0, scope))
            }
            family => return Err(format!("bad address family {family}")),
        };
        Ok(addr)
    }

    fn binding(&mut self) -> Result<Binding, String> {
        let id = self.varint()?;
        let aor = self.str()?.into();
        let uri = self.str()?.into();
        let params = self.str()?.into();
        let q = self.option(|r| r.small("q"))?;
        let expires_at = UnixTime(self.small("expires")?);
        let registered_at = UnixTime(self.small("registered_at")?);
        let updated_at = UnixTime(self.small("last_modified")?);
        let call_id = self.str()?.into();
        let cseq = self.small("cseq")?;
        let branch_hash = u64::from_le_bytes(self.take()?) as u32;
        let remote = self.addr()?;
        let local = self.addr()?;
        let name = self.str()?;
        let transport =
            Transport::parse(name).ok_or_else(|| format!("unknown transport `{name}`"))?;
        let connection = self.option(Reader::varint)?.and_then(NonZeroU64::new);
        let user_agent = self.str()?.into();
        let count: usize = self.small("path length")?;
        // Each value takes at least its length byte, so this cannot be asked to reserve more than the input.
        let mut path = Vec::with_capacity(count.min(self.0.len()));
        for _ in 0..count {
            path.push(self.str()?.into());
        }
        let instance = self.option(|r| r.str().map(Into::into))?;
        let reg_id = self.option(|r| r.small("reg-id"))?;
        Ok(Binding {
            id,
            aor,
            uri,
            q,
            expires_at,
            registered_at,
            updated_at,
            call_id,
            cseq,
            branch_hash,
            source: Source {
                remote,
                local: local.into(),
                transport,
                connection,
            },
            user_agent,
            extras: ContactExtras {
                params,
                path: path.into_boxed_slice(),
                instance,
                reg_id,
            }
            .into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use registrar::Extras;

    /// A binding with every optional field present and values that stress the encoding.
    fn full() -> Binding {
        Binding {
            id: u64::MAX,
            aor: "jürgen@bücher.example".into(),
            uri: "sip:jürgen@[2001:db8::1]:5061;transport=tls".into(),
            q: Some(u16::MAX),
            expires_at: UnixTime(u32::MAX),
            registered_at: UnixTime(1_800_000_000),
            updated_at: UnixTime(1_800_000_060),
            call_id: "通话-1@host".into(),
            cseq: u32::MAX,
            branch_hash: 0x8000_0001,
            source: Source {
                remote: "[2001:db8::7%4]:5061".parse().unwrap(),
                local: "[::1]:5060".parse::<SocketAddr>().unwrap().into(),
                transport: Transport::Tls,
                connection: NonZeroU64::new(u64::MAX - 1),
            },
            user_agent: "Téléphone/1.0 ☎".into(),
            extras: ContactExtras {
                params: ";+sip.instance=\"<urn:uuid:x>\";reg-id=2;ÿ".into(),
                path: vec![
                    "<sip:p1.example;lr>".into(),
                    "\"a, b\" <sip:p2\\;lr>".into(),
                    "".into(),
                ]
                .into(),
                instance: Some("<urn:uuid:00000000-0000-1000-8000-00a0c91e6bf6>".into()),
                reg_id: Some(u32::MAX),
            }
            .into(),
        }
    }

    /// A binding with every optional field absent and every string empty.
    fn bare() -> Binding {
        Binding {
            id: 0,
            aor: "".into(),
            uri: "".into(),
            q: None,
            expires_at: UnixTime(0),
            registered_at: UnixTime(0),
            updated_at: UnixTime(0),
            call_id: "".into(),
            cseq: 0,
            branch_hash: 0,
            source: Source {
                remote: "192.0.2.7:0".parse().unwrap(),
                local: "0.0.0.0:65535".parse::<SocketAddr>().unwrap().into(),
                transport: Transport::Udp,
                connection: None,
            },
            user_agent: "".into(),
            extras: Extras::default(),
        }
    }

    /// Changes one of the binding's extra parts.
    fn set(b: &mut Binding, change: impl FnOnce(&mut ContactExtras)) {
        let mut parts = b.extras.to_parts();
        change(&mut parts);
        b.extras = parts.into();
    }

    fn round_trip(b: &Binding) {
        let bytes = encode_upsert(b);
        assert_eq!(bytes[0], VERSION);
        assert_eq!(decode(&bytes), Ok(JournalChange::Upsert(b.clone())));
    }

    #[test]
    fn full_and_bare_bindings_round_trip() {
        round_trip(&full());
        round_trip(&bare());
    }

    #[test]
    fn every_field_round_trips_on_its_own() {
        // Change one field at a time from the bare binding, so a field the codec drops or swaps shows up.
        let full = full();
        let variants: Vec<fn(&mut Binding, &Binding)> = vec![
            |b, f| b.id = f.id,
            |b, f| b.aor = f.aor.clone(),
            |b, f| b.uri = f.uri.clone(),
            |b, f| set(b, |e| e.params = f.params().into()),
            |b, f| b.q = f.q,
            |b, _| b.q = Some(0),
            |b, f| b.expires_at = f.expires_at,
            |b, f| b.registered_at = f.registered_at,
            |b, f| b.updated_at = f.updated_at,
            |b, f| b.call_id = f.call_id.clone(),
            |b, f| b.cseq = f.cseq,
            |b, f| b.branch_hash = f.branch_hash,
            |b, f| b.source.remote = f.source.remote,
            |b, f| b.source.local = f.source.local,
            |b, f| b.source.transport = f.source.transport,
            |b, _| b.source.transport = Transport::Wss,
            |b, f| b.source.connection = f.source.connection,
            |b, _| b.source.connection = NonZeroU64::new(1),
            |b, f| b.user_agent = f.user_agent.clone(),
            |b, f| set(b, |e| e.path = f.path().into()),
            |b, _| set(b, |e| e.path = vec!["".into()].into()),
            |b, f| set(b, |e| e.instance = f.instance().map(Into::into)),
            |b, _| set(b, |e| e.instance = Some("".into())),
            |b, f| set(b, |e| e.reg_id = f.reg_id()),
            |b, _| set(b, |e| e.reg_id = Some(0)),
        ];
        for (i, set) in variants.into_iter().enumerate() {
            let mut b = bare();
            set(&mut b, &full);
            assert_ne!(b, bare(), "variant {i} changes nothing");
            round_trip(&b);
        }
    }

    #[test]
    fn the_ipv6_flow_label_is_dropped_and_the_scope_kept() {
        let mut b = bare();
        b.source.remote = SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::LOCALHOST, 5060, 77, 3));
        let JournalChange::Upsert(back) = decode(&encode_upsert(&b)).unwrap() else {
            panic!("not an upsert");
        };
        assert_eq!(
            back.source.remote,
            SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::LOCALHOST, 5060, 0, 3))
        );
    }

    #[test]
    fn removes_round_trip() {
        for id in [0, 1, 127, 128, 300, u64::MAX] {
            assert_eq!(decode(&encode_remove(id)), Ok(JournalChange::Remove(id)));
        }
        assert_eq!(encode_remove(5), [VERSION, REMOVE, 5]);
    }

    #[test]
    fn the_encoding_adds_little_beyond_the_text() {
        let b = full();
        let text: usize = [
            &*b.aor,
            &b.uri,
            b.params(),
            &b.call_id,
            &b.user_agent,
            "TLS",
        ]
        .iter()
        .chain(b.path().iter().map(|p| &**p).collect::<Vec<_>>().iter())
        .chain(b.instance().iter())
        .map(|s| s.len())
        .sum();
        let overhead = encode_upsert(&b).len() - text;
        // Version and kind 2, ten string lengths 10, id 10, q 4, times 5 + 5 + 5, cseq 5, hash 8, two IPv6
        // addresses 20 each, connection 11, path count 1, instance tag 1, reg-id 6: every value at its widest.
        assert_eq!(overhead, 113);
        // Version and kind 2, sixteen one-byte lengths, zeros and tags, the hash 8, two IPv4 addresses 7 each, the
        // transport name 4.
        assert_eq!(encode_upsert(&bare()).len(), 43);
    }

    #[test]
    fn damaged_input_is_refused() {
        let bytes = encode_upsert(&full());
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len]).is_err(), "truncated at {len}");
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(decode(&trailing), Err("1 trailing bytes".to_owned()));
        let mut future = bytes.clone();
        future[0] = 2;
        assert_eq!(
            decode(&future),
            Err("unknown journal encoding version 2".to_owned())
        );
        assert_eq!(
            decode(&[VERSION, 9]),
            Err("unknown journal change kind 9".to_owned())
        );
        assert!(
            decode(&[
                VERSION, REMOVE, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f
            ])
            .is_err()
        );
        let mut bad_utf8 = encode_remove(0);
        bad_utf8.truncate(1);
        bad_utf8.extend([UPSERT, 0, 1, 0xff]);
        assert!(decode(&bad_utf8).unwrap_err().contains("UTF-8"));
    }
}
