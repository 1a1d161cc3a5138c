//! Raw interdomain event channels, for hostile-guest tests (libxenevtchn):
//!
//! * `evstorm` — notify a peer as fast as possible for a duration (each
//!   notify is one EVTCHNOP_send hypercall, and a wake-up for the peer).
//! * `evsink` — the peer: offers the port and counts the events it gets
//!   (pending bits coalesce, so it counts fewer than were sent). Works in
//!   dom0 too (peer 0 for the storm).
//! * `evring` — donation abuse: a ring of 2 or 3 domains passing one token;
//!   each member blocks until its own event arrives, then notifies the next
//!   at once (or after `--work-us` of CPU). Under commaware every hop is a
//!   notify-then-block, the pattern credit donation rewards.
//!
//! Ports are exchanged through xenstore ([`crate::xen::xs`]): the receiving
//! side binds an unbound port for the sender and publishes it in its own
//! `data/` directory, readable by the sender only; the sender binds to it.
//! The loops are written against [`EventLink`], so they are tested with an
//! in-process fake.

use crate::burn::{cpu_time, Burner, CpuClock};
use crate::json::Json;
use crate::xen::sys::Evtchn;
use crate::xen::xs::{
    data_path, parse_port, Published, Store, EVPORT_KEY, PEER_KEY, PREV_KEY, RING_PORT_KEY,
};
use crate::{Error, Result};
use std::io;
use std::time::{Duration, Instant};

/// One domain's view of an event channel pair: notify the other side, wait
/// for our own event.
pub trait EventLink {
    fn notify(&mut self) -> io::Result<()>;
    /// Waits at most `timeout` for our event (`Ok(false)`: timed out) and
    /// re-arms it.
    fn wait(&mut self, timeout: Duration) -> io::Result<bool>;
}

/// The real thing: a libxenevtchn handle with a port we receive on and/or
/// a port we notify.
pub struct XenLink {
    ev: Evtchn,
    rx: Option<u32>,
    tx: Option<u32>,
    /// Our port's xenstore key, removed with the link.
    _published: Option<Published>,
}

impl EventLink for XenLink {
    fn notify(&mut self) -> io::Result<()> {
        match self.tx {
            Some(p) => self.ev.notify(p),
            None => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "no port to notify",
            )),
        }
    }

    fn wait(&mut self, timeout: Duration) -> io::Result<bool> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.ev.wait(left)? {
                None => return Ok(false),
                Some(p) => {
                    self.ev.unmask(p)?;
                    if Some(p) == self.rx {
                        return Ok(true);
                    }
                    // An event on another port of this handle: not ours.
                }
            }
        }
    }
}

fn xen_err(context: String) -> impl FnOnce(io::Error) -> Error {
    move |e| Error::io(context, e)
}

fn open_evtchn() -> Result<Evtchn> {
    Evtchn::open().map_err(xen_err(
        "event channels: cannot open /dev/xen/evtchn (xen-evtchn module loaded?)".into(),
    ))
}

/// Binds an unbound port for `from` and publishes it at our `data/<key>`;
/// returns the port and the key's path.
fn offer_port(xs: &Store, ev: &Evtchn, from: u32, key: &str) -> Result<(u32, String)> {
    let port = ev.bind_unbound(from).map_err(xen_err(format!(
        "event channels: allocating a port for dom{from}"
    )))?;
    let path = xs.publish(key, &port.to_string(), from)?;
    Ok((port, path))
}

/// Waits for `to`'s published `data/<key>` port and binds to it.
fn bind_to(xs: &Store, ev: &Evtchn, to: u32, key: &str, timeout: Duration) -> Result<(u32, u32)> {
    let path = data_path(to, key);
    let v = xs.wait(
        &path,
        timeout,
        &format!("is the matching mode running in dom{to}?"),
    )?;
    let remote = parse_port(&path, &v)?;
    let local = ev.bind_interdomain(to, remote).map_err(xen_err(format!(
        "event channels: binding to dom{to} port {remote}"
    )))?;
    Ok((remote, local))
}

