//! The crate's error type: every message says what failed and on what.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// What went wrong.
#[derive(Debug)]
pub enum Error {
    /// Bad command line; the message is for the user (exit status 2).
    Usage(String),
    /// Could not connect within the connect timeout.
    Connect {
        addr: SocketAddr,
        waited: Duration,
        attempts: u32,
        last: io::Error,
    },
    /// Could not bind/listen.
    Bind { addr: SocketAddr, source: io::Error },
    /// An I/O error on an established connection or socket.
    Io { context: String, source: io::Error },
    /// The peer sent something that is not our protocol.
    Protocol(String),
    /// Writing the JSON report failed.
    Output { path: String, source: io::Error },
    /// The mode needs something this build lacks (Xen support).
    Unsupported(String),
}

/// The crate's result alias.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Wraps an I/O error with a description of what was being done.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// The process exit status for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            _ => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) => write!(f, "usage: {m}"),
            Error::Connect {
                addr,
                waited,
                attempts,
                last,
            } => write!(
                f,
                "cannot connect to {addr}: {last} (gave up after {attempts} attempts in {:.1} s; \
                 is the server running and the network up? raise --connect-timeout to wait longer)",
                waited.as_secs_f64()
            ),
            Error::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            Error::Io { context, source } => write!(f, "{context}: {source}"),
            Error::Protocol(m) => write!(f, "protocol error: {m}"),
            Error::Output { path, source } => write!(f, "cannot write {path}: {source}"),
            Error::Unsupported(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Connect { last, .. } => Some(last),
            Error::Bind { source, .. }
            | Error::Io { source, .. }
            | Error::Output { source, .. } => Some(source),
            Error::Usage(_) | Error::Protocol(_) | Error::Unsupported(_) => None,
        }
    }
}
