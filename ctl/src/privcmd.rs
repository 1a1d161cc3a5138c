//! The real [`Hypervisor`]: `IOCTL_PRIVCMD_HYPERCALL` on `/dev/xen/privcmd`.
//!
//! This module holds all of the crate's `unsafe` code: `mmap`/`munmap` of
//! hypercall buffers, copies of envelopes into and out of them, and the
//! ioctl. Everything Xen reads or writes during a hypercall lives in a
//! hypercall buffer, never on our stack or heap: Xen accesses it by guest
//! virtual address and must not fault on it. Like libxencall
//! (`tools/libs/call/linux.c`), buffers are mapped from `/dev/xen/hypercall`
//! (Linux >= 4.18), or, when that device is missing, are anonymous memory
//! that is locked (`MAP_LOCKED`) and not inherited by children
//! (`MADV_DONTFORK`).

use std::fs::{File, OpenOptions};
use std::io;
use std::mem::{align_of, size_of};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

use crate::error::Error;
use crate::hypervisor::{Domctl, Errno, Hypervisor, Sysctl};
use crate::xen::{
    privcmd_hypercall, xen_domctl_getdomaininfo, DomctlGetdomaininfo, DomctlSchedulerOp,
    SysctlCpupoolOp, SysctlGetdomaininfolist, SysctlSchedulerOp, HYPERVISOR_DOMCTL,
    HYPERVISOR_SYSCTL, IOCTL_PRIVCMD_HYPERCALL,
};

pub const PRIVCMD_PATH: &str = "/dev/xen/privcmd";
pub const PROC_PRIVCMD_PATH: &str = "/proc/xen/privcmd";
pub const HYPERCALL_BUF_PATH: &str = "/dev/xen/hypercall";
/// x86_64 pages (the only architecture commaware targets).
const PAGE_SIZE: usize = 4096;
/// Where the array of a getdomaininfolist goes, after its envelope.
const ARRAY_OFFSET: usize = 256;

/// Plain old data that crosses the hypercall boundary by byte copy.
///
/// # Safety
/// Implementors are `#[repr(C)]`, contain only integers and arrays of
/// integers (every bit pattern is a valid value), and have no implicit
/// padding (their padding is explicit fields), so copying one to or from
/// raw bytes is sound.
unsafe trait Plain: Copy {}

// SAFETY: repr(C), integer fields only, padding explicit; layout pinned in xen.rs.
unsafe impl Plain for SysctlCpupoolOp {}
// SAFETY: as above; the commaware payload (bindgen) is integers only, padded explicitly.
unsafe impl Plain for SysctlSchedulerOp {}
// SAFETY: as above.
unsafe impl Plain for SysctlGetdomaininfolist {}
// SAFETY: as above.
unsafe impl Plain for DomctlGetdomaininfo {}
// SAFETY: as above; xen_domctl_sched_commaware has an explicit `pad`.
unsafe impl Plain for DomctlSchedulerOp {}
// SAFETY: as above (pad1, pad2 explicit).
unsafe impl Plain for xen_domctl_getdomaininfo {}

/// An open privcmd handle.
#[derive(Debug)]
pub struct Privcmd {
    privcmd: File,
    /// `/dev/xen/hypercall`, or `None` to use locked anonymous memory.
    bufdev: Option<File>,
    /// The ioctl itself: [`privcmd_ioctl`], or in tests a stand-in that
    /// plays Xen on the real hypercall buffers.
    ioctl: IoctlFn,
}

/// Issue one `privcmd_hypercall`; `Err` carries the errno.
type IoctlFn = fn(&File, &mut privcmd_hypercall) -> Result<(), Errno>;

/// `ioctl(fd, IOCTL_PRIVCMD_HYPERCALL, hc)`.
fn privcmd_ioctl(f: &File, hc: &mut privcmd_hypercall) -> Result<(), Errno> {
    // SAFETY: `hc` is a valid privcmd_hypercall that outlives the call;
    // the kernel reads it and passes arg[0] to Xen, which accesses only
    // the envelope (and the arrays its handles point to), all inside a
    // live hypercall buffer (see `Privcmd::hypercall`). On a file that is
    // not privcmd the ioctl fails with ENOTTY and touches nothing.
    let rc = unsafe {
        libc::ioctl(
            f.as_raw_fd(),
            IOCTL_PRIVCMD_HYPERCALL as _,
            hc as *mut privcmd_hypercall,
        )
    };
    if rc < 0 {
        let errno = io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO);
        return Err(Errno(errno));
    }
    Ok(())
}

