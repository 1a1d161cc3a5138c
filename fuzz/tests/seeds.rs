//! The seeds in `corpus/<target>/seed-*` are the scenarios of
//! `src/seeds.rs`, and each decodes back to its scenario.
//! `WRITE_SEEDS=1 cargo test --test seeds` rewrites them.

use std::path::Path;

use arbitrary::Unstructured;
use commaware_fuzz::events::Op;
use commaware_fuzz::seeds;

fn check_or_write(target: &str, name: &str, bytes: &[u8]) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target).join(name);
    if std::env::var_os("WRITE_SEEDS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
    } else {
        let on_disk = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (WRITE_SEEDS=1 to write)", path.display()));
        assert_eq!(on_disk, bytes, "{} is stale (WRITE_SEEDS=1 to rewrite)", path.display());
    }
}

#[test]
fn core_events_seeds() {
    for (name, params, ncpus, first, ops) in seeds::core_events() {
        let bytes = seeds::events(params, ncpus, first, &ops);
        // Decodes back to the scenario (the encoder mirrors the derive).
        let mut u = Unstructured::new(&bytes);
        let g: commaware_fuzz::events::AGlobal = u.arbitrary().unwrap();
        assert_eq!(g.0, params, "{name}: params");
        assert_eq!(u.arbitrary::<u8>().unwrap(), ncpus - 1);
        assert_eq!(u.arbitrary::<u8>().unwrap(), first);
        assert_eq!(u.arbitrary::<u8>().unwrap(), 0, "no prelude");
        for op in &ops {
            let got: Op = u.arbitrary().unwrap();
            assert_eq!(format!("{got:?}"), format!("{op:?}"), "{name}");
        }
        assert!(u.is_empty(), "{name}: trailing bytes");
        commaware_fuzz::events::run(&bytes);
        check_or_write("core_events", name, &bytes);
    }
}

#[test]
fn payloads_seeds() {
    for (name, bytes) in seeds::payloads() {
        commaware_fuzz::payloads::run(&bytes);
        check_or_write("payloads", name, &bytes);
    }
}