/// Who and where, for the reports.
#[derive(Clone, Debug, Default)]
pub struct Wiring {
    pub self_id: u32,
    pub peer: u32,
    /// Ring: the previous member.
    pub prev: Option<u32>,
    /// The port we receive on (sink, ring).
    pub rx_port: Option<u32>,
    /// The peer's port we notify (storm, ring).
    pub remote_port: Option<u32>,
}

impl Wiring {
    fn json(&self, j: Json) -> Json {
        j.with("self", self.self_id)
            .with("peer", self.peer)
            .with("prev", self.prev)
            .with("rx_port", self.rx_port)
            .with("remote_port", self.remote_port)
    }
}

/// evsink's side: offer a port to `peer` (given, or from `data/cw-peer`).
pub fn sink_link(peer: Option<u32>, peer_timeout: Duration) -> Result<(XenLink, Wiring)> {
    crate::xen::require("evsink")?;
    let xs = Store::open()?;
    let peer = xs.peer(peer, PEER_KEY, peer_timeout)?;
    let ev = open_evtchn()?;
    let (rx, key) = offer_port(&xs, &ev, peer, EVPORT_KEY)?;
    let w = Wiring {
        self_id: xs.self_id,
        peer,
        rx_port: Some(rx),
        ..Wiring::default()
    };
    Ok((
        XenLink {
            ev,
            rx: Some(rx),
            tx: None,
            _published: Some(Published::adopt(xs, key)),
        },
        w,
    ))
}

/// evstorm's side: bind to the sink's published port.
pub fn storm_link(peer: Option<u32>, peer_timeout: Duration) -> Result<(XenLink, Wiring)> {
    crate::xen::require("evstorm")?;
    let xs = Store::open()?;
    let peer = xs.peer(peer, PEER_KEY, peer_timeout)?;
    let ev = open_evtchn()?;
    let (remote, tx) = bind_to(&xs, &ev, peer, EVPORT_KEY, peer_timeout)?;
    let w = Wiring {
        self_id: xs.self_id,
        peer,
        remote_port: Some(remote),
        ..Wiring::default()
    };
    Ok((
        XenLink {
            ev,
            rx: None,
            tx: Some(tx),
            _published: None,
        },
        w,
    ))
}

/// An evring member: a port for `prev` to notify, bound to `next`'s port.
pub fn ring_link(
    next: Option<u32>,
    prev: Option<u32>,
    peer_timeout: Duration,
) -> Result<(XenLink, Wiring)> {
    crate::xen::require("evring")?;
    let xs = Store::open()?;
    let next = xs.peer(next, PEER_KEY, peer_timeout)?;
    let prev = xs.peer(prev, PREV_KEY, peer_timeout)?;
    let ev = open_evtchn()?;
    // Offer ours before binding to theirs: every member does, so nobody
    // waits for someone who waits for them.
    let (rx, key) = offer_port(&xs, &ev, prev, RING_PORT_KEY)?;
    let (remote, tx) = bind_to(&xs, &ev, next, RING_PORT_KEY, peer_timeout)?;
    let w = Wiring {
        self_id: xs.self_id,
        peer: next,
        prev: Some(prev),
        rx_port: Some(rx),
        remote_port: Some(remote),
    };
    Ok((
        XenLink {
            ev,
            rx: Some(rx),
            tx: Some(tx),
            _published: Some(Published::adopt(xs, key)),
        },
        w,
    ))
}

fn cpu_since(c0: Option<Duration>) -> Option<Duration> {
    c0.and_then(|c0| cpu_time(CpuClock::Process).map(|c1| c1.saturating_sub(c0)))
}

fn rate(n: u64, d: Duration) -> f64 {
    let s = d.as_secs_f64();
    if s > 0.0 {
        n as f64 / s
    } else {
        0.0
    }
}

/// What `evstorm` did.
#[derive(Clone, Debug)]
pub struct StormReport {
    pub notifies: u64,
    pub elapsed: Duration,
    pub cpu: Option<Duration>,
    pub wiring: Wiring,
}

impl StormReport {
    pub fn to_json(&self) -> Json {
        self.wiring.json(
            Json::obj()
                .with("tool", "cw-workload")
                .with("mode", "evstorm")
                .with("notifies", self.notifies)
                .with("notifies_per_s", rate(self.notifies, self.elapsed))
                .with("duration_s", self.elapsed.as_secs_f64())
                .with("cpu_s", self.cpu.map(|c| c.as_secs_f64())),
        )
    }
}

