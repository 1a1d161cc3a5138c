//! The `cw_*` entry points declared in `include/commaware.h`.
//!
//! This is the FFI edge: raw pointers from the shim become references
//! here, each in one small `unsafe` block whose `// SAFETY:` line says
//! which part of the shim's contract makes it sound. Everything else is a
//! call into `commaware-sched`. No entry point panics, and none trusts a
//! handle: an unknown unit, domain or pCPU is refused (or ignored, for the
//! hooks that cannot fail in Xen).
//!
//! The shim's contract (`include/commaware.h`): `core` points to
//! `cw_core_size()` bytes aligned to `cw_core_align()`, zeroed before
//! `cw_init`, alive until the shim frees it after the last call, and every
//! call on it is made under the instance's lock; out-pointers are valid
//! for writes and in-pointers for reads of their type.

use core::ffi::{c_int, c_void};
use core::mem::{align_of, size_of};

use commaware_sched::state::UnitFlags;
use commaware_sched::{Core, CpuSet, DomId, Error, GlobalParams, PrevState, Sink, Trace, UnitId};

use crate::abi;
use crate::payload::{self, PayloadError};

// An all-zero Core is a valid, empty instance: the shim's zeroed memory may
// be used as one. (bytemuck's derive checks every field recursively.)
static_assertions::assert_impl_all!(Core: bytemuck::Zeroable);

// The table sizes the shim sizes its own maps with (include/commaware.h).
static_assertions::const_assert_eq!(abi::CW_MAX_PCPUS as usize, commaware_sched::MAX_PCPUS);
static_assertions::const_assert_eq!(abi::CW_MAX_DOMAINS as usize, commaware_sched::MAX_DOMAINS);
static_assertions::const_assert_eq!(abi::CW_MAX_UNITS as usize, commaware_sched::MAX_UNITS);

const EINVAL: c_int = 22;
const ENOMEM: c_int = 12;
const EBUSY: c_int = 16;
const EEXIST: c_int = 17;
const ESRCH: c_int = 3;
const ERANGE: c_int = 34;

fn errno(e: Error) -> c_int {
    -match e {
        Error::Param(_) => EINVAL,
        Error::NoSuchDomain | Error::NoSuchUnit | Error::NoSuchPcpu => ESRCH,
        Error::TooManyDomains | Error::TooManyUnits => ENOMEM,
        Error::PcpuOutOfRange => ERANGE,
        Error::PcpuPresent => EEXIST,
        Error::Busy => EBUSY,
    }
}

fn payload_errno(_e: PayloadError) -> c_int {
    -EINVAL
}

fn result(r: Result<(), Error>) -> c_int {
    r.map_or_else(errno, |()| 0)
}

/// # Safety
/// `core` is null or obeys the shim's contract (module docs).
unsafe fn core_mut<'a>(core: *mut c_void) -> Option<&'a mut Core> {
    if core.is_null() || !core.cast::<Core>().is_aligned() {
        return None;
    }
    // SAFETY: per the contract the memory is a zero-initialised or
    // initialised Core (valid either way: Core is Zeroable), aligned, alive
    // for the call, and not accessed by anyone else while we hold the lock.
    Some(unsafe { &mut *core.cast::<Core>() })
}

/// # Safety
/// As [`core_mut`], for shared access.
unsafe fn core_ref<'a>(core: *const c_void) -> Option<&'a Core> {
    if core.is_null() || !core.cast::<Core>().is_aligned() {
        return None;
    }
    // SAFETY: as in `core_mut`; only read here.
    Some(unsafe { &*core.cast::<Core>() })
}

fn unit(h: i32) -> Option<UnitId> {
    u16::try_from(h).ok().map(UnitId)
}

fn dom(h: i32) -> Option<DomId> {
    u16::try_from(h).ok().map(DomId)
}

fn cpu(c: u32) -> Option<u16> {
    u16::try_from(c).ok()
}

/// Raises softirqs at once; keeps trace events until the call is done, to
/// name their units by domid.vcpu (which needs the core again).
struct XenSink {
    traces: [Option<Trace>; 8],
    n: usize,
}