impl Privcmd {
    /// Open `/dev/xen/privcmd`, or as libxencall falls back to it, xenfs's
    /// `/proc/xen/privcmd`; and `/dev/xen/hypercall` if present.
    pub fn open() -> Result<Self, Error> {
        let bufdev = Path::new(HYPERCALL_BUF_PATH);
        match Self::open_at(Path::new(PRIVCMD_PATH), bufdev) {
            Err(first @ Error::NoPrivcmd { .. }) => {
                match Self::open_at(Path::new(PROC_PRIVCMD_PATH), bufdev) {
                    Err(Error::NoPrivcmd { .. }) => Err(first),
                    other => other,
                }
            }
            other => other,
        }
    }

    /// Open the given device paths (the test seam for the error paths).
    pub fn open_at(privcmd: &Path, bufdev: &Path) -> Result<Self, Error> {
        let path = privcmd.to_path_buf();
        let privcmd = OpenOptions::new()
            .read(true)
            .write(true)
            .open(privcmd)
            .map_err(|e| open_error(path, e))?;
        let bufdev = match OpenOptions::new().read(true).write(true).open(bufdev) {
            Ok(f) => Some(f),
            // As libxencall: only a missing device means "fall back".
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(Error::HypercallBuffer {
                    path: Some(bufdev.to_path_buf()),
                    source: e,
                })
            }
        };
        Ok(Privcmd {
            privcmd,
            bufdev,
            ioctl: privcmd_ioctl,
        })
    }

    /// Whether hypercall buffers come from `/dev/xen/hypercall`.
    pub fn has_buffer_device(&self) -> bool {
        self.bufdev.is_some()
    }

    fn buffer(&self, len: usize) -> Result<HypercallBuf, Errno> {
        HypercallBuf::new(self.bufdev.as_ref(), len)
            .map_err(|e| Errno(e.raw_os_error().unwrap_or(libc::ENOMEM)))
    }

    /// The ioctl: hypercall `op` with its one argument, the address of the
    /// envelope in `buf`.
    fn hypercall(&self, op: u64, buf: &HypercallBuf) -> Result<(), Errno> {
        let mut hc = privcmd_hypercall {
            op,
            arg: [buf.addr(), 0, 0, 0, 0],
        };
        (self.ioctl)(&self.privcmd, &mut hc)
    }

    /// Bounce one envelope through a hypercall buffer.
    fn call<T: Plain>(&self, op: u64, env: &mut T) -> Result<(), Errno> {
        let buf = self.buffer(size_of::<T>())?;
        buf.write(0, env)?;
        self.hypercall(op, &buf)?;
        *env = buf.read(0)?;
        Ok(())
    }
}

fn open_error(path: PathBuf, e: io::Error) -> Error {
    match e.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ENXIO) | Some(libc::ENODEV) => {
            Error::NoPrivcmd { path, source: e }
        }
        Some(libc::EACCES) | Some(libc::EPERM) => Error::PrivcmdPermission { path },
        _ => Error::Io {
            what: format!("cannot open {}", path.display()),
            source: e,
        },
    }
}

