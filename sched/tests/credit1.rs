//! The credit1 baseline: with every commaware feature off
//! (`GlobalParams::CREDIT1`), the core must follow `xen/common/sched/credit.c`
//! (Xen 4.17). One test per rule, named after it; the numbers are credit1's
//! (30 ms slice, 10 ms tick, 10 credits per ms, ratelimit 1 ms).

mod common;

use commaware_sched::{CpuSet, DomParams, GlobalParams, Pri, UnitId};
use common::*;

/// Run `u` (which must be at the head of cpu's queue or running) for `ms`
/// milliseconds of ticks on `cpu`.
fn run_ticks(h: &mut Harness, cpu: u16, ms: i64) {
    for _ in 0..ms / 10 {
        h.advance(10 * MS);
        h.tick(cpu);
    }
}

/// On a one-pCPU harness, make each of `units` (queued, UNDER, FIFO) run
/// 20 ms and become OVER after the next accounting period. Returns with the
/// last of them running.
fn make_over(h: &mut Harness, units: &[UnitId]) {
    for &u in units {
        while h.core.curr(0) != Some(u) {
            h.advance(2 * MS);
            h.schedule(0);
        }
        run_ticks(h, 0, 20);
    }
    h.account();
    for &u in units {
        assert_eq!(h.core.unit_pri(u), Some(Pri::Over), "{u:?} should be OVER");
    }
}

/// First wake after insertion consumes the MIGRATING flag `insert_unit` sets
/// (credit1 does the same); this gives a queued, un-boosted UNDER unit.
fn first_wake(h: &mut Harness, u: UnitId) {
    h.wake(u);
    assert_eq!(h.core.unit_pri(u), Some(Pri::Under));
}

/// A unit that has woken before, blocked (not runnable, not migrating).
fn blocked_unit(h: &mut Harness, d: commaware_sched::DomId) -> UnitId {
    let u = h.unit(d, false);
    first_wake(h, u);
    h.sleep(u);
    h.xstate.insert(u, XState::Blocked);
    u
}

#[test]
fn runq_order_is_boost_then_under_then_over_fifo_within_a_priority() {
    let mut h = Harness::credit1(1);
    let d = h.dom(1);
    let o1 = h.unit(d, true);
    let o2 = h.unit(d, true);
    make_over(&mut h, &[o1, o2]);
    // o2 runs; o1 is queued OVER.
    assert_eq!(h.core.curr(0), Some(o2));
    let u1 = h.unit(d, true);
    let u2 = h.unit(d, true);
    let b1 = blocked_unit(&mut h, d);
    let b2 = blocked_unit(&mut h, d);
    h.wake(b1);
    h.wake(b2);
    assert_eq!(h.core.unit_pri(b1), Some(Pri::Boost));
    assert_eq!(h.core.runq(0).collect::<Vec<_>>(), vec![b1, b2, u1, u2, o1]);
    // And they run in that order, o2 (running, OVER) going behind o1.
    h.advance(2 * MS);
    let mut order = vec![];
    h.schedule(0);
    for _ in 0..6 {
        let c = h.core.curr(0).expect("runs");
        order.push(c);
        h.advance(2 * MS);
        h.block(0);
    }
    assert_eq!(order, vec![b1, b2, u1, u2, o1, o2]);
}

#[test]
fn wake_boosts_a_unit_waking_from_block_while_under() {
    let mut h = Harness::credit1(1);
    let d = h.dom(1);
    let u = blocked_unit(&mut h, d);
    h.wake(u);
    assert_eq!(h.core.unit_pri(u), Some(Pri::Boost));
}

#[test]
fn wake_does_not_boost_an_over_unit() {
    let mut h = Harness::credit1(1);
    let d = h.dom(1);
    let o1 = h.unit(d, true);
    let o2 = h.unit(d, true);
    make_over(&mut h, &[o1, o2]);
    h.advance(2 * MS);
    h.block(0); // o2 blocks
    assert_eq!(h.core.curr(0), Some(o1));
    h.wake(o2);
    assert_eq!(h.core.unit_pri(o2), Some(Pri::Over));
}

