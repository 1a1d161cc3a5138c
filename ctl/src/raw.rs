//! Hostile input for commaware's two hypercalls, sent raw from dom0.
//!
//! `commaware-ctl` never sends a request Xen would refuse: it validates with
//! `commaware::payload` first. This module does the opposite, to test the
//! hypervisor's side: it builds `XEN_SYSCTL_scheduler_op` and
//! `XEN_DOMCTL_scheduler_op` envelopes with every field at its boundaries
//! and beyond (0, 1, min-1, min, min+1, max-1, max, max+1, 2^31, u32::MAX),
//! reserved bytes set, unknown commands and flag bits, the wrong scheduler
//! id, unknown and reserved domids, bogus cpupool ids and a wrong interface
//! version, sends each one, and checks:
//!
//! - a request the documentation says is bad is refused with the documented
//!   errno, and nothing changed: every commaware pool's parameters and every
//!   commaware domain's weight, cap and switches read back as before;
//! - a request the documentation says is good (the boundary values
//!   themselves) succeeds and reads back exactly, and is then undone.
//!
//! The verdicts come from [`global_ok`] and [`dom_expect`], written from the
//! documented ranges (`include/public/sched_commaware.h`, the table in the
//! README) and Xen 4.17's generic checks (`do_sysctl`/`do_domctl`,
//! `sched_adjust`, `sched_adjust_global`), not from `commaware::payload`:
//! the host tests check that the two agree.

use std::collections::BTreeMap;
use std::fmt;

use commaware::abi::{
    xen_commaware_counters, xen_domctl_sched_commaware, xen_sysctl_commaware_schedule,
    XEN_DOMCTL_COMMAWARE_CAP_KEEP, XEN_DOMCTL_COMMAWARE_FLAGS_ALL, XEN_DOMCTL_COMMAWARE_RESET_ALL,
    XEN_DOMCTL_COMMAWARE_RESET_WAIT_MAX,
    XEN_DOMCTL_COMMAWARE_WEIGHT_KEEP, XEN_SYSCTL_COMMAWARE_BOOST_MAX,
    XEN_SYSCTL_COMMAWARE_BOOST_MIN, XEN_SYSCTL_COMMAWARE_BUDGET_MAX,
    XEN_SYSCTL_COMMAWARE_FLAGS_ALL, XEN_SYSCTL_COMMAWARE_MIGR_DELAY_MAX,
    XEN_SYSCTL_COMMAWARE_RATELIMIT_MAX, XEN_SYSCTL_COMMAWARE_RATELIMIT_MIN,
    XEN_SYSCTL_COMMAWARE_TSLICE_MAX, XEN_SYSCTL_COMMAWARE_TSLICE_MIN,
};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::hypervisor::{Domctl, Errno, Hypervisor, Sysctl};
use crate::xen::{
    xen_domctl_scheduler_op, xen_sysctl_scheduler_op, DomctlSchedulerOp, SysctlSchedulerOp,
    XEN_DOMCTL_SCHEDOP_getinfo, XEN_DOMCTL_SCHEDOP_putinfo, XEN_SYSCTL_SCHEDOP_getinfo,
    XEN_SYSCTL_SCHEDOP_putinfo, DOMID_FIRST_RESERVED, XEN_DOMCTL_INTERFACE_VERSION,
    XEN_DOMINF_DYING, XEN_SCHEDULER_ARINC653, XEN_SCHEDULER_COMMAWARE, XEN_SCHEDULER_CREDIT,
    XEN_SCHEDULER_CREDIT2, XEN_SCHEDULER_NULL, XEN_SCHEDULER_RTDS, XEN_SYSCTL_INTERFACE_VERSION,
};

/// Reserved domain ids (`public/xen.h`): none of them is a domain
/// `XEN_DOMCTL_scheduler_op` can reach (`rcu_lock_domain_by_id` finds only
/// ordinary domains; system domains are not in its hash).
pub const RESERVED_DOMIDS: [(u16, &str); 8] = [
    (0x7FF0, "DOMID_SELF"),
    (0x7FF1, "DOMID_IO"),
    (0x7FF2, "DOMID_XEN"),
    (0x7FF3, "DOMID_COW"),
    (0x7FF4, "DOMID_INVALID"),
    (0x7FF5, "DOMID_IDLE-ish 0x7FF5"),
    (0x7FFF, "DOMID_IDLE"),
    (0xFFFF, "domid 0xFFFF"),
];

/// Scheduler ids that are not commaware's (domctl.h), and garbage.
const WRONG_SCHED_IDS: [u32; 9] = [
    0,
    1,
    XEN_SCHEDULER_CREDIT,
    XEN_SCHEDULER_CREDIT2,
    XEN_SCHEDULER_ARINC653,
    XEN_SCHEDULER_RTDS,
    XEN_SCHEDULER_NULL,
    XEN_SCHEDULER_COMMAWARE + 1,
    u32::MAX,
];

/// Interface versions around `current` that Xen must refuse (EACCES, the
/// generic check in do_sysctl/do_domctl), and garbage.
fn wrong_versions(current: u32) -> [u32; 4] {
    [0, current - 1, current + 1, u32::MAX]
}

/// Commands that are neither putinfo nor getinfo. 2 and 3 are the domctl's
/// putvcpuinfo/getvcpuinfo, which Xen passes on to the scheduler.
const BAD_CMDS: [u32; 5] = [2, 3, 4, 0x8000_0000, u32::MAX];

// ---------------------------------------------------------------------------
// The documented rules: the oracle.

