//! A small command-line parser: `--name value`, `--name=value` and flags,
//! checked against the options a mode accepts.

use crate::{Error, Result};
use std::net::SocketAddr;
use std::time::Duration;

/// One accepted option: its name (without `--`) and whether it takes a value.
#[derive(Clone, Copy, Debug)]
pub struct Opt {
    pub name: &'static str,
    pub takes_value: bool,
}

/// An option that takes a value.
pub const fn val(name: &'static str) -> Opt {
    Opt {
        name,
        takes_value: true,
    }
}

/// A flag (no value).
pub const fn flag(name: &'static str) -> Opt {
    Opt {
        name,
        takes_value: false,
    }
}

/// Parsed options of one mode.
#[derive(Debug, Default)]
pub struct Args {
    pairs: Vec<(&'static str, Option<String>)>,
}

impl Args {
    /// Parses `argv` (without the program name and mode) against `spec`.
    pub fn parse(mode: &str, argv: &[String], spec: &[Opt]) -> Result<Args> {
        let mut pairs = Vec::new();
        let mut i = 0;
        while i < argv.len() {
            let a = &argv[i];
            let Some(body) = a.strip_prefix("--") else {
                return Err(Error::Usage(format!(
                    "{mode}: unexpected argument `{a}` (options start with --)"
                )));
            };
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let Some(opt) = spec.iter().find(|o| o.name == name) else {
                let known: Vec<String> = spec.iter().map(|o| format!("--{}", o.name)).collect();
                return Err(Error::Usage(format!(
                    "{mode}: unknown option `--{name}` (accepted: {})",
                    known.join(" ")
                )));
            };
            let value = if opt.takes_value {
                match inline {
                    Some(v) => Some(v),
                    None => {
                        i += 1;
                        match argv.get(i) {
                            Some(v) => Some(v.clone()),
                            None => {
                                return Err(Error::Usage(format!(
                                    "{mode}: option --{name} needs a value"
                                )))
                            }
                        }
                    }
                }
            } else {
                if inline.is_some() {
                    return Err(Error::Usage(format!(
                        "{mode}: option --{name} takes no value"
                    )));
                }
                None
            };
            // Later occurrences win.
            pairs.retain(|(n, _)| *n != opt.name);
            pairs.push((opt.name, value));
            i += 1;
        }
        Ok(Args { pairs })
    }

    /// The raw value of `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    /// Whether the flag `name` was given.
    pub fn has(&self, name: &str) -> bool {
        self.pairs.iter().any(|(n, _)| *n == name)
    }

    /// A required value.
    pub fn required(&self, name: &str) -> Result<&str> {
        self.get(name)
            .ok_or_else(|| Error::Usage(format!("option --{name} is required")))
    }

    /// A numeric socket address (`IP:PORT`; no host names: no DNS here).
    pub fn addr(&self, name: &str) -> Result<Option<SocketAddr>> {
        self.get(name).map(|v| parse_addr(name, v)).transpose()
    }

    /// An unsigned integer.
    pub fn u64(&self, name: &str) -> Result<Option<u64>> {
        self.get(name)
            .map(|v| {
                v.parse::<u64>().map_err(|_| {
                    Error::Usage(format!("--{name}: `{v}` is not a non-negative integer"))
                })
            })
            .transpose()
    }

    /// A positive finite float.
    pub fn positive_f64(&self, name: &str) -> Result<Option<f64>> {
        self.get(name)
            .map(|v| match v.parse::<f64>() {
                Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
                _ => Err(Error::Usage(format!(
                    "--{name}: `{v}` is not a positive number"
                ))),
            })
            .transpose()
    }

    /// A duration in seconds (fractions allowed), zero allowed.
    pub fn secs(&self, name: &str) -> Result<Option<Duration>> {
        self.get(name).map(|v| parse_secs(name, v)).transpose()
    }
}

/// Parses a numeric `IP:PORT` (v4 or `[v6]:port`).
pub fn parse_addr(name: &str, v: &str) -> Result<SocketAddr> {
    v.parse::<SocketAddr>().map_err(|_| {
        Error::Usage(format!(
            "--{name}: `{v}` is not a numeric IP:PORT (host names are not resolved)"
        ))
    })
}

/// Parses seconds (`10`, `0.5`) into a duration; at most one day.
pub fn parse_secs(name: &str, v: &str) -> Result<Duration> {
    match v.parse::<f64>() {
        Ok(x) if x.is_finite() && (0.0..=86_400.0).contains(&x) => Ok(Duration::from_secs_f64(x)),
        _ => Err(Error::Usage(format!(
            "--{name}: `{v}` is not a number of seconds between 0 and 86400"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    const SPEC: &[Opt] = &[val("connect"), val("duration"), flag("quiet")];

    #[test]
    fn parses_forms_and_rejects_unknown() {
        let a = Args::parse(
            "client",
            &s(&["--connect", "10.0.0.2:7000", "--duration=1.5", "--quiet"]),
            SPEC,
        )
        .unwrap();
        assert_eq!(a.addr("connect").unwrap().unwrap().port(), 7000);
        assert_eq!(a.secs("duration").unwrap().unwrap(), Duration::from_millis(1500));
        assert!(a.has("quiet"));
        assert!(Args::parse("client", &s(&["--bogus"]), SPEC).is_err());
        assert!(Args::parse("client", &s(&["--connect"]), SPEC).is_err());
        assert!(Args::parse("client", &s(&["--quiet=1"]), SPEC).is_err());
        assert!(Args::parse("client", &s(&["stray"]), SPEC).is_err());
    }

    #[test]
    fn host_names_are_refused() {
        let a = Args::parse("client", &s(&["--connect", "db:7000"]), SPEC).unwrap();
        let e = a.addr("connect").unwrap_err().to_string();
        assert!(e.contains("numeric"), "{e}");
        let a = Args::parse("client", &s(&["--duration", "-1"]), SPEC).unwrap();
        assert!(a.secs("duration").is_err());
    }
}
