//! `commaware-sim`: run a scenario against the real commaware core.
//!
//! ```text
//! commaware-sim compare <scenario.toml> [--json] [--stats] [-o FILE] [--seed N] [--duration-ms N] [--check]
//! commaware-sim run <scenario.toml> [--scheduler credit|commaware] [same options]
//! commaware-sim validate <scenario.toml>
//! ```
//!
//! Exit status: 0 on success, 1 when the scenario is refused or a run fails
//! (nothing is written), 2 on a usage error.
#![forbid(unsafe_code)]
#![allow(clippy::float_arithmetic)]

use std::process::ExitCode;

use commaware_accounting::credit::NS_PER_MS;
use commaware_sim::{report, run, scenario, Which};

const USAGE: &str = "usage:
  commaware-sim compare <scenario.toml> [options]   run under credit and commaware, side by side
  commaware-sim run <scenario.toml> [--scheduler credit|commaware] [options]
  commaware-sim validate <scenario.toml>            check a scenario and exit
options:
  --json            print the results as JSON
  -o, --output FILE also write the JSON results to FILE
  --stats           print the engine's speed (events per second)
  --seed N          override the scenario's seed
  --set KNOB=VALUE  override one of commaware's [scheduler] knobs (repeatable),
                    e.g. --set donation=false --set boost_us=300
  --duration-ms N   override the scenario's duration
  --check           check the core's invariants after every event (slow)";

struct Opts {
    cmd: String,
    file: String,
    json: bool,
    stats: bool,
    check: bool,
    output: Option<String>,
    seed: Option<u64>,
    sets: Vec<String>,
    duration_ms: Option<i64>,
    scheduler: Which,
}

fn parse_args() -> Result<Opts, String> {
    let mut args = std::env::args().skip(1);
    let cmd = args.next().ok_or("missing command")?;
    if cmd == "-h" || cmd == "--help" || cmd == "help" {
        return Err(String::new());
    }
    if !["compare", "run", "validate"].contains(&cmd.as_str()) {
        return Err(format!("unknown command {cmd:?}"));
    }
    let mut o = Opts {
        cmd,
        file: String::new(),
        json: false,
        stats: false,
        check: false,
        output: None,
        seed: None,
        duration_ms: None,
        scheduler: Which::Commaware,
        sets: Vec::new(),
    };
    while let Some(a) = args.next() {
        let mut val = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--json" => o.json = true,
            "--stats" => o.stats = true,
            "--check" => o.check = true,
            "-o" | "--output" => o.output = Some(val(&a)?),
            "--set" => o.sets.push(val(&a)?),
            "--seed" => o.seed = Some(val(&a)?.parse().map_err(|e| format!("--seed: {e}"))?),
            "--duration-ms" => {
                let d: i64 = val(&a)?
                    .parse()
                    .map_err(|e| format!("--duration-ms: {e}"))?;
                if d <= 0 {
                    return Err("--duration-ms must be positive".into());
                }
                o.duration_ms = Some(d);
            }
            "--scheduler" => {
                o.scheduler = match val(&a)?.as_str() {
                    "credit" => Which::Credit,
                    "commaware" => Which::Commaware,
                    s => {
                        return Err(format!(
                            "--scheduler: {s:?} is neither credit nor commaware"
                        ))
                    }
                }
            }
            s if s.starts_with('-') => return Err(format!("unknown option {s:?}")),
            s if o.file.is_empty() => o.file = s.to_string(),
            s => return Err(format!("unexpected argument {s:?}")),
        }
    }
    if o.file.is_empty() {
        return Err("missing scenario file".into());
    }
    Ok(o)
}

fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("commaware-sim: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut sc = match scenario::load(&o.file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("commaware-sim: scenario refused: {e}");
            return ExitCode::from(1);
        }
    };
    for kv in &o.sets {
        if let Err(e) = scenario::set_knob(&mut sc.params, kv) {
            eprintln!("commaware-sim: --set {kv}: {e}");
            return ExitCode::from(1);
        }
    }
    if let Err(e) = sc.params.validate() {
        eprintln!(
            "commaware-sim: --set: {} = {} is out of range {}..={}",
            e.knob.name(),
            e.got,
            e.min,
            e.max
        );
        return ExitCode::from(1);
    }
    if let Some(s) = o.seed {
        sc.seed = s;
    }
    if let Some(d) = o.duration_ms {
        sc.duration = d * NS_PER_MS;
        if sc.warmup >= sc.duration {
            eprintln!("commaware-sim: note: warm-up ({} ms) not shorter than --duration-ms; measuring from 0", sc.warmup / NS_PER_MS);
            sc.warmup = 0;
        }
    }
    if o.cmd == "validate" {
        println!(
            "{}: ok ({} domains, {} pairs, {} rings)",
            o.file,
            sc.domains.len(),
            sc.pairs.len(),
            sc.rings.len()
        );
        return ExitCode::SUCCESS;
    }
    let which: Vec<Which> = if o.cmd == "compare" {
        vec![Which::Credit, Which::Commaware]
    } else {
        vec![o.scheduler]
    };
    let mut runs = Vec::new();
    for w in which {
        match run(&sc, w, o.check) {
            Ok(r) => runs.push(r),
            Err(e) => {
                eprintln!("commaware-sim: {} run failed: {e}", w.name());
                return ExitCode::from(1);
            }
        }
    }
    let json = serde_json::json!({
        "scenario": sc.name,
        "file": o.file,
        "pcpus": sc.pcpus,
        "duration_s": sc.duration as f64 / 1e9,
        "seed": sc.seed,
        "runs": runs,
    });
    let json_text = serde_json::to_string_pretty(&json).unwrap_or_default();
    if let Some(path) = &o.output {
        if let Err(e) = std::fs::write(path, format!("{json_text}\n")) {
            eprintln!("commaware-sim: cannot write {path}: {e}");
            return ExitCode::from(1);
        }
    }
    if o.json {
        println!("{json_text}");
    } else {
        print!("{}", report::text(&sc, &runs, o.stats));
    }
    let bad = runs
        .iter()
        .any(|r| r.invariant_violation.is_some() || r.stats.anomalies > 0);
    if bad {
        eprintln!("commaware-sim: the core broke an invariant or the engine saw an anomaly (see the report)");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