/// Whether a pool-wide putinfo is valid, per the header and README table:
/// tslice 1..1000 ms; ratelimit 0 (off) or 100..500000 µs and at most the
/// slice; migration delay 0..100000 µs; boost 50..10000 µs and at most the
/// slice; budget 0..100 %; only the three documented flag bits.
pub fn global_ok(p: &xen_sysctl_commaware_schedule) -> bool {
    let slice_us = u64::from(p.tslice_ms) * 1000;
    let within = |v: u32, lo: u32, hi: u32| (lo..=hi).contains(&v);
    within(
        p.tslice_ms,
        XEN_SYSCTL_COMMAWARE_TSLICE_MIN,
        XEN_SYSCTL_COMMAWARE_TSLICE_MAX,
    ) && (p.ratelimit_us == 0
        || (within(
            p.ratelimit_us,
            XEN_SYSCTL_COMMAWARE_RATELIMIT_MIN,
            XEN_SYSCTL_COMMAWARE_RATELIMIT_MAX,
        ) && u64::from(p.ratelimit_us) <= slice_us))
        && p.migration_delay_us <= XEN_SYSCTL_COMMAWARE_MIGR_DELAY_MAX
        && within(
            p.boost_us,
            XEN_SYSCTL_COMMAWARE_BOOST_MIN,
            XEN_SYSCTL_COMMAWARE_BOOST_MAX,
        )
        && u64::from(p.boost_us) <= slice_us
        && p.boost_budget_pct <= XEN_SYSCTL_COMMAWARE_BUDGET_MAX
        && p.flags & !XEN_SYSCTL_COMMAWARE_FLAGS_ALL == 0
}

/// A domain's policy as getinfo reports it (the counters aside).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DomPolicy {
    pub weight: u16,
    pub cap: u16,
    pub flags: u32,
}

impl DomPolicy {
    fn of(p: &xen_domctl_sched_commaware) -> DomPolicy {
        DomPolicy {
            weight: p.weight,
            cap: p.cap,
            flags: p.flags,
        }
    }
}

impl fmt::Display for DomPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "weight={} cap={} flags={:#x}",
            self.weight, self.cap, self.flags
        )
    }
}

/// What a domain putinfo does to `cur`, per the header: `None` if it must
/// be refused. Only the documented reset bits, and flag bits in flags or
/// flags_mask; weight 0 keeps, else 1..65535 (every other u16); cap 0xFFFF
/// keeps, else 0..100 per vCPU; flags change only where flags_mask says.
/// The counters are getinfo-only: ignored.
pub fn dom_expect(cur: DomPolicy, p: &xen_domctl_sched_commaware, units: u32) -> Option<DomPolicy> {
    if p.reset & !XEN_DOMCTL_COMMAWARE_RESET_ALL != 0
        || (p.flags | p.flags_mask) & !XEN_DOMCTL_COMMAWARE_FLAGS_ALL != 0
    {
        return None;
    }
    let weight = if u32::from(p.weight) == XEN_DOMCTL_COMMAWARE_WEIGHT_KEEP {
        cur.weight
    } else {
        p.weight
    };
    let cap = if u32::from(p.cap) == XEN_DOMCTL_COMMAWARE_CAP_KEEP {
        cur.cap
    } else {
        p.cap
    };
    if u32::from(cap) > 100 * units.max(1) {
        return None;
    }
    Some(DomPolicy {
        weight,
        cap,
        flags: (cur.flags & !p.flags_mask) | (p.flags & p.flags_mask),
    })
}

/// 0, 1, min-1, min, min+1, max-1, max, max+1, 2^31-1, 2^31 (negative as
/// i32), u32::MAX-1, u32::MAX (-1), sorted, without repeats.
pub fn boundary_values(min: u32, max: u32) -> Vec<u32> {
    let mut v = vec![
        0,
        1,
        min.saturating_sub(1),
        min,
        min.saturating_add(1),
        max.saturating_sub(1),
        max,
        max.saturating_add(1),
        0x7FFF_FFFF,
        0x8000_0000,
        u32::MAX - 1,
        u32::MAX,
    ];
    v.sort_unstable();
    v.dedup();
    v
}

/// The same for a 16-bit field.
pub fn boundary_values_u16(min: u16, max: u16) -> Vec<u16> {
    let mut v = vec![
        0,
        1,
        min.saturating_sub(1),
        min,
        min.saturating_add(1),
        max.saturating_sub(1),
        max,
        max.saturating_add(1),
        0x7FFF,
        0x8000,
        u16::MAX - 1,
        u16::MAX,
    ];
    v.sort_unstable();
    v.dedup();
    v
}

/// Flag words: none, each documented bit, all of them, and unknown bits.
fn flag_values(all: u32) -> Vec<u32> {
    let mut v = vec![0, all, all + 1, 1 << 3, 1 << 16, 1 << 31, !all, u32::MAX];
    for b in 0..32 {
        if all & (1 << b) != 0 {
            v.push(1 << b);
        }
    }
    v.sort_unstable();
    v.dedup();
    v
}

/// The pool-wide payload the field cases start from: valid, and every
/// field's whole documented range is valid around it (a 1000 ms slice lets
/// ratelimit and boost reach their maxima; ratelimit 1000 and boost 500 fit
/// the smallest slice).
pub const SYSCTL_BASE: xen_sysctl_commaware_schedule = xen_sysctl_commaware_schedule {
    tslice_ms: XEN_SYSCTL_COMMAWARE_TSLICE_MAX,
    ratelimit_us: 1000,
    migration_delay_us: 0,
    boost_us: 500,
    boost_budget_pct: 100,
    flags: XEN_SYSCTL_COMMAWARE_FLAGS_ALL,
};

