//! Instantiate the core's entry points in a `no_std` crate, so that every
//! generic function the hypervisor calls is compiled here without std.
#![no_std]

use commaware_sched::{Core, DomParams, GlobalParams, NullSink, PrevState, UnitId};

/// Size of the core, so the shim could allocate it.
#[no_mangle]
pub extern "C" fn cw_nostd_core_size() -> usize {
    core::mem::size_of::<Core>()
}

/// Drive every entry point once on a core the caller allocated zeroed.
#[no_mangle]
pub extern "C" fn cw_nostd_exercise(core: &mut Core, now: i64) -> i32 {
    let mut sink = NullSink;
    if core.init(GlobalParams::DEFAULT).is_err() || core.pcpu_add(0).is_err() {
        return -1;
    }
    let Ok(d) = core.dom_add(1) else { return -1 };
    let _ = core.dom_set(d, DomParams::DEFAULT);
    let Ok(u) = core.unit_add(d, 0) else { return -1 };
    let _ = core.unit_insert(u, true, now, &mut sink);
    core.wake(u, now, &mut sink);
    core.notify(u, UnitId(0), now, &mut sink);
    core.yield_unit(u);
    core.tick(0, now, &mut sink);
    core.account(now, &mut sink);
    let d0 = core.do_schedule(0, now, PrevState::Runnable, false, &mut sink);
    core.context_saved(u);
    core.sleep(u, now, &mut sink);
    let _ = core.pick_resource(u, now);
    let _ = core.migrate(u, 0);
    let _ = core.unit_remove(u, now, &mut sink);
    let _ = core.unit_free(u, now, &mut sink);
    let _ = core.dom_remove(d);
    let _ = core.pcpu_remove(0, now, &mut sink);
    match core.check() {
        Ok(()) => i32::from(d0.next.is_some()),
        Err(_) => -2,
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
