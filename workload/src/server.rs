//! `server`: the "db". Answers each 64-byte request after burning a fixed
//! amount of CPU, one thread per connection.
//!
//! Bounded: it stops after `duration`, or earlier once `clients` connections
//! have come and gone. Connection errors are reported, not fatal to the
//! other connections.
//!
//! Over vchan ([`serve_vchan`]) there is one connection, served in the main
//! thread by the same per-connection loop ([`serve`], over a [`MsgConn`]).

use crate::burn::{cpu_time, Burner, Calibration, CpuClock};
use crate::json::Json;
use crate::proto::{self, MSG_LEN};
use crate::transport::{MsgConn, Transport, VchanTarget};
use crate::{Error, Result};
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A reply that cannot be written within this time fails the connection.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the server is asked to do.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// CPU to burn per request, µs.
    pub work_us: u64,
    /// Hard bound on the run.
    pub duration: Duration,
    /// Stop once this many connections have closed.
    pub clients: Option<u64>,
    pub cal: Calibration,
    pub quiet: bool,
}

/// What the server did.
#[derive(Clone, Debug)]
pub struct ServerReport {
    pub transport: Transport,
    /// `IP:PORT`, or `vchan:dom<peer>:<xenstore path>`.
    pub listen: String,
    pub work_us: u64,
    pub requests: u64,
    pub connections: u64,
    pub closed: u64,
    pub errors: Vec<String>,
    pub elapsed: Duration,
    pub cpu: Option<Duration>,
    pub cal: Calibration,
    /// `"clients"` (the expected clients came and went) or `"duration"`.
    pub stopped_by: &'static str,
    pub expected_clients: Option<u64>,
}

impl ServerReport {
    /// Whether the run counts as a failure (exit status 1).
    pub fn failure(&self) -> Option<String> {
        if !self.errors.is_empty() {
            return Some(format!(
                "{} connection error(s): {}",
                self.errors.len(),
                self.errors[0]
            ));
        }
        match self.expected_clients {
            Some(n) if self.closed < n => Some(format!(
                "only {} of {n} expected client(s) came and went within {:.1} s",
                self.closed,
                self.elapsed.as_secs_f64()
            )),
            _ => None,
        }
    }

    pub fn to_json(&self) -> Json {
        let secs = self.elapsed.as_secs_f64();
        Json::obj()
            .with("tool", "cw-workload")
            .with("mode", "server")
            .with("transport", self.transport.name())
            .with("listen", self.listen.as_str())
            .with("work_us", self.work_us)
            .with("requests", self.requests)
            .with(
                "rps",
                if secs > 0.0 {
                    self.requests as f64 / secs
                } else {
                    0.0
                },
            )
            .with("connections", self.connections)
            .with("closed", self.closed)
            .with("errors", self.errors.clone())
            .with("duration_s", secs)
            .with("cpu_s", self.cpu.map(|c| c.as_secs_f64()))
            .with("stopped_by", self.stopped_by)
            .with("calibration", cal_json(&self.cal))
    }
}

/// The calibration as JSON (shared by all modes).
pub fn cal_json(cal: &Calibration) -> Json {
    Json::obj()
        .with("iters_per_us", cal.iters_per_us)
        .with("measured", cal.measured)
}

/// A bound server, ready to run.
pub struct Server {
    listener: TcpListener,
    cfg: ServerConfig,
}

impl Server {
    /// Binds the listening socket (port 0 picks a free port).
    pub fn bind(cfg: ServerConfig) -> Result<Server> {
        let listener = TcpListener::bind(cfg.listen).map_err(|source| Error::Bind {
            addr: cfg.listen,
            source,
        })?;
        Ok(Server { listener, cfg })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or(self.cfg.listen)
    }

