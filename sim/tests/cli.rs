//! The command line: a malformed scenario changes nothing and exits
//! non-zero with a message naming the file and line.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_commaware-sim"))
}

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("commaware-sim-test-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

#[test]
fn malformed_scenario_exits_non_zero_names_the_line_and_writes_nothing() {
    let bad = tmp("bad.toml");
    std::fs::write(
        &bad,
        "pcpus = 2\nduration_ms = 10\n\n[[domain]]\nname = \"a\"\nflavour = 1\n",
    )
    .unwrap();
    let out = tmp("out.json");
    std::fs::write(&out, "previous results\n").unwrap();
    let r = bin()
        .args([
            "compare",
            bad.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(1));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains(&format!("{}:6:", bad.display())), "{err}");
    assert!(err.contains("flavour"), "{err}");
    assert!(r.stdout.is_empty(), "no partial report");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "previous results\n",
        "output left alone"
    );
}

#[test]
fn out_of_range_knob_exits_non_zero() {
    let bad = tmp("knob.toml");
    std::fs::write(
        &bad,
        "pcpus = 1\nduration_ms = 10\n[scheduler]\nboost_us = 20\n[[domain]]\nname = \"a\"\n",
    )
    .unwrap();
    let r = bin().args(["run", bad.to_str().unwrap()]).output().unwrap();
    assert_eq!(r.status.code(), Some(1));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains(":4:") && err.contains("boost_us"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    let r = bin().args(["frobnicate"]).output().unwrap();
    assert_eq!(r.status.code(), Some(2));
    let r = bin().args(["run"]).output().unwrap();
    assert_eq!(r.status.code(), Some(2));
}

#[test]
fn compare_prints_both_schedulers_and_json_parses() {
    let sc = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/jboss-db.toml");
    let r = bin()
        .args(["compare", sc, "--duration-ms", "300", "--stats"])
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let text = String::from_utf8_lossy(&r.stdout);
    assert!(
        text.contains("credit") && text.contains("commaware") && text.contains("events/s"),
        "{text}"
    );
    let r = bin()
        .args(["compare", sc, "--duration-ms", "300", "--json"])
        .output()
        .unwrap();
    assert!(r.status.success());
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["scheduler"], "credit");
    assert_eq!(runs[1]["scheduler"], "commaware");
    assert!(runs[1]["pairs"][0]["latency"]["p99_us"].as_f64().unwrap() > 0.0);
}

#[test]
fn set_overrides_a_knob_through_the_cores_validation() {
    let sc = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/jboss-db.toml");
    let r = bin()
        .args(["run", sc, "--duration-ms", "200", "--set", "boost_us=20"])
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stderr).contains("boost_us = 20 is out of range 50..="));
    let r = bin()
        .args([
            "run",
            sc,
            "--duration-ms",
            "200",
            "--set",
            "donation=false",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(r.status.success());
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["runs"][0]["params"]["donation"], false);
    assert_eq!(v["runs"][0]["domains"][1]["donations"], 0);
}
