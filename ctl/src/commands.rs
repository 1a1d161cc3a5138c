//! The commands, over any [`Hypervisor`] and any source of [`Names`].
//!
//! Setters never send a partial update: they read the current values,
//! build one putinfo holding every change, check it with
//! `commaware::payload` exactly as the hypervisor will (so nothing is sent
//! that would be refused), and send it once.

use std::io::Write;
use std::time::Duration;

use commaware::abi::{
    xen_commaware_counters, xen_domctl_sched_commaware, xen_sysctl_commaware_schedule,
    XEN_DOMCTL_COMMAWARE_CAP_KEEP, XEN_DOMCTL_COMMAWARE_DRIVER, XEN_DOMCTL_COMMAWARE_FLAGS_ALL,
    XEN_DOMCTL_COMMAWARE_NO_BOOST, XEN_DOMCTL_COMMAWARE_NO_DONATION, XEN_DOMCTL_COMMAWARE_RESET_WAIT_MAX,
    XEN_DOMCTL_COMMAWARE_WEIGHT_KEEP, XEN_SYSCTL_COMMAWARE_ATTRIBUTION, XEN_SYSCTL_COMMAWARE_BOOST,
    XEN_SYSCTL_COMMAWARE_DONATION,
};
use commaware::payload;
use commaware::sched::params::{DomParams, GlobalParams};

use crate::cli::{Command, DomSet, GlobalSet};
use crate::client::{Client, PoolInfo};
use crate::error::{Error, Result};
use crate::hypervisor::Hypervisor;
use crate::names::Names;
use crate::output::{self, DomView, Listing, PoolListing, PoolView, Stats, StatsView, WatchSample};
use crate::xen::{xen_domctl_getdomaininfo, XEN_DOMINF_DYING};

/// Where output goes and how.
pub struct Io<'a> {
    pub out: &'a mut dyn Write,
    pub json: bool,
    /// Clear the screen between `watch` refreshes (stdout is a terminal).
    pub clear: bool,
    /// How `watch` waits (tests pass a fake that advances the fake Xen).
    pub sleep: &'a mut dyn FnMut(Duration),
}

pub fn run(
    cmd: &Command,
    hv: &mut dyn Hypervisor,
    names: &mut dyn Names,
    io: &mut Io<'_>,
) -> Result<()> {
    let mut cx = Cx {
        xen: Client::new(hv),
        names,
    };
    match cmd {
        Command::List { cpupool } => {
            let pools = cx.listing(cpupool.as_deref())?;
            emit(
                io,
                if io.json {
                    output::json(&Listing { cpupools: &pools })
                } else {
                    output::listing(&pools)
                },
            )
        }
        Command::Show { domain } => {
            let info = cx.domain(domain)?;
            cx.commaware_pool(info.cpupool)?;
            let v = cx.dom_view(&info)?;
            emit(
                io,
                if io.json {
                    output::json(&v)
                } else {
                    output::dom_header() + &output::dom_row(&v)
                },
            )
        }
        Command::SetDom { domain, set } => {
            let info = cx.domain(domain)?;
            cx.commaware_pool(info.cpupool)?;
            cx.set_dom(&info, set)?;
            if io.json {
                let v = cx.dom_view(&info)?;
                emit(io, output::json(&v))?;
            }
            Ok(())
        }
        Command::ShowGlobal { cpupool } => {
            let pool = cx.pool_or_zero(cpupool.as_deref())?;
            let v = cx.pool_view(&pool)?;
            emit(
                io,
                if io.json {
                    output::json(&v)
                } else {
                    output::pool_line(&v)
                },
            )
        }
        Command::SetGlobal { cpupool, set } => {
            let pool = cx.pool_or_zero(cpupool.as_deref())?;
            cx.set_global(&pool, set)?;
            if io.json {
                let v = cx.pool_view(&pool)?;
                emit(io, output::json(&v))?;
            }
            Ok(())
        }
        Command::Stats { domain, cpupool } => {
            let rows = cx.stats(domain.as_deref(), cpupool.as_deref())?;
            emit(
                io,
                if io.json {
                    output::json(&Stats { domains: &rows })
                } else {
                    output::stats_table(&rows)
                },
            )
        }
        Command::Watch {
            interval_s,
            iterations,
            domain,
            cpupool,
        } => watch(
            &mut cx,
            io,
            *interval_s,
            *iterations,
            domain.as_deref(),
            cpupool.as_deref(),
        ),
    }
}

fn emit(io: &mut Io<'_>, s: String) -> Result<()> {
    io.out
        .write_all(s.as_bytes())
        .and_then(|()| io.out.flush())
        .map_err(|source| Error::Io {
            what: "cannot write the output".into(),
            source,
        })
}

