//! Behaviour tests over loopback (127.0.0.1 only; no other network).

use commaware_workload::burn::{cpu_time, Burner, Calibration, CpuClock};
use commaware_workload::client::{self, ClientConfig};
use commaware_workload::hog::{self, HogConfig};
use commaware_workload::json::{self, Json};
use commaware_workload::server::{Server, ServerConfig};
use commaware_workload::storm::{self, Proto, StormConfig};
use std::net::{SocketAddr, TcpListener};
use std::process::Command;
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// One calibration for the whole test binary (tests run in parallel).
fn cal() -> Calibration {
    static CAL: OnceLock<Calibration> = OnceLock::new();
    *CAL.get_or_init(Calibration::measure_default)
}

fn num(j: &Json, key: &str) -> f64 {
    j.get(key)
        .and_then(Json::as_f64)
        .unwrap_or_else(|| panic!("field {key} missing or not a number in {}", j.to_line()))
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

const CLIENT_FIELDS: &[&str] = &[
    "tool", "mode", "connect", "work_us", "think_us", "server_work_us", "duration_s", "warmup_s", "requests",
    "warmup_requests", "rps", "min_us", "mean_us", "p50_us", "p90_us", "p99_us", "p999_us",
    "max_us", "hist", "cpu_s", "connect_attempts", "calibration",
];

#[test]
fn client_against_server_over_loopback() {
    const SERVER_US: u64 = 500;
    const CLIENT_US: u64 = 200;
    let server = Server::bind(ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        work_us: SERVER_US,
        duration: Duration::from_secs(30),
        clients: Some(1),
        cal: cal(),
        quiet: true,
    })
    .unwrap();
    let addr = server.local_addr();
    let srv = thread::spawn(move || server.run());

    let cfg = ClientConfig {
        connect: addr.into(),
        work_us: CLIENT_US,
        think_us: 0,
        duration: Duration::from_secs(1),
        warmup: Duration::from_millis(200),
        connect_timeout: Duration::from_secs(5),
        io_timeout: Duration::from_secs(10),
        cal: cal(),
    };
    let t = Instant::now();
    let rep = client::run(&cfg).unwrap();
    let wall = t.elapsed();
    assert!(rep.requests > 0);
    assert!(rep.warmup_requests > 0);
    assert!(rep.elapsed >= Duration::from_secs(1) && wall < Duration::from_secs(5), "{wall:?}");
    assert_eq!(rep.server_work_us, Some(SERVER_US as u32));
    // Every latency includes the server's work.
    assert!(rep.hist.min().unwrap() >= SERVER_US * 1000, "{:?}", rep.hist.min());
    // Closed loop: each round is at least client + server work.
    assert!(rep.rps() <= 1e6 / (SERVER_US + CLIENT_US) as f64 * 1.01, "{}", rep.rps());

    // The JSON has every field and parses back to the same numbers.
    let line = rep.to_json().to_line();
    let j = json::parse(&line).unwrap();
    for f in CLIENT_FIELDS {
        assert!(j.get(f).is_some(), "missing {f} in {line}");
    }
    assert_eq!(j.get("mode").unwrap().as_str(), Some("client"));
    assert_eq!(num(&j, "requests") as u64, rep.requests);
    let ps: Vec<f64> = ["min_us", "p50_us", "p90_us", "p99_us", "p999_us", "max_us"]
        .iter()
        .map(|k| num(&j, k))
        .collect();
    assert!(ps.windows(2).all(|w| w[0] <= w[1]), "{ps:?}");
    assert!(ps[0] >= SERVER_US as f64);
    let hist = j.get("hist").unwrap();
    let le = hist.get("le_us").unwrap().as_array().unwrap();
    let count = hist.get("count").unwrap().as_array().unwrap();
    assert_eq!(le.len(), count.len());
    let total: f64 = count.iter().filter_map(Json::as_f64).sum();
    assert_eq!(total as u64, rep.requests);
    assert_eq!(le.last().unwrap().as_f64(), Some(ps[5]));

    // The server saw the same requests, and stopped once the client left.
    let s = srv.join().unwrap().unwrap();
    assert_eq!(s.requests, rep.requests + rep.warmup_requests);
    assert_eq!((s.connections, s.closed, s.stopped_by), (1, 1, "clients"));
    assert_eq!(s.failure(), None);
    let sj = json::parse(&s.to_json().to_line()).unwrap();
    assert_eq!(num(&sj, "requests") as u64, s.requests);
}

#[test]
fn server_duration_bounds_the_run() {
    let server = Server::bind(ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        work_us: 0,
        duration: Duration::from_millis(300),
        clients: Some(1),
        cal: cal(),
        quiet: true,
    })
    .unwrap();
    let t = Instant::now();
    let s = server.run().unwrap();
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(s.stopped_by, "duration");
    // The expected client never came: that is a failure.
    assert!(s.failure().unwrap().contains("0 of 1"));
}

#[test]
fn busy_loop_burns_about_the_requested_cpu() {
    let b = Burner::new(cal());
    for us in [20_000u64, 200_000] {
        let c0 = cpu_time(CpuClock::Thread).unwrap();
        let t0 = Instant::now();
        b.burn_us(us);
        let wall = t0.elapsed();
        let cpu = cpu_time(CpuClock::Thread).unwrap() - c0;
        let want = Duration::from_micros(us);
        assert!(wall >= want, "{us} µs: wall {wall:?}");
        // Loose: the machine is shared. It is CPU, not sleep (>= 70 %), and
        // not wildly more than asked (<= 3x).
        assert!(
            cpu >= want * 7 / 10 && cpu <= want * 3,
            "{us} µs requested: {cpu:?} CPU, {wall:?} wall"
        );
    }
}

