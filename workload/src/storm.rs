//! `storm` and `sink`: small messages as fast as possible.
//!
//! An approximation of a notification storm seen from a guest: every small
//! send crosses netfront → dom0's netback → the peer, each hop an
//! inter-domain event. UDP sends one datagram per message; TCP writes one
//! message per `write` with Nagle off (segments may still coalesce under
//! back-pressure). The `sink` counts what arrives.

use crate::burn::{cpu_time, CpuClock};
use crate::client::connect_retry;
use crate::json::Json;
use crate::{Error, Result};
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

/// Transport of a storm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Udp,
    Tcp,
}

impl Proto {
    pub fn parse(v: &str) -> Result<Proto> {
        match v {
            "udp" => Ok(Proto::Udp),
            "tcp" => Ok(Proto::Tcp),
            _ => Err(Error::Usage(format!("--proto: `{v}` is neither udp nor tcp"))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Proto::Udp => "udp",
            Proto::Tcp => "tcp",
        }
    }
}

#[derive(Clone, Debug)]
pub struct StormConfig {
    pub connect: SocketAddr,
    pub proto: Proto,
    /// Bytes per message (1..=1400).
    pub size: usize,
    pub duration: Duration,
    pub connect_timeout: Duration,
}

/// Result of a storm or a sink.
#[derive(Clone, Debug)]
pub struct StormReport {
    pub mode: &'static str,
    pub peer: SocketAddr,
    pub proto: Proto,
    pub messages: u64,
    pub bytes: u64,
    /// Sends refused by the peer (UDP: ICMP port unreachable).
    pub refused: u64,
    pub elapsed: Duration,
    pub cpu: Option<Duration>,
}

impl StormReport {
    pub fn to_json(&self) -> Json {
        let s = self.elapsed.as_secs_f64();
        let rate = |n: u64| if s > 0.0 { n as f64 / s } else { 0.0 };
        Json::obj()
            .with("tool", "cw-workload")
            .with("mode", self.mode)
            .with(if self.mode == "sink" { "listen" } else { "connect" }, self.peer.to_string())
            .with("proto", self.proto.name())
            .with("duration_s", s)
            .with("messages", self.messages)
            .with("bytes", self.bytes)
            .with("msgs_per_s", rate(self.messages))
            .with("bytes_per_s", rate(self.bytes))
            .with("refused", self.refused)
            .with("cpu_s", self.cpu.map(|c| c.as_secs_f64()))
    }
}

fn unspecified_like(addr: SocketAddr) -> SocketAddr {
    let ip: IpAddr = if addr.is_ipv4() {
        Ipv4Addr::UNSPECIFIED.into()
    } else {
        Ipv6Addr::UNSPECIFIED.into()
    };
    SocketAddr::new(ip, 0)
}

/// Sends as fast as possible for the duration.
pub fn storm(cfg: &StormConfig) -> Result<StormReport> {
    let addr = cfg.connect;
    let size = cfg.size.clamp(1, 1400);
    let mut msg = vec![0u8; size];
    let cpu0 = cpu_time(CpuClock::Process);
    let (mut messages, mut refused) = (0u64, 0u64);
    let start;
    match cfg.proto {
        Proto::Udp => {
            let sock = UdpSocket::bind(unspecified_like(addr)).map_err(|source| Error::Bind {
                addr: unspecified_like(addr),
                source,
            })?;
            sock.connect(addr)
                .map_err(|e| Error::io(format!("udp connect {addr}"), e))?;
            start = Instant::now();
            let end = start + cfg.duration;
            'outer: loop {
                for _ in 0..64 {
                    let n = size.min(8);
                    msg[..n].copy_from_slice(&messages.to_le_bytes()[..n]);
                    match sock.send(&msg) {
                        Ok(_) => messages += 1,
                        // ICMP unreachable from an earlier datagram, or a full
                        // queue: count and go on.
                        Err(e)
                            if matches!(
                                e.kind(),
                                ErrorKind::ConnectionRefused
                                    | ErrorKind::WouldBlock
                                    | ErrorKind::Interrupted
                            ) || e.raw_os_error() == Some(105) /* ENOBUFS */ =>
                        {
                            refused += 1
                        }
                        Err(e) => return Err(Error::io(format!("udp send to {addr}"), e)),
                    }
                }
                if Instant::now() >= end {
                    break 'outer;
                }
            }
        }
        Proto::Tcp => {
            let (mut s, _) = connect_retry(addr, cfg.connect_timeout)?;
            s.set_nodelay(true)
                .and_then(|()| s.set_write_timeout(Some(Duration::from_secs(10))))
                .map_err(|e| Error::io(format!("{addr}: socket options"), e))?;
            start = Instant::now();
            let end = start + cfg.duration;
            loop {
                for _ in 0..64 {
                    s.write_all(&msg)
                        .map_err(|e| Error::io(format!("tcp send to {addr}"), e))?;
                    messages += 1;
                }
                if Instant::now() >= end {
                    break;
                }
            }
            let _ = s.shutdown(std::net::Shutdown::Write);
        }
    }
    Ok(StormReport {
        mode: "storm",
        peer: addr,
        proto: cfg.proto,
        messages,
        bytes: messages * size as u64,
        refused,
        elapsed: start.elapsed(),
        cpu: cpu0.and_then(|c0| cpu_time(CpuClock::Process).map(|c1| c1.saturating_sub(c0))),
    })
}

