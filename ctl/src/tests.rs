//! The commands against the fake commaware Xen: output (golden strings),
//! errors, and the no-partial-update property.

use std::collections::BTreeMap;
use std::time::Duration;

use clap::Parser;
use commaware::abi::xen_domctl_sched_commaware;
use commaware::sched::params::DomParams;
use commaware::sched::DomCounters;

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
    let mut x = FakeXen::new()
        .pool(0, CW)
        .pool(1, CREDIT)
        .dom(0, 0, 2)
        .dom(1, 0, 1)
        .dom(2, 0, 4)
        .dom(3, 1, 1);
    let web = x.state.doms.get_mut(&1).unwrap();
    web.params = DomParams {
        weight: 512,
        cap: 50,
        boost: false,
        ..DomParams::DEFAULT
    };
    web.counters.run_ns = 1_234_567_890;
    web.counters.wait_ns = 45_000_000;
    web.counters.wait_max_ns = 12_000_000;
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
    let mut io = Io {
        out: &mut out,
        json: cli.json,
        clear: false,
        sleep: &mut sleep,
    };
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

#[test]
fn list_json() {
    let mut x = xen();
    let got = run(&mut x, &["-p", "Pool-0", "--json"]).unwrap();
    let want = r#"{
  "cpupools": [
    {
      "id": 0,
      "name": "Pool-0",
      "tslice_ms": 30,
      "ratelimit_us": 1000,
      "migration_delay_us": 0,
      "boost": true,
      "boost_us": 500,
      "boost_budget_pct": 100,
      "donation": true,
      "attribution": true,
      "domains": [
        {
          "id": 0,
          "name": "Domain-0",
          "cpupool": 0,
          "weight": 256,
          "cap": 0,
          "boost": true,
          "donation": true,
          "driver": false
        },
        {
          "id": 1,
          "name": "web",
          "cpupool": 0,
          "weight": 512,
          "cap": 50,
          "boost": false,
          "donation": true,
          "driver": false
        },
        {
          "id": 2,
          "name": "db",
          "cpupool": 0,
          "weight": 256,
          "cap": 0,
          "boost": true,
          "donation": true,
          "driver": true
        }
      ]
    }
  ]
}
"#;
    assert_eq!(got, want);
}

#[test]
fn show_domain_by_name_or_id() {
    let mut x = xen();
    let want = "\
Name                                ID Weight  Cap Boost Donation Driver
web                                  1    512   50   off       on     no
";
    assert_eq!(run(&mut x, &["-d", "web"]).unwrap(), want);
    assert_eq!(run(&mut x, &["-d", "1"]).unwrap(), want);
    let json = run(&mut x, &["-d", "db", "--json"]).unwrap();
    assert_eq!(
        json,
        r#"{
  "id": 2,
  "name": "db",
  "cpupool": 0,
  "weight": 256,
  "cap": 0,
  "boost": true,
  "donation": true,
  "driver": true
}
"#
    );
    assert_eq!(x.puts(), 0);
}

#[test]
fn show_global_text_and_json() {
    let mut x = xen();
    assert_eq!(
        run(&mut x, &["-s"]).unwrap(),
        "Cpupool Pool-0: tslice=30ms ratelimit=1000us migration-delay=0us boost=on boost-len=500us \
         boost-budget=100% donation=on attribution=on\n"
    );
    assert_eq!(
        run(&mut x, &["-s", "-p", "0", "--json"]).unwrap(),
        r#"{
  "id": 0,
  "name": "Pool-0",
  "tslice_ms": 30,
  "ratelimit_us": 1000,
  "migration_delay_us": 0,
  "boost": true,
  "boost_us": 500,
  "boost_budget_pct": 100,
  "donation": true,
  "attribution": true
}
"#
    );
}

