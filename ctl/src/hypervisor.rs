//! The seam between the tool and Xen: typed sysctl/domctl calls.
//!
//! [`Hypervisor`] is implemented by [`crate::privcmd::Privcmd`] (the real
//! ioctl on `/dev/xen/privcmd`) and, in tests, by [`crate::fake::FakeXen`]
//! (a commaware Xen in memory). Everything above this trait is safe code
//! that never knows which one it talks to.

use crate::xen::{
    xen_domctl_getdomaininfo, DomctlGetdomaininfo, DomctlSchedulerOp, SysctlCpupoolOp,
    SysctlGetdomaininfolist, SysctlSchedulerOp,
};

/// An error number as Xen (or the kernel) returned it, positive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Errno {
    pub const EPERM: Errno = Errno(libc::EPERM);
    pub const ENOENT: Errno = Errno(libc::ENOENT);
    pub const ESRCH: Errno = Errno(libc::ESRCH);
    pub const EACCES: Errno = Errno(libc::EACCES);
    pub const EFAULT: Errno = Errno(libc::EFAULT);
    pub const EINVAL: Errno = Errno(libc::EINVAL);
    pub const ENOTTY: Errno = Errno(libc::ENOTTY);
    pub const ENOSYS: Errno = Errno(libc::ENOSYS);

    /// The symbolic name, for messages.
    pub fn name(self) -> String {
        match self.0 {
            libc::EPERM => "EPERM".into(),
            libc::ENOENT => "ENOENT".into(),
            libc::ESRCH => "ESRCH".into(),
            libc::EACCES => "EACCES".into(),
            libc::EFAULT => "EFAULT".into(),
            libc::EINVAL => "EINVAL".into(),
            libc::ENOTTY => "ENOTTY".into(),
            libc::ENOSYS => "ENOSYS".into(),
            libc::ENOMEM => "ENOMEM".into(),
            n => format!("errno {n}"),
        }
    }
}

/// A sysctl, by operation, on its typed envelope.
#[derive(Debug)]
pub enum Sysctl<'a> {
    CpupoolOp(&'a mut SysctlCpupoolOp),
    SchedulerOp(&'a mut SysctlSchedulerOp),
    /// The envelope and the array Xen fills (its `buffer` handle is set by
    /// the implementation: the caller's slice is not hypercall-safe memory).
    Getdomaininfolist(
        &'a mut SysctlGetdomaininfolist,
        &'a mut [xen_domctl_getdomaininfo],
    ),
}

/// A domctl, by operation, on its typed envelope.
#[derive(Debug)]
pub enum Domctl<'a> {
    Getdomaininfo(&'a mut DomctlGetdomaininfo),
    SchedulerOp(&'a mut DomctlSchedulerOp),
}

/// One hypercall each: the envelope goes in, Xen's copy-back comes out, or
/// Xen's error number. Nothing is retried or interpreted here.
pub trait Hypervisor {
    fn sysctl(&mut self, op: Sysctl<'_>) -> Result<(), Errno>;
    fn domctl(&mut self, op: Domctl<'_>) -> Result<(), Errno>;
}
