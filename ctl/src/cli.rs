//! The command line, modelled on `xl sched-credit`: the same option letters
//! (`-d -w -c -p -s -t -r -m`), the same rules about which go together, and
//! commaware's switches as long options. Values are only parsed here (and
//! checked to fit their type); ranges are checked by `commaware::payload`
//! once the request is complete, because some depend on each other
//! (ratelimit and boost length on the slice, the cap on the vCPU count).

use clap::{Parser, Subcommand, ValueEnum};

use commaware::sched::params::{Knob, ParamError, WEIGHT_MAX, WEIGHT_MIN};

use crate::error::Error;

#[derive(Parser, Debug)]
#[command(
    name = "commaware-ctl",
    version,
    about = "Get/set commaware scheduler parameters and counters (like xl sched-credit)",
    after_help = "Without -d: list the domains of every commaware cpupool (or of -p CPUPOOL).\n\
                  -d DOMAIN alone shows it; with -w/-c/--boost/--donation/--driver/--reset-wait-max sets them in one request.\n\
                  -s shows the pool-wide parameters (-p, else cpupool 0 or the one commaware pool);\n\
                  with -t/-r/-m/--boost-us/--budget/--boost/--donation/--attribution sets them in one request.\n\
                  DOMAIN is a domid or a name (xenstore /local/domain/<id>/name); CPUPOOL an id or a name."
)]
pub struct Cli {
    /// Domain (domid or name).
    #[arg(short = 'd', long = "domain", value_name = "DOMAIN")]
    pub domain: Option<String>,
    /// Weight, 1..=65535.
    #[arg(short = 'w', long = "weight", value_name = "WEIGHT", allow_negative_numbers = true, value_parser = parse_weight)]
    pub weight: Option<u16>,
    /// Cap in % of one pCPU, 0 = none, at most 100 per vCPU.
    #[arg(short = 'c', long = "cap", value_name = "CAP", allow_negative_numbers = true, value_parser = parse_cap)]
    pub cap: Option<u16>,
    /// Cpupool (id or name).
    #[arg(short = 'p', long = "cpupool", value_name = "CPUPOOL")]
    pub cpupool: Option<String>,
    /// Pool-wide parameters instead of a domain's.
    #[arg(short = 's', long = "schedparam")]
    pub schedparam: bool,
    /// Time slice, ms.
    #[arg(short = 't', long = "tslice_ms", value_name = "TSLICE_MS", allow_negative_numbers = true, value_parser = parse_u32)]
    pub tslice_ms: Option<u32>,
    /// Rate limit, µs (0 = off).
    #[arg(short = 'r', long = "ratelimit_us", value_name = "RATELIMIT_US", allow_negative_numbers = true, value_parser = parse_u32)]
    pub ratelimit_us: Option<u32>,
    /// Migration delay, µs.
    #[arg(short = 'm', long = "migration_delay_us", value_name = "MIGR_DELAY_US", allow_negative_numbers = true, value_parser = parse_u32)]
    pub migration_delay_us: Option<u32>,
    /// Longest run one communication boost buys, µs (with -s).
    #[arg(long = "boost-us", value_name = "N", allow_negative_numbers = true, value_parser = parse_u32)]
    pub boost_us: Option<u32>,
    /// Share of its fair share a domain may run boosted, % (with -s).
    #[arg(long = "budget", value_name = "PCT", allow_negative_numbers = true, value_parser = parse_u32)]
    pub budget: Option<u32>,
    /// Communication boost: pool-wide with -s, else for the domain.
    #[arg(short = 'b', long = "boost", value_name = "on|off")]
    pub boost: Option<OnOff>,
    /// Credit donation: pool-wide with -s, else for the domain.
    #[arg(long = "donation", value_name = "on|off")]
    pub donation: Option<OnOff>,
    /// The domain is a driver domain (its work is charged to its clients).
    #[arg(long = "driver", value_name = "on|off")]
    pub driver: Option<OnOff>,
    /// Start the domain's longest-wait counter (MaxWait) again, e.g. at the
    /// start of a measured window (with -d).
    #[arg(long = "reset-wait-max")]
    pub reset_wait_max: bool,
    /// Driver-domain attribution, pool-wide (with -s).
    #[arg(long = "attribution", value_name = "on|off")]
    pub attribution: Option<OnOff>,
    /// Machine-readable output.
    #[arg(long = "json", global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub sub: Option<Sub>,
}

