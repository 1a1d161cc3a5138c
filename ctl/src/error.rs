//! Errors that say what went wrong and what to do about it.

use std::fmt;
use std::io;
use std::path::PathBuf;

use commaware::payload::PayloadError;
use commaware::sched::params::{Knob, ParamError, CAP_PER_UNIT_MAX};

use crate::hypervisor::Errno;
use crate::xen::{sched_name, XEN_DOMCTL_INTERFACE_VERSION, XEN_SYSCTL_INTERFACE_VERSION};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug)]
pub enum Error {
    /// `/dev/xen/privcmd` does not exist.
    NoPrivcmd {
        path: PathBuf,
        source: io::Error,
    },
    /// `/dev/xen/privcmd` exists but we may not open it.
    PrivcmdPermission {
        path: PathBuf,
    },
    /// The file we opened does not understand the privcmd ioctl.
    NotPrivcmd,
    /// No memory Xen may access for the hypercall.
    HypercallBuffer {
        path: Option<PathBuf>,
        source: io::Error,
    },
    /// Xen said EPERM: the caller is not privileged.
    XenPermission {
        op: &'static str,
    },
    /// Xen said EACCES: our domctl/sysctl interface version is not Xen's.
    InterfaceVersion {
        op: &'static str,
    },
    /// The cpupool runs another scheduler.
    NotCommaware {
        pool: u32,
        pool_name: String,
        sched_id: u32,
    },
    /// No cpupool runs commaware (listing without `-p`).
    NoCommawarePool {
        pools: Vec<(String, u32)>,
    },
    UnknownCpupool(String),
    UnknownDomain(String),
    /// A value out of range: refused here, nothing was sent.
    OutOfRange {
        err: ParamError,
        units: Option<u32>,
    },
    /// Flags or reserved fields this version does not know (an internal bug).
    BadPayload(PayloadError),
    /// Xen answered with data that `commaware::payload` does not accept.
    Garbled {
        op: &'static str,
        why: String,
    },
    /// Xen refused a request that passed our validation.
    Refused {
        op: &'static str,
        errno: Errno,
    },
    /// Any other hypercall failure.
    Xen {
        op: &'static str,
        errno: Errno,
    },
    /// Domain names could not be read from xenstore.
    Names(String),
    /// Options that do not go together.
    Usage(String),
    Io {
        what: String,
        source: io::Error,
    },
}

impl Error {
    /// Map a hypercall's errno, for errors that need no more context.
    pub fn from_errno(op: &'static str, errno: Errno) -> Error {
        match errno {
            Errno::EPERM => Error::XenPermission { op },
            Errno::EACCES => Error::InterfaceVersion { op },
            Errno::ENOTTY => Error::NotPrivcmd,
            e if e == Errno(libc::ENOMEM) || e == Errno(libc::EAGAIN) => Error::HypercallBuffer {
                path: None,
                source: io::Error::from_raw_os_error(e.0),
            },
            _ => Error::Xen { op, errno },
        }
    }

    /// A payload refused by `commaware::payload` (ours, before sending).
    pub fn from_payload(e: PayloadError, units: Option<u32>) -> Error {
        match e {
            PayloadError::Range(err) => Error::OutOfRange { err, units },
            other => Error::BadPayload(other),
        }
    }

    /// The process exit status: 2 for bad usage or values, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::OutOfRange { .. } => 2,
            _ => 1,
        }
    }
}