/// Notifies as fast as possible for `duration`. The clock is read every 64
/// notifies, so the loop is (almost) only hypercalls.
pub fn storm(link: &mut dyn EventLink, duration: Duration, wiring: Wiring) -> Result<StormReport> {
    let cpu0 = cpu_time(CpuClock::Process);
    let start = Instant::now();
    let end = start + duration;
    let mut notifies = 0u64;
    while Instant::now() < end {
        for _ in 0..64 {
            link.notify()
                .map_err(|e| Error::io(format!("evstorm: notify {}", notifies + 1), e))?;
            notifies += 1;
        }
    }
    Ok(StormReport {
        notifies,
        elapsed: start.elapsed(),
        cpu: cpu_since(cpu0),
        wiring,
    })
}

/// What `evsink` saw.
#[derive(Clone, Debug)]
pub struct SinkReport {
    pub events: u64,
    /// First event to last event.
    pub active: Duration,
    pub elapsed: Duration,
    /// `"duration"` or `"idle"` (the storm stopped).
    pub stopped_by: &'static str,
    pub cpu: Option<Duration>,
    pub wiring: Wiring,
}

impl SinkReport {
    pub fn to_json(&self) -> Json {
        self.wiring.json(
            Json::obj()
                .with("tool", "cw-workload")
                .with("mode", "evsink")
                .with("events", self.events)
                .with("events_per_s", rate(self.events, self.active))
                .with("active_s", self.active.as_secs_f64())
                .with("duration_s", self.elapsed.as_secs_f64())
                .with("stopped_by", self.stopped_by)
                .with("cpu_s", self.cpu.map(|c| c.as_secs_f64())),
        )
    }
}

/// Counts events for at most `duration`; once they have started, stops
/// after `idle` without one.
pub fn sink(
    link: &mut dyn EventLink,
    duration: Duration,
    idle: Duration,
    wiring: Wiring,
) -> Result<SinkReport> {
    let cpu0 = cpu_time(CpuClock::Process);
    let start = Instant::now();
    let end = start + duration;
    let mut events = 0u64;
    let mut first: Option<Instant> = None;
    let mut last = start;
    let stopped_by = loop {
        let now = Instant::now();
        if now >= end {
            break "duration";
        }
        let mut left = end - now;
        if first.is_some() {
            left = left.min(idle);
        }
        if link
            .wait(left)
            .map_err(|e| Error::io("evsink: waiting for an event", e))?
        {
            events += 1;
            last = Instant::now();
            first.get_or_insert(last);
        } else if first.is_some() && Instant::now() < end {
            break "idle";
        }
    };
    Ok(SinkReport {
        events,
        active: first.map(|f| last - f).unwrap_or_default(),
        elapsed: start.elapsed(),
        stopped_by,
        cpu: cpu_since(cpu0),
        wiring,
    })
}

/// What one `evring` member did.
#[derive(Clone, Debug)]
pub struct RingReport {
    pub lead: bool,
    pub work_us: u64,
    /// Events received = times the token went round the ring.
    pub round_trips: u64,
    /// From our first event to the last one.
    pub active: Duration,
    /// `"duration"` or `"idle"` (another member stopped first).
    pub stopped_by: &'static str,
    pub cpu: Option<Duration>,
    pub wiring: Wiring,
}

impl RingReport {
    pub fn to_json(&self) -> Json {
        // The span starts at the first token: the rounds in it are the later ones.
        let rt_per_s = rate(self.round_trips.saturating_sub(1), self.active);
        self.wiring.json(
            Json::obj()
                .with("tool", "cw-workload")
                .with("mode", "evring")
                .with("lead", self.lead)
                .with("work_us", self.work_us)
                .with("round_trips", self.round_trips)
                .with("round_trips_per_s", rt_per_s)
                .with(
                    "round_trip_us",
                    if rt_per_s > 0.0 {
                        Some(1e6 / rt_per_s)
                    } else {
                        None
                    },
                )
                .with("active_s", self.active.as_secs_f64())
                .with("stopped_by", self.stopped_by)
                .with("cpu_s", self.cpu.map(|c| c.as_secs_f64()))
                .with(
                    "cpu_share",
                    self.cpu.and_then(|c| {
                        let a = self.active.as_secs_f64();
                        (a > 0.0).then(|| c.as_secs_f64() / a)
                    }),
                ),
        )
    }
}