#[test]
fn wake_does_not_boost_a_parked_unit() {
    let mut h = Harness::credit1(1);
    let d = h.dom_with(1, DomParams { cap: 10, ..DomParams::DEFAULT });
    let u = h.unit(d, true);
    h.schedule(0);
    run_ticks(&mut h, 0, 30);
    h.account();
    assert!(h.core.unit_parked(u));
    // Parked while running: descheduled at once, and not queued.
    h.softirqs();
    assert_eq!(h.core.curr(0), None);
    assert!(!h.core.unit_queued(u));
    // It blocks and wakes while parked: no boost, still off the queues.
    h.sleep(u);
    h.xstate.insert(u, XState::Blocked);
    h.wake(u);
    assert_ne!(h.core.unit_pri(u), Some(Pri::Boost));
    assert!(!h.core.unit_queued(u));
}

#[test]
fn wake_after_pick_resource_is_not_boosted() {
    let mut h = Harness::credit1(2);
    let d = h.dom(1);
    let u = blocked_unit(&mut h, d);
    // Xen moves it: pick_resource, migrate, then the wake.
    let cpu = h.core.pick_resource(u, h.now).expect("a pCPU");
    h.core.migrate(u, cpu).expect("migrate");
    h.wake(u);
    assert_eq!(h.core.unit_pri(u), Some(Pri::Under), "a migration is not a wake from block");
    // The next real wake from block is boosted again.
    h.schedule(cpu);
    h.advance(MS);
    h.block(cpu);
    h.wake(u);
    assert_eq!(h.core.unit_pri(u), Some(Pri::Boost));
}

#[test]
fn boost_is_taken_away_at_the_next_tick_if_still_running() {
    let mut h = Harness::credit1(1);
    let d = h.dom(1);
    let u = blocked_unit(&mut h, d);
    h.wake(u);
    h.softirqs();
    assert_eq!(h.core.curr(0), Some(u));
    assert_eq!(h.core.unit_pri(u), Some(Pri::Boost));
    h.advance(3 * MS);
    h.tick(0);
    assert_eq!(h.core.unit_pri(u), Some(Pri::Under));
}

#[test]
fn boost_survives_the_tick_if_the_unit_blocked_before_it() {
    let mut h = Harness::credit1(1);
    let d = h.dom(1);
    let u = blocked_unit(&mut h, d);
    h.wake(u);
    h.softirqs();
    h.advance(MS);
    h.block(0);
    h.advance(9 * MS);
    h.tick(0);
    assert_eq!(h.core.unit_pri(u), Some(Pri::Boost), "the tick only demotes the running unit");
}

#[test]
fn accounting_distributes_cpu_by_weight() {
    let mut h = Harness::credit1(1);
    let heavy = h.dom_with(1, DomParams { weight: 512, ..DomParams::DEFAULT });
    let light = h.dom_with(2, DomParams { weight: 256, ..DomParams::DEFAULT });
    let a = h.unit(heavy, true);
    let b = h.unit(light, true);
    h.run_for(6000 * MS);
    let (ra, rb) = (h.ran(a), h.ran(b));
    assert_eq!(ra + rb, 6000 * MS, "a work-conserving pCPU");
    // 2:1 within 3 %.
    let ratio_pct = ra * 100 / rb;
    assert!((194..=206).contains(&ratio_pct), "heavy:light = {ra}:{rb} ({ratio_pct}%)");
}

#[test]
fn accounting_gives_equal_weights_equal_cpu_on_two_pcpus() {
    let mut h = Harness::credit1(2);
    let d: Vec<_> = (1..=3).map(|i| h.dom(i)).collect();
    let u: Vec<_> = d.iter().map(|&d| h.unit(d, true)).collect();
    h.run_for(6000 * MS);
    for &x in &u {
        let r = h.ran(x);
        // 2/3 of a pCPU each, within 5 %.
        assert!((3800 * MS..=4200 * MS).contains(&r), "{x:?} ran {r}");
    }
}

#[test]
fn accounting_floors_credit_at_minus_credits_per_tslice() {
    let mut h = Harness::credit1(1);
    let d = h.dom(1);
    let u = h.unit(d, true);
    h.schedule(0);
    run_ticks(&mut h, 0, 100);
    assert_eq!(h.core.unit_credit(u), Some(-1000));
    h.account();
    // -1000 + 300 is below -300: floored.
    assert_eq!(h.core.unit_credit(u), Some(-300));
    assert_eq!(h.core.unit_pri(u), Some(Pri::Over));
}

