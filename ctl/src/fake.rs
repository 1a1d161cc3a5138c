//! A commaware Xen in memory, for tests: cpupools with a scheduler id,
//! domains with commaware parameters and counters. It answers the envelopes
//! the way Xen 4.17 plus the commaware patches do (`sched_adjust`,
//! `sched_adjust_global`, cpupool INFO, getdomaininfo[list]) and decodes
//! payloads with `commaware::payload`, exactly as the hypervisor does: bad
//! input is `-EINVAL` and changes nothing.

use std::collections::BTreeMap;

use commaware::payload;
use commaware::sched::params::{DomParams, GlobalParams};
use commaware::sched::DomCounters;

use crate::hypervisor::{Domctl, Errno, Hypervisor, Sysctl};
use crate::xen::{
    xen_domctl_getdomaininfo, XEN_DOMCTL_SCHEDOP_getinfo, XEN_DOMCTL_SCHEDOP_putinfo,
    XEN_SYSCTL_SCHEDOP_getinfo, XEN_SYSCTL_SCHEDOP_putinfo, DOMID_FIRST_RESERVED,
    XEN_DOMCTL_INTERFACE_VERSION, XEN_SCHEDULER_COMMAWARE, XEN_SYSCTL_CPUPOOL_OP_INFO,
    XEN_SYSCTL_INTERFACE_VERSION,
};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakePool {
    pub sched_id: u32,
    /// Pool-wide parameters (meaningful when `sched_id` is commaware's).
    pub params: GlobalParams,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeDom {
    pub pool: u32,
    pub units: u32,
    pub params: DomParams,
    pub counters: DomCounters,
    pub credit: i64,
}

/// Everything the fake hypervisor holds; compare two to prove "unchanged".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FakeState {
    pub pools: BTreeMap<u32, FakePool>,
    pub doms: BTreeMap<u16, FakeDom>,
}

#[derive(Debug, Default)]
pub struct FakeXen {
    pub state: FakeState,
    /// The interface version this "Xen" speaks (default: 4.17's).
    pub version: Option<u32>,
    /// Every hypercall, in order, e.g. "domctl scheduler_op putinfo 1".
    pub log: Vec<String>,
}

impl FakeXen {
    pub fn new() -> Self {
        FakeXen::default()
    }

    pub fn pool(mut self, id: u32, sched_id: u32) -> Self {
        self.state.pools.insert(
            id,
            FakePool {
                sched_id,
                params: GlobalParams::DEFAULT,
            },
        );
        self
    }

    pub fn dom(mut self, id: u16, pool: u32, units: u32) -> Self {
        self.state.doms.insert(
            id,
            FakeDom {
                pool,
                units,
                params: DomParams::DEFAULT,
                counters: DomCounters::default(),
                credit: 0,
            },
        );
        self
    }

    /// How many putinfo hypercalls reached this "Xen".
    pub fn puts(&self) -> usize {
        self.log.iter().filter(|l| l.contains("putinfo")).count()
    }

    fn sysctl_version_ok(&self, v: u32) -> bool {
        v == self.version.unwrap_or(XEN_SYSCTL_INTERFACE_VERSION)
    }

    fn domctl_version_ok(&self, v: u32) -> bool {
        v == self.version.unwrap_or(XEN_DOMCTL_INTERFACE_VERSION)
    }

    fn info(&self, id: u16, d: &FakeDom) -> xen_domctl_getdomaininfo {
        xen_domctl_getdomaininfo {
            domain: id,
            cpupool: d.pool,
            max_vcpu_id: d.units.wrapping_sub(1),
            nr_online_vcpus: d.units,
            ..Default::default()
        }
    }
}

