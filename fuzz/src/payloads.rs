//! `payloads`: arbitrary hypercall payloads.
//!
//! 1. `xen_sysctl_commaware_schedule` → `payload::global_from_abi`: never
//!    panics; accepts exactly what the header's ranges allow (an
//!    independent predicate) with no unknown flag; what it accepts passes
//!    `GlobalParams::validate` and round-trips (`global_to_abi` gives the
//!    payload back, bit for bit, and decodes to the same parameters).
//! 2. `xen_domctl_sched_commaware` → `payload::dom_update` against
//!    arbitrary current parameters and unit counts: never panics; refuses
//!    unknown reset and flag bits; what it accepts passes
//!    `DomParams::validate`, keeps weight/cap on the KEEP values, changes
//!    exactly the flags in the mask, and the getinfo answer
//!    (`dom_to_abi`) put back with every flag in the mask gives the same
//!    parameters.
//! 3. The C ABI on a real instance (`cw_init`, `cw_adjust_global`,
//!    `cw_adjust` with `CW_PUTINFO`, `CW_GETINFO` and any other command,
//!    null payloads, unknown domain handles): a refused or unknown command
//!    leaves getinfo unchanged and does not write the caller's buffer;
//!    an accepted putinfo is what getinfo returns next, and it restarts
//!    the longest-wait counter exactly when it asks to.

use arbitrary::{Arbitrary, Result, Unstructured};
use commaware::abi::{
    self, xen_domctl_sched_commaware, xen_sysctl_commaware_schedule, CW_GETINFO, CW_PUTINFO,
    XEN_DOMCTL_COMMAWARE_CAP_KEEP, XEN_DOMCTL_COMMAWARE_DRIVER, XEN_DOMCTL_COMMAWARE_FLAGS_ALL,
    XEN_DOMCTL_COMMAWARE_NO_BOOST, XEN_DOMCTL_COMMAWARE_NO_DONATION, XEN_DOMCTL_COMMAWARE_RESET_ALL,
    XEN_DOMCTL_COMMAWARE_RESET_WAIT_MAX, XEN_DOMCTL_COMMAWARE_WEIGHT_KEEP, XEN_SYSCTL_COMMAWARE_FLAGS_ALL,
};
use commaware::ffi;
use commaware::payload::{dom_to_abi, dom_update, global_from_abi, global_to_abi, PayloadError};
use commaware_sched::{Core, DomCounters, DomParams, GlobalParams};
use core::ffi::c_void;

use crate::{pick_u16, pick_u32};

const EINVAL: i32 = 22;
const ESRCH: i32 = 3;

fn a_sysctl(u: &mut Unstructured<'_>) -> Result<xen_sysctl_commaware_schedule> {
    Ok(xen_sysctl_commaware_schedule {
        tslice_ms: pick_u32(u, &[1, 2, 30, 1000, 0, 1001])?,
        ratelimit_us: pick_u32(u, &[0, 100, 1000, 30_000, 99, 500_000, 500_001, 1_000_000])?,
        migration_delay_us: pick_u32(u, &[0, 1, 100_000, 100_001])?,
        boost_us: pick_u32(u, &[50, 500, 1000, 10_000, 49, 10_001])?,
        boost_budget_pct: pick_u32(u, &[0, 50, 100, 101])?,
        flags: pick_u32(u, &[0, 1, 2, 4, 7, 8, 0x80, 0x8000_0000])?,
    })
}

fn a_domctl(u: &mut Unstructured<'_>) -> Result<xen_domctl_sched_commaware> {
    let mut p = xen_domctl_sched_commaware {
        weight: pick_u16(u, &[0, 1, 256, 65535])?,
        cap: pick_u16(u, &[0, 1, 100, 101, 200, 201, 65534, 65535])?,
        flags: pick_u32(u, &[0, 1, 2, 4, 7, 8, 0x80])?,
        flags_mask: pick_u32(u, &[0, 1, 2, 4, 7, 8, 0x80])?,
        reset: pick_u32(u, &[0, 0, 1, 2, 3, 0x8000_0000])?,
        ..Default::default()
    };
    // getinfo-only counters: whatever the caller left there is ignored.
    if u.arbitrary::<bool>()? {
        p.counters.run_ns = u.arbitrary()?;
        p.counters.credit = u.arbitrary()?;
        p.counters.charged = u.arbitrary()?;
    }
    Ok(p)
}

fn a_dom_params(u: &mut Unstructured<'_>) -> Result<DomParams> {
    Ok(DomParams {
        weight: pick_u16(u, &[1, 2, 256, 65535])?,
        cap: pick_u16(u, &[0, 1, 100, 200, 400])?,
        boost: u.arbitrary()?,
        donation: u.arbitrary()?,
        driver: u.arbitrary()?,
    })
}

