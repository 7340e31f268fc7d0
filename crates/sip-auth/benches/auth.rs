//! Costs of the per-REGISTER work: parsing credentials, verifying them, and issuing a challenge.

use std::cell::Cell;
use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use sip_auth::{
    Algorithm, Challenge, ClientSecret, Credentials, NonceSecret, StoredSecret, Verdict, Verifier,
    VerifierConfig, respond,
};

const REALM: &str = "bench.local";
const NOW: u64 = 1_700_000_000;

/// The client's answer to a fresh challenge issued at `now`.
fn authorization(v: &Verifier, alg: Algorithm, now: u64) -> String {
    let challenge = v.challenge(REALM, now, false, &[alg]).remove(0);
    let challenge = Challenge::parse(&challenge).unwrap();
    respond(
        &challenge,
        "REGISTER",
        "sip:bench.local",
        "user000001",
        ClientSecret::Password("pw-000001"),
        "0a4f113b",
        1,
    )
    .unwrap()
}

fn benches(c: &mut Criterion) {
    let v = Verifier::new(&NonceSecret::random(), VerifierConfig::default());
    let stored = StoredSecret::from_password("user000001", REALM, "pw-000001");

    let value = authorization(&v, Algorithm::Md5, NOW);
    c.bench_function("parse_credentials", |b| {
        b.iter(|| Credentials::parse(black_box(&value)).unwrap())
    });

    const REQUESTS_PER_SECOND: u64 = 2_000;
    let requests = Cell::new(0u64);
    for alg in [Algorithm::Md5, Algorithm::Sha256] {
        // A fresh nonce per request, as with a 401 round trip per REGISTER, so every verification inserts into
        // the tracker. The clock advances one second per REQUESTS_PER_SECOND requests and the tracker is purged
        // each second, as the shell would; the client's work and the purge happen in the untimed setup.
        c.bench_function(&format!("parse_and_verify_{alg}"), |b| {
            b.iter_batched(
                || {
                    requests.set(requests.get() + 1);
                    let now = NOW + requests.get() / REQUESTS_PER_SECOND;
                    if requests.get().is_multiple_of(REQUESTS_PER_SECOND) {
                        v.purge(now);
                    }
                    (authorization(&v, alg, now), now)
                },
                |(value, now)| {
                    let creds = Credentials::parse(&value).unwrap();
                    let verdict = v.verify(&creds, "REGISTER", REALM, &stored, now);
                    assert_eq!(verdict, Verdict::Ok);
                },
                BatchSize::SmallInput,
            )
        });
    }

    c.bench_function("challenge_sha256_md5", |b| {
        b.iter(|| v.challenge(REALM, NOW, false, &[Algorithm::Sha256, Algorithm::Md5]))
    });
}

criterion_group!(auth, benches);
criterion_main!(auth);