impl Hypervisor for Privcmd {
    fn sysctl(&mut self, op: Sysctl<'_>) -> Result<(), Errno> {
        match op {
            Sysctl::CpupoolOp(env) => self.call(HYPERVISOR_SYSCTL, env),
            Sysctl::SchedulerOp(env) => self.call(HYPERVISOR_SYSCTL, env),
            Sysctl::Getdomaininfolist(env, out) => {
                let item = size_of::<xen_domctl_getdomaininfo>();
                let n = out.len().min(env.u.max_domains as usize);
                let buf = self.buffer(ARRAY_OFFSET + n * item)?;
                env.u.max_domains = u32::try_from(n).map_err(|_| Errno::EINVAL)?;
                env.u.buffer = buf.addr() + ARRAY_OFFSET as u64;
                buf.write(0, env)?;
                self.hypercall(HYPERVISOR_SYSCTL, &buf)?;
                *env = buf.read(0)?;
                let got = (env.u.num_domains as usize).min(n);
                for (i, slot) in out.iter_mut().take(got).enumerate() {
                    *slot = buf.read(ARRAY_OFFSET + i * item)?;
                }
                env.u.buffer = 0;
                Ok(())
            }
        }
    }

    fn domctl(&mut self, op: Domctl<'_>) -> Result<(), Errno> {
        match op {
            Domctl::Getdomaininfo(env) => self.call(HYPERVISOR_DOMCTL, env),
            Domctl::SchedulerOp(env) => self.call(HYPERVISOR_DOMCTL, env),
        }
    }
}

/// Whole pages Xen may read and write during a hypercall; unmapped on drop.
struct HypercallBuf {
    ptr: NonNull<u8>,
    len: usize,
    anon: bool,
}

