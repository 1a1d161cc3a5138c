//! The envelopes of `commaware_ctl::xen` against Xen's real public headers.
//!
//! Compiles a C probe against the Xen tree's `xen/include/public` (the
//! patched tree `build/xen-work` when present, so commaware's union members
//! are checked too; else the pristine Debian source `build/xen-src/xen-4.17*`;
//! or `COMMAWARE_XEN_INCLUDE=<dir containing public/>`) and the copy of
//! Linux's privcmd.h that libxencall builds with
//! (`tools/include/xen-sys/Linux/privcmd.h`), and compares every size, offset, command number and
//! interface version with the Rust definitions. Skips (and says so) when no
//! Xen tree or no C compiler is available.

use std::collections::BTreeMap;
use std::mem::{offset_of, size_of};
use std::path::{Path, PathBuf};
use std::process::Command;

use commaware_ctl::xen::*;

fn xen_include() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("COMMAWARE_XEN_INCLUDE") {
        return Some(PathBuf::from(p));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("build");
    let patched = root.join("xen-work/xen/include");
    if patched.join("public/domctl.h").exists() {
        return Some(patched);
    }
    let src = std::fs::read_dir(root.join("xen-src")).ok()?;
    src.filter_map(|e| e.ok())
        .map(|e| e.path().join("xen/include"))
        .find(|p| p.join("public/domctl.h").exists())
}

const PROBE: &str = r#"
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <linux/types.h>
#define __XEN_TOOLS__ 1
#include "public/xen.h"
#include "xen-sys/Linux/privcmd.h"
#include "public/domctl.h"
#include "public/sysctl.h"
#define P(k, v) printf("%s %lu\n", k, (unsigned long)(v))
int main(void)
{
    P("domctl_size", sizeof(struct xen_domctl));
    P("domctl_domain", offsetof(struct xen_domctl, domain));
    P("domctl_u", offsetof(struct xen_domctl, u));
    P("sysctl_size", sizeof(struct xen_sysctl));
    P("sysctl_u", offsetof(struct xen_sysctl, u));
    P("gdi_size", sizeof(struct xen_domctl_getdomaininfo));
    P("gdi_flags", offsetof(struct xen_domctl_getdomaininfo, flags));
    P("gdi_cpu_time", offsetof(struct xen_domctl_getdomaininfo, cpu_time));
    P("gdi_max_vcpu_id", offsetof(struct xen_domctl_getdomaininfo, max_vcpu_id));
    P("gdi_cpupool", offsetof(struct xen_domctl_getdomaininfo, cpupool));
    P("gdi_arch_config", offsetof(struct xen_domctl_getdomaininfo, arch_config));
    P("gdil_size", sizeof(struct xen_sysctl_getdomaininfolist));
    P("gdil_max_domains", offsetof(struct xen_sysctl_getdomaininfolist, max_domains));
    P("gdil_buffer", offsetof(struct xen_sysctl_getdomaininfolist, buffer));
    P("gdil_num_domains", offsetof(struct xen_sysctl_getdomaininfolist, num_domains));
    P("pool_size", sizeof(struct xen_sysctl_cpupool_op));
    P("pool_sched_id", offsetof(struct xen_sysctl_cpupool_op, sched_id));
    P("pool_n_dom", offsetof(struct xen_sysctl_cpupool_op, n_dom));
    P("pool_cpumap", offsetof(struct xen_sysctl_cpupool_op, cpumap));
    P("ssched_cmd", offsetof(struct xen_sysctl_scheduler_op, cmd));
    P("ssched_u", offsetof(struct xen_sysctl_scheduler_op, u));
    P("dsched_u", offsetof(struct xen_domctl_scheduler_op, u));
    P("domctl_version", XEN_DOMCTL_INTERFACE_VERSION);
    P("sysctl_version", XEN_SYSCTL_INTERFACE_VERSION);
    P("XEN_DOMCTL_getdomaininfo", XEN_DOMCTL_getdomaininfo);
    P("XEN_DOMCTL_scheduler_op", XEN_DOMCTL_scheduler_op);
    P("XEN_DOMCTL_SCHEDOP_putinfo", XEN_DOMCTL_SCHEDOP_putinfo);
    P("XEN_DOMCTL_SCHEDOP_getinfo", XEN_DOMCTL_SCHEDOP_getinfo);
    P("XEN_SYSCTL_getdomaininfolist", XEN_SYSCTL_getdomaininfolist);
    P("XEN_SYSCTL_cpupool_op", XEN_SYSCTL_cpupool_op);
    P("XEN_SYSCTL_scheduler_op", XEN_SYSCTL_scheduler_op);
    P("XEN_SYSCTL_CPUPOOL_OP_INFO", XEN_SYSCTL_CPUPOOL_OP_INFO);
    P("XEN_SYSCTL_SCHEDOP_putinfo", XEN_SYSCTL_SCHEDOP_putinfo);
    P("XEN_SYSCTL_SCHEDOP_getinfo", XEN_SYSCTL_SCHEDOP_getinfo);
    P("XEN_SCHEDULER_CREDIT", XEN_SCHEDULER_CREDIT);
    P("DOMID_FIRST_RESERVED", DOMID_FIRST_RESERVED);
    P("XEN_DOMINF_dying", XEN_DOMINF_dying);
    P("__HYPERVISOR_sysctl", __HYPERVISOR_sysctl);
    P("__HYPERVISOR_domctl", __HYPERVISOR_domctl);
    P("IOCTL_PRIVCMD_HYPERCALL", IOCTL_PRIVCMD_HYPERCALL);
    P("privcmd_hypercall_size", sizeof(privcmd_hypercall_t));
#ifdef XEN_SCHEDULER_COMMAWARE
    P("XEN_SCHEDULER_COMMAWARE", XEN_SCHEDULER_COMMAWARE);
    P("cw_domctl_payload", offsetof(struct xen_domctl, u.scheduler_op.u.commaware));
    P("cw_domctl_counters", offsetof(struct xen_domctl, u.scheduler_op.u.commaware.counters));
    P("cw_sysctl_payload", offsetof(struct xen_sysctl, u.scheduler_op.u.sched_commaware));
    P("cw_sysctl_flags", offsetof(struct xen_sysctl, u.scheduler_op.u.sched_commaware.flags));
#endif
    return 0;
}
"#;

