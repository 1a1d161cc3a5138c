//! Scenario files: every error names the line it is about.

use commaware_sim::scenario::{parse, Path, Workload};

const GOOD: &str = r#"name = "t"
pcpus = 2
duration_ms = 100

[[domain]]
name = "dom0"
vcpus = 2
driver = true

[[domain]]
name = "app"

[[domain]]
name = "db"

[[domain]]
name = "hog"
workload = { kind = "hog" }

[[pair]]
client = "app"
server = "db"
path = "dom0"
"#;

/// The line of the first occurrence of `needle` in `src` (1-based).
fn line_of(src: &str, needle: &str) -> usize {
    src.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .expect("needle present")
}

fn err_line(src: &str) -> (usize, String) {
    let e = parse(src).expect_err("must be refused");
    (e.line.expect("error has a line"), e.msg)
}

#[test]
fn the_good_scenario_parses() {
    let sc = parse(GOOD).unwrap();
    assert_eq!(sc.pcpus, 2);
    assert_eq!(sc.domains.len(), 4);
    assert_eq!(sc.domains[3].workload, Workload::Hog);
    assert_eq!(sc.pairs[0].path, Path::Via(0));
    assert_eq!(sc.params, commaware_sched::GlobalParams::DEFAULT);
}

#[test]
fn unknown_key_names_its_line() {
    let src = GOOD.replace("name = \"app\"", "name = \"app\"\nwieght = 300");
    let (line, msg) = err_line(&src);
    assert_eq!(line, line_of(&src, "wieght"));
    assert!(msg.contains("wieght"), "{msg}");
}

#[test]
fn unknown_key_in_scheduler_names_its_line() {
    let src = GOOD.replace(
        "duration_ms = 100",
        "duration_ms = 100\n[scheduler]\ntslice = 10",
    );
    let (line, msg) = err_line(&src);
    assert_eq!(line, line_of(&src, "tslice = 10"));
    assert!(msg.contains("tslice"), "{msg}");
}

#[test]
fn syntax_error_names_its_line() {
    let src = GOOD.replace("name = \"db\"", "name = \"db");
    let (line, _) = err_line(&src);
    assert_eq!(line, line_of(&src, "name = \"db"));
}

#[test]
fn wrong_type_names_its_line() {
    let src = GOOD.replace("vcpus = 2", "vcpus = \"two\"");
    let (line, _) = err_line(&src);
    assert_eq!(line, line_of(&src, "vcpus = \"two\""));
}

#[test]
fn scheduler_knob_out_of_range_is_checked_by_the_core_and_names_its_line() {
    let src = GOOD.replace(
        "duration_ms = 100",
        "duration_ms = 100\n\n[scheduler]\nboost = true\ntslice_ms = 0",
    );
    let (line, msg) = err_line(&src);
    assert_eq!(line, line_of(&src, "tslice_ms = 0"));
    assert!(
        msg.contains("tslice_ms") && msg.contains("1..=1000"),
        "{msg}"
    );
    // A cross-knob rule of the core (ratelimit no longer than the slice).
    let src = GOOD.replace(
        "duration_ms = 100",
        "duration_ms = 100\n[scheduler]\ntslice_ms = 1\nratelimit_us = 2000\nboost_us = 500",
    );
    let (line, msg) = err_line(&src);
    assert_eq!(line, line_of(&src, "ratelimit_us"));
    assert!(msg.contains("ratelimit_us"), "{msg}");
}

#[test]
fn domain_knobs_are_checked_by_the_core_and_name_their_line() {
    let src = GOOD.replace("name = \"app\"", "name = \"app\"\nweight = 0");
    let (line, msg) = err_line(&src);
    assert_eq!(line, line_of(&src, "weight = 0"));
    assert!(msg.contains("weight") && msg.contains("app"), "{msg}");
    let src = GOOD.replace("name = \"app\"", "name = \"app\"\ncap = 150");
    let (line, msg) = err_line(&src);
    assert_eq!(line, line_of(&src, "cap = 150"));
    assert!(msg.contains("0..=100"), "{msg}");
    let src = GOOD.replace("name = \"app\"", "name = \"app\"\nweight = 70000");
    let (line, _) = err_line(&src);
    assert_eq!(line, line_of(&src, "weight = 70000"));
}

#[test]
fn pair_naming_an_unknown_domain_names_the_line() {
    let src = GOOD.replace("server = \"db\"", "server = \"dbx\"");
    let (line, msg) = err_line(&src);
    assert_eq!(line, line_of(&src, "server = \"dbx\""));
    assert!(msg.contains("dbx"), "{msg}");
}

#[test]
fn pair_path_through_a_non_driver_names_the_line() {
    let src = GOOD.replace("path = \"dom0\"", "path = \"hog\"");
    let (line, msg) = err_line(&src);
    assert_eq!(line, line_of(&src, "path = \"hog\""));
    assert!(msg.contains("driver"), "{msg}");
}

#[test]
fn duplicate_domain_names_the_second_definition() {
    let src = GOOD.replace("name = \"hog\"", "name = \"db\"");
    let (line, msg) = err_line(&src);
    assert_eq!(
        line,
        src.lines()
            .enumerate()
            .filter(|(_, l)| l.contains("name = \"db\""))
            .nth(1)
            .unwrap()
            .0
            + 1
    );
    assert!(msg.contains("twice"), "{msg}");
}