impl XenSink {
    fn new() -> XenSink {
        XenSink { traces: [None; 8], n: 0 }
    }

    fn flush(&mut self, core: &Core) {
        let name = |u: UnitId| {
            let d = core.unit_domain(u).and_then(|d| core.domain_domid(d)).unwrap_or(u16::MAX);
            (u32::from(d), core.unit_vcpu(u).map_or(u32::MAX, u32::from))
        };
        for t in self.traces.iter_mut().take(self.n) {
            let Some(t) = t.take() else { continue };
            let (ev, a, b) = match t {
                Trace::BoostStart { unit } => (abi::CW_TRC_BOOST, unit, None),
                Trace::BoostRefused { unit } => (abi::CW_TRC_BOOST_REFUSED, unit, None),
                Trace::DonationStart { donor, donee } => (abi::CW_TRC_DONATION_START, donor, Some(donee)),
                Trace::DonationEnd { donor, donee } => (abi::CW_TRC_DONATION_END, donor, Some(donee)),
                Trace::Wake { unit, pri, credit, migrating } => {
                    let (d, v) = name(unit);
                    // The priority as credit.c's int8, the credit as int32 bits.
                    let word = u32::from(pri as i8 as u8) | u32::from(migrating) << 8;
                    // SAFETY: a plain C function of the shim taking integers.
                    unsafe { abi::cw_cb_trace(abi::CW_TRC_WAKE, d, v, word, credit as u32) };
                    continue;
                }
            };
            let (d1, v1) = name(a);
            let (d2, v2) = b.map_or((0, 0), name);
            // SAFETY: a plain C function of the shim taking integers.
            unsafe { abi::cw_cb_trace(ev, d1, v1, d2, v2) };
        }
        self.n = 0;
    }
}

impl Sink for XenSink {
    fn tickle(&mut self, cpu: u16) {
        // SAFETY: a plain C function of the shim taking an integer.
        unsafe { abi::cw_cb_tickle(u32::from(cpu)) };
    }

    fn trace(&mut self, ev: Trace) {
        if let Some(slot) = self.traces.get_mut(self.n) {
            *slot = Some(ev);
            self.n += 1;
        }
    }
}

/// Run `f` on the core with a sink, then emit its traces.
///
/// # Safety
/// As [`core_mut`].
unsafe fn with<R>(core: *mut c_void, default: R, f: impl FnOnce(&mut Core, &mut XenSink) -> R) -> R {
    // SAFETY: forwarded contract.
    let Some(c) = (unsafe { core_mut(core) }) else { return default };
    let mut sink = XenSink::new();
    let r = f(c, &mut sink);
    sink.flush(c);
    r
}

#[no_mangle]
pub extern "C" fn cw_core_size() -> usize {
    size_of::<Core>()
}

#[no_mangle]
pub extern "C" fn cw_core_align() -> usize {
    align_of::<Core>()
}

/// # Safety
/// `p` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn cw_defaults(p: *mut abi::xen_sysctl_commaware_schedule) {
    if p.is_null() {
        return;
    }
    // SAFETY: non-null and valid for writes per the contract.
    unsafe { p.write(payload::global_to_abi(&GlobalParams::DEFAULT)) };
}

/// # Safety
/// Shim contract; `p` valid for reads.
#[no_mangle]
pub unsafe extern "C" fn cw_init(core: *mut c_void, p: *const abi::xen_sysctl_commaware_schedule) -> c_int {
    if p.is_null() {
        return -EINVAL;
    }
    // SAFETY: non-null, valid for reads per the contract; plain integers.
    let p = unsafe { p.read() };
    let params = match payload::global_from_abi(&p) {
        Ok(g) => g,
        Err(e) => return payload_errno(e),
    };
    // SAFETY: shim contract.
    unsafe { with(core, -EINVAL, |c, _| result(c.init(params))) }
}

