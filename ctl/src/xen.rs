//! Raw Xen 4.17 hypercall envelopes: `struct xen_sysctl` and `struct
//! xen_domctl`, one Rust type per union member we use.
//!
//! Xen's envelopes are a header plus a 128-byte union. Rather than a Rust
//! `union` (whose reads are `unsafe`), each operation gets its own
//! `#[repr(C)]` struct: the header, the one union member, and explicit
//! padding up to the full size. Every size, alignment and offset below is
//! pinned against Xen 4.17's public headers (`xen/include/public/domctl.h`,
//! `sysctl.h`, `arch-x86/xen.h`, Debian's 4.17.5 source; measured with
//! `offsetof`/`sizeof` from a C program built against those headers, x86_64
//! tools ABI, i.e. `__XEN_TOOLS__` with 64-bit guest handles).
//!
//! Our scheduler's payloads are not redefined here: they are the bindgen'd
//! structs of `commaware::abi` (from `include/public/sched_commaware.h`).
#![allow(non_camel_case_types, non_upper_case_globals)]

use core::mem::{align_of, offset_of, size_of};

use commaware::abi::{xen_domctl_sched_commaware, xen_sysctl_commaware_schedule};
use static_assertions::const_assert_eq;

/// Hypercall numbers, from rust-vmm's `xen-sys` (Xen's `public/xen.h`):
/// `__HYPERVISOR_sysctl` = 35, `__HYPERVISOR_domctl` = 36.
pub const HYPERVISOR_SYSCTL: u64 = xen_sys::__HYPERVISOR_sysctl as u64;
pub const HYPERVISOR_DOMCTL: u64 = xen_sys::__HYPERVISOR_domctl as u64;
const_assert_eq!(HYPERVISOR_SYSCTL, 35);
const_assert_eq!(HYPERVISOR_DOMCTL, 36);

/// `XEN_DOMCTL_INTERFACE_VERSION` and `XEN_SYSCTL_INTERFACE_VERSION` in Xen
/// 4.17 (domctl.h line 24, sysctl.h line 21). Xen answers any other value
/// with `-EACCES`.
pub const XEN_DOMCTL_INTERFACE_VERSION: u32 = 0x15;
pub const XEN_SYSCTL_INTERFACE_VERSION: u32 = 0x15;

// sysctl commands (sysctl.h).
pub const XEN_SYSCTL_getdomaininfolist: u32 = 6;
pub const XEN_SYSCTL_cpupool_op: u32 = 18;
pub const XEN_SYSCTL_scheduler_op: u32 = 19;
pub const XEN_SYSCTL_CPUPOOL_OP_INFO: u32 = 3;
pub const XEN_SYSCTL_SCHEDOP_putinfo: u32 = 0;
pub const XEN_SYSCTL_SCHEDOP_getinfo: u32 = 1;

// domctl commands (domctl.h).
pub const XEN_DOMCTL_getdomaininfo: u32 = 5;
pub const XEN_DOMCTL_scheduler_op: u32 = 16;
pub const XEN_DOMCTL_SCHEDOP_putinfo: u32 = 0;
pub const XEN_DOMCTL_SCHEDOP_getinfo: u32 = 1;

// Scheduler ids (domctl.h), for messages.
pub const XEN_SCHEDULER_CREDIT: u32 = 5;
pub const XEN_SCHEDULER_CREDIT2: u32 = 6;
pub const XEN_SCHEDULER_ARINC653: u32 = 7;
pub const XEN_SCHEDULER_RTDS: u32 = 8;
pub const XEN_SCHEDULER_NULL: u32 = 9;
pub const XEN_SCHEDULER_COMMAWARE: u32 = commaware::abi::XEN_SCHEDULER_COMMAWARE;

/// `DOMID_FIRST_RESERVED` (xen.h): ordinary domain ids are below it.
pub const DOMID_FIRST_RESERVED: u16 = 0x7FF0;
/// `XEN_INVALID_MAX_VCPU_ID`: a domain without vCPUs.
pub const XEN_INVALID_MAX_VCPU_ID: u32 = !0;
/// `XEN_DOMINF_dying`.
pub const XEN_DOMINF_DYING: u32 = 1 << 0;

/// The name `xl` uses for a scheduler id.
pub fn sched_name(id: u32) -> String {
    match id {
        XEN_SCHEDULER_CREDIT => "credit".into(),
        XEN_SCHEDULER_CREDIT2 => "credit2".into(),
        XEN_SCHEDULER_ARINC653 => "arinc653".into(),
        XEN_SCHEDULER_RTDS => "rtds".into(),
        XEN_SCHEDULER_NULL => "null".into(),
        XEN_SCHEDULER_COMMAWARE => "commaware".into(),
        other => format!("scheduler {other}"),
    }
}

/// Size of the unions in `struct xen_sysctl` / `struct xen_domctl`.
const UNION_BYTES: usize = 128;

// ---------------------------------------------------------------------------
// Union members.

