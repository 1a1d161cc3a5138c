//! Per-pCPU run queues.
//!
//! credit1 keeps one list per pCPU sorted by priority, FIFO within a
//! priority, and inserts by walking it (O(n)). We keep one FIFO per
//! priority instead (BOOST, UNDER, OVER), which gives the same order with
//! O(1) insert, remove and pick, however many units wait.
//!
//! Three orderings besides FIFO within a priority (the first is credit1's):
//! - a yielding unit goes behind *one* lower-priority unit, if there is
//!   one: it is linked right after the head of the next non-empty
//!   lower queue (and keeps its own priority);
//! - a communication-boosted unit goes to the *front* of the BOOST queue:
//!   its run is short and someone is waiting on it;
//! - so does a unit preempted while serving (`RESUME`, see `pick`),
//!   at the front of its own priority (behind the head if that is
//!   communication-boosted: it is what preempted it, and runs next):
//!   preemption does not cost it its place.
//!
//! Links are indices into the unit table, so the lists need no allocation
//! and no pointers.

use crate::state::{link, unlink, Link, Pcpu, Pri, Unit, UnitFlags, NR_QUEUES};
use crate::UnitId;

/// The queue a priority lives in.
pub fn queue_of(pri: Pri) -> usize {
    match pri {
        Pri::Boost => 0,
        Pri::Under => 1,
        Pri::Over | Pri::Idle => 2,
    }
}

fn get(units: &[Unit], l: Link) -> Option<&Unit> {
    units.get(usize::from(unlink(l)?.0))
}

fn get_mut(units: &mut [Unit], l: Link) -> Option<&mut Unit> {
    units.get_mut(usize::from(unlink(l)?.0))
}

fn set_next(units: &mut [Unit], at: Link, to: Link) {
    if let Some(u) = get_mut(units, at) {
        u.next = to;
    }
}

fn set_prev(units: &mut [Unit], at: Link, to: Link) {
    if let Some(u) = get_mut(units, at) {
        u.prev = to;
    }
}

/// Link `u` into queue `q` of `pc`, at the back or the front.
fn push(units: &mut [Unit], pc: &mut Pcpu, u: UnitId, q: usize, front: bool) {
    let me = link(u);
    let (Some(head), Some(tail)) = (pc.heads.get(q).copied(), pc.tails.get(q).copied()) else {
        return;
    };
    let Some(unit) = units.get_mut(usize::from(u.0)) else { return };
    unit.queue = q as u8;
    unit.flags.insert(UnitFlags::QUEUED);
    if front {
        unit.prev = None;
        unit.next = head;
        set_prev(units, head, me);
        if let Some(h) = pc.heads.get_mut(q) {
            *h = me;
        }
        if tail.is_none() {
            if let Some(t) = pc.tails.get_mut(q) {
                *t = me;
            }
        }
    } else {
        unit.next = None;
        unit.prev = tail;
        set_next(units, tail, me);
        if let Some(t) = pc.tails.get_mut(q) {
            *t = me;
        }
        if head.is_none() {
            if let Some(h) = pc.heads.get_mut(q) {
                *h = me;
            }
        }
    }
    pc.queued = pc.queued.saturating_add(1);
}

/// Link `u` right after `after` (which is in queue `q`).
fn push_after(units: &mut [Unit], pc: &mut Pcpu, u: UnitId, q: usize, after: UnitId) {
    let me = link(u);
    let al = link(after);
    let Some(a) = units.get(usize::from(after.0)) else { return };
    let nxt = a.next;
    let Some(unit) = units.get_mut(usize::from(u.0)) else { return };
    unit.queue = q as u8;
    unit.flags.insert(UnitFlags::QUEUED);
    unit.prev = al;
    unit.next = nxt;
    set_next(units, al, me);
    if nxt.is_some() {
        set_prev(units, nxt, me);
    } else if let Some(t) = pc.tails.get_mut(q) {
        *t = me;
    }
    pc.queued = pc.queued.saturating_add(1);
}

