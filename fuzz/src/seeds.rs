//! The hand-written seeds: readable scenarios, encoded into the bytes the
//! targets decode (the inverse of `arbitrary`'s decoding: integers little
//! endian, `bool` the low bit of a byte, an enum variant `i` of `n` the
//! `u32` `ceil(i * 2^32 / n)`). `tests/seeds.rs` checks that each seed
//! decodes back to its scenario and that `corpus/<target>/seed-*` are
//! these bytes (`WRITE_SEEDS=1 cargo test --test seeds` rewrites them).

use commaware_sched::GlobalParams;

use crate::events::{op_selector, ADom, AGlobal, APrev, Dt, Op};

/// An encoder for `arbitrary`'s format.
#[derive(Default)]
pub struct Enc(pub Vec<u8>);

impl Enc {
    pub fn u8(&mut self, x: u8) -> &mut Self {
        self.0.push(x);
        self
    }
    pub fn u16(&mut self, x: u16) -> &mut Self {
        self.0.extend_from_slice(&x.to_le_bytes());
        self
    }
    pub fn u32(&mut self, x: u32) -> &mut Self {
        self.0.extend_from_slice(&x.to_le_bytes());
        self
    }
    pub fn bool(&mut self, b: bool) -> &mut Self {
        self.u8(u8::from(b))
    }
    pub fn variant(&mut self, i: u32, n: u32) -> &mut Self {
        let v = (u64::from(i) << 32).div_ceil(u64::from(n));
        self.u32(v as u32)
    }
    /// A `pick_u32`/`pick_u16` as any value (not from the list).
    pub fn raw32(&mut self, x: u32) -> &mut Self {
        self.u8(255).u32(x)
    }
    pub fn raw16(&mut self, x: u16) -> &mut Self {
        self.u8(255).u16(x)
    }

    pub fn global(&mut self, g: &AGlobal) -> &mut Self {
        let p = g.0;
        self.raw32(p.tslice_ms).raw32(p.ratelimit_us).raw32(p.migration_delay_us).bool(p.boost);
        self.raw32(p.boost_us).raw32(p.boost_budget_pct).bool(p.donation).bool(p.attribution)
    }

    pub fn dom(&mut self, d: &ADom) -> &mut Self {
        let p = d.0;
        self.raw16(p.weight).raw16(p.cap).bool(p.boost).bool(p.donation).bool(p.driver)
    }

    pub fn op(&mut self, op: &Op) -> &mut Self {
        match op {
            Op::Advance(dt) => {
                self.u8(op_selector(0));
                match *dt {
                    Dt::Us(x) => self.variant(0, 4).u8(x),
                    Dt::UsWide(x) => self.variant(1, 4).u16(x),
                    Dt::Ms(x) => self.variant(2, 4).u8(x),
                    Dt::Huge(x) => self.variant(3, 4).u16(x),
                }
            }
            Op::PcpuAdd(c) => self.u8(op_selector(1)).u8(*c),
            Op::PcpuRemove(c) => self.u8(op_selector(2)).u8(*c),
            Op::DomAdd(d) => self.u8(op_selector(3)).u16(*d),
            Op::DomRemove(d, b) => self.u8(op_selector(4)).u8(*d).bool(*b),
            Op::DomSet(d, p) => self.u8(op_selector(5)).u8(*d).dom(p),
            Op::SetParams(g) => self.u8(op_selector(6)).global(g),
            Op::UnitAdd(d, v) => self.u8(op_selector(7)).u8(*d).u16(*v),
            Op::UnitInsert(u, r) => self.u8(op_selector(8)).u8(*u).bool(*r),
            Op::UnitRemove(u) => self.u8(op_selector(9)).u8(*u),
            Op::UnitFree(u) => self.u8(op_selector(10)).u8(*u),
            Op::SetAffinity(u, m) => self.u8(op_selector(11)).u8(*u).u8(*m),
            Op::Wake(u) => self.u8(op_selector(12)).u8(*u),
            Op::Sleep(u) => self.u8(op_selector(13)).u8(*u),
            Op::Block(c) => self.u8(op_selector(14)).u8(*c),
            Op::DoSchedule(c, p, t) => {
                self.u8(op_selector(15)).u8(*c);
                let i = match p {
                    APrev::Runnable => 0,
                    APrev::Blocked => 1,
                    APrev::Asleep => 2,
                };
                self.variant(i, 3).bool(*t)
            }
            Op::Yield(c, s) => self.u8(op_selector(16)).u8(*c).bool(*s),
            Op::Notify(c, u) => self.u8(op_selector(17)).u8(*c).u8(*u),
            Op::Tick(c) => self.u8(op_selector(18)).u8(*c),
            Op::TickAll => self.u8(op_selector(19)),
            Op::Account => self.u8(op_selector(20)),
            Op::PickResource(u) => self.u8(op_selector(21)).u8(*u),
            Op::Migrate(u, c) => self.u8(op_selector(22)).u8(*u).u8(*c),
            Op::ContextSaved(i) => self.u8(op_selector(23)).u8(*i),
            Op::Softirqs => self.u8(op_selector(24)),
            Op::Garbage(g, w) => self.u8(op_selector(25)).u16(*g).u8(*w),
            Op::RunFor(ms) => self.u8(op_selector(26)).u8(*ms),
            Op::SendBlock(c, u) => self.u8(op_selector(27)).u8(*c).u8(*u),
        }
    }
}