fn watch(
    cx: &mut Cx<'_, '_>,
    io: &mut Io<'_>,
    interval_s: u32,
    iterations: Option<u32>,
    domain: Option<&str>,
    cpupool: Option<&str>,
) -> Result<()> {
    let mut prev: Vec<StatsView> = Vec::new();
    let interval_ns = u64::from(interval_s) * 1_000_000_000;
    let mut i: u32 = 0;
    loop {
        i = i.saturating_add(1);
        let rows = cx.stats(domain, cpupool)?;
        if io.json {
            emit(
                io,
                output::json_line(&WatchSample {
                    iteration: i,
                    interval_s,
                    domains: &rows,
                }),
            )?;
        } else {
            let mut s = String::new();
            if io.clear {
                s.push_str("\x1b[H\x1b[2J");
            }
            s.push_str(&format!(
                "commaware-ctl watch: refresh {i}, every {interval_s}s\n"
            ));
            s.push_str(&output::stats_header(true));
            for r in &rows {
                // xentop's CPU(%): run time over the last interval.
                let cpu = prev.iter().find(|p| p.id == r.id).map(|p| {
                    r.run_ns.saturating_sub(p.run_ns).saturating_mul(100) / interval_ns.max(1)
                });
                s.push_str(&output::stats_row(r, Some(cpu)));
            }
            if !io.clear {
                s.push('\n');
            }
            emit(io, s)?;
        }
        if iterations.is_some_and(|n| i >= n) {
            return Ok(());
        }
        prev = rows;
        (io.sleep)(Duration::from_secs(u64::from(interval_s)));
    }
}

struct Cx<'a, 'b> {
    xen: Client<'a>,
    names: &'b mut dyn Names,
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Decode a domctl getinfo answer through `commaware::payload`: the answer
/// read as a putinfo that sets everything, applied to anything. The cap
/// bound is not ours to check on an answer, so units are unbounded.
fn dom_params(abi: &xen_domctl_sched_commaware) -> Result<DomParams> {
    let all = xen_domctl_sched_commaware {
        flags_mask: XEN_DOMCTL_COMMAWARE_FLAGS_ALL,
        reset: 0,
        counters: xen_commaware_counters::default(),
        ..*abi
    };
    payload::dom_update(DomParams::DEFAULT, &all, u32::MAX).map_err(|e| Error::Garbled {
        op: "the domain getinfo",
        why: format!("{e:?}"),
    })
}

fn global_params(abi: &xen_sysctl_commaware_schedule) -> Result<GlobalParams> {
    payload::global_from_abi(abi).map_err(|e| Error::Garbled {
        op: "the pool-wide getinfo",
        why: format!("{e:?}"),
    })
}

impl Cx<'_, '_> {
    fn pool_name(&mut self, id: u32) -> String {
        match self.names.pool_name(id) {
            Ok(Some(n)) => n,
            _ => id.to_string(),
        }
    }

    fn dom_name(&mut self, id: u16) -> String {
        match self.names.domain_name(id) {
            Ok(Some(n)) => n,
            _ => "-".into(),
        }
    }

    /// A cpupool by id or name.
    fn pool(&mut self, arg: &str) -> Result<PoolInfo> {
        if is_number(arg) {
            let id = arg
                .parse::<u32>()
                .map_err(|_| Error::UnknownCpupool(arg.into()))?;
            return self
                .xen
                .pool(id)?
                .ok_or_else(|| Error::UnknownCpupool(arg.into()));
        }
        for p in self.xen.pools()? {
            match self.names.pool_name(p.id) {
                Ok(Some(n)) if n == arg => return Ok(p),
                Ok(_) => {}
                Err(why) => return Err(Error::Names(why)),
            }
        }
        Err(Error::UnknownCpupool(arg.into()))
    }

    fn require_commaware(&mut self, p: PoolInfo) -> Result<PoolInfo> {
        if p.is_commaware() {
            Ok(p)
        } else {
            Err(Error::NotCommaware {
                pool: p.id,
                pool_name: self.pool_name(p.id),
                sched_id: p.sched_id,
            })
        }
    }

    fn commaware_pool(&mut self, id: u32) -> Result<PoolInfo> {
        let p = self
            .xen
            .pool(id)?
            .ok_or_else(|| Error::UnknownCpupool(id.to_string()))?;
        self.require_commaware(p)
    }

