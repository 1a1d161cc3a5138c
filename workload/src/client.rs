//! `client`: the "app". A closed loop: burn `work_us` of CPU, send a
//! request, wait for the reply, record the latency (send → reply), sleep
//! `think_us` (0: none), repeat until the duration ends. One outstanding
//! request at a time. The think time paces the loop: a client that thinks
//! leaves its pair under its fair share, so what it measures is how soon a
//! scheduler runs a woken receiver, not how much CPU the pair may have.
//!
//! The loop ([`measure`]) runs over any [`MsgConn`]: TCP by default, or a
//! direct guest↔guest vchan ([`crate::xen::vchan`]); the report, warm-up and
//! duration rules are the same for both.

use crate::burn::{cpu_time, Burner, Calibration, CpuClock};
use crate::hist::Histogram;
use crate::json::Json;
use crate::proto::{self, MSG_LEN};
use crate::server::cal_json;
use crate::transport::{Endpoint, MsgConn, Transport};
use crate::{Error, Result};
use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

/// Buckets per power of two in the reported histogram (~9 % wide).
pub const HIST_PER_OCTAVE: u64 = 8;

/// What the client is asked to do.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// A TCP address, or a vchan target.
    pub connect: Endpoint,
    /// CPU to burn before each request, µs.
    pub work_us: u64,
    /// Time to sleep (blocked) after each reply, µs.
    pub think_us: u64,
    /// Measured phase.
    pub duration: Duration,
    /// Unrecorded phase before it.
    pub warmup: Duration,
    /// How long to keep retrying the connection.
    pub connect_timeout: Duration,
    /// A reply not received within this time fails the run.
    pub io_timeout: Duration,
    pub cal: Calibration,
}

/// What the client measured.
#[derive(Clone, Debug)]
pub struct ClientReport {
    pub transport: Transport,
    /// Where it connected (`IP:PORT`, or `vchan:dom<ID>:<xenstore path>`).
    pub connect: String,
    pub work_us: u64,
    pub think_us: u64,
    /// As the server reported it in its replies.
    pub server_work_us: Option<u32>,
    pub requests: u64,
    pub warmup_requests: u64,
    /// Length of the measured phase (to the end of its last request).
    pub elapsed: Duration,
    pub warmup: Duration,
    /// Latencies of the measured phase, ns.
    pub hist: Histogram,
    pub cpu: Option<Duration>,
    pub cal: Calibration,
    pub connect_attempts: u32,
}

fn us(ns: Option<u64>) -> Json {
    ns.map(|n| n as f64 / 1000.0).into()
}

impl ClientReport {
    pub fn rps(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.requests as f64 / s
        } else {
            0.0
        }
    }

    pub fn to_json(&self) -> Json {
        let h = &self.hist;
        let compact = h.compact(HIST_PER_OCTAVE);
        let le: Vec<f64> = compact.iter().map(|&(hi, _)| hi as f64 / 1000.0).collect();
        let count: Vec<u64> = compact.iter().map(|&(_, c)| c).collect();
        Json::obj()
            .with("tool", "cw-workload")
            .with("mode", "client")
            .with("transport", self.transport.name())
            .with("connect", self.connect.as_str())
            .with("work_us", self.work_us)
            .with("think_us", self.think_us)
            .with("server_work_us", self.server_work_us)
            .with("duration_s", self.elapsed.as_secs_f64())
            .with("warmup_s", self.warmup.as_secs_f64())
            .with("requests", self.requests)
            .with("warmup_requests", self.warmup_requests)
            .with("rps", self.rps())
            .with("min_us", us(h.min()))
            .with("mean_us", h.mean().map(|m| m / 1000.0))
            .with("p50_us", us(h.quantile(0.50)))
            .with("p90_us", us(h.quantile(0.90)))
            .with("p99_us", us(h.quantile(0.99)))
            .with("p999_us", us(h.quantile(0.999)))
            .with("max_us", us(h.max()))
            .with(
                "hist",
                Json::obj()
                    .with("per_octave", HIST_PER_OCTAVE)
                    .with("le_us", le)
                    .with("count", count),
            )
            .with("cpu_s", self.cpu.map(|c| c.as_secs_f64()))
            .with("connect_attempts", self.connect_attempts)
            .with("calibration", cal_json(&self.cal))
    }
}

/// Connects to `addr`, retrying any failure (refused, unreachable, timed
/// out: the server or the network may not be up yet) every 200 ms until
/// `timeout` has passed. Numeric address: no DNS. Returns the stream and the
/// number of attempts.
pub fn connect_retry(addr: SocketAddr, timeout: Duration) -> Result<(TcpStream, u32)> {
    let start = Instant::now();
    let deadline = start + timeout;
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let left = deadline.saturating_duration_since(Instant::now());
        let per_try = left.clamp(Duration::from_millis(100), Duration::from_secs(2));
        match TcpStream::connect_timeout(&addr, per_try) {
            Ok(s) => return Ok((s, attempts)),
            Err(e) => {
                let now = Instant::now();
                if now >= deadline {
                    return Err(Error::Connect {
                        addr,
                        waited: now - start,
                        attempts,
                        last: e,
                    });
                }
                thread::sleep(Duration::from_millis(200).min(deadline - now));
            }
        }
    }
}