fn probe(inc: &Path) -> Option<BTreeMap<String, u64>> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ctl-xen-headers");
    std::fs::create_dir_all(&dir).ok()?;
    let src = dir.join("probe.c");
    let exe = dir.join("probe");
    std::fs::write(&src, PROBE).ok()?;
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    // <tree>/xen/include -> <tree>/tools/include
    let tools = inc.join("../../tools/include");
    let out = Command::new(&cc)
        .arg("-I")
        .arg(inc)
        .arg("-I")
        .arg(&tools)
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "the probe does not compile against {}:\n{}",
        inc.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(&exe).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    Some(
        text.lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(k, v)| (k.to_string(), v.parse().expect("number")))
            .collect(),
    )
}

#[test]
fn envelopes_match_xen_4_17_headers() {
    let Some(inc) = xen_include() else {
        eprintln!("SKIPPED: no Xen tree under build/ (set COMMAWARE_XEN_INCLUDE)");
        return;
    };
    let Some(c) = probe(&inc) else {
        eprintln!("SKIPPED: no C compiler");
        return;
    };
    eprintln!("checked against {}", inc.display());
    let want = |k: &str, rust: u64| assert_eq!(c[k], rust, "{k}: C says {}, Rust {}", c[k], rust);
    let sz = |n: usize| n as u64;

    for (k, v) in [
        ("domctl_size", size_of::<DomctlSchedulerOp>()),
        ("domctl_size", size_of::<DomctlGetdomaininfo>()),
        ("domctl_domain", offset_of!(DomctlSchedulerOp, domain)),
        ("domctl_u", offset_of!(DomctlSchedulerOp, u)),
        ("domctl_u", offset_of!(DomctlGetdomaininfo, u)),
        ("sysctl_size", size_of::<SysctlSchedulerOp>()),
        ("sysctl_size", size_of::<SysctlCpupoolOp>()),
        ("sysctl_size", size_of::<SysctlGetdomaininfolist>()),
        ("sysctl_u", offset_of!(SysctlSchedulerOp, u)),
        ("sysctl_u", offset_of!(SysctlCpupoolOp, u)),
        ("sysctl_u", offset_of!(SysctlGetdomaininfolist, u)),
        ("gdi_size", size_of::<xen_domctl_getdomaininfo>()),
        ("gdi_flags", offset_of!(xen_domctl_getdomaininfo, flags)),
        (
            "gdi_cpu_time",
            offset_of!(xen_domctl_getdomaininfo, cpu_time),
        ),
        (
            "gdi_max_vcpu_id",
            offset_of!(xen_domctl_getdomaininfo, max_vcpu_id),
        ),
        ("gdi_cpupool", offset_of!(xen_domctl_getdomaininfo, cpupool)),
        (
            "gdi_arch_config",
            offset_of!(xen_domctl_getdomaininfo, arch_config),
        ),
        ("gdil_size", size_of::<xen_sysctl_getdomaininfolist>()),
        (
            "gdil_max_domains",
            offset_of!(xen_sysctl_getdomaininfolist, max_domains),
        ),
        (
            "gdil_buffer",
            offset_of!(xen_sysctl_getdomaininfolist, buffer),
        ),
        (
            "gdil_num_domains",
            offset_of!(xen_sysctl_getdomaininfolist, num_domains),
        ),
        ("pool_size", size_of::<xen_sysctl_cpupool_op>()),
        ("pool_sched_id", offset_of!(xen_sysctl_cpupool_op, sched_id)),
        ("pool_n_dom", offset_of!(xen_sysctl_cpupool_op, n_dom)),
        ("pool_cpumap", offset_of!(xen_sysctl_cpupool_op, cpumap)),
        ("ssched_cmd", offset_of!(xen_sysctl_scheduler_op, cmd)),
        ("ssched_u", offset_of!(xen_sysctl_scheduler_op, u)),
        ("dsched_u", offset_of!(xen_domctl_scheduler_op, u)),
        ("privcmd_hypercall_size", size_of::<privcmd_hypercall>()),
    ] {
        want(k, sz(v));
    }
    for (k, v) in [
        ("domctl_version", XEN_DOMCTL_INTERFACE_VERSION),
        ("sysctl_version", XEN_SYSCTL_INTERFACE_VERSION),
        ("XEN_DOMCTL_getdomaininfo", XEN_DOMCTL_getdomaininfo),
        ("XEN_DOMCTL_scheduler_op", XEN_DOMCTL_scheduler_op),
        ("XEN_DOMCTL_SCHEDOP_putinfo", XEN_DOMCTL_SCHEDOP_putinfo),
        ("XEN_DOMCTL_SCHEDOP_getinfo", XEN_DOMCTL_SCHEDOP_getinfo),
        ("XEN_SYSCTL_getdomaininfolist", XEN_SYSCTL_getdomaininfolist),
        ("XEN_SYSCTL_cpupool_op", XEN_SYSCTL_cpupool_op),
        ("XEN_SYSCTL_scheduler_op", XEN_SYSCTL_scheduler_op),
        ("XEN_SYSCTL_CPUPOOL_OP_INFO", XEN_SYSCTL_CPUPOOL_OP_INFO),
        ("XEN_SYSCTL_SCHEDOP_putinfo", XEN_SYSCTL_SCHEDOP_putinfo),
        ("XEN_SYSCTL_SCHEDOP_getinfo", XEN_SYSCTL_SCHEDOP_getinfo),
        ("XEN_SCHEDULER_CREDIT", XEN_SCHEDULER_CREDIT),
        ("XEN_DOMINF_dying", XEN_DOMINF_DYING),
    ] {
        want(k, u64::from(v));
    }
    want("DOMID_FIRST_RESERVED", u64::from(DOMID_FIRST_RESERVED));
    want("__HYPERVISOR_sysctl", HYPERVISOR_SYSCTL);
    want("__HYPERVISOR_domctl", HYPERVISOR_DOMCTL);
    want("IOCTL_PRIVCMD_HYPERCALL", IOCTL_PRIVCMD_HYPERCALL);

    if c.contains_key("XEN_SCHEDULER_COMMAWARE") {
        want(
            "XEN_SCHEDULER_COMMAWARE",
            u64::from(XEN_SCHEDULER_COMMAWARE),
        );
        want("cw_domctl_payload", sz(offset_of!(DomctlSchedulerOp, u.u)));
        want(
            "cw_domctl_counters",
            sz(offset_of!(DomctlSchedulerOp, u.u.counters)),
        );
        want("cw_sysctl_payload", sz(offset_of!(SysctlSchedulerOp, u.u)));
        want(
            "cw_sysctl_flags",
            sz(offset_of!(SysctlSchedulerOp, u.u.flags)),
        );
    } else {
        eprintln!(
            "note: {} has no commaware members (unpatched tree): generic layout only",
            inc.display()
        );
    }
}