    /// `-p CPUPOOL`, which must run commaware; without it cpupool 0 as
    /// `xl sched-credit -s`, or, when cpupool 0 runs another scheduler, the
    /// one cpupool that runs commaware (credit1's Pool-0 beside a commaware
    /// pool is the usual setup).
    fn pool_or_zero(&mut self, arg: Option<&str>) -> Result<PoolInfo> {
        if let Some(a) = arg {
            let p = self.pool(a)?;
            return self.require_commaware(p);
        }
        if let Some(p) = self.xen.pool(0)?.filter(PoolInfo::is_commaware) {
            return Ok(p);
        }
        match self.commaware_pools(None)?.as_slice() {
            [one] => Ok(*one),
            many => {
                let names: Vec<String> = many.iter().map(|p| self.pool_name(p.id)).collect();
                Err(Error::Usage(format!(
                    "cpupools {} run commaware: choose one with -p",
                    names.join(", ")
                )))
            }
        }
    }

    /// The commaware cpupools: `-p`'s (which must be one), or all of them.
    fn commaware_pools(&mut self, arg: Option<&str>) -> Result<Vec<PoolInfo>> {
        if let Some(a) = arg {
            let p = self.pool(a)?;
            return Ok(vec![self.require_commaware(p)?]);
        }
        let all = self.xen.pools()?;
        let cw: Vec<PoolInfo> = all.iter().copied().filter(PoolInfo::is_commaware).collect();
        if cw.is_empty() {
            let pools = all
                .iter()
                .map(|p| (self.pool_name(p.id), p.sched_id))
                .collect();
            return Err(Error::NoCommawarePool { pools });
        }
        Ok(cw)
    }

    /// A domain by domid or name.
    fn domain(&mut self, arg: &str) -> Result<xen_domctl_getdomaininfo> {
        if is_number(arg) {
            let id = arg
                .parse::<u16>()
                .map_err(|_| Error::UnknownDomain(arg.into()))?;
            return self
                .xen
                .domain(id)?
                .ok_or_else(|| Error::UnknownDomain(arg.into()));
        }
        let mut found = Vec::new();
        for d in self.xen.domains()? {
            match self.names.domain_name(d.domain) {
                Ok(Some(n)) if n == arg => found.push(d),
                Ok(_) => {}
                Err(why) => return Err(Error::Names(why)),
            }
        }
        match found.as_slice() {
            [one] => Ok(*one),
            [] => Err(Error::UnknownDomain(arg.into())),
            many => {
                let ids: Vec<String> = many.iter().map(|d| d.domain.to_string()).collect();
                Err(Error::Usage(format!(
                    "several domains are named '{arg}' ({}): give a domid",
                    ids.join(", ")
                )))
            }
        }
    }

    fn pool_view(&mut self, p: &PoolInfo) -> Result<PoolView> {
        let g = global_params(&self.xen.global_get(p.id)?)?;
        Ok(PoolView {
            id: p.id,
            name: self.pool_name(p.id),
            params: g,
        })
    }

    fn dom_view(&mut self, info: &xen_domctl_getdomaininfo) -> Result<DomView> {
        let d = dom_params(&self.xen.dom_get(info.domain)?)?;
        Ok(DomView {
            id: info.domain,
            name: self.dom_name(info.domain),
            cpupool: info.cpupool,
            weight: d.weight,
            cap: d.cap,
            boost: d.boost,
            donation: d.donation,
            driver: d.driver,
        })
    }

    /// The domains of `pools`, skipping those that vanish meanwhile.
    fn domains_in(&mut self, pools: &[PoolInfo]) -> Result<Vec<xen_domctl_getdomaininfo>> {
        Ok(self
            .xen
            .domains()?
            .into_iter()
            .filter(|d| d.flags & XEN_DOMINF_DYING == 0 && pools.iter().any(|p| p.id == d.cpupool))
            .collect())
    }

    fn listing(&mut self, cpupool: Option<&str>) -> Result<Vec<PoolListing>> {
        let pools = self.commaware_pools(cpupool)?;
        let doms = self.domains_in(&pools)?;
        let mut out = Vec::new();
        for p in &pools {
            let pool = self.pool_view(p)?;
            let mut domains = Vec::new();
            for d in doms.iter().filter(|d| d.cpupool == p.id) {
                match self.dom_view(d) {
                    Ok(v) => domains.push(v),
                    Err(Error::UnknownDomain(_)) => {} // destroyed meanwhile
                    Err(e) => return Err(e),
                }
            }
            out.push(PoolListing { pool, domains });
        }
        Ok(out)
    }