/// How the command line spells a knob.
pub fn knob_option(k: Knob) -> &'static str {
    match k {
        Knob::TsliceMs => "-t/--tslice_ms",
        Knob::RatelimitUs => "-r/--ratelimit_us",
        Knob::MigrationDelayUs => "-m/--migration_delay_us",
        Knob::BoostUs => "--boost-us",
        Knob::BoostBudgetPct => "--budget",
        Knob::Weight => "-w/--weight",
        Knob::Cap => "-c/--cap",
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoPrivcmd { path, source } => write!(
                f,
                "cannot open {}: {source}: is this dom0? is xen-privcmd loaded (modprobe xen-privcmd)? \
                 mount xenfs (mount -t xenfs xenfs /proc/xen)?",
                path.display()
            ),
            Error::PrivcmdPermission { path } => {
                write!(f, "permission denied opening {}: run commaware-ctl as root in dom0", path.display())
            }
            Error::NotPrivcmd => write!(
                f,
                "the privcmd device refused the hypercall ioctl (ENOTTY): it is not Xen's privcmd; is this dom0 \
                 with xen-privcmd loaded?"
            ),
            Error::HypercallBuffer { path, source } => match path {
                Some(p) => write!(f, "cannot open {}: {source}: is the xen-privcmd module up to date?", p.display()),
                None => write!(
                    f,
                    "cannot allocate a hypercall buffer: {source}: raise the locked-memory limit (ulimit -l) or use \
                     a kernel with /dev/xen/hypercall (Linux >= 4.18)"
                ),
            },
            Error::XenPermission { op } => write!(
                f,
                "Xen refused {op}: permission denied (EPERM): only dom0 (or a domain the XSM policy allows) may do \
                 this: is this dom0?"
            ),
            Error::InterfaceVersion { op } => write!(
                f,
                "Xen refused {op} with EACCES: interface version mismatch: commaware-ctl speaks domctl {:#x} / \
                 sysctl {:#x} (Xen 4.17); the running hypervisor is another version: use the commaware-ctl built \
                 for it (if Xen runs an XSM/FLASK policy, EACCES can also be that policy denying the operation)",
                XEN_DOMCTL_INTERFACE_VERSION, XEN_SYSCTL_INTERFACE_VERSION
            ),
            Error::NotCommaware { pool, pool_name, sched_id } => write!(
                f,
                "cpupool {pool_name} (id {pool}) runs {}, not commaware: create a pool with sched=\"commaware\" \
                 (xl cpupool-create name=\"cw\" sched=\"commaware\" cpus=...) and move the domain there \
                 (xl cpupool-migrate), or boot Xen with sched=commaware",
                sched_name(*sched_id)
            ),
            Error::NoCommawarePool { pools } => {
                write!(f, "no cpupool runs commaware (")?;
                for (i, (name, id)) in pools.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{name} runs {}", sched_name(*id))?;
                }
                write!(f, "): create a pool with sched=\"commaware\" or boot Xen with sched=commaware")
            }
            Error::UnknownCpupool(p) => write!(f, "unknown cpupool '{p}' (see xl cpupool-list)"),
            Error::UnknownDomain(d) => write!(f, "unknown domain '{d}': give a domid or a name from xl list"),
            Error::OutOfRange { err, units } => {
                write!(
                    f,
                    "{} {} is out of range: {} must be {}..={}",
                    knob_option(err.knob),
                    err.got,
                    err.knob.name(),
                    err.min,
                    err.max
                )?;
                match err.knob {
                    Knob::RatelimitUs => write!(f, " (or 0 = off; at most the time slice)"),
                    Knob::BoostUs => write!(f, " (and at most the time slice)"),
                    Knob::Cap => match units {
                        Some(u) => write!(f, " (0 = no cap; {CAP_PER_UNIT_MAX} per vCPU, the domain has {u})"),
                        None => write!(f, " (0 = no cap; {CAP_PER_UNIT_MAX} per vCPU)"),
                    },
                    _ => Ok(()),
                }?;
                write!(f, "; nothing was changed")
            }
            Error::BadPayload(e) => write!(f, "internal error: refused to send an invalid payload ({e:?})"),
            Error::Refused { op, errno } => write!(
                f,
                "Xen refused {op} ({}) although commaware-ctl found it valid: is the hypervisor's commaware the \
                 same version as this tool? nothing was changed",
                errno.name()
            ),
            Error::Garbled { op, why } => write!(
                f,
                "Xen's answer to {op} is not valid commaware data ({why}): is the hypervisor's commaware the same \
                 version as this tool?"
            ),
            Error::Xen { op, errno } => write!(f, "{op} failed: {}", errno.name()),
            Error::Names(why) => write!(f, "cannot look up names: {why}; give a domid (or cpupool id) instead"),
            Error::Usage(m) => write!(f, "{m}"),
            Error::Io { what, source } => write!(f, "{what}: {source}"),
        }
    }
}

impl std::error::Error for Error {}