// ---------------------------------------------------------------------------
// The cases.

/// One raw hypercall.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Req {
    Sysctl(SysctlSchedulerOp),
    Domctl(DomctlSchedulerOp),
}

/// What the documentation says must happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Refused with this errno, nothing changed.
    Reject(Errno),
    /// Accepted: a putinfo's effect is exactly what it asks for (pool-wide:
    /// the payload; domain: [`dom_expect`]), a getinfo reports the current
    /// values and changes nothing.
    Accept,
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Reject(e) => write!(f, "reject {}", e.name()),
            Expect::Accept => f.write_str("accept"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    pub name: String,
    pub req: Req,
    pub expect: Expect,
}

/// A domain the domctl cases aim at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DomTarget {
    pub id: u16,
    /// vCPUs (`max_vcpu_id + 1`): the cap's bound is 100 per unit.
    pub units: u32,
}

/// What exists, as discovered from Xen (or given by a test).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Env {
    /// Cpupools running commaware: the pool-wide targets.
    pub cw_pools: Vec<u32>,
    /// Cpupools running another scheduler.
    pub other_pools: Vec<u32>,
    /// Domains in commaware pools.
    pub doms: Vec<DomTarget>,
    /// Domains in other pools (commaware's payload must be refused there).
    pub foreign_doms: Vec<u16>,
    /// Ordinary domain ids no domain has.
    pub free_domids: Vec<u16>,
    /// Cpupool ids no pool has.
    pub free_pool_ids: Vec<u32>,
}

/// Find the pools and domains.
pub fn discover(hv: &mut dyn Hypervisor) -> Result<Env> {
    let mut c = Client::new(hv);
    let pools = c.pools()?;
    let doms = c.domains()?;
    let mut env = Env::default();
    for p in &pools {
        if p.is_commaware() {
            env.cw_pools.push(p.id);
        } else {
            env.other_pools.push(p.id);
        }
    }
    for d in doms.iter().filter(|d| d.flags & XEN_DOMINF_DYING == 0) {
        if env.cw_pools.contains(&d.cpupool) {
            env.doms.push(DomTarget {
                id: d.domain,
                units: d.units(),
            });
        } else {
            env.foreign_doms.push(d.domain);
        }
    }
    let taken = |id: u16| doms.iter().any(|d| d.domain == id);
    let max_dom = doms.iter().map(|d| d.domain).max().unwrap_or(0);
    for id in [max_dom.saturating_add(1), 0x1000, DOMID_FIRST_RESERVED - 1] {
        if id < DOMID_FIRST_RESERVED && !taken(id) && !env.free_domids.contains(&id) {
            env.free_domids.push(id);
        }
    }
    let max_pool = pools.iter().map(|p| p.id).max().unwrap_or(0);
    for id in [
        max_pool.saturating_add(1),
        0x7FFF_FFFF,
        0x8000_0000,
        u32::MAX - 1,
        u32::MAX,
    ] {
        if !pools.iter().any(|p| p.id == id) && !env.free_pool_ids.contains(&id) {
            env.free_pool_ids.push(id);
        }
    }
    Ok(env)
}

fn sysctl(
    pool: u32,
    sched_id: u32,
    cmd: u32,
    u: xen_sysctl_commaware_schedule,
) -> SysctlSchedulerOp {
    SysctlSchedulerOp::new(xen_sysctl_scheduler_op {
        cpupool_id: pool,
        sched_id,
        cmd,
        _pad: 0,
        u,
    })
}

fn domctl(domid: u16, sched_id: u32, cmd: u32, u: xen_domctl_sched_commaware) -> DomctlSchedulerOp {
    DomctlSchedulerOp::new(domid, xen_domctl_scheduler_op { sched_id, cmd, u })
}

/// A domain putinfo that changes nothing (weight and cap "keep", no mask).
pub const DOM_KEEP: xen_domctl_sched_commaware = xen_domctl_sched_commaware {
    weight: XEN_DOMCTL_COMMAWARE_WEIGHT_KEEP as u16,
    cap: XEN_DOMCTL_COMMAWARE_CAP_KEEP as u16,
    flags: 0,
    flags_mask: 0,
    reset: 0,
    counters: xen_commaware_counters {
        run_ns: 0,
        wait_ns: 0,
        boosts: 0,
        boosts_refused: 0,
        donated_ns: 0,
        received_ns: 0,
        donations: 0,
        charged: 0,
        credit: 0,
        wait_max_ns: 0,
    },
};

const GARBAGE_COUNTERS: xen_commaware_counters = xen_commaware_counters {
    run_ns: u64::MAX,
    wait_ns: 0x8000_0000_0000_0000,
    boosts: u64::MAX,
    boosts_refused: 1,
    donated_ns: u64::MAX,
    received_ns: u64::MAX,
    donations: u64::MAX,
    charged: i64::MIN,
    credit: -1,
    wait_max_ns: u64::MAX,
};

struct Gen {
    cases: Vec<Case>,
}

impl Gen {
    fn push(&mut self, name: String, req: Req, expect: Expect) {
        self.cases.push(Case { name, req, expect });
    }

    fn sys(&mut self, name: String, env: SysctlSchedulerOp, expect: Expect) {
        self.push(name, Req::Sysctl(env), expect);
    }

    fn dom(&mut self, name: String, env: DomctlSchedulerOp, expect: Expect) {
        self.push(name, Req::Domctl(env), expect);
    }

