//! The FFI edge: Xen's tool libraries (libxenstore, libxenevtchn,
//! libxenvchan), linked statically with the `xen` feature (see build.rs).
//! Every `unsafe` of the crate's Xen support is in this file; everything
//! above it uses the safe handles [`Xs`], [`Evtchn`] and [`Vchan`].

use std::ffi::{c_char, c_int, c_uint, c_ulong, c_void, CString};
use std::io;
use std::ptr::{self, NonNull};
use std::time::Duration;

#[repr(C)]
struct XsHandle {
    _opaque: [u8; 0],
}
#[repr(C)]
struct XceHandle {
    _opaque: [u8; 0],
}
#[repr(C)]
struct VchanCtrl {
    _opaque: [u8; 0],
}

/// `struct xs_permissions` (xenstore_lib.h).
#[repr(C)]
struct XsPermissions {
    id: c_uint,
    perms: c_uint,
}
const XS_PERM_NONE: c_uint = 0x00;
const XS_PERM_READ: c_uint = 0x01;
/// `XBT_NULL`: no transaction.
const XBT_NULL: u32 = 0;

#[repr(C)]
struct PollFd {
    fd: c_int,
    events: i16,
    revents: i16,
}
const POLLIN: i16 = 0x1;

extern "C" {
    fn xs_open(flags: c_ulong) -> *mut XsHandle;
    fn xs_close(h: *mut XsHandle);
    fn xs_read(h: *mut XsHandle, t: u32, path: *const c_char, len: *mut c_uint) -> *mut c_void;
    fn xs_write(
        h: *mut XsHandle,
        t: u32,
        path: *const c_char,
        data: *const c_void,
        len: c_uint,
    ) -> bool;
    fn xs_rm(h: *mut XsHandle, t: u32, path: *const c_char) -> bool;
    fn xs_set_permissions(
        h: *mut XsHandle,
        t: u32,
        path: *const c_char,
        perms: *mut XsPermissions,
        num: c_uint,
    ) -> bool;

    fn xenevtchn_open(logger: *mut c_void, flags: c_uint) -> *mut XceHandle;
    fn xenevtchn_close(x: *mut XceHandle) -> c_int;
    fn xenevtchn_fd(x: *mut XceHandle) -> c_int;
    fn xenevtchn_notify(x: *mut XceHandle, port: u32) -> c_int;
    fn xenevtchn_bind_unbound_port(x: *mut XceHandle, domid: u32) -> c_int;
    fn xenevtchn_bind_interdomain(x: *mut XceHandle, domid: u32, remote_port: u32) -> c_int;
    fn xenevtchn_pending(x: *mut XceHandle) -> c_int;
    fn xenevtchn_unmask(x: *mut XceHandle, port: u32) -> c_int;

    fn libxenvchan_server_init(
        logger: *mut c_void,
        domain: c_int,
        xs_path: *const c_char,
        read_min: usize,
        write_min: usize,
    ) -> *mut VchanCtrl;
    fn libxenvchan_client_init(
        logger: *mut c_void,
        domain: c_int,
        xs_path: *const c_char,
    ) -> *mut VchanCtrl;
    fn libxenvchan_close(c: *mut VchanCtrl);
    fn libxenvchan_recv(c: *mut VchanCtrl, data: *mut c_void, size: usize) -> c_int;
    fn libxenvchan_send(c: *mut VchanCtrl, data: *const c_void, size: usize) -> c_int;
    fn libxenvchan_wait(c: *mut VchanCtrl) -> c_int;
    fn libxenvchan_fd_for_select(c: *mut VchanCtrl) -> c_int;
    fn libxenvchan_is_open(c: *mut VchanCtrl) -> c_int;
    /// csrc/vchan_shim.c
    fn cw_vchan_set_blocking(c: *mut VchanCtrl, blocking: c_int);

    fn poll(fds: *mut PollFd, nfds: c_ulong, timeout: c_int) -> c_int;
    fn free(p: *mut c_void);
}

fn cstr(s: &str) -> io::Result<CString> {
    CString::new(s)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in a xenstore path"))
}