#[test]
fn workload_errors_name_their_line() {
    let src = GOOD.replace("{ kind = \"hog\" }", "{ kind = \"hogg\" }");
    let (line, msg) = err_line(&src);
    assert_eq!(line, line_of(&src, "hogg"));
    assert!(msg.contains("hogg"), "{msg}");
    let src = GOOD.replace("{ kind = \"hog\" }", "{ kind = \"hog\", period_us = 5 }");
    let (line, msg) = err_line(&src);
    assert_eq!(line, line_of(&src, "period_us"));
    assert!(msg.contains("period_us"), "{msg}");
    let src = GOOD.replace(
        "{ kind = \"hog\" }",
        "{ kind = \"storm\", send_cost_us = 2, targets = [\"nobody\"] }",
    );
    let (line, msg) = err_line(&src);
    assert_eq!(line, line_of(&src, "nobody"));
    assert!(msg.contains("nobody"), "{msg}");
}

#[test]
fn missing_duration_and_both_durations_are_refused() {
    let src = GOOD.replace("duration_ms = 100\n", "");
    assert!(parse(&src).unwrap_err().msg.contains("duration"));
    let src = GOOD.replace("duration_ms = 100", "duration_ms = 100\nduration_s = 1");
    let e = parse(&src).unwrap_err();
    assert!(e.msg.contains("either"), "{}", e.msg);
}

#[test]
fn the_shipped_scenarios_parse() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            commaware_sim::scenario::load(p.to_str().unwrap()).unwrap_or_else(|e| panic!("{e}"));
            n += 1;
        }
    }
    assert!(n >= 6, "expected the shipped scenarios, found {n}");
}

#[test]
fn warmup_not_shorter_than_the_run_names_its_line() {
    let src = GOOD.replace("duration_ms = 100", "duration_ms = 100\nwarmup_ms = 100");
    let (line, msg) = err_line(&src);
    assert_eq!(line, line_of(&src, "warmup_ms"));
    assert!(msg.contains("warmup"), "{msg}");
}

#[test]
fn affinity_outside_the_pool_names_its_line() {
    let src = GOOD.replace("name = \"app\"", "name = \"app\"\ncpus = [0, 2]");
    let (line, msg) = err_line(&src);
    assert_eq!(line, line_of(&src, "cpus = [0, 2]"));
    assert!(msg.contains("0..=1"), "{msg}");
    let sc = parse(&GOOD.replace("name = \"app\"", "name = \"app\"\ncpus = [1]")).unwrap();
    assert_eq!(sc.domains[1].cpus, Some(vec![1]));
}

/// GOOD plus three idle domains for rings and a ring of two.
fn with_ring(ring: &str) -> String {
    format!(
        "{GOOD}\n[[domain]]\nname = \"r1\"\n\n[[domain]]\nname = \"r2\"\n\n[[domain]]\nname = \"r3\"\n\n{ring}"
    )
}

#[test]
fn a_ring_parses_with_its_members_in_order() {
    let sc = parse(&with_ring("[[ring]]\nmembers = [\"r2\", \"r1\", \"r3\"]\n")).unwrap();
    assert_eq!(sc.rings.len(), 1);
    assert_eq!(sc.rings[0].members, vec![5, 4, 6]);
    assert_eq!(
        sc.rings[0].work, 300_000,
        "default: evring's turn under TCG"
    );
    assert_eq!(sc.rings[0].name, "r2 -> r1 -> r3");
    let sc = parse(&with_ring(
        "[[ring]]\nmembers = [\"r1\", \"r2\"]\nwork_us = 50\n",
    ))
    .unwrap();
    assert_eq!(sc.rings[0].work, 50_000);
}

#[test]
fn malformed_rings_name_their_line() {
    let cases: [(&str, &str, &str); 8] = [
        // (ring tables, the line's text, a word of the message)
        (
            "[[ring]]\nmembers = [\"r1\", \"nobody\"]\n",
            "nobody",
            "nobody",
        ),
        (
            "[[ring]]\nmembers = [\"r1\"]\n",
            "members = [\"r1\"]",
            "at least 2",
        ),
        ("[[ring]]\nmembers = []\n", "members = []", "at least 2"),
        (
            "[[ring]]\nmembers = [\"r1\", \"r2\"]\n\n[[ring]]\nmembers = [\"r3\", \"r2\"]\n",
            "members = [\"r3\", \"r2\"]",
            "already a member of ring 1",
        ),
        (
            "[[ring]]\nmembers = [\"r1\", \"r2\", \"r1\"]\n",
            "members = [\"r1\", \"r2\", \"r1\"]",
            "twice",
        ),
        (
            "[[ring]]\nmembers = [\"r1\", \"db\"]\n",
            "members = [\"r1\", \"db\"]",
            "pair",
        ),
        (
            "[[ring]]\nmembers = [\"hog\", \"r1\"]\n",
            "members = [\"hog\", \"r1\"]",
            "workload",
        ),
        (
            "[[ring]]\nmembers = [\"r1\", \"r2\"]\nwork_us = 0\n",
            "work_us = 0",
            "work_us",
        ),
    ];
    for (ring, at, word) in cases {
        let src = with_ring(ring);
        let (line, msg) = err_line(&src);
        assert_eq!(line, line_of(&src, at), "{ring}: {msg}");
        assert!(msg.contains(word), "{ring}: {msg}");
    }
    // A driver domain cannot be a member either.
    let src = with_ring("[[ring]]\nmembers = [\"dom0\", \"r1\"]\n");
    let (line, msg) = err_line(&src);
    assert_eq!(line, line_of(&src, "members = [\"dom0\""));
    assert!(msg.contains("driver"), "{msg}");
    // Unknown keys are refused in a ring too.
    let src = with_ring("[[ring]]\nmembers = [\"r1\", \"r2\"]\nwork = 5\n");
    let (line, msg) = err_line(&src);
    assert_eq!(line, line_of(&src, "work = 5"));
    assert!(msg.contains("work"), "{msg}");
}