    fn stats_view(&mut self, info: &xen_domctl_getdomaininfo) -> Result<StatsView> {
        let abi = self.xen.dom_get(info.domain)?;
        let d = dom_params(&abi)?;
        let c = abi.counters;
        Ok(StatsView {
            id: info.domain,
            name: self.dom_name(info.domain),
            cpupool: info.cpupool,
            weight: d.weight,
            cap: d.cap,
            run_ns: c.run_ns,
            wait_ns: c.wait_ns,
            boosts: c.boosts,
            boosts_refused: c.boosts_refused,
            donated_ns: c.donated_ns,
            received_ns: c.received_ns,
            donations: c.donations,
            charged: c.charged,
            credit: c.credit,
            wait_max_ns: c.wait_max_ns,
        })
    }

    fn stats(&mut self, domain: Option<&str>, cpupool: Option<&str>) -> Result<Vec<StatsView>> {
        if let Some(d) = domain {
            let info = self.domain(d)?;
            let pool = self.commaware_pool(info.cpupool)?;
            if let Some(p) = cpupool {
                if self.pool(p)?.id != pool.id {
                    return Err(Error::Usage(format!(
                        "domain '{d}' is not in cpupool '{p}'"
                    )));
                }
            }
            return Ok(vec![self.stats_view(&info)?]);
        }
        let pools = self.commaware_pools(cpupool)?;
        let mut rows = Vec::new();
        for d in self.domains_in(&pools)? {
            match self.stats_view(&d) {
                Ok(v) => rows.push(v),
                Err(Error::UnknownDomain(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(rows)
    }

    /// One putinfo with every change, checked before it is sent.
    fn set_dom(&mut self, info: &xen_domctl_getdomaininfo, set: &DomSet) -> Result<()> {
        let units = info.units();
        let cur = dom_params(&self.xen.dom_get(info.domain)?)?;
        // 0 and 0xFFFF mean "keep" on the wire: asked for explicitly, they
        // are out of range (params says which range), not silent no-ops.
        if set.weight.map(u32::from) == Some(XEN_DOMCTL_COMMAWARE_WEIGHT_KEEP)
            || set.cap.map(u32::from) == Some(XEN_DOMCTL_COMMAWARE_CAP_KEEP)
        {
            let want = DomParams {
                weight: set.weight.unwrap_or(cur.weight),
                cap: set.cap.unwrap_or(cur.cap),
                ..cur
            };
            want.validate(units).map_err(|err| Error::OutOfRange {
                err,
                units: Some(units),
            })?;
        }
        let mut put = xen_domctl_sched_commaware {
            weight: set
                .weight
                .unwrap_or(XEN_DOMCTL_COMMAWARE_WEIGHT_KEEP as u16),
            cap: set.cap.unwrap_or(XEN_DOMCTL_COMMAWARE_CAP_KEEP as u16),
            reset: if set.reset_wait_max { XEN_DOMCTL_COMMAWARE_RESET_WAIT_MAX } else { 0 },
            ..Default::default()
        };
        // (value, bit, the bit means "off")
        for (val, bit, negative) in [
            (set.boost, XEN_DOMCTL_COMMAWARE_NO_BOOST, true),
            (set.donation, XEN_DOMCTL_COMMAWARE_NO_DONATION, true),
            (set.driver, XEN_DOMCTL_COMMAWARE_DRIVER, false),
        ] {
            if let Some(on) = val {
                put.flags_mask |= bit;
                if on != negative {
                    put.flags |= bit;
                }
            }
        }
        payload::dom_update(cur, &put, units).map_err(|e| Error::from_payload(e, Some(units)))?;
        self.xen.dom_put(info.domain, put)
    }

    /// One putinfo with every pool-wide parameter, checked before it is sent.
    fn set_global(&mut self, pool: &PoolInfo, set: &GlobalSet) -> Result<()> {
        let mut p = self.xen.global_get(pool.id)?;
        global_params(&p)?;
        p.tslice_ms = set.tslice_ms.unwrap_or(p.tslice_ms);
        p.ratelimit_us = set.ratelimit_us.unwrap_or(p.ratelimit_us);
        p.migration_delay_us = set.migration_delay_us.unwrap_or(p.migration_delay_us);
        p.boost_us = set.boost_us.unwrap_or(p.boost_us);
        p.boost_budget_pct = set.budget_pct.unwrap_or(p.boost_budget_pct);
        for (val, bit) in [
            (set.boost, XEN_SYSCTL_COMMAWARE_BOOST),
            (set.donation, XEN_SYSCTL_COMMAWARE_DONATION),
            (set.attribution, XEN_SYSCTL_COMMAWARE_ATTRIBUTION),
        ] {
            match val {
                Some(true) => p.flags |= bit,
                Some(false) => p.flags &= !bit,
                None => {}
            }
        }
        payload::global_from_abi(&p).map_err(|e| Error::from_payload(e, None))?;
        self.xen.global_put(pool.id, p)
    }
}
