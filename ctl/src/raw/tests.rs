//! The case generator and runner against the fake commaware Xen, and
//! against fakes with planted bugs (each must be caught).

use commaware::abi::xen_domctl_sched_commaware;
use commaware::payload;
use commaware::sched::params::DomParams;

use super::*;
use crate::fake::FakeXen;

const CW: u32 = XEN_SCHEDULER_COMMAWARE;

/// Pool-0 commaware with dom0 (2 vCPUs), d1 (1 vCPU), d2 (4 vCPUs, driver);
/// pool 1 credit with d3.
fn xen() -> FakeXen {
    let mut x = FakeXen::new()
        .pool(0, CW)
        .pool(1, XEN_SCHEDULER_CREDIT)
        .dom(0, 0, 2)
        .dom(1, 0, 1)
        .dom(2, 0, 4)
        .dom(3, 1, 1);
    let d2 = x.state.doms.get_mut(&2).unwrap();
    d2.params = DomParams {
        weight: 512,
        cap: 150,
        driver: true,
        ..DomParams::DEFAULT
    };
    x
}

fn run(hv: &mut dyn Hypervisor) -> (Summary, Vec<Outcome>) {
    let env = discover(hv).unwrap();
    let cases = cases(&env);
    let mut outs = Vec::new();
    let s = run_all(hv, &env, &cases, &mut |o| outs.push(o.clone())).unwrap();
    (s, outs)
}

#[test]
fn discovers_pools_domains_and_free_ids() {
    let mut x = xen();
    let env = discover(&mut x).unwrap();
    assert_eq!(env.cw_pools, vec![0]);
    assert_eq!(env.other_pools, vec![1]);
    assert_eq!(
        env.doms,
        vec![
            DomTarget { id: 0, units: 2 },
            DomTarget { id: 1, units: 1 },
            DomTarget { id: 2, units: 4 }
        ]
    );
    assert_eq!(env.foreign_doms, vec![3]);
    assert_eq!(env.free_domids, vec![4, 0x1000, 0x7FEF]);
    assert!(env.free_pool_ids.contains(&2));
    assert!(env.free_pool_ids.contains(&u32::MAX));
}

#[test]
fn boundary_values_cover_both_edges_and_garbage() {
    let v = boundary_values(100, 500_000);
    for want in [
        0,
        1,
        99,
        100,
        101,
        499_999,
        500_000,
        500_001,
        0x8000_0000,
        u32::MAX,
    ] {
        assert!(v.contains(&want), "{want} missing from {v:?}");
    }
    assert!(v.windows(2).all(|w| w[0] < w[1]), "sorted, no repeats");
    let v = boundary_values_u16(0, 400);
    for want in [0, 1, 399, 400, 401, 0x8000, 0xFFFE, 0xFFFF] {
        assert!(v.contains(&want), "{want} missing from {v:?}");
    }
}

/// The oracle is written from the documentation; `commaware::payload` is
/// what the hypervisor runs. They must agree on every generated payload.
#[test]
fn oracle_agrees_with_the_hypervisors_validation() {
    let env = discover(&mut xen()).unwrap();
    let mut checked = 0;
    for c in cases(&env) {
        match &c.req {
            Req::Sysctl(e) if e.u.cmd == XEN_SYSCTL_SCHEDOP_putinfo => {
                assert_eq!(
                    global_ok(&e.u.u),
                    payload::global_from_abi(&e.u.u).is_ok(),
                    "{}",
                    c.name
                );
                checked += 1;
            }
            Req::Domctl(e) if e.u.cmd == XEN_DOMCTL_SCHEDOP_putinfo => {
                let units = env
                    .doms
                    .iter()
                    .find(|d| d.id == e.domain)
                    .map_or(1, |d| d.units);
                let cur = DomParams {
                    weight: 77,
                    cap: 3,
                    boost: false,
                    donation: true,
                    driver: true,
                };
                let cur_abi = payload::dom_to_abi(&cur, &Default::default(), 0);
                let ours = dom_expect(DomPolicy::of(&cur_abi), &e.u.u, units);
                let theirs = payload::dom_update(cur, &e.u.u, units)
                    .ok()
                    .map(|d| DomPolicy::of(&payload::dom_to_abi(&d, &Default::default(), 0)));
                assert_eq!(ours, theirs, "{}", c.name);
                checked += 1;
            }
            _ => {}
        }
    }
    assert!(checked > 150, "only {checked} payload cases");
}