#[test]
fn accounting_halves_and_deactivates_credit_above_credits_per_tslice() {
    let mut h = Harness::credit1(1);
    let d = h.dom(1);
    let u = h.unit(d, true);
    h.schedule(0);
    run_ticks(&mut h, 0, 10);
    h.block(0);
    assert!(h.core.unit_active(u));
    assert_eq!(h.core.unit_credit(u), Some(-100));
    h.account();
    assert_eq!(h.core.unit_credit(u), Some(200));
    assert!(h.core.unit_active(u));
    h.account();
    // 500 > 300: halved and off the active list.
    assert_eq!(h.core.unit_credit(u), Some(250));
    assert!(!h.core.unit_active(u));
    h.account();
    assert_eq!(h.core.unit_credit(u), Some(250), "an inactive unit earns nothing");
}

#[test]
fn capped_unit_is_parked_and_unparked_without_a_boost() {
    let mut h = Harness::credit1(1);
    let d = h.dom_with(1, DomParams { cap: 25, ..DomParams::DEFAULT });
    let u = h.unit(d, true);
    h.schedule(0);
    run_ticks(&mut h, 0, 30);
    h.account();
    // -300 + 75 = -225 < -credit_cap (75): parked.
    assert_eq!(h.core.unit_credit(u), Some(-225));
    assert!(h.core.unit_parked(u));
    assert!(h.sink.all_tickles.contains(&0), "the parked unit's pCPU is told to deschedule it");
    h.softirqs();
    assert_eq!(h.core.curr(0), None);
    h.account();
    h.account();
    assert!(h.core.unit_parked(u));
    h.account();
    // -225 + 3 * 75 = 0: unparked, queued again, not boosted.
    assert_eq!(h.core.unit_credit(u), Some(0));
    assert!(!h.core.unit_parked(u));
    assert!(h.core.unit_queued(u));
    assert_eq!(h.core.unit_pri(u), Some(Pri::Under));
    h.softirqs();
    assert_eq!(h.core.curr(0), Some(u));
}

#[test]
fn cap_limits_cpu_share() {
    let mut h = Harness::credit1(1);
    let d = h.dom_with(1, DomParams { cap: 25, ..DomParams::DEFAULT });
    let u = h.unit(d, true);
    h.run_for(6000 * MS);
    let r = h.ran(u);
    // 25 % of 6 s, within 2 points.
    assert!((1380 * MS..=1620 * MS).contains(&r), "capped unit ran {r}");
}

#[test]
fn cap_limits_cpu_share_against_a_competitor() {
    let mut h = Harness::credit1(1);
    let capped = h.dom_with(1, DomParams { cap: 25, weight: 1024, ..DomParams::DEFAULT });
    let other = h.dom(2);
    let u = h.unit(capped, true);
    let v = h.unit(other, true);
    h.run_for(6000 * MS);
    let r = h.ran(u);
    assert!(r <= 1620 * MS, "capped unit ran {r} despite weight 1024");
    assert_eq!(h.ran(u) + h.ran(v), 6000 * MS);
}

/// One pCPU running `u` since `h.now`; `w` blocked and ready to be boosted.
fn ratelimit_setup(params: GlobalParams) -> (Harness, UnitId, UnitId) {
    let mut h = Harness::new(params, 1);
    let d = h.dom(1);
    let w = blocked_unit(&mut h, d);
    let u = h.unit(d, true);
    h.advance(5 * MS);
    h.schedule(0);
    assert_eq!(h.core.curr(0), Some(u));
    (h, u, w)
}

#[test]
fn ratelimit_keeps_a_unit_that_ran_less_than_ratelimit() {
    let (mut h, u, w) = ratelimit_setup(GlobalParams::CREDIT1);
    h.advance(300 * US);
    h.take_tickles();
    h.wake(w);
    assert_eq!(h.core.unit_pri(w), Some(Pri::Boost));
    assert_eq!(h.take_tickles(), vec![0], "BOOST over UNDER with no idler: preempt");
    let d = h.schedule(0);
    assert_eq!(d.next, Some(u), "ran 300us < 1000us ratelimit: keeps the pCPU");
    assert_eq!(d.slice, 700 * US, "for the rest of the ratelimit");
    h.advance(700 * US);
    let d = h.schedule(0);
    assert_eq!(d.next, Some(w), "after the ratelimit the boosted unit preempts");
}

