//! Domain and cpupool names, from xenstore.
//!
//! `xl` names a domain by `/local/domain/<domid>/name` and a cpupool by
//! `/local/pool/<id>/name`. We read those nodes ourselves with the xenstore
//! wire protocol (`xen/include/public/io/xs_wire.h`: a 16-byte header
//! `{type, req_id, tx_id, len}` and the payload) over xenstored's socket or
//! the kernel's `/dev/xen/xenbus`, so the tool needs no libxenstore and no
//! `xl`. If xenstore is unreachable, names show as "-" and a DOMAIN given by
//! name is an error that asks for a domid.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

const XS_READ: u32 = 2;
const XS_ERROR: u32 = 16;
/// xenstored's socket (Debian: /run/xenstored/socket), then the kernel device.
const XENSTORE_PATHS: [&str; 3] = [
    "/run/xenstored/socket",
    "/var/run/xenstored/socket",
    "/dev/xen/xenbus",
];
/// Largest payload xenstore sends (`XENSTORE_PAYLOAD_MAX`).
const PAYLOAD_MAX: u32 = 4096;

/// Where names come from. `Err` means "cannot tell" (xenstore unreachable).
pub trait Names {
    fn read(&mut self, path: &str) -> Result<Option<String>, String>;

    fn domain_name(&mut self, domid: u16) -> Result<Option<String>, String> {
        self.read(&format!("/local/domain/{domid}/name"))
    }

    fn pool_name(&mut self, pool: u32) -> Result<Option<String>, String> {
        self.read(&format!("/local/pool/{pool}/name"))
    }
}

/// A connection to xenstore (or the reason there is none).
pub struct Xenstore {
    conn: Result<Box<dyn Conn>, String>,
    req_id: u32,
}

pub trait Conn: Read + Write {}
impl<T: Read + Write> Conn for T {}

impl Xenstore {
    /// Connect to the first xenstore endpoint that answers.
    pub fn connect() -> Xenstore {
        let mut why = Vec::new();
        for p in XENSTORE_PATHS {
            let conn: std::io::Result<Box<dyn Conn>> = if p.starts_with("/dev/") {
                std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(p)
                    .map(|f| Box::new(f) as Box<dyn Conn>)
            } else {
                UnixStream::connect(p).map(|s| Box::new(s) as Box<dyn Conn>)
            };
            match conn {
                Ok(c) => return Xenstore::over(c),
                Err(e) => why.push(format!("{p}: {e}")),
            }
        }
        Xenstore {
            conn: Err(format!("xenstore unreachable ({})", why.join("; "))),
            req_id: 0,
        }
    }

    /// Speak the protocol over any stream (tests use an in-memory one).
    pub fn over(conn: Box<dyn Conn>) -> Xenstore {
        Xenstore {
            conn: Ok(conn),
            req_id: 0,
        }
    }
}

impl Names for Xenstore {
    fn read(&mut self, path: &str) -> Result<Option<String>, String> {
        self.req_id = self.req_id.wrapping_add(1);
        let req_id = self.req_id;
        let conn = self.conn.as_mut().map_err(|e| e.clone())?;
        let mut msg = Vec::with_capacity(16 + path.len() + 1);
        let len = u32::try_from(path.len() + 1).map_err(|_| "path too long".to_string())?;
        for word in [XS_READ, req_id, 0, len] {
            msg.extend_from_slice(&word.to_le_bytes());
        }
        msg.extend_from_slice(path.as_bytes());
        msg.push(0);
        let io = |e: std::io::Error| format!("xenstore: {e}");
        conn.write_all(&msg).map_err(io)?;
        let mut hdr = [0u8; 16];
        conn.read_exact(&mut hdr).map_err(io)?;
        let word = |i: usize| u32::from_le_bytes([hdr[i], hdr[i + 1], hdr[i + 2], hdr[i + 3]]);
        let (ty, len) = (word(0), word(12));
        if len > PAYLOAD_MAX {
            return Err(format!("xenstore: reply of {len} bytes"));
        }
        let mut body = vec![0u8; len as usize];
        conn.read_exact(&mut body).map_err(io)?;
        while body.last() == Some(&0) {
            body.pop();
        }
        let text = String::from_utf8_lossy(&body).into_owned();
        match ty {
            XS_READ => Ok(Some(text)),
            // ENOENT: no such node (e.g. a domain being built); EACCES: not ours.
            XS_ERROR if text == "ENOENT" || text == "EACCES" => Ok(None),
            XS_ERROR => Err(format!("xenstore: {text}")),
            other => Err(format!("xenstore: unexpected reply type {other}")),
        }
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::io::Cursor;

    /// Names from a map; `None` for the whole map means "xenstore down".
    pub struct MapNames(pub Option<BTreeMap<String, String>>);

    impl Names for MapNames {
        fn read(&mut self, path: &str) -> Result<Option<String>, String> {
            match &self.0 {
                Some(m) => Ok(m.get(path).cloned()),
                None => Err("xenstore unreachable (test)".into()),
            }
        }
    }

    /// Replies scripted in advance; records what was written.
    struct Scripted {
        replies: Cursor<Vec<u8>>,
        written: std::rc::Rc<std::cell::RefCell<Vec<u8>>>,
    }
    impl Read for Scripted {
        fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
            self.replies.read(b)
        }
    }
    impl Write for Scripted {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.written.borrow_mut().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn reply(ty: u32, req: u32, body: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        for w in [ty, req, 0, body.len() as u32] {
            v.extend_from_slice(&w.to_le_bytes());
        }
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn wire_protocol_read_and_enoent() {
        let mut replies = reply(XS_READ, 1, b"Domain-0");
        replies.extend(reply(XS_ERROR, 2, b"ENOENT\0"));
        let written = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let conn = Scripted {
            replies: Cursor::new(replies),
            written: written.clone(),
        };
        let mut xs = Xenstore::over(Box::new(conn));
        assert_eq!(xs.domain_name(0), Ok(Some("Domain-0".to_string())));
        assert_eq!(xs.domain_name(7), Ok(None));
        // A closed connection is an error, not "no name".
        assert!(xs.pool_name(0).is_err());
        let w = written.borrow();
        let path = b"/local/domain/0/name\0";
        assert_eq!(&w[..16], &reply(XS_READ, 1, path)[..16]);
        assert_eq!(&w[16..16 + path.len()], path);
    }
}