/// How an evring member runs.
#[derive(Clone, Copy, Debug)]
pub struct RingConfig {
    /// Sends the first token.
    pub lead: bool,
    pub work_us: u64,
    /// Measured from our first event.
    pub duration: Duration,
    /// How long to wait for the first token (the lead: for it to come round).
    pub start_timeout: Duration,
    /// Once running, a gap this long means the ring has stopped.
    pub idle: Duration,
}

/// Passes the token on until `duration` has passed since it first came by.
/// A member whose time is up stops passing it, which ends the ring: the
/// others then stop after `idle`. Until the token has come by once (every
/// member booted and wired, for the lead a whole round), a member waits up to
/// `start_timeout`.
pub fn ring(
    link: &mut dyn EventLink,
    cfg: &RingConfig,
    burner: &Burner,
    wiring: Wiring,
) -> Result<RingReport> {
    let cpu0 = cpu_time(CpuClock::Process);
    if cfg.lead {
        link.notify()
            .map_err(|e| Error::io("evring: sending the first token", e))?;
    }
    let mut first: Option<Instant> = None;
    let mut round_trips = 0u64;
    let mut last = Instant::now();
    let stopped_by = loop {
        let timeout = if first.is_some() {
            cfg.idle
        } else {
            cfg.start_timeout
        };
        if !link
            .wait(timeout)
            .map_err(|e| Error::io("evring: waiting for the token", e))?
        {
            if first.is_none() {
                return Err(Error::io(
                    format!(
                        "evring: no token from dom{} within {:.0} s (is a member started with --lead?)",
                        wiring.prev.unwrap_or(wiring.peer),
                        cfg.start_timeout.as_secs_f64()
                    ),
                    io::Error::new(io::ErrorKind::TimedOut, "timed out"),
                ));
            }
            break "idle";
        }
        last = Instant::now();
        let f = *first.get_or_insert(last);
        round_trips += 1;
        if last >= f + cfg.duration {
            break "duration";
        }
        burner.burn_us(cfg.work_us);
        link.notify()
            .map_err(|e| Error::io("evring: passing the token", e))?;
    };
    Ok(RingReport {
        lead: cfg.lead,
        work_us: cfg.work_us,
        round_trips,
        active: first
            .map(|f| last.saturating_duration_since(f))
            .unwrap_or_default(),
        stopped_by,
        cpu: cpu_since(cpu0),
        wiring,
    })
}

/// An in-process [`EventLink`]: a member connected to its neighbours by
/// channels (tests).
pub mod fake {
    use super::EventLink;
    use std::io;
    use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
    use std::time::Duration;

    pub struct FakeLink {
        pub tx: Option<Sender<()>>,
        pub rx: Option<Receiver<()>>,
    }

    impl EventLink for FakeLink {
        fn notify(&mut self) -> io::Result<()> {
            let gone = || io::Error::new(io::ErrorKind::BrokenPipe, "peer gone");
            self.tx
                .as_ref()
                .ok_or_else(gone)?
                .send(())
                .map_err(|_| gone())
        }