impl HypercallBuf {
    fn new(bufdev: Option<&File>, bytes: usize) -> io::Result<Self> {
        let len = bytes.max(1).div_ceil(PAGE_SIZE) * PAGE_SIZE;
        let (ptr, anon) = match bufdev {
            Some(f) => {
                // SAFETY: a fresh shared mapping of the hypercall device at
                // an address the kernel picks; no existing memory is touched.
                let p = unsafe {
                    libc::mmap(
                        core::ptr::null_mut(),
                        len,
                        libc::PROT_READ | libc::PROT_WRITE,
                        libc::MAP_SHARED,
                        f.as_raw_fd(),
                        0,
                    )
                };
                (p, false)
            }
            None => {
                // SAFETY: a fresh private anonymous mapping; no existing
                // memory is touched.
                let p = unsafe {
                    libc::mmap(
                        core::ptr::null_mut(),
                        len,
                        libc::PROT_READ | libc::PROT_WRITE,
                        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_LOCKED,
                        -1,
                        0,
                    )
                };
                (p, true)
            }
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let Some(nn) = NonNull::new(ptr.cast::<u8>()) else {
            return Err(io::Error::from_raw_os_error(libc::ENOMEM));
        };
        let buf = HypercallBuf { ptr: nn, len, anon };
        if anon {
            // SAFETY: `ptr..ptr+len` is the mapping made above.
            if unsafe { libc::madvise(ptr, len, libc::MADV_DONTFORK) } < 0 {
                return Err(io::Error::last_os_error()); // `buf` unmaps on drop
            }
        }
        // Zero (and, for anonymous memory, un-CoW) every page.
        // SAFETY: the mapping is `len` writable bytes, owned by `buf`.
        unsafe { core::ptr::write_bytes(buf.ptr.as_ptr(), 0, len) };
        Ok(buf)
    }

    fn addr(&self) -> u64 {
        self.ptr.as_ptr() as u64
    }

    fn check<T>(&self, offset: usize) -> Result<(), Errno> {
        let fits = offset
            .checked_add(size_of::<T>())
            .is_some_and(|end| end <= self.len);
        // The mapping is page-aligned, so the offset alone decides alignment.
        if fits && offset.is_multiple_of(align_of::<T>()) {
            Ok(())
        } else {
            Err(Errno::EFAULT)
        }
    }

    fn write<T: Plain>(&self, offset: usize, val: &T) -> Result<(), Errno> {
        self.check::<T>(offset)?;
        // SAFETY: checked above: in bounds of our live mapping and aligned
        // for T; T is Plain (a byte copy is a valid value).
        unsafe { core::ptr::write(self.ptr.as_ptr().add(offset).cast::<T>(), *val) };
        Ok(())
    }

    fn read<T: Plain>(&self, offset: usize) -> Result<T, Errno> {
        self.check::<T>(offset)?;
        // SAFETY: checked above: in bounds and aligned; every bit pattern is
        // a valid T (Plain). Xen has finished writing (the ioctl returned).
        Ok(unsafe { core::ptr::read_volatile(self.ptr.as_ptr().add(offset).cast::<T>()) })
    }
}

impl Drop for HypercallBuf {
    fn drop(&mut self) {
        if self.anon {
            // SAFETY: our own mapping; restoring the default fork behaviour.
            unsafe { libc::madvise(self.ptr.as_ptr().cast(), self.len, libc::MADV_DOFORK) };
        }
        // SAFETY: `ptr..ptr+len` is exactly the mapping made in `new`, not
        // used after this point.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Client;
    use crate::xen::{
        xen_sysctl_cpupool_op, XEN_SYSCTL_cpupool_op, XEN_SYSCTL_getdomaininfolist,
        XEN_SCHEDULER_COMMAWARE, XEN_SYSCTL_INTERFACE_VERSION,
    };

    /// Plays Xen behind the ioctl, on the real hypercall buffers: reads the
    /// envelope at arg[0] and writes its answer there, as Xen would.
    #[allow(non_upper_case_globals)]
    fn xen_ioctl(_: &File, hc: &mut privcmd_hypercall) -> Result<(), Errno> {
        if hc.op != HYPERVISOR_SYSCTL {
            return Err(Errno::ENOSYS);
        }
        let addr = hc.arg[0];
        assert_eq!(
            addr % PAGE_SIZE as u64,
            0,
            "envelopes start hypercall buffers"
        );
        // SAFETY: arg[0] is the start of a live, page-aligned hypercall
        // buffer (checked above) whose first 8 bytes are cmd and version.
        let (cmd, version) = unsafe { (*(addr as *const u32), *((addr + 4) as *const u32)) };
        if version != XEN_SYSCTL_INTERFACE_VERSION {
            return Err(Errno::EACCES);
        }
        match cmd {
            XEN_SYSCTL_cpupool_op => {
                // SAFETY: a SysctlCpupoolOp envelope fills the buffer start.
                let env = unsafe { &mut *(addr as *mut SysctlCpupoolOp) };
                if env.u.cpupool_id > 0 {
                    return Err(Errno::ENOENT);
                }
                env.u.sched_id = XEN_SCHEDULER_COMMAWARE;
                env.u.n_dom = 3;
                Ok(())
            }
            XEN_SYSCTL_getdomaininfolist => {
                // SAFETY: a SysctlGetdomaininfolist envelope fills the buffer start.
                let env = unsafe { &mut *(addr as *mut SysctlGetdomaininfolist) };
                assert_eq!(
                    env.u.buffer,
                    addr + ARRAY_OFFSET as u64,
                    "the array is in the same buffer"
                );
                let first = env.u.first_domain;
                let n = env.u.max_domains.min(3u32.saturating_sub(u32::from(first)));
                for i in 0..n {
                    let info = xen_domctl_getdomaininfo {
                        domain: first + i as u16,
                        cpupool: 0,
                        max_vcpu_id: i,
                        ..Default::default()
                    };
                    // SAFETY: Privcmd sized the buffer for max_domains
                    // entries after ARRAY_OFFSET; i < max_domains.
                    unsafe {
                        (env.u.buffer as *mut xen_domctl_getdomaininfo)
                            .add(i as usize)
                            .write(info)
                    };
                }
                env.u.num_domains = n;
                Ok(())
            }
            _ => Err(Errno::EINVAL),
        }
    }

    fn privcmd_playing_xen() -> Option<Privcmd> {
        let p = scratch("privcmd-playing-xen");
        std::fs::write(&p, b"").expect("write");
        let mut pc = Privcmd::open_at(&p, &scratch("no-such-hypercall")).expect("open");
        // Locked memory may be unavailable in a sandbox: then skip.
        HypercallBuf::new(None, 1).ok()?;
        pc.ioctl = xen_ioctl;
        Some(pc)
    }

    #[test]
    fn envelopes_go_through_hypercall_buffers_and_come_back() {
        let Some(mut pc) = privcmd_playing_xen() else {
            return;
        };
        let mut client = Client::new(&mut pc);
        let pools = client.pools().unwrap();
        assert_eq!(pools.len(), 1);
        assert!(pools[0].is_commaware());
        assert_eq!(pools[0].n_dom, 3);
        let doms = client.domains().unwrap();
        let ids: Vec<(u16, u32)> = doms.iter().map(|d| (d.domain, d.units())).collect();
        assert_eq!(ids, [(0, 1), (1, 2), (2, 3)]);
        // Xen's errno comes through as is: a domctl this "Xen" lacks.
        assert!(matches!(
            client.domain(0),
            Err(Error::Xen {
                errno: Errno::ENOSYS,
                ..
            })
        ));
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("commaware-ctl-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir.join(name)
    }

    #[test]
    fn missing_privcmd_says_what_to_check() {
        let missing = scratch("no-such-privcmd");
        let err = Privcmd::open_at(&missing, &scratch("no-such-hypercall")).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::NoPrivcmd { .. }), "{err:?}");
        assert!(msg.contains(&missing.display().to_string()), "{msg}");
        assert!(msg.contains("is this dom0?"), "{msg}");
        assert!(msg.contains("xen-privcmd"), "{msg}");
        assert!(msg.contains("xenfs"), "{msg}");
    }