fn global_valid(p: &xen_sysctl_commaware_schedule) -> bool {
    let tslice_ok = (1..=1000).contains(&p.tslice_ms);
    let rl_ok = p.ratelimit_us == 0
        || ((100..=500_000).contains(&p.ratelimit_us) && u64::from(p.ratelimit_us) <= u64::from(p.tslice_ms) * 1000);
    let md_ok = p.migration_delay_us <= 100_000;
    let boost_ok = p.boost_us >= 50 && p.boost_us <= 10_000 && u64::from(p.boost_us) <= u64::from(p.tslice_ms) * 1000;
    tslice_ok && rl_ok && md_ok && boost_ok && p.boost_budget_pct <= 100 && p.flags & !7 == 0
}

fn same_sysctl(a: &xen_sysctl_commaware_schedule, b: &xen_sysctl_commaware_schedule) -> bool {
    (a.tslice_ms, a.ratelimit_us, a.migration_delay_us, a.boost_us, a.boost_budget_pct, a.flags)
        == (b.tslice_ms, b.ratelimit_us, b.migration_delay_us, b.boost_us, b.boost_budget_pct, b.flags)
}

/// 1: the sysctl payload.
fn check_global(p: &xen_sysctl_commaware_schedule) {
    let r = global_from_abi(p);
    assert_eq!(r.is_ok(), global_valid(p), "global_from_abi({p:?}) = {r:?}");
    match r {
        Ok(g) => {
            assert_eq!(g.validate(), Ok(()), "accepted {p:?} as invalid {g:?}");
            let back = global_to_abi(&g);
            assert!(same_sysctl(&back, p), "global_to_abi(global_from_abi({p:?})) = {back:?}");
            assert_eq!(global_from_abi(&back), Ok(g), "round trip of {g:?}");
        }
        Err(PayloadError::UnknownFlags(f)) => {
            assert_eq!(f, p.flags & !XEN_SYSCTL_COMMAWARE_FLAGS_ALL);
            assert_ne!(f, 0);
        }
        Err(PayloadError::Range(e)) => {
            assert_eq!(p.flags & !XEN_SYSCTL_COMMAWARE_FLAGS_ALL, 0, "unknown flags reported as a range: {p:?}");
            assert!(e.got < e.min || e.got > e.max, "range error inside its range: {e:?}");
        }
        Err(PayloadError::UnknownReset(_)) => panic!("the sysctl payload resets nothing: {p:?}"),
    }
}

/// 2: the domctl payload against current parameters.
fn check_dom(cur: DomParams, p: &xen_domctl_sched_commaware, units: u32) {
    let r = dom_update(cur, p, units);
    let unknown = (p.flags | p.flags_mask) & !XEN_DOMCTL_COMMAWARE_FLAGS_ALL;
    let unknown_reset = p.reset & !XEN_DOMCTL_COMMAWARE_RESET_ALL;
    if unknown_reset != 0 {
        assert_eq!(r, Err(PayloadError::UnknownReset(unknown_reset)), "reset {:#x} accepted", p.reset);
        return;
    }
    if unknown != 0 {
        assert_eq!(r, Err(PayloadError::UnknownFlags(unknown)));
        return;
    }
    let weight = if u32::from(p.weight) == XEN_DOMCTL_COMMAWARE_WEIGHT_KEEP { cur.weight } else { p.weight };
    let cap = if u32::from(p.cap) == XEN_DOMCTL_COMMAWARE_CAP_KEEP { cur.cap } else { p.cap };
    let bit = |b: u32, cur: bool| if p.flags_mask & b != 0 { p.flags & b != 0 } else { cur };
    let want = DomParams {
        weight,
        cap,
        boost: !bit(XEN_DOMCTL_COMMAWARE_NO_BOOST, !cur.boost),
        donation: !bit(XEN_DOMCTL_COMMAWARE_NO_DONATION, !cur.donation),
        driver: bit(XEN_DOMCTL_COMMAWARE_DRIVER, cur.driver),
    };
    let valid = want.weight >= 1 && u32::from(want.cap) <= 100 * units.max(1);
    assert_eq!(r.is_ok(), valid, "dom_update({cur:?}, {p:?}, {units}) = {r:?}");
    let Ok(d) = r else {
        assert!(matches!(r, Err(PayloadError::Range(_))), "{r:?}");
        return;
    };
    assert_eq!(d, want, "dom_update({cur:?}, {p:?}, {units})");
    assert_eq!(d.validate(units), Ok(()));
    // getinfo, then putinfo of what it said (every flag under the mask),
    // from any starting point, gives the same parameters. A cap of 0xFFFF
    // (valid from 656 units on) reads back as the KEEP value, so it is
    // kept from the starting point: start from `d` itself then.
    let mut back = dom_to_abi(&d, &DomCounters::default(), 0);
    assert_eq!((back.flags_mask, back.reset), (0, 0));
    back.flags_mask = XEN_DOMCTL_COMMAWARE_FLAGS_ALL;
    let start = if u32::from(d.cap) == XEN_DOMCTL_COMMAWARE_CAP_KEEP { d } else { DomParams::DEFAULT };
    assert_eq!(dom_update(start, &back, units), Ok(d), "getinfo/putinfo round trip of {d:?}");
}

