//! Every checked-in input, replayed under plain `cargo test` (no
//! sanitizer, no libFuzzer): the seeds (`corpus/<target>/seed-*`) and every
//! crash the fuzzer found (`regressions/<target>/*`, kept after the fix).
//!
//!     cd fuzz && cargo test

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for dir in [root.join("corpus").join(target), root.join("regressions").join(target)] {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut files: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        for f in files {
            let name = f.file_name().and_then(|s| s.to_str()).unwrap_or("");
            if name.starts_with('.') {
                continue;
            }
            if dir.ends_with(target) && dir.parent().is_some_and(|p| p.ends_with("corpus")) && !name.starts_with("seed-") {
                continue;
            }
            let data = std::fs::read(&f).expect("read input");
            eprintln!("replay {target}: {}", f.display());
            run(&data);
            n += 1;
        }
    }
    assert!(n > 0, "no inputs for {target}");
}

#[test]
fn core_events_inputs() {
    replay("core_events", commaware_fuzz::events::run);
}

#[test]
fn payloads_inputs() {
    replay("payloads", commaware_fuzz::payloads::run);
}