impl Hypervisor for FakeXen {
    fn sysctl(&mut self, op: Sysctl<'_>) -> Result<(), Errno> {
        match op {
            Sysctl::CpupoolOp(env) => {
                self.log
                    .push(format!("sysctl cpupool_op info {}", env.u.cpupool_id));
                if !self.sysctl_version_ok(env.interface_version) {
                    return Err(Errno::EACCES);
                }
                if env.u.op != XEN_SYSCTL_CPUPOOL_OP_INFO {
                    return Err(Errno::EINVAL);
                }
                // cpupool_get_next_by_id: the first pool with id >= asked.
                let (id, p) = self
                    .state
                    .pools
                    .range(env.u.cpupool_id..)
                    .next()
                    .ok_or(Errno::ENOENT)?;
                env.u.cpupool_id = *id;
                env.u.sched_id = p.sched_id;
                env.u.n_dom = self.state.doms.values().filter(|d| d.pool == *id).count() as u32;
                Ok(())
            }
            Sysctl::SchedulerOp(env) => {
                let cmd = if env.u.cmd == XEN_SYSCTL_SCHEDOP_putinfo {
                    "putinfo"
                } else {
                    "getinfo"
                };
                self.log
                    .push(format!("sysctl scheduler_op {cmd} {}", env.u.cpupool_id));
                if !self.sysctl_version_ok(env.interface_version) {
                    return Err(Errno::EACCES);
                }
                // sched_adjust_global (core.c).
                if env.u.cmd != XEN_SYSCTL_SCHEDOP_putinfo
                    && env.u.cmd != XEN_SYSCTL_SCHEDOP_getinfo
                {
                    return Err(Errno::EINVAL);
                }
                let pool = self
                    .state
                    .pools
                    .get_mut(&env.u.cpupool_id)
                    .ok_or(Errno::ESRCH)?;
                if pool.sched_id != env.u.sched_id {
                    return Err(Errno::EINVAL);
                }
                if env.u.cmd == XEN_SYSCTL_SCHEDOP_getinfo {
                    env.u.u = payload::global_to_abi(&pool.params);
                } else {
                    pool.params = payload::global_from_abi(&env.u.u).map_err(|_| Errno::EINVAL)?;
                }
                Ok(())
            }
            Sysctl::Getdomaininfolist(env, out) => {
                self.log
                    .push(format!("sysctl getdomaininfolist {}", env.u.first_domain));
                if !self.sysctl_version_ok(env.interface_version) {
                    return Err(Errno::EACCES);
                }
                let max = (env.u.max_domains as usize).min(out.len());
                let mut n = 0;
                for (id, d) in self.state.doms.range(env.u.first_domain..).take(max) {
                    out[n] = self.info(*id, d);
                    n += 1;
                }
                env.u.num_domains = n as u32;
                Ok(())
            }
        }
    }

    fn domctl(&mut self, op: Domctl<'_>) -> Result<(), Errno> {
        match op {
            Domctl::Getdomaininfo(env) => {
                self.log
                    .push(format!("domctl getdomaininfo {}", env.domain));
                if !self.domctl_version_ok(env.interface_version) {
                    return Err(Errno::EACCES);
                }
                if env.domain >= DOMID_FIRST_RESERVED {
                    return Err(Errno::EINVAL);
                }
                // The first domain with id >= asked, as Xen 4.17 does.
                let (id, d) = self
                    .state
                    .doms
                    .range(env.domain..)
                    .next()
                    .ok_or(Errno::ESRCH)?;
                env.u = self.info(*id, d);
                env.domain = *id;
                Ok(())
            }
            Domctl::SchedulerOp(env) => {
                let cmd = if env.u.cmd == XEN_DOMCTL_SCHEDOP_putinfo {
                    "putinfo"
                } else {
                    "getinfo"
                };
                self.log
                    .push(format!("domctl scheduler_op {cmd} {}", env.domain));
                if !self.domctl_version_ok(env.interface_version) {
                    return Err(Errno::EACCES);
                }
                // sched_adjust (core.c): the domain's scheduler must match.
                let d = self.state.doms.get_mut(&env.domain).ok_or(Errno::ESRCH)?;
                let sched = self.state.pools.get(&d.pool).map(|p| p.sched_id);
                if sched != Some(env.u.sched_id) || env.u.sched_id != XEN_SCHEDULER_COMMAWARE {
                    return Err(Errno::EINVAL);
                }
                if env.u.cmd == XEN_DOMCTL_SCHEDOP_getinfo {
                    env.u.u = payload::dom_to_abi(&d.params, &d.counters, d.credit);
                    Ok(())
                } else if env.u.cmd == XEN_DOMCTL_SCHEDOP_putinfo {
                    d.params = payload::dom_update(d.params, &env.u.u, d.units)
                        .map_err(|_| Errno::EINVAL)?;
                    if payload::resets_wait_max(&env.u.u) {
                        d.counters.wait_max_ns = 0;
                    }
                    Ok(())
                } else {
                    Err(Errno::EINVAL)
                }
            }
        }
    }
}