/// Queue a runnable unit by its effective priority (credit1's
/// `__runq_insert`), honouring yield and communication boost.
pub fn insert(units: &mut [Unit], pc: &mut Pcpu, u: UnitId) {
    let Some(unit) = units.get(usize::from(u.0)) else { return };
    if unit.flags.contains(UnitFlags::QUEUED) {
        return;
    }
    let pri = unit.eff_pri();
    let q = queue_of(pri);
    if unit.boost_left > 0 {
        push(units, pc, u, q, true);
        return;
    }
    if unit.flags.contains(UnitFlags::RESUME) {
        // Ahead of its priority, but not of the communication boost that
        // has just taken its pCPU (the head, if boosted).
        let head = pc.heads.get(q).copied().and_then(unlink);
        match head.filter(|h| units.get(usize::from(h.0)).is_some_and(|x| x.boost_left > 0)) {
            Some(h) => push_after(units, pc, u, q, h),
            None => push(units, pc, u, q, true),
        }
        return;
    }
    if unit.flags.contains(UnitFlags::YIELD) {
        // Behind one lower-priority unit, if any.
        let lower = pc.heads.iter().enumerate().skip(q + 1).find_map(|(lq, h)| Some((lq, unlink(*h)?)));
        if let Some((lq, behind)) = lower {
            push_after(units, pc, u, lq, behind);
            return;
        }
    }
    push(units, pc, u, q, false);
}

/// Unlink a queued unit (credit1's `__runq_remove`).
pub fn remove(units: &mut [Unit], pc: &mut Pcpu, u: UnitId) {
    let Some(unit) = units.get_mut(usize::from(u.0)) else { return };
    if !unit.flags.contains(UnitFlags::QUEUED) {
        return;
    }
    unit.flags.remove(UnitFlags::QUEUED);
    let (prev, next, q) = (unit.prev, unit.next, usize::from(unit.queue));
    unit.prev = None;
    unit.next = None;
    if prev.is_some() {
        set_next(units, prev, next);
    } else if let Some(h) = pc.heads.get_mut(q) {
        *h = next;
    }
    if next.is_some() {
        set_prev(units, next, prev);
    } else if let Some(t) = pc.tails.get_mut(q) {
        *t = prev;
    }
    pc.queued = pc.queued.saturating_sub(1);
}

/// The first queued unit, highest priority first (credit1's `runq->next`).
pub fn head(pc: &Pcpu) -> Option<UnitId> {
    pc.heads.iter().find_map(|h| unlink(*h))
}

/// Walk a pCPU's queues in run order.
pub fn iter<'a>(units: &'a [Unit], pc: &'a Pcpu) -> impl Iterator<Item = UnitId> + 'a {
    let mut q = 0;
    let mut cur: Link = None;
    let mut started = false;
    core::iter::from_fn(move || loop {
        if started {
            cur = get(units, cur).and_then(|u| u.next);
        } else {
            started = true;
            cur = pc.heads.first().copied().flatten();
        }
        if let Some(u) = unlink(cur) {
            return Some(u);
        }
        q += 1;
        if q >= NR_QUEUES {
            return None;
        }
        cur = pc.heads.get(q).copied().flatten();
        if let Some(u) = unlink(cur) {
            // Re-enter the loop "started" on this element.
            return Some(u);
        }
    })
}

/// Re-file every queued unit by its current priority, keeping the order
/// within each priority (credit1's `csched_runq_sort`, run after each
/// accounting period has changed priorities).
pub fn resort(units: &mut [Unit], pc: &mut Pcpu) {
    // Detach the three lists and re-insert in run order. Each unit is moved
    // once: O(n), like credit1's sort.
    let heads = pc.heads;
    pc.heads = [None; NR_QUEUES];
    pc.tails = [None; NR_QUEUES];
    pc.queued = 0;
    for h in heads {
        let mut cur = h;
        while let Some(u) = unlink(cur) {
            let Some(unit) = units.get_mut(usize::from(u.0)) else { break };
            cur = unit.next;
            unit.flags.remove(UnitFlags::QUEUED | UnitFlags::YIELD);
            unit.next = None;
            unit.prev = None;
            insert(units, pc, u);
        }
    }
}