    /// A pool-wide putinfo whose verdict is the payload's.
    fn sys_put(&mut self, name: String, pool: u32, u: xen_sysctl_commaware_schedule) {
        let expect = if global_ok(&u) {
            Expect::Accept
        } else {
            Expect::Reject(Errno::EINVAL)
        };
        self.sys(
            name,
            sysctl(pool, XEN_SCHEDULER_COMMAWARE, XEN_SYSCTL_SCHEDOP_putinfo, u),
            expect,
        );
    }

    /// A domain putinfo whose verdict is the payload's.
    fn dom_put(&mut self, name: String, d: DomTarget, u: xen_domctl_sched_commaware) {
        // Validity never depends on the current values ("keep" keeps a
        // valid value), so any current policy decides it.
        let any = DomPolicy {
            weight: 256,
            cap: 0,
            flags: 0,
        };
        let expect = if dom_expect(any, &u, d.units).is_some() {
            Expect::Accept
        } else {
            Expect::Reject(Errno::EINVAL)
        };
        self.dom(
            name,
            domctl(d.id, XEN_SCHEDULER_COMMAWARE, XEN_DOMCTL_SCHEDOP_putinfo, u),
            expect,
        );
    }
}

type Field = (
    &'static str,
    fn(&mut xen_sysctl_commaware_schedule) -> &mut u32,
    u32,
    u32,
);

const SYSCTL_FIELDS: [Field; 5] = [
    (
        "tslice_ms",
        |p| &mut p.tslice_ms,
        XEN_SYSCTL_COMMAWARE_TSLICE_MIN,
        XEN_SYSCTL_COMMAWARE_TSLICE_MAX,
    ),
    (
        "ratelimit_us",
        |p| &mut p.ratelimit_us,
        XEN_SYSCTL_COMMAWARE_RATELIMIT_MIN,
        XEN_SYSCTL_COMMAWARE_RATELIMIT_MAX,
    ),
    (
        "migration_delay_us",
        |p| &mut p.migration_delay_us,
        0,
        XEN_SYSCTL_COMMAWARE_MIGR_DELAY_MAX,
    ),
    (
        "boost_us",
        |p| &mut p.boost_us,
        XEN_SYSCTL_COMMAWARE_BOOST_MIN,
        XEN_SYSCTL_COMMAWARE_BOOST_MAX,
    ),
    (
        "boost_budget_pct",
        |p| &mut p.boost_budget_pct,
        0,
        XEN_SYSCTL_COMMAWARE_BUDGET_MAX,
    ),
];

/// Every case for `env`.
pub fn cases(env: &Env) -> Vec<Case> {
    let mut g = Gen { cases: Vec::new() };
    if let Some(&pool) = env.cw_pools.first() {
        sysctl_cases(&mut g, env, pool);
    }
    // Domains with a changing verdict get the whole table; dom0 gets only
    // what must not change it (a 1% cap on dom0 would starve this very
    // tool until its restore).
    for d in &env.doms {
        domctl_cases(&mut g, *d, d.id != 0);
    }
    for &id in &env.free_domids {
        unknown_domain_cases(&mut g, id, format!("unknown domid {id}"));
    }
    for (id, name) in RESERVED_DOMIDS {
        unknown_domain_cases(&mut g, id, name.to_string());
    }
    for &id in &env.foreign_doms {
        // sched_adjust: the domain's scheduler is not commaware.
        for cmd in [XEN_DOMCTL_SCHEDOP_putinfo, XEN_DOMCTL_SCHEDOP_getinfo] {
            g.dom(
                format!("domctl d{id} (other scheduler's pool) cmd={cmd}"),
                domctl(id, XEN_SCHEDULER_COMMAWARE, cmd, DOM_KEEP),
                Expect::Reject(Errno::EINVAL),
            );
        }
    }
    g.cases
}

