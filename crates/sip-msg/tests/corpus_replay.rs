//! Replays every file of the fuzz corpora through the fuzz targets' checks, so that CI
//! exercises the corpus without cargo-fuzz.

mod support;

use std::path::Path;

#[test]
fn replay_fuzz_corpora() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let mut replayed = 0;
    for target in std::fs::read_dir(&root).expect("fuzz/corpus exists") {
        let target = target.unwrap().path();
        for file in std::fs::read_dir(&target).unwrap() {
            let path = file.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let run = std::panic::catch_unwind(|| {
                support::check_message(&data);
                support::check_bad_request(&data);
            });
            assert!(run.is_ok(), "{} failed the checks", path.display());
            replayed += 1;
        }
    }
    assert!(
        replayed >= 20,
        "only {replayed} corpus files found under {}",
        root.display()
    );
}
