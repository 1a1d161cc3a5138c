//! How the request/response pair talks: one 64-byte message at a time over
//! a [`MsgConn`], whatever carries it.
//!
//! * `tcp` (default): a TCP stream through the guests' netfront, dom0's
//!   netback and bridge — two event-channel hops each way.
//! * `vchan`: a direct guest↔guest channel (libxenvchan: a ring in pages the
//!   server grants to the client, plus one interdomain event channel; the
//!   XenLoop/XenSocket path), no dom0 on the data path. See [`crate::xen`].
//!
//! The client's closed loop and the server's per-connection loop are written
//! once against [`MsgConn`]; [`pipe`] is an in-process implementation for
//! tests.

use crate::proto::{Msg, MSG_LEN};
use crate::{Error, Result};
use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

/// A message channel.
pub trait MsgConn {
    /// Sends one message.
    fn send_msg(&mut self, m: &Msg) -> io::Result<()>;
    /// Receives one whole message. `Ok(false)`: the peer closed the channel
    /// cleanly, between messages. A timeout is an error of kind
    /// `TimedOut` or `WouldBlock`.
    fn recv_msg(&mut self, m: &mut Msg) -> io::Result<bool>;
}

impl MsgConn for TcpStream {
    fn send_msg(&mut self, m: &Msg) -> io::Result<()> {
        self.write_all(m)
    }

    fn recv_msg(&mut self, m: &mut Msg) -> io::Result<bool> {
        let mut got = 0usize;
        while got < MSG_LEN {
            match self.read(&mut m[got..]) {
                Ok(0) if got == 0 => return Ok(false),
                Ok(0) => {
                    return Err(io::Error::new(
                        ErrorKind::UnexpectedEof,
                        format!("peer closed after {got} of {MSG_LEN} bytes of a message"),
                    ))
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // A peer that exits may reset instead of closing: fine
                // between messages.
                Err(e) if got == 0 && e.kind() == ErrorKind::ConnectionReset => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }
}

/// Which transport (`--transport`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Vchan,
}

impl Transport {
    pub fn parse(v: &str) -> Result<Transport> {
        match v {
            "tcp" => Ok(Transport::Tcp),
            "vchan" => Ok(Transport::Vchan),
            _ => Err(Error::Usage(format!(
                "--transport: `{v}` is neither tcp nor vchan"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Vchan => "vchan",
        }
    }
}

/// Where a vchan lives: the peer domain and the xenstore directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VchanTarget {
    /// The other domain; `None`: wait for `data/cw-peer` in our xenstore
    /// area (dom0's test writes it).
    pub peer: Option<u32>,
    /// `None`: `/local/domain/<server>/data/cw-vchan`.
    pub path: Option<String>,
    /// How long to wait for `data/cw-peer`.
    pub peer_timeout: Duration,
}

/// What a client connects to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Tcp(SocketAddr),
    Vchan(VchanTarget),
}

impl From<SocketAddr> for Endpoint {
    fn from(a: SocketAddr) -> Endpoint {
        Endpoint::Tcp(a)
    }
}

impl Endpoint {
    pub fn transport(&self) -> Transport {
        match self {
            Endpoint::Tcp(_) => Transport::Tcp,
            Endpoint::Vchan(_) => Transport::Vchan,
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp(a) => write!(f, "{a}"),
            Endpoint::Vchan(t) => {
                match t.peer {
                    Some(p) => write!(f, "vchan:dom{p}")?,
                    None => write!(f, "vchan:peer-from-xenstore")?,
                }
                match &t.path {
                    Some(p) => write!(f, ":{p}"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// One end of an in-process message pipe (tests, and anything that wants
/// the client/server loops without a network).
pub struct PipeEnd {
    tx: Option<Sender<Msg>>,
    rx: Receiver<Msg>,
    timeout: Duration,
}

/// Two connected [`PipeEnd`]s; a receive waits at most `timeout`.
pub fn pipe(timeout: Duration) -> (PipeEnd, PipeEnd) {
    let (atx, brx) = mpsc::channel();
    let (btx, arx) = mpsc::channel();
    (
        PipeEnd {
            tx: Some(atx),
            rx: arx,
            timeout,
        },
        PipeEnd {
            tx: Some(btx),
            rx: brx,
            timeout,
        },
    )
}

impl PipeEnd {
    /// Closes the sending direction (the other end then sees a clean close).
    pub fn close(&mut self) {
        self.tx = None;
    }
}

impl MsgConn for PipeEnd {
    fn send_msg(&mut self, m: &Msg) -> io::Result<()> {
        let closed = || io::Error::new(ErrorKind::BrokenPipe, "pipe closed");
        self.tx
            .as_ref()
            .ok_or_else(closed)?
            .send(*m)
            .map_err(|_| closed())
    }

    fn recv_msg(&mut self, m: &mut Msg) -> io::Result<bool> {
        match self.rx.recv_timeout(self.timeout) {
            Ok(v) => {
                *m = v;
                Ok(true)
            }
            Err(RecvTimeoutError::Disconnected) => Ok(false),
            Err(RecvTimeoutError::Timeout) => Err(io::Error::new(
                ErrorKind::TimedOut,
                "no message within the timeout",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto;

    #[test]
    fn transport_names() {
        assert_eq!(Transport::parse("tcp").unwrap(), Transport::Tcp);
        assert_eq!(Transport::parse("vchan").unwrap().name(), "vchan");
        let e = Transport::parse("udp").unwrap_err().to_string();
        assert!(e.contains("neither tcp nor vchan"), "{e}");
    }

    #[test]
    fn endpoint_display() {
        let a: SocketAddr = "10.0.0.2:7000".parse().unwrap();
        assert_eq!(Endpoint::from(a).to_string(), "10.0.0.2:7000");
        let v = Endpoint::Vchan(VchanTarget {
            peer: Some(5),
            path: Some("/local/domain/5/data/x".into()),
            peer_timeout: Duration::from_secs(1),
        });
        assert_eq!(v.to_string(), "vchan:dom5:/local/domain/5/data/x");
        assert_eq!(v.transport(), Transport::Vchan);
    }

    #[test]
    fn pipe_carries_messages_and_reports_close_and_timeout() {
        let (mut a, mut b) = pipe(Duration::from_millis(50));
        a.send_msg(&proto::request(3)).unwrap();
        let mut m = [0u8; MSG_LEN];
        assert!(b.recv_msg(&mut m).unwrap());
        assert_eq!(proto::parse_request(&m), Ok(3));
        let e = b.recv_msg(&mut m).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TimedOut);
        a.close();
        assert!(!b.recv_msg(&mut m).unwrap());
        assert!(a.send_msg(&m).is_err());
    }
}