fn sysctl_cases(g: &mut Gen, env: &Env, pool: u32) {
    // Each field over its boundaries, the others at the base.
    for (name, field, min, max) in SYSCTL_FIELDS {
        for v in boundary_values(min, max) {
            let mut u = SYSCTL_BASE;
            *field(&mut u) = v;
            g.sys_put(format!("sysctl pool{pool} {name}={v}"), pool, u);
        }
    }
    for f in flag_values(XEN_SYSCTL_COMMAWARE_FLAGS_ALL) {
        let u = xen_sysctl_commaware_schedule {
            flags: f,
            ..SYSCTL_BASE
        };
        g.sys_put(format!("sysctl pool{pool} flags={f:#x}"), pool, u);
    }
    // The limits that depend on the slice: at the slice and just past it.
    for t in [1u32, 9, 499] {
        for extra in [0, 1] {
            let v = t * 1000 + extra;
            let u = xen_sysctl_commaware_schedule {
                tslice_ms: t,
                ratelimit_us: v,
                boost_us: 500,
                ..SYSCTL_BASE
            };
            g.sys_put(
                format!("sysctl pool{pool} tslice_ms={t} ratelimit_us={v}"),
                pool,
                u,
            );
            let u = xen_sysctl_commaware_schedule {
                tslice_ms: t,
                ratelimit_us: 0,
                boost_us: v,
                ..SYSCTL_BASE
            };
            g.sys_put(
                format!("sysctl pool{pool} tslice_ms={t} boost_us={v}"),
                pool,
                u,
            );
        }
    }
    // Everything at its minimum, everything at its maximum, everything bad.
    let all_min = xen_sysctl_commaware_schedule {
        tslice_ms: XEN_SYSCTL_COMMAWARE_TSLICE_MIN,
        ratelimit_us: 0,
        migration_delay_us: 0,
        boost_us: XEN_SYSCTL_COMMAWARE_BOOST_MIN,
        boost_budget_pct: 0,
        flags: 0,
    };
    g.sys_put(format!("sysctl pool{pool} all minimal"), pool, all_min);
    let all_max = xen_sysctl_commaware_schedule {
        tslice_ms: XEN_SYSCTL_COMMAWARE_TSLICE_MAX,
        ratelimit_us: XEN_SYSCTL_COMMAWARE_RATELIMIT_MAX,
        migration_delay_us: XEN_SYSCTL_COMMAWARE_MIGR_DELAY_MAX,
        boost_us: XEN_SYSCTL_COMMAWARE_BOOST_MAX,
        boost_budget_pct: XEN_SYSCTL_COMMAWARE_BUDGET_MAX,
        flags: XEN_SYSCTL_COMMAWARE_FLAGS_ALL,
    };
    g.sys_put(format!("sysctl pool{pool} all maximal"), pool, all_max);
    let all_ff = xen_sysctl_commaware_schedule {
        tslice_ms: u32::MAX,
        ratelimit_us: u32::MAX,
        migration_delay_us: u32::MAX,
        boost_us: u32::MAX,
        boost_budget_pct: u32::MAX,
        flags: u32::MAX,
    };
    g.sys_put(format!("sysctl pool{pool} all 0xffffffff"), pool, all_ff);
    g.sys_put(
        format!("sysctl pool{pool} all zero"),
        pool,
        xen_sysctl_commaware_schedule::default(),
    );

    // Envelope: unknown commands (sched_adjust_global), wrong scheduler ids,
    // unknown pools, wrong interface version (do_sysctl).
    for cmd in BAD_CMDS {
        g.sys(
            format!("sysctl pool{pool} cmd={cmd:#x}"),
            sysctl(pool, XEN_SCHEDULER_COMMAWARE, cmd, SYSCTL_BASE),
            Expect::Reject(Errno::EINVAL),
        );
    }
    for (cmd, c) in [
        (XEN_SYSCTL_SCHEDOP_putinfo, "putinfo"),
        (XEN_SYSCTL_SCHEDOP_getinfo, "getinfo"),
    ] {
        for s in WRONG_SCHED_IDS {
            g.sys(
                format!("sysctl pool{pool} {c} sched_id={s}"),
                sysctl(pool, s, cmd, SYSCTL_BASE),
                Expect::Reject(Errno::EINVAL),
            );
        }
        for &p in &env.free_pool_ids {
            g.sys(
                format!("sysctl {c} unknown cpupool {p:#x}"),
                sysctl(p, XEN_SCHEDULER_COMMAWARE, cmd, SYSCTL_BASE),
                Expect::Reject(Errno::ESRCH),
            );
        }
        for &p in &env.other_pools {
            g.sys(
                format!("sysctl {c} cpupool {p} (other scheduler)"),
                sysctl(p, XEN_SCHEDULER_COMMAWARE, cmd, SYSCTL_BASE),
                Expect::Reject(Errno::EINVAL),
            );
        }
        for v in wrong_versions(XEN_SYSCTL_INTERFACE_VERSION) {
            let mut e = sysctl(pool, XEN_SCHEDULER_COMMAWARE, cmd, SYSCTL_BASE);
            e.interface_version = v;
            g.sys(
                format!("sysctl pool{pool} {c} interface_version={v:#x}"),
                e,
                Expect::Reject(Errno::EACCES),
            );
        }
    }
    // Padding: the scheduler_op's hole after cmd and the union's tail are
    // not commaware's and Xen never reads them; the payload decides.
    for (what, u) in [
        ("valid payload", SYSCTL_BASE),
        (
            "tslice_ms=0",
            xen_sysctl_commaware_schedule {
                tslice_ms: 0,
                ..SYSCTL_BASE
            },
        ),
    ] {
        let mut e = sysctl(pool, XEN_SCHEDULER_COMMAWARE, XEN_SYSCTL_SCHEDOP_putinfo, u);
        e.u._pad = u32::MAX;
        e.tail_mut().fill(0xA5);
        let expect = if global_ok(&u) {
            Expect::Accept
        } else {
            Expect::Reject(Errno::EINVAL)
        };
        g.sys(
            format!("sysctl pool{pool} padding bytes set, {what}"),
            e,
            expect,
        );
    }
    // A getinfo ignores whatever its payload holds.
    let mut e = sysctl(
        pool,
        XEN_SCHEDULER_COMMAWARE,
        XEN_SYSCTL_SCHEDOP_getinfo,
        all_ff,
    );
    e.tail_mut().fill(0xFF);
    g.sys(
        format!("sysctl pool{pool} getinfo with garbage in"),
        e,
        Expect::Accept,
    );
}

