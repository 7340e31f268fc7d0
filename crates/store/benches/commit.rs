//! The durable write of the REGISTER path: one group-commit transaction of refreshed bindings, as the writer thread
//! runs it ([`BlockingLocationStore::apply_blocking`]), against a database file that already holds 100,000
//! bindings. Refreshes hit bindings in a shuffled order, as clients' refresh timers do.
//!
//! Two figures per batch size, each the time **per binding** (a batch's time divided by its size; wall time, so
//! checkpoint fsyncs count):
//! - `commit_per_binding`: the transaction callers wait for (the journal append);
//! - `with_fold_per_binding`: that plus the writer's work between batches
//!   ([`BlockingLocationStore::between_batches`], which folds the journal into `location` a step at a time), so the
//!   total cost of keeping up.
//!
//! And one figure for the steady state of a registrar under refresh load:
//! - `refresh_per_register`: every binding refreshed once per pass (each pass in the same shuffled order, as
//!   periodic refresh timers do), in batches of [`REFRESH_BATCH`] (5,000 REGISTER/s gathered for 10 ms), each
//!   batch committed and followed by the writer's work between batches: the time per REGISTER, journal folds
//!   included. Before it, [`REFRESH_PASSES`] passes of the same workload print the writer thread's CPU time per
//!   REGISTER and the longest pauses a reply can meet (a batch's commit, and the work between batches that the
//!   next batch waits for).
//!
//! The database goes into a temporary directory under `STORE_BENCH_DIR` (default: the system's temporary
//! directory), so a disk and a RAM file system can be compared.

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use registrar::{Binding, Change, ContactExtras, Source, Transport, UnixTime};
use store::{BlockingLocationStore, SqliteOptions, SqliteStore};

/// Bindings in the database before measuring.
const BINDINGS: u64 = 100_000;

/// Batch sizes measured: a lone REGISTER, a light load, a heavy one.
const BATCHES: [usize; 3] = [1, 16, 256];

/// Refreshes per batch in the refresh workload: 5,000 REGISTER/s gathered for the writer's 10 ms.
const REFRESH_BATCH: usize = 50;

/// Passes over every binding in the refresh workload: enough for several journal folds.
const REFRESH_PASSES: usize = 8;

/// A binding like a softphone's: UDP over IPv4, a user agent, an instance id.
fn binding(id: u64) -> Binding {
    let user = format!("user{id:06}");
    let remote = SocketAddr::from(([192, 0, 2, (id % 250) as u8 + 1], 5060 + (id % 1000) as u16));
    Binding {
        id,
        aor: format!("{user}@example.com").into(),
        uri: format!("sip:{user}@{remote};ob").into(),
        q: None,
        expires_at: UnixTime(1_800_003_600),
        registered_at: UnixTime(1_800_000_000),
        updated_at: UnixTime(1_800_000_000),
        call_id: format!("{id:016x}-3c26b3e6@10.0.0.1").into(),
        cseq: 1,
        branch_hash: (id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as u32,
        source: Source {
            remote,
            local: SocketAddr::from(([198, 51, 100, 1], 5060)).into(),
            transport: Transport::Udp,
            connection: None,
        },
        user_agent: "Zoiper rv2.10.20.5".into(),
        extras: ContactExtras {
            params: ";+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-00a0c91e6bf6>\";reg-id=1"
                .into(),
            path: Box::default(),
            instance: Some("<urn:uuid:00000000-0000-1000-8000-00a0c91e6bf6>".into()),
            reg_id: Some(1),
        }
        .into(),
    }
}

/// `0..n` in a fixed pseudo-random order (Fisher–Yates driven by SplitMix64).
fn shuffled(n: u64) -> Vec<u64> {
    let mut state = 0x0123_4567_89AB_CDEF_u64;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut ids: Vec<u64> = (0..n).collect();
    for i in (1..ids.len()).rev() {
        let j = usize::try_from(next() % (i as u64 + 1)).unwrap();
        ids.swap(i, j);
    }
    ids
}

/// Refreshes `change`'s binding as a re-REGISTER would.
fn refresh(change: &mut Change) {
    if let Change::Upsert(b) = change {
        b.cseq += 1;
        b.updated_at.0 += 60;
        b.expires_at.0 += 60;
    }
}

fn commit(c: &mut Criterion) {
    let dir = match std::env::var_os("STORE_BENCH_DIR") {
        Some(base) => tempfile::tempdir_in(base),
        None => tempfile::tempdir(),
    }
    .unwrap();
    let url = format!("sqlite://{}/bench.db", dir.path().display());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let store = runtime
        .block_on(SqliteStore::open(&url, &SqliteOptions::default()))
        .unwrap();
    let mut changes: Vec<Change> = (1..=BINDINGS)
        .map(|id| Change::Upsert(binding(id)))
        .collect();
    for chunk in changes.chunks(1_000) {
        store.apply_blocking(chunk).unwrap();
    }
    // Start from a folded database, as after a restart.
    runtime.block_on(store.close());
    let store = runtime
        .block_on(SqliteStore::open(&url, &SqliteOptions::default()))
        .unwrap();
    // Refresh in shuffled order: consecutive windows of `changes` are scattered bindings.
    let order = shuffled(BINDINGS);
    let mut by_order: Vec<Option<Change>> = changes.drain(..).map(Some).collect();
    let mut changes: Vec<Change> = order
        .iter()
        .map(|&i| by_order[usize::try_from(i).unwrap()].take().unwrap())
        .collect();

    refresh_workload(c, &store, &mut changes);

    let mut next = 0;
    // Between-batch calls that took over a millisecond (fold steps), to report how long replies may wait behind one.
    let mut folds: Vec<Duration> = Vec::new();
    for (name, timed_fold) in [
        ("commit_per_binding", false),
        ("with_fold_per_binding", true),
    ] {
        let mut group = c.benchmark_group(name);
        group.measurement_time(Duration::from_secs(8));
        for size in BATCHES {
            group.bench_function(BenchmarkId::from_parameter(size), |b| {
                b.iter_custom(|iters| {
                    let mut spent = Duration::ZERO;
                    for _ in 0..iters {
                        if next + size > changes.len() {
                            next = 0;
                        }
                        let batch = &mut changes[next..next + size];
                        next += size;
                        batch.iter_mut().for_each(refresh);
                        let started = Instant::now();
                        store.apply_blocking(black_box(batch)).unwrap();
                        if !timed_fold {
                            spent += started.elapsed();
                        }
                        // The writer thread folds between batches either way; the second group times it too.
                        let folding = Instant::now();
                        store.between_batches().unwrap();
                        let fold = folding.elapsed();
                        if fold > Duration::from_millis(1) {
                            folds.push(fold);
                        }
                        if timed_fold {
                            spent += started.elapsed();
                        }
                    }
                    spent / u32::try_from(size).unwrap()
                });
            });
        }
        group.finish();
    }
    runtime.block_on(store.close());
    if let Some(max) = folds.iter().max() {
        let total: Duration = folds.iter().sum();
        eprintln!(
            "between-batch calls over 1 ms: {}, mean {:?}, max {max:?}",
            folds.len(),
            total / u32::try_from(folds.len()).unwrap()
        );
    }
}

/// CPU time the calling thread has used so far (Linux: `/proc/thread-self/schedstat`).
fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    Duration::from_nanos(stat.split_whitespace().next().unwrap().parse().unwrap())
}