#[test]
fn every_field_is_tried_at_its_documented_edges() {
    let env = discover(&mut xen()).unwrap();
    let cs = cases(&env);
    let verdict = |name: &str| {
        cs.iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no case {name}"))
            .expect
    };
    let acc = Expect::Accept;
    let inval = Expect::Reject(Errno::EINVAL);
    for (name, lo_ok, lo_bad, hi_ok, hi_bad) in [
        ("tslice_ms", 1, Some(0), 1000, 1001),
        ("ratelimit_us", 100, Some(99), 500_000, 500_001),
        ("migration_delay_us", 0, None, 100_000, 100_001),
        ("boost_us", 50, Some(49), 10_000, 10_001),
        ("boost_budget_pct", 0, None, 100, 101),
    ] {
        assert_eq!(
            verdict(&format!("sysctl pool0 {name}={lo_ok}")),
            acc,
            "{name}"
        );
        assert_eq!(
            verdict(&format!("sysctl pool0 {name}={hi_ok}")),
            acc,
            "{name}"
        );
        assert_eq!(
            verdict(&format!("sysctl pool0 {name}={hi_bad}")),
            inval,
            "{name}"
        );
        assert_eq!(
            verdict(&format!("sysctl pool0 {name}={}", u32::MAX)),
            inval,
            "{name}"
        );
        if let Some(b) = lo_bad {
            assert_eq!(
                verdict(&format!("sysctl pool0 {name}={b}")),
                inval,
                "{name}"
            );
        }
    }
    assert_eq!(verdict("sysctl pool0 ratelimit_us=0"), acc, "0 = off");
    assert_eq!(verdict("sysctl pool0 tslice_ms=1 ratelimit_us=1001"), inval);
    assert_eq!(verdict("sysctl pool0 tslice_ms=1 boost_us=1000"), acc);
    assert_eq!(verdict("sysctl pool0 flags=0x8"), inval);
    assert_eq!(verdict("sysctl pool0 cmd=0x2"), inval);
    assert_eq!(verdict("sysctl pool0 putinfo sched_id=5"), inval);
    assert_eq!(
        verdict("sysctl putinfo unknown cpupool 0xffffffff"),
        Expect::Reject(Errno::ESRCH)
    );
    assert_eq!(verdict("sysctl putinfo cpupool 1 (other scheduler)"), inval);
    assert_eq!(
        verdict("sysctl pool0 putinfo interface_version=0x16"),
        Expect::Reject(Errno::EACCES)
    );
    // d1: 1 vCPU, d2: 4.
    assert_eq!(verdict("domctl d1 cap=100 (1 vCPUs)"), acc);
    assert_eq!(verdict("domctl d1 cap=101 (1 vCPUs)"), inval);
    assert_eq!(verdict("domctl d2 cap=400 (4 vCPUs)"), acc);
    assert_eq!(verdict("domctl d2 cap=401 (4 vCPUs)"), inval);
    assert_eq!(
        verdict("domctl d1 cap=65535 (1 vCPUs)"),
        acc,
        "0xFFFF keeps"
    );
    assert_eq!(verdict("domctl d1 weight=1"), acc);
    assert_eq!(verdict("domctl d1 weight=65535"), acc);
    assert_eq!(verdict("domctl d1 reset=0x2"), inval);
    assert_eq!(verdict("domctl d1 keep all, reset the longest wait"), acc);
    assert_eq!(verdict("domctl d1 flags=0x8"), inval);
    assert_eq!(verdict("domctl d1 flags_mask=0x80000000"), inval);
    assert_eq!(verdict("domctl d1 cmd=0x3"), inval);
    assert_eq!(verdict("domctl d1 getinfo sched_id=5"), inval);
    assert_eq!(
        verdict("domctl DOMID_SELF (0x7ff0) putinfo"),
        Expect::Reject(Errno::ESRCH)
    );
    assert_eq!(
        verdict("domctl DOMID_IDLE (0x7fff) getinfo"),
        Expect::Reject(Errno::ESRCH)
    );
    assert_eq!(
        verdict("domctl unknown domid 4 (0x4) putinfo"),
        Expect::Reject(Errno::ESRCH)
    );
    assert_eq!(verdict("domctl d3 (other scheduler's pool) cmd=0"), inval);
    // dom0 is never given a changing value.
    for c in cs
        .iter()
        .filter(|c| c.name.starts_with("domctl d0 ") && c.expect == acc)
    {
        assert!(
            c.name.contains("keep all")
                || c.name.contains("getinfo")
                || c.name.contains("cap=65535"),
            "{}",
            c.name
        );
    }
    assert!(!cs.iter().any(|c| c.name == "domctl d0 cap=1 (2 vCPUs)"));
    assert_eq!(verdict("domctl d0 cap=201 (2 vCPUs)"), inval);
}

