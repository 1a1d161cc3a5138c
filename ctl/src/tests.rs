//! The commands against the fake commaware Xen: output (golden strings),
//! errors, and the no-partial-update property.

use std::collections::BTreeMap;
use std::time::Duration;

use clap::Parser;
use commaware::abi::xen_domctl_sched_commaware;
use commaware::sched::params::DomParams;

use crate::cli::Cli;
use crate::client::Client;
use crate::commands::{self, Io};
use crate::error::Error;
use crate::fake::FakeXen;
use crate::hypervisor::{Domctl, Errno, Hypervisor, Sysctl};
use crate::names::tests::MapNames;
use crate::xen::{XEN_SCHEDULER_COMMAWARE, XEN_SCHEDULER_CREDIT};

const CW: u32 = XEN_SCHEDULER_COMMAWARE;
const CREDIT: u32 = XEN_SCHEDULER_CREDIT;

/// Pool-0 runs commaware with dom0, web (1 vCPU) and db (4 vCPUs, driver);
/// pool 1, "legacy", runs credit with batch.
fn xen() -> FakeXen {
    let mut x = FakeXen::new().pool(0, CW).pool(1, CREDIT).dom(0, 0, 2).dom(1, 0, 1).dom(2, 0, 4).dom(3, 1, 1);
    let web = x.state.doms.get_mut(&1).unwrap();
    web.params = DomParams { weight: 512, cap: 50, boost: false, ..DomParams::DEFAULT };
    web.counters.run_ns = 1_234_567_890;
    web.counters.wait_ns = 45_000_000;
    web.counters.boosts = 17;
    web.counters.boosts_refused = 2;
    web.counters.received_ns = 7_500_000;
    web.credit = -120;
    let db = x.state.doms.get_mut(&2).unwrap();
    db.params.driver = true;
    db.counters.run_ns = 999_999;
    db.counters.donated_ns = 7_500_000;
    db.counters.donations = 3;
    db.counters.charged_for_others = 75;
    db.credit = 300;
    x
}

fn names() -> MapNames {
    let mut m = BTreeMap::new();
    for (k, v) in [
        ("/local/domain/0/name", "Domain-0"),
        ("/local/domain/1/name", "web"),
        ("/local/domain/2/name", "db"),
        ("/local/domain/3/name", "batch"),
        ("/local/pool/0/name", "Pool-0"),
        ("/local/pool/1/name", "legacy"),
    ] {
        m.insert(k.to_string(), v.to_string());
    }
    MapNames(Some(m))
}

fn run_on(hv: &mut dyn Hypervisor, names: &mut MapNames, args: &[&str]) -> Result<String, Error> {
    let mut v = vec!["commaware-ctl"];
    v.extend_from_slice(args);
    let cli = Cli::try_parse_from(v).expect("valid command line");
    let cmd = cli.command()?;
    let mut out = Vec::new();
    let mut sleep = |_: Duration| {};
    let mut io = Io { out: &mut out, json: cli.json, clear: false, sleep: &mut sleep };
    commands::run(&cmd, hv, names, &mut io)?;
    Ok(String::from_utf8(out).expect("utf-8"))
}

fn run(x: &mut FakeXen, args: &[&str]) -> Result<String, Error> {
    run_on(x, &mut names(), args)
}

#[test]
fn list_text_is_xl_layout() {
    let mut x = xen();
    let got = run(&mut x, &[]).unwrap();
    let want = "\
Cpupool Pool-0: tslice=30ms ratelimit=1000us migration-delay=0us boost=on boost-len=500us boost-budget=100% donation=on attribution=on
Name                                ID Weight  Cap Boost Donation Driver
Domain-0                             0    256    0    on       on     no
web                                  1    512   50   off       on     no
db                                   2    256    0    on       on    yes
";
    assert_eq!(got, want);
    assert_eq!(x.puts(), 0);
}