/// A `core_events` input: initial parameters, pCPUs (`ncpus` from the
/// palette, starting at index `first`), then the operations.
pub fn events(params: GlobalParams, ncpus: u8, first: u8, ops: &[Op]) -> Vec<u8> {
    let mut e = Enc::default();
    // No prelude: the scenarios build their own domains.
    e.global(&AGlobal(params)).u8(ncpus - 1).u8(first).u8(0);
    for op in ops {
        e.op(op);
    }
    e.0
}

fn ms(x: u8) -> Op {
    Op::Advance(Dt::Ms(x))
}

fn us(x: u8) -> Op {
    Op::Advance(Dt::Us(x))
}

/// The `core_events` seeds, by name.
pub fn core_events() -> Vec<(&'static str, GlobalParams, u8, u8, Vec<Op>)> {
    use Op::*;
    let two_doms = vec![DomAdd(0), DomAdd(0), UnitAdd(0, 0), UnitAdd(1, 0), UnitInsert(0, true), UnitInsert(0, true)];
    let mut ping_pong = two_doms.clone();
    // Units: 0 (dom0, the driver) and 1 (a guest) on two pCPUs.
    ping_pong.extend([Softirqs, us(100), Notify(0, 1), Block(0), Softirqs, us(50), Notify(1, 0), Wake(0), Block(1)]);
    ping_pong.extend([Softirqs, ms(1), TickAll, Account, ms(30), TickAll, Account, Softirqs]);
    let mut donation = vec![DomAdd(0), DomAdd(0), DomAdd(0)];
    // A guest, dom0 and a hog, all on one pCPU: the guest notifies dom0
    // and blocks; dom0 runs on its slice, notifies back.
    donation.extend([UnitAdd(1, 0), UnitAdd(0, 0), UnitAdd(2, 0)]);
    donation.extend([UnitInsert(0, true), UnitInsert(0, true), UnitInsert(0, true), Softirqs]);
    donation.extend([us(200), Notify(0, 0), Notify(0, 1), Notify(0, 2), Block(0), us(80), Notify(0, 0), Wake(0)]);
    donation.extend([Softirqs, ms(3), Tick(0), ms(30), Account, Softirqs, DoSchedule(0, APrev::Runnable, false)]);
    let mut lifecycle = two_doms.clone();
    lifecycle.extend([
        PcpuAdd(3),
        PcpuAdd(4),
        PcpuAdd(5),
        SetAffinity(0, 0b1_1000),
        Migrate(1, 3),
        Softirqs,
        ms(10),
        PcpuRemove(1),
        PcpuRemove(0x80),
        DomSet(0, ADom(commaware_sched::DomParams { weight: 512, cap: 50, ..Default::default() })),
        DomSet(1, ADom(commaware_sched::DomParams { weight: 0, ..Default::default() })),
        SetParams(AGlobal(GlobalParams { tslice_ms: 1, ratelimit_us: 0, boost_us: 50, ..GlobalParams::DEFAULT })),
        SetParams(AGlobal(GlobalParams { boost_us: 10_001, ..GlobalParams::DEFAULT })),
        Sleep(0),
        Softirqs,
        UnitRemove(1),
        UnitFree(1),
        DomRemove(0, false),
        DomRemove(0, true),
        Garbage(4000, 0),
        PcpuAdd(250),
        ms(100),
        Account,
        TickAll,
    ]);
    let mut caps = vec![DomAdd(0), UnitAdd(0, 0), UnitAdd(0, 1), UnitInsert(0, true), UnitInsert(0, true)];
    caps.extend([DomSet(0, ADom(commaware_sched::DomParams { cap: 10, ..Default::default() })), Softirqs]);
    for _ in 0..6 {
        caps.extend([ms(10), TickAll, ms(20), TickAll, Account, Softirqs]);
    }
    let mut hogs = vec![DomAdd(0), UnitAdd(0, 0), UnitAdd(0, 1), UnitInsert(0, true), UnitInsert(0, true)];
    hogs.extend([DomAdd(0), UnitAdd(1, 0), UnitInsert(0, false), RunFor(100)]);
    for _ in 0..10 {
        hogs.extend([Notify(0, 2), Wake(2), RunFor(5), Block(1), RunFor(20)]);
    }
    let mut rpc = vec![DomAdd(0), DomAdd(0), DomAdd(0), UnitAdd(0, 0), UnitAdd(1, 0), UnitAdd(2, 0), UnitAdd(2, 1)];
    rpc.extend([UnitInsert(0, false), UnitInsert(0, true), UnitInsert(0, true), UnitInsert(0, true), Softirqs]);
    for i in 0..12u8 {
        rpc.extend([us(120), SendBlock(i % 2, i % 4), Softirqs, us(40), SendBlock(1 - i % 2, 0), RunFor(2)]);
    }
    vec![
        ("seed-ping-pong", GlobalParams::DEFAULT, 2, 0, ping_pong),
        ("seed-donation", GlobalParams::DEFAULT, 1, 0, donation),
        ("seed-lifecycle", GlobalParams::DEFAULT, 3, 3, lifecycle),
        ("seed-credit1-caps", GlobalParams::CREDIT1, 2, 0, caps),
        ("seed-hogs-and-a-pinger", GlobalParams::DEFAULT, 2, 0, hogs),
        ("seed-rpc", GlobalParams::DEFAULT, 2, 0, rpc),
        ("seed-bad-init", GlobalParams { tslice_ms: 0, ..GlobalParams::DEFAULT }, 1, 0, two_doms),
    ]
}