#[derive(Subcommand, Debug)]
pub enum Sub {
    /// Per-domain counters: run and wait time, boosts, donations, credit.
    Stats {
        /// Only this domain.
        #[arg(short = 'd', long = "domain", value_name = "DOMAIN")]
        domain: Option<String>,
        /// Only this cpupool.
        #[arg(short = 'p', long = "cpupool", value_name = "CPUPOOL")]
        cpupool: Option<String>,
    },
    /// The counters, refreshed like xentop.
    Watch {
        /// Seconds between refreshes.
        #[arg(short = 'i', long = "interval", value_name = "SECONDS", default_value = "1", value_parser = parse_interval)]
        interval: u32,
        /// Stop after N refreshes (default: until interrupted).
        #[arg(short = 'n', long = "iterations", value_name = "N", value_parser = parse_iterations)]
        iterations: Option<u32>,
        /// Only this domain.
        #[arg(short = 'd', long = "domain", value_name = "DOMAIN")]
        domain: Option<String>,
        /// Only this cpupool.
        #[arg(short = 'p', long = "cpupool", value_name = "CPUPOOL")]
        cpupool: Option<String>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

impl OnOff {
    pub fn on(self) -> bool {
        self == OnOff::On
    }
}

/// What to set on a domain; `None` = leave as is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DomSet {
    pub weight: Option<u16>,
    pub cap: Option<u16>,
    pub boost: Option<bool>,
    pub donation: Option<bool>,
    pub driver: Option<bool>,
    /// Restart the longest-wait counter (not a parameter: nothing to keep).
    pub reset_wait_max: bool,
}

impl DomSet {
    pub fn is_empty(&self) -> bool {
        *self == DomSet::default()
    }
}

/// What to set pool-wide; `None` = leave as is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GlobalSet {
    pub tslice_ms: Option<u32>,
    pub ratelimit_us: Option<u32>,
    pub migration_delay_us: Option<u32>,
    pub boost_us: Option<u32>,
    pub budget_pct: Option<u32>,
    pub boost: Option<bool>,
    pub donation: Option<bool>,
    pub attribution: Option<bool>,
}

impl GlobalSet {
    pub fn is_empty(&self) -> bool {
        *self == GlobalSet::default()
    }
}

/// A request, once the options are checked to go together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// List the domains of commaware cpupools (all, or one).
    List { cpupool: Option<String> },
    /// Show one domain.
    Show { domain: String },
    /// Set a domain's parameters.
    SetDom { domain: String, set: DomSet },
    /// Show a cpupool's parameters (cpupool 0 by default, as xl).
    ShowGlobal { cpupool: Option<String> },
    /// Set a cpupool's parameters.
    SetGlobal {
        cpupool: Option<String>,
        set: GlobalSet,
    },
    Stats {
        domain: Option<String>,
        cpupool: Option<String>,
    },
    Watch {
        interval_s: u32,
        iterations: Option<u32>,
        domain: Option<String>,
        cpupool: Option<String>,
    },
}