fn domctl_cases(g: &mut Gen, d: DomTarget, changing: bool) {
    let id = d.id;
    let cap_max = u16::try_from(100 * d.units.max(1)).unwrap_or(u16::MAX);
    // Requests that must be refused whatever the domain.
    for v in [1 << 1, 0x8000_0000, u32::MAX] {
        g.dom_put(
            format!("domctl d{id} reset={v:#x}"),
            d,
            xen_domctl_sched_commaware { reset: v, ..DOM_KEEP },
        );
        g.dom_put(
            format!("domctl d{id} reset={v:#x} with weight=300"),
            d,
            xen_domctl_sched_commaware {
                reset: v,
                weight: 300,
                ..DOM_KEEP
            },
        );
    }
    for f in flag_values(XEN_DOMCTL_COMMAWARE_FLAGS_ALL) {
        if f & !XEN_DOMCTL_COMMAWARE_FLAGS_ALL == 0 {
            continue; // the valid words below
        }
        g.dom_put(
            format!("domctl d{id} flags={f:#x}"),
            d,
            xen_domctl_sched_commaware {
                flags: f,
                ..DOM_KEEP
            },
        );
        g.dom_put(
            format!("domctl d{id} flags_mask={f:#x}"),
            d,
            xen_domctl_sched_commaware {
                flags_mask: f,
                ..DOM_KEEP
            },
        );
        g.dom_put(
            format!("domctl d{id} flags=flags_mask={f:#x}"),
            d,
            xen_domctl_sched_commaware {
                flags: f,
                flags_mask: f,
                ..DOM_KEEP
            },
        );
    }
    for cap in boundary_values_u16(0, cap_max) {
        let u = xen_domctl_sched_commaware { cap, ..DOM_KEEP };
        let ok = dom_expect(
            DomPolicy {
                weight: 1,
                cap: 0,
                flags: 0,
            },
            &u,
            d.units,
        )
        .is_some();
        if ok && !changing && u32::from(cap) != XEN_DOMCTL_COMMAWARE_CAP_KEEP {
            continue;
        }
        g.dom_put(format!("domctl d{id} cap={cap} ({} vCPUs)", d.units), d, u);
    }
    // A valid change next to a bad one: nothing at all may change.
    g.dom_put(
        format!(
            "domctl d{id} weight=300 with cap={}",
            u32::from(cap_max) + 1
        ),
        d,
        xen_domctl_sched_commaware {
            weight: 300,
            cap: cap_max.saturating_add(1),
            ..DOM_KEEP
        },
    );
    g.dom_put(
        format!(
            "domctl d{id} reset the longest wait with cap={}",
            u32::from(cap_max) + 1
        ),
        d,
        xen_domctl_sched_commaware {
            reset: XEN_DOMCTL_COMMAWARE_RESET_WAIT_MAX,
            cap: cap_max.saturating_add(1),
            ..DOM_KEEP
        },
    );
    g.dom_put(
        format!("domctl d{id} weight=300 with flags_mask=0x8"),
        d,
        xen_domctl_sched_commaware {
            weight: 300,
            flags_mask: 0x8,
            ..DOM_KEEP
        },
    );
    for cmd in BAD_CMDS {
        g.dom(
            format!("domctl d{id} cmd={cmd:#x}"),
            domctl(id, XEN_SCHEDULER_COMMAWARE, cmd, DOM_KEEP),
            Expect::Reject(Errno::EINVAL),
        );
    }
    for (cmd, c) in [
        (XEN_DOMCTL_SCHEDOP_putinfo, "putinfo"),
        (XEN_DOMCTL_SCHEDOP_getinfo, "getinfo"),
    ] {
        for s in WRONG_SCHED_IDS {
            g.dom(
                format!("domctl d{id} {c} sched_id={s}"),
                domctl(id, s, cmd, DOM_KEEP),
                Expect::Reject(Errno::EINVAL),
            );
        }
        for v in wrong_versions(XEN_DOMCTL_INTERFACE_VERSION) {
            let mut e = domctl(id, XEN_SCHEDULER_COMMAWARE, cmd, DOM_KEEP);
            e.interface_version = v;
            g.dom(
                format!("domctl d{id} {c} interface_version={v:#x}"),
                e,
                Expect::Reject(Errno::EACCES),
            );
        }
    }
    // Accepted without a change: "keep" everything, garbage counters (getinfo
    // only), padding outside commaware's payload, getinfo with garbage in.
    g.dom_put(format!("domctl d{id} keep all"), d, DOM_KEEP);
    g.dom_put(
        format!("domctl d{id} keep all, reset the longest wait"),
        d,
        xen_domctl_sched_commaware {
            reset: XEN_DOMCTL_COMMAWARE_RESET_WAIT_MAX,
            ..DOM_KEEP
        },
    );
    g.dom_put(
        format!("domctl d{id} keep all, garbage counters"),
        d,
        xen_domctl_sched_commaware {
            counters: GARBAGE_COUNTERS,
            ..DOM_KEEP
        },
    );
    let mut e = domctl(
        id,
        XEN_SCHEDULER_COMMAWARE,
        XEN_DOMCTL_SCHEDOP_putinfo,
        DOM_KEEP,
    );
    e._pad = [0xFFFF; 3];
    e.tail_mut().fill(0xA5);
    g.dom(
        format!("domctl d{id} keep all, envelope padding set"),
        e,
        Expect::Accept,
    );
    let mut e = domctl(
        id,
        XEN_SCHEDULER_COMMAWARE,
        XEN_DOMCTL_SCHEDOP_putinfo,
        xen_domctl_sched_commaware { reset: 1 << 1, ..DOM_KEEP },
    );
    e._pad = [0xFFFF; 3];
    e.tail_mut().fill(0xA5);
    g.dom(
        format!("domctl d{id} reset=0x2, envelope padding set"),
        e,
        Expect::Reject(Errno::EINVAL),
    );
    let garbage = xen_domctl_sched_commaware {
        weight: 0,
        cap: 0xFFFE,
        flags: u32::MAX,
        flags_mask: u32::MAX,
        reset: u32::MAX,
        counters: GARBAGE_COUNTERS,
    };
    g.dom(
        format!("domctl d{id} getinfo with garbage in"),
        domctl(
            id,
            XEN_SCHEDULER_COMMAWARE,
            XEN_DOMCTL_SCHEDOP_getinfo,
            garbage,
        ),
        Expect::Accept,
    );
    if !changing {
        return;
    }
    // Valid boundaries that change the domain (then undone).
    for w in boundary_values_u16(1, u16::MAX) {
        g.dom_put(
            format!("domctl d{id} weight={w}"),
            d,
            xen_domctl_sched_commaware {
                weight: w,
                ..DOM_KEEP
            },
        );
    }
    for f in 0..=XEN_DOMCTL_COMMAWARE_FLAGS_ALL {
        g.dom_put(
            format!("domctl d{id} flags={f:#x} flags_mask=0x7"),
            d,
            xen_domctl_sched_commaware {
                flags: f,
                flags_mask: XEN_DOMCTL_COMMAWARE_FLAGS_ALL,
                ..DOM_KEEP
            },
        );
        g.dom_put(
            format!("domctl d{id} flags=0x7 flags_mask={f:#x}"),
            d,
            xen_domctl_sched_commaware {
                flags: XEN_DOMCTL_COMMAWARE_FLAGS_ALL,
                flags_mask: f,
                ..DOM_KEEP
            },
        );
    }
    g.dom_put(
        format!("domctl d{id} weight=65535 cap={cap_max} all flags"),
        d,
        xen_domctl_sched_commaware {
            weight: u16::MAX,
            cap: cap_max,
            flags: XEN_DOMCTL_COMMAWARE_FLAGS_ALL,
            flags_mask: XEN_DOMCTL_COMMAWARE_FLAGS_ALL,
            ..DOM_KEEP
        },
    );
    g.dom_put(
        format!("domctl d{id} weight=1 cap=1 no flags"),
        d,
        xen_domctl_sched_commaware {
            weight: 1,
            cap: 1,
            flags: 0,
            flags_mask: XEN_DOMCTL_COMMAWARE_FLAGS_ALL,
            ..DOM_KEEP
        },
    );
}