        fn wait(&mut self, timeout: Duration) -> io::Result<bool> {
            match &self.rx {
                None => Err(io::Error::new(
                    io::ErrorKind::NotConnected,
                    "no receive port",
                )),
                Some(rx) => match rx.recv_timeout(timeout) {
                    Ok(()) => Ok(true),
                    // A dead sender is an idle link, as a dead domain is.
                    Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                        if matches!(rx.try_recv(), Ok(())) {
                            return Ok(true);
                        }
                        std::thread::sleep(timeout.min(Duration::from_millis(1)));
                        Ok(false)
                    }
                },
            }
        }
    }

    /// A ring of `n` links: member i notifies member (i + 1) % n.
    pub fn ring(n: usize) -> Vec<FakeLink> {
        let (txs, rxs): (Vec<_>, Vec<_>) = (0..n).map(|_| channel::<()>()).unzip();
        let mut rxs: Vec<Option<Receiver<()>>> = rxs.into_iter().map(Some).collect();
        (0..n)
            .map(|i| FakeLink {
                tx: Some(txs[(i + 1) % n].clone()),
                rx: rxs[i].take(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::fake::{ring as fake_ring, FakeLink};
    use super::*;
    use crate::burn::Calibration;
    use std::sync::mpsc::channel;
    use std::thread;

    #[test]
    fn storm_into_sink() {
        let (tx, rx) = channel();
        let mut a = FakeLink {
            tx: Some(tx),
            rx: None,
        };
        let mut b = FakeLink {
            tx: None,
            rx: Some(rx),
        };
        let sinker = thread::spawn(move || {
            sink(
                &mut b,
                Duration::from_secs(10),
                Duration::from_millis(200),
                Wiring::default(),
            )
            .unwrap()
        });
        let s = storm(&mut a, Duration::from_millis(100), Wiring::default()).unwrap();
        drop(a);
        let k = sinker.join().unwrap();
        assert!(s.notifies >= 64 && s.notifies.is_multiple_of(64), "{s:?}");
        assert_eq!(k.events, s.notifies, "every fake event arrives");
        assert_eq!(k.stopped_by, "idle");
        assert!(k.elapsed < Duration::from_secs(5));
        let j = s.to_json();
        assert!(j.get("notifies_per_s").and_then(|v| v.as_f64()).unwrap() > 0.0);
        assert_eq!(
            k.to_json().get("mode").and_then(|v| v.as_str()),
            Some("evsink")
        );
    }

    #[test]
    fn sink_without_events_stops_at_duration() {
        let (_tx, rx) = channel::<()>();
        let mut b = FakeLink {
            tx: None,
            rx: Some(rx),
        };
        let k = sink(
            &mut b,
            Duration::from_millis(100),
            Duration::from_millis(10),
            Wiring::default(),
        )
        .unwrap();
        assert_eq!((k.events, k.stopped_by), (0, "duration"));
    }

    #[test]
    fn ring_of_three_goes_round() {
        let burner = Burner::new(Calibration::given(100.0));
        let links = fake_ring(3);
        let handles: Vec<_> = links
            .into_iter()
            .enumerate()
            .map(|(i, mut l)| {
                let cfg = RingConfig {
                    lead: i == 0,
                    work_us: 10,
                    duration: Duration::from_millis(200),
                    start_timeout: Duration::from_secs(5),
                    idle: Duration::from_secs(2),
                };
                thread::spawn(move || ring(&mut l, &cfg, &burner, Wiring::default()).unwrap())
            })
            .collect();
        let reports: Vec<RingReport> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        // At least a few rounds, even on a loaded test machine.
        for r in &reports {
            assert!(r.round_trips >= 3, "{r:?}");
        }
        // One token: the members' counts differ by at most one pass.
        let (mn, mx) = reports.iter().fold((u64::MAX, 0), |(a, b), r| {
            (a.min(r.round_trips), b.max(r.round_trips))
        });
        assert!(mx - mn <= 1, "{reports:?}");
        assert_eq!(
            reports
                .iter()
                .filter(|r| r.stopped_by == "duration")
                .count(),
            1,
            "{reports:?}"
        );
        let j = reports[0].to_json();
        assert_eq!(j.get("lead").map(|v| v.to_line()), Some("true".into()));
        assert!(j.get("round_trips_per_s").and_then(|v| v.as_f64()).unwrap() > 0.0);
    }

    #[test]
    fn ring_without_lead_times_out_with_a_hint() {
        let burner = Burner::new(Calibration::given(100.0));
        let mut l = fake_ring(2).remove(1);
        let cfg = RingConfig {
            lead: false,
            work_us: 0,
            duration: Duration::from_secs(1),
            start_timeout: Duration::from_millis(50),
            idle: Duration::from_millis(50),
        };
        let e = ring(&mut l, &cfg, &burner, Wiring::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("--lead"), "{e}");
    }
}