/// The `payloads` seeds: a sysctl payload, current domain parameters, a
/// domctl payload, a unit count, then C ABI operations (raw bytes).
pub fn payloads() -> Vec<(&'static str, Vec<u8>)> {
    let sysctl = |e: &mut Enc, t: u32, rl: u32, md: u32, b: u32, pct: u32, f: u32| {
        e.raw32(t).raw32(rl).raw32(md).raw32(b).raw32(pct).raw32(f);
    };
    let domctl = |e: &mut Enc, w: u16, c: u16, f: u32, m: u32, reset: u32| {
        e.raw16(w).raw16(c).raw32(f).raw32(m).raw32(reset).bool(false);
    };
    let cur = |e: &mut Enc| {
        e.raw16(256).raw16(0).bool(true).bool(true).bool(false);
    };
    let mut out = Vec::new();
    // Defaults everywhere; then the FFI: putinfo of the defaults, a
    // getinfo, a refused domain putinfo.
    let mut e = Enc::default();
    sysctl(&mut e, 30, 1000, 0, 500, 100, 7);
    cur(&mut e);
    domctl(&mut e, 0, 0xFFFF, 0, 0, 0);
    e.u16(1);
    sysctl(&mut e, 30, 1000, 0, 500, 100, 7);
    e.variant(0, 4).u8(0).u32(0);
    sysctl(&mut e, 10, 0, 100, 1000, 50, 1);
    e.variant(1, 4).u8(0).u8(0).u32(0).bool(false);
    domctl(&mut e, 0, 101, 0, 0, 0);
    e.variant(2, 4).u8(1);
    e.variant(1, 4).u8(1).u8(0).u32(0).bool(false);
    domctl(&mut e, 512, 150, 1, 1, 0);
    e.variant(3, 4).u8(0);
    out.push(("seed-defaults", e.0));
    // Out of range and unknown bits everywhere.
    let mut e = Enc::default();
    sysctl(&mut e, 1, 2000, 100_001, 10_001, 101, 0x80);
    cur(&mut e);
    domctl(&mut e, 0, 0, 0x8, 0x8, 0x2);
    e.u16(0);
    sysctl(&mut e, 1000, 500_000, 100_000, 10_000, 100, 0);
    e.variant(0, 4).u8(3).u32(7);
    sysctl(&mut e, 1, 1000, 0, 1000, 100, 0);
    e.variant(1, 4).u8(0).u8(3).u32(9).bool(true).u32(0xFFFF_FFFF);
    domctl(&mut e, 1, 0, 7, 7, 1);
    out.push(("seed-out-of-range", e.0));
    out
}