fn unknown_domain_cases(g: &mut Gen, id: u16, what: String) {
    // do_domctl: no such domain (rcu_lock_domain_by_id) before anything else.
    for (cmd, c) in [
        (XEN_DOMCTL_SCHEDOP_putinfo, "putinfo"),
        (XEN_DOMCTL_SCHEDOP_getinfo, "getinfo"),
    ] {
        g.dom(
            format!("domctl {what} ({id:#x}) {c}"),
            domctl(
                id,
                XEN_SCHEDULER_COMMAWARE,
                cmd,
                xen_domctl_sched_commaware {
                    weight: 300,
                    ..DOM_KEEP
                },
            ),
            Expect::Reject(Errno::ESRCH),
        );
    }
}

// ---------------------------------------------------------------------------
// Running them.

/// Every commaware pool's parameters and every commaware domain's policy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub pools: BTreeMap<u32, xen_sysctl_commaware_schedule>,
    pub doms: BTreeMap<u16, DomPolicy>,
}

impl Snapshot {
    pub fn read(hv: &mut dyn Hypervisor, env: &Env) -> Result<Snapshot> {
        let mut c = Client::new(hv);
        let mut s = Snapshot::default();
        for &p in &env.cw_pools {
            s.pools.insert(p, c.global_get(p)?);
        }
        for d in &env.doms {
            s.doms.insert(d.id, DomPolicy::of(&c.dom_get(d.id)?));
        }
        Ok(s)
    }

    /// What differs from `other`, for messages.
    pub fn diff(&self, other: &Snapshot) -> String {
        let mut out = Vec::new();
        for (p, a) in &self.pools {
            match other.pools.get(p) {
                Some(b) if b == a => {}
                b => out.push(format!("pool {p}: {a:?} -> {b:?}")),
            }
        }
        for (d, a) in &self.doms {
            match other.doms.get(d) {
                Some(b) if b == a => {}
                Some(b) => out.push(format!("d{d}: {a} -> {b}")),
                None => out.push(format!("d{d}: {a} -> gone")),
            }
        }
        out.join("; ")
    }

    /// Put back whatever differs from `self` (valid requests only).
    fn restore(&self, hv: &mut dyn Hypervisor, now: &Snapshot) -> Result<()> {
        let mut c = Client::new(hv);
        for (p, want) in &self.pools {
            if now.pools.get(p) != Some(want) {
                c.global_put(*p, *want)?;
            }
        }
        for (d, want) in &self.doms {
            if now.doms.get(d) != Some(want) {
                c.dom_put(
                    *d,
                    xen_domctl_sched_commaware {
                        weight: want.weight,
                        cap: want.cap,
                        flags: want.flags,
                        flags_mask: XEN_DOMCTL_COMMAWARE_FLAGS_ALL,
                        ..DOM_KEEP
                    },
                )?;
            }
        }
        Ok(())
    }
}

/// How a case went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub name: String,
    pub expect: Expect,
    /// Xen's answer.
    pub got: std::result::Result<(), Errno>,
    /// Why it is unexpected; `None` when it went as documented.
    pub problem: Option<String>,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let got = match self.got {
            Ok(()) => "accepted".to_string(),
            Err(e) => e.name(),
        };
        match &self.problem {
            None => write!(
                f,
                "ok         {}: expected {}, got {got}",
                self.name, self.expect
            ),
            Some(p) => write!(
                f,
                "UNEXPECTED {}: expected {}, got {got}: {p}",
                self.name, self.expect
            ),
        }
    }
}

/// Counts over a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub tried: usize,
    pub rejected: usize,
    pub accepted: usize,
    pub unexpected: usize,
    /// Refusals by errno name.
    pub errnos: BTreeMap<String, usize>,
}