/// # Safety
/// Shim contract; `p` valid for reads and writes.
#[no_mangle]
pub unsafe extern "C" fn cw_adjust_global(core: *mut c_void, p: *mut abi::xen_sysctl_commaware_schedule, cmd: u32) -> c_int {
    if p.is_null() {
        return -EINVAL;
    }
    // SAFETY: shim contract.
    unsafe {
        with(core, -EINVAL, |c, _| match cmd {
            abi::CW_PUTINFO => {
                // SAFETY: non-null, valid for reads per the contract.
                let req = p.read();
                match payload::global_from_abi(&req) {
                    Ok(g) => result(c.set_params(g)),
                    Err(e) => payload_errno(e),
                }
            }
            abi::CW_GETINFO => {
                // SAFETY: non-null, valid for writes per the contract.
                p.write(payload::global_to_abi(&c.params()));
                0
            }
            _ => -EINVAL,
        })
    }
}

/// # Safety
/// Shim contract.
#[no_mangle]
pub unsafe extern "C" fn cw_tslice_ns(core: *const c_void) -> i64 {
    // SAFETY: shim contract.
    unsafe { core_ref(core) }.map_or(0, |c| c.params().tslice())
}

/// # Safety
/// Shim contract.
#[no_mangle]
pub unsafe extern "C" fn cw_tick_period_ns(core: *const c_void) -> i64 {
    // SAFETY: shim contract.
    unsafe { core_ref(core) }.map_or(0, |c| commaware_accounting::credit::tick_period(c.params().tslice_ms))
}

/// # Safety
/// Shim contract.
#[no_mangle]
pub unsafe extern "C" fn cw_pcpu_add(core: *mut c_void, c: u32) -> c_int {
    let Some(c) = cpu(c) else { return -ERANGE };
    // SAFETY: shim contract.
    unsafe { with(core, -EINVAL, |k, _| result(k.pcpu_add(c))) }
}

/// # Safety
/// Shim contract.
#[no_mangle]
pub unsafe extern "C" fn cw_pcpu_remove(core: *mut c_void, c: u32, now: i64) -> c_int {
    let Some(c) = cpu(c) else { return -ERANGE };
    // SAFETY: shim contract.
    unsafe { with(core, -EINVAL, |k, s| result(k.pcpu_remove(c, now, s))) }
}

/// # Safety
/// Shim contract.
#[no_mangle]
pub unsafe extern "C" fn cw_dom_add(core: *mut c_void, domid: u16) -> c_int {
    // SAFETY: shim contract.
    unsafe { with(core, -EINVAL, |k, _| k.dom_add(domid).map_or_else(errno, |d| c_int::from(d.0))) }
}

/// # Safety
/// Shim contract.
#[no_mangle]
pub unsafe extern "C" fn cw_dom_remove(core: *mut c_void, d: i32) -> c_int {
    let Some(d) = dom(d) else { return -ESRCH };
    // SAFETY: shim contract.
    unsafe { with(core, -EINVAL, |k, _| result(k.dom_remove(d))) }
}

/// # Safety
/// Shim contract; `p` valid for reads and writes.
#[no_mangle]
pub unsafe extern "C" fn cw_adjust(core: *mut c_void, d: i32, p: *mut abi::xen_domctl_sched_commaware, cmd: u32) -> c_int {
    let Some(d) = dom(d) else { return -ESRCH };
    if p.is_null() {
        return -EINVAL;
    }
    // SAFETY: shim contract.
    unsafe {
        with(core, -EINVAL, |k, _| {
            let Some(cur) = k.domain_params(d) else { return -ESRCH };
            match cmd {
                abi::CW_PUTINFO => {
                    // SAFETY: non-null, valid for reads per the contract.
                    let req = p.read();
                    let units = k.domain_units(d).count() as u32;
                    match payload::dom_update(cur, &req, units) {
                        Ok(new) => result(k.dom_set(d, new).and_then(|()| {
                            if payload::resets_wait_max(&req) {
                                k.dom_reset_wait_max(d)?;
                            }
                            Ok(())
                        })),
                        Err(e) => payload_errno(e),
                    }
                }
                abi::CW_GETINFO => {
                    let counters = k.domain_counters(d).unwrap_or_default();
                    // SAFETY: non-null, valid for writes per the contract.
                    p.write(payload::dom_to_abi(&cur, &counters, k.domain_credit(d)));
                    0
                }
                _ => -EINVAL,
            }
        })
    }
}