#[derive(Arbitrary, Debug)]
enum FfiOp {
    /// `cw_adjust_global` with a payload and a command (0, 1 or anything).
    Global(u8, u32),
    /// `cw_adjust` on a domain handle (an index, or any i32).
    Dom(u8, u8, u32, bool),
    AddUnit(u8),
    Null(u8),
}

fn cmd(sel: u8, raw: u32) -> u32 {
    match sel % 4 {
        0 | 1 => CW_PUTINFO,
        2 => CW_GETINFO,
        _ => raw,
    }
}

fn getinfo_global(core: *mut c_void) -> xen_sysctl_commaware_schedule {
    let mut out = xen_sysctl_commaware_schedule::default();
    // SAFETY: a live instance, a valid out-pointer.
    assert_eq!(unsafe { ffi::cw_adjust_global(core, &mut out, CW_GETINFO) }, 0);
    out
}

fn getinfo_dom(core: *mut c_void, d: i32) -> (i32, xen_domctl_sched_commaware) {
    let mut out = xen_domctl_sched_commaware::default();
    // SAFETY: a live instance, a valid out-pointer.
    let rc = unsafe { ffi::cw_adjust(core, d, &mut out, CW_GETINFO) };
    (rc, out)
}

fn same_dom(a: &xen_domctl_sched_commaware, b: &xen_domctl_sched_commaware) -> bool {
    a == b
}