#[test]
fn hog_reports_work() {
    let cfg = HogConfig {
        duration: Duration::from_millis(500),
        report_every: Duration::from_millis(100),
        cal: cal(),
    };
    let mut seen = 0;
    let r = hog::run(&cfg, |_| seen += 1);
    assert!(r.iterations > 0);
    // Intervals are wall-clock: on a loaded machine (CI runs this beside
    // QEMU) a long preemption can swallow several, but never make more.
    assert!((1..=6).contains(&r.intervals.len()), "{}", r.intervals.len());
    assert_eq!(seen, r.intervals.len());
    assert!(r.elapsed >= cfg.duration && r.elapsed < Duration::from_secs(3));
    let j = json::parse(&r.to_json().to_line()).unwrap();
    for f in ["iterations", "iters_per_s", "cpu_share_est", "interval_iters_per_s", "cpu_s"] {
        assert!(j.get(f).is_some(), "missing {f}");
    }
    assert!(num(&j, "iters_per_s") > 0.0);
    // Loose: the machine is shared (and cpu_s is the whole test process's).
    assert!(num(&j, "cpu_s") > 0.0);
    let share = num(&j, "cpu_share_est");
    assert!(share > 0.0 && share < 2.0, "{share}");
}

#[test]
fn udp_storm_reaches_the_sink() {
    let port = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port()
    };
    let listen: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let sink = thread::spawn(move || storm::sink(listen, Proto::Udp, Duration::from_millis(800)));
    thread::sleep(Duration::from_millis(100));
    let r = storm::storm(&StormConfig {
        connect: listen,
        proto: Proto::Udp,
        size: 64,
        duration: Duration::from_millis(300),
        connect_timeout: Duration::from_secs(1),
    })
    .unwrap();
    let s = sink.join().unwrap().unwrap();
    assert!(r.messages > 0);
    assert!(s.messages > 0 && s.messages <= r.messages);
    assert_eq!(s.bytes, s.messages * 64);
}

// ---- the binary ----

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cw-workload"))
}

#[test]
fn refused_connection_fails_with_the_address() {
    let port = free_port(); // nobody listens there now
    let t = Instant::now();
    let out = bin()
        .args(["client", "--connect", &format!("127.0.0.1:{port}")])
        .args(["--connect-timeout", "0.6", "--duration", "1", "--iters-per-us", "100"])
        .output()
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("cannot connect to 127.0.0.1:{port}")), "{err}");
    assert!(err.contains("refused"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["client"][..],
        &["client", "--connect", "db.local:7000"],
        &["server", "--work-us", "lots"],
        &["hog", "--duration"],
        &["frobnicate"],
        &[],
    ] {
        let out = bin().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty());
    }
    let out = bin().arg("help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("cw-workload client"));
}

#[test]
fn binary_server_and_client_end_to_end() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let server = bin()
        .args(["server", "--listen", &addr, "--work-us", "100", "--clients", "1"])
        .args(["--duration", "30", "--quiet", "--tag", "db"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out_file = std::env::temp_dir().join(format!("cw-workload-test-{}.json", std::process::id()));
    let client = bin()
        .args(["client", "--connect", &addr, "--work-us", "50", "--duration", "0.5"])
        .args(["--connect-timeout", "10", "--quiet", "--json"])
        .arg(&out_file)
        .output()
        .unwrap();
    let srv = server.wait_with_output().unwrap();
    assert!(client.status.success(), "{}", String::from_utf8_lossy(&client.stderr));
    assert!(srv.status.success(), "{}", String::from_utf8_lossy(&srv.stderr));

    let stdout = String::from_utf8(client.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "one JSON line: {stdout}");
    let j = json::parse(stdout.trim()).unwrap();
    assert!(num(&j, "requests") > 0.0);
    assert!(num(&j, "min_us") >= 100.0);
    let file = std::fs::read_to_string(&out_file).unwrap();
    let _ = std::fs::remove_file(&out_file);
    assert_eq!(file, stdout);

    let sj = json::parse(String::from_utf8(srv.stdout).unwrap().trim()).unwrap();
    assert_eq!(sj.get("tag").and_then(Json::as_str), Some("db"));
    assert_eq!(sj.get("stopped_by").and_then(Json::as_str), Some("clients"));
    assert_eq!(
        num(&sj, "requests") as u64,
        num(&j, "requests") as u64 + num(&j, "warmup_requests") as u64
    );
}

#[test]
fn binary_hog_is_bounded() {
    let out = bin()
        .args(["hog", "--duration", "0.3", "--report-every", "0.1", "--iters-per-us", "50"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let j = json::parse(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    assert_eq!(j.get("mode").and_then(Json::as_str), Some("hog"));
    // Progress records go to stderr, one JSON object per line.
    let err = String::from_utf8(out.stderr).unwrap();
    let records: Vec<_> = err.lines().filter(|l| l.starts_with('{')).collect();
    assert!(records.len() >= 2, "{err}");
    assert!(records.iter().all(|l| json::parse(l).is_ok()));
}