/// Waits until `fd` is readable, at most `timeout`: `Ok(false)` on timeout.
fn poll_in(fd: c_int, timeout: Duration) -> io::Result<bool> {
    let ms = c_int::try_from(timeout.as_millis()).unwrap_or(c_int::MAX);
    let mut p = PollFd {
        fd,
        events: POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: `p` is one valid, writable pollfd for the whole call.
        let rc = unsafe { poll(&mut p, 1, ms) };
        if rc >= 0 {
            return Ok(rc > 0);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// A connection to xenstore (`/dev/xen/xenbus` in a guest, xenstored's
/// socket in dom0).
pub struct Xs(NonNull<XsHandle>);

impl Xs {
    pub fn open() -> io::Result<Xs> {
        // SAFETY: plain call; NULL (checked) means failure with errno set.
        let h = unsafe { xs_open(0) };
        NonNull::new(h).map(Xs).ok_or_else(io::Error::last_os_error)
    }

    /// The value at `path` (absolute or relative to this domain's home).
    pub fn read(&self, path: &str) -> io::Result<String> {
        let p = cstr(path)?;
        let mut len: c_uint = 0;
        // SAFETY: the handle is open, `p` is NUL-terminated and `len`
        // writable; a non-NULL result is a malloc'd buffer of `len` bytes
        // that we own and free below.
        let v = unsafe { xs_read(self.0.as_ptr(), XBT_NULL, p.as_ptr(), &mut len) };
        if v.is_null() {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `v` points to `len` initialised bytes (xs_read's contract).
        let bytes = unsafe { std::slice::from_raw_parts(v.cast::<u8>(), len as usize) }.to_vec();
        // SAFETY: `v` came from xs_read's malloc and is not used after this.
        unsafe { free(v) };
        String::from_utf8(bytes)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("{path}: not UTF-8")))
    }

    pub fn write(&self, path: &str, value: &str) -> io::Result<()> {
        let p = cstr(path)?;
        let len = c_uint::try_from(value.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "value too long"))?;
        // SAFETY: the handle is open, `p` NUL-terminated, `value` valid for `len` bytes.
        let ok = unsafe {
            xs_write(
                self.0.as_ptr(),
                XBT_NULL,
                p.as_ptr(),
                value.as_ptr().cast(),
                len,
            )
        };
        if ok {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Removes `path` (and what is under it).
    pub fn remove(&self, path: &str) -> io::Result<()> {
        let p = cstr(path)?;
        // SAFETY: the handle is open and `p` NUL-terminated.
        if unsafe { xs_rm(self.0.as_ptr(), XBT_NULL, p.as_ptr()) } {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Makes `path` owned by `owner`, unreadable by others except `reader`.
    pub fn owner_and_reader(&self, path: &str, owner: u32, reader: u32) -> io::Result<()> {
        let p = cstr(path)?;
        let mut perms = [
            XsPermissions {
                id: owner,
                perms: XS_PERM_NONE,
            },
            XsPermissions {
                id: reader,
                perms: XS_PERM_READ,
            },
        ];
        // SAFETY: the handle is open, `p` NUL-terminated, `perms` two valid entries.
        let ok = unsafe {
            xs_set_permissions(self.0.as_ptr(), XBT_NULL, p.as_ptr(), perms.as_mut_ptr(), 2)
        };
        if ok {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

impl Drop for Xs {
    fn drop(&mut self) {
        // SAFETY: the handle is open and never used again.
        unsafe { xs_close(self.0.as_ptr()) }
    }
}

/// An event-channel handle (`/dev/xen/evtchn`) and the ports bound on it.
pub struct Evtchn(NonNull<XceHandle>);

fn port_or_err(rc: c_int) -> io::Result<u32> {
    u32::try_from(rc).map_err(|_| io::Error::last_os_error())
}

impl Evtchn {
    pub fn open() -> io::Result<Evtchn> {
        // SAFETY: NULL logger = the library's default (stderr); NULL result
        // (checked) means failure with errno set.
        let h = unsafe { xenevtchn_open(ptr::null_mut(), 0) };
        NonNull::new(h)
            .map(Evtchn)
            .ok_or_else(io::Error::last_os_error)
    }

    /// A new port that domain `remote` may bind to.
    pub fn bind_unbound(&self, remote: u32) -> io::Result<u32> {
        // SAFETY: the handle is open.
        port_or_err(unsafe { xenevtchn_bind_unbound_port(self.0.as_ptr(), remote) })
    }

    /// Binds a local port to `remote`'s unbound `port`; returns the local port.
    pub fn bind_interdomain(&self, remote: u32, port: u32) -> io::Result<u32> {
        // SAFETY: the handle is open.
        port_or_err(unsafe { xenevtchn_bind_interdomain(self.0.as_ptr(), remote, port) })
    }

    pub fn notify(&self, port: u32) -> io::Result<()> {
        // SAFETY: the handle is open.
        if unsafe { xenevtchn_notify(self.0.as_ptr(), port) } == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// The next port with an event, waiting at most `timeout` (`None`: timed
    /// out). The port stays masked until [`Evtchn::unmask`].
    pub fn wait(&self, timeout: Duration) -> io::Result<Option<u32>> {
        // SAFETY: the handle is open.
        let fd = unsafe { xenevtchn_fd(self.0.as_ptr()) };
        if !poll_in(fd, timeout)? {
            return Ok(None);
        }
        // SAFETY: the handle is open; the fd is readable, so this does not block.
        port_or_err(unsafe { xenevtchn_pending(self.0.as_ptr()) }).map(Some)
    }

    pub fn unmask(&self, port: u32) -> io::Result<()> {
        // SAFETY: the handle is open.
        if unsafe { xenevtchn_unmask(self.0.as_ptr(), port) } == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

impl Drop for Evtchn {
    fn drop(&mut self) {
        // SAFETY: the handle is open and never used again; closing unbinds
        // its ports.
        unsafe { xenevtchn_close(self.0.as_ptr()) };
    }
}

/// One end of a libxenvchan channel, non-blocking (we wait with a timeout).
pub struct Vchan(NonNull<VchanCtrl>);

/// What a [`Vchan::recv`] found.
pub enum Recv {
    /// A whole message was copied out.
    Got,
    /// Not enough data yet.
    Empty,
    /// The other end has closed and nothing is left.
    Closed,
}

impl Vchan {
    fn wrap(c: *mut VchanCtrl) -> io::Result<Vchan> {
        let c = NonNull::new(c).ok_or_else(io::Error::last_os_error)?;
        // SAFETY: `c` is a live control structure from *_init.
        unsafe { cw_vchan_set_blocking(c.as_ptr(), 0) };
        Ok(Vchan(c))
    }

    /// Offers a channel to domain `peer` under xenstore `path` (the server
    /// writes ring-ref and event-channel there, readable by `peer`).
    pub fn server(peer: u32, path: &str, ring: usize) -> io::Result<Vchan> {
        let p = cstr(path)?;
        let domain = c_int::try_from(peer)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "domid out of range"))?;
        // SAFETY: NULL logger = default; `p` NUL-terminated; NULL = failure.
        Vchan::wrap(unsafe {
            libxenvchan_server_init(ptr::null_mut(), domain, p.as_ptr(), ring, ring)
        })
    }

    /// Connects to the channel domain `server` offers under `path`.
    pub fn client(server: u32, path: &str) -> io::Result<Vchan> {
        let p = cstr(path)?;
        let domain = c_int::try_from(server)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "domid out of range"))?;
        // SAFETY: NULL logger = default; `p` NUL-terminated; NULL = failure.
        Vchan::wrap(unsafe { libxenvchan_client_init(ptr::null_mut(), domain, p.as_ptr()) })
    }

    /// Sends all of `data` or nothing: `Ok(false)` when the ring is full.
    pub fn send(&self, data: &[u8]) -> io::Result<bool> {
        // SAFETY: the channel is open; `data` is valid for its length.
        match unsafe { libxenvchan_send(self.0.as_ptr(), data.as_ptr().cast(), data.len()) } {
            0 => Ok(false),
            n if n > 0 => Ok(true),
            _ => Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "vchan closed by the other end",
            )),
        }
    }

    /// Receives exactly `buf.len()` bytes if that many are there.
    pub fn recv(&self, buf: &mut [u8]) -> Recv {
        // SAFETY: the channel is open; `buf` is writable for its length.
        match unsafe { libxenvchan_recv(self.0.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) } {
            0 => Recv::Empty,
            n if n > 0 => Recv::Got,
            _ => Recv::Closed,
        }
    }

    /// Whether the other end is (or, for a server, may still become) connected.
    pub fn is_open(&self) -> bool {
        // SAFETY: the channel is open.
        unsafe { libxenvchan_is_open(self.0.as_ptr()) != 0 }
    }

    /// Waits for the other end's next notification, at most `timeout`
    /// (`Ok(false)`: timed out).
    pub fn wait(&self, timeout: Duration) -> io::Result<bool> {
        // SAFETY: the channel is open.
        let fd = unsafe { libxenvchan_fd_for_select(self.0.as_ptr()) };
        if !poll_in(fd, timeout)? {
            return Ok(false);
        }
        // SAFETY: the channel is open; the fd is readable, so this consumes
        // the pending event without blocking and unmasks the port.
        if unsafe { libxenvchan_wait(self.0.as_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(true)
    }
}

impl Drop for Vchan {
    fn drop(&mut self) {
        // SAFETY: the channel is open and never used again; this marks our
        // side dead, notifies the peer, unmaps and (server) removes the
        // xenstore entries.
        unsafe { libxenvchan_close(self.0.as_ptr()) }
    }
}