/// `struct xen_domctl_getdomaininfo` (domctl.h): 112 bytes on x86_64.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xen_domctl_getdomaininfo {
    pub domain: u16,
    pub pad1: u16,
    pub flags: u32,
    pub tot_pages: u64,
    pub max_pages: u64,
    pub outstanding_pages: u64,
    pub shr_pages: u64,
    pub paged_pages: u64,
    pub shared_info_frame: u64,
    pub cpu_time: u64,
    pub nr_online_vcpus: u32,
    pub max_vcpu_id: u32,
    pub ssidref: u32,
    pub handle: [u8; 16],
    pub cpupool: u32,
    pub gpaddr_bits: u8,
    pub pad2: [u8; 7],
    /// `struct xen_arch_domainconfig` (x86: emulation_flags, misc_flags).
    pub arch_config: [u32; 2],
}
const_assert_eq!(size_of::<xen_domctl_getdomaininfo>(), 112);
const_assert_eq!(align_of::<xen_domctl_getdomaininfo>(), 8);
const_assert_eq!(offset_of!(xen_domctl_getdomaininfo, flags), 4);
const_assert_eq!(offset_of!(xen_domctl_getdomaininfo, tot_pages), 8);
const_assert_eq!(offset_of!(xen_domctl_getdomaininfo, cpu_time), 56);
const_assert_eq!(offset_of!(xen_domctl_getdomaininfo, nr_online_vcpus), 64);
const_assert_eq!(offset_of!(xen_domctl_getdomaininfo, max_vcpu_id), 68);
const_assert_eq!(offset_of!(xen_domctl_getdomaininfo, ssidref), 72);
const_assert_eq!(offset_of!(xen_domctl_getdomaininfo, handle), 76);
const_assert_eq!(offset_of!(xen_domctl_getdomaininfo, cpupool), 92);
const_assert_eq!(offset_of!(xen_domctl_getdomaininfo, gpaddr_bits), 96);
const_assert_eq!(offset_of!(xen_domctl_getdomaininfo, arch_config), 104);

impl xen_domctl_getdomaininfo {
    /// The domain's number of vCPUs (scheduling units), as libxl counts them
    /// for the cap range: `max_vcpu_id + 1`.
    pub fn units(&self) -> u32 {
        if self.max_vcpu_id == XEN_INVALID_MAX_VCPU_ID {
            0
        } else {
            self.max_vcpu_id.saturating_add(1)
        }
    }
}

/// `struct xen_sysctl_getdomaininfolist` (sysctl.h): 24 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xen_sysctl_getdomaininfolist {
    pub first_domain: u16,
    pub _pad: u16,
    pub max_domains: u32,
    /// `XEN_GUEST_HANDLE_64(xen_domctl_getdomaininfo_t)`: a user address.
    pub buffer: u64,
    pub num_domains: u32,
    pub _pad2: u32,
}
const_assert_eq!(size_of::<xen_sysctl_getdomaininfolist>(), 24);
const_assert_eq!(offset_of!(xen_sysctl_getdomaininfolist, max_domains), 4);
const_assert_eq!(offset_of!(xen_sysctl_getdomaininfolist, buffer), 8);
const_assert_eq!(offset_of!(xen_sysctl_getdomaininfolist, num_domains), 16);

/// `struct xenctl_bitmap` (xen.h): 16 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xenctl_bitmap {
    /// `XEN_GUEST_HANDLE_64(uint8)`; 0 with `nr_bits` 0: Xen copies nothing.
    pub bitmap: u64,
    pub nr_bits: u32,
    pub _pad: u32,
}
const_assert_eq!(size_of::<xenctl_bitmap>(), 16);

/// `struct xen_sysctl_cpupool_op` (sysctl.h): 40 bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xen_sysctl_cpupool_op {
    pub op: u32,
    pub cpupool_id: u32,
    pub sched_id: u32,
    pub domid: u32,
    pub cpu: u32,
    pub n_dom: u32,
    pub cpumap: xenctl_bitmap,
}
const_assert_eq!(size_of::<xen_sysctl_cpupool_op>(), 40);
const_assert_eq!(offset_of!(xen_sysctl_cpupool_op, sched_id), 8);
const_assert_eq!(offset_of!(xen_sysctl_cpupool_op, n_dom), 20);
const_assert_eq!(offset_of!(xen_sysctl_cpupool_op, cpumap), 24);

/// `struct xen_sysctl_scheduler_op` with commaware's union member. Xen's
/// union holds a 64-bit guest handle (arinc653), so it is 8-aligned and
/// starts at offset 16, after 4 bytes of padding.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xen_sysctl_scheduler_op {
    pub cpupool_id: u32,
    pub sched_id: u32,
    pub cmd: u32,
    pub _pad: u32,
    pub u: xen_sysctl_commaware_schedule,
}
const_assert_eq!(offset_of!(xen_sysctl_scheduler_op, u), 16);
const_assert_eq!(offset_of!(xen_sysctl_scheduler_op, cmd), 8);
const_assert_eq!(size_of::<xen_sysctl_scheduler_op>(), 40);