impl Cli {
    /// Check which options go together (xl sched-credit's rules, extended to
    /// commaware's switches) and say what was asked.
    pub fn command(&self) -> Result<Command, Error> {
        let usage = |m: &str| Err(Error::Usage(m.to_string()));
        let any_option = self.domain.is_some()
            || self.weight.is_some()
            || self.cap.is_some()
            || self.cpupool.is_some()
            || self.schedparam
            || self.tslice_ms.is_some()
            || self.ratelimit_us.is_some()
            || self.migration_delay_us.is_some()
            || self.boost_us.is_some()
            || self.budget.is_some()
            || self.boost.is_some()
            || self.donation.is_some()
            || self.driver.is_some()
            || self.reset_wait_max
            || self.attribution.is_some();
        if self.sub.is_some() && any_option {
            return usage("Options go after the subcommand (commaware-ctl stats -d DOMAIN).");
        }
        match &self.sub {
            Some(Sub::Stats { domain, cpupool }) => {
                return Ok(Command::Stats {
                    domain: domain.clone(),
                    cpupool: cpupool.clone(),
                })
            }
            Some(Sub::Watch {
                interval,
                iterations,
                domain,
                cpupool,
            }) => {
                return Ok(Command::Watch {
                    interval_s: *interval,
                    iterations: *iterations,
                    domain: domain.clone(),
                    cpupool: cpupool.clone(),
                })
            }
            None => {}
        }
        let dom_only = self.weight.is_some() || self.cap.is_some() || self.driver.is_some() || self.reset_wait_max;
        let global_only = self.tslice_ms.is_some()
            || self.ratelimit_us.is_some()
            || self.migration_delay_us.is_some()
            || self.boost_us.is_some()
            || self.budget.is_some()
            || self.attribution.is_some();
        let shared = self.boost.is_some() || self.donation.is_some();

        if (self.cpupool.is_some() || self.schedparam) && (self.domain.is_some() || dom_only) {
            return usage("Specifying a cpupool or schedparam is not allowed with domain options.");
        }
        if !self.schedparam && global_only {
            return usage(
                "Must specify schedparam (-s) to set schedule parameter values (-t, -r, -m, --boost-us, --budget, \
                 --attribution).",
            );
        }
        if self.domain.is_none() && !self.schedparam && (dom_only || shared) {
            return usage(
                "Must specify a domain (-d), or -s for the pool-wide --boost/--donation.",
            );
        }

        let on = |o: Option<OnOff>| o.map(OnOff::on);
        if self.schedparam {
            let set = GlobalSet {
                tslice_ms: self.tslice_ms,
                ratelimit_us: self.ratelimit_us,
                migration_delay_us: self.migration_delay_us,
                boost_us: self.boost_us,
                budget_pct: self.budget,
                boost: on(self.boost),
                donation: on(self.donation),
                attribution: on(self.attribution),
            };
            return Ok(if set.is_empty() {
                Command::ShowGlobal {
                    cpupool: self.cpupool.clone(),
                }
            } else {
                Command::SetGlobal {
                    cpupool: self.cpupool.clone(),
                    set,
                }
            });
        }
        let Some(domain) = self.domain.clone() else {
            return Ok(Command::List {
                cpupool: self.cpupool.clone(),
            });
        };
        let set = DomSet {
            weight: self.weight,
            cap: self.cap,
            boost: on(self.boost),
            donation: on(self.donation),
            driver: on(self.driver),
            reset_wait_max: self.reset_wait_max,
        };
        Ok(if set.is_empty() {
            Command::Show { domain }
        } else {
            Command::SetDom { domain, set }
        })
    }
}

/// A non-negative decimal integer, or a message that says what is wrong.
fn parse_int(s: &str) -> Result<u64, String> {
    let t = s.trim();
    if t.starts_with('-') && t.len() > 1 && t[1..].bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "'{s}' is negative: expected a non-negative integer"
        ));
    }
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "'{s}' is not a number: expected a non-negative decimal integer"
        ));
    }
    // All digits: only overflow can fail.
    t.parse::<u64>().map_err(|_| format!("'{s}' is too large"))
}

fn range_msg(e: ParamError) -> String {
    format!(
        "{} must be {}..={}, got {}",
        e.knob.name(),
        e.min,
        e.max,
        e.got
    )
}

fn parse_u32(s: &str) -> Result<u32, String> {
    let v = parse_int(s)?;
    u32::try_from(v).map_err(|_| format!("'{s}' is too large: at most {}", u32::MAX))
}

fn parse_weight(s: &str) -> Result<u16, String> {
    let v = parse_int(s)?;
    let got = u32::try_from(v).unwrap_or(u32::MAX);
    let err = ParamError {
        knob: Knob::Weight,
        got,
        min: u32::from(WEIGHT_MIN),
        max: u32::from(WEIGHT_MAX),
    };
    // Weight 0 is XEN_DOMCTL_COMMAWARE_WEIGHT_KEEP on the wire: refuse it
    // here rather than send a silent no-op. The range is params'.
    u16::try_from(v)
        .ok()
        .filter(|w| *w >= WEIGHT_MIN)
        .ok_or_else(|| range_msg(err))
}