/// Connects (TCP or vchan) and runs the closed loop.
pub fn run(cfg: &ClientConfig) -> Result<ClientReport> {
    match &cfg.connect {
        Endpoint::Tcp(addr) => {
            let addr = *addr;
            let (mut s, attempts) = connect_retry(addr, cfg.connect_timeout)?;
            s.set_nodelay(true)
                .and_then(|()| s.set_read_timeout(Some(cfg.io_timeout)))
                .and_then(|()| s.set_write_timeout(Some(cfg.io_timeout)))
                .map_err(|e| Error::io(format!("{addr}: socket options"), e))?;
            let report = measure(cfg, &mut s, Transport::Tcp, addr.to_string(), attempts);
            let _ = s.shutdown(std::net::Shutdown::Both);
            report
        }
        Endpoint::Vchan(t) => {
            crate::xen::require("client --transport vchan")?;
            let (mut c, server, path, attempts) =
                crate::xen::vchan::connect(t, cfg.connect_timeout, cfg.io_timeout)?;
            // Dropping `c` closes our end: the server sees the client leave.
            measure(
                cfg,
                &mut c,
                Transport::Vchan,
                format!("vchan:dom{server}:{path}"),
                attempts,
            )
        }
    }
}

/// The closed loop over an established connection to `endpoint`.
pub fn measure(
    cfg: &ClientConfig,
    conn: &mut dyn MsgConn,
    transport: Transport,
    endpoint: String,
    connect_attempts: u32,
) -> Result<ClientReport> {
    let burner = Burner::new(cfg.cal);
    let addr = endpoint.as_str();
    let mut hist = Histogram::new();
    let mut seq = 0u64;
    let mut server_work_us = None;
    let mut warmup_requests = 0u64;
    let cpu0 = cpu_time(CpuClock::Process);
    let t_start = Instant::now();
    let warm_end = t_start + cfg.warmup;
    let mut measured_start: Option<Instant> = None;
    let mut reply = [0u8; MSG_LEN];
    // The window ends where the loop sees it over, not at the last reply:
    // that one may come in a few ns before the window's end, and the report
    // would then claim a window shorter than `duration`.
    let window_end = loop {
        let now = Instant::now();
        let measuring = now >= warm_end;
        if measuring {
            let ms = *measured_start.get_or_insert(now);
            if now >= ms + cfg.duration {
                break now;
            }
        }
        burner.burn_us(cfg.work_us);
        seq += 1;
        let t0 = Instant::now();
        conn.send_msg(&proto::request(seq))
            .map_err(|e| Error::io(format!("{addr}: sending request {seq}"), e))?;
        match conn.recv_msg(&mut reply) {
            Ok(true) => {}
            Ok(false) => {
                return Err(Error::io(
                    format!("{addr}: waiting for reply {seq}"),
                    std::io::Error::new(ErrorKind::UnexpectedEof, "server closed the connection"),
                ))
            }
            Err(e) => {
                return Err(match e.kind() {
                    ErrorKind::WouldBlock | ErrorKind::TimedOut => Error::io(
                        format!(
                            "{addr}: no reply to request {seq} within {:.1} s (--io-timeout)",
                            cfg.io_timeout.as_secs_f64()
                        ),
                        e,
                    ),
                    _ => Error::io(format!("{addr}: waiting for reply {seq}"), e),
                })
            }
        }
        let t1 = Instant::now();
        let (rseq, swork) = proto::parse_reply(&reply).map_err(Error::Protocol)?;
        if rseq != seq {
            return Err(Error::Protocol(format!(
                "{addr}: reply for request {rseq}, expected {seq}"
            )));
        }
        server_work_us = Some(swork);
        if measuring {
            hist.record(u64::try_from((t1 - t0).as_nanos()).unwrap_or(u64::MAX));
        } else {
            warmup_requests += 1;
        }
        if cfg.think_us > 0 {
            thread::sleep(Duration::from_micros(cfg.think_us));
        }
    };
    let ms = measured_start.unwrap_or(window_end);
    Ok(ClientReport {
        transport,
        connect: endpoint,
        work_us: cfg.work_us,
        think_us: cfg.think_us,
        server_work_us,
        requests: hist.count(),
        warmup_requests,
        elapsed: window_end.saturating_duration_since(ms),
        warmup: ms.saturating_duration_since(t_start),
        hist,
        cpu: cpu0.and_then(|c0| cpu_time(CpuClock::Process).map(|c1| c1.saturating_sub(c0))),
        cal: cfg.cal,
        connect_attempts,
    })
}
