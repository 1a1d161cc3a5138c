//! Typed operations over a [`Hypervisor`]: one function per question we ask
//! Xen, each building its envelope, making one call, and turning Xen's
//! error number into an [`Error`] that says what to do.

use commaware::abi::{xen_domctl_sched_commaware, xen_sysctl_commaware_schedule};

use crate::error::{Error, Result};
use crate::hypervisor::{Domctl, Errno, Hypervisor, Sysctl};
use crate::xen::{
    xen_domctl_getdomaininfo, xen_domctl_scheduler_op, xen_sysctl_cpupool_op,
    xen_sysctl_getdomaininfolist, xen_sysctl_scheduler_op, DomctlGetdomaininfo, DomctlSchedulerOp,
    SysctlCpupoolOp, SysctlGetdomaininfolist, SysctlSchedulerOp, XEN_DOMCTL_SCHEDOP_getinfo,
    XEN_DOMCTL_SCHEDOP_putinfo, XEN_SYSCTL_SCHEDOP_getinfo, XEN_SYSCTL_SCHEDOP_putinfo,
    DOMID_FIRST_RESERVED, XEN_SCHEDULER_COMMAWARE, XEN_SYSCTL_CPUPOOL_OP_INFO,
};

/// Domains fetched per getdomaininfolist call.
const DOMINFO_BATCH: usize = 64;

/// A cpupool as `XEN_SYSCTL_CPUPOOL_OP_INFO` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolInfo {
    pub id: u32,
    pub sched_id: u32,
    pub n_dom: u32,
}

impl PoolInfo {
    pub fn is_commaware(&self) -> bool {
        self.sched_id == XEN_SCHEDULER_COMMAWARE
    }
}

pub struct Client<'a> {
    hv: &'a mut dyn Hypervisor,
}

impl<'a> Client<'a> {
    pub fn new(hv: &'a mut dyn Hypervisor) -> Self {
        Client { hv }
    }

    /// The first cpupool with id >= `from` (Xen's INFO semantics), if any.
    fn pool_from(&mut self, from: u32) -> Result<Option<PoolInfo>> {
        let mut env = SysctlCpupoolOp::new(xen_sysctl_cpupool_op {
            op: XEN_SYSCTL_CPUPOOL_OP_INFO,
            cpupool_id: from,
            ..Default::default()
        });
        match self.hv.sysctl(Sysctl::CpupoolOp(&mut env)) {
            Ok(()) => Ok(Some(PoolInfo {
                id: env.u.cpupool_id,
                sched_id: env.u.sched_id,
                n_dom: env.u.n_dom,
            })),
            Err(Errno::ENOENT) => Ok(None),
            Err(e) => Err(Error::from_errno(
                "the cpupool query (XEN_SYSCTL_cpupool_op)",
                e,
            )),
        }
    }

    /// Cpupool `id`, or `None` if there is none.
    pub fn pool(&mut self, id: u32) -> Result<Option<PoolInfo>> {
        Ok(self.pool_from(id)?.filter(|p| p.id == id))
    }

    /// Every cpupool, by id.
    pub fn pools(&mut self) -> Result<Vec<PoolInfo>> {
        let mut out = Vec::new();
        let mut next = 0u32;
        while let Some(p) = self.pool_from(next)? {
            out.push(p);
            match p.id.checked_add(1) {
                Some(n) => next = n,
                None => break,
            }
        }
        Ok(out)
    }

    /// Every domain, by id (`XEN_SYSCTL_getdomaininfolist`, in batches).
    pub fn domains(&mut self) -> Result<Vec<xen_domctl_getdomaininfo>> {
        let mut out = Vec::new();
        let mut first: u16 = 0;
        loop {
            let mut buf = vec![xen_domctl_getdomaininfo::default(); DOMINFO_BATCH];
            let mut env = SysctlGetdomaininfolist::new(xen_sysctl_getdomaininfolist {
                first_domain: first,
                max_domains: DOMINFO_BATCH as u32,
                ..Default::default()
            });
            self.hv
                .sysctl(Sysctl::Getdomaininfolist(&mut env, &mut buf))
                .map_err(|e| {
                    Error::from_errno("the domain list (XEN_SYSCTL_getdomaininfolist)", e)
                })?;
            let n = (env.u.num_domains as usize).min(buf.len());
            buf.truncate(n);
            let last = buf.last().map(|d| d.domain);
            out.extend(buf);
            match last {
                Some(id) if n == DOMINFO_BATCH && id < DOMID_FIRST_RESERVED - 1 => first = id + 1,
                _ => break,
            }
        }
        Ok(out)
    }

