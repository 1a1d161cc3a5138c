//! `objcheck [--allow FILE]... [--allow-symbol NAME]... [--panic-symbol NAME]
//! [--require-return-thunk] OBJECT...`
//!
//! Checks each relocatable object, prints every violation and a summary, and
//! exits 0 when all objects pass, 1 when some rule is broken, 2 on usage or
//! read errors.

use std::process::ExitCode;

use objcheck::{check, AllowList, Config, Rule};

const USAGE: &str = "usage: objcheck [--allow FILE]... [--allow-symbol NAME]... \
[--panic-symbol NAME] [--require-return-thunk] OBJECT...

Proves that each relocatable x86_64 ELF OBJECT obeys Xen's rules. FILE lists
the symbols that may stay undefined, one per line (`prefix*` allowed, `#`
comments). Exit status: 0 all pass, 1 a rule is broken, 2 usage/read error.
Rules:";

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("objcheck: {msg}\n{USAGE}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut config = Config::default();
    let mut objects = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                for r in Rule::ALL {
                    println!("  {r}");
                }
                return ExitCode::SUCCESS;
            }
            "--allow" => {
                let Some(path) = args.next() else {
                    return usage_error("--allow needs a file");
                };
                let text = match std::fs::read_to_string(&path) {
                    Ok(t) => t,
                    Err(e) => return usage_error(&format!("cannot read {path}: {e}")),
                };
                match AllowList::parse(&text) {
                    Ok(list) => config.allow.merge(list),
                    Err(e) => return usage_error(&format!("{path}: {e}")),
                }
            }
            "--allow-symbol" => {
                let Some(name) = args.next() else {
                    return usage_error("--allow-symbol needs a name");
                };
                if config.allow.add(&name).is_err() {
                    return usage_error(&format!("`{name}` is not a symbol name"));
                }
            }
            "--panic-symbol" => {
                let Some(name) = args.next() else {
                    return usage_error("--panic-symbol needs a name");
                };
                config.panic_symbol = name;
            }
            "--require-return-thunk" => config.require_return_thunk = true,
            s if s.starts_with('-') => return usage_error(&format!("unknown option {s}")),
            _ => objects.push(arg),
        }
    }
    if objects.is_empty() {
        return usage_error("no object given");
    }

    let mut failed = false;
    for path in &objects {
        let data = match std::fs::read(path) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("objcheck: cannot read {path}: {e}");
                return ExitCode::from(2);
            }
        };
        let report = match check(&data, &config) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("objcheck: {path}: {e}");
                return ExitCode::from(2);
            }
        };
        for v in &report.violations {
            println!("objcheck: {path}: {v}");
        }
        let verdict = if report.is_clean() {
            "OK".to_owned()
        } else {
            failed = true;
            format!("FAILED, {} violation(s)", report.violations.len())
        };
        println!(
            "objcheck: {path}: {} functions, {} instructions, {} relocations, {} undefined symbols ({}), {} rules: {verdict}",
            report.functions,
            report.instructions,
            report.relocations,
            report.undefined.len(),
            report.undefined.join(" "),
            Rule::ALL.len() - usize::from(!config.require_return_thunk),
        );
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
