//! What the simulator found in the core: tests that fail today, kept
//! `#[ignore]`d so the suite stays green; run them with
//! `cargo test -p commaware-sim --test core_findings -- --ignored`.

use commaware_accounting::credit::NS_PER_MS;
use commaware_sim::report::summarize;
use commaware_sim::scenario::{load, parse};
use commaware_sim::{run_raw, Which};

/// Starvation: two pCPUs, a request/response pair through dom0 whose
/// sequential demand is one whole pCPU, and four CPU hogs. Under commaware
/// the pair's hops run back to back on one pCPU, each blocking vCPU
/// donating to the next (a new donation starts as soon as the last one
/// ends, whatever the donor's credit) or waking it with a BOOST; a hog
/// queued on that pCPU behind them is never picked, and the other pCPU
/// never steals it (its own head is UNDER). credit1 runs it (~13%).
#[test]
#[ignore = "core: donation chains monopolise a pCPU and starve a queued UNDER unit (caps.toml: hog2 gets 0% for the whole run)"]
fn no_runnable_domain_starves_under_commaware() {
    let p = format!("{}/../scenarios/caps.toml", env!("CARGO_MANIFEST_DIR"));
    let mut sc = load(&p).unwrap();
    sc.duration = 2_000 * NS_PER_MS;
    sc.warmup = 0;
    let r = summarize(&sc, &run_raw(&sc, Which::Commaware, false).unwrap());
    for d in r.domains.iter().filter(|d| d.workload == "hog") {
        assert!(
            d.share_pct > d.entitled_pct / 2.0,
            "{} got {:.2}% of the pool, entitled to {:.2}%",
            d.name,
            d.share_pct,
            d.entitled_pct
        );
    }
}

/// Fair share: with the jboss-db load, commaware gives the db 29% of the
/// pool against an entitlement of 16% (weighted max-min, its demand being
/// what it uses), and each hog loses 3.4 points; the group app + db + dom0
/// gets 50% against a pooled fair share of 3/7. The db runs on slices its
/// peers donate; those charges land on donors whose credit is floored at
/// minus one slice each period, and donating depends neither on the donor's
/// credit nor on the boost budget, so nothing bounds it (`donation = false`
/// restores the hogs' shares; `attribution = false` changes nothing).
#[test]
#[ignore = "core: donation lets a communicating group exceed its weighted share (hogs -3.4 points in jboss-db)"]
fn hogs_keep_their_share_within_two_points() {
    let src = std::fs::read_to_string(format!(
        "{}/../scenarios/jboss-db.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut sc = parse(&src).unwrap();
    sc.duration = 5_000 * NS_PER_MS;
    sc.warmup = 0;
    let r = summarize(&sc, &run_raw(&sc, Which::Commaware, false).unwrap());
    for d in r.domains.iter().filter(|d| d.workload == "hog") {
        assert!(
            d.delta_pts.abs() <= 2.0,
            "{} share {:.2}% vs entitled {:.2}%",
            d.name,
            d.share_pct,
            d.entitled_pct
        );
    }
}