fn parse_cap(s: &str) -> Result<u16, String> {
    let v = parse_int(s)?;
    // The real bound (100 per vCPU) depends on the domain and is checked
    // by commaware::payload; here only the wire type (0xFFFF means "keep").
    u16::try_from(v)
        .ok()
        .filter(|c| u32::from(*c) != commaware::abi::XEN_DOMCTL_COMMAWARE_CAP_KEEP)
        .ok_or_else(|| format!("cap must be 0..=(100 per vCPU of the domain), got {v}"))
}

fn parse_interval(s: &str) -> Result<u32, String> {
    let v = parse_u32(s)?;
    if v == 0 {
        return Err("the interval must be at least 1 second".into());
    }
    Ok(v)
}

fn parse_iterations(s: &str) -> Result<u32, String> {
    let v = parse_u32(s)?;
    if v == 0 {
        return Err("-n must be at least 1".into());
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, String> {
        let mut v = vec!["commaware-ctl"];
        v.extend_from_slice(args);
        let cli = Cli::try_parse_from(v).map_err(|e| e.to_string())?;
        cli.command().map_err(|e| e.to_string())
    }

    #[test]
    fn no_options_lists_all_pools() {
        assert_eq!(parse(&[]), Ok(Command::List { cpupool: None }));
        assert_eq!(
            parse(&["-p", "Pool-0"]),
            Ok(Command::List {
                cpupool: Some("Pool-0".into())
            })
        );
        assert_eq!(
            parse(&["--cpupool", "1"]),
            Ok(Command::List {
                cpupool: Some("1".into())
            })
        );
    }

    #[test]
    fn domain_alone_shows() {
        assert_eq!(
            parse(&["-d", "web"]),
            Ok(Command::Show {
                domain: "web".into()
            })
        );
        assert_eq!(
            parse(&["--domain=3"]),
            Ok(Command::Show { domain: "3".into() })
        );
    }

    #[test]
    fn every_domain_setter() {
        let c = parse(&[
            "-d",
            "1",
            "-w",
            "512",
            "-c",
            "50",
            "--boost",
            "off",
            "--donation",
            "on",
            "--driver",
            "on",
        ]);
        assert_eq!(
            c,
            Ok(Command::SetDom {
                domain: "1".into(),
                set: DomSet {
                    weight: Some(512),
                    cap: Some(50),
                    boost: Some(false),
                    donation: Some(true),
                    driver: Some(true),
                    reset_wait_max: false,
                }
            })
        );
        let c = parse(&["-d", "1", "--weight", "1", "--cap", "0"]);
        assert_eq!(
            c,
            Ok(Command::SetDom {
                domain: "1".into(),
                set: DomSet {
                    weight: Some(1),
                    cap: Some(0),
                    ..Default::default()
                }
            })
        );
    }

    #[test]
    fn every_global_option() {
        let c = parse(&[
            "-s",
            "-p",
            "cw",
            "-t",
            "10",
            "-r",
            "0",
            "-m",
            "100",
            "--boost-us",
            "300",
            "--budget",
            "50",
            "--boost",
            "on",
            "--donation",
            "off",
            "--attribution",
            "off",
        ]);
        assert_eq!(
            c,
            Ok(Command::SetGlobal {
                cpupool: Some("cw".into()),
                set: GlobalSet {
                    tslice_ms: Some(10),
                    ratelimit_us: Some(0),
                    migration_delay_us: Some(100),
                    boost_us: Some(300),
                    budget_pct: Some(50),
                    boost: Some(true),
                    donation: Some(false),
                    attribution: Some(false),
                }
            })
        );
        assert_eq!(parse(&["-s"]), Ok(Command::ShowGlobal { cpupool: None }));
        assert_eq!(
            parse(&[
                "--schedparam",
                "--tslice_ms",
                "5",
                "--ratelimit_us",
                "200",
                "--migration_delay_us",
                "1"
            ]),
            Ok(Command::SetGlobal {
                cpupool: None,
                set: GlobalSet {
                    tslice_ms: Some(5),
                    ratelimit_us: Some(200),
                    migration_delay_us: Some(1),
                    ..Default::default()
                }
            })
        );
    }

    #[test]
    fn subcommands() {
        assert_eq!(
            parse(&["stats"]),
            Ok(Command::Stats {
                domain: None,
                cpupool: None
            })
        );
        assert_eq!(
            parse(&["stats", "-d", "db", "--json"]),
            Ok(Command::Stats {
                domain: Some("db".into()),
                cpupool: None
            })
        );
        assert_eq!(
            parse(&["watch", "-i", "2", "-n", "3", "-p", "0"]),
            Ok(Command::Watch {
                interval_s: 2,
                iterations: Some(3),
                domain: None,
                cpupool: Some("0".into())
            })
        );
        assert_eq!(
            parse(&["watch"]),
            Ok(Command::Watch {
                interval_s: 1,
                iterations: None,
                domain: None,
                cpupool: None
            })
        );
        let cli = Cli::try_parse_from(["commaware-ctl", "--json", "stats"]).unwrap();
        assert!(cli.json);
        assert!(parse(&["watch", "-i", "0"])
            .unwrap_err()
            .contains("at least 1 second"));
        assert!(parse(&["watch", "-n", "0"])
            .unwrap_err()
            .contains("at least 1"));
        assert!(
            parse(&["-w", "5", "stats"]).is_err(),
            "options and subcommands do not mix"
        );
    }

    #[test]
    fn malformed_numbers_are_refused() {
        for (opt, v) in [
            ("-w", "abc"),
            ("-c", "1.5"),
            ("-t", "10ms"),
            ("-r", ""),
            ("-m", "0x10"),
            ("--budget", "5%"),
        ] {
            let mut args = vec!["-d", "1", opt, v];
            if !["-w", "-c"].contains(&opt) {
                args = vec!["-s", opt, v];
            }
            let e = parse(&args).unwrap_err();
            assert!(e.contains("not a number"), "{opt} {v}: {e}");
        }
        assert!(parse(&["-s", "-t", "99999999999"])
            .unwrap_err()
            .contains("too large"));
        assert!(parse(&["-d", "1", "--boost", "yes"])
            .unwrap_err()
            .contains("possible values: on, off"));
    }

    #[test]
    fn negative_values_are_refused_as_negative() {
        for args in [
            vec!["-d", "1", "-w", "-5"],
            vec!["-d", "1", "-c", "-1"],
            vec!["-s", "-t", "-30"],
            vec!["-s", "-r", "-1"],
            vec!["-s", "-m", "-2"],
            vec!["-s", "--boost-us", "-500"],
            vec!["-s", "--budget", "-10"],
        ] {
            let e = parse(&args).unwrap_err();
            assert!(e.contains("is negative"), "{args:?}: {e}");
        }
    }

    #[test]
    fn weight_out_of_range_gives_the_range() {
        let e = parse(&["-d", "1", "-w", "0"]).unwrap_err();
        assert!(e.contains("weight must be 1..=65535, got 0"), "{e}");
        let e = parse(&["-d", "1", "-w", "70000"]).unwrap_err();
        assert!(e.contains("weight must be 1..=65535, got 70000"), "{e}");
        let e = parse(&["-d", "1", "-c", "65535"]).unwrap_err();
        assert!(e.contains("100 per vCPU"), "{e}");
    }

    #[test]
    fn xl_rules_on_mixing_options() {
        let e = parse(&["-s", "-d", "1"]).unwrap_err();
        assert!(e.contains("not allowed with domain options"), "{e}");
        let e = parse(&["-p", "0", "-d", "1"]).unwrap_err();
        assert!(e.contains("not allowed with domain options"), "{e}");
        let e = parse(&["-s", "-w", "3"]).unwrap_err();
        assert!(e.contains("not allowed with domain options"), "{e}");
        let e = parse(&["-w", "300"]).unwrap_err();
        assert!(e.contains("Must specify a domain"), "{e}");
        let e = parse(&["--boost", "off"]).unwrap_err();
        assert!(e.contains("Must specify a domain"), "{e}");
        let e = parse(&["-t", "10"]).unwrap_err();
        assert!(e.contains("Must specify schedparam"), "{e}");
        let e = parse(&["-d", "1", "--budget", "10"]).unwrap_err();
        assert!(e.contains("Must specify schedparam"), "{e}");
        let e = parse(&["-s", "--driver", "on"]).unwrap_err();
        assert!(e.contains("not allowed with domain options"), "{e}");
    }
}