#[test]
fn ratelimit_slice_is_at_least_min_timer() {
    let (mut h, u, w) = ratelimit_setup(GlobalParams::CREDIT1);
    h.advance(20 * US);
    h.wake(w);
    let d = h.schedule(0);
    assert_eq!(d.next, Some(u));
    assert_eq!(d.slice, 100 * US, "credit1's CSCHED_MIN_TIMER");
}

#[test]
fn ratelimit_does_not_hold_a_yielding_unit() {
    let (mut h, u, w) = ratelimit_setup(GlobalParams::CREDIT1);
    h.advance(300 * US);
    h.wake(w);
    h.yield_(u);
    let d = h.schedule(0);
    assert_eq!(d.next, Some(w));
}

#[test]
fn ratelimit_zero_disables_it() {
    let (mut h, _u, w) = ratelimit_setup(GlobalParams { ratelimit_us: 0, ..GlobalParams::CREDIT1 });
    h.advance(300 * US);
    h.wake(w);
    let d = h.schedule(0);
    assert_eq!(d.next, Some(w));
}

#[test]
fn yield_puts_the_unit_behind_one_lower_priority_unit() {
    let mut h = Harness::credit1(1);
    let d = h.dom(1);
    let o1 = h.unit(d, true);
    let o2 = h.unit(d, true);
    let o3 = h.unit(d, true);
    make_over(&mut h, &[o1, o2, o3]);
    // o3 runs (OVER); o1, o2 queued OVER. Bring an UNDER unit in to run.
    let u = h.unit(d, true);
    h.advance(2 * MS);
    h.schedule(0);
    assert_eq!(h.core.curr(0), Some(u));
    assert_eq!(h.core.runq(0).collect::<Vec<_>>(), vec![o1, o2, o3]);
    h.advance(2 * MS);
    h.yield_(u);
    let dec = h.schedule(0);
    assert_eq!(dec.next, Some(o1), "the yielder let one lower-priority unit go first");
    assert_eq!(h.core.runq(0).collect::<Vec<_>>(), vec![u, o2, o3]);
}

#[test]
fn yield_without_a_lower_priority_unit_goes_behind_its_peers() {
    let mut h = Harness::credit1(1);
    let d = h.dom(1);
    let a = h.unit(d, true);
    let b = h.unit(d, true);
    h.schedule(0);
    assert_eq!(h.core.curr(0), Some(a));
    h.advance(200 * US);
    h.yield_(a);
    assert_eq!(h.schedule(0).next, Some(b));
    assert_eq!(h.core.runq(0).collect::<Vec<_>>(), vec![a]);
}

#[test]
fn tickle_an_idle_pcpu_when_a_unit_wakes_there() {
    let mut h = Harness::credit1(1);
    let d = h.dom(1);
    let u = blocked_unit(&mut h, d);
    h.take_tickles();
    h.wake(u);
    assert_eq!(h.take_tickles(), vec![0]);
}

#[test]
fn tickle_preempts_a_busy_pcpu_only_without_idlers_and_for_higher_priority() {
    let mut h = Harness::credit1(1);
    let d = h.dom(1);
    let w = blocked_unit(&mut h, d);
    let v = blocked_unit(&mut h, d);
    let hog = h.unit(d, true);
    h.softirqs();
    assert_eq!(h.core.curr(0), Some(hog));
    // Equal priority (UNDER after a migration-wake): no preemption.
    let _ = h.core.pick_resource(v, h.now);
    h.wake(v);
    assert_eq!(h.core.unit_pri(v), Some(Pri::Under));
    assert_eq!(h.take_tickles(), Vec::<u16>::new());
    // Higher priority (BOOST): preempt.
    h.wake(w);
    assert_eq!(h.take_tickles(), vec![0]);
}

