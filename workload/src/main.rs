//! cw-workload: see `cw-workload help` and workload/README.md.

use commaware_workload::args::{flag, val, Args, Opt};
use commaware_workload::burn::{self, Burner, Calibration};
use commaware_workload::client::{self, ClientConfig};
use commaware_workload::events::{self, RingConfig};
use commaware_workload::hog::{self, HogConfig};
use commaware_workload::json::Json;
use commaware_workload::server::{self, cal_json, Server, ServerConfig};
use commaware_workload::storm::{self, Proto, StormConfig};
use commaware_workload::transport::{Endpoint, Transport, VchanTarget};
use commaware_workload::{Error, Result};
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "\
cw-workload — benchmark workload for commaware guests (one JSON line on stdout)

  cw-workload server [--transport tcp|vchan] [--listen IP:PORT] [--work-us M]
                     [--duration S] [--clients N] [--background] [--peer DOMID]
                     [--vchan-path P] [--peer-timeout S]
      request/response server (\"db\"): burns M µs of CPU per request, replies.
      --background: also burn CPU in a SCHED_IDLE thread (a database's background
      work): the guest never idles, a request preempts the background thread.
      Defaults: tcp, 0.0.0.0:7000, 0 µs, 600 s; stops earlier after N clients left.
      vchan: one client, domain DOMID (default: the domid dom0 wrote at
      /local/domain/<self>/data/cw-peer, waited for --peer-timeout, default 60 s),
      channel at P (default /local/domain/<self>/data/cw-vchan).
  cw-workload client [--transport tcp|vchan] --connect IP:PORT [--work-us N]
                     [--think-us T] [--duration S] [--warmup S] [--connect-timeout S]
                     [--io-timeout S] [--peer DOMID] [--vchan-path P] [--peer-timeout S]
      closed loop (\"app\"): burn N µs, send, wait for the reply, record latency,
      sleep T µs. Defaults: tcp, 0 µs, no think time, 10 s, warm-up 0 s, connect
      timeout 30 s, io timeout 10 s.
      vchan: no --connect; the server is DOMID (default: data/cw-peer as above),
      channel at P (default /local/domain/<server>/data/cw-vchan).
  cw-workload evsink [--peer DOMID] [--duration S] [--idle-timeout S] [--peer-timeout S]
      offers an event channel to DOMID (port at /local/domain/<self>/data/cw-evport)
      and counts the events; stops at S (default 60) or after --idle-timeout
      (default 3 s) without events once they started. Works in dom0.
  cw-workload evstorm [--peer DOMID] [--duration S] [--peer-timeout S]
      notifies DOMID's evsink port as fast as possible for S (default 10) seconds.
  cw-workload evring [--lead] [--next DOMID] [--prev DOMID] [--work-us N]
                     [--duration S] [--idle-timeout S] [--peer-timeout S]
      a ring member: blocks for its event, burns N µs (default 0), notifies the
      next member. --next/--prev default to data/cw-peer and data/cw-prev; the
      --lead member sends the first token. Runs S (default 10) seconds from its
      first event; stops after --idle-timeout (default 3 s) once the ring stops.
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

Addresses are numeric (no DNS). The vchan transport and the ev* modes need a
build with Xen support (scripts/build-workload.sh). Exit status: 0 ok,
1 failure, 2 usage.
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

/// The options of the vchan transport (server and client).
const VCHAN_OPTS: [Opt; 4] = [
    val("transport"),
    val("peer"),
    val("vchan-path"),
    val("peer-timeout"),
];

/// A domid option (`--peer 3`).
fn domid(a: &Args, name: &str) -> Result<Option<u32>> {
    match a.u64(name)? {
        Some(d) if d < u64::from(commaware_workload::xen::xs::DOMID_FIRST_RESERVED) => {
            Ok(Some(d as u32))
        }
        Some(d) => Err(Error::Usage(format!(
            "--{name}: {d} is not a domain id (0..32751)"
        ))),
        None => Ok(None),
    }
}

/// `--transport`, and the vchan target when it is vchan. TCP-only options
/// with vchan, or vchan-only options with TCP, are refused (they would be
/// ignored otherwise).
fn transport(a: &Args, tcp_only: &str) -> Result<(Transport, Option<VchanTarget>)> {
    let t = Transport::parse(a.get("transport").unwrap_or("tcp"))?;
    match t {
        Transport::Tcp => {
            for o in ["peer", "vchan-path", "peer-timeout"] {
                if a.has(o) {
                    return Err(Error::Usage(format!("--{o} needs --transport vchan")));
                }
            }
            Ok((t, None))
        }
        Transport::Vchan => {
            if a.has(tcp_only) {
                return Err(Error::Usage(format!(
                    "--{tcp_only} is for --transport tcp (vchan finds its peer through xenstore, or --peer)"
                )));
            }
            let path = a.get("vchan-path").map(str::to_string);
            if let Some(p) = &path {
                if !p.starts_with('/') || p.ends_with('/') || p.contains(char::is_whitespace) {
                    return Err(Error::Usage(format!(
                        "--vchan-path: `{p}` is not an absolute xenstore path"
                    )));
                }
            }
            Ok((
                t,
                Some(VchanTarget {
                    peer: domid(a, "peer")?,
                    path,
                    peer_timeout: secs_or(a, "peer-timeout", 60.0)?,
                }),
            ))
        }
    }
}

/// Runs one mode; `Ok(Some(msg))` is a completed run that failed.
fn run(mode: &str, rest: &[String]) -> Result<Option<String>> {
    match mode {
        "server" => {
            let a = Args::parse(
                mode,
                rest,
                &spec(
                    &[
                        &[val("listen"), val("work-us"), val("duration"), val("clients"), flag("background")][..],
                        &VCHAN_OPTS,
                    ]
                    .concat(),
                ),
            )?;
            let quiet = a.has("quiet");
            if a.has("background") {
                let tid = burn::spawn_background()
                    .map_err(|e| Error::io("server --background: a SCHED_IDLE thread".to_string(), e))?;
                if !quiet {
                    eprintln!("cw-workload server: background work in thread {tid} (SCHED_IDLE)");
                }
            }
            if let (_, Some(target)) = transport(&a, "listen")? {
                if matches!(a.u64("clients")?, Some(n) if n != 1) {
                    return Err(Error::Usage("--clients: a vchan has exactly one client".into()));
                }
                let report = server::serve_vchan(
                    &target,
                    a.u64("work-us")?.unwrap_or(0),
                    secs_or(&a, "duration", 600.0)?,
                    calibration(&a, quiet)?,
                    quiet,
                )?;
                emit(&a, report.to_json())?;
                return Ok(report.failure());
            }
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
                &spec(
                    &[
                        &[
                            val("connect"),
                            val("work-us"),
                            val("think-us"),
                            val("duration"),
                            val("warmup"),
                            val("connect-timeout"),
                            val("io-timeout"),
                        ][..],
                        &VCHAN_OPTS,
                    ]
                    .concat(),
                ),
            )?;
            let quiet = a.has("quiet");
            let connect = match transport(&a, "connect")? {
                (_, Some(target)) => Endpoint::Vchan(target),
                (_, None) => Endpoint::Tcp(a.addr("connect")?.ok_or_else(|| {
                    Error::Usage("client: --connect IP:PORT is required (or --transport vchan)".into())
                })?),
            };
            let cfg = ClientConfig {
                connect: connect.clone(),
                work_us: a.u64("work-us")?.unwrap_or(0),
                think_us: a.u64("think-us")?.unwrap_or(0),
                duration: secs_or(&a, "duration", 10.0)?,
                warmup: secs_or(&a, "warmup", 0.0)?,
                connect_timeout: secs_or(&a, "connect-timeout", 30.0)?,
                io_timeout: secs_or(&a, "io-timeout", 10.0)?.max(Duration::from_millis(1)),
                cal: calibration(&a, quiet)?,
            };
            let report = client::run(&cfg)?;
            emit(&a, report.to_json())?;
            Ok((report.requests == 0 && !cfg.duration.is_zero()).then(|| {
                format!("no request to {} completed in the measured phase", report.connect)
            }))
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
        "evsink" => {
            let a = Args::parse(
                mode,
                rest,
                &spec(&[val("peer"), val("duration"), val("idle-timeout"), val("peer-timeout")]),
            )?;
            let (mut link, wiring) =
                events::sink_link(domid(&a, "peer")?, secs_or(&a, "peer-timeout", 60.0)?)?;
            if !a.has("quiet") {
                eprintln!(
                    "cw-workload evsink: dom{} may notify port {:?}",
                    wiring.peer, wiring.rx_port
                );
            }
            let report = events::sink(
                &mut link,
                secs_or(&a, "duration", 60.0)?,
                secs_or(&a, "idle-timeout", 3.0)?.max(Duration::from_millis(10)),
                wiring,
            )?;
            emit(&a, report.to_json())?;
            Ok((report.events == 0).then(|| format!("no event from dom{} arrived", report.wiring.peer)))
        }
        "evstorm" => {
            let a = Args::parse(mode, rest, &spec(&[val("peer"), val("duration"), val("peer-timeout")]))?;
            let (mut link, wiring) =
                events::storm_link(domid(&a, "peer")?, secs_or(&a, "peer-timeout", 60.0)?)?;
            let report = events::storm(&mut link, secs_or(&a, "duration", 10.0)?, wiring)?;
            emit(&a, report.to_json())?;
            Ok(None)
        }
        "evring" => {
            let a = Args::parse(
                mode,
                rest,
                &spec(&[
                    flag("lead"),
                    val("next"),
                    val("prev"),
                    val("work-us"),
                    val("duration"),
                    val("idle-timeout"),
                    val("peer-timeout"),
                ]),
            )?;
            let quiet = a.has("quiet");
            let work_us = a.u64("work-us")?.unwrap_or(0);
            let peer_timeout = secs_or(&a, "peer-timeout", 60.0)?;
            let cfg = RingConfig {
                lead: a.has("lead"),
                work_us,
                duration: secs_or(&a, "duration", 10.0)?,
                start_timeout: peer_timeout,
                idle: secs_or(&a, "idle-timeout", 3.0)?.max(Duration::from_millis(10)),
            };
            // Calibrate before wiring: a member that measures while the
            // token is already going round would delay the ring.
            let burner = Burner::new(if work_us > 0 {
                calibration(&a, quiet)?
            } else {
                Calibration::given(1.0)
            });
            let (mut link, wiring) =
                events::ring_link(domid(&a, "next")?, domid(&a, "prev")?, peer_timeout)?;
            let report = events::ring(&mut link, &cfg, &burner, wiring)?;
            emit(&a, report.to_json())?;
            Ok((report.round_trips == 0).then(|| "the token never came round".to_string()))
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
            "unknown mode `{other}` (server, client, hog, storm, sink, evstorm, evsink, evring, calibrate; \
             try `cw-workload help`)"
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
