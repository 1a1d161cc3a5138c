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
