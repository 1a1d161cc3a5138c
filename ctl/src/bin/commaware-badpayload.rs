//! `commaware-badpayload`: sends raw, hostile `XEN_SYSCTL_scheduler_op` and
//! `XEN_DOMCTL_scheduler_op` requests to a running commaware Xen (from
//! dom0, through privcmd) and checks each answer against the documented
//! ranges: see `commaware_ctl::raw`.
//!
//! A separate program rather than a `commaware-ctl` mode: the operator tool
//! promises that a request Xen would refuse is never sent, and this one
//! sends nothing else (and briefly sets extreme valid values on live
//! domains). It shares the tool's envelopes, privcmd code and client.
//!
//! Usage: `commaware-badpayload [-v]`. Prints every unexpected case (every
//! case with `-v`), then one summary line:
//! `badpayload: tried=N rejected=N accepted=N unexpected=N ERRNO=N...`.
//! Exit status: 0 if everything went as documented, 1 on any unexpected
//! result, 2 on usage errors, 3 if the state could not be read or restored.

use std::process::ExitCode;

use commaware_ctl::privcmd::Privcmd;
use commaware_ctl::raw;

fn main() -> ExitCode {
    let mut verbose = false;
    for a in std::env::args().skip(1) {
        match a.as_str() {
            "-v" | "--verbose" => verbose = true,
            "-h" | "--help" => {
                println!("usage: commaware-badpayload [-v]   (dom0 of a commaware Xen; see the crate docs)");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("commaware-badpayload: unknown argument {other:?} (usage: commaware-badpayload [-v])");
                return ExitCode::from(2);
            }
        }
    }
    let mut xen = match Privcmd::open() {
        Ok(x) => x,
        Err(e) => {
            eprintln!("commaware-badpayload: {e}");
            return ExitCode::from(3);
        }
    };
    let env = match raw::discover(&mut xen) {
        Ok(env) => env,
        Err(e) => {
            eprintln!("commaware-badpayload: {e}");
            return ExitCode::from(3);
        }
    };
    if env.cw_pools.is_empty() {
        eprintln!("commaware-badpayload: no cpupool runs commaware (boot with sched=commaware or create a commaware cpupool)");
        return ExitCode::from(3);
    }
    println!(
        "commaware pools {:?}, other pools {:?}, commaware domains {:?}, other domains {:?}, free domids {:?}, free pool ids {:?}",
        env.cw_pools,
        env.other_pools,
        env.doms.iter().map(|d| (d.id, d.units)).collect::<Vec<_>>(),
        env.foreign_doms,
        env.free_domids,
        env.free_pool_ids
    );
    let cases = raw::cases(&env);
    let mut report = |o: &raw::Outcome| {
        if verbose || o.problem.is_some() {
            println!("{o}");
        }
    };
    match raw::run_all(&mut xen, &env, &cases, &mut report) {
        Ok(s) => {
            println!("{s}");
            if s.unexpected == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("commaware-badpayload: {e}");
            ExitCode::from(3)
        }
    }
}