/// `struct xen_domctl_scheduler_op` with commaware's union member. The
/// union holds a 64-bit guest handle (`v.vcpus`), so it starts at 8.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct xen_domctl_scheduler_op {
    pub sched_id: u32,
    pub cmd: u32,
    pub u: xen_domctl_sched_commaware,
}
const_assert_eq!(offset_of!(xen_domctl_scheduler_op, u), 8);
const_assert_eq!(size_of::<xen_domctl_scheduler_op>(), 104);

// ---------------------------------------------------------------------------
// Envelopes: `struct xen_sysctl` (136 bytes, union at 8) and `struct
// xen_domctl` (144 bytes, union at 16), one type per union member.

macro_rules! sysctl_envelope {
    ($(#[$m:meta])* $name:ident, $member:ty, $cmd:expr) => {
        $(#[$m])*
        #[repr(C, align(8))]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name {
            pub cmd: u32,
            pub interface_version: u32,
            pub u: $member,
            _pad: [u8; UNION_BYTES - size_of::<$member>()],
        }
        const_assert_eq!(size_of::<$name>(), 136);
        const_assert_eq!(align_of::<$name>(), 8);
        const_assert_eq!(offset_of!($name, interface_version), 4);
        const_assert_eq!(offset_of!($name, u), 8);

        impl $name {
            pub const CMD: u32 = $cmd;

            pub fn new(u: $member) -> Self {
                $name {
                    cmd: $cmd,
                    interface_version: XEN_SYSCTL_INTERFACE_VERSION,
                    u,
                    _pad: [0; UNION_BYTES - size_of::<$member>()],
                }
            }

            /// The union's bytes after this member (zero from [`Self::new`];
            /// Xen never reads them). For hostile-input tests only.
            pub fn tail_mut(&mut self) -> &mut [u8] {
                &mut self._pad
            }
        }
    };
}

macro_rules! domctl_envelope {
    ($(#[$m:meta])* $name:ident, $member:ty, $cmd:expr) => {
        $(#[$m])*
        #[repr(C, align(8))]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name {
            pub cmd: u32,
            pub interface_version: u32,
            pub domain: u16,
            pub _pad: [u16; 3],
            pub u: $member,
            _tail: [u8; UNION_BYTES - size_of::<$member>()],
        }
        const_assert_eq!(size_of::<$name>(), 144);
        const_assert_eq!(align_of::<$name>(), 8);
        const_assert_eq!(offset_of!($name, domain), 8);
        const_assert_eq!(offset_of!($name, u), 16);

        impl $name {
            pub const CMD: u32 = $cmd;

            pub fn new(domain: u16, u: $member) -> Self {
                $name {
                    cmd: $cmd,
                    interface_version: XEN_DOMCTL_INTERFACE_VERSION,
                    domain,
                    _pad: [0; 3],
                    u,
                    _tail: [0; UNION_BYTES - size_of::<$member>()],
                }
            }

            /// The union's bytes after this member (zero from [`Self::new`];
            /// Xen never reads them). For hostile-input tests only.
            pub fn tail_mut(&mut self) -> &mut [u8] {
                &mut self._tail
            }
        }
    };
}

sysctl_envelope!(
    /// `xen_sysctl` for `XEN_SYSCTL_getdomaininfolist`.
    SysctlGetdomaininfolist,
    xen_sysctl_getdomaininfolist,
    XEN_SYSCTL_getdomaininfolist
);
sysctl_envelope!(
    /// `xen_sysctl` for `XEN_SYSCTL_cpupool_op`.
    SysctlCpupoolOp,
    xen_sysctl_cpupool_op,
    XEN_SYSCTL_cpupool_op
);
sysctl_envelope!(
    /// `xen_sysctl` for `XEN_SYSCTL_scheduler_op` (commaware's payload).
    SysctlSchedulerOp,
    xen_sysctl_scheduler_op,
    XEN_SYSCTL_scheduler_op
);
domctl_envelope!(
    /// `xen_domctl` for `XEN_DOMCTL_getdomaininfo`.
    DomctlGetdomaininfo,
    xen_domctl_getdomaininfo,
    XEN_DOMCTL_getdomaininfo
);
domctl_envelope!(
    /// `xen_domctl` for `XEN_DOMCTL_scheduler_op` (commaware's payload).
    DomctlSchedulerOp,
    xen_domctl_scheduler_op,
    XEN_DOMCTL_scheduler_op
);

/// `struct privcmd_hypercall` (Linux `include/uapi/xen/privcmd.h`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct privcmd_hypercall {
    pub op: u64,
    pub arg: [u64; 5],
}
const_assert_eq!(size_of::<privcmd_hypercall>(), 48);

/// `IOCTL_PRIVCMD_HYPERCALL` = `_IOC(_IOC_NONE, 'P', 0, sizeof(privcmd_hypercall_t))`:
/// direction 0 in bits 30-31, size in bits 16-29, type in 8-15, number in 0-7.
pub const IOCTL_PRIVCMD_HYPERCALL: u64 =
    ((size_of::<privcmd_hypercall>() as u64) << 16) | ((b'P' as u64) << 8);
const_assert_eq!(IOCTL_PRIVCMD_HYPERCALL, 0x0030_5000);