#[test]
fn a_correct_xen_gives_no_unexpected_result_and_ends_unchanged() {
    let mut x = xen();
    let start = x.state.clone();
    let (s, outs) = run(&mut x);
    let bad: Vec<String> = outs
        .iter()
        .filter(|o| o.problem.is_some())
        .map(|o| o.to_string())
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
    assert_eq!(s.unexpected, 0);
    assert_eq!(s.tried, outs.len());
    assert_eq!(s.accepted + s.rejected, s.tried);
    assert!(s.accepted > 40 && s.rejected > 150, "{s}");
    for e in ["EINVAL", "ESRCH", "EACCES"] {
        assert!(s.errnos.get(e).copied().unwrap_or(0) > 0, "no {e}: {s}");
    }
    assert_eq!(x.state, start, "every accepted change was undone");
    assert!(x.puts() > s.tried / 2, "the cases reached the hypervisor");
    let line = s.to_string();
    assert!(line.starts_with(&format!(
        "badpayload: tried={} rejected={} accepted={} unexpected=0",
        s.tried, s.rejected, s.accepted
    )));
}

/// A fake with one planted bug; everything else delegated to the good fake.
struct Buggy {
    xen: FakeXen,
    bug: Bug,
}

#[derive(Clone, Copy)]
enum Bug {
    /// Pool-wide putinfo applied without validation.
    NoGlobalValidation,
    /// Domain putinfo with pad != 0: refused, but the weight is applied.
    RefusesButApplies,
    /// An unknown domain answered with EINVAL instead of ESRCH.
    WrongErrno,
    /// flags_mask ignored: every flag bit is taken from flags.
    IgnoresMask,
    /// getinfo answers the caller's payload back.
    GetinfoEchoes,
}

impl Hypervisor for Buggy {
    fn sysctl(&mut self, op: Sysctl<'_>) -> std::result::Result<(), Errno> {
        if let (Bug::NoGlobalValidation, Sysctl::SchedulerOp(e)) = (self.bug, &op) {
            if e.u.cmd == XEN_SYSCTL_SCHEDOP_putinfo
                && e.u.sched_id == CW
                && e.interface_version == XEN_SYSCTL_INTERFACE_VERSION
            {
                if let Some(p) = self.xen.state.pools.get_mut(&e.u.cpupool_id) {
                    let u = e.u.u;
                    p.params.tslice_ms = u.tslice_ms;
                    p.params.ratelimit_us = u.ratelimit_us;
                    p.params.migration_delay_us = u.migration_delay_us;
                    p.params.boost_us = u.boost_us;
                    p.params.boost_budget_pct = u.boost_budget_pct;
                    return Ok(());
                }
            }
        }
        self.xen.sysctl(op)
    }

