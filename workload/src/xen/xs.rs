//! xenstore paths and peer discovery.
//!
//! Conventions (all under a domain's own `data/` directory, which libxl
//! creates writable by the domain):
//!
//! | key | written by | value |
//! |---|---|---|
//! | `data/cw-peer` | dom0's test | the peer's domid (for `evring`: the next member) |
//! | `data/cw-prev` | dom0's test | `evring`: the previous member |
//! | `data/cw-vchan/` | the vchan server (libxenvchan) | `ring-ref`, `event-channel` |
//! | `data/cw-evport` | `evsink` | its unbound port, readable by the storm's domain |
//! | `data/cw-evring-port` | each `evring` member | its unbound port, readable by the previous member |

use super::sys::Xs;
use crate::{Error, Result};
use std::thread;
use std::time::{Duration, Instant};

pub const PEER_KEY: &str = "cw-peer";
pub const PREV_KEY: &str = "cw-prev";
pub const VCHAN_KEY: &str = "cw-vchan";
pub const EVPORT_KEY: &str = "cw-evport";
pub const RING_PORT_KEY: &str = "cw-evring-port";

/// Domain ids from here on are Xen's reserved ones (DOMID_FIRST_RESERVED).
pub const DOMID_FIRST_RESERVED: u32 = 0x7ff0;

/// `/local/domain/<dom>/data/<key>`.
pub fn data_path(dom: u32, key: &str) -> String {
    format!("/local/domain/{dom}/data/{key}")
}

/// Parses a domid as xenstore holds it (decimal, maybe with whitespace).
pub fn parse_domid(what: &str, v: &str) -> Result<u32> {
    match v.trim().parse::<u32>() {
        Ok(d) if d < DOMID_FIRST_RESERVED => Ok(d),
        _ => Err(Error::Protocol(format!(
            "{what}: `{}` is not a domain id (0..{})",
            v.trim(),
            DOMID_FIRST_RESERVED - 1
        ))),
    }
}

/// Parses an event-channel port number (> 0: port 0 is never bound).
pub fn parse_port(what: &str, v: &str) -> Result<u32> {
    match v.trim().parse::<u32>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(Error::Protocol(format!(
            "{what}: `{}` is not an event-channel port",
            v.trim()
        ))),
    }
}

/// Calls `probe` every `every` until it gives a value or `timeout` passed
/// (then `None`; `probe` is always called at least once).
pub fn poll_until<T>(
    timeout: Duration,
    every: Duration,
    mut probe: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = probe() {
            return Some(v);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        thread::sleep(every.min(deadline - now));
    }
}

/// How often a wait for a xenstore key looks again. Setup only: nothing
/// polls once a channel is up.
const POLL_EVERY: Duration = Duration::from_millis(100);

/// A xenstore connection and our own domid.
pub struct Store {
    xs: Xs,
    pub self_id: u32,
}

impl Store {
    /// Connects and reads our domid (the relative key `domid`).
    pub fn open() -> Result<Store> {
        let xs = Xs::open().map_err(|e| {
            Error::io(
                "xenstore: cannot connect (is /dev/xen/xenbus there, or xenstored running?)",
                e,
            )
        })?;
        let v = xs
            .read("domid")
            .map_err(|e| Error::io("xenstore: reading our own `domid`", e))?;
        let self_id = parse_domid("xenstore `domid`", &v)?;
        Ok(Store { xs, self_id })
    }

    /// Reads `path` now.
    pub fn read(&self, path: &str) -> Result<String> {
        self.xs
            .read(path)
            .map_err(|e| Error::io(format!("xenstore: reading {path}"), e))
    }

    /// Waits up to `timeout` for `path` to exist.
    pub fn wait(&self, path: &str, timeout: Duration, hint: &str) -> Result<String> {
        poll_until(timeout, POLL_EVERY, || self.xs.read(path).ok()).ok_or_else(|| {
            Error::io(
                format!(
                    "xenstore: {path} did not appear within {:.0} s ({hint})",
                    timeout.as_secs_f64()
                ),
                std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out"),
            )
        })
    }

    /// The domid given on the command line, or else the one dom0 writes at
    /// our `data/<key>` (waited for up to `timeout`).
    pub fn peer(&self, given: Option<u32>, key: &str, timeout: Duration) -> Result<u32> {
        if let Some(p) = given {
            return Ok(p);
        }
        let path = data_path(self.self_id, key);
        let v = self.wait(
            &path,
            timeout,
            &format!(
                "dom0 writes it: xenstore-write {path} <domid>; or pass the domid as an option"
            ),
        )?;
        parse_domid(&path, &v)
    }

    /// Writes `value` at our own `data/<key>`, readable by domain `reader`
    /// (and nobody else but us and dom0); returns the path.
    pub fn publish(&self, key: &str, value: &str, reader: u32) -> Result<String> {
        let path = data_path(self.self_id, key);
        self.xs
            .write(&path, value)
            .map_err(|e| Error::io(format!("xenstore: writing {path}"), e))?;
        self.xs
            .owner_and_reader(&path, self.self_id, reader)
            .map_err(|e| Error::io(format!("xenstore: letting dom{reader} read {path}"), e))?;
        Ok(path)
    }
}

/// A key we published, removed again when dropped: a port left behind would
/// be stale once our event channel is closed (a later binder would get
/// EINVAL instead of waiting for the new one).
pub struct Published {
    store: Store,
    pub path: String,
}

impl Published {
    /// Takes over `path`, which `store` published.
    pub fn adopt(store: Store, path: String) -> Published {
        Published { store, path }
    }
}

impl Drop for Published {
    fn drop(&mut self) {
        // Best effort: the domain may be going away anyway.
        let _ = self.store.xs.remove(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(data_path(3, PEER_KEY), "/local/domain/3/data/cw-peer");
        assert_eq!(data_path(0, EVPORT_KEY), "/local/domain/0/data/cw-evport");
        assert_eq!(data_path(12, VCHAN_KEY), "/local/domain/12/data/cw-vchan");
    }

    #[test]
    fn domids_and_ports() {
        assert_eq!(parse_domid("k", " 7\n").unwrap(), 7);
        assert_eq!(parse_domid("k", "0").unwrap(), 0);
        assert!(parse_domid("k", "32752").is_err()); // DOMID_FIRST_RESERVED
        let e = parse_domid("/local/domain/1/data/cw-peer", "x")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cw-peer") && e.contains("not a domain id"),
            "{e}"
        );
        assert_eq!(parse_port("p", "42").unwrap(), 42);
        assert!(parse_port("p", "0").is_err());
        assert!(parse_port("p", "-1").is_err());
    }

    #[test]
    fn poll_until_gives_up_and_succeeds() {
        let t0 = Instant::now();
        let r: Option<()> =
            poll_until(Duration::from_millis(60), Duration::from_millis(10), || {
                None
            });
        assert!(r.is_none());
        assert!(t0.elapsed() >= Duration::from_millis(60));
        let mut n = 0;
        let r = poll_until(Duration::from_secs(5), Duration::from_millis(1), || {
            n += 1;
            (n == 3).then_some(n)
        });
        assert_eq!(r, Some(3));
    }
}