#[test]
fn tickle_prefers_an_idler_over_preemption() {
    let mut h = Harness::credit1(2);
    let d = h.dom(1);
    let w = blocked_unit(&mut h, d);
    let hog = h.unit_on(d, 0, true);
    h.softirqs();
    assert_eq!(h.core.curr(0), Some(hog));
    assert_eq!(h.core.curr(1), None);
    h.core.migrate(w, 0).expect("migrate");
    h.take_tickles();
    h.wake(w);
    assert_eq!(h.core.unit_pri(w), Some(Pri::Boost));
    assert_eq!(h.core.unit_cpu(w), Some(0));
    assert_eq!(h.take_tickles(), vec![1], "the idle pCPU is tickled, the hog keeps its pCPU");
    // The idler steals it.
    let dec = h.schedule(1);
    assert_eq!(dec.next, Some(w));
    assert!(dec.migrated);
}

#[test]
fn tickle_preempts_when_the_only_idler_is_outside_the_affinity() {
    let mut h = Harness::credit1(2);
    let d = h.dom(1);
    let w = blocked_unit(&mut h, d);
    let hog = h.unit_on(d, 0, true);
    h.softirqs();
    assert_eq!(h.core.curr(0), Some(hog));
    h.core.set_affinity(w, CpuSet::only(0)).expect("aff");
    h.core.migrate(w, 0).expect("migrate");
    h.take_tickles();
    h.wake(w);
    assert_eq!(h.take_tickles(), vec![0]);
}

/// cpu 0 runs `hog`, `w` (UNDER) queued behind it; cpu 1 idle.
fn steal_setup(params: GlobalParams) -> (Harness, UnitId, UnitId) {
    let mut h = Harness::new(params, 2);
    let d = h.dom(1);
    let hog = h.unit_on(d, 0, true);
    let w = h.unit_on(d, 0, true);
    h.softirqs();
    assert_eq!(h.core.curr(0), Some(hog));
    assert_eq!(h.core.curr(1), None);
    h.core.set_affinity(w, CpuSet::ALL).expect("aff");
    (h, hog, w)
}

#[test]
fn idle_pcpu_steals_a_queued_unit_from_a_busy_peer() {
    let (mut h, _hog, w) = steal_setup(GlobalParams::CREDIT1);
    let dec = h.schedule(1);
    assert_eq!(dec.next, Some(w));
    assert!(dec.migrated);
    assert_eq!(h.core.unit_cpu(w), Some(1));
}

#[test]
fn steal_skips_a_unit_whose_context_is_still_live() {
    let (mut h, hog, w) = steal_setup(GlobalParams::CREDIT1);
    // w runs on 0, and is switched out for hog; its context is not saved yet.
    h.auto_context_saved = false;
    h.advance(5 * MS);
    h.yield_(hog);
    h.schedule(0);
    assert_eq!(h.core.curr(0), Some(w));
    h.advance(5 * MS);
    h.yield_(w);
    h.schedule(0);
    assert_eq!(h.core.curr(0), Some(hog));
    assert!(h.core.unit_queued(w));
    assert_eq!(h.schedule(1).next, None, "w is still live on cpu 0");
    h.context_saved_all();
    assert_eq!(h.schedule(1).next, Some(w));
}

#[test]
fn steal_respects_affinity() {
    let (mut h, _hog, w) = steal_setup(GlobalParams::CREDIT1);
    h.core.set_affinity(w, CpuSet::only(0)).expect("aff");
    assert_eq!(h.schedule(1).next, None);
}

#[test]
fn steal_respects_the_migration_delay() {
    let (mut h, hog, w) = steal_setup(GlobalParams { migration_delay_us: 1000, ..GlobalParams::CREDIT1 });
    // w runs on 0 and goes back to the queue at t.
    h.advance(5 * MS);
    h.yield_(hog);
    h.schedule(0);
    h.advance(5 * MS);
    h.yield_(w);
    h.schedule(0);
    assert!(h.core.unit_queued(w));
    h.advance(500 * US);
    assert_eq!(h.schedule(1).next, None, "cache-hot: ran 500us ago, delay 1ms");
    h.advance(500 * US);
    assert_eq!(h.schedule(1).next, Some(w));
}

