//! HTTP digest authentication as used by SIP (RFC 3261 §22, RFC 7616, RFC 8760 SHA-256).
//!
//! # I/O contract
//!
//! Sans-IO: no sockets, no files, no clock reads. Inputs are header *values* as `&str` (the text after
//! `Authorization:` / `WWW-Authenticate:`), the request method, stored secrets, and the current time as seconds
//! since the Unix epoch (`now: u64`). Outputs are verdicts and header values. The only ambient resource used is
//! the thread-local random generator, for [`NonceSecret::random`], the nonce salt seed and the dummy secret.
//!
//! # Server side
//!
//! A [`Verifier`] issues stateless nonces ([`NonceCodec`]: issue time, salt and a truncated HMAC-SHA256, so any
//! process sharing the [`NonceSecret`] recognises them) in challenges ([`Verifier::challenge`]), and checks
//! parsed [`Credentials`] against a [`StoredSecret`] ([`Verifier::verify`]), returning a [`Verdict`]. Nonce
//! counts are tracked by a sharded, `Sync` [`NonceTracker`] against replays; [`Verifier::purge`] bounds its
//! memory and a hard cap backs that up. Unknown users are verified against [`StoredSecret::dummy`] so the reply
//! and the work are those of a wrong password.
//!
//! # Client side
//!
//! [`Challenge::parse`] reads a challenge and [`respond`] builds the matching `Authorization` value (MD5,
//! MD5-sess, SHA-256, SHA-256-sess; `qop=auth` when offered, RFC 2069 style otherwise).
//!
//! # Example
//!
//! ```
//! use sip_auth::{
//!     Algorithm, Challenge, ClientSecret, Credentials, NonceSecret, StoredSecret, Verdict, Verifier,
//!     VerifierConfig, respond,
//! };
//!
//! let now = 1_700_000_000;
//! let verifier = Verifier::new(&NonceSecret::random(), VerifierConfig::default());
//!
//! // 401: one WWW-Authenticate per algorithm, SHA-256 first.
//! let challenges = verifier.challenge("example.com", now, false, &[Algorithm::Md5, Algorithm::Sha256]);
//! assert!(challenges[0].contains("algorithm=SHA-256"));
//!
//! // The client answers.
//! let challenge = Challenge::parse(&challenges[0])?;
//! let authorization =
//!     respond(&challenge, "REGISTER", "sip:example.com", "alice", ClientSecret::Password("pw"), "c1", 1)?;
//!
//! // The server verifies: the account's secret (or StoredSecret::dummy() for an unknown user).
//! let creds = Credentials::parse(&authorization)?;
//! let stored = StoredSecret::from_password(&creds.username, "example.com", "pw");
//! assert_eq!(verifier.verify(&creds, "REGISTER", "example.com", &stored, now + 1), Verdict::Ok);
//! assert_eq!(verifier.verify(&creds, "REGISTER", "example.com", &stored, now + 2), Verdict::Replay);
//! # Ok::<(), sip_auth::Error>(())
//! ```

mod algorithm;
mod challenge;
mod client;
mod credentials;
mod error;
mod hashing;
mod nonce;
mod params;
mod secret;
mod tracker;
mod verifier;

pub use algorithm::{Algorithm, Qop};
pub use challenge::{Challenge, QopOptions};
pub use client::{ClientSecret, respond};
pub use credentials::{Credentials, NonceCount};
pub use error::Error;
pub use hashing::ha1;
pub use nonce::{IssuedNonce, Nonce, NonceCheck, NonceCodec, NonceSecret};
pub use secret::StoredSecret;
pub use tracker::{NC_WINDOW, NcVerdict, NonceTracker};
pub use verifier::{Unsupported, Verdict, Verifier, VerifierConfig};