    #[test]
    fn unreadable_privcmd_is_a_permission_error() {
        // Root ignores file modes, so as root the open succeeds; as any
        // other user it must be the permission error.
        let p = scratch("privcmd-000");
        std::fs::write(&p, b"").expect("write");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).expect("chmod");
        match Privcmd::open_at(&p, &scratch("no-such-hypercall")) {
            Err(e @ Error::PrivcmdPermission { .. }) => {
                assert!(e.to_string().contains("root"), "{e}")
            }
            Ok(_) => {} // running as root
            Err(e) => panic!("unexpected {e:?}"),
        }
    }

    #[test]
    fn a_regular_file_is_not_privcmd_and_buffers_fall_back_to_locked_memory() {
        let p = scratch("privcmd-regular");
        std::fs::write(&p, b"").expect("write");
        let mut pc =
            Privcmd::open_at(&p, &scratch("no-such-hypercall")).expect("open a regular file");
        assert!(!pc.has_buffer_device());
        let mut env = SysctlCpupoolOp::new(xen_sysctl_cpupool_op::default());
        let before = env;
        match pc.sysctl(Sysctl::CpupoolOp(&mut env)) {
            // The ioctl reached the file: ENOTTY, and the envelope is untouched.
            Err(Errno::ENOTTY) => assert_eq!(env, before),
            // RLIMIT_MEMLOCK too small for a locked page in this sandbox.
            Err(Errno(e)) if e == libc::EAGAIN || e == libc::ENOMEM || e == libc::EPERM => {}
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn buffers_are_whole_zeroed_pages_and_bounds_checked() {
        let Ok(buf) = HypercallBuf::new(None, 10) else {
            return;
        };
        assert_eq!(buf.len, PAGE_SIZE);
        assert_eq!(buf.addr() % PAGE_SIZE as u64, 0);
        let env = SysctlCpupoolOp::new(xen_sysctl_cpupool_op {
            cpupool_id: 7,
            ..Default::default()
        });
        buf.write(0, &env).unwrap();
        assert_eq!(buf.read::<SysctlCpupoolOp>(0).unwrap(), env);
        assert_eq!(
            buf.read::<SysctlCpupoolOp>(PAGE_SIZE - 8),
            Err(Errno::EFAULT)
        );
        assert_eq!(
            buf.read::<SysctlCpupoolOp>(4),
            Err(Errno::EFAULT),
            "misaligned"
        );
    }

    #[test]
    fn eacces_from_the_ioctl_is_an_interface_version_mismatch() {
        let Some(mut pc) = privcmd_playing_xen() else {
            return;
        };
        pc.ioctl = |_, _| Err(Errno::EACCES);
        let e = Client::new(&mut pc).pools().unwrap_err();
        assert!(matches!(e, Error::InterfaceVersion { .. }), "{e:?}");
        assert!(e.to_string().contains("interface version mismatch"), "{e}");
    }
}