    /// Domain `domid`, or `None` if it does not exist.
    pub fn domain(&mut self, domid: u16) -> Result<Option<xen_domctl_getdomaininfo>> {
        if domid >= DOMID_FIRST_RESERVED {
            return Ok(None);
        }
        let mut env = DomctlGetdomaininfo::new(domid, xen_domctl_getdomaininfo::default());
        match self.hv.domctl(Domctl::Getdomaininfo(&mut env)) {
            // Xen answers with the next domain >= domid: ours only if equal.
            Ok(()) => Ok(Some(env.u).filter(|d| d.domain == domid)),
            Err(Errno::ESRCH) => Ok(None),
            Err(e) => Err(Error::from_errno(
                "the domain query (XEN_DOMCTL_getdomaininfo)",
                e,
            )),
        }
    }

    fn sysctl_sched(
        &mut self,
        pool: u32,
        cmd: u32,
        u: xen_sysctl_commaware_schedule,
    ) -> Result<SysctlSchedulerOp> {
        let mut env = SysctlSchedulerOp::new(xen_sysctl_scheduler_op {
            cpupool_id: pool,
            sched_id: XEN_SCHEDULER_COMMAWARE,
            cmd,
            _pad: 0,
            u,
        });
        self.hv
            .sysctl(Sysctl::SchedulerOp(&mut env))
            .map(|()| env)
            .map_err(|e| {
                let op = if cmd == XEN_SYSCTL_SCHEDOP_putinfo {
                    "the pool-wide putinfo (XEN_SYSCTL_scheduler_op)"
                } else {
                    "the pool-wide getinfo (XEN_SYSCTL_scheduler_op)"
                };
                match e {
                    Errno::ESRCH => Error::UnknownCpupool(pool.to_string()),
                    Errno::EINVAL if cmd == XEN_SYSCTL_SCHEDOP_putinfo => {
                        Error::Refused { op, errno: e }
                    }
                    e => Error::from_errno(op, e),
                }
            })
    }

    /// The pool-wide parameters of commaware in `pool`.
    pub fn global_get(&mut self, pool: u32) -> Result<xen_sysctl_commaware_schedule> {
        Ok(self
            .sysctl_sched(pool, XEN_SYSCTL_SCHEDOP_getinfo, Default::default())?
            .u
            .u)
    }

    /// Set all pool-wide parameters at once.
    pub fn global_put(&mut self, pool: u32, p: xen_sysctl_commaware_schedule) -> Result<()> {
        self.sysctl_sched(pool, XEN_SYSCTL_SCHEDOP_putinfo, p)
            .map(|_| ())
    }

    fn domctl_sched(
        &mut self,
        domid: u16,
        cmd: u32,
        u: xen_domctl_sched_commaware,
    ) -> Result<DomctlSchedulerOp> {
        let mut env = DomctlSchedulerOp::new(
            domid,
            xen_domctl_scheduler_op {
                sched_id: XEN_SCHEDULER_COMMAWARE,
                cmd,
                u,
            },
        );
        self.hv
            .domctl(Domctl::SchedulerOp(&mut env))
            .map(|()| env)
            .map_err(|e| {
                let op = if cmd == XEN_DOMCTL_SCHEDOP_putinfo {
                    "the domain putinfo (XEN_DOMCTL_scheduler_op)"
                } else {
                    "the domain getinfo (XEN_DOMCTL_scheduler_op)"
                };
                match e {
                    Errno::ESRCH => Error::UnknownDomain(domid.to_string()),
                    Errno::EINVAL if cmd == XEN_DOMCTL_SCHEDOP_putinfo => {
                        Error::Refused { op, errno: e }
                    }
                    e => Error::from_errno(op, e),
                }
            })
    }

    /// A domain's commaware parameters and counters.
    pub fn dom_get(&mut self, domid: u16) -> Result<xen_domctl_sched_commaware> {
        Ok(self
            .domctl_sched(domid, XEN_DOMCTL_SCHEDOP_getinfo, Default::default())?
            .u
            .u)
    }

    /// One putinfo for a domain.
    pub fn dom_put(&mut self, domid: u16, p: xen_domctl_sched_commaware) -> Result<()> {
        self.domctl_sched(domid, XEN_DOMCTL_SCHEDOP_putinfo, p)
            .map(|_| ())
    }
}