/// 3: the C ABI on a real instance.
fn check_ffi(u: &mut Unstructured<'_>) -> Result<()> {
    let mut core: Box<Core> = bytemuck::zeroed_box();
    let k = (&mut *core as *mut Core).cast::<c_void>();
    assert_eq!(ffi::cw_core_size(), core::mem::size_of::<Core>());
    // cw_init with an arbitrary payload: refused → defaults.
    let init = a_sysctl(u)?;
    // SAFETY: a zeroed, aligned instance; a valid payload pointer.
    let rc = unsafe { ffi::cw_init(k, &init) };
    if global_valid(&init) {
        assert_eq!(rc, 0, "cw_init refused {init:?}");
        assert!(same_sysctl(&getinfo_global(k), &init));
    } else {
        assert_eq!(rc, -EINVAL, "cw_init({init:?})");
        let mut d = xen_sysctl_commaware_schedule::default();
        // SAFETY: valid pointers.
        unsafe { ffi::cw_defaults(&mut d) };
        // SAFETY: as above.
        assert_eq!(unsafe { ffi::cw_init(k, &d) }, 0);
    }
    // SAFETY: a live instance.
    unsafe {
        assert_eq!(ffi::cw_pcpu_add(k, 0), 0);
        assert_eq!(ffi::cw_pcpu_add(k, 1), 0);
    }
    let mut doms = Vec::new();
    for domid in 0..3u16 {
        // SAFETY: a live instance.
        let d = unsafe { ffi::cw_dom_add(k, domid) };
        assert!(d >= 0);
        doms.push(d);
    }
    let mut units = vec![0u32; doms.len()];
    let mut n = 0;
    while !u.is_empty() && n < 64 {
        n += 1;
        match u.arbitrary::<FfiOp>()? {
            FfiOp::Global(sel, raw) => {
                let c = cmd(sel, raw);
                let before = getinfo_global(k);
                let mut p = a_sysctl(u)?;
                let sent = p;
                // SAFETY: a live instance, a valid payload.
                let rc = unsafe { ffi::cw_adjust_global(k, &mut p, c) };
                let after = getinfo_global(k);
                match c {
                    CW_PUTINFO if global_valid(&sent) => {
                        assert_eq!(rc, 0, "putinfo {sent:?} refused");
                        assert!(same_sysctl(&after, &sent), "putinfo {sent:?}, getinfo {after:?}");
                    }
                    CW_GETINFO => {
                        assert_eq!(rc, 0);
                        assert!(same_sysctl(&p, &before), "getinfo wrote {p:?}, not {before:?}");
                        assert!(same_sysctl(&after, &before));
                    }
                    _ => {
                        assert_eq!(rc, -EINVAL, "cmd {c}, payload {sent:?}");
                        assert!(same_sysctl(&after, &before), "refused cmd {c} {sent:?} changed getinfo");
                        assert!(same_sysctl(&p, &sent), "refused cmd {c} wrote the caller's buffer");
                    }
                }
            }
            FfiOp::Dom(which, sel, raw, any) => {
                let c = cmd(sel, raw);
                let i = usize::from(which) % doms.len();
                let d = if any { u.arbitrary::<i32>()? } else { doms[i] };
                let known = doms.contains(&d);
                let nunits = doms.iter().position(|x| *x == d).map_or(0, |j| units[j]);
                let (rc0, before) = getinfo_dom(k, d);
                let mut p = a_domctl(u)?;
                let sent = p;
                // SAFETY: a live instance, a valid payload.
                let rc = unsafe { ffi::cw_adjust(k, d, &mut p, c) };
                let (_, after) = getinfo_dom(k, d);
                if !known {
                    assert_eq!((rc0, rc), (-ESRCH, -ESRCH), "unknown domain handle {d}, cmd {c}");
                    assert!(same_dom(&p, &sent), "refused cmd wrote the caller's buffer");
                    continue;
                }
                assert_eq!(rc0, 0);
                let cur = DomParams {
                    weight: before.weight,
                    cap: before.cap,
                    boost: before.flags & XEN_DOMCTL_COMMAWARE_NO_BOOST == 0,
                    donation: before.flags & XEN_DOMCTL_COMMAWARE_NO_DONATION == 0,
                    driver: before.flags & XEN_DOMCTL_COMMAWARE_DRIVER != 0,
                };
                match c {
                    CW_PUTINFO => match dom_update(cur, &sent, nunits) {
                        Ok(new) => {
                            assert_eq!(rc, 0, "putinfo {sent:?} refused");
                            let want = dom_to_abi(&new, &DomCounters::default(), 0);
                            assert_eq!((after.weight, after.cap, after.flags), (want.weight, want.cap, want.flags));
                            let mut kept = before.counters;
                            if sent.reset & XEN_DOMCTL_COMMAWARE_RESET_WAIT_MAX != 0 {
                                kept.wait_max_ns = 0;
                            }
                            assert_eq!(after.counters, kept, "putinfo {sent:?}: counters not as reset");
                        }
                        Err(_) => {
                            assert_eq!(rc, -EINVAL, "putinfo {sent:?} with {nunits} units");
                            assert!(same_dom(&after, &before), "refused putinfo {sent:?} changed getinfo");
                            assert!(same_dom(&p, &sent), "refused putinfo wrote the caller's buffer");
                        }
                    },
                    CW_GETINFO => {
                        assert_eq!(rc, 0);
                        assert!(same_dom(&p, &before));
                        assert!(same_dom(&after, &before));
                    }
                    _ => {
                        assert_eq!(rc, -EINVAL);
                        assert!(same_dom(&after, &before), "unknown cmd {c} changed getinfo");
                        assert!(same_dom(&p, &sent), "unknown cmd wrote the caller's buffer");
                    }
                }
            }
            FfiOp::AddUnit(which) => {
                let i = usize::from(which) % doms.len();
                // SAFETY: a live instance.
                let h = unsafe { ffi::cw_unit_add(k, doms[i], units[i]) };
                assert!(h >= 0, "cw_unit_add: {h}");
                // SAFETY: a live instance.
                assert_eq!(unsafe { ffi::cw_unit_insert(k, h, u32::from(which & 1), 0) }, 0);
                units[i] += 1;
            }
            FfiOp::Null(which) => {
                // SAFETY: null payloads and null instances are refused
                // before any use (the shim's contract allows them).
                unsafe {
                    assert_eq!(ffi::cw_adjust_global(k, core::ptr::null_mut(), u32::from(which)), -EINVAL);
                    assert_eq!(ffi::cw_adjust(k, doms[0], core::ptr::null_mut(), u32::from(which)), -EINVAL);
                    let mut p = xen_sysctl_commaware_schedule::default();
                    assert_eq!(ffi::cw_adjust_global(core::ptr::null_mut(), &mut p, CW_GETINFO), -EINVAL);
                    let mut q = xen_domctl_sched_commaware::default();
                    assert_eq!(ffi::cw_adjust(core::ptr::null_mut(), doms[0], &mut q, CW_GETINFO), -EINVAL);
                }
            }
        }
        if let Err(v) = core.check() {
            panic!("Core::check failed after an FFI call: {v:?}");
        }
    }
    let _ = abi::CW_MAX_UNITS;
    Ok(())
}

/// The `payloads` target.
pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(p) = a_sysctl(&mut u) else { return };
    check_global(&p);
    let (Ok(cur), Ok(q), Ok(units)) = (a_dom_params(&mut u), a_domctl(&mut u), u.arbitrary::<u16>()) else { return };
    check_dom(cur, &q, u32::from(units % 1024));
    let _ = check_ffi(&mut u);
    let _ = GlobalParams::DEFAULT;
}