    fn domctl(&mut self, op: Domctl<'_>) -> std::result::Result<(), Errno> {
        let Domctl::SchedulerOp(e) = op else {
            return self.xen.domctl(op);
        };
        let put = e.u.cmd == XEN_DOMCTL_SCHEDOP_putinfo
            && e.u.sched_id == CW
            && e.interface_version == XEN_DOMCTL_INTERFACE_VERSION;
        match self.bug {
            Bug::RefusesButApplies if put && e.u.u.reset & !XEN_DOMCTL_COMMAWARE_RESET_ALL != 0 && e.u.u.weight != 0 => {
                if let Some(d) = self.xen.state.doms.get_mut(&e.domain) {
                    d.params.weight = e.u.u.weight;
                }
                return Err(Errno::EINVAL);
            }
            Bug::WrongErrno if !self.xen.state.doms.contains_key(&e.domain) => {
                return Err(Errno::EINVAL)
            }
            Bug::IgnoresMask
                if put
                    && e.u.u.flags_mask != 0
                    && e.u.u.flags_mask & !XEN_DOMCTL_COMMAWARE_FLAGS_ALL == 0 =>
            {
                e.u.u.flags_mask = XEN_DOMCTL_COMMAWARE_FLAGS_ALL;
            }
            Bug::GetinfoEchoes if e.u.cmd == XEN_DOMCTL_SCHEDOP_getinfo && e.u.u.reset != 0 => {
                return if self.xen.state.doms.contains_key(&e.domain) {
                    Ok(())
                } else {
                    Err(Errno::ESRCH)
                };
            }
            _ => {}
        }
        self.xen.domctl(Domctl::SchedulerOp(e))
    }
}

fn problems(bug: Bug) -> (Summary, Vec<String>) {
    let mut b = Buggy { xen: xen(), bug };
    let (s, outs) = run(&mut b);
    (
        s,
        outs.iter()
            .filter(|o| o.problem.is_some())
            .map(|o| o.to_string())
            .collect(),
    )
}

#[test]
fn an_unvalidated_pool_putinfo_is_caught() {
    let (s, bad) = problems(Bug::NoGlobalValidation);
    assert!(s.unexpected > 10, "{s}");
    assert!(bad.iter().any(|l| l.contains("UNEXPECTED sysctl pool0 tslice_ms=0: expected reject EINVAL, got accepted: accepted and applied")), "{bad:#?}");
}

#[test]
fn a_refusal_that_changes_something_is_caught() {
    let (s, bad) = problems(Bug::RefusesButApplies);
    assert!(s.unexpected >= 3, "{s}");
    assert!(
        bad.iter()
            .all(|l| l.contains("refused, but changed") && l.contains("weight=300")),
        "{bad:#?}"
    );
}

#[test]
fn a_wrong_errno_is_caught() {
    let (s, bad) = problems(Bug::WrongErrno);
    assert!(s.unexpected > 10, "{s}");
    assert!(bad.iter().any(|l| l.contains("DOMID_SELF") && l.contains("refused with EINVAL instead of ESRCH")), "{bad:#?}");
}

#[test]
fn an_ignored_flags_mask_is_caught() {
    let (s, bad) = problems(Bug::IgnoresMask);
    assert!(s.unexpected > 0, "{s}");
    assert!(
        bad.iter().any(|l| l.contains("read back differs")),
        "{bad:#?}"
    );
}

#[test]
fn a_getinfo_that_echoes_its_input_is_caught() {
    let (s, bad) = problems(Bug::GetinfoEchoes);
    assert!(s.unexpected >= 3, "{s}");
    assert!(
        bad.iter()
            .all(|l| l.contains("getinfo with garbage in") && l.contains("getinfo answered")),
        "{bad:#?}"
    );
}

#[test]
fn dom_expect_follows_the_header() {
    let cur = DomPolicy {
        weight: 256,
        cap: 0,
        flags: 0,
    };
    let keep = DOM_KEEP;
    assert_eq!(dom_expect(cur, &keep, 1), Some(cur));
    let p = xen_domctl_sched_commaware {
        flags: 0x5,
        flags_mask: 0x1,
        ..keep
    };
    assert_eq!(
        dom_expect(cur, &p, 1),
        Some(DomPolicy { flags: 0x1, ..cur })
    );
    let p = xen_domctl_sched_commaware { cap: 200, ..keep };
    assert_eq!(dom_expect(cur, &p, 1), None);
    assert_eq!(dom_expect(cur, &p, 2), Some(DomPolicy { cap: 200, ..cur }));
    let p = xen_domctl_sched_commaware { reset: 1 << 1, ..keep };
    assert_eq!(dom_expect(cur, &p, 1), None);
    let p = xen_domctl_sched_commaware { reset: 1, ..keep };
    assert_eq!(dom_expect(cur, &p, 1), Some(cur), "a reset changes no parameter");
}