impl Summary {
    pub fn add(&mut self, o: &Outcome) {
        self.tried += 1;
        if let Err(e) = o.got {
            *self.errnos.entry(e.name()).or_default() += 1;
        }
        match (&o.problem, o.expect) {
            (Some(_), _) => self.unexpected += 1,
            (None, Expect::Accept) => self.accepted += 1,
            (None, Expect::Reject(_)) => self.rejected += 1,
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "badpayload: tried={} rejected={} accepted={} unexpected={}",
            self.tried, self.rejected, self.accepted, self.unexpected
        )?;
        for (e, n) in &self.errnos {
            write!(f, " {e}={n}")?;
        }
        Ok(())
    }
}

fn send(hv: &mut dyn Hypervisor, req: &mut Req) -> std::result::Result<(), Errno> {
    match req {
        Req::Sysctl(e) => hv.sysctl(Sysctl::SchedulerOp(e)),
        Req::Domctl(e) => hv.domctl(Domctl::SchedulerOp(e)),
    }
}

/// What the state must be after `sent` was accepted, and whether the
/// answer (`back`, the envelope as Xen copied it back: a getinfo's) is
/// right; `Err` says what is wrong. The effect of a putinfo is judged from
/// what was sent, never from what came back.
fn accepted_effect(
    env: &Env,
    before: &Snapshot,
    sent: &Req,
    back: &Req,
) -> std::result::Result<Snapshot, String> {
    let mut want = before.clone();
    let req = match (sent, back) {
        (Req::Sysctl(s), _) if s.u.cmd == XEN_SYSCTL_SCHEDOP_getinfo => back,
        (Req::Domctl(s), _) if s.u.cmd == XEN_DOMCTL_SCHEDOP_getinfo => back,
        _ => sent,
    };
    match req {
        Req::Sysctl(e) if e.u.cmd == XEN_SYSCTL_SCHEDOP_getinfo => {
            let cur = before.pools.get(&e.u.cpupool_id);
            if cur != Some(&e.u.u) {
                return Err(format!(
                    "getinfo answered {:?}, the pool has {cur:?}",
                    e.u.u
                ));
            }
        }
        Req::Sysctl(e) => {
            want.pools.insert(e.u.cpupool_id, e.u.u);
        }
        Req::Domctl(e) if e.u.cmd == XEN_DOMCTL_SCHEDOP_getinfo => {
            let cur = before.doms.get(&e.domain);
            let p = &e.u.u;
            if cur != Some(&DomPolicy::of(p)) || p.flags_mask != 0 || p.reset != 0 {
                return Err(format!(
                    "getinfo answered {} flags_mask={:#x} reset={:#x}, the domain has {cur:?}",
                    DomPolicy::of(p),
                    p.flags_mask,
                    p.reset
                ));
            }
            if p.counters.run_ns == GARBAGE_COUNTERS.run_ns
                && p.counters.credit == GARBAGE_COUNTERS.credit
            {
                return Err("getinfo left the garbage counters in place".into());
            }
        }
        Req::Domctl(e) => {
            let units = env
                .doms
                .iter()
                .find(|d| d.id == e.domain)
                .map_or(1, |d| d.units);
            let cur = before
                .doms
                .get(&e.domain)
                .copied()
                .ok_or("not a commaware domain")?;
            let new = dom_expect(cur, &e.u.u, units).ok_or("the oracle refuses it")?;
            want.doms.insert(e.domain, new);
        }
    }
    Ok(want)
}

/// Send one case, judge it, undo it. `Err` only when reading or restoring
/// the state through valid requests fails (nothing more can be trusted).
pub fn run_case(hv: &mut dyn Hypervisor, env: &Env, case: &Case) -> Result<Outcome> {
    let before = Snapshot::read(hv, env)?;
    let mut req = case.req.clone();
    let got = send(hv, &mut req);
    let after = Snapshot::read(hv, env)?;
    let problem = match (case.expect, got) {
        (Expect::Reject(want), Err(e)) => {
            if after != before {
                Some(format!("refused, but changed {}", before.diff(&after)))
            } else if e != want {
                Some(format!(
                    "refused with {} instead of {}",
                    e.name(),
                    want.name()
                ))
            } else {
                None
            }
        }
        (Expect::Reject(_), Ok(())) => Some(if after == before {
            "accepted (nothing changed)".to_string()
        } else {
            format!("accepted and applied: {}", before.diff(&after))
        }),
        (Expect::Accept, Err(e)) => Some(if after == before {
            format!("refused with {}", e.name())
        } else {
            format!(
                "refused with {}, but changed {}",
                e.name(),
                before.diff(&after)
            )
        }),
        (Expect::Accept, Ok(())) => match accepted_effect(env, &before, &case.req, &req) {
            Err(why) => Some(why),
            Ok(want) if want != after => Some(format!(
                "read back differs from the request: expected {}, got {}",
                before.diff(&want),
                before.diff(&after)
            )),
            Ok(_) => None,
        },
    };
    if after != before {
        before.restore(hv, &after)?;
        let again = Snapshot::read(hv, env)?;
        if again != before {
            return Err(Error::Io {
                what: format!(
                    "after case \"{}\": could not restore the parameters ({})",
                    case.name,
                    before.diff(&again)
                ),
                source: std::io::Error::other("restore failed"),
            });
        }
    }
    Ok(Outcome {
        name: case.name.clone(),
        expect: case.expect,
        got,
        problem,
    })
}

/// Run every case in order, calling `report` with each outcome.
pub fn run_all(
    hv: &mut dyn Hypervisor,
    env: &Env,
    cases: &[Case],
    report: &mut dyn FnMut(&Outcome),
) -> Result<Summary> {
    let mut s = Summary::default();
    for c in cases {
        let o = run_case(hv, env, c)?;
        report(&o);
        s.add(&o);
    }
    Ok(s)
}

#[cfg(test)]
mod tests;