#[test]
fn steal_takes_only_strictly_higher_priority_than_the_local_head() {
    let mut h = Harness::credit1(2);
    let d = h.dom(1);
    // cpu 1's own UNDER unit is preferred over stealing the UNDER w.
    let hog = h.unit_on(d, 0, true);
    let w = h.unit_on(d, 0, true);
    let local = h.unit_on(d, 1, true);
    h.core.set_affinity(w, CpuSet::ALL).expect("aff");
    h.softirqs();
    assert_eq!(h.core.curr(0), Some(hog));
    assert_eq!(h.core.curr(1), Some(local));
    h.advance(5 * MS);
    let local2 = h.unit_on(d, 1, true);
    h.take_tickles();
    assert_eq!(h.schedule(1).next, Some(local2));
    assert!(h.core.unit_queued(w));
}

#[test]
fn pick_resource_prefers_an_idle_pcpu_in_the_affinity() {
    let mut h = Harness::credit1(3);
    let d = h.dom(1);
    let hog = h.unit_on(d, 0, true);
    h.softirqs();
    assert_eq!(h.core.curr(0), Some(hog));
    let u = h.unit_on(d, 0, false);
    let mut aff = CpuSet::only(0);
    aff.insert(2);
    h.core.set_affinity(u, aff).expect("aff");
    assert_eq!(h.core.pick_resource(u, h.now), Some(2), "cpu 1 is idle but outside the affinity");
    // Its home, when idle, is preferred.
    h.core.migrate(u, 2).expect("migrate");
    assert_eq!(h.core.pick_resource(u, h.now), Some(2));
}

#[test]
fn pick_resource_keeps_a_busy_home_when_nothing_is_idle() {
    let mut h = Harness::credit1(2);
    let d = h.dom(1);
    let a = h.unit_on(d, 0, true);
    let b = h.unit_on(d, 1, true);
    h.softirqs();
    assert_eq!((h.core.curr(0), h.core.curr(1)), (Some(a), Some(b)));
    let u = h.unit_on(d, 1, false);
    h.core.set_affinity(u, CpuSet::ALL).expect("aff");
    assert_eq!(h.core.pick_resource(u, h.now), Some(1));
}

#[test]
fn pcpu_remove_moves_queued_units_and_refuses_a_busy_pcpu() {
    let mut h = Harness::credit1(2);
    let d = h.dom(1);
    let a = h.unit_on(d, 1, true);
    h.softirqs();
    assert_eq!(h.core.curr(1), Some(a));
    let b = h.unit_on(d, 1, true);
    let c = h.unit_aff(d, CpuSet::ALL, true);
    assert_eq!(h.core.pcpu_remove(1, h.now, &mut h.sink), Err(commaware_sched::Error::Busy));
    // Xen runs idle there first (the tasklet forces it).
    h.schedule_with(1, true);
    h.after("schedule");
    assert!(h.core.unit_queued(a));
    h.core.pcpu_remove(1, h.now, &mut h.sink).expect("remove");
    h.after("pcpu_remove");
    for u in [a, b, c] {
        assert_eq!(h.core.unit_cpu(u), Some(0), "{u:?} moved to the remaining pCPU");
        assert!(h.core.unit_queued(u) || h.core.curr(0) == Some(u));
    }
    h.softirqs();
    assert!(h.core.curr(0).is_some());
    // A pCPU joins idle and takes work by stealing.
    h.core.pcpu_add(1).expect("add");
    assert!(h.core.idlers().contains(1));
    let dec = h.schedule(1);
    assert!(dec.next.is_some() && dec.migrated);
}

#[test]
fn pcpu_remove_moves_blocked_units_too() {
    let mut h = Harness::credit1(2);
    let d = h.dom(1);
    let b = h.unit_on(d, 1, false);
    h.core.set_affinity(b, CpuSet::ALL).expect("aff");
    assert_eq!(h.core.unit_cpu(b), Some(1));
    h.core.pcpu_remove(1, h.now, &mut h.sink).expect("remove");
    h.after("pcpu_remove");
    assert_eq!(h.core.unit_cpu(b), Some(0));
    // Its wake queues it where it can run.
    h.wake(b);
    h.softirqs();
    assert_eq!(h.core.curr(0), Some(b));
}