/// # Safety
/// Shim contract.
#[no_mangle]
pub unsafe extern "C" fn cw_unit_add(core: *mut c_void, d: i32, vcpu_id: u32) -> c_int {
    let Some(d) = dom(d) else { return -ESRCH };
    let vcpu = u16::try_from(vcpu_id).unwrap_or(u16::MAX);
    // SAFETY: shim contract.
    unsafe { with(core, -EINVAL, |k, _| k.unit_add(d, vcpu).map_or_else(errno, |u| c_int::from(u.0))) }
}

/// # Safety
/// Shim contract.
#[no_mangle]
pub unsafe extern "C" fn cw_unit_insert(core: *mut c_void, u: i32, runnable: u32, now: i64) -> c_int {
    let Some(u) = unit(u) else { return -ESRCH };
    // SAFETY: shim contract.
    unsafe { with(core, -EINVAL, |k, s| result(k.unit_insert(u, runnable != 0, now, s))) }
}

/// # Safety
/// Shim contract.
#[no_mangle]
pub unsafe extern "C" fn cw_unit_remove(core: *mut c_void, u: i32, now: i64) -> c_int {
    let Some(u) = unit(u) else { return -ESRCH };
    // SAFETY: shim contract.
    unsafe { with(core, -EINVAL, |k, s| result(k.unit_remove(u, now, s))) }
}

/// # Safety
/// Shim contract.
#[no_mangle]
pub unsafe extern "C" fn cw_unit_free(core: *mut c_void, u: i32, now: i64) -> c_int {
    let Some(u) = unit(u) else { return -ESRCH };
    // SAFETY: shim contract.
    unsafe { with(core, -EINVAL, |k, s| result(k.unit_free(u, now, s))) }
}

/// # Safety
/// Shim contract; `words` valid for reads of `nr_words` u64.
#[no_mangle]
pub unsafe extern "C" fn cw_unit_affinity(core: *mut c_void, u: i32, words: *const u64, nr_words: u32) -> c_int {
    let Some(u) = unit(u) else { return -ESRCH };
    if words.is_null() {
        return -EINVAL;
    }
    // Only the words the core can use are read.
    let n = (nr_words as usize).min(commaware_sched::MAX_PCPUS / 64);
    let mut buf = [0u64; commaware_sched::MAX_PCPUS / 64];
    for (i, w) in buf.iter_mut().enumerate().take(n) {
        // SAFETY: i < n <= nr_words, and `words` is valid for nr_words reads.
        *w = unsafe { words.add(i).read() };
    }
    let set = CpuSet::from_words(&buf);
    // SAFETY: shim contract.
    unsafe { with(core, -EINVAL, |k, _| result(k.set_affinity(u, set))) }
}

/// # Safety
/// Shim contract.
#[no_mangle]
pub unsafe extern "C" fn cw_unit_migrate(core: *mut c_void, u: i32, c: u32) -> c_int {
    let (Some(u), Some(c)) = (unit(u), cpu(c)) else { return -ESRCH };
    // SAFETY: shim contract.
    unsafe { with(core, -EINVAL, |k, _| result(k.migrate(u, c))) }
}

/// # Safety
/// Shim contract; `out` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn cw_unit_info(core: *const c_void, u: i32, out: *mut abi::cw_unit_info) -> c_int {
    let Some(u) = unit(u) else { return -ESRCH };
    if out.is_null() {
        return -EINVAL;
    }
    // SAFETY: shim contract.
    let Some(k) = (unsafe { core_ref(core) }) else { return -EINVAL };
    let Some(info) = k.unit_info(u) else { return -ESRCH };
    let domid = k.unit_domain(u).and_then(|d| k.domain_domid(d)).unwrap_or(u16::MAX);
    let v = abi::cw_unit_info {
        domid,
        vcpu_id: info.vcpu_id,
        pri: i16::from(info.pri as i8),
        flags: (info.flags & (UnitFlags::RUNNABLE | UnitFlags::QUEUED | UnitFlags::ACTIVE | UnitFlags::PARKED | UnitFlags::DONATING)).bits(),
        credit: info.credit,
        cpu: u32::from(info.cpu),
        boost_left_ns: info.boost_left,
        donation_left_ns: info.donation_left,
        donor: info.donor.map_or(-1, |d| i32::from(d.0)),
        pad: 0,
    };
    // SAFETY: non-null, valid for writes per the contract.
    unsafe { out.write(v) };
    0
}