/// Receives and counts for the duration (TCP: all connections, serially
/// accepted, each read on its own thread). Reads use a 100 ms timeout to
/// see the deadline: the sink is the receiving side of a storm, so its
/// wake-ups are dominated by the storm itself.
pub fn sink(listen: SocketAddr, proto: Proto, duration: Duration) -> Result<StormReport> {
    let cpu0 = cpu_time(CpuClock::Process);
    let start = Instant::now();
    let end = start + duration;
    let tick = Duration::from_millis(100);
    let (mut messages, mut bytes) = (0u64, 0u64);
    let mut buf = vec![0u8; 65536];
    match proto {
        Proto::Udp => {
            let sock = UdpSocket::bind(listen).map_err(|source| Error::Bind { addr: listen, source })?;
            sock.set_read_timeout(Some(tick))
                .map_err(|e| Error::io("udp socket options", e))?;
            while Instant::now() < end {
                match sock.recv(&mut buf) {
                    Ok(n) => {
                        messages += 1;
                        bytes += n as u64;
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                        ) => {}
                    Err(e) => return Err(Error::io(format!("udp recv on {listen}"), e)),
                }
            }
        }
        Proto::Tcp => {
            let l = TcpListener::bind(listen).map_err(|source| Error::Bind { addr: listen, source })?;
            l.set_nonblocking(true)
                .map_err(|e| Error::io("listener options", e))?;
            let mut readers = Vec::new();
            while Instant::now() < end {
                match l.accept() {
                    Ok((mut s, _)) => {
                        readers.push(thread::spawn(move || {
                            let mut buf = vec![0u8; 65536];
                            let (mut reads, mut total) = (0u64, 0u64);
                            let _ = s.set_nonblocking(false);
                            let _ = s.set_read_timeout(Some(tick));
                            while Instant::now() < end {
                                match s.read(&mut buf) {
                                    Ok(0) => break,
                                    Ok(n) => {
                                        reads += 1;
                                        total += n as u64;
                                    }
                                    Err(e)
                                        if matches!(
                                            e.kind(),
                                            ErrorKind::WouldBlock
                                                | ErrorKind::TimedOut
                                                | ErrorKind::Interrupted
                                        ) => {}
                                    Err(_) => break,
                                }
                            }
                            (reads, total)
                        }));
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => thread::sleep(tick),
                    Err(e) => return Err(Error::io(format!("accept on {listen}"), e)),
                }
            }
            for r in readers {
                if let Ok((n, b)) = r.join() {
                    messages += n; // reads, not messages: TCP has no boundaries
                    bytes += b;
                }
            }
        }
    }
    Ok(StormReport {
        mode: "sink",
        peer: listen,
        proto,
        messages,
        bytes,
        refused: 0,
        elapsed: start.elapsed(),
        cpu: cpu0.and_then(|c0| cpu_time(CpuClock::Process).map(|c1| c1.saturating_sub(c0))),
    })
}
