//! cw-workload: see `cw-workload help` and workload/README.md.

use commaware_workload::args::{flag, val, Args, Opt};
use commaware_workload::burn::Calibration;
use commaware_workload::client::{self, ClientConfig};
use commaware_workload::hog::{self, HogConfig};
use commaware_workload::json::Json;
use commaware_workload::server::{cal_json, Server, ServerConfig};
use commaware_workload::storm::{self, Proto, StormConfig};
use commaware_workload::{Error, Result};
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "\
cw-workload — benchmark workload for commaware guests (one JSON line on stdout)

  cw-workload server [--listen IP:PORT] [--work-us M] [--duration S] [--clients N]
      request/response server (\"db\"): burns M µs of CPU per request, replies.
      Defaults: 0.0.0.0:7000, 0 µs, 600 s; stops earlier after N clients left.
  cw-workload client --connect IP:PORT [--work-us N] [--duration S] [--warmup S]
                     [--connect-timeout S] [--io-timeout S]
      closed loop (\"app\"): burn N µs, send, wait for the reply, record latency.
      Defaults: 0 µs, 10 s, warm-up 0 s, connect timeout 30 s, io timeout 10 s.
  cw-workload hog [--duration S] [--report-every S]
      CPU hog; progress records on stderr. Defaults: 60 s, every 1 s.
  cw-workload storm --connect IP:PORT [--proto udp|tcp] [--size B] [--duration S]
                    [--connect-timeout S]
      small messages as fast as possible. Defaults: udp, 64 bytes, 10 s.
  cw-workload sink --listen IP:PORT [--proto udp|tcp] [--duration S]
      counts what a storm sends. Defaults: udp, 10 s.
  cw-workload calibrate
      measure and print the CPU calibration (steps per µs).

Every mode also takes:
  --json FILE         write the JSON report to FILE too
  --tag TEXT          put \"tag\": TEXT into the report
  --iters-per-us X    use this calibration instead of measuring (~25 ms)
  --quiet             no progress messages on stderr

Addresses are numeric (no DNS). Exit status: 0 ok, 1 failure, 2 usage.
";

const COMMON: &[Opt] = &[val("json"), val("tag"), val("iters-per-us"), flag("quiet")];

fn spec(own: &[Opt]) -> Vec<Opt> {
    own.iter().chain(COMMON).copied().collect()
}

fn calibration(a: &Args, quiet: bool) -> Result<Calibration> {
    if let Some(x) = a.positive_f64("iters-per-us")? {
        return Ok(Calibration::given(x));
    }
    let c = Calibration::measure_default();
    if !quiet {
        eprintln!(
            "cw-workload: calibrated {:.1} steps/µs (pass --iters-per-us {:.1} to reuse)",
            c.iters_per_us, c.iters_per_us
        );
    }
    Ok(c)
}

/// Prints the report on stdout (one line) and to --json FILE.
fn emit(a: &Args, mut report: Json) -> Result<()> {
    if let Some(tag) = a.get("tag") {
        report.set("tag", tag);
    }
    let line = report.to_line();
    if let Some(path) = a.get("json") {
        std::fs::write(path, format!("{line}\n")).map_err(|source| Error::Output {
            path: path.to_string(),
            source,
        })?;
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .map_err(|source| Error::Output {
            path: "stdout".into(),
            source,
        })
}

fn secs_or(a: &Args, name: &str, default: f64) -> Result<Duration> {
    Ok(a.secs(name)?.unwrap_or(Duration::from_secs_f64(default)))
}

/// Runs one mode; `Ok(Some(msg))` is a completed run that failed.
fn run(mode: &str, rest: &[String]) -> Result<Option<String>> {
    match mode {
        "server" => {
            let a = Args::parse(
                mode,
                rest,
                &spec(&[val("listen"), val("work-us"), val("duration"), val("clients")]),
            )?;
            let quiet = a.has("quiet");
            let listen = a
                .addr("listen")?
                .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 7000)));
            let cfg = ServerConfig {
                listen,
                work_us: a.u64("work-us")?.unwrap_or(0),
                duration: secs_or(&a, "duration", 600.0)?,
                clients: a.u64("clients")?.filter(|&n| n > 0),
                cal: calibration(&a, quiet)?,
                quiet,
            };
            let server = Server::bind(cfg)?;
            if !quiet {
                eprintln!("cw-workload server: listening on {}", server.local_addr());
            }
            let report = server.run()?;
            emit(&a, report.to_json())?;
            Ok(report.failure())
        }
        "client" => {
            let a = Args::parse(
                mode,
                rest,
                &spec(&[
                    val("connect"),
                    val("work-us"),
                    val("duration"),
                    val("warmup"),
                    val("connect-timeout"),
                    val("io-timeout"),
                ]),
            )?;
            let quiet = a.has("quiet");
            let connect = a
                .addr("connect")?
                .ok_or_else(|| Error::Usage("client: --connect IP:PORT is required".into()))?;
            let cfg = ClientConfig {
                connect,
                work_us: a.u64("work-us")?.unwrap_or(0),
                duration: secs_or(&a, "duration", 10.0)?,
                warmup: secs_or(&a, "warmup", 0.0)?,
                connect_timeout: secs_or(&a, "connect-timeout", 30.0)?,
                io_timeout: secs_or(&a, "io-timeout", 10.0)?.max(Duration::from_millis(1)),
                cal: calibration(&a, quiet)?,
            };
            let report = client::run(&cfg)?;
            emit(&a, report.to_json())?;
            Ok((report.requests == 0 && !cfg.duration.is_zero())
                .then(|| format!("no request to {connect} completed in the measured phase")))
        }
        "hog" => {
            let a = Args::parse(mode, rest, &spec(&[val("duration"), val("report-every")]))?;
            let quiet = a.has("quiet");
            let cfg = HogConfig {
                duration: secs_or(&a, "duration", 60.0)?,
                report_every: secs_or(&a, "report-every", 1.0)?,
                cal: calibration(&a, quiet)?,
            };
            let tag = a.get("tag").map(str::to_string);
            let report = hog::run(&cfg, |iv| {
                if !quiet {
                    let mut j = iv.to_json(&cfg.cal);
                    if let Some(t) = &tag {
                        j.set("tag", t.as_str());
                    }
                    eprintln!("{}", j.to_line());
                }
            });
            emit(&a, report.to_json())?;
            Ok(None)
        }
        "storm" => {
            let a = Args::parse(
                mode,
                rest,
                &spec(&[
                    val("connect"),
                    val("proto"),
                    val("size"),
                    val("duration"),
                    val("connect-timeout"),
                ]),
            )?;
            let connect = a
                .addr("connect")?
                .ok_or_else(|| Error::Usage("storm: --connect IP:PORT is required".into()))?;
            let size = a.u64("size")?.unwrap_or(64);
            if !(1..=1400).contains(&size) {
                return Err(Error::Usage(format!("--size: {size} is not in 1..=1400")));
            }
            let cfg = StormConfig {
                connect,
                proto: Proto::parse(a.get("proto").unwrap_or("udp"))?,
                size: size as usize,
                duration: secs_or(&a, "duration", 10.0)?,
                connect_timeout: secs_or(&a, "connect-timeout", 30.0)?,
            };
            let report = storm::storm(&cfg)?;
            emit(&a, report.to_json())?;
            Ok((report.messages == 0).then(|| format!("no message could be sent to {connect}")))
        }
        "sink" => {
            let a = Args::parse(mode, rest, &spec(&[val("listen"), val("proto"), val("duration")]))?;
            let listen = a
                .addr("listen")?
                .ok_or_else(|| Error::Usage("sink: --listen IP:PORT is required".into()))?;
            let proto = Proto::parse(a.get("proto").unwrap_or("udp"))?;
            let report = storm::sink(listen, proto, secs_or(&a, "duration", 10.0)?)?;
            emit(&a, report.to_json())?;
            Ok(None)
        }
        "calibrate" => {
            let a = Args::parse(mode, rest, &spec(&[]))?;
            let cal = calibration(&a, true)?;
            emit(
                &a,
                Json::obj()
                    .with("tool", "cw-workload")
                    .with("mode", "calibrate")
                    .with("calibration", cal_json(&cal)),
            )?;
            Ok(None)
        }
        other => Err(Error::Usage(format!(
            "unknown mode `{other}` (server, client, hog, storm, sink, calibrate; try `cw-workload help`)"
        ))),
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(mode) = argv.first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    if matches!(mode.as_str(), "help" | "-h" | "--help") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    match run(mode, &argv[1..]) {
        Ok(None) => ExitCode::SUCCESS,
        Ok(Some(msg)) => {
            eprintln!("cw-workload {mode}: failed: {msg}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("cw-workload {mode}: error: {e}");
            if matches!(e, Error::Usage(_)) {
                eprintln!("(`cw-workload help` lists the modes and options)");
            }
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1))
        }
    }
}