/// # Safety
/// Shim contract.
#[no_mangle]
pub unsafe extern "C" fn cw_context_saved(core: *mut c_void, u: i32) {
    let Some(u) = unit(u) else { return };
    // SAFETY: shim contract.
    unsafe { with(core, (), |k, _| k.context_saved(u)) }
}

/// # Safety
/// Shim contract.
#[no_mangle]
pub unsafe extern "C" fn cw_sleep(core: *mut c_void, u: i32, now: i64) {
    let Some(u) = unit(u) else { return };
    // SAFETY: shim contract.
    unsafe { with(core, (), |k, s| k.sleep(u, now, s)) }
}

/// # Safety
/// Shim contract.
#[no_mangle]
pub unsafe extern "C" fn cw_wake(core: *mut c_void, u: i32, now: i64) {
    let Some(u) = unit(u) else { return };
    // SAFETY: shim contract.
    unsafe { with(core, (), |k, s| k.wake(u, now, s)) }
}

/// # Safety
/// Shim contract.
#[no_mangle]
pub unsafe extern "C" fn cw_yield(core: *mut c_void, u: i32) {
    let Some(u) = unit(u) else { return };
    // SAFETY: shim contract.
    unsafe { with(core, (), |k, _| k.yield_unit(u)) }
}

/// # Safety
/// Shim contract.
#[no_mangle]
pub unsafe extern "C" fn cw_notify(core: *mut c_void, src: i32, dst: i32, now: i64) {
    let (Some(s), Some(d)) = (unit(src), unit(dst)) else { return };
    // SAFETY: shim contract.
    unsafe { with(core, (), |k, sink| k.notify(s, d, now, sink)) }
}

/// # Safety
/// Shim contract; `out` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn cw_do_schedule(core: *mut c_void, c: u32, now: i64, prev: u32, tasklet: u32, out: *mut abi::cw_decision) {
    if out.is_null() {
        return;
    }
    let prev = match prev {
        abi::CW_PREV_BLOCKED => PrevState::Blocked,
        abi::CW_PREV_ASLEEP => PrevState::Asleep,
        _ => PrevState::Runnable,
    };
    let idle = abi::cw_decision { next: -1, migrated: 0, slice_ns: -1 };
    let d = match cpu(c) {
        // SAFETY: shim contract.
        Some(c) => unsafe {
            with(core, idle, |k, s| {
                let d = k.do_schedule(c, now, prev, tasklet != 0, s);
                abi::cw_decision {
                    next: d.next.map_or(-1, |u| i32::from(u.0)),
                    migrated: u32::from(d.migrated),
                    slice_ns: d.slice,
                }
            })
        },
        None => idle,
    };
    // SAFETY: non-null, valid for writes per the contract.
    unsafe { out.write(d) };
}

/// # Safety
/// Shim contract.
#[no_mangle]
pub unsafe extern "C" fn cw_pick_resource(core: *mut c_void, u: i32, now: i64) -> i32 {
    let Some(u) = unit(u) else { return -ESRCH };
    // SAFETY: shim contract.
    unsafe { with(core, -EINVAL, |k, _| k.pick_resource(u, now).map_or(-ESRCH, i32::from)) }
}

/// # Safety
/// Shim contract.
#[no_mangle]
pub unsafe extern "C" fn cw_tick(core: *mut c_void, c: u32, now: i64) {
    let Some(c) = cpu(c) else { return };
    // SAFETY: shim contract.
    unsafe { with(core, (), |k, s| k.tick(c, now, s)) }
}

/// # Safety
/// Shim contract.
#[no_mangle]
pub unsafe extern "C" fn cw_account(core: *mut c_void, now: i64) {
    // SAFETY: shim contract.
    unsafe { with(core, (), |k, s| k.account(now, s)) }
}