    /// Serves until the duration ends or the expected clients are done.
    ///
    /// Nothing here polls: `accept` and the connection reads block, and the
    /// main thread sleeps on a channel until a connection closes or the
    /// deadline passes. A periodic wake-up in the "db" guest would earn it
    /// credit1's wake-up BOOST and disturb the measurement.
    pub fn run(self) -> Result<ServerReport> {
        let start = Instant::now();
        let cpu0 = cpu_time(CpuClock::Process);
        let deadline = start + self.cfg.duration;
        let listen = self.local_addr();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(Mutex::new(Vec::<String>::new()));
        let streams = Arc::new(Mutex::new(Vec::<TcpStream>::new()));
        let connections = Arc::new(AtomicU64::new(0));
        let (tx, rx) = mpsc::channel::<()>();
        self.listener
            .set_nonblocking(false)
            .map_err(|e| Error::io("listener: set blocking", e))?;

        let acceptor = {
            let (stop, requests, errors, streams, connections) = (
                stop.clone(),
                requests.clone(),
                errors.clone(),
                streams.clone(),
                connections.clone(),
            );
            let burner = Burner::new(self.cfg.cal);
            let work_us = self.cfg.work_us;
            let quiet = self.cfg.quiet;
            let listener = self.listener;
            thread::spawn(move || {
                let mut handles = Vec::new();
                loop {
                    let accepted = listener.accept();
                    if stop.load(Ordering::Acquire) {
                        break;
                    }
                    let (stream, peer) = match accepted {
                        Ok(x) => x,
                        Err(e) => {
                            // Transient (aborted handshake, fd limit): go on.
                            eprintln!("cw-workload server: accept on {listen}: {e}");
                            thread::sleep(Duration::from_millis(10));
                            continue;
                        }
                    };
                    let n = connections.fetch_add(1, Ordering::AcqRel) + 1;
                    if !quiet {
                        eprintln!("cw-workload server: connection {n} from {peer}");
                    }
                    // Register a handle for shutdown. Under the lock, so a
                    // stop that comes now either sees it or we see the stop.
                    if let Ok(mut v) = streams.lock() {
                        if stop.load(Ordering::Acquire) {
                            let _ = stream.shutdown(Shutdown::Both);
                        }
                        if let Ok(c) = stream.try_clone() {
                            v.push(c);
                        }
                    }
                    let (stop, requests, errors, tx) =
                        (stop.clone(), requests.clone(), errors.clone(), tx.clone());
                    handles.push(thread::spawn(move || {
                        if let Err(e) = serve_tcp(stream, burner, work_us, &requests) {
                            if !stop.load(Ordering::Acquire) {
                                let msg = format!("connection from {peer}: {e}");
                                eprintln!("cw-workload server: {msg}");
                                if let Ok(mut v) = errors.lock() {
                                    v.push(msg);
                                }
                            }
                        }
                        let _ = tx.send(());
                    }));
                }
                for h in handles {
                    let _ = h.join();
                }
            })
        };

        let mut closed = 0u64;
        let stopped_by = loop {
            if matches!(self.cfg.clients, Some(n) if closed >= n) {
                break "clients";
            }
            let now = Instant::now();
            if now >= deadline {
                break "duration";
            }
            match rx.recv_timeout(deadline - now) {
                Ok(()) => closed += 1,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break "duration",
            }
        };

        // Stop: wake the acceptor with a connection of our own, and end the
        // open connections (their blocked reads return).
        stop.store(true, Ordering::Release);
        if let Ok(v) = streams.lock() {
            for s in v.iter() {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
        let woke = TcpStream::connect_timeout(&wake_addr(listen), Duration::from_secs(2)).is_ok();
        if woke {
            let _ = acceptor.join();
        } // else: leave the acceptor blocked; process exit ends it.
          // Connections that ended while we stopped.
        while rx.try_recv().is_ok() {
            closed += 1;
        }
        let errors = errors.lock().map(|v| v.clone()).unwrap_or_default();
        Ok(ServerReport {
            transport: Transport::Tcp,
            listen: listen.to_string(),
            work_us: self.cfg.work_us,
            requests: requests.load(Ordering::Acquire),
            connections: connections.load(Ordering::Acquire),
            closed,
            errors,
            elapsed: start.elapsed(),
            cpu: cpu0.and_then(|c0| cpu_time(CpuClock::Process).map(|c1| c1.saturating_sub(c0))),
            cal: self.cfg.cal,
            stopped_by,
            expected_clients: self.cfg.clients,
        })
    }
}

/// Where to connect to reach our own listener (a wildcard → loopback).
fn wake_addr(listen: SocketAddr) -> SocketAddr {
    let ip: IpAddr = match listen.ip() {
        IpAddr::V4(v) if v.is_unspecified() => Ipv4Addr::LOCALHOST.into(),
        IpAddr::V6(v) if v.is_unspecified() => Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

/// Serves one TCP connection until the peer closes it (or the server's
/// stop shuts it down).
fn serve_tcp(mut s: TcpStream, burner: Burner, work_us: u64, requests: &AtomicU64) -> Result<()> {
    s.set_nonblocking(false)
        .and_then(|()| s.set_nodelay(true))
        .and_then(|()| s.set_write_timeout(Some(WRITE_TIMEOUT)))
        .map_err(|e| Error::io("socket options", e))?;
    serve(&mut s, burner, work_us, requests)
}

/// The per-connection loop: request in, burn `work_us`, reply out, until the
/// peer closes the connection between requests.
pub fn serve(
    conn: &mut dyn MsgConn,
    burner: Burner,
    work_us: u64,
    requests: &AtomicU64,
) -> Result<()> {
    let work32 = u32::try_from(work_us).unwrap_or(u32::MAX);
    let mut buf = [0u8; MSG_LEN];
    loop {
        match conn.recv_msg(&mut buf) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => {
                return Err(Error::Protocol(e.to_string()))
            }
            Err(e) => return Err(Error::io("reading a request", e)),
        }
        let seq = proto::parse_request(&buf).map_err(Error::Protocol)?;
        burner.burn_us(work_us);
        conn.send_msg(&proto::reply(seq, work32))
            .map_err(|e| Error::io(format!("sending reply {seq}"), e))?;
        requests.fetch_add(1, Ordering::AcqRel);
    }
}

/// The vchan server: offers the channel to its peer and serves the one
/// client until it leaves (then `stopped_by` = `"clients"`) or `duration`
/// ends. The wait for the client is bounded by `duration` too.
pub fn serve_vchan(
    target: &VchanTarget,
    work_us: u64,
    duration: Duration,
    cal: Calibration,
    quiet: bool,
) -> Result<ServerReport> {
    crate::xen::require("server --transport vchan")?;
    let start = Instant::now();
    let cpu0 = cpu_time(CpuClock::Process);
    let (mut conn, peer, path) = crate::xen::vchan::offer(target)?;
    if !quiet {
        eprintln!("cw-workload server: vchan offered to dom{peer} at {path}");
    }
    // A receive may wait until the end of the run, not longer.
    conn.timeout = duration;
    conn.deadline = Some(start + duration);
    let requests = AtomicU64::new(0);
    let mut errors = Vec::new();
    let (stopped_by, closed) = match serve(&mut conn, Burner::new(cal), work_us, &requests) {
        Ok(()) => ("clients", 1),
        Err(Error::Io { source, .. })
            if matches!(source.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) =>
        {
            ("duration", 0)
        }
        Err(e) => {
            let msg = format!("vchan from dom{peer}: {e}");
            eprintln!("cw-workload server: {msg}");
            errors.push(msg);
            ("error", 0)
        }
    };
    let connections = u64::from(requests.load(Ordering::Acquire) > 0 || closed > 0);
    Ok(ServerReport {
        transport: Transport::Vchan,
        listen: format!("vchan:dom{peer}:{path}"),
        work_us,
        requests: requests.load(Ordering::Acquire),
        connections,
        closed,
        errors,
        elapsed: start.elapsed(),
        cpu: cpu0.and_then(|c0| cpu_time(CpuClock::Process).map(|c1| c1.saturating_sub(c0))),
        cal,
        stopped_by,
        expected_clients: Some(1),
    })
}
