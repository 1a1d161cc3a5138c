//! The `vchan` transport: libxenvchan between two guests.
//!
//! The server offers the channel to its peer under
//! `/local/domain/<server>/data/cw-vchan` (ring-ref + event-channel, readable
//! by the peer); the client, which learns the server's domid the same way,
//! maps the granted ring and binds the event channel. Both ends run
//! non-blocking and wait on the event channel's fd with a timeout, so an
//! absent peer is an error with a message, never a hang.

use super::sys::{Recv, Vchan};
use super::xs::{data_path, Store, PEER_KEY, VCHAN_KEY};
use crate::proto::Msg;
use crate::transport::{MsgConn, VchanTarget};
use crate::{Error, Result};
use std::io::{self, ErrorKind};
use std::thread;
use std::time::{Duration, Instant};

/// Minimum ring size each way: many 64-byte messages (libxenvchan then puts
/// both rings in the shared control page).
const RING_MIN: usize = 1024;

/// A connected vchan end carrying whole 64-byte messages.
pub struct VchanConn {
    ch: Vchan,
    /// A receive (or a send into a full ring) waits at most this long...
    pub timeout: Duration,
    /// ...and never past this (the server's end of run).
    pub deadline: Option<Instant>,
}

impl VchanConn {
    /// Whether the other end is (or, for a server, may still become) connected.
    pub fn is_open(&self) -> bool {
        self.ch.is_open()
    }

    fn deadline(&self) -> Instant {
        let d = Instant::now() + self.timeout;
        self.deadline.map_or(d, |e| e.min(d))
    }

    fn wait_event(&self, deadline: Instant, what: &str) -> io::Result<()> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || !self.ch.wait(left)? {
            return Err(io::Error::new(
                ErrorKind::TimedOut,
                format!("vchan: nothing {what} in time"),
            ));
        }
        Ok(())
    }
}

impl MsgConn for VchanConn {
    fn send_msg(&mut self, m: &Msg) -> io::Result<()> {
        let deadline = self.deadline();
        while !self.ch.send(m)? {
            // Ring full: the reader notifies when it consumes.
            self.wait_event(deadline, "consumed from a full ring")?;
        }
        Ok(())
    }

    fn recv_msg(&mut self, m: &mut Msg) -> io::Result<bool> {
        let deadline = self.deadline();
        loop {
            match self.ch.recv(m) {
                Recv::Got => return Ok(true),
                Recv::Closed => return Ok(false),
                Recv::Empty => self.wait_event(deadline, "received")?,
            }
        }
    }
}

/// Where the channel of `server` lives.
pub fn path_for(target: &VchanTarget, server: u32) -> String {
    target
        .path
        .clone()
        .unwrap_or_else(|| data_path(server, VCHAN_KEY))
}

/// Server side: offers the channel to the peer. Returns the connection (not
/// yet necessarily connected: a receive waits for the client), the peer and
/// the path.
pub fn offer(target: &VchanTarget) -> Result<(VchanConn, u32, String)> {
    let xs = Store::open()?;
    let peer = xs.peer(target.peer, PEER_KEY, target.peer_timeout)?;
    let path = path_for(target, xs.self_id);
    let ch = Vchan::server(peer, &path, RING_MIN).map_err(|e| {
        Error::io(
            format!(
                "vchan: offering {path} to dom{peer} (needs /dev/xen/gntalloc and /dev/xen/evtchn)"
            ),
            e,
        )
    })?;
    Ok((
        VchanConn {
            ch,
            timeout: Duration::from_secs(10),
            deadline: None,
        },
        peer,
        path,
    ))
}

/// Client side: connects to the peer's channel, retrying every 200 ms (the
/// server may not have offered it yet) until `connect_timeout`. Returns the
/// connection, the server's domid, the path and the number of attempts.
pub fn connect(
    target: &VchanTarget,
    connect_timeout: Duration,
    io_timeout: Duration,
) -> Result<(VchanConn, u32, String, u32)> {
    let xs = Store::open()?;
    let server = xs.peer(target.peer, PEER_KEY, target.peer_timeout)?;
    let path = path_for(target, server);
    let start = Instant::now();
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        match Vchan::client(server, &path) {
            Ok(ch) => {
                return Ok((
                    VchanConn {
                        ch,
                        timeout: io_timeout,
                        deadline: None,
                    },
                    server,
                    path,
                    attempts,
                ))
            }
            Err(e) => {
                if start.elapsed() >= connect_timeout {
                    return Err(Error::io(
                        format!(
                            "vchan: cannot connect to dom{server} at {path} \
                             (gave up after {attempts} attempts in {:.1} s; is the server running? \
                             raise --connect-timeout to wait longer)",
                            start.elapsed().as_secs_f64()
                        ),
                        e,
                    ));
                }
                thread::sleep(Duration::from_millis(200));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_and_given_paths() {
        let mut t = VchanTarget {
            peer: None,
            path: None,
            peer_timeout: Duration::from_secs(1),
        };
        assert_eq!(path_for(&t, 4), "/local/domain/4/data/cw-vchan");
        t.path = Some("/local/domain/4/data/other".into());
        assert_eq!(path_for(&t, 4), "/local/domain/4/data/other");
    }

    #[cfg(not(feature = "xen"))]
    #[test]
    fn without_xen_the_error_says_how_to_get_it() {
        let t = VchanTarget {
            peer: Some(1),
            path: None,
            peer_timeout: Duration::from_secs(1),
        };
        let e = match offer(&t) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("no Xen support, yet a vchan"),
        };
        assert!(
            e.contains("without Xen support") && e.contains("build-workload.sh"),
            "{e}"
        );
    }
}