/// # Safety
/// Shim contract.
#[no_mangle]
pub unsafe extern "C" fn cw_curr(core: *const c_void, c: u32) -> i32 {
    let Some(c) = cpu(c) else { return -1 };
    // SAFETY: shim contract.
    unsafe { core_ref(core) }.and_then(|k| k.curr(c)).map_or(-1, |u| i32::from(u.0))
}

/// # Safety
/// Shim contract.
#[no_mangle]
pub unsafe extern "C" fn cw_runq_at(core: *const c_void, c: u32, pos: u32) -> i32 {
    let Some(c) = cpu(c) else { return -1 };
    // SAFETY: shim contract.
    let Some(k) = (unsafe { core_ref(core) }) else { return -1 };
    k.runq(c).nth(pos as usize).map_or(-1, |u| i32::from(u.0))
}

/// Prove at compile time that each definition above has exactly the
/// signature bindgen read from `include/commaware.h`: both are coerced to
/// one function-pointer type, which only compiles if they agree.
macro_rules! same_signature {
    ($($name:ident),* $(,)?) => {
        $(const _: () = { let _ = if true { abi::$name } else { $name }; };)*
    };
}

same_signature!(
    cw_defaults, cw_init, cw_adjust_global, cw_tslice_ns, cw_tick_period_ns, cw_pcpu_add, cw_pcpu_remove,
    cw_dom_add, cw_dom_remove, cw_adjust, cw_unit_add, cw_unit_insert, cw_unit_remove, cw_unit_free,
    cw_unit_affinity, cw_unit_migrate, cw_unit_info, cw_context_saved, cw_sleep, cw_wake, cw_yield, cw_notify,
    cw_do_schedule, cw_pick_resource, cw_tick, cw_account, cw_curr, cw_runq_at,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[repr(C)]
    #[derive(Default, Debug, PartialEq)]
    struct CLayout {
        sysctl_size: usize,
        sysctl_flags_off: usize,
        counters_size: usize,
        counters_align: usize,
        domctl_size: usize,
        domctl_counters_off: usize,
        decision_size: usize,
        unit_info_size: usize,
    }

    extern "C" {
        fn cw_c_layout(l: *mut CLayout);
        fn cw_c_harness_run() -> c_int;
    }

    #[test]
    fn the_c_compiler_sees_the_same_layout_as_bindgen() {
        let mut l = CLayout::default();
        // SAFETY: cw_c_layout writes one CLayout (same repr(C) layout).
        unsafe { cw_c_layout(&mut l) };
        assert_eq!(
            l,
            CLayout {
                sysctl_size: size_of::<abi::xen_sysctl_commaware_schedule>(),
                sysctl_flags_off: core::mem::offset_of!(abi::xen_sysctl_commaware_schedule, flags),
                counters_size: size_of::<abi::xen_commaware_counters>(),
                counters_align: align_of::<abi::xen_commaware_counters>(),
                domctl_size: size_of::<abi::xen_domctl_sched_commaware>(),
                domctl_counters_off: core::mem::offset_of!(abi::xen_domctl_sched_commaware, counters),
                decision_size: size_of::<abi::cw_decision>(),
                unit_info_size: size_of::<abi::cw_unit_info>(),
            }
        );
    }

    #[test]
    fn a_c_caller_drives_the_core_like_the_shim() {
        // SAFETY: a self-contained C function (tests/c/shim_harness.c).
        let rc = unsafe { cw_c_harness_run() };
        assert_eq!(rc, 0, "tests/c/shim_harness.c failed at check {rc}");
    }

    #[test]
    fn null_and_misaligned_instances_are_refused() {
        let p = payload::global_to_abi(&GlobalParams::DEFAULT);
        // SAFETY: a null instance is part of the contract (refused).
        assert_eq!(unsafe { cw_init(core::ptr::null_mut(), &p) }, -EINVAL);
        let mut buf = [0u64; 4];
        let odd = (buf.as_mut_ptr() as *mut u8).wrapping_add(1).cast::<c_void>();
        // SAFETY: a misaligned pointer is checked before any use.
        assert_eq!(unsafe { cw_pcpu_add(odd, 0) }, -EINVAL);
    }
}