#[test]
fn set_domain_sends_one_putinfo_with_every_change() {
    let mut x = xen();
    let out = run(
        &mut x,
        &[
            "-d", "db", "-w", "1024", "-c", "250", "--boost", "off", "--driver", "off",
        ],
    )
    .unwrap();
    assert_eq!(out, "", "setters are silent, like xl");
    assert_eq!(x.puts(), 1);
    let putinfos: Vec<&String> = x.log.iter().filter(|l| l.contains("putinfo")).collect();
    assert_eq!(putinfos, ["domctl scheduler_op putinfo 2"]);
    let db = &x.state.doms[&2].params;
    assert_eq!(
        *db,
        DomParams {
            weight: 1024,
            cap: 250,
            boost: false,
            donation: true,
            driver: false
        }
    );
    // The others are untouched.
    assert_eq!(x.state.doms[&0].params, DomParams::DEFAULT);
}

#[test]
fn set_only_a_flag_keeps_weight_and_cap() {
    let mut x = xen();
    run(&mut x, &["-d", "web", "--donation", "off"]).unwrap();
    let web = &x.state.doms[&1].params;
    assert_eq!(
        *web,
        DomParams {
            weight: 512,
            cap: 50,
            boost: false,
            donation: false,
            driver: false
        }
    );
    let json = run(&mut x, &["-d", "web", "--boost", "on", "--json"]).unwrap();
    assert!(
        json.contains("\"boost\": true") && json.contains("\"donation\": false"),
        "{json}"
    );
    assert_eq!(x.puts(), 2);
}

#[test]
fn reset_wait_max_restarts_only_that_counter_of_that_domain() {
    let mut x = xen();
    let before = x.state.doms[&1].clone();
    let out = run(&mut x, &["-d", "web", "--reset-wait-max"]).unwrap();
    assert_eq!(out, "");
    assert_eq!(x.puts(), 1);
    let web = &x.state.doms[&1];
    assert_eq!(web.counters.wait_max_ns, 0);
    assert_eq!(web.params, before.params, "a reset sets no parameter");
    assert_eq!(
        DomCounters {
            wait_max_ns: before.counters.wait_max_ns,
            ..web.counters
        },
        before.counters,
        "the other counters run on"
    );
    assert_eq!(x.state.doms[&2].counters.wait_max_ns, 0, "db's was 0 and stays");
    // With a setter, one request; without -d, a usage error and no request.
    run(&mut x, &["-d", "web", "-w", "300", "--reset-wait-max"]).unwrap();
    assert_eq!((x.puts(), x.state.doms[&1].params.weight), (2, 300));
    assert!(run(&mut x, &["--reset-wait-max"]).is_err());
    assert!(run(&mut x, &["-s", "--reset-wait-max"]).is_err());
    assert_eq!(x.puts(), 2);
}

#[test]
fn out_of_range_cap_is_refused_locally_with_the_range_and_nothing_changes() {
    let mut x = xen();
    let before = x.state.clone();
    // web has 1 vCPU: cap at most 100. Weight is valid, but must not be applied alone.
    let e = run(&mut x, &["-d", "web", "-w", "300", "-c", "150"]).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::OutOfRange { .. }), "{e:?}");
    assert_eq!(
        msg,
        "-c/--cap 150 is out of range: cap must be 0..=100 (0 = no cap; 100 per vCPU, the domain has 1); \
         nothing was changed"
    );
    assert_eq!(x.state, before);
    assert_eq!(x.puts(), 0, "nothing sent");
    // db has 4 vCPUs: 400 is allowed.
    run(&mut x, &["-d", "db", "-c", "400"]).unwrap();
    assert_eq!(x.state.doms[&2].params.cap, 400);
}

#[test]
fn global_set_is_one_putinfo_and_keeps_the_rest() {
    let mut x = xen();
    run(
        &mut x,
        &["-s", "-t", "10", "--boost-us", "300", "--donation", "off"],
    )
    .unwrap();
    assert_eq!(x.puts(), 1);
    let g = x.state.pools[&0].params;
    assert_eq!((g.tslice_ms, g.boost_us, g.donation), (10, 300, false));
    assert_eq!(
        (g.ratelimit_us, g.boost, g.attribution, g.boost_budget_pct),
        (1000, true, true, 100)
    );
    let json = run(
        &mut x,
        &[
            "-s",
            "--budget",
            "40",
            "--attribution",
            "off",
            "-m",
            "500",
            "-r",
            "0",
            "--json",
        ],
    )
    .unwrap();
    assert!(json.contains("\"boost_budget_pct\": 40"), "{json}");
    assert!(json.contains("\"ratelimit_us\": 0"), "{json}");
    assert!(json.contains("\"migration_delay_us\": 500"), "{json}");
    assert!(json.contains("\"attribution\": false"), "{json}");
}