/// The refresh workload: [`REFRESH_PASSES`] passes over every binding, in batches of [`REFRESH_BATCH`].
fn refresh_workload(c: &mut Criterion, store: &SqliteStore, changes: &mut [Change]) {
    let batches_per_pass = changes.len() / REFRESH_BATCH;
    let total_batches = batches_per_pass * REFRESH_PASSES;
    let mut commits: Vec<Duration> = Vec::with_capacity(total_batches);
    let mut betweens: Vec<Duration> = Vec::with_capacity(total_batches);
    let started = Instant::now();
    let cpu_started = thread_cpu();
    for k in 0..total_batches {
        let at = (k % batches_per_pass) * REFRESH_BATCH;
        let batch = &mut changes[at..at + REFRESH_BATCH];
        batch.iter_mut().for_each(refresh);
        let t0 = Instant::now();
        store.apply_blocking(black_box(batch)).unwrap();
        let t1 = Instant::now();
        store.between_batches().unwrap();
        commits.push(t1 - t0);
        betweens.push(t1.elapsed());
    }
    let cpu = thread_cpu() - cpu_started;
    let wall = started.elapsed();
    let registers = u32::try_from(total_batches * REFRESH_BATCH).unwrap();
    let pct = |v: &mut Vec<Duration>, p: f64| {
        v.sort_unstable();
        let i = ((v.len() - 1) as f64 * p).round() as usize;
        v[i]
    };
    let commit_total: Duration = commits.iter().sum();
    let between_total: Duration = betweens.iter().sum();
    eprintln!(
        "refresh workload: {registers} REGISTERs over {} bindings in batches of {REFRESH_BATCH}: \
         wall {:?}/REGISTER (commits {:?}, between batches {:?}), writer CPU {:?}/REGISTER",
        changes.len(),
        wall / registers,
        commit_total / registers,
        between_total / registers,
        cpu / registers,
    );
    eprintln!(
        "  commit per batch: p50 {:?} p99 {:?} max {:?}; between batches: p50 {:?} p99 {:?} p99.9 {:?} max {:?}",
        pct(&mut commits, 0.5),
        pct(&mut commits, 0.99),
        pct(&mut commits, 1.0),
        pct(&mut betweens, 0.5),
        pct(&mut betweens, 0.99),
        pct(&mut betweens, 0.999),
        pct(&mut betweens, 1.0),
    );

    // The same workload under criterion, continuing where the passes above stopped.
    let mut next = 0;
    let mut group = c.benchmark_group("refresh_per_register");
    group.measurement_time(Duration::from_secs(20));
    group.bench_function(BenchmarkId::from_parameter(REFRESH_BATCH), |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                if next + REFRESH_BATCH > changes.len() {
                    next = 0;
                }
                let batch = &mut changes[next..next + REFRESH_BATCH];
                next += REFRESH_BATCH;
                batch.iter_mut().for_each(refresh);
                let started = Instant::now();
                store.apply_blocking(black_box(batch)).unwrap();
                store.between_batches().unwrap();
                spent += started.elapsed();
            }
            spent / u32::try_from(REFRESH_BATCH).unwrap()
        });
    });
    group.finish();
}

criterion_group!(benches, commit);
criterion_main!(benches);