#[test]
fn global_out_of_range_names_the_range_and_nothing_changes() {
    let mut x = xen();
    let before = x.state.clone();
    // A 1 ms slice makes a 2000 us ratelimit too long: the range is computed by params.
    let e = run(&mut x, &["-s", "-t", "1", "-r", "2000"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "-r/--ratelimit_us 2000 is out of range: ratelimit_us must be 100..=1000 (or 0 = off; at most the time \
         slice); nothing was changed"
    );
    let e = run(&mut x, &["-s", "-t", "1001"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "-t/--tslice_ms 1001 is out of range: tslice_ms must be 1..=1000; nothing was changed"
    );
    let e = run(&mut x, &["-s", "--budget", "101"]).unwrap_err();
    assert!(
        e.to_string().contains("boost_budget_pct must be 0..=100"),
        "{e}"
    );
    let e = run(&mut x, &["-s", "--boost-us", "20"]).unwrap_err();
    assert!(e.to_string().contains("boost_us must be 50..=10000"), "{e}");
    let e = run(&mut x, &["-s", "-m", "100001"]).unwrap_err();
    assert!(
        e.to_string()
            .contains("migration_delay_us must be 0..=100000"),
        "{e}"
    );
    assert_eq!(e.exit_code(), 2);
    assert_eq!(x.state, before);
    assert_eq!(x.puts(), 0);
}

#[test]
fn the_fake_refuses_bad_payloads_and_changes_nothing() {
    // Bypass local validation: what a buggy client would send.
    let mut x = xen();
    let before = x.state.clone();
    let bad = xen_domctl_sched_commaware {
        weight: 0,
        cap: 101,
        ..Default::default()
    };
    let e = Client::new(&mut x).dom_put(1, bad).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Refused {
                errno: Errno::EINVAL,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("nothing was changed"), "{e}");
    let mut g = Client::new(&mut x).global_get(0).unwrap();
    g.boost_budget_pct = 500;
    assert!(matches!(
        Client::new(&mut x).global_put(0, g),
        Err(Error::Refused { .. })
    ));
    assert_eq!(x.state, before);
}

#[test]
fn a_pool_running_credit_says_how_to_get_commaware() {
    let mut x = xen();
    let want = "cpupool legacy (id 1) runs credit, not commaware: create a pool with sched=\"commaware\" \
                (xl cpupool-create name=\"cw\" sched=\"commaware\" cpus=...) and move the domain there \
                (xl cpupool-migrate), or boot Xen with sched=commaware";
    assert_eq!(run(&mut x, &["-d", "batch"]).unwrap_err().to_string(), want);
    assert_eq!(
        run(&mut x, &["-d", "3", "-w", "5"])
            .unwrap_err()
            .to_string(),
        want
    );
    assert_eq!(
        run(&mut x, &["-s", "-p", "legacy"])
            .unwrap_err()
            .to_string(),
        want
    );
    assert_eq!(run(&mut x, &["-p", "1"]).unwrap_err().to_string(), want);
    assert_eq!(
        run(&mut x, &["stats", "-d", "batch"])
            .unwrap_err()
            .to_string(),
        want
    );
    assert_eq!(x.puts(), 0);

    let mut credit_only = FakeXen::new().pool(0, CREDIT).dom(0, 0, 1);
    let e = run(&mut credit_only, &[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "no cpupool runs commaware (Pool-0 runs credit): create a pool with sched=\"commaware\" or boot Xen \
         with sched=commaware"
    );
}

#[test]
fn unknown_domain_and_cpupool() {
    let mut x = xen();
    let e = run(&mut x, &["-d", "nosuch"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "unknown domain 'nosuch': give a domid or a name from xl list"
    );
    // Xen answers getdomaininfo with the next domain: 2 asked for... 42 is none.
    assert!(matches!(run(&mut x, &["-d", "42"]), Err(Error::UnknownDomain(d)) if d == "42"));
    assert!(matches!(
        run(&mut x, &["-d", "99999"]),
        Err(Error::UnknownDomain(_))
    ));
    x.state.doms.remove(&1);
    assert!(
        matches!(run(&mut x, &["-d", "1"]), Err(Error::UnknownDomain(d)) if d == "1"),
        "next domain is 2"
    );
    let e = run(&mut x, &["-s", "-p", "7"]).unwrap_err();
    assert_eq!(e.to_string(), "unknown cpupool '7' (see xl cpupool-list)");
    assert!(matches!(
        run(&mut x, &["-p", "nope"]),
        Err(Error::UnknownCpupool(_))
    ));
}

#[test]
fn without_xenstore_domids_still_work_and_names_ask_for_a_domid() {
    let mut x = xen();
    let mut none = MapNames(None);
    let e = run_on(&mut x, &mut none, &["-d", "web"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot look up names: xenstore unreachable (test); give a domid (or cpupool id) instead"
    );
    let out = run_on(&mut x, &mut none, &["-d", "1"]).unwrap();
    assert!(
        out.ends_with("-                                    1    512   50   off       on     no\n"),
        "{out}"
    );
    let out = run_on(&mut x, &mut none, &["-s"]).unwrap();
    assert!(out.starts_with("Cpupool 0: tslice=30ms"), "{out}");
}

#[test]
fn interface_version_mismatch_is_named() {
    let mut x = xen();
    x.version = Some(0x14);
    let e = run(&mut x, &["-d", "1"]).unwrap_err();
    assert!(matches!(e, Error::InterfaceVersion { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("EACCES: interface version mismatch"), "{msg}");
    assert!(
        msg.contains("domctl 0x15 / sysctl 0x15 (Xen 4.17)"),
        "{msg}"
    );
    assert!(matches!(
        run(&mut x, &["-s"]),
        Err(Error::InterfaceVersion { .. })
    ));
}

/// A hypervisor that refuses everything with one errno.
struct Refusing(Errno);
impl Hypervisor for Refusing {
    fn sysctl(&mut self, _: Sysctl<'_>) -> Result<(), Errno> {
        Err(self.0)
    }
    fn domctl(&mut self, _: Domctl<'_>) -> Result<(), Errno> {
        Err(self.0)
    }
}

#[test]
fn xen_saying_eperm_asks_whether_this_is_dom0() {
    let e = run_on(&mut Refusing(Errno::EPERM), &mut names(), &["-s"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Xen refused the cpupool query (XEN_SYSCTL_cpupool_op): permission denied (EPERM): only dom0 (or a domain \
         the XSM policy allows) may do this: is this dom0?"
    );
    let e = run_on(&mut Refusing(Errno::ENOTTY), &mut names(), &["-d", "0"]).unwrap_err();
    assert!(e.to_string().contains("not Xen's privcmd"), "{e}");
    let e = run_on(&mut Refusing(Errno::ENOSYS), &mut names(), &["-d", "0"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the domain query (XEN_DOMCTL_getdomaininfo) failed: ENOSYS"
    );
}

#[test]
fn stats_table_and_json() {
    let mut x = xen();
    let want = "\
Name                    ID Weight  Cap    Run(ms)   Wait(ms)   Boosts  Refused Donated(ms) Received(ms)    Charged     Credit MaxWait(ms)
Domain-0                 0    256    0          0          0        0        0           0            0          0          0           0
web                      1    512   50       1234         45       17        2           0            7          0       -120          12
db                       2    256    0          0          0        0        0           7            0         75        300           0
";
    assert_eq!(run(&mut x, &["stats"]).unwrap(), want);
    let json = run(&mut x, &["stats", "-d", "web", "--json"]).unwrap();
    assert_eq!(
        json,
        r#"{
  "domains": [
    {
      "id": 1,
      "name": "web",
      "cpupool": 0,
      "weight": 512,
      "cap": 50,
      "run_ns": 1234567890,
      "wait_ns": 45000000,
      "boosts": 17,
      "boosts_refused": 2,
      "donated_ns": 0,
      "received_ns": 7500000,
      "donations": 0,
      "charged": 0,
      "credit": -120,
      "wait_max_ns": 12000000
    }
  ]
}
"#
    );
    let e = run(&mut x, &["stats", "-d", "web", "-p", "legacy"]).unwrap_err();
    assert_eq!(e.to_string(), "domain 'web' is not in cpupool 'legacy'");
}

/// The fake, with web running 500 ms between two domain listings.
struct Ticking(FakeXen);
impl Hypervisor for Ticking {
    fn sysctl(&mut self, op: Sysctl<'_>) -> Result<(), Errno> {
        if let Sysctl::Getdomaininfolist(..) = op {
            self.0.state.doms.get_mut(&1).unwrap().counters.run_ns += 500_000_000;
        }
        self.0.sysctl(op)
    }
    fn domctl(&mut self, op: Domctl<'_>) -> Result<(), Errno> {
        self.0.domctl(op)
    }
}

#[test]
fn watch_refreshes_n_times_with_cpu_percent() {
    let mut x = Ticking(FakeXen::new().pool(0, CW).dom(0, 0, 1).dom(1, 0, 1));
    let got = run_on(&mut x, &mut names(), &["watch", "-n", "2", "-i", "1"]).unwrap();
    let want = "\
commaware-ctl watch: refresh 1, every 1s
Name                    ID Weight  Cap    Run(ms)   Wait(ms)   Boosts  Refused Donated(ms) Received(ms)    Charged     Credit MaxWait(ms) CPU(%)
Domain-0                 0    256    0          0          0        0        0           0            0          0          0           0      -
web                      1    256    0        500          0        0        0           0            0          0          0           0      -

commaware-ctl watch: refresh 2, every 1s
Name                    ID Weight  Cap    Run(ms)   Wait(ms)   Boosts  Refused Donated(ms) Received(ms)    Charged     Credit MaxWait(ms) CPU(%)
Domain-0                 0    256    0          0          0        0        0           0            0          0          0           0      0
web                      1    256    0       1000          0        0        0           0            0          0          0           0     50

";
    assert_eq!(got, want);
    let json = run_on(&mut x, &mut names(), &["watch", "-n", "2", "--json"]).unwrap();
    let lines: Vec<&str> = json.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[1]
            .starts_with(r#"{"iteration":2,"interval_s":1,"domains":[{"id":0,"name":"Domain-0""#),
        "{json}"
    );
    assert_eq!(x.0.puts(), 0);
}

#[test]
fn many_domains_are_listed_in_batches() {
    let mut x = FakeXen::new().pool(0, CW);
    for id in 0..150u16 {
        x = x.dom(id, 0, 1);
    }
    let out = run_on(
        &mut x,
        &mut MapNames(Some(BTreeMap::new())),
        &["stats", "--json"],
    )
    .unwrap();
    assert_eq!(out.matches("\"run_ns\"").count(), 150);
    assert_eq!(
        x.log
            .iter()
            .filter(|l| l.starts_with("sysctl getdomaininfolist"))
            .count(),
        3
    );
}

#[test]
fn schedparam_without_pool_picks_the_commaware_pool_beside_credit() {
    // Pool-0 runs credit, "legacy" (1) runs commaware.
    let mut x = FakeXen::new()
        .pool(0, CREDIT)
        .pool(1, CW)
        .dom(0, 0, 1)
        .dom(1, 1, 1);
    let out = run(&mut x, &["-s"]).unwrap();
    assert!(out.starts_with("Cpupool legacy: tslice=30ms"), "{out}");
    run(&mut x, &["-s", "-t", "5"]).unwrap();
    assert_eq!(x.state.pools[&1].params.tslice_ms, 5);
    // Two commaware pools: which one is for the user to say.
    let mut x = x.pool(2, CW);
    let e = run(&mut x, &["-s"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cpupools legacy, 2 run commaware: choose one with -p"
    );
    // Pool 0 running commaware is the default, as in xl.
    let mut x = xen().pool(2, CW);
    assert!(run(&mut x, &["-s"]).unwrap().starts_with("Cpupool Pool-0:"));
}
